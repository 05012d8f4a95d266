// passt mode: the guest's frames over a UNIX stream socket instead of a tap
// in a namespace.
//
// Theory of operation. With no namespace to make, the run is pasta's with
// the device swapped: the addresses, routes and DNS the guest is given come
// from the host's template interface exactly as pasta computes them for a
// namespace it does not configure (--config-net off), and reach the guest
// by ARP, DHCP, DHCPv6 and NDP; the handlers (TCP, UDP, ICMP) are the same
// and -t/-u listeners forward to the guest over the frame path (no splice:
// there is no namespace loopback). The device under tap::Tap is a
// device::StreamDevice on the connected client, or a device::NullDevice
// while no client is connected.
//
// Clients. Without -F we listen on a UNIX socket (-s PATH, else the first
// free /tmp/passt_N.socket) and take one client at a time; a second one is
// accepted and closed at once, with a line, as upstream. When the client
// goes (EOF, a read or framing error, a failed write), its flows are closed
// (host sockets reset, nothing more sent to the guest), UDP and ICMP flows
// dropped, the guest's MAC forgotten; with -1 (or -F, whose socket is the
// only client there will be) we exit 0 instead. Frames for the guest that
// arrive while nobody is connected are dropped (counted as kTapFull).
//
// Writing: the stream device queues what the socket does not take at once;
// while it has a queue, the client's descriptor is registered for EPOLLOUT
// as well (UpdatePasstEvents(), after every loop iteration).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "app/run.h"
#include "common/fd.h"
#include "common/time.h"
#include "config/config.h"

namespace pasta::app {

// Binds and listens on the UNIX socket: `cfg.socket_path`, or the first of
// /tmp/passt_1.socket ... /tmp/passt_99.socket that nobody listens on
// (a stale file there is replaced, as upstream). `*path` receives the path.
// Errors name the path. Allocates.
absl::StatusOr<UniqueFd> ListenPasst(const config::Config& cfg,
                                     std::string* path);

// Logs (info) how to start QEMU on `path`.
void PrintPasstHints(const std::string& path);

// Sets the run up for passt: the tap on a NullDevice, or on the -F socket.
// Then, without -F, the listener goes into the loop (SetUpPasstLoop).
// Errors: -F is not a stream socket.
absl::Status SetUpPasstTap(Run& run);
absl::Status SetUpPasstLoop(Run& run);

// The listener is readable: accepts the client, or turns a second one
// away. Never fails the run.
void OnPasstListen(Run& run);

// The client is gone. Returns false if we should exit (-1, -F); otherwise
// cleans up after it and waits for the next one.
bool OnPasstClientGone(Run& run, Instant now);

// Hands up the frames a batch left in the stream device's buffer (the
// socket may be empty: no EPOLLIN would come for them). Returns false if
// we should exit (the client went, with -1).
bool DrainPasstBuffer(Run& run, Instant now);

// Registers the client's descriptor for EPOLLOUT while its device has
// frames queued, and only then. Cheap when nothing changed.
void UpdatePasstEvents(Run& run);

}  // namespace pasta::app
