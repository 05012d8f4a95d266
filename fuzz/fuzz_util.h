// Helpers shared by the stateful fuzz targets: an input reader for opcode
// scripts and an oracle for frames sent to the namespace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/types/span.h"
#include "common/log.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ip.h"

namespace pasta::fuzz {

// Errors only, once per process: the stateful targets provoke warnings (a
// full flow table, a refused frame) by the thousand per second, megabytes
// of log that slow the run and bury a real report.
inline void QuietLogs() {
  static const bool quiet = [] {
    log::SetLevel(log::Level::kError);
    return true;
  }();
  (void)quiet;
}

// Reads bytes off the front of the input; zeros once it runs out.
struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) << 16 | U16(); }
  // Up to `max` bytes of the input, as they are.
  absl::Span<const uint8_t> Take(size_t max) {
    const size_t k = max < n ? max : n;
    const auto s = absl::MakeConstSpan(p, k);
    p += k;
    n -= k;
    return s;
  }
};

// Checks a frame towards the namespace: an Ethernet header, then an IPv4
// header with a valid checksum or an IPv6 header, whose length fields cover
// the frame exactly, and (UDP, ICMP, ICMPv6) a valid transport checksum.
// At most `max_ip` bytes of IP packet (the tap MTU). Aborts otherwise.
inline void CheckFrame(absl::Span<const uint8_t> frame, size_t max_ip) {
  const auto eth = wire::EthernetView::Parse(frame);
  if (!eth) std::abort();
  const auto p = eth->payload();
  if (p.size() > max_ip) std::abort();
  uint32_t pseudo = 0;
  uint8_t proto = 0;
  absl::Span<const uint8_t> l4;
  if (eth->ethertype() == wire::kEtherTypeIpv4) {
    const auto ip = wire::Ipv4View::Parse(p);
    if (!ip || ip->total_len() != p.size()) std::abort();
    proto = ip->protocol();
    l4 = ip->payload();
    pseudo = ip->PseudoSum();
  } else if (eth->ethertype() == wire::kEtherTypeIpv6) {
    const auto ip = wire::Ipv6View::Parse(p);
    if (!ip ||
        wire::Ipv6View::kHeader + wire::LoadBe16(p.data() + 4) != p.size())
      std::abort();
    proto = ip->protocol();
    l4 = ip->payload();
    pseudo = ip->PseudoSum();
  } else {
    std::abort();
  }
  switch (proto) {
    case wire::kProtoUdp: {
      const auto udp = wire::UdpView::Parse(l4);
      if (!udp || udp->bytes().size() != l4.size()) std::abort();
      if (wire::Finish(wire::SumBytes(l4, pseudo)) != 0) std::abort();
      break;
    }
    case wire::kProtoIcmp:
      if (wire::Finish(wire::SumBytes(l4)) != 0) std::abort();
      break;
    case wire::kProtoIcmpv6:
      if (wire::Finish(wire::SumBytes(l4, pseudo)) != 0) std::abort();
      break;
    default:
      break;
  }
}

}  // namespace pasta::fuzz
