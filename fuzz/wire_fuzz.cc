// libFuzzer target for the packet views of src/wire: arbitrary bytes as an
// Ethernet frame, parsed as IPv4 or IPv6 (with extension headers), then as
// UDP, TCP or ICMP/ICMPv6. Checks the bounds contract (every view lies
// inside the frame, payloads are trimmed to the length fields) and that
// what parses survives a round trip through the frame builders: the L4
// message wrapped again with WrapIpv4/WrapIpv6 and FillUdp/
// FillIcmpChecksum parses back to the same addresses, ports and payload,
// with valid checksums. Also the --trace description of the frame.
//
// The first input byte steers: bit 0 fixes up the IPv4 header checksum
// first (otherwise almost every mutated IPv4 header stops there).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "fuzz_util.h"
#include "tap/tap.h"
#include "wire/build.h"

namespace {

namespace wire = pasta::wire;

bool Within(absl::Span<const uint8_t> inner, absl::Span<const uint8_t> outer) {
  return inner.data() >= outer.data() &&
         inner.data() + inner.size() <= outer.data() + outer.size();
}

void Require(bool ok) {
  if (!ok) std::abort();
}

// Wraps `l4` (protocol `proto`) again and checks what comes out.
void RoundTrip(int family, const uint8_t* src, const uint8_t* dst,
               uint8_t proto, absl::Span<const uint8_t> l4) {
  static uint8_t out[wire::kL4Offset6 + 65536];
  const size_t off = family == AF_INET ? wire::kL4Offset4 : wire::kL4Offset6;
  std::memcpy(out + off, l4.data(), l4.size());
  uint8_t* m = out + off;
  const auto l4_len = static_cast<uint32_t>(l4.size());
  const uint32_t pseudo =
      family == AF_INET
          ? wire::PseudoSum4(src, dst, proto, static_cast<uint16_t>(l4_len))
          : wire::PseudoSum6(src, dst, proto, l4_len);
  if (proto == wire::kProtoUdp) {
    wire::FillUdp(m, wire::LoadBe16(l4.data()), wire::LoadBe16(l4.data() + 2),
                  l4.size() - wire::UdpView::kHeader, pseudo);
  } else if (proto == wire::kProtoIcmp || proto == wire::kProtoIcmpv6) {
    wire::FillIcmpChecksum(absl::MakeSpan(m, l4.size()),
                           proto == wire::kProtoIcmp ? 0 : pseudo);
  }
  const pasta::MacAddr a{{2, 0, 0, 0, 0, 1}}, b{{2, 0, 0, 0, 0, 2}};
  const size_t len = family == AF_INET
                         ? wire::WrapIpv4(absl::MakeSpan(out), a, b, src, dst,
                                          proto, l4.size())
                         : wire::WrapIpv6(absl::MakeSpan(out), a, b, src, dst,
                                          proto, l4.size());
  if (len == 0) {  // too long for an IPv4 total length
    Require(family == AF_INET && l4.size() > 65535 - 20);
    return;
  }
  Require(len == off + l4.size());
  const auto frame = absl::MakeConstSpan(out, len);
  pasta::fuzz::CheckFrame(frame, 65535);
  // Same addresses, protocol and message (UDP: payload and ports).
  const auto eth = wire::EthernetView::Parse(frame);
  const uint8_t* s;
  const uint8_t* d;
  uint8_t p;
  absl::Span<const uint8_t> back;
  if (family == AF_INET) {
    const auto ip = wire::Ipv4View::Parse(eth->payload());
    s = ip->src(), d = ip->dst(), p = ip->protocol(), back = ip->payload();
  } else {
    const auto ip = wire::Ipv6View::Parse(eth->payload());
    Require(ip.has_value());
    s = ip->src(), d = ip->dst(), p = ip->protocol(), back = ip->payload();
  }
  const size_t alen = family == AF_INET ? 4 : 16;
  Require(std::memcmp(s, src, alen) == 0 && std::memcmp(d, dst, alen) == 0);
  Require(p == proto && back.size() == l4.size());
  // All but the checksum (UDP bytes 6-7, ICMP bytes 2-3), which we filled.
  const size_t head = proto == wire::kProtoUdp ? 6 : 2;
  const size_t skip = head + 2;
  if (proto == wire::kProtoUdp || proto == wire::kProtoIcmp ||
      proto == wire::kProtoIcmpv6) {
    Require(std::memcmp(back.data(), l4.data(), head) == 0);
    Require(std::memcmp(back.data() + skip, l4.data() + skip,
                        l4.size() - skip) == 0);
  } else {
    Require(std::memcmp(back.data(), l4.data(), l4.size()) == 0);
  }
}

void ParseL4(int family, const uint8_t* src, const uint8_t* dst, uint8_t proto,
             absl::Span<const uint8_t> l4) {
  wire::ParseError err = wire::ParseError::kOk;
  switch (proto) {
    case wire::kProtoUdp: {
      const auto udp = wire::UdpView::Parse(l4, &err);
      if (!udp) {
        Require(err != wire::ParseError::kOk);
        return;
      }
      Require(Within(udp->bytes(), l4) && udp->bytes().data() == l4.data());
      Require(udp->bytes().size() == wire::LoadBe16(l4.data() + 4));
      Require(Within(udp->payload(), udp->bytes()));
      RoundTrip(family, src, dst, proto, udp->bytes());
      return;
    }
    case wire::kProtoTcp: {
      const auto tcp = wire::TcpView::Parse(l4, &err);
      if (!tcp) {
        Require(err != wire::ParseError::kOk);
        return;
      }
      Require(tcp->header_len() >= 20 && tcp->header_len() <= l4.size());
      Require(Within(tcp->options(), l4) && Within(tcp->payload(), l4));
      Require(tcp->options().size() + 20 + tcp->payload().size() == l4.size());
      RoundTrip(family, src, dst, proto, l4);
      return;
    }
    case wire::kProtoIcmp:
    case wire::kProtoIcmpv6: {
      const auto icmp = wire::IcmpView::Parse(l4, &err);
      if (!icmp) {
        Require(l4.size() < 4 && err == wire::ParseError::kTruncated);
        return;
      }
      Require(icmp->bytes().size() == l4.size());
      if (icmp->has_echo_fields()) (void)(icmp->echo_id() + icmp->echo_seq());
      RoundTrip(family, src, dst, proto, l4);
      return;
    }
    default:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 65536 + 64) return 0;
  const uint8_t flags = data[0];
  static uint8_t buf[65536 + 64];
  std::memcpy(buf, data + 1, size - 1);
  const auto frame = absl::MakeConstSpan(buf, size - 1);
  (void)pasta::tap::DescribeFrame(frame);
  const auto eth = wire::EthernetView::Parse(frame);
  if (!eth) {
    Require(frame.size() < wire::kEthHeaderLen);
    return 0;
  }
  const auto packet = eth->payload();
  wire::ParseError err = wire::ParseError::kOk;
  switch (eth->ethertype()) {
    case wire::kEtherTypeIpv4: {
      if ((flags & 1) && packet.size() >= 20) {
        const size_t ihl = (packet[0] & 15) * 4u;
        if (ihl >= 20 && ihl <= packet.size()) {
          uint8_t* h = buf + wire::kEthHeaderLen;
          wire::StoreBe16(h + 10, 0);
          wire::StoreBe16(
              h + 10,
              wire::Finish(wire::SumBytes(absl::MakeConstSpan(h, ihl))));
        }
      }
      const auto ip = wire::Ipv4View::Parse(packet, &err);
      if (!ip) {
        Require(err != wire::ParseError::kOk);
        return 0;
      }
      Require(ip->header_len() >= 20 && ip->total_len() <= packet.size());
      Require(ip->header_len() + ip->payload().size() == ip->total_len());
      Require(Within(ip->payload(), packet));
      if (ip->is_fragment()) return 0;
      ParseL4(AF_INET, ip->src(), ip->dst(), ip->protocol(), ip->payload());
      return 0;
    }
    case wire::kEtherTypeIpv6: {
      const auto ip = wire::Ipv6View::Parse(packet, &err);
      if (!ip) {
        Require(err != wire::ParseError::kOk);
        return 0;
      }
      Require(Within(ip->payload(), packet));
      Require(ip->payload().data() + ip->payload().size() ==
              packet.data() + 40 + wire::LoadBe16(packet.data() + 4));
      (void)ip->flow_label();
      if (ip->is_fragment()) return 0;
      ParseL4(AF_INET6, ip->src(), ip->dst(), ip->protocol(), ip->payload());
      return 0;
    }
    default:
      return 0;
  }
}
