// Building frames towards the namespace, into buffers we sized ourselves.
//
// Layout: a reply is composed in place. The L4 message is written first at
// a fixed offset (kL4Offset4 or kL4Offset6), then WrapIpv4()/WrapIpv6() put
// the IP and Ethernet headers in front of it. Checksums: the IPv4 header
// checksum always; L4 checksums with the Fill* helpers, which need the
// pseudo-header, so they take the addresses. Pure; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "common/net_types.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"

namespace pasta::wire {

inline constexpr size_t kIpv4Header = 20;
inline constexpr size_t kIpv6Header = 40;
inline constexpr size_t kL4Offset4 = kEthHeaderLen + kIpv4Header;  // 34
inline constexpr size_t kL4Offset6 = kEthHeaderLen + kIpv6Header;  // 54

// Writes the Ethernet header at out[0..14).
inline void WriteEthernet(uint8_t* out, const MacAddr& dst, const MacAddr& src,
                          uint16_t ethertype) {
  std::memcpy(out, dst.bytes.data(), 6);
  std::memcpy(out + 6, src.bytes.data(), 6);
  StoreBe16(out + 12, ethertype);
}

// Puts Ethernet + IPv4 headers in front of the `l4_len` bytes already at
// out[kL4Offset4..]. Returns the frame length, or 0 if it does not fit in
// `out` or exceeds an IPv4 total length. `src`/`dst` are 4 bytes.
size_t WrapIpv4(absl::Span<uint8_t> out, const MacAddr& dst_mac,
                const MacAddr& src_mac, const uint8_t* src, const uint8_t* dst,
                uint8_t protocol, size_t l4_len, uint8_t ttl = 64);

// Same for IPv6 (`src`/`dst` 16 bytes), L4 at out[kL4Offset6..].
size_t WrapIpv6(absl::Span<uint8_t> out, const MacAddr& dst_mac,
                const MacAddr& src_mac, const uint8_t* src, const uint8_t* dst,
                uint8_t next_header, size_t l4_len, uint8_t hop_limit = 64);

// Writes a UDP header at `udp` for `payload_len` bytes that follow it and
// fills the checksum from `pseudo_sum` (PseudoSum4/6 over the UDP length).
// A computed checksum of 0 is sent as 0xffff (RFC 768).
void FillUdp(uint8_t* udp, uint16_t src_port, uint16_t dst_port,
             size_t payload_len, uint32_t pseudo_sum);

// Recomputes the checksum of an ICMP message (bytes [2,3]). For ICMPv6 pass
// the pseudo-header sum; for ICMPv4 pass 0.
void FillIcmpChecksum(absl::Span<uint8_t> message, uint32_t pseudo_sum);

}  // namespace pasta::wire
