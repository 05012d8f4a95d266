// ARP responder (RFC 826) for the tap side.
//
// Theory of operation: pasta sits on the far side of the tap and pretends to
// be every IPv4 host the namespace might want to reach, so any ARP request is
// answered with our MAC (or, for a host's LAN neighbour in the
// NeighbourTable, with that neighbour's own MAC), with these exceptions,
// which get no answer:
//   - a request for the namespace's own address (that is duplicate address
//     detection; answering would make the namespace believe its address is
//     taken);
//   - a gratuitous ARP / announcement (sender IP == target IP, RFC 5227
//     section 2.3): nobody asked anything;
//   - a probe (sender IP 0.0.0.0, RFC 5227 section 2.1.1): it asks about an
//     address the namespace is about to take.
// Only Ethernet/IPv4 requests are handled (htype 1, ptype 0x0800, hlen 6,
// plen 4, op 1). Everything else, truncated packets included, is no reply.
//
// BuildArpAnnounce() makes the gratuitous ARP that tells the namespace a
// neighbour's MAC changed.
//
// Pure functions over bytes: no state, no allocation, no traffic.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "common/net_types.h"
#include "ndp/neighbours.h"

namespace pasta::ndp {

// Length of an Ethernet/IPv4 ARP packet (the Ethernet payload, without the
// padding to the 60-byte minimum frame).
inline constexpr size_t kArpLen = 28;

struct ArpConfig {
  MacAddr our_mac;
  // The namespace's own IPv4 address; AF_UNSPEC if not known yet (then no
  // request is treated as duplicate address detection).
  IpAddr ns_addr;
  // The host's LAN neighbours (may be null: our MAC for everyone). Not
  // owned; must outlive the config.
  const NeighbourTable* neighbours = nullptr;
};

// `arp` is the ARP packet (the Ethernet payload, ethertype 0x0806; trailing
// padding is ignored). Returns the length of the ARP reply written to `out`
// (kArpLen), or 0 for no reply (not a request we answer, malformed, or `out`
// shorter than kArpLen). The reply's target hardware/protocol addresses are
// the requester's sender addresses; the caller wraps it in an Ethernet header
// from our MAC to the requester. `arp` and `out` must not overlap.
// Does not allocate.
size_t HandleArp(absl::Span<const uint8_t> arp, const ArpConfig& cfg,
                 absl::Span<uint8_t> out);

// Writes an ARP announcement (RFC 5227 section 2.3: a request with sender
// and target IP both `addr`, sender hardware address `mac`, target hardware
// address zero) to `out`. The caller sends it from `mac` to the broadcast
// address. Returns kArpLen, or 0 if `addr` is not IPv4 or `out` is too
// short. Does not allocate.
size_t BuildArpAnnounce(const IpAddr& addr, const MacAddr& mac,
                        absl::Span<uint8_t> out);

}  // namespace pasta::ndp
