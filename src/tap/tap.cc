#include "tap/tap.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "wire/build.h"
#include "wire/ethernet.h"
#include "wire/ip.h"

namespace pasta::tap {

namespace {

constexpr uint16_t kDhcpServerPort = 67, kDhcpClientPort = 68;
constexpr uint16_t kDhcp6ServerPort = 547, kDhcp6ClientPort = 546;
constexpr uint8_t kIcmp6RouterSolicit = 133, kIcmp6NeighborSolicit = 135;

MacAddr ToMac(const uint8_t* p) {
  MacAddr m;
  std::memcpy(m.bytes.data(), p, 6);
  return m;
}

IpAddr ToIp(int family, const uint8_t* p) {
  IpAddr a;
  a.family = family;
  std::memcpy(a.bytes.data(), p, family == AF_INET ? 4 : 16);
  return a;
}

const MacAddr kBroadcastMac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

}  // namespace

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kRunt:
      return "runt frame";
    case DropReason::kBadIp:
      return "malformed IP header";
    case DropReason::kFragment:
      return "IP fragment";
    case DropReason::kBadL4:
      return "malformed transport header";
    case DropReason::kNoHandler:
      return "no handler";
    case DropReason::kNoReply:
      return "no reply";
    case DropReason::kTapFull:
      return "tap write failed";
    case DropReason::kCount:
      break;
  }
  return "?";
}

std::string DescribeFrame(absl::Span<const uint8_t> frame) {
  auto eth = wire::EthernetView::Parse(frame);
  if (!eth) return absl::StrFormat("runt frame, %d bytes", frame.size());
  const auto p = eth->payload();
  char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
  switch (eth->ethertype()) {
    case wire::kEtherTypeIpv4:
      if (p.size() >= 20 && (p[0] >> 4) == 4) {
        inet_ntop(AF_INET, p.data() + 12, src, sizeof(src));
        inet_ntop(AF_INET, p.data() + 16, dst, sizeof(dst));
        return absl::StrFormat("IPv4 %s -> %s proto %d, %d bytes", src, dst,
                               p[9], frame.size());
      }
      return absl::StrFormat("IPv4 (short), %d bytes", frame.size());
    case wire::kEtherTypeIpv6:
      if (p.size() >= 40 && (p[0] >> 4) == 6) {
        inet_ntop(AF_INET6, p.data() + 8, src, sizeof(src));
        inet_ntop(AF_INET6, p.data() + 24, dst, sizeof(dst));
        return absl::StrFormat("IPv6 %s -> %s next header %d, %d bytes", src,
                               dst, p[6], frame.size());
      }
      return absl::StrFormat("IPv6 (short), %d bytes", frame.size());
    case wire::kEtherTypeArp:
      return absl::StrFormat("ARP, %d bytes", frame.size());
    default:
      return absl::StrFormat("ethertype 0x%04x, %d bytes", eth->ethertype(),
                             frame.size());
  }
}

Tap::Tap(std::unique_ptr<device::FrameDevice> device, const Services* services,
         icmp::IcmpFlows* icmp, pcap::PcapWriter* pcap)
    : device_(std::move(device)),
      services_(services),
      icmp_(icmp),
      pcap_(pcap),
      out_(new uint8_t[kMaxFrame]) {}

bool Tap::OnReadable(Instant now) {
  bool alive = true;
  for (int i = 0; i < kMaxBatch; ++i) {
    absl::Span<const uint8_t> frame;
    const device::ReadStatus status = device_->Read(&frame);
    if (status == device::ReadStatus::kFrame) {
      if (pcap_ != nullptr) pcap_->Record(frame);
      HandleFrame(frame, now);
      continue;
    }
    if (status == device::ReadStatus::kRunt) {
      Drop(DropReason::kRunt, {});
      continue;
    }
    alive = status == device::ReadStatus::kAgain;
    break;
  }
  // What the batch coalesced goes out now, and the ACKs it earned.
  if (udp_ != nullptr) udp_->Flush();
  if (tcp_ != nullptr) tcp_->Flush(now);
  return alive;
}

void Tap::ReplaceDevice(std::unique_ptr<device::FrameDevice> device) {
  device_ = std::move(device);
  ns_mac_ = MacAddr{};
  if (udp_ != nullptr) udp_->set_ns_mac(ns_mac_);
  if (tcp_ != nullptr) tcp_->set_ns_mac(ns_mac_);
}

