// The Internet checksum (RFC 1071) and the pseudo-headers of RFC 768/793
// (IPv4) and RFC 8200 section 8.1 (IPv6).
//
// Sums are accumulated in 32 bits and folded at the end; Finish() returns
// the value to store (one's complement). Byte order: the sum is computed
// over big-endian 16-bit words, and Finish() returns a host-order value to
// write with StoreBe16(). Pure; no allocation.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/types/span.h"

namespace pasta::wire {

// Adds `data` (big-endian 16-bit words; an odd last byte is padded with
// zero) to a running 32-bit sum, and returns a sum that Finish() turns into
// the checksum (not the plain total: congruent to it modulo 0xffff). Sums of
// several spans may be chained only if every span but the last has even
// length.
//
// The words are added eight bytes at a time in the host's byte order, in
// 64-bit accumulators that keep the carries, then folded to 16 bits and
// put in network order: the one's complement sum commutes with swapping the
// bytes of every word (RFC 1071 section 2(B)), and two accumulators over
// independent halves let the compiler vectorise the loop. A full-size frame
// to a passt guest, whose checksums no device completes, is summed here.
inline uint32_t SumBytes(absl::Span<const uint8_t> data, uint32_t sum = 0) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t a0 = 0;
  uint64_t a1 = 0;
  // Each step adds at most 2 x (2^32 - 1): no accumulator can overflow
  // within any span a frame has.
  while (n >= 16) {
    uint64_t w0;
    uint64_t w1;
    std::memcpy(&w0, p, 8);
    std::memcpy(&w1, p + 8, 8);
    a0 += (w0 & 0xffffffffu) + (w0 >> 32);
    a1 += (w1 & 0xffffffffu) + (w1 >> 32);
    p += 16;
    n -= 16;
  }
  a0 += a1 & 0xffffffffu;
  a0 += a1 >> 32;
  while (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    a0 += w;
    p += 2;
    n -= 2;
  }
  // Fold to 16 bits, end-around carry kept.
  a0 = (a0 & 0xffffffffu) + (a0 >> 32);
  a0 = (a0 & 0xffffffffu) + (a0 >> 32);
  a0 = (a0 & 0xffff) + (a0 >> 16);
  a0 = (a0 & 0xffff) + (a0 >> 16);
  uint16_t folded = static_cast<uint16_t>(a0);
  if constexpr (std::endian::native == std::endian::little)
    folded = static_cast<uint16_t>(folded << 8 | folded >> 8);
  uint64_t acc = static_cast<uint64_t>(sum) + folded;
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
