// NDP responder (RFC 4861) for the tap side: neighbour and router
// advertisements, with RDNSS/DNSSL (RFC 8106).
//
// Theory of operation: as with ARP, pasta pretends to be every IPv6 host the
// namespace might want, and also its only router.
//   - Neighbour Solicitation (135) for any target except the namespace's own
//     addresses gets a Neighbour Advertisement (136) with R, S and O set and a
//     target link-layer address option carrying our MAC, or for a host's LAN
//     neighbour in cfg.neighbours that neighbour's own MAC. A solicitation
//     from :: is duplicate address detection and gets no answer.
//     BuildUnsolicitedNa() tells the namespace that a neighbour's MAC
//     changed (RFC 4861 section 7.2.6).
//   - Router Solicitation (133) gets a Router Advertisement (134), unless RAs
//     are off (--no-ra). The RA carries a source link-layer address option, a
//     Prefix Information option per configured prefix (L always, A when the
//     prefix is /64: SLAAC, RFC 4862 section 5.5.3 needs a 64-bit interface
//     id on Ethernet), an MTU option when mtu is 1280..65535, RDNSS and DNSSL
//     options when configured. BuildRouterAdvert() makes the same RA
//     unsolicited, to ff02::1, for start-up and periodic sending.
//   - Everything else (other ICMPv6 types, malformed messages) is no reply.
//
// Validation (RFC 4861 sections 6.1.1 and 7.1.1), all silently dropped:
// IPv6 hop limit != 255, ICMP code != 0, message shorter than the fixed part,
// a bad ICMPv6 checksum (we verify it: it is cheap and these messages are
// rare), an option of length 0 or running past the end of the message, an NS
// whose target is multicast, an RS from :: carrying a source link-layer
// address option. Also dropped: a source address that is multicast or not
// IPv6, an NS whose target is ::.
//
// Replies come from our link-local address (cfg.our_ll, or the EUI-64 one
// derived from our MAC when unset) to the solicitor (ff02::1 for an RS from
// ::). The caller builds the IPv6 header with hop limit kNdpHopLimit (255,
// required by the receiver's own checks) and next header 58, and the
// Ethernet header to NdpReply::dst_mac. The ICMPv6 checksum is filled in.
//
// Pure functions over bytes: no state, no traffic, and handling a packet does
// not allocate (the config is built once at start-up; DNSSL names are encoded
// straight into the output buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/net_types.h"
#include "common/time.h"
#include "ndp/neighbours.h"

