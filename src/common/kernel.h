// What the running kernel offers, where we use something newer than the
// oldest kernel we support (4.18: RHEL 8, CentOS 8; 4.19: Kylin V10, Debian
// 10). Each such feature is probed once, at start-up, and has a fallback;
// --debug prints what was found (KernelFeatures::Describe()).
//
//   close_range(2)   5.9   fallback: close what /proc/self/fd lists
//   pidfd_open(2)    5.3   fallback: look for the process once a second
//                          (kill(pid, 0)); see WatchPid() in src/ns
#pragma once

#include <string>

namespace pasta {

struct KernelFeatures {
  bool close_range = false;
  bool pidfd_open = false;

  // "close_range yes, pidfd_open no (fallback: ...)".
  std::string Describe() const;
};

// The running kernel's release (uname -r), e.g. "4.19.90-52.22.v2207.ky10".
std::string KernelRelease();

// Probes once (the first call) and returns the same answers afterwards.
// Makes a harmless call of each system call; no allocation after the first
// call.
const KernelFeatures& Kernel();

// Closes every descriptor from `first` on, except `keep` (-1: none).
// close_range(2) where the kernel has it, else each descriptor that
// /proc/self/fd lists, else (no /proc) every number up to the soft
// RLIMIT_NOFILE. For start-up only: allocates on the fallback paths.
void CloseDescriptorsFrom(int first, int keep = -1);

// The fallback alone (what CloseDescriptorsFrom does without close_range),
// for tests.
void CloseDescriptorsListed(int first, int keep);

}  // namespace pasta
