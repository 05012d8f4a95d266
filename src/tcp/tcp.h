// TCP between the namespace's connections (tap frames) and host sockets,
// without a TCP stack of our own: the host kernel's socket holds the data,
// we translate sequence numbers, windows, ACKs and flags.
//
// Theory of operation (see also README.md in this folder):
// - A flow is keyed as the namespace sees it: (family, namespace address and
//   port, remote address and port). State is a set of event bits (Ev*), not
//   RFC 793's state names; --trace prints them.
// - Outbound: a SYN from the namespace opens a non-blocking socket and
//   connect()s it to the mapped destination (flow/addr_map.h). The SYN-ACK
//   goes back only once the connect completes (EPOLLOUT, SO_ERROR 0); a
//   failure sends RST. Inbound (-t): accept() on a listener sends a SYN to
//   the namespace's address; its SYN-ACK completes the flow. Our ISN is a
//   keyed hash of the flow's ends plus a 4 µs clock (RFC 6528), so a new
//   connection on the ends of an old one starts beyond it and a namespace
//   socket still in TIME-WAIT for them accepts it; if it answers with an
//   ACK of the old connection instead, we reset it (RFC 9293 3.10.7.3) and
//   the retransmitted SYN opens the connection.
// - Namespace -> socket: in-order payload is send() on the socket at once;
//   what the socket refuses goes to a per-flow buffer (kBufferSize, taken
//   from a pool of kBufferPool) that is flushed on EPOLLOUT. We ACK all we
//   took, and advertise as window the free space of that buffer: the
//   namespace never sends more than we can hold, so nothing it sends in
//   window is dropped and it never waits for its retransmission timer.
//   A segment beyond a gap is kept in the same buffer (kMaxOutOfOrder
//   ranges at most; beyond them it is dropped) and answered at once with a
//   duplicate ACK carrying SACK blocks (RFC 2018) where the namespace
//   offered them, so it resends only what is missing. A FIN becomes
//   shutdown(SHUT_WR) once the buffer is empty.
// - Socket -> namespace: data is read with MSG_PEEK at the socket's peek
//   offset (SO_PEEK_OFF; without it, a discard buffer skips what is in
//   flight), straight into frame buffers, at most the namespace's window,
//   in segments of its MSS. An ACK from the namespace discards the acked
//   bytes from the socket (recv with MSG_TRUNC). Three duplicate ACKs (once
//   per loss: more duplicates are the same loss), or no progress for the
//   retransmission timeout, rewind to the last ACK (peek offset back to 0)
//   and send again; a late ACK for what was sent before a rewind is still
//   taken. A frame the tap refused is sent again at the next ACK or at
//   kRetryPushDelay.
//   EOF becomes a FIN after the data; a socket error becomes RST.
// - ACKs and further sends are batched: Flush() sends them, called by the
//   tap after each batch of frames and by the loop after every iteration.
//   Sockets are registered edge-triggered (EPOLLIN | EPOLLOUT | EPOLLRDHUP |
//   EPOLLET) once; reads stop when the namespace's window is full and resume on
//   its next ACK.
// - Closing: a flow is freed when both FINs are acknowledged, on RST either
//   way, or on a timeout (kSynTimeout, kFinTimeout, kIdleTimeout).
// - Time: every deadline of a flow (handshake, retransmission, FIN, idle,
//   a refused frame) is an Instant; NextDeadline() says when the earliest
//   is due, and Tick() at that time handles what is due. The loop arms its
//   timer for that instant only, so an idle pasta does not wake up.
//   Closing is deferred, as for every kind (flow::FlowTable::Defer):
//   Close() defers the flow (the closing bit in its header, Closing()); the
//   table's Reap() at the end of each loop iteration calls Free(), which
//   closes its fd, and frees its slot, so a late event in the same epoll
//   batch can never reach a reused slot or fd number.
// - Limits: kMaxFlows flows; when full, a new SYN gets RST and a
//   (rate-limited) warning; existing flows are unaffected.
// Nothing on the data path allocates: flow table, index, frame buffers and
// the buffer pool are sized at construction.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/net_types.h"
#include "common/time.h"
#include "flow/addr_map.h"
#include "flow/flow_table.h"
#include "flow/listener_list.h"
#include "flow/outbound.h"
#include "sock/sys.h"
#include "tcp/splice.h"
#include "wire/frame_sink.h"
#include "wire/ip.h"

