// The tap's dispatch, frame in -> frame out, with the real responders and a
// socketpair standing in for the tap device.
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "device/tap_device.h"
#include "dhcp/dhcp.h"
#include "gtest/gtest.h"
#include "ndp/ndp.h"
#include "tap/tap.h"
#include "wire/build.h"
#include "wire/ip.h"

namespace pasta::tap {
namespace {

const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
const MacAddr kNsMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0e}};

IpAddr Ip(const char* s) { return *ParseIp(s); }

class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
    peer_.reset(sv[1]);
    services_.our_mac = kOurMac;
    services_.arp = ndp::ArpConfig{kOurMac, Ip("198.51.100.2")};
    dhcp::Dhcp4Config d;
    d.addr = Ip("198.51.100.2");
    d.prefix_len = 24;
    d.router = d.server_id = Ip("198.51.100.1");
    d.dns = {Ip("203.0.113.53")};
    d.mtu = 1500;
    dhcp::Prepare(d);
    services_.dhcp4 = d;
    ndp::NdpConfig n;
    n.our_mac = kOurMac;
    n.our_ll = ndp::LinkLocalFromMac(kOurMac);
    n.ns_addrs = {Ip("2001:db8:1::2")};
    n.prefixes = {ndp::Prefix{Ip("2001:db8:1::"), 64}};
    services_.ndp = n;
    services_.our_ll6 = n.our_ll;
    tap_.emplace(std::make_unique<device::TapDevice>(UniqueFd(sv[0]), false),
                 &services_, nullptr, nullptr);
  }

  // The frames the tap wrote.
  std::vector<std::vector<uint8_t>> Written() {
    std::vector<std::vector<uint8_t>> out;
    uint8_t buf[70000];
    ssize_t n;
    while ((n = read(peer_.get(), buf, sizeof(buf))) > 0)
      out.emplace_back(buf, buf + n);
    return out;
  }

  size_t Drops(DropReason r) {
    return tap_->counters().drops[static_cast<size_t>(r)];
  }

  Services services_;
  UniqueFd peer_;
  std::optional<Tap> tap_;
};

TEST_F(DispatchTest, ArpRequestForTheGatewayIsAnswered) {
  std::vector<uint8_t> f(42, 0);
  wire::WriteEthernet(f.data(), MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                      kNsMac, wire::kEtherTypeArp);
  const uint8_t arp[28] = {0, 1, 8, 0,    6,   4,  0,   1, 0x02, 0,
                           0, 0, 0, 0x0e, 198, 51, 100, 2, 0,    0,
                           0, 0, 0, 0,    198, 51, 100, 1};
  std::memcpy(f.data() + 14, arp, 28);
  tap_->HandleFrame(f, Instant());
  auto w = Written();
  ASSERT_EQ(w.size(), 1u);
  ASSERT_EQ(w[0].size(), 42u);
  EXPECT_EQ(std::memcmp(w[0].data(), kNsMac.bytes.data(), 6), 0);
  EXPECT_EQ(std::memcmp(w[0].data() + 6, kOurMac.bytes.data(), 6), 0);
  EXPECT_EQ(w[0][21], 2);  // ARP reply
  EXPECT_EQ(std::memcmp(w[0].data() + 22, kOurMac.bytes.data(), 6), 0);
  EXPECT_EQ(w[0][28 + 3], 1);  // sender IP 198.51.100.1
}

// A DHCP DISCOVER as udhcpc sends it, inside UDP/IPv4/Ethernet.
std::vector<uint8_t> Discover() {
  std::vector<uint8_t> dhcp(240, 0);
  dhcp[0] = 1;
  dhcp[1] = 1;
  dhcp[2] = 6;
  dhcp[4] = 0xde;
  dhcp[5] = 0xad;
  std::memcpy(dhcp.data() + 28, kNsMac.bytes.data(), 6);
  const uint8_t cookie[4] = {99, 130, 83, 99};
  std::memcpy(dhcp.data() + 236, cookie, 4);
  for (uint8_t b : {53, 1, 1, 255}) dhcp.push_back(b);
  std::vector<uint8_t> f(wire::kL4Offset4 + 8 + dhcp.size());
  std::memcpy(f.data() + wire::kL4Offset4 + 8, dhcp.data(), dhcp.size());
  const uint8_t any[4] = {0, 0, 0, 0}, bcast[4] = {255, 255, 255, 255};
  wire::FillUdp(
      f.data() + wire::kL4Offset4, 68, 67, dhcp.size(),
      wire::PseudoSum4(any, bcast, 17, static_cast<uint16_t>(8 + dhcp.size())));
  wire::WrapIpv4(absl::MakeSpan(f),
                 MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, kNsMac, any,
                 bcast, 17, 8 + dhcp.size());
  return f;
}

