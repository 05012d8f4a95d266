// The process around the loop: the PID file, going to the background once
// the namespace is ready, and the sandbox entered as the last step of
// set-up. Control plane.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "app/run.h"
#include "common/fd.h"

namespace pasta::app {

// Writes our PID to --pid FILE, if given.
absl::Status WritePidFile(Run& run);

// Forks; the parent waits until the child says it is ready, then exits 0
// (or 1 if the child failed). The child detaches from the terminal and from
// the caller's stdio (an engine waits for EOF on them), writes the PID file
// and goes on. Returns only in the child, with the descriptor that
// SignalReady() writes to once the child is ready (closed unwritten, it makes
// the parent exit 1).
absl::StatusOr<UniqueFd> Daemonize(Run& run);

// Tells the waiting parent (Daemonize) that set-up is done: it exits 0.
void SignalReady(UniqueFd ready);

// The last step of setup: see sandbox/sandbox.h. Keeps CAP_SYS_ADMIN (the
// helper's setns() for -T/-U listeners, auto forwarding and splice sockets),
// CAP_NET_BIND_SERVICE (ports below 1024) and, for --outbound-if4/6,
// CAP_NET_RAW (SO_BINDTODEVICE), each only if we have it.
absl::Status EnterSandbox(Run& run);

}  // namespace pasta::app