void Tap::SendFrame(absl::Span<const uint8_t> frame) { TrySendFrame(frame); }

bool Tap::TrySendFrame(absl::Span<const uint8_t> frame) {
  return Sent(device_->WriteFrame(frame), frame);
}

bool Tap::TrySendTcpOffloaded(absl::Span<const uint8_t> frame, size_t l4_offset,
                              uint16_t segment, bool ipv6) {
  return Sent(device_->WriteTcpOffloaded(frame, l4_offset, segment, ipv6),
              frame);
}

bool Tap::Sent(bool sent, absl::Span<const uint8_t> frame) {
  if (!sent) {
    ++counters_.drops[static_cast<size_t>(DropReason::kTapFull)];
    LOG_TRACE("tap: write of %d bytes: %s", frame.size(), strerror(errno));
    return false;
  }
  ++counters_.sent;
  counters_.bytes_sent += frame.size();
  if (pcap_ != nullptr) pcap_->Record(frame);
  LOG_TRACE("tap: sent %s", DescribeFrame(frame));
  return true;
}

void Tap::HandleFrame(absl::Span<const uint8_t> frame, Instant now) {
  ++counters_.frames;
  counters_.bytes += frame.size();
  const auto eth = wire::EthernetView::Parse(frame);
  if (!eth) return Drop(DropReason::kRunt, frame);
  // Learn the namespace's MAC (unicast sources only) for frames we start.
  if ((eth->src()[0] & 1) == 0 &&
      std::memcmp(ns_mac_.bytes.data(), eth->src(), 6) != 0) {
    ns_mac_ = ToMac(eth->src());
    if (udp_ != nullptr) udp_->set_ns_mac(ns_mac_);
    if (tcp_ != nullptr) tcp_->set_ns_mac(ns_mac_);
  }
  switch (eth->ethertype()) {
    case wire::kEtherTypeArp:
      return HandleArp(eth->src(), eth->payload(), frame);
    case wire::kEtherTypeIpv4:
      return HandleIpv4(eth->src(), eth->payload(), frame, now);
    case wire::kEtherTypeIpv6:
      return HandleIpv6(eth->src(), eth->payload(), frame, now);
    default:
      return Drop(DropReason::kNoHandler, frame);
  }
}

void Tap::HandleArp(const uint8_t* src_mac, absl::Span<const uint8_t> arp,
                    absl::Span<const uint8_t> frame) {
  if (services_ == nullptr || !services_->arp)
    return Drop(DropReason::kNoHandler, frame);
  const auto out = absl::MakeSpan(out_.get(), kMaxFrame);
  const size_t len =
      ndp::HandleArp(arp, *services_->arp, out.subspan(wire::kEthHeaderLen));
  if (len == 0) return Drop(DropReason::kNoReply, frame, "ARP");
  wire::WriteEthernet(out.data(), ToMac(src_mac), services_->our_mac,
                      wire::kEtherTypeArp);
  SendFrame(out.subspan(0, wire::kEthHeaderLen + len));
}

void Tap::HandleIpv4(const uint8_t* src_mac, absl::Span<const uint8_t> packet,
                     absl::Span<const uint8_t> frame, Instant now) {
  wire::ParseError err;
  const auto ip = wire::Ipv4View::Parse(packet, &err);
  if (!ip) return Drop(DropReason::kBadIp, frame, wire::ParseErrorName(err));
  if (ip->is_fragment()) return Drop(DropReason::kFragment, frame);
  switch (ip->protocol()) {
    case wire::kProtoIcmp: {
      const auto icmp = wire::IcmpView::Parse(ip->payload(), &err);
      if (!icmp)
        return Drop(DropReason::kBadL4, frame, wire::ParseErrorName(err));
      return ToIcmpFlows(AF_INET, ip->src(), ip->dst(), *icmp, src_mac, frame,
                         now);
    }
    case wire::kProtoTcp:
      return ToTcpFlows(AF_INET, ip->src(), ip->dst(), ip->payload(), src_mac,
                        frame, now);
    case wire::kProtoUdp: {
      const auto udp = wire::UdpView::Parse(ip->payload(), &err);
      if (!udp)
        return Drop(DropReason::kBadL4, frame, wire::ParseErrorName(err));
      if (udp->dst_port() != kDhcpServerPort || services_ == nullptr ||
          !services_->dhcp4) {
        return ToUdpFlows(AF_INET, ip->src(), ip->dst(), *udp, src_mac, frame,
                          now);
      }
      const auto out = absl::MakeSpan(out_.get(), kMaxFrame);
      constexpr size_t kPayload = wire::kL4Offset4 + wire::UdpView::kHeader;
      const auto reply = dhcp::HandleDhcp4(udp->payload(), *services_->dhcp4,
                                           out.subspan(kPayload));
      if (!reply || reply->len == 0)
        return Drop(DropReason::kNoReply, frame, "DHCP");
      const IpAddr& from = services_->dhcp4->server_id;
      const uint8_t* to = reply->dst.bytes.data();
      uint8_t* udp_out = out.data() + wire::kL4Offset4;
      wire::FillUdp(udp_out, kDhcpServerPort, kDhcpClientPort, reply->len,
                    wire::PseudoSum4(from.bytes.data(), to, wire::kProtoUdp,
                                     static_cast<uint16_t>(8 + reply->len)));
      const size_t len =
          wire::WrapIpv4(out, reply->broadcast ? kBroadcastMac : ToMac(src_mac),
                         services_->our_mac, from.bytes.data(), to,
                         wire::kProtoUdp, wire::UdpView::kHeader + reply->len);
      if (len == 0) return Drop(DropReason::kNoReply, frame, "DHCP too long");
      return SendFrame(out.subspan(0, len));
    }
    default:
      return Drop(DropReason::kNoHandler, frame);
  }
}

