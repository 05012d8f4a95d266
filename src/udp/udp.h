// UDP from the namespace through one host socket per flow, replies back to
// the flow that asked, ICMP errors relayed, and forwarded ports (-u).
//
// Theory of operation (see also README.md in this folder):
// - A flow is keyed as the namespace sees it: (family, namespace address and
//   port, remote address and port). The first datagram of an outbound flow
//   opens a non-blocking UDP socket, binds it to the namespace's source port
//   on the wildcard address (port 0 if that is taken or privileged), and
//   connects it to the destination, mapped: the map_host address becomes
//   the host's loopback, the dns_forward address port 53 becomes the host's
//   resolver. Every datagram is send() on it; EAGAIN/ENOBUFS drop it.
// - Replies are read with recvmmsg() straight into preallocated frame
//   buffers, kBatch per wakeup, and wrapped in UDP/IP/Ethernet headers from
//   the address the namespace wrote to (never the mapped one).
// - ICMP errors: sockets have IP_RECVERR/IPV6_RECVERR. When a read fails, or
//   a wakeup finds no datagram (EPOLLERR), the error queue is drained and
//   each Destination Unreachable becomes an ICMP(v6) Destination Unreachable
//   to the namespace from the original destination, quoting a reconstructed
//   IP + UDP header and what the kernel kept of the payload.
// - Listeners (-u): a datagram from R:r to a forwarded host port becomes a
//   frame from R':r to the namespace's address and the target port, where
//   R' is R except that loopback sources (127.0.0.0/8, ::1) are shown as
//   the map_host address when there is one (the namespace cannot reach the
//   host's loopback otherwise). It creates an inbound flow keyed like an
//   outbound one whose socket is the listener's: namespace replies go out
//   with sendto(R:r) on it, so the remote hears from the port it talked to.
// - Flows idle for kIdleTimeout are closed by Expire() (listener sockets
//   stay). Closing is deferred (flow::FlowTable::Defer): the flow's socket
//   closes, and its slot is freed, at the loop's Reap(). The table holds
//   kMaxFlows; when full, new flows are refused and counted, existing ones keep
//   working.
// Nothing on the data path allocates: the flow table, its index, the
// receive batch and the ICMP error buffer are sized at construction.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
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
#include "udp/relay.h"
#include "wire/frame_sink.h"
#include "wire/ip.h"

namespace pasta::udp {

#ifndef PASTA_FUZZ_SMALL_TABLES
inline constexpr size_t kMaxFlows = 4096;
#else
inline constexpr size_t kMaxFlows = 16;  // the fuzz build (CMakeLists.txt)
#endif
// Two families times every port.
inline constexpr size_t kMaxListeners = 2 * 65536;
inline constexpr Duration kIdleTimeout = Seconds(180);  // upstream's
inline constexpr int kBatch = 32;             // datagrams read per wakeup
// Largest UDP payload there is: 65535 - 20 (IPv4) - 8 (UDP).
inline constexpr size_t kMaxDatagram = 65535 - 20 - 8;

struct UdpConfig {
  bool enabled4 = true, enabled6 = true;
  MacAddr our_mac;
  // Destinations: map_host (the host's loopback), map_guest, DNS
  // forwarding (flow/addr_map.h).
  flow::AddressMap map;
  IpAddr ns_addr4, ns_addr6;          // the namespace's addresses (inbound)
  flow::Outbound out;                 // -o, --outbound-if4/6
  int mtu = 65520;  // tap MTU: largest IP packet towards the namespace
  // Coalesce consecutive equal-sized datagrams of one outbound flow, read
  // in one tap batch, into one UDP GSO send (UDP_SEGMENT): the host stack
  // is traversed once per run instead of once per datagram. Pending runs go
  // out at Flush(), which the caller must then call after every batch.
  bool coalesce = false;
  bool freebind = false;  // --freebind: listeners may bind absent addresses
};

// The seam's datagram slot and error-queue entry (sock/sys.h).
using sock::Datagram;
using sock::IcmpErrorInfo;

struct Counters {
  uint64_t sent = 0;       // datagrams from the namespace sent on sockets
  uint64_t gso_sends = 0;  // of which in UDP GSO calls: the number of calls
  uint64_t received = 0;   // datagrams relayed to the namespace
  uint64_t flows_opened = 0;
  uint64_t dropped_invalid = 0;     // port 0, non-unicast or loopback dst
  uint64_t dropped_table_full = 0;  // no free flow slot
  uint64_t dropped_socket = 0;      // open/connect failed, send error
  uint64_t dropped_busy = 0;        // send: EAGAIN or ENOBUFS
  uint64_t dropped_too_big = 0;     // reply larger than the tap MTU allows
  uint64_t dropped_no_ns_addr = 0;  // inbound, no namespace address
  uint64_t icmp_relayed = 0;        // ICMP errors sent to the namespace
  uint64_t expired = 0;
  uint64_t closed_addr_gone = 0;  // their host source address went away
};

class UdpFlows {
 public:
  // Socket calls go through `sys`: UDP sockets with IP(V6)_RECVERR (and
  // IPV6_V6ONLY), flows registered for EPOLLIN (EPOLLERR comes anyway) as
  // (kUdp, slot), listeners as (kUdpListen, index). `sys` and `sink` must
  // outlive this object. Allocates the flow table and kBatch frame
  // buffers of (14 + mtu) bytes.
  // `table`: the run's flow table (null: a private one of kMaxFlows).
  UdpFlows(UdpConfig cfg, sock::Sys* sys, wire::FrameSink* sink,
           flow::SipKey key, flow::FlowTable* table = nullptr);
  // Closes every flow and listener socket.
  ~UdpFlows();
  UdpFlows(const UdpFlows&) = delete;
  UdpFlows& operator=(const UdpFlows&) = delete;

