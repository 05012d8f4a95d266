#include "common/kernel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace pasta {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

// In a child (closing descriptors of the test runner itself would break
// it): opens descriptors, closes from the lowest of them on but one, and
// exits 0 only if exactly the right ones are gone.
void CheckCloses(void (*close_from)(int first, int keep)) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<int> fds;
    for (int i = 0; i < 6; ++i) fds.push_back(open("/dev/null", O_RDONLY));
    const int below = fds[0];  // stays: below `first`
    const int first = fds[1];
    const int keep = fds[3];
    close_from(first, keep);
    bool ok = IsOpen(below) && IsOpen(keep);
    for (int fd : fds) {
      if (fd != below && fd != keep && IsOpen(fd)) ok = false;
    }
    // keep = -1: everything from `first` on.
    const int again = open("/dev/null", O_RDONLY);
    close_from(first, -1);
    ok = ok && IsOpen(below) && !IsOpen(keep) && !IsOpen(again);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(KernelTest, CloseDescriptorsFromKeepsBelowAndTheOneKept) {
  CheckCloses(&CloseDescriptorsFrom);
}

// The path a kernel without close_range (before 5.9) takes.
TEST(KernelTest, TheProcListingFallbackClosesTheSame) {
  CheckCloses(&CloseDescriptorsListed);
}

TEST(KernelTest, DescribeNamesEachFeatureAndItsFallback) {
  KernelFeatures none;
  EXPECT_EQ(none.Describe(),
            "close_range no (closing what /proc/self/fd lists), pidfd_open no "
            "(a target PID is looked for once a second)");
  KernelFeatures all{true, true};
  EXPECT_EQ(all.Describe(), "close_range yes, pidfd_open yes");
  EXPECT_FALSE(KernelRelease().empty());
}

}  // namespace
}  // namespace pasta
