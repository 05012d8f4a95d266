// The sandbox's layers, each applied in a forked child (they cannot be
// undone) that reports back through its exit status and a pipe.
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <functional>
#include <iterator>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ns/clone_helper.h"

namespace pasta::sandbox {
namespace {

using ::testing::HasSubstr;

struct ChildResult {
  int wstatus = 0;
  std::string err;  // what the child wrote to stderr
};

// Runs `body` in a forked child with stderr on a pipe; the child exits with
// body's return value.
ChildResult RunInChild(const std::function<int()>& body) {
  int pipefd[2];
  EXPECT_EQ(pipe(pipefd), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    dup2(pipefd[1], STDERR_FILENO);
    _exit(body());
  }
  close(pipefd[1]);
  ChildResult r;
  char buf[512];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) r.err.append(buf, n);
  close(pipefd[0]);
  waitpid(pid, &r.wstatus, 0);
  return r;
}

// Gives a child CAP_SYS_ADMIN in a user namespace of its own, if it has none.
bool BecomeAdmin() {
  if (EffectiveCaps() & Cap(CAP_SYS_ADMIN)) return true;
  return unshare(CLONE_NEWUSER) == 0;
}

bool UserNamespacesWork() {
  ChildResult r = RunInChild([] { return BecomeAdmin() ? 0 : 1; });
  return WIFEXITED(r.wstatus) && WEXITSTATUS(r.wstatus) == 0;
}

TEST(SandboxTest, DescribesCapabilities) {
  EXPECT_EQ(DescribeCaps(0), "none");
  EXPECT_EQ(DescribeCaps(Cap(CAP_SYS_ADMIN) | Cap(CAP_NET_BIND_SERVICE)),
            "net_bind_service,sys_admin");
  EXPECT_EQ(DescribeCaps(Cap(CAP_CHOWN)), "chown");
}

TEST(SandboxTest, NamesSystemCalls) {
  EXPECT_STREQ(SyscallName(SYS_read), "read");
  EXPECT_STREQ(SyscallName(SYS_mount), "mount");
  EXPECT_STREQ(SyscallName(-1), "?");
}

TEST(SandboxTest, AllowListIsUniqueAndLeavesOutDangerousCalls) {
  const std::vector<int>& calls = AllowedSyscalls();
  std::set<int> unique(calls.begin(), calls.end());
  EXPECT_EQ(unique.size(), calls.size());
  for (int nr : {SYS_mount, SYS_umount2, SYS_unshare, SYS_execve, SYS_ptrace,
                 SYS_openat, SYS_chroot, SYS_pivot_root, SYS_bpf,
                 SYS_process_vm_writev, SYS_clone3}) {
    EXPECT_EQ(unique.count(nr), 0u) << SyscallName(nr);
  }
  // clone() is checked by flags in the filter, not in the list.
  EXPECT_EQ(unique.count(SYS_clone), 0u);
}

TEST(SandboxTest, FilterAllowsTheLoopsCallsAndTheHelper) {
  if (!SyscallFilterApplies()) {
    GTEST_SKIP() << "no filter in this build (sanitizers or architecture)";
  }
  ChildResult r = RunInChild([] {
    if (!InstallSyscallFilter(AllowedSyscalls(), ns::kHelperCloneFlags).ok())
      return 10;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return 11;
    if (write(fds[1], "x", 1) != 1) return 12;
    char c;
    if (read(fds[0], &c, 1) != 1 || c != 'x') return 13;
    close(fds[0]);
    close(fds[1]);
    // The namespace helper: clone() with its flags, no namespace to join.
    bool ran = false;
    absl::Status st = ns::RunInNamespace(ns::NsFds{-1, -1}, [&] {
      ran = true;
      return absl::OkStatus();
    });
    if (!st.ok() || !ran) return 14;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus)) << r.err;
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 0) << r.err;
}

TEST(SandboxTest, CallOutsideTheListExitsWithALineNamingIt) {
  if (!SyscallFilterApplies()) {
    GTEST_SKIP() << "no filter in this build (sanitizers or architecture)";
  }
  ChildResult r = RunInChild([] {
    if (!InstallSyscallFilter(AllowedSyscalls(), ns::kHelperCloneFlags).ok())
      return 10;
    syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-pasta-test", 0700);
    return 0;  // not reached
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus));
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 1);
  EXPECT_THAT(r.err, HasSubstr("system call mkdirat"));
  EXPECT_THAT(r.err, HasSubstr("not allowed"));
}

TEST(SandboxTest, CloneWithOtherFlagsIsRefused) {
  if (!SyscallFilterApplies()) {
    GTEST_SKIP() << "no filter in this build (sanitizers or architecture)";
  }
  ChildResult r = RunInChild([] {
    if (!InstallSyscallFilter(AllowedSyscalls(), ns::kHelperCloneFlags).ok())
      return 10;
    // fork(): clone() with SIGCHLD and the tid flags.
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    return 0;  // not reached
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus));
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 1);
  EXPECT_THAT(r.err, HasSubstr("system call clone"));
}

