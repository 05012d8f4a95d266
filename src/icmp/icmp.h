// ICMP and ICMPv6 echo ("ping") from the namespace, through unprivileged
// ping sockets on the host.
//
// Theory of operation: an echo request from the namespace is keyed by
// (family, identifier, destination). Its flow owns a ping socket
// (SOCK_DGRAM, IPPROTO_ICMP/IPPROTO_ICMPV6): the kernel picks the socket's
// own identifier and fills in checksums on send. Replies read from the
// socket get the namespace's identifier back, a new checksum, and IP and
// Ethernet headers addressed to the requester, from the address it pinged.
// The address mapped to the host (the gateway, unless --no-map-gw, or
// --map-host-loopback ADDR) is pinged on the host's loopback instead.
// Flows expire after kIdleTimeout without a request; closing is deferred
// to the loop's Reap() (flow::FlowTable::Defer). The table is fixed
// (kMaxFlows); when full, new requests are dropped and counted. Ping
// sockets need the caller's group in net.ipv4.ping_group_range: Probe()
// says so once at start-up. Nothing allocates per packet.
#pragma once

#include <cstdint>
#include <memory>

#include "common/fd.h"
#include "common/net_types.h"
#include "common/time.h"
#include "flow/addr_map.h"
#include "flow/flow_table.h"
#include "flow/listener_list.h"
#include "sock/sys.h"
#include "wire/frame_sink.h"
#include "wire/ip.h"

namespace pasta::icmp {

#ifndef PASTA_FUZZ_SMALL_TABLES
inline constexpr size_t kMaxFlows = 1024;
#else
inline constexpr size_t kMaxFlows = 16;  // the fuzz build (CMakeLists.txt)
#endif
inline constexpr Duration kIdleTimeout = Seconds(60);

struct IcmpConfig {
  bool enabled4 = true;
  bool enabled6 = true;
  MacAddr our_mac;
  // Destinations: map_host stands for the host's loopback, map_guest for
  // the host's own address (flow/addr_map.h).
  flow::AddressMap map;
};

struct Counters {
  uint64_t requests = 0;
  uint64_t replies = 0;
  uint64_t dropped_table_full = 0;
  uint64_t dropped_socket = 0;   // could not open or send
  uint64_t dropped_invalid = 0;  // to no one host's address (multicast...)
  uint64_t expired = 0;
};

class IcmpFlows {
 public:
  // Socket calls go through `sys` (ping sockets: SOCK_DGRAM with
  // IPPROTO_ICMP or IPPROTO_ICMPV6; flows registered for EPOLLIN as
  // (kIcmp, slot)); `sys` and `sink` must outlive this object.
  // `table`: the run's flow table (null: a private one of kMaxFlows).
  IcmpFlows(const IcmpConfig& cfg, sock::Sys* sys, wire::FrameSink* sink,
            flow::SipKey key, flow::FlowTable* table = nullptr);
  IcmpFlows(const IcmpFlows&) = delete;
  IcmpFlows& operator=(const IcmpFlows&) = delete;
  // Unregisters from the table (the flows' sockets stay, as before).
  ~IcmpFlows();

  // Tries a ping socket of each enabled family once and logs one warning
  // if the kernel refuses them (ping_group_range). Returns false if none
  // could be opened.
  bool Probe();

  // The address mapping for flows from now on: the host's network changed
  // (app/follow.h).
  void set_map(const flow::AddressMap& map) { cfg_.map = map; }

  // An ICMP(v6) message from the namespace. Echo requests start or reuse a
  // flow; everything else is ignored (returns false). `src`/`dst` are the
  // IP addresses (4 or 16 bytes), `ns_mac` the requester's MAC.
  bool FromNamespace(int family, const uint8_t* src, const uint8_t* dst,
                     const wire::IcmpView& icmp, const MacAddr& ns_mac,
                     Instant now);

  // The socket of flow `slot` is readable: relays every reply queued.
  void OnReadable(uint32_t slot, Instant now);

  // Closes flows idle for kIdleTimeout.
  void Expire(Instant now);
  // Frees the flows closed so far (every kind in the table, see
  // flow::FlowTable::Reap): for an IcmpFlows on its own table (tests).
  void Reap() { flows_.Reap(); }
  // No flow expires before this instant (Never(): no flow). Costs nothing.
  Instant NextDeadline() const { return next_deadline_; }

  size_t active() const { return index_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Key {
    uint8_t family;  // AF_INET or AF_INET6 as a byte
    uint8_t pad = 0;
    uint16_t id;  // the namespace's echo identifier
    uint8_t dst[16];
  };
  struct Flow {
    // The namespace side's peer is where replies go (the requester, port:
    // the echo identifier); the host side's, where requests go. Last
    // activity in hdr.last.
    flow::FlowHeader hdr;
    Key key{};
    int fd = -1;
    MacAddr ns_mac;
  };

  // Defers the flow (flow::FlowTable::Defer) and forgets its key.
  void Close(uint32_t slot);
  // What FlowTable::Reap calls: closes the flow's socket.
  void Free(uint32_t slot);
  // A new ping socket of `family`.
  sock::Result Open(int family);
  bool IsMapped(int family, const uint8_t* dst) const;

  IcmpConfig cfg_;
  sock::Sys* sys_;
  wire::FrameSink* sink_;
  flow::TableRef table_;
  flow::KindIndex<Key> index_;
  flow::KindSlots<Flow> flows_;
  std::unique_ptr<uint8_t[]> buf_;  // one frame
  Counters counters_;
  Instant next_deadline_ = Instant::Never();
};

}  // namespace pasta::icmp
