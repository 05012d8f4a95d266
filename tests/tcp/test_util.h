// Helpers shared by the TCP tests: the addresses of the traces, TCP frames as
// the namespace sends them, and the checks on frames going the other way.
// Frames are built and checksums verified byte by byte, independently of
// src/wire's builders, so that the tests check the module's checksums rather
// than repeat them.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"

namespace pasta::tcp::testing {

using Bytes = std::vector<uint8_t>;

inline const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
inline const MacAddr kNsMac{{0x02, 0, 0, 0, 0, 0x0f}};
// The namespace (10.0.2.15, 2001:db8::15) and the server it talks to
// (203.0.113.7, 2001:db8:2::7).
inline const Bytes kNs4 = {10, 0, 2, 15};
inline const Bytes kRemote4 = {203, 0, 113, 7};
inline const Bytes kNs6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                           0,    0,    0,    0,    0, 0, 0, 0x15};
inline const Bytes kRemote6 = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,
                               0,    0,    0,    0,    0, 0, 0, 7};
inline constexpr uint16_t kNsPort = 40000;
inline constexpr uint16_t kRemotePort = 80;

inline IpAddr Ip(const Bytes& b) {
  IpAddr a;
  a.family = b.size() == 4 ? AF_INET : AF_INET6;
  std::copy(b.begin(), b.end(), a.bytes.begin());
  return a;
}

inline void Put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
inline void Put32(Bytes& b, size_t at, uint32_t v) {
  Put16(b, at, static_cast<uint16_t>(v >> 16));
  Put16(b, at + 2, static_cast<uint16_t>(v));
}
inline uint16_t Get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
inline uint32_t Get32(const Bytes& b, size_t at) {
  return static_cast<uint32_t>(Get16(b, at)) << 16 | Get16(b, at + 2);
}

// The folded one's complement sum (RFC 1071) of `data` plus `initial`.
inline uint16_t FoldedSum(const Bytes& data, uint64_t initial = 0) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < data.size(); i += 2)
    sum += static_cast<uint64_t>(data[i] << 8 | data[i + 1]);
  if (data.size() % 2) sum += static_cast<uint64_t>(data.back() << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The pseudo-header sum (RFC 9293 3.1, RFC 8200 8.1) for TCP.
inline uint64_t PseudoSum(const Bytes& src, const Bytes& dst, size_t l4_len) {
  Bytes p(src);
  p.insert(p.end(), dst.begin(), dst.end());
  uint64_t sum = FoldedSum(p);
  return sum + 6 + (l4_len >> 16) + (l4_len & 0xffff);
}

// A TCP segment's fields. `options` are taken as they are, padded with
// zeros (end of option list) to a multiple of four bytes.
struct Segment {
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 65535;
  Bytes options;
  std::string payload;
};

// An Ethernet frame with IPv4 or IPv6 (from the size of `src`) carrying
// `seg` from src:sport to dst:dport, every checksum valid.
inline Bytes TcpFrame(const Bytes& src, uint16_t sport, const Bytes& dst,
                      uint16_t dport, const Segment& seg,
                      const MacAddr& from = kNsMac,
                      const MacAddr& to = kOurMac) {
  Bytes options = seg.options;
  while (options.size() % 4) options.push_back(0);
  const size_t tcp_header = 20 + options.size();
  Bytes tcp(tcp_header + seg.payload.size());
  Put16(tcp, 0, sport);
  Put16(tcp, 2, dport);
  Put32(tcp, 4, seg.seq);
  Put32(tcp, 8, seg.ack);
  tcp[12] = static_cast<uint8_t>(tcp_header / 4 << 4);
  tcp[13] = seg.flags;
  Put16(tcp, 14, seg.window);
  std::copy(options.begin(), options.end(), tcp.begin() + 20);
  std::copy(seg.payload.begin(), seg.payload.end(),
            tcp.begin() + static_cast<ptrdiff_t>(tcp_header));
  Put16(
      tcp, 16,
      static_cast<uint16_t>(~FoldedSum(tcp, PseudoSum(src, dst, tcp.size()))));

  const bool v4 = src.size() == 4;
  Bytes ip(v4 ? 20 : 40);
  if (v4) {
    ip[0] = 0x45;
    Put16(ip, 2, static_cast<uint16_t>(20 + tcp.size()));
    Put16(ip, 6, 0x4000);  // don't fragment
    ip[8] = 64;
    ip[9] = 6;
    std::copy(src.begin(), src.end(), ip.begin() + 12);
    std::copy(dst.begin(), dst.end(), ip.begin() + 16);
    Put16(ip, 10, static_cast<uint16_t>(~FoldedSum(ip)));
  } else {
    ip[0] = 0x60;
    Put16(ip, 4, static_cast<uint16_t>(tcp.size()));
    ip[6] = 6;
    ip[7] = 64;
    std::copy(src.begin(), src.end(), ip.begin() + 8);
    std::copy(dst.begin(), dst.end(), ip.begin() + 24);
  }
  Bytes frame(to.bytes.begin(), to.bytes.end());
  frame.insert(frame.end(), from.bytes.begin(), from.bytes.end());
  frame.push_back(v4 ? 0x08 : 0x86);
  frame.push_back(v4 ? 0x00 : 0xdd);
  frame.insert(frame.end(), ip.begin(), ip.end());
  frame.insert(frame.end(), tcp.begin(), tcp.end());
  return frame;
}

// TCP options (RFC 9293 3.2, RFC 7323 2.2).
inline Bytes MssOption(uint16_t mss) {
  return {2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)};
}
inline Bytes WindowScaleOption(uint8_t shift) { return {1, 3, 3, shift}; }
inline Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Deterministic data whose every byte says where it is in its stream, so
// that a reordered, repeated or lost byte shows in a comparison.
inline std::string Pattern(size_t offset, size_t len) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i)
    s[i] = static_cast<char>('a' + (offset + i) % 23 + (offset + i) / 4099 % 3);
  return s;
}

}  // namespace pasta::tcp::testing