// In a child after DetachFileSystem(): 0 if "/" is empty and read-only and
// nothing of the old root shows, else the check that failed (12..16).
int CheckEmptyReadOnlyRoot() {
  DIR* d = opendir("/");
  if (d == nullptr) return 12;
  int entries = 0;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") ++entries;
  }
  closedir(d);
  if (entries != 0) return 13;
  if (access("/etc/passwd", F_OK) == 0 || errno != ENOENT) return 14;
  if (access("/proc/self", F_OK) == 0) return 15;
  if (mkdir("/x", 0700) == 0 || errno != EROFS) return 16;
  // ".." of the root is the root: the old one is out of reach.
  if (access("/../etc/passwd", F_OK) == 0) return 17;
  return 0;
}

// Makes pivot_root(2) fail with EINVAL in this process, as it does on a
// root that can't be pivoted (initramfs): a seccomp filter answering it
// with that error. Returns false if the filter can't be installed.
bool RefusePivotRoot() {
  sock_filter prog[] = {
      {BPF_LD | BPF_W | BPF_ABS, 0, 0,
       static_cast<uint32_t>(offsetof(seccomp_data, nr))},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, SYS_pivot_root},
      {BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | EINVAL},
      {BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW},
  };
  sock_fprog fprog{static_cast<unsigned short>(std::size(prog)), prog};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0;
}

TEST(SandboxTest, DetachedFileSystemIsEmptyAndReadOnly) {
  if (!UserNamespacesWork()) GTEST_SKIP() << "no user namespaces";
  ChildResult r = RunInChild([] {
    if (!BecomeAdmin()) return 10;
    bool fell_back = true;
    absl::Status st = DetachFileSystem(false, &fell_back);
    if (!st.ok()) {
      fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 11;
    }
    if (fell_back) return 18;
    return CheckEmptyReadOnlyRoot();
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus)) << r.err;
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 0) << r.err;
}

TEST(SandboxTest, RefusedPivotRootFailsWithoutChrootFallback) {
  if (!UserNamespacesWork()) GTEST_SKIP() << "no user namespaces";
  ChildResult r = RunInChild([] {
    if (!BecomeAdmin()) return 10;
    if (!RefusePivotRoot()) return 19;
    absl::Status st = DetachFileSystem(false);
    fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    // The old root is still there.
    if (access("/proc/self", F_OK) != 0) return 20;
    return st.ok() ? 21 : 0;
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus)) << r.err;
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("pivot_root"));
  EXPECT_THAT(r.err, HasSubstr("--chroot-fallback"));
}

TEST(SandboxTest, ChrootFallbackGivesTheSameEmptyRoot) {
  if (!UserNamespacesWork()) GTEST_SKIP() << "no user namespaces";
  ChildResult r = RunInChild([] {
    if (!BecomeAdmin()) return 10;
    if (!RefusePivotRoot()) return 19;
    bool fell_back = false;
    absl::Status st = DetachFileSystem(true, &fell_back);
    if (!st.ok()) {
      fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 11;
    }
    if (!fell_back) return 18;
    return CheckEmptyReadOnlyRoot();
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus)) << r.err;
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 0) << r.err;
}

TEST(SandboxTest, DropKeepsOnlyTheListedCapabilities) {
  if (!UserNamespacesWork()) GTEST_SKIP() << "no user namespaces";
  ChildResult r = RunInChild([] {
    if (!BecomeAdmin()) return 10;
    const CapMask keep = Cap(CAP_SYS_ADMIN) | Cap(CAP_NET_BIND_SERVICE);
    if (!DropPrivileges(keep, std::nullopt).ok()) return 11;
    if (EffectiveCaps() != keep) return 12;
    if (prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) != 0) return 13;
    if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1) return 14;
    // A capability outside the set can't come back.
    if (DropPrivileges(keep | Cap(CAP_NET_ADMIN), std::nullopt).ok() &&
        (EffectiveCaps() & Cap(CAP_NET_ADMIN))) {
      return 15;
    }
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus)) << r.err;
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 0) << r.err;
}

TEST(SandboxTest, RunasSwitchesUserAndKeepsCapabilities) {
  if (geteuid() != 0 || !(EffectiveCaps() & Cap(CAP_SETUID)))
    GTEST_SKIP() << "needs root";
  ChildResult r = RunInChild([] {
    const CapMask keep = Cap(CAP_NET_BIND_SERVICE);
    if (!DropPrivileges(keep, Ids{65534, 65534}).ok()) return 10;
    if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
      return 11;
    if (EffectiveCaps() != keep) return 12;
    if (getgroups(0, nullptr) != 0) return 13;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(r.wstatus)) << r.err;
  EXPECT_EQ(WEXITSTATUS(r.wstatus), 0) << r.err;
}

}  // namespace
}  // namespace pasta::sandbox