TEST_F(DispatchTest, DhcpDiscoverGetsAnOfferWithValidChecksums) {
  tap_->HandleFrame(Discover(), Instant());
  auto w = Written();
  ASSERT_EQ(w.size(), 1u);
  auto eth = wire::EthernetView::Parse(w[0]);
  ASSERT_TRUE(eth.has_value());
  auto ip = wire::Ipv4View::Parse(eth->payload());  // header checksum checked
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->src()[3], 1);
  auto udp = wire::UdpView::Parse(ip->payload());
  ASSERT_TRUE(udp.has_value());
  EXPECT_EQ(udp->src_port(), 67);
  EXPECT_EQ(udp->dst_port(), 68);
  EXPECT_EQ(wire::Finish(wire::SumBytes(udp->bytes(), ip->PseudoSum())), 0);
  const auto p = udp->payload();
  ASSERT_GE(p.size(), 240u);
  EXPECT_EQ(p[0], 2);     // BOOTREPLY
  EXPECT_EQ(p[4], 0xde);  // xid echoed
  EXPECT_EQ(p[16], 198);  // yiaddr 198.51.100.2
  EXPECT_EQ(p[19], 2);
}

TEST_F(DispatchTest, NeighborSolicitationIsAnswered) {
  // NS from the namespace's link-local for 2001:db8:1::1, with SLLA option.
  std::vector<uint8_t> ns = {135, 0, 0, 0, 0, 0, 0, 0};
  const auto target = Ip("2001:db8:1::1");
  ns.insert(ns.end(), target.bytes.begin(), target.bytes.end());
  ns.insert(ns.end(), {1, 1});
  ns.insert(ns.end(), kNsMac.bytes.begin(), kNsMac.bytes.end());
  const auto src = Ip("fe80::2"), dst = Ip("ff02::1:ff00:1");
  std::vector<uint8_t> f(wire::kL4Offset6 + ns.size());
  std::memcpy(f.data() + wire::kL4Offset6, ns.data(), ns.size());
  wire::FillIcmpChecksum(
      absl::MakeSpan(f.data() + wire::kL4Offset6, ns.size()),
      wire::PseudoSum6(src.bytes.data(), dst.bytes.data(), 58,
                       static_cast<uint32_t>(ns.size())));
  wire::WrapIpv6(absl::MakeSpan(f), MacAddr{{0x33, 0x33, 0xff, 0, 0, 1}},
                 kNsMac, src.bytes.data(), dst.bytes.data(), 58, ns.size(),
                 255);
  tap_->HandleFrame(f, Instant());
  auto w = Written();
  ASSERT_EQ(w.size(), 1u);
  auto ip = wire::Ipv6View::Parse(wire::EthernetView::Parse(w[0])->payload());
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->hop_limit(), 255);
  EXPECT_EQ(ip->payload()[0], 136);  // NA
  EXPECT_EQ(wire::Finish(wire::SumBytes(ip->payload(), ip->PseudoSum())), 0);
}

TEST_F(DispatchTest, MalformedFramesAreCountedAndNotAnswered) {
  auto f = Discover();
  f[wire::kEthHeaderLen + 3] = 0xff;  // IPv4 total length beyond the frame
  tap_->HandleFrame(f, Instant());
  EXPECT_EQ(Drops(DropReason::kBadIp), 1u);
  f = Discover();
  f.resize(wire::kL4Offset4 + 4);  // UDP header cut (IP total length lies)
  tap_->HandleFrame(f, Instant());
  EXPECT_EQ(Drops(DropReason::kBadIp), 2u);
  std::vector<uint8_t> tiny(10, 0);
  tap_->HandleFrame(tiny, Instant());
  EXPECT_EQ(Drops(DropReason::kRunt), 1u);
  EXPECT_TRUE(Written().empty());
}

TEST_F(DispatchTest, RouterAdvertIsBuiltAndSent) {
  tap_->SendRouterAdvert();
  auto w = Written();
  ASSERT_EQ(w.size(), 1u);
  auto ip = wire::Ipv6View::Parse(wire::EthernetView::Parse(w[0])->payload());
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->payload()[0], 134);
  EXPECT_EQ(ip->dst()[0], 0xff);
  EXPECT_EQ(tap_->counters().sent, 1u);
}

}  // namespace
}  // namespace pasta::tap
