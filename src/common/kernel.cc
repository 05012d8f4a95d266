#include "common/kernel.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"

// The numbers are the same on every architecture since 5.1 (the unified
// table); older libc headers may lack the names.
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace pasta {
namespace {

KernelFeatures Probe() {
  KernelFeatures k;
  // A range of one descriptor number nobody uses: closes nothing.
  // Only a call that worked counts: a filter that answers EPERM (a
  // container runtime's seccomp profile) gets the fallback too.
  k.close_range = syscall(SYS_close_range, INT_MAX - 1, INT_MAX - 1, 0) == 0;
  const long fd = syscall(SYS_pidfd_open, getpid(), 0);
  if (fd >= 0) close(static_cast<int>(fd));
  k.pidfd_open = fd >= 0;
  return k;
}

}  // namespace

std::string KernelFeatures::Describe() const {
  return absl::StrCat(
      "close_range ",
      close_range ? "yes" : "no (closing what /proc/self/fd lists)",
      ", pidfd_open ",
      pidfd_open ? "yes" : "no (a target PID is looked for once a second)");
}

std::string KernelRelease() {
  utsname u{};
  if (uname(&u) != 0) return "?";
  return u.release;
}

const KernelFeatures& Kernel() {
  static const KernelFeatures features = Probe();
  return features;
}

void CloseDescriptorsFrom(int first, int keep) {
  if (first < 0) first = 0;
  if (Kernel().close_range) {
    if (keep < first) {
      syscall(SYS_close_range, first, ~0U, 0);
      return;
    }
    if (keep > first) syscall(SYS_close_range, first, keep - 1, 0);
    if (keep < INT_MAX) syscall(SYS_close_range, keep + 1, ~0U, 0);
    return;
  }
  CloseDescriptorsListed(first, keep);
}

void CloseDescriptorsListed(int first, int keep) {
  // Collect first, close afterwards: closing while reading the directory
  // would change what it lists.
  std::vector<int> open_fds;
  if (DIR* dir = opendir("/proc/self/fd")) {
    const int dir_fd = dirfd(dir);
    while (const dirent* entry = readdir(dir)) {
      char* end = nullptr;
      const long fd = strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0') continue;  // "." and ".."
      if (fd >= first && fd != keep && fd != dir_fd && fd <= INT_MAX)
        open_fds.push_back(static_cast<int>(fd));
    }
    closedir(dir);
    for (int fd : open_fds) close(fd);
    return;
  }
  rlimit lim{};
  rlim_t max = 1024;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    max = lim.rlim_cur;
  if (max > (1u << 20)) max = 1u << 20;  // bounded time
  for (rlim_t fd = static_cast<rlim_t>(first); fd < max; ++fd) {
    if (static_cast<int>(fd) != keep) close(static_cast<int>(fd));
  }
}

}  // namespace pasta
