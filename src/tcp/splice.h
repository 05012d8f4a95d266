// The splice path: TCP between the host's loopback and the namespace's
// loopback, carried socket to socket with splice(2), without the tap.
//
// Theory of operation:
// - A spliced flow joins two connected sockets, one in each namespace. Side
//   0 is the one we accepted, side 1 the one we connected: for -t, a
//   connection from the host's loopback to a forwarded port (side 0, host)
//   is joined to a connection to the namespace's own address at the target
//   port (side 1, opened in the namespace; its loopback with
//   --host-lo-to-ns-lo, as upstream since 2024, so that services bound to
//   the namespace's loopback are not published by accident); for -T, a
//   connection to a
//   listener on the namespace's loopback (side 0) is joined to one to the
//   host's loopback (side 1).
// - Data from side i goes through pipe i: splice() from the socket into the
//   pipe, then from the pipe into the other socket, zero copy, until
//   EAGAIN. What the other socket does not take waits in the pipe (at most
//   kPipeSize) and goes on EPOLLOUT; a full pipe stops reading, so the
//   sender's window closes instead of us buffering.
// - Sockets are registered once, edge-triggered, for EPOLLIN | EPOLLOUT |
//   EPOLLRDHUP, as (kTcpSplice, slot * 2 + side).
// - End of stream on one side becomes shutdown(SHUT_WR) on the other once
//   its pipe is empty (half-close works both ways); the flow is freed when
//   both directions are done. An error or reset on one side resets the
//   other (SO_LINGER 0). Closing is deferred (flow::FlowTable::Defer), as for
//   every kind.
// - Limits: kMaxSpliceFlows flows; each holds two sockets and two pipes.
//   When the table is full or a socket or pipe cannot be had, the accepted
//   connection is reset.
// - Both sockets get fixed buffers of kSocketBuffer (no autotuning).
// Allocates nothing per flow or per byte: the table is sized at start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/net_types.h"
#include "flow/flow_table.h"
#include "flow/listener_list.h"
#include "sock/sys.h"

namespace pasta::tcp {

inline constexpr size_t kMaxSpliceFlows = 4096;
// Each direction's pipe. Listeners in the namespace (-T) are registered
// as (loop::Kind::kSpliceListen, index).
inline constexpr size_t kPipeSize = 512 * 1024;
// SO_RCVBUF and SO_SNDBUF of both sockets of a flow (the kernel doubles
// it). A fixed, small buffer turns autotuning off, which otherwise lets a
// sender that outruns us park megabytes in the receiving socket (the likely
// cost: data gone cold in the caches before the reader copies it out).
// Measured on the 2-core lab machines, iperf3 through -t, 8 runs of 8 s
// (4 each way), interleaved: 13.2 Gbit/s against 10.7 with autotuning, at
// the same CPU per GB; 64 and 256 KiB gave 12.4 and 12.0. Loopback round
// trips take microseconds, so this is still more window than a flow needs.
inline constexpr int kSocketBuffer = 128 * 1024;

struct SpliceCounters {
  uint64_t flows = 0;
  uint64_t bytes = 0;          // moved, both directions
  uint64_t refused = 0;        // table full, no socket or pipe
  uint64_t connect_failed = 0;
  uint64_t resets = 0;         // a side failed: the other was reset
};

class SpliceFlows {
 public:
  // Every socket and pipe call goes through `sys` (which must outlive
  // this object): sockets towards the namespace come from its
  // Socket(Netns::kTarget, ...). `ns_addr4/6` (AF_UNSPEC: none) are where -t
  // connections go in the namespace; its loopback if none, or with
  // `to_ns_loopback`. `table`: the run's flow table (null: a private one of
  // kMaxSpliceFlows).
  explicit SpliceFlows(sock::Sys* sys, IpAddr ns_addr4 = {},
                       IpAddr ns_addr6 = {}, bool to_ns_loopback = false,
                       flow::FlowTable* table = nullptr);
  ~SpliceFlows();
  SpliceFlows(const SpliceFlows&) = delete;
  SpliceFlows& operator=(const SpliceFlows&) = delete;

  // -t: `accepted` (ours now) came from the host's loopback; joins it to
  // the namespace's loopback at `ns_port`.
  void FromHost(int accepted, int family, uint16_t ns_port);
  // -T: `accepted` (ours now) came to a namespace loopback listener; joins
  // it to the host's loopback at `host_port`.
  void FromNamespace(int accepted, int family, uint16_t host_port);

  // Registers a listener made in the namespace (bound to its loopback,
  // listening, non-blocking) whose connections go to the host's loopback
  // at `host_port`. Takes ownership of `fd`.
  // Its index goes to `*index` where given.
  absl::Status AddNamespaceListener(int fd, int family, uint16_t ns_port,
                                    uint16_t host_port,
                                    uint32_t* index = nullptr);
  // Closes the namespace listeners of `ns_port` (both families).
  void RemoveNamespaceListeners(uint16_t ns_port);
  // Closes namespace listener `index` (open); its flows go on.
  void CloseNamespaceListener(uint32_t index);
  // Namespace listener `index` (open) goes to `host_port` from now on.
  void RetargetNamespaceListener(uint32_t index, uint16_t host_port);
  void OnListenerReadable(uint32_t index);

  // Epoll events on side `side` (0 or 1) of flow `slot`: the index and side
  // of its (kTcpSplice) reference.
  void OnEvent(uint32_t slot, int side, uint32_t events);
  // Frees the flows closed so far (every kind in the table, see
  // flow::FlowTable::Reap): for a SpliceFlows on its own table (tests).
  void Reap() { flows_.Reap(); }

  size_t active() const { return flows_.size(); }
  const SpliceCounters& counters() const { return counters_; }

 private:
  struct Side {
    int fd = -1;
    int pipe_r = -1, pipe_w = -1;  // carries what this side sends
    size_t in_pipe = 0;
    size_t pipe_size = 0;  // the pipe's capacity
    bool eof = false;   // read end of stream
    bool shut = false;  // we shut its write side
  };
  struct Flow {
    // The family, and where side 1 connects: on the namespace's side
    // (FromHost) or the host's (FromNamespace). No activity time: spliced
    // flows do not expire.
    flow::FlowHeader hdr;
    bool connecting = false;
    bool reset = false;  // close both sockets with RST
    Side side[2];
  };
  // port: where it listens (the host's port for -t/-u, the namespace's
  // for -T/-U); target: where it forwards to.
  using Listener = flow::Listener;

  // Takes a slot, makes the pipes, connects `out` (on header side
  // `out_side`, flow::kNsSide or kHostSide) to `addr` (null: the loopback)
  // `port`.
  void Join(int accepted, int out, int out_side, int family,
            const uint8_t* addr, uint16_t port, const char* what);
  // Moves what side `from` sent towards the other side. Returns false if
  // the flow was closed.
  bool Move(uint32_t slot, int from);
  void MaybeDone(uint32_t slot);
  // Defers the flow (flow::FlowTable::Defer); Free() closes it.
  void Close(uint32_t slot, bool reset, const char* why);
  // What FlowTable::Reap calls: closes both sides' sockets and pipes.
  void Free(uint32_t slot);

  // Closes `fd` (if open) and marks it so.
  void CloseFd(int& fd);

  sock::Sys* sys_;
  IpAddr ns_addr4_, ns_addr6_;
  bool to_ns_loopback_;
  flow::TableRef table_;
  flow::KindSlots<Flow> flows_;
  std::vector<Listener> listeners_;
  size_t lowest_free_listener_ = 0;  // flow::TakeListenerEntry
  SpliceCounters counters_;
};

}  // namespace pasta::tcp