namespace pasta::tcp {

#ifndef PASTA_FUZZ_SMALL_TABLES
inline constexpr size_t kMaxFlows = 8192;
#else
inline constexpr size_t kMaxFlows = 16;  // the fuzz build (CMakeLists.txt)
#endif
inline constexpr size_t kMaxListeners = 2 * 65536;
// Per-flow buffer for what the socket refused, and how many exist.
inline constexpr size_t kBufferSize = 512 * 1024;
inline constexpr size_t kBufferPool = 64;
// Window scale we offer (RFC 7323): kBufferSize needs at least 3.
inline constexpr uint8_t kWindowScale = 7;
// Frames built per peek.
inline constexpr int kSendBatch = 32;
// Bytes of a device's own framing to allow for per frame when a sink's room()
// limits a batch (the stream's 4-byte length, the padding of a short frame).
inline constexpr size_t kFramingMargin = 64;
// Timeouts, as upstream's.
inline constexpr Duration kSynTimeout = Seconds(10);
inline constexpr Duration kRtoMin = Milliseconds(200);  // first retransmission
inline constexpr Duration kFinTimeout = Seconds(60);
inline constexpr Duration kIdleTimeout = Seconds(7200);
// A frame the tap refused is pushed again this much later at the latest.
inline constexpr Duration kRetryPushDelay = Milliseconds(100);
inline constexpr int kMaxRetransmits = 8;

// TCP header flags (RFC 9293 3.1).
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08,
                         kAck = 0x10;

struct TcpConfig {
  bool enabled4 = true, enabled6 = true;
  MacAddr our_mac;
  flow::AddressMap map;        // destination mapping, shown peers
  IpAddr ns_addr4, ns_addr6;   // the namespace's addresses (inbound)
  flow::Outbound out;          // -o, --outbound-if4/6
  int mtu = 65520;             // tap MTU
  size_t buffers = kBufferPool;  // per-flow buffers in the pool
  bool freebind = false;  // --freebind: listeners may bind absent addresses
};

struct Counters {
  uint64_t flows_opened = 0;     // outbound and inbound
  uint64_t connect_failed = 0;   // outbound connect refused or unreachable
  uint64_t bytes_to_socket = 0;  // namespace -> socket (sent or buffered)
  uint64_t bytes_to_ns = 0;      // socket -> namespace (first transmission)
  uint64_t segments_to_ns = 0;
  uint64_t retransmits = 0;        // rewinds towards the namespace
  uint64_t buffered = 0;           // segments (partly) kept in a buffer
  uint64_t dropped_no_buffer = 0;  // refused by the socket, pool empty
  uint64_t out_of_order = 0;          // segments held beyond a gap
  uint64_t dropped_out_of_order = 0;  // beyond a gap, and not held
  uint64_t dropped_invalid = 0;     // bad destination, port 0, no flow
  uint64_t dropped_table_full = 0;  // SYN refused: table full
  uint64_t resets_to_ns = 0;
  uint64_t resets_from_ns = 0;
  uint64_t timeouts = 0;
};

class TcpFlows {
 public:
  // Socket calls go through `sys`: non-blocking TCP sockets with
  // TCP_NODELAY (and IPV6_V6ONLY), SO_PEEK_OFF where the kernel has it;
  // flows registered edge-triggered for EPOLLIN | EPOLLOUT | EPOLLRDHUP as
  // (kTcpSock, slot), listeners for EPOLLIN as (kTcpListen, index). `sys`
  // and `sink` must outlive this object. Allocates the flow table, the
  // frame buffers and the buffer pool (address space only, until used).
  // `table`: the run's flow table (null: a private one of kMaxFlows).
  TcpFlows(const TcpConfig& cfg, sock::Sys* sys, wire::FrameSink* sink,
           flow::SipKey key, flow::FlowTable* table = nullptr);
  // Closes every socket (flows with RST).
  ~TcpFlows();
  TcpFlows(const TcpFlows&) = delete;
  TcpFlows& operator=(const TcpFlows&) = delete;

  // A TCP segment from the namespace; `src`/`dst` are 4 or 16 bytes.
  // Returns false if not handled (family disabled); true otherwise, also
  // when dropped (counted). Allocates nothing.
  bool FromNamespace(int family, const uint8_t* src, const uint8_t* dst,
                     const wire::TcpView& tcp, const MacAddr& ns_mac,
                     Instant now);

  // After a batch of frames: sends the ACKs and window updates owed, and
  // more data where the namespace's window opened.
  void Flush(Instant now);

  // Epoll events on the socket of flow `slot`.
  void OnSocketEvent(uint32_t slot, uint32_t events, Instant now);
  // Listener `index` (its kTcpListen reference) is readable: accepts what
  // is waiting.
  void OnListenerReadable(uint32_t index, Instant now);