namespace pasta::ndp {

// Hop limit of the IPv6 header around every reply (RFC 4861 sections 4.2,
// 4.4: receivers drop NDP messages with any other value).
inline constexpr uint8_t kNdpHopLimit = 255;
// IPv6 next header value for ICMPv6.
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
// Length of our Neighbour Advertisements: fixed part plus the TLLA option.
inline constexpr size_t kNeighborAdvertLen = 32;
// An output buffer this large fits any RA from a config that passes
// ValidateNdpConfig(), and any NA: the IPv6 minimum MTU (1280, RFC 8200
// section 5) less the 40-byte IPv6 header.
inline constexpr size_t kMaxNdpReplyLen = 1240;
// "Infinity" for prefix and DNS lifetimes (RFC 4861 4.6.2, RFC 8106 5.1).
inline constexpr uint32_t kInfiniteLifetime = 0xffffffff;

struct Prefix {
  IpAddr prefix;  // IPv6; bits past `len` are cleared when advertised
  uint8_t len = 64;
  uint32_t valid_lifetime = kInfiniteLifetime;      // seconds
  uint32_t preferred_lifetime = kInfiniteLifetime;  // seconds
};

struct NdpConfig {
  MacAddr our_mac;
  // Our link-local address, source of NAs and RAs. When not IPv6, the one
  // LinkLocalFromMac(our_mac) gives is used.
  IpAddr our_ll;
  // The namespace's own addresses: NS for these is never answered.
  std::vector<IpAddr> ns_addrs;
  // The host's LAN neighbours (may be null: our MAC for everyone). Not
  // owned; must outlive the config.
  const NeighbourTable* neighbours = nullptr;
  // Advertised in RAs; non-IPv6 entries and lengths over 128 are skipped.
  std::vector<Prefix> prefixes;
  // MTU option when 1280..65535; otherwise no MTU option.
  int mtu = 0;
  // RDNSS option (RFC 8106 5.1) when there is an IPv6 address here.
  std::vector<IpAddr> rdnss;
  // DNSSL option (RFC 8106 5.2) when there is a valid name here ("a.b" or
  // "a.b."; names with empty or over-long labels are skipped).
  std::vector<std::string> dnssl;
  // Lifetime of the RDNSS and DNSSL entries, seconds.
  uint32_t dns_lifetime = 65535;
  // false (--no-ra): no RS is answered and BuildRouterAdvert() builds nothing.
  bool ra = true;
  // RA flags: M (addresses by DHCPv6), O (other configuration by DHCPv6).
  bool managed = false;
  bool other = false;
  // RA Cur Hop Limit field: the hop limit the namespace should use (0 would
  // mean unspecified).
  uint8_t cur_hop_limit = 255;
  // RA Router Lifetime, seconds: 65535, the largest value, as RFC 8319
  // allows (it lifted RFC 4861's 9000 s cap). 0 would mean "not a default
  // router".
  uint16_t router_lifetime = 65535;
};

struct NdpReply {
  IpAddr src;  // IPv6 source of the reply (hop limit kNdpHopLimit)
  IpAddr dst;  // IPv6 destination
  // Ethernet destination: the solicitor's source link-layer address option
  // if present, else the frame's source MAC, or 33:33:00:00:00:01 for
  // ff02::1.
  MacAddr dst_mac;
  // Length of the ICMPv6 message written to `out`, checksum filled in over
  // the pseudo-header with `src` and `dst`.
  size_t len = 0;
};

// Checks a config at start-up: prefixes, RDNSS addresses are IPv6, prefix
// lengths <= 128, DNSSL names encodable, and the RA fits kMaxNdpReplyLen.
// Allocates (control plane).
absl::Status ValidateNdpConfig(const NdpConfig& cfg);

// Handles an ICMPv6 message from the namespace. `icmp6` is the message from
// the type field onwards, exactly the IPv6 payload (no Ethernet padding); it
// came from IPv6 source `src` to `dst` with hop limit `hop_limit`, in a frame
// from `frame_src_mac`. Handles NS (135) and RS (133); anything else, and
// anything invalid, gives nullopt. `out` must not overlap `icmp6`; a reply
// that does not fit in `out` is not built (kMaxNdpReplyLen always suffices
// for a validated config). Does not allocate.
std::optional<NdpReply> HandleNdp(const IpAddr& src, const IpAddr& dst,
                                  uint8_t hop_limit,
                                  const MacAddr& frame_src_mac,
                                  absl::Span<const uint8_t> icmp6,
                                  const NdpConfig& cfg,
                                  absl::Span<uint8_t> out);

// An unsolicited RA from our link-local address to ff02::1, for start-up and
// periodic sending. nullopt if cfg.ra is false or it does not fit in `out`.
// Does not allocate.
std::optional<NdpReply> BuildRouterAdvert(const NdpConfig& cfg,
                                          absl::Span<uint8_t> out);

// The time until the next unsolicited RA (RFC 4861 section 6.2.4): drawn
// from [MinRtrAdvInterval, MaxRtrAdvInterval) of section 6.2.1 by `random`
// (any bits; the caller's cheap source), with MaxRtrAdvInterval 600 s but
// below the router lifetime, MinRtrAdvInterval a third of it, and neither
// under the 3 s of MIN_DELAY_BETWEEN_RAS (section 10). The spread keeps the
// RAs of many pastas started at once from staying in step.
Duration RouterAdvertInterval(const NdpConfig& cfg, uint64_t random);

// An unsolicited Neighbour Advertisement (RFC 4861 section 7.2.6) from our
// link-local address to ff02::1 saying that `target` is at `mac`: flags R
// and O (override the namespace's cached address), not S (Linux drops a
// solicited advertisement sent to a multicast address). nullopt if
// `target` is not IPv6 or `out` is shorter than kNeighborAdvertLen. Does
// not allocate.
std::optional<NdpReply> BuildUnsolicitedNa(const NdpConfig& cfg,
                                           const IpAddr& target,
                                           const MacAddr& mac,
                                           absl::Span<uint8_t> out);

// Length of the RA that cfg gives (whether or not cfg.ra is set).
size_t RouterAdvertLen(const NdpConfig& cfg);

// fe80::/64 with the modified EUI-64 interface id of `mac` (RFC 4291
// appendix A): the MAC with ff:fe in the middle and the universal/local bit
// inverted.
IpAddr LinkLocalFromMac(const MacAddr& mac);

}  // namespace pasta::ndp
