// Where a namespace's connection really goes, and how a host peer is shown
// to the namespace: the address rules that ICMP, UDP and TCP flows share.
//
// - A destination must be unicast: not unspecified, multicast, broadcast,
//   IPv4-mapped, nor the host's loopback (IsValidRemote), except the
//   map_host address, which stands for the host's loopback.
// - MapDestination() applies, in order: DNS forwarding (dns_forward port 53
//   goes to dns_target), map_host (to 127.0.0.1 or ::1), map_guest (to the
//   host's own address that the namespace's address copies).
// - ShownPeer() is the reverse for inbound traffic: a peer on the host's
//   loopback appears as the map_host address; a peer at the namespace's
//   own address (the host itself, at the address the namespace copies: a
//   client on the host connecting to its own address) appears as the
//   map_guest address where one is given, else as our address on the tap
//   (the gateway for IPv4, our link-local address for IPv6), as upstream.
//   The namespace would drop a packet from its own address as a martian
//   (IPv4) or answer itself (IPv6).
// Addresses are 4 or 16 bytes in network order. Pure; no allocation.
#pragma once

#include <cstdint>

#include "common/net_types.h"

namespace pasta::flow {

struct AddressMap {
  IpAddr map_host4, map_host6;        // AF_UNSPEC: none
  IpAddr map_guest4, map_guest6;      // AF_UNSPEC: none
  IpAddr guest_host4, guest_host6;    // what map_guest stands for
  IpAddr dns_forward4, dns_forward6;  // AF_UNSPEC: none
  IpAddr dns_target4, dns_target6;    // where forwarded DNS goes
  IpAddr ns4, ns6;                    // the namespace's own address
  IpAddr ours4, ours6;                // our address on the tap (see above)

  const IpAddr& map_host(int family) const {
    return family == AF_INET ? map_host4 : map_host6;
  }
};

inline size_t AddrLen(int family) { return family == AF_INET ? 4 : 16; }

// True if `addr` equals `a` (same family and bytes).
bool Matches(const IpAddr& a, int family, const uint8_t* addr);
// 127.0.0.0/8 or ::1.
bool IsLoopback(int family, const uint8_t* addr);
// Writes 127.0.0.1 or ::1 to `out`.
void StoreLoopback(int family, uint8_t* out);
// Unicast and not the host's loopback (see above).
bool IsValidRemote(int family, const uint8_t* addr);

// True if the namespace may open a flow to `dst`: a valid remote, or the
// map_host address.
bool AllowedDestination(const AddressMap& m, int family, const uint8_t* dst);

// Writes where a flow to `dst`:`port` goes into `target` (AddrLen bytes).
// Returns true if a rule changed it.
bool MapDestination(const AddressMap& m, int family, const uint8_t* dst,
                    uint16_t port, uint8_t* target);

// Writes how peer `real` is shown to the namespace into `shown`.
void ShownPeer(const AddressMap& m, int family, const uint8_t* real,
               uint8_t* shown);

}  // namespace pasta::flow