  // Retransmissions, zero-window probes and timeouts: handles what is due
  // at `now`, then finds the next deadline. Call when NextDeadline() has
  // come (earlier is harmless); costs one scan of the active flows.
  void Tick(Instant now);
  // No flow has anything due before this instant (Never(): nothing
  // pending). It may be earlier than needed (a deadline that moved later
  // since), never later. Costs nothing.
  Instant NextDeadline() const { return next_deadline_; }

  // Frees the flows closed so far (those of every kind in the table, see
  // flow::FlowTable::Reap): the loop reaps its table itself; this is for
  // a TcpFlows on its own table (unit tests, fuzzing).
  void Reap() { flows_.Reap(); }
  // Closes every flow, resetting its socket and sending nothing to the
  // namespace (passt: the guest that had them is gone). The slots are
  // freed by the next reap. Listeners stay.
  void CloseAll(const char* why);

  // Listens on `bind_addr` (nullptr: any) `host_port`, forwarding to
  // `ns_port` at `to_addr` (of `family`), or at the namespace's address
  // where `to_addr` is null. A connection to a listener with a `to_addr`
  // always goes over the tap, also from the host's loopback (as upstream:
  // splicing reaches only the namespace's own addresses). Control plane:
  // allocates.
  // With an `ifname`, the listener is bound to that interface
  // (SO_BINDTODEVICE). Its index goes to `*index` where given.
  absl::Status AddListener(int family, const IpAddr* bind_addr,
                           uint16_t host_port, uint16_t ns_port,
                           const IpAddr* to_addr = nullptr,
                           const std::string& ifname = {},
                           uint32_t* index = nullptr);

  // Closes the listeners of `host_port` (both families); connections
  // already accepted go on.
  void RemoveListeners(uint16_t host_port);
  // Closes listener `index` (open); connections already accepted go on.
  void CloseListener(uint32_t index);
  // Listener `index` (open) forwards to `ns_port` at `to_addr` (null: the
  // namespace's address) from now on.
  void RetargetListener(uint32_t index, uint16_t ns_port,
                        const IpAddr* to_addr);

  // Connections to -t ports from the host's loopback go to `splice` (null:
  // over the tap, as with --no-splice). Must outlive this object.
  void set_splice(SpliceFlows* splice) { splice_ = splice; }

  // The namespace's MAC, for inbound SYNs before any outbound traffic.
  void set_ns_mac(const MacAddr& mac) { ns_mac_ = mac; }

  // The address mapping and the namespace's addresses (inbound), for flows
  // from now on: the host's network changed (app/follow.h). Flows already
  // running keep the addresses they have.
  void set_addresses(const flow::AddressMap& map, const IpAddr& ns_addr4,
                     const IpAddr& ns_addr6) {
    cfg_.map = map;
    cfg_.ns_addr4 = ns_addr4;
    cfg_.ns_addr6 = ns_addr6;
  }

  // Closes, with RST both ways, the flows whose host socket has one of
  // `gone` as its local address: the host no longer has it, and the peer
  // would never answer (app/follow.h). Returns how many. Costs a scan of
  // the active flows and a getsockname() each.
  size_t ResetFlowsFrom(const std::vector<IpAddr>& gone);

