// The Internet checksum (RFC 1071) and the pseudo-headers of RFC 768/793
// (IPv4) and RFC 8200 section 8.1 (IPv6).
//
// Sums are accumulated in 32 bits and folded at the end; Finish() returns
// the value to store (one's complement). Byte order: the sum is computed
// over big-endian 16-bit words, and Finish() returns a host-order value to
// write with StoreBe16(). Pure; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace pasta::wire {

// Adds `data` (big-endian 16-bit words; an odd last byte is padded with
// zero) to a running 32-bit sum. Sums of several spans may be chained only
// if every span but the last has even length.
inline uint32_t SumBytes(absl::Span<const uint8_t> data, uint32_t sum = 0) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t acc = sum;
  while (n >= 2) {
    acc += static_cast<uint32_t>(p[0] << 8 | p[1]);
    p += 2;
    n -= 2;
  }
  if (n == 1) acc += static_cast<uint32_t>(p[0] << 8);
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

// Folds a 32-bit sum to 16 bits and complements it: the checksum field.
inline uint16_t Finish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// The IPv4 pseudo-header sum: source, destination (4 bytes each, network
// order), zero, protocol, and the L4 length.
inline uint32_t PseudoSum4(const uint8_t* src, const uint8_t* dst,
                           uint8_t protocol, uint16_t l4_len) {
  uint32_t sum = SumBytes(absl::MakeConstSpan(src, 4));
  sum = SumBytes(absl::MakeConstSpan(dst, 4), sum);
  return sum + protocol + l4_len;
}

// The IPv6 pseudo-header sum: source, destination (16 bytes each), the
// 32-bit upper-layer length and the next header value.
inline uint32_t PseudoSum6(const uint8_t* src, const uint8_t* dst,
                           uint8_t next_header, uint32_t l4_len) {
  uint32_t sum = SumBytes(absl::MakeConstSpan(src, 16));
  sum = SumBytes(absl::MakeConstSpan(dst, 16), sum);
  return sum + (l4_len >> 16) + (l4_len & 0xffff) + next_header;
}

}  // namespace pasta::wire
