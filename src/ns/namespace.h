// Finding or making the target network namespace.
//
// Three ways in, as upstream pasta:
//  - Spawn: clone() makes a child in new user, network, UTS, IPC and PID
//    namespaces; we map our uid/gid to root inside while it waits, open its
//    namespaces, set up the tap through the clone helper, then release it
//    to exec the command (or the user's shell), whose parent we are. Our
//    exit status is then the command's.
//  - A netns file (--netns PATH|NAME): joined alone, or with --userns PATH.
//  - A PID: its network namespace and, unless --netns-only, its user
//    namespace (skipped when it is already ours: setns() refuses to re-join).
// The Target holds the namespace descriptors open for the whole run.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fd.h"
#include "ns/clone_helper.h"

namespace pasta::ns {

struct Target {
  UniqueFd userns;
  UniqueFd netns;
  pid_t child = -1;  // Spawn: the command's process, until it exits
  UniqueFd go_pipe;  // Spawn: write end that releases the child

  NsFds fds() const { return NsFds{userns.get(), netns.get()}; }
};

// Makes a child in new user, network, UTS, IPC and PID namespaces (PID 1
// of the last) that waits for Release() and then execs `command`.
// Once released, the child sets the UTS namespace's host name to
// `hostname` (-H), or to "pasta-" and ours if that is empty, as upstream
// (a name the kernel refuses, e.g. over 64 bytes, is a warning on stderr),
// and clears its signal mask before exec (we block signals for our
// signalfd). Errors carry the child's errno (e.g. user namespaces disabled).
// Allocates.
absl::StatusOr<Target> Spawn(const std::vector<std::string>& command,
                             std::string_view hostname);

// The host name Spawn() gives the namespace for `hostname` (see above).
std::string SpawnHostname(std::string_view hostname);

// Lets a spawned child exec its command. After this, closing go_pipe early
// makes the child exit instead.
absl::Status Release(Target& target);

// Opens a netns file (and optionally a userns file, not joined when it is
// ours). Checks that the files are namespaces of the right type.
absl::StatusOr<Target> OpenPath(const std::string& netns_path,
                                const std::string& userns_path);

// Opens /proc/PID/ns/net and, unless netns_only, the user namespace (from
// userns_path if given, else /proc/PID/ns/user; not joined when it is ours).
absl::StatusOr<Target> OpenPid(pid_t pid, bool netns_only,
                               const std::string& userns_path);

// Returns a descriptor that becomes readable when the namespace file at
// `path` is deleted (inotify on its directory): the loop then checks
// NetnsFileGone(). Non-blocking, close-on-exec.
absl::StatusOr<UniqueFd> WatchNetnsFile(const std::string& path);

// Drains the inotify descriptor and returns true if it reported `path`
// deleted or moved away (or its directory gone). Looks at no file.
bool NetnsFileGone(int inotify_fd, const std::string& path);

// Returns a pidfd for `pid` (readable once the process exits).
absl::StatusOr<UniqueFd> WatchPid(pid_t pid);

}  // namespace pasta::ns