void Tap::HandleIpv6(const uint8_t* src_mac, absl::Span<const uint8_t> packet,
                     absl::Span<const uint8_t> frame, Instant now) {
  wire::ParseError err;
  const auto ip = wire::Ipv6View::Parse(packet, &err);
  if (!ip) return Drop(DropReason::kBadIp, frame, wire::ParseErrorName(err));
  if (ip->is_fragment()) return Drop(DropReason::kFragment, frame);
  const auto out = absl::MakeSpan(out_.get(), kMaxFrame);
  switch (ip->protocol()) {
    case wire::kProtoIcmpv6: {
      const auto icmp = wire::IcmpView::Parse(ip->payload(), &err);
      if (!icmp)
        return Drop(DropReason::kBadL4, frame, wire::ParseErrorName(err));
      const uint8_t type = icmp->type();
      if (type == kIcmp6RouterSolicit || type == kIcmp6NeighborSolicit) {
        if (services_ == nullptr || !services_->ndp)
          return Drop(DropReason::kNoHandler, frame, "NDP");
        const auto reply =
            ndp::HandleNdp(ToIp(AF_INET6, ip->src()), ToIp(AF_INET6, ip->dst()),
                           ip->hop_limit(), ToMac(src_mac), icmp->bytes(),
                           *services_->ndp, out.subspan(wire::kL4Offset6));
        if (!reply) return Drop(DropReason::kNoReply, frame, "NDP");
        const size_t len = wire::WrapIpv6(
            out, reply->dst_mac, services_->our_mac, reply->src.bytes.data(),
            reply->dst.bytes.data(), wire::kProtoIcmpv6, reply->len, 255);
        if (len == 0) return Drop(DropReason::kNoReply, frame, "NDP too long");
        return SendFrame(out.subspan(0, len));
      }
      return ToIcmpFlows(AF_INET6, ip->src(), ip->dst(), *icmp, src_mac, frame,
                         now);
    }
    case wire::kProtoTcp:
      return ToTcpFlows(AF_INET6, ip->src(), ip->dst(), ip->payload(), src_mac,
                        frame, now);
    case wire::kProtoUdp: {
      const auto udp = wire::UdpView::Parse(ip->payload(), &err);
      if (!udp)
        return Drop(DropReason::kBadL4, frame, wire::ParseErrorName(err));
      if (udp->dst_port() != kDhcp6ServerPort || services_ == nullptr ||
          !services_->dhcp6) {
        return ToUdpFlows(AF_INET6, ip->src(), ip->dst(), *udp, src_mac, frame,
                          now);
      }
      constexpr size_t kPayload = wire::kL4Offset6 + wire::UdpView::kHeader;
      const size_t n = dhcp::HandleDhcp6(udp->payload(), *services_->dhcp6,
                                         out.subspan(kPayload));
      if (n == 0) return Drop(DropReason::kNoReply, frame, "DHCPv6");
      const uint8_t* from = services_->our_ll6.bytes.data();
      uint8_t* udp_out = out.data() + wire::kL4Offset6;
      wire::FillUdp(udp_out, kDhcp6ServerPort, kDhcp6ClientPort, n,
                    wire::PseudoSum6(from, ip->src(), wire::kProtoUdp,
                                     static_cast<uint32_t>(8 + n)));
      const size_t len = wire::WrapIpv6(out, ToMac(src_mac), services_->our_mac,
                                        from, ip->src(), wire::kProtoUdp,
                                        wire::UdpView::kHeader + n);
      if (len == 0) return Drop(DropReason::kNoReply, frame, "DHCPv6 too long");
      return SendFrame(out.subspan(0, len));
    }
    default:
      return Drop(DropReason::kNoHandler, frame);
  }
}