  // A UDP datagram from the namespace; `src`/`dst` are 4 or 16 bytes.
  // Returns false if not handled (family disabled); true otherwise, also
  // when the datagram was dropped (counted). Allocates nothing.
  bool FromNamespace(int family, const uint8_t* src, const uint8_t* dst,
                     const wire::UdpView& udp, const MacAddr& ns_mac,
                     Instant now);

  // Opens a socket bound to `bind_addr` (nullptr: any) port `host_port`
  // whose datagrams go to port `ns_port` at `to_addr` (of `family`), or at
  // the namespace's address where `to_addr` is null. With a `to_addr`,
  // datagrams from the host's loopback also go over the tap, not the
  // loopback relay. Control plane: allocates; errors carry the errno.
  // With an `ifname`, bound to that interface (SO_BINDTODEVICE). Its index
  // goes to `*index` where given.
  absl::Status AddListener(int family, const IpAddr* bind_addr,
                           uint16_t host_port, uint16_t ns_port,
                           const IpAddr* to_addr = nullptr,
                           const std::string& ifname = {},
                           uint32_t* index = nullptr);

  // Closes the listeners of `host_port` (both families) and the inbound
  // flows that answer through them. Control plane: a scan of the table.
  void RemoveListeners(uint16_t host_port);
  // The same for listener `index` (open) alone.
  void CloseListener(uint32_t index);
  // Listener `index` (open) sends to `ns_port` at `to_addr` (null: the
  // namespace's address) from now on; flows already made keep theirs.
  void RetargetListener(uint32_t index, uint16_t ns_port,
                        const IpAddr* to_addr);

  // The socket of flow `slot` is readable or has an error: relays up to
  // kBatch datagrams and any ICMP errors.
  void OnReadable(uint32_t slot, Instant now);
  // The same for listener `index` (its kUdpListen reference).
  void OnListenerReadable(uint32_t index, Instant now);

  // Closes flows idle for kIdleTimeout. Costs a scan of the table.
  void Expire(Instant now);

  // Closes the outbound flows whose own socket's local address is one of
  // `gone` (the host no longer has it: following the host, app/follow.h),
  // rather than leaving them to expire; the namespace's next datagram
  // opens a new flow from an address the host has. Flows on a listener's
  // socket are left alone. Returns how many; a getsockname() per flow.
  size_t CloseFlowsFrom(const std::vector<IpAddr>& gone);
  // Frees the flows closed so far (every kind in the table, see
  // flow::FlowTable::Reap): for a UdpFlows on its own table (tests).
  void Reap() { flows_.Reap(); }
  // No flow expires before this instant (Never(): no flow). Costs nothing.
  Instant NextDeadline() const { return next_deadline_; }

  // Sends the pending coalesced run, if any (UdpConfig::coalesce).
  void Flush();

  // Datagrams to -u listeners from the host's loopback go to `relay` (to
  // the namespace's loopback) instead of the tap, where a loopback source
  // would be dropped as a martian. Null: over the tap (--no-splice).
  void set_loopback_relay(UdpRelay* relay) { relay_ = relay; }

  // The namespace's MAC, for inbound frames before any outbound traffic.
  // Until known, such frames go to the broadcast MAC.
  void set_ns_mac(const MacAddr& mac) { ns_mac_ = mac; }

  // The address mapping and the namespace's addresses (inbound), for flows
  // from now on: the host's network changed (app/follow.h).
  void set_addresses(const flow::AddressMap& map, const IpAddr& ns_addr4,
                     const IpAddr& ns_addr6) {
    cfg_.map = map;
    cfg_.ns_addr4 = ns_addr4;
    cfg_.ns_addr6 = ns_addr6;
  }

  size_t active() const { return index_.size(); }
  size_t listeners() const {
    size_t n = 0;
    for (const Listener& l : listeners_) n += l.fd >= 0;
    return n;
  }
  const Counters& counters() const { return counters_; }

