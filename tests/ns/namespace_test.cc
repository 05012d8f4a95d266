#include "ns/namespace.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace pasta::ns {
namespace {

TEST(OpenPathTest, MissingFileNamesThePath) {
  auto t = OpenPath("/nonexistent/netns", "");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(t.status().message()).find("/nonexistent/netns"),
            std::string::npos);
}

TEST(OpenPathTest, RegularFileIsNotANamespace) {
  auto t = OpenPath("/proc/self/status", "");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(t.status().message()).find("not a"), std::string::npos);
}

TEST(OpenPathTest, OwnNetnsOpens) {
  auto t = OpenPath("/proc/self/ns/net", "");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->netns.valid());
  EXPECT_FALSE(t->userns.valid());
}

TEST(OpenPathTest, UsernsOfTheWrongTypeIsRefused) {
  auto t = OpenPath("/proc/self/ns/net", "/proc/self/ns/net");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(t.status().message()).find("not a user namespace"),
            std::string::npos);
}

TEST(OpenPidTest, OwnUsernsIsNotJoined) {
  auto t = OpenPid(getpid(), /*netns_only=*/false, "");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->netns.valid());
  EXPECT_FALSE(t->userns.valid());  // setns() would refuse our own
}

TEST(OpenPidTest, MissingPid) {
  auto t = OpenPid(999999999, false, "");
  EXPECT_FALSE(t.ok());
}

// Spawn: the child runs in new namespaces, as root inside, and only once
// released; its exit status is the command's.
TEST(SpawnTest, CommandRunsAfterReleaseInNewNamespaces) {
  char dir[] = "/tmp/pasta-spawn-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string out = std::string(dir) + "/out";
  const std::string script =
      "id -u > " + out + "; readlink /proc/self/ns/net >> " + out + "; exit 7";
  auto t = Spawn({"/bin/sh", "-c", script}, "");
  if (!t.ok() && t.status().code() == absl::StatusCode::kPermissionDenied) {
    GTEST_SKIP() << "user namespaces not available: " << t.status();
  }
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->userns.valid());
  EXPECT_TRUE(t->netns.valid());
  usleep(50 * 1000);
  EXPECT_NE(access(out.c_str(), F_OK), 0) << "command ran before release";
  ASSERT_TRUE(Release(*t).ok());
  int wstatus = 0;
  ASSERT_EQ(waitpid(t->child, &wstatus, 0), t->child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 7);
  FILE* f = fopen(out.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char uid[32] = {0}, netns[64] = {0};
  ASSERT_NE(fgets(uid, sizeof(uid), f), nullptr);
  ASSERT_NE(fgets(netns, sizeof(netns), f), nullptr);
  fclose(f);
  EXPECT_STREQ(uid, "0\n");
  char ours[64] = {0};
  ASSERT_GT(readlink("/proc/self/ns/net", ours, sizeof(ours) - 1), 0);
  EXPECT_NE(std::string(netns), std::string(ours) + "\n");
  unlink(out.c_str());
  rmdir(dir);
}

// -H names the command's UTS namespace; without it the name is ours with a
// "pasta-" prefix. Ours is unchanged either way.
TEST(SpawnTest, HostnameOfTheCommandsUtsNamespace) {
  char before[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(gethostname(before, sizeof(before) - 1), 0);
  EXPECT_EQ(SpawnHostname("box"), "box");
  EXPECT_EQ(SpawnHostname(""),
            ("pasta-" + std::string(before)).substr(0, HOST_NAME_MAX));
  for (const char* given : {"box.example", ""}) {
    char dir[] = "/tmp/pasta-spawn-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string out = std::string(dir) + "/out";
    auto t = Spawn({"/bin/sh", "-c", "uname -n > " + out}, given);
    if (!t.ok())
      GTEST_SKIP() << "user namespaces not available: " << t.status();
    ASSERT_TRUE(Release(*t).ok());
    int wstatus = 0;
    ASSERT_EQ(waitpid(t->child, &wstatus, 0), t->child);
    FILE* f = fopen(out.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char name[HOST_NAME_MAX + 2] = {0};
    ASSERT_NE(fgets(name, sizeof(name), f), nullptr);
    fclose(f);
    EXPECT_EQ(std::string(name), SpawnHostname(given) + "\n") << given;
    unlink(out.c_str());
    rmdir(dir);
  }
  char after[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(gethostname(after, sizeof(after) - 1), 0);
  EXPECT_STREQ(before, after);
}

TEST(SpawnTest, ChildExitsWhenNotReleased) {
  auto t = Spawn({"/bin/true"}, "");
  if (!t.ok()) GTEST_SKIP() << t.status();
  const pid_t child = t->child;
  t->go_pipe.reset();  // give up
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 1);
}

TEST(WatchTest, NetnsFileGoneAfterUnlink) {
  char dir[] = "/tmp/pasta-watch-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/ns";
  close(open(path.c_str(), O_CREAT | O_WRONLY, 0600));
  auto w = WatchNetnsFile(path);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(NetnsFileGone(w->get(), path));
  // Another file of the same directory going away is not ours.
  const std::string other = std::string(dir) + "/other";
  close(open(other.c_str(), O_CREAT | O_WRONLY, 0600));
  unlink(other.c_str());
  EXPECT_FALSE(NetnsFileGone(w->get(), path));
  unlink(path.c_str());
  EXPECT_TRUE(NetnsFileGone(w->get(), path));
  rmdir(dir);
}

}  // namespace
}  // namespace pasta::ns
