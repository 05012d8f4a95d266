// Isolation after setup: what pasta gives up once every descriptor it needs
// is open, so that a process compromised through a frame from the namespace
// can do little beyond pasta's own job.
//
// Three layers, applied by Enter() in this order, because each needs
// privileges that the next one removes:
//  1. File system: a new mount namespace whose root is an empty, read-only
//     tmpfs (pivot_root, the old root detached; with --chroot-fallback,
//     where pivot_root fails, the tmpfs moved onto / and chroot() into
//     it, as upstream). This needs CAP_SYS_ADMIN in
//     our user namespace. A rootless pasta has none in its own, so, as
//     upstream does, it first joins the target's user namespace, which its
//     user owns and where it therefore holds every capability. Without
//     either, the file system stays visible and the debug log says why.
//  2. Identity and capabilities: --runas switches user and group (with
//     PR_SET_KEEPCAPS, so the kept capabilities survive the switch); then
//     every capability outside the kept set leaves the bounding, permitted,
//     effective, inheritable and ambient sets.
//  3. System calls: a seccomp filter allows the calls of the event loop and
//     of the namespace helper (clone() only with the helper's exact flags).
//     Any other call raises SIGSYS; its handler prints one line naming the
//     call and exits with status 1. Sanitizer builds skip layers 1 and 3:
//     ASan and LSan read /proc and stop the world with ptrace.
//
// Everything after setup must work without a path: descriptors opened before
// (the /proc/net tables, the pcap and log files, the netns watch, the PID
// file's directory) carry on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pasta::sandbox {

// Capability sets as bit masks: bit N is capability N.
using CapMask = uint64_t;
constexpr CapMask Cap(int cap) { return CapMask{1} << cap; }

struct Ids {
  uid_t uid;
  gid_t gid;
};

struct Plan {
  // The target's user namespace, joined if we lack CAP_SYS_ADMIN in ours;
  // -1 if it has none (or it is ours).
  int userns_fd = -1;
  // Capabilities to keep, if we have them: what the loop still needs.
  CapMask keep = 0;
  std::optional<Ids> runas;  // --runas
  bool filter_syscalls = true;
  // --chroot-fallback: where pivot_root() fails (a root on initramfs or
  // tmpfs), move the empty tmpfs onto "/" and chroot() into it instead.
  bool chroot_fallback = false;
};

struct Outcome {
  bool joined_userns = false;  // the helper must not join it again
  bool fs_detached = false;
  bool fs_chroot = false;  // by the --chroot-fallback way
  std::string fs_note;     // why not, when not
  CapMask caps = 0;        // effective capabilities afterwards
  bool syscalls_filtered = false;
};

// Applies the plan. On error the process may be half-isolated: the caller
// exits.
absl::StatusOr<Outcome> Enter(const Plan& plan);

// The pieces, exposed for the unit tests (each in a child process).

// Our effective capabilities in our user namespace.
CapMask EffectiveCaps();

// unshare(CLONE_NEWNS), then pivot_root into an empty read-only tmpfs. If
// pivot_root() fails and `chroot_fallback`, the tmpfs is moved onto "/"
// (MS_MOVE) and chroot() enters it: the same empty root, with the old one
// still mounted beneath it, out of reach once CAP_SYS_CHROOT is gone
// (Enter() drops it next: the loop doesn't keep it).
// `*fell_back` (if not null) says whether that happened.
absl::Status DetachFileSystem(bool chroot_fallback = false,
                              bool* fell_back = nullptr);

// Switches to `runas` (if set) and reduces every capability set to `keep`.
absl::Status DropPrivileges(CapMask keep, const std::optional<Ids>& runas);

// The system calls the loop and the helper make, by number.
const std::vector<int>& AllowedSyscalls();

// Whether Enter() installs the filter in this build: not in sanitizer
// builds, nor on architectures without one.
bool SyscallFilterApplies();

// Installs the filter: `allowed` pass, clone() only with `clone_flags`, any
// other call traps. Sets PR_SET_NO_NEW_PRIVS.
absl::Status InstallSyscallFilter(const std::vector<int>& allowed,
                                  uint32_t clone_flags);

// A system call's name on this architecture ("?" if unknown).
const char* SyscallName(int nr);

// Describes a capability mask, e.g. "sys_admin,net_bind_service" or "none".
std::string DescribeCaps(CapMask caps);

}  // namespace pasta::sandbox