 private:
  using Key = flow::PortKey;
  struct Flow {
    // Last activity in hdr.last; the host side's peer is the real remote
    // (inbound: where sendto goes) or where the socket is connected.
    flow::FlowHeader hdr;
    Key key{};
    int fd = -1;
    int32_t listener = -1;  // >= 0: inbound, fd is that listener's
    uint16_t last_len = 0;  // payload length of the last datagram sent
    MacAddr ns_mac;
  };
  // port: where it listens (the host's port for -t/-u, the namespace's
  // for -T/-U); target: where it forwards to.
  using Listener = flow::Listener;

  bool Enabled(int family) const {
    return family == AF_INET ? cfg_.enabled4 : cfg_.enabled6;
  }
  // Largest UDP payload a frame towards the namespace can carry.
  size_t MaxPayload(int family) const;
  // The flow's MAC, else the namespace's, else broadcast.
  MacAddr MacFor(const Flow& f) const;
  // How a remote address is shown to the namespace: loopback as map_host.
  void ShownRemote(int family, const uint8_t* real, uint8_t* shown) const;
  // Checks the destination, opens, binds and connects the socket of a new
  // outbound flow. Returns its slot, or -1 (counted).
  int64_t OpenOutbound(const Key& key, Instant now);
  // Takes a free slot (the caller checked the table is not full) and
  // indexes it.
  // A new flow for `key` on `fd` (a listener's, index `listener` >= 0, or
  // its own), its header filled: the namespace side from `key`, the host
  // side's peer `host_peer`:`host_port` and our port there, `our_port`.
  int64_t NewSlot(const Key& key, int fd, int32_t listener,
                  const uint8_t* host_peer, uint16_t host_port,
                  uint16_t our_port, Instant now);
  // A UDP socket of `family` with IP(V6)_RECVERR on (IPV6_V6ONLY too).
  sock::Result Open(int family);
  // Registers `fd` as flow `index` or listener `index`.
  void Watch(int fd, uint32_t index, bool listener);
  // Points batch_ at the frame buffers and reads. Returns how many
  // datagrams were read, or -1 (none, or a pending error).
  int Receive(int fd, int family);
  // Counts and returns true if `d` does not fit the tap MTU.
  bool TooBig(const Datagram& d, int family);
  void ReadFlow(uint32_t slot, Instant now);
  void ReadListener(uint32_t index, Instant now);
  // Relays each queued ICMP error of `fd`: for flow `slot`, or (slot < 0)
  // for the flow of listener `listener` the failed datagram names.
  void DrainErrors(int fd, int family, int64_t slot, int32_t listener);
  void RelayIcmpError(const Flow& f, const IcmpErrorInfo& e);
  static size_t QuoteOffset(int family);
  size_t QuoteCap(int family) const;
  // Wraps the payload already in frame buffer `i` (of kBatch) and sends it.
  void Deliver(size_t i, const Key& key, const MacAddr& mac, size_t len);
  // Defers the flow (flow::FlowTable::Defer) and forgets its key.
  void Close(uint32_t slot);
  // What FlowTable::Reap calls: closes the flow's own socket.
  void Free(uint32_t slot);
  // Adds a datagram of outbound flow `slot` to the pending run (flushing
  // the run first when it cannot take it).
  void Coalesce(int64_t slot, absl::Span<const uint8_t> payload);
  // Sends `payload` on outbound flow `slot` now; counts the outcome.
  void SendNow(int64_t slot, absl::Span<const uint8_t> payload);

  // The pending run: `count` datagrams of `segment` bytes (the last may be
  // shorter, and then ends the run) for flow `slot`, in run_buf_.
  static constexpr size_t kMaxRunBytes = 65000;
  static constexpr uint16_t kMaxRunSegments = 64;
  struct Run {
    int64_t slot = -1;
    uint16_t segment = 0;
    uint16_t count = 0;
    size_t len = 0;
  };

  UdpConfig cfg_;
  sock::Sys* sys_;
  wire::FrameSink* sink_;
  UdpRelay* relay_ = nullptr;
  flow::TableRef table_;
  flow::KindIndex<Key> index_;
  flow::KindSlots<Flow> flows_;
  std::vector<Listener> listeners_;
  size_t lowest_free_listener_ = 0;    // flow::TakeListenerEntry
  size_t frame_size_;                  // 14 + mtu
  std::unique_ptr<uint8_t[]> frames_;  // kBatch frames of frame_size_
  Datagram batch_[kBatch];
  std::unique_ptr<uint8_t[]> err_buf_;  // ICMP error frame + quoted payload
  MacAddr ns_mac_;
  Counters counters_;
  Run run_;
  Instant next_deadline_ = Instant::Never();
  std::unique_ptr<uint8_t[]> run_buf_;  // kMaxRunBytes, with coalesce
  bool gso_ok_ = true;                  // cleared when the kernel says no
};

}  // namespace pasta::udp
