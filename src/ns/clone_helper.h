// Running code inside another namespace without leaving our own.
//
// Theory of operation: a process can join a user namespace only once and can
// never go back, so pasta never joins the target during setup (the sandbox
// may join its user namespace afterwards, never its network namespace; the
// helper then joins only the latter). Work that must happen
// in the target (opening /dev/net/tun, netlink to configure the tap, sockets
// for the splice path) runs in a short-lived helper made with
// clone(CLONE_VM | CLONE_VFORK | CLONE_FILES): it shares our memory and file
// table, joins the target's user and network namespaces with setns(), runs one
// function, and exits. File descriptors it opens stay bound to the target
// namespace and are ours once it is gone. CLONE_VFORK suspends us meanwhile,
// so the helper may use the heap and our data structures as we would.
//
// The helper's stack is a buffer of ours. Its top must be 16-byte aligned:
// AArch64 faults (SIGBUS) on a misaligned stack pointer at the first memory
// access through it, and x86-64's ABI wants 16 at call sites. StackTop() does
// the rounding and has a unit test for every offset of the buffer.
#pragma once

#include <sched.h>

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace pasta::ns {

inline constexpr size_t kStackAlign = 16;

// The helper's clone() flags (no exit signal: it is reaped at once). The
// sandbox's system call filter allows clone() with exactly these.
inline constexpr int kHelperCloneFlags = CLONE_VM | CLONE_VFORK | CLONE_FILES;

// Returns the highest address inside [base, base + size] that is a multiple
// of kStackAlign: the initial stack pointer for a downward-growing stack in
// that buffer. Pure; does not allocate.
inline void* StackTop(void* base, size_t size) {
  char* const end = static_cast<char*>(base) + size;
  return end - (reinterpret_cast<uintptr_t>(end) & (kStackAlign - 1));
}

// The namespaces a helper joins: descriptors of /proc/PID/ns/{user,net} or a
// bind-mounted netns file. userns_fd may be -1 (join the netns only, e.g. with
// --netns-only, or when we already hold the rights to it).
struct NsFds {
  int userns_fd = -1;
  int netns_fd = -1;
};

// Runs `fn` in a helper inside `target` and returns its result. `fn` runs
// with our memory and file table but in the target's namespaces; it must not
// call exit() or exec. An error means the helper could not be started or
// could not join a namespace (with errno and which one). The helper's stack
// is a static buffer (kHelperStackSize); does not allocate.
absl::Status RunInNamespace(const NsFds& target,
                            absl::FunctionRef<absl::Status()> fn);

inline constexpr size_t kHelperStackSize = 512 * 1024;

}  // namespace pasta::ns
