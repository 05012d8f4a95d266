// EventSocket: the host's rtnetlink notifications, read from the event loop.
//
// Theory of operation: one NETLINK_ROUTE socket, non-blocking, joined to
// the multicast groups the caller names (RTNLGRP_NEIGH for the neighbour
// table; links, addresses and routes can join the same socket later). The
// loop registers fd() and, when it is readable, calls Drain(), which reads
// every pending datagram and hands each whole message to the caller, who
// picks the types it wants (ParseNeighbour() and friends in messages.h).
// Only messages from the kernel (sender port 0) are passed on.
//
// Lost notifications: when the kernel could not queue one (our receive
// buffer was full) the next read fails with ENOBUFS. Drain() returns it;
// the caller drops what is still queued (Discard()) and re-reads what it
// follows with a dump.
//
// Open() must run before the sandbox (it creates and binds the socket) and
// allocates the receive buffer; Drain() does not allocate.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/fd.h"
#include "netlink/socket.h"

namespace pasta::netlink {

// Walks the messages of one notification datagram, passing each data
// message (type >= NLMSG_MIN_TYPE) to `on_message`. Returns false if bytes
// are left that do not form a whole message (the rest is skipped). Pure.
bool WalkNotifications(absl::Span<const uint8_t> bytes, MessageFn on_message);

class EventSocket {
 public:
  // Opens a non-blocking NETLINK_ROUTE socket in the calling thread's
  // network namespace, joined to `groups` (RTNLGRP_* numbers).
  static absl::StatusOr<EventSocket> Open(
      std::initializer_list<unsigned> groups);

  EventSocket(EventSocket&&) = default;
  EventSocket& operator=(EventSocket&&) = default;
  EventSocket(const EventSocket&) = delete;
  EventSocket& operator=(const EventSocket&) = delete;
  ~EventSocket() = default;

  int fd() const { return fd_.get(); }

  // Reads every pending datagram (at most kMaxReads, so other descriptors
  // get their turn; the socket stays readable if more is left) and passes
  // each message to `on_message`. Returns 0, or the errno of a failed read
  // other than EAGAIN: ENOBUFS means notifications were lost.
  int Drain(MessageFn on_message);

  // Reads and drops everything queued (after ENOBUFS: those notifications
  // are older than the dump that follows, and applying them after it would
  // bring back stale state). Does not allocate.
  void Discard();

  static constexpr int kMaxReads = 64;

 private:
  EventSocket() = default;

  UniqueFd fd_;
  std::vector<uint8_t> rxbuf_;
};

}  // namespace pasta::netlink