void Tap::ToIcmpFlows(int family, const uint8_t* src, const uint8_t* dst,
                      const wire::IcmpView& icmp, const uint8_t* src_mac,
                      absl::Span<const uint8_t> frame, Instant now) {
  if (icmp_ == nullptr ||
      !icmp_->FromNamespace(family, src, dst, icmp, ToMac(src_mac), now))
    Drop(DropReason::kNoHandler, frame, family == AF_INET ? "ICMP" : "ICMPv6");
}

void Tap::ToTcpFlows(int family, const uint8_t* src, const uint8_t* dst,
                     absl::Span<const uint8_t> l4, const uint8_t* src_mac,
                     absl::Span<const uint8_t> frame, Instant now) {
  wire::ParseError err;
  const auto tcp = wire::TcpView::Parse(l4, &err);
  if (!tcp) return Drop(DropReason::kBadL4, frame, wire::ParseErrorName(err));
  if (tcp_ == nullptr ||
      !tcp_->FromNamespace(family, src, dst, *tcp, ToMac(src_mac), now))
    Drop(DropReason::kNoHandler, frame, "TCP");
}

void Tap::ToUdpFlows(int family, const uint8_t* src, const uint8_t* dst,
                     const wire::UdpView& udp, const uint8_t* src_mac,
                     absl::Span<const uint8_t> frame, Instant now) {
  if (udp_ == nullptr ||
      !udp_->FromNamespace(family, src, dst, udp, ToMac(src_mac), now))
    Drop(DropReason::kNoHandler, frame, "UDP");
}

void Tap::SendRouterAdvert() {
  if (!sends_router_adverts()) return;
  const auto out = absl::MakeSpan(out_.get(), kMaxFrame);
  const auto ra =
      ndp::BuildRouterAdvert(*services_->ndp, out.subspan(wire::kL4Offset6));
  if (!ra) return;
  const size_t len =
      wire::WrapIpv6(out, ra->dst_mac, services_->our_mac, ra->src.bytes.data(),
                     ra->dst.bytes.data(), wire::kProtoIcmpv6, ra->len, 255);
  if (len != 0) SendFrame(out.subspan(0, len));
}

void Tap::AnnounceNeighbour(const IpAddr& addr, const MacAddr& mac) {
  if (services_ == nullptr || ns_mac_.IsZero()) return;
  const auto out = absl::MakeSpan(out_.get(), kMaxFrame);
  if (addr.IsV4()) {
    if (!services_->arp) return;
    const size_t len =
        ndp::BuildArpAnnounce(addr, mac, out.subspan(wire::kEthHeaderLen));
    if (len == 0) return;
    wire::WriteEthernet(out.data(), kBroadcastMac, mac, wire::kEtherTypeArp);
    SendFrame(out.subspan(0, wire::kEthHeaderLen + len));
    return;
  }
  if (!services_->ndp) return;
  const auto na = ndp::BuildUnsolicitedNa(*services_->ndp, addr, mac,
                                          out.subspan(wire::kL4Offset6));
  if (!na) return;
  const size_t len =
      wire::WrapIpv6(out, na->dst_mac, services_->our_mac, na->src.bytes.data(),
                     na->dst.bytes.data(), wire::kProtoIcmpv6, na->len, 255);
  if (len != 0) SendFrame(out.subspan(0, len));
}

void Tap::Drop(DropReason reason, absl::Span<const uint8_t> frame,
               const char* detail) {
  ++counters_.drops[static_cast<size_t>(reason)];
  LOG_TRACE("tap: %s: %s%s%s, dropped", DescribeFrame(frame),
            DropReasonName(reason), detail != nullptr ? ": " : "",
            detail != nullptr ? detail : "");
}

}  // namespace pasta::tap
