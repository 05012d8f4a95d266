// Helpers shared by the ARP/NDP tests: address literals and an ICMPv6
// checksum written independently of src/wire, so that the tests check the
// module's checksums rather than repeat them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/net_types.h"

namespace pasta::ndp::testing {

inline IpAddr Ip(const char* text) { return *ParseIp(text); }
inline MacAddr Mac(const char* text) { return *ParseMac(text); }

// RFC 4443 section 2.3 over the RFC 8200 section 8.1 pseudo-header, with the
// message's checksum field taken as it is: returns the folded one's
// complement sum (0xffff for a message whose checksum is correct).
inline uint16_t FoldedSum(const IpAddr& src, const IpAddr& dst,
                          const std::vector<uint8_t>& msg) {
  std::vector<uint8_t> all(src.bytes.begin(), src.bytes.end());
  all.insert(all.end(), dst.bytes.begin(), dst.bytes.end());
  uint32_t len = static_cast<uint32_t>(msg.size());
  for (int shift : {24, 16, 8, 0}) all.push_back(uint8_t(len >> shift));
  for (uint8_t b : {0, 0, 0, 58}) all.push_back(b);
  all.insert(all.end(), msg.begin(), msg.end());
  if (all.size() % 2) all.push_back(0);
  uint64_t sum = 0;
  for (size_t i = 0; i < all.size(); i += 2) sum += all[i] << 8 | all[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Sets the checksum field (bytes 2-3) of `msg` so that it verifies.
inline void FixChecksum(const IpAddr& src, const IpAddr& dst,
                        std::vector<uint8_t>& msg) {
  if (msg.size() < 4) return;
  msg[2] = msg[3] = 0;
  uint16_t cs = static_cast<uint16_t>(~FoldedSum(src, dst, msg));
  msg[2] = uint8_t(cs >> 8);
  msg[3] = uint8_t(cs);
}

}  // namespace pasta::ndp::testing
