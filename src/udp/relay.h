// UDP between the two loopbacks, socket to socket, without the tap: -U (a
// port on the namespace's loopback relayed to the host's loopback), and -u
// datagrams that come from the host's loopback (relayed to the namespace's
// loopback, as upstream splices them).
//
// Theory of operation:
// - A relay listener is a UDP socket bound to one side's loopback port (made
//   in the namespace for -U; for -u, the host listener of UdpFlows, which
//   reads it and hands loopback datagrams over with Forward()). A datagram
//   from that side's loopback port S starts (or finds) a flow keyed by
//   (listener socket, S, target port): a socket of the other side, connected
//   to its loopback at the target port. Datagrams go out with send() on it;
//   its replies go back with sendto(S) through the listener socket, so the
//   client hears from the port it wrote to.
// - Datagrams are read with recvmmsg(), kBatch per wakeup, into
//   preallocated buffers; replies of one wakeup leave in one sendmmsg().
// - Flows idle for kIdleTimeout are closed by Expire() (deferred: the
//   table's Reap() closes the socket at the end of the loop iteration, see
//   flow::FlowTable::Defer); kMaxFlows at most,
//   new ones refused (counted) when full.
// Registrations: listeners as (listen_kind, listener index), flows as
// (flow_kind, flow slot); the kinds tell the two relays (-U, and -u from
// the host's loopback) apart.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/time.h"
#include "flow/flow_table.h"
#include "flow/listener_list.h"
#include "loop/epoll_ref.h"
#include "sock/sys.h"

namespace pasta::udp {

// Which relay a UdpRelay is: how its listeners and flows register with
// epoll, its flows' kind in the flow table, and where its flows' sockets
// are made (the side they connect to).
struct RelayKinds {
  loop::Kind listen;
  loop::Kind flow;
  flow::FlowKind table;
  sock::Netns other_side;
};

class UdpRelay {
 public:
  static constexpr size_t kMaxFlows = 1024;
  static constexpr Duration kIdleTimeout = Seconds(180);
  static constexpr int kBatch = sock::Sys::kMaxBatch;
  static constexpr size_t kMaxDatagram = 65535;

  using Kinds = RelayKinds;
  // -U (the default: flows on the host), and -u from the host's loopback
  // (flows in the target namespace).
  static constexpr Kinds kOutbound{loop::Kind::kRelayListen,
                                   loop::Kind::kRelayFlow,
                                   flow::FlowKind::kRelay, sock::Netns::kHost};
  static constexpr Kinds kInbound{
      loop::Kind::kRelayInListen, loop::Kind::kRelayInFlow,
      flow::FlowKind::kRelayIn, sock::Netns::kTarget};
  // Every socket call goes through `sys` (which must outlive this object);
  // flows' sockets are its Socket(kinds.other_side, ...).
  // `table`: the run's flow table (null: a private one of kMaxFlows).
  UdpRelay(sock::Sys* sys, flow::SipKey key, Kinds kinds = kOutbound,
           flow::FlowTable* table = nullptr);
  ~UdpRelay();
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  // Takes `fd`, a UDP socket bound to a loopback port, whose datagrams go
  // to the other side's loopback port `target`.
  // Its index goes to `*index` where given.
  absl::Status AddListener(int fd, int family, uint16_t port, uint16_t target,
                           uint32_t* index = nullptr);
  // A datagram from loopback port `client_port` that arrived on
  // `listener_fd` (not ours: the caller reads it): relays it to the other
  // side's loopback port `target`. Returns false if it was dropped.
  bool Forward(int listener_fd, int family, uint16_t client_port,
               uint16_t target, absl::Span<const uint8_t> payload, Instant now);
  // `listener_fd` is about to be closed: closes the flows that answer
  // through it.
  void ForgetListener(int listener_fd);

  // Closes the listeners bound to `port` (and their flows).
  void RemoveListeners(uint16_t port);
  // Closes listener `index` (open) and its flows.
  void CloseListener(uint32_t index);
  // Listener `index` (open) relays to `target` from now on.
  void RetargetListener(uint32_t index, uint16_t target);

  // Epoll event on flow `slot` (its flow_kind reference).
  void OnReadable(uint32_t slot, Instant now);
  // Epoll event on listener `index` (its listen_kind reference).
  void OnListenerReadable(uint32_t index, Instant now);
  // Closes flows idle for kIdleTimeout.
  void Expire(Instant now);
  // Frees the flows closed so far (every kind in the table, see
  // flow::FlowTable::Reap): for a UdpRelay on its own table (tests).
  void Reap() { flows_.Reap(); }
  // No flow expires before this instant (Never(): no flow). Costs nothing.
  Instant NextDeadline() const { return next_deadline_; }

  size_t active() const { return index_.size(); }
  struct Counters {
    uint64_t forwarded = 0;  // datagrams listener -> flow socket
    uint64_t replies = 0;    // datagrams flow socket -> listener
    uint64_t dropped = 0;    // table full, socket errors
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Key {
    int32_t listener_fd;  // where the client wrote, and replies leave
    uint16_t port;        // the client's port on its loopback
    uint16_t target;      // the other side's loopback port
  };
  struct Flow {
    // Both sides on a loopback: the client's (its port, key.port) and the
    // other side's (the target port); the family and last activity.
    flow::FlowHeader hdr;
    Key key{};
    int fd = -1;
  };
  // port: where it listens (the host's port for -t/-u, the namespace's
  // for -T/-U); target: where it forwards to.
  using Listener = flow::Listener;

  void ReadListener(uint32_t index, Instant now);
  void ReadFlow(uint32_t slot, Instant now);
  int64_t OpenFlow(const Key& key, int family, Instant now);
  // Defers the flow (flow::FlowTable::Defer) and forgets its key.
  void Close(uint32_t slot);
  // What FlowTable::Reap calls: closes the flow's socket.
  void Free(uint32_t slot);

  // Points batch_ at the buffers, each kMaxDatagram long.
  void ResetBatch();

  sock::Sys* sys_;
  Kinds kinds_;
  flow::TableRef table_;
  flow::KindIndex<Key> index_;
  flow::KindSlots<Flow> flows_;
  std::vector<Listener> listeners_;
  size_t lowest_free_listener_ = 0;  // flow::TakeListenerEntry
  std::unique_ptr<uint8_t[]> bufs_;  // kBatch * kMaxDatagram
  sock::Datagram batch_[kBatch];
  Counters counters_;
  Instant next_deadline_ = Instant::Never();
};

}  // namespace pasta::udp
