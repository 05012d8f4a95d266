#include "tap/tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "wire/build.h"
#include "wire/bytes.h"
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

// struct virtio_net_hdr values (linux/virtio_net.h, which is C only).
constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kVnetGsoTcp4 = 1;    // VIRTIO_NET_HDR_GSO_TCPV4
constexpr uint8_t kVnetGsoTcp6 = 4;    // VIRTIO_NET_HDR_GSO_TCPV6

}  // namespace

absl::StatusOr<UniqueFd> OpenTap(const std::string& name,
                                 std::string* actual_name, bool vnet_header) {
  if (name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError("interface name '" + name +
                                      "' is longer than " +
                                      std::to_string(IFNAMSIZ - 1) + " bytes");
  }
  UniqueFd fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, "opening /dev/net/tun");
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (vnet_header) ifr.ifr_flags |= IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    return ErrnoToStatus(errno, "creating tap device '" + name + "'");
  }
  if (vnet_header) {
    const int len = kVnetHeaderLen;
    if (ioctl(fd.get(), TUNSETVNETHDRSZ, &len) != 0)
      return ErrnoToStatus(errno, "setting the tap's virtio-net header size");
    // What the namespace may send us: partial checksums and TSO frames.
    // Without it we still get plain frames (behind the header).
    const unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (ioctl(fd.get(), TUNSETOFFLOAD, offloads) != 0)
      LOG_DEBUG("tap: TUNSETOFFLOAD: %s", strerror(errno));
  }
  if (actual_name != nullptr) {
    *actual_name = std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  }
  return fd;
}

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

Tap::Tap(UniqueFd fd, const Services* services, icmp::IcmpFlows* icmp,
         pcap::PcapWriter* pcap)
    : fd_(std::move(fd)),
      services_(services),
      icmp_(icmp),
      pcap_(pcap),
      in_(new uint8_t[kVnetHeaderLen + kMaxFrame]),
      out_(new uint8_t[kMaxFrame]) {}

bool Tap::OnReadable(Instant now) {
  bool alive = true;
  for (int i = 0; i < kMaxBatch; ++i) {
    // With a virtio-net header, what it says (partial checksum, TSO) needs
    // no action: TCP and UDP payloads are taken as they are, and nothing
    // else is offloaded.
    const size_t skip = vnet_ ? kVnetHeaderLen : 0;
    const ssize_t n = read(fd_.get(), in_.get(), skip + kMaxFrame);
    if (n > 0 && static_cast<size_t>(n) < skip) {
      Drop(DropReason::kRunt, {});
      continue;
    }
    if (n > 0) {
      const auto frame = absl::MakeConstSpan(in_.get() + skip,
                                             static_cast<size_t>(n) - skip);
      if (pcap_ != nullptr) pcap_->Record(frame);
      HandleFrame(frame, now);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n < 0) LOG_ERROR("tap: read: %s", strerror(errno));
    alive = false;
    break;
  }
  // What the batch coalesced goes out now, and the ACKs it earned.
  if (udp_ != nullptr) udp_->Flush();
  if (tcp_ != nullptr) tcp_->Flush(now);
  return alive;
}

void Tap::SendFrame(absl::Span<const uint8_t> frame) { TrySendFrame(frame); }

bool Tap::TrySendFrame(absl::Span<const uint8_t> frame) {
  static constexpr uint8_t kPlain[kVnetHeaderLen] = {};
  return Write(frame, kPlain);
}

bool Tap::TrySendTcpOffloaded(absl::Span<const uint8_t> frame,
                              size_t l4_offset, uint16_t segment, bool ipv6) {
  // struct virtio_net_hdr, little endian (the tap's default on every
  // architecture we build for).
  uint8_t h[kVnetHeaderLen] = {};
  h[0] = kVnetNeedsCsum;
  if (segment != 0) {
    h[1] = ipv6 ? kVnetGsoTcp6 : kVnetGsoTcp4;
    const size_t hdr_len = l4_offset + ((frame[l4_offset + 12] >> 4) * 4u);
    wire::StoreLe16(h + 2, static_cast<uint16_t>(hdr_len));
    wire::StoreLe16(h + 4, segment);
  }
  wire::StoreLe16(h + 6, static_cast<uint16_t>(l4_offset));  // csum_start
  wire::StoreLe16(h + 8, 16);  // csum_offset: the TCP checksum field
  return Write(frame, h);
}

bool Tap::Write(absl::Span<const uint8_t> frame, const uint8_t* vnet) {
  iovec iov[2] = {{const_cast<uint8_t*>(vnet), kVnetHeaderLen},
                  {const_cast<uint8_t*>(frame.data()), frame.size()}};
  const size_t want = frame.size() + (vnet_ ? kVnetHeaderLen : 0);
  if (writev(fd_.get(), vnet_ ? iov : iov + 1, vnet_ ? 2 : 1) !=
      static_cast<ssize_t>(want)) {
    ++counters_.drops[static_cast<size_t>(DropReason::kTapFull)];
    LOG_TRACE("tap: write of %d bytes: %s", frame.size(), strerror(errno));
    return false;
  }
  ++counters_.sent;
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
  if (services_ == nullptr || !services_->ndp || !services_->ndp->ra) return;
  const auto out = absl::MakeSpan(out_.get(), kMaxFrame);
  const auto ra =
      ndp::BuildRouterAdvert(*services_->ndp, out.subspan(wire::kL4Offset6));
  if (!ra) return;
  const size_t len =
      wire::WrapIpv6(out, ra->dst_mac, services_->our_mac, ra->src.bytes.data(),
                     ra->dst.bytes.data(), wire::kProtoIcmpv6, ra->len, 255);
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