  size_t active() const { return index_.size(); }
  // Flows whose namespace side may still send data for the host: not yet
  // closed, and not (FIN taken and everything written to the socket).
  // Costs a scan of the active flows.
  size_t PendingFromNamespace() const;
  size_t listeners() const {
    size_t n = 0;
    for (const Listener& l : listeners_) n += l.fd >= 0;
    return n;
  }
  size_t free_buffers() const { return buffer_free_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  using Key = flow::PortKey;

  // Event bits of a flow.
  enum : uint32_t {
    kEvInbound = 1u << 0,      // accepted on a listener
    kEvConnecting = 1u << 1,   // outbound connect() in progress
    kEvSynAckSent = 1u << 2,   // outbound: SYN-ACK sent to the namespace
    kEvSynSent = 1u << 3,      // inbound: SYN sent to the namespace
    kEvEstablished = 1u << 4,  // handshake done on the tap side
    kEvNsFin = 1u << 5,        // FIN received from the namespace
    kEvSockShut = 1u << 6,     // shutdown(SHUT_WR) done
    kEvSockEof = 1u << 7,      // end of stream: FIN sent at fin_seq
    kEvFinSent = 1u << 8,      // FIN in flight (cleared by a rewind)
    kEvFinAcked = 1u << 9,     // the namespace ACKed our FIN
    kEvAckDue = 1u << 10,      // owe the namespace an ACK
    kEvSendDue = 1u << 11,     // try sending data at Flush()
    // 1u << 12: free (closing is the table's bit: Closing()).
    kEvQueued = 1u << 13,     // on the flush list
    kEvRdHup = 1u << 14,      // EPOLLRDHUP seen: the peer sent FIN
    kEvReset = 1u << 15,      // close the socket with RST
    kEvRetryPush = 1u << 16,  // the tap refused a frame: push again soon
    kEvSack = 1u << 17,       // SACK permitted (RFC 2018) on this flow
    kEvDrained = 1u << 18,    // a peek found nothing more: wait for EPOLLIN
  };
  static constexpr int kMaxOutOfOrder = 4;  // ranges held (and SACK blocks)

  struct Flow {
    flow::FlowHeader hdr;  // last activity in hdr.last
    uint32_t ev = 0;
    Key key{};
    int fd = -1;
    MacAddr ns_mac;
    // Namespace -> socket.
    uint32_t ns_next = 0;     // next sequence number expected (our ACK)
    uint32_t ack_sent = 0;    // last ACK number sent
    int32_t buf = -1;         // pool index of the refused-data buffer
    uint32_t buf_start = 0;   // its unsent bytes: [buf_start, buf_end)
    uint32_t buf_end = 0;
    // Out-of-order data held in the buffer: sequence ranges [start, end),
    // sorted, disjoint, beyond ns_next; the byte of sequence s sits at
    // buf_end + (s - ns_next).
    uint32_t ooo_start[kMaxOutOfOrder] = {};
    uint32_t ooo_end[kMaxOutOfOrder] = {};
    // Socket -> namespace.
    uint32_t isn = 0;         // our initial sequence number
    uint32_t seq_next = 0;    // next sequence number to send
    uint32_t seq_acked = 0;   // highest ACK from the namespace
    // Bytes the namespace acknowledged that are still in the socket: read
    // away (Discard) once per round, before the next peek (Push), a rewind
    // or the close, instead of once for every ACK.
    uint32_t unread_acked = 0;
    uint32_t seq_max = 0;     // highest sequence number sent, plus one
    uint32_t fin_seq = 0;     // our FIN's sequence number (kEvSockEof)
    uint32_t ns_wnd = 0;      // its window in bytes (scaled)
    uint8_t ns_ws = 0;        // its window scale (shift), if both offered
    uint8_t our_ws = 0;       // ours, if both offered
    uint8_t dup_acks = 0;
    uint8_t retries = 0;
    uint8_t ooo_n = 0;        // out-of-order ranges held (above)
    uint8_t ooo_last = 0;     // the range that grew last (first SACK block)
    uint16_t mss = 536;       // segment size towards the namespace
    Instant rto_at = Instant::Never();  // retransmission deadline
    Instant opened;                     // when the flow was created
  };
  // port: where it listens (the host's port for -t/-u, the namespace's
  // for -T/-U); target: where it forwards to.
  using Listener = flow::Listener;

  bool Enabled(int family) const {
    return family == AF_INET ? cfg_.enabled4 : cfg_.enabled6;
  }
  // The flow's ends for a trace line: "tcp NS -> REMOTE".
  static std::string Describe(const Flow& f);
  // Whether `f` was Close()d (deferred, waiting for the table's Reap()).
  static bool Closing(const Flow& f) {
    return (f.hdr.state & flow::kFlowClosing) != 0;
  }
  static std::string Describe(const Key& k);

  // The seam, as this module uses it. A TCP socket of `family` with
  // TCP_NODELAY (and IPV6_V6ONLY for AF_INET6).
  sock::Result Open(int family);
  // Turns SO_PEEK_OFF on at 0 (false if the kernel lacks it), or moves it.
  bool EnablePeekOffset(int fd);
  void SetPeekOffset(int fd, size_t offset);
  // SO_ERROR: 0 or the pending error (cleared).
  int PendingError(int fd);
  // Registers a flow's socket (slot) or a listener (index).
  void Watch(int fd, uint32_t index, bool listener);
  // Closes `fd`; `reset` makes the peer see RST.
  void CloseSocket(int fd, bool reset);

  void OpenOutbound(const Key& key, const wire::TcpView& tcp,
                    const MacAddr& ns_mac, Instant now);
  // A new flow for `key` on socket `fd`, its header filled: the namespace
  // side from `key`, the host side's peer `host_peer` (where the socket
  // connects, or what it was accepted from) at key.remote_port.
  int64_t NewSlot(const Key& key, int fd, const uint8_t* host_peer,
                  Instant now);
  void ReadOptions(Flow& f, const wire::TcpView& tcp) const;
  void HandleSegment(uint32_t slot, const wire::TcpView& tcp, Instant now);
  void HandleAck(uint32_t slot, const wire::TcpView& tcp, Instant now);
  void HandlePayload(uint32_t slot, const wire::TcpView& tcp, Instant now);
  // Writes what the flow's buffer holds to the socket. Returns false if the
  // flow was closed.
  bool FlushBuffer(uint32_t slot);
  // Sends socket data within the namespace's window.
  void Push(uint32_t slot, Instant now);
  // Tick()'s work on one flow: its timeouts and retransmissions due.
  void TickFlow(uint32_t slot, Instant now);
  // The flow's earliest deadline: handshake, retransmission, FIN or idle
  // timeout, or a refused frame to push again.
  static Instant FlowDeadline(const Flow& f, Instant now);
  // Sets the retransmission deadline (also of a SYN or SYN-ACK).
  void Arm(Flow& f, Instant at) {
    f.rto_at = at;
    Due(at);
  }
  // Something is due at `at`: NextDeadline() is no later.
  void Due(Instant at) { next_deadline_ = Earlier(next_deadline_, at); }
  void Rewind(uint32_t slot, Instant now);
  // Reads away what the namespace acknowledged (f.unread_acked), so that
  // the socket holds only what is in flight or not yet sent.
  void DiscardAcked(Flow& f);
  void MaybeFinish(uint32_t slot);

  // Frames. Payload (if any) is already at PayloadOffset() in `frame`.
  static size_t PayloadOffset(int family);
  // Builds and sends a segment; returns false if the tap refused it.
  bool SendSegment(Flow& f, uint8_t* frame, uint8_t flags, uint32_t seq,
                   size_t payload_len, bool options);
  void SendFlags(Flow& f, uint8_t flags);  // no payload, seq = seq_next
  void SendAckNow(Flow& f) { SendFlags(f, kAck); }
  static uint32_t OurWindow(const Flow& f);
  // RST for a segment that has no flow (RFC 9293 3.10.7.1).
  void ResetUnknown(int family, const uint8_t* src, const uint8_t* dst,
                    const wire::TcpView& tcp, const MacAddr& ns_mac);

  void Queue(uint32_t slot, uint32_t bits);
  // Marks the flow closed; `reset_socket` closes with RST, `reset_ns` sends
  // RST to the namespace first.
  void Close(uint32_t slot, bool reset_socket, bool reset_ns,
             const char* why);
  void ReleaseBuffer(Flow& f);
  // What FlowTable::Reap calls for a closed flow: closes its socket (with
  // RST after a reset) and gives its buffer back.
  void Free(uint32_t slot);
  // Takes a buffer from the pool for `f`. Returns false if none is left.
  bool AttachBuffer(Flow& f);
  // Moves the buffer's bytes (unsent and out-of-order) to its start.
  void Compact(Flow& f);
  // Keeps `data`, `off` bytes beyond ns_next, if it fits the window and
  // the range table. Returns false if it was dropped.
  bool StoreOutOfOrder(Flow& f, uint32_t off, absl::Span<const uint8_t> data);
  // After ns_next moved: takes the out-of-order ranges it reached.
  static void MergeOutOfOrder(Flow& f);
  uint8_t* BufferData(int32_t index) {
    return pool_.get() + static_cast<size_t>(index) * kBufferSize;
  }

  TcpConfig cfg_;
  sock::Sys* sys_;
  wire::FrameSink* sink_;
  SpliceFlows* splice_ = nullptr;
  flow::SipKey key_;
  flow::TableRef table_;
  flow::KindIndex<Key> index_;
  flow::KindSlots<Flow> flows_;
  std::vector<uint32_t> queued_;  // slots with kEvQueued
  std::vector<Listener> listeners_;
  size_t lowest_free_listener_ = 0;  // flow::TakeListenerEntry
  bool offload_;  // partial checksums and TSO frames (FrameSink)
  static constexpr size_t kMaxIpPacket = 65535;
  size_t frame_size_;  // 14 + mtu, or 14 + kMaxIpPacket with offload_
  std::unique_ptr<uint8_t[]> frames_;  // kSendBatch frames
  std::unique_ptr<uint8_t[]> ctl_;     // one frame for flags-only segments
  std::unique_ptr<uint8_t[]> pool_;    // kBufferPool * kBufferSize
  std::vector<int32_t> buffer_free_;
  bool peek_off_ok_ = true;
  MacAddr ns_mac_;
  Counters counters_;
  // So that the first warning is never held back.
  Instant last_full_warning_ = Instant() - Seconds(1000);
  Instant next_deadline_ = Instant::Never();
};

}  // namespace pasta::tcp
