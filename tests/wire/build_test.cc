#include "wire/build.h"

#include <vector>

#include "gtest/gtest.h"
#include "wire/ip.h"

namespace pasta::wire {
namespace {

const MacAddr kDst{{0x02, 0, 0, 0, 0, 2}};
const MacAddr kSrc{{0x02, 0, 0, 0, 0, 1}};

TEST(BuildTest, Ipv4UdpRoundTrip) {
  std::vector<uint8_t> buf(256);
  const uint8_t src[4] = {198, 51, 100, 1}, dst[4] = {198, 51, 100, 2};
  const char msg[] = "hello";
  std::memcpy(buf.data() + kL4Offset4 + 8, msg, 5);
  FillUdp(buf.data() + kL4Offset4, 67, 68, 5,
          PseudoSum4(src, dst, kProtoUdp, 13));
  const size_t len =
      WrapIpv4(absl::MakeSpan(buf), kDst, kSrc, src, dst, kProtoUdp, 13);
  ASSERT_EQ(len, 14u + 20 + 13);
  auto eth = EthernetView::Parse(absl::MakeConstSpan(buf.data(), len));
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->ethertype(), kEtherTypeIpv4);
  EXPECT_EQ(eth->dst()[5], 2);
  auto ip = Ipv4View::Parse(eth->payload());  // checks the header checksum
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->ttl(), 64);
  auto udp = UdpView::Parse(ip->payload());
  ASSERT_TRUE(udp.has_value());
  EXPECT_EQ(udp->src_port(), 67);
  EXPECT_EQ(udp->dst_port(), 68);
  // A correct UDP checksum sums (with the pseudo-header) to 0xffff.
  EXPECT_EQ(Finish(SumBytes(udp->bytes(), ip->PseudoSum())), 0);
  EXPECT_EQ(std::string(udp->payload().begin(), udp->payload().end()), "hello");
}

TEST(BuildTest, Ipv6IcmpRoundTrip) {
  std::vector<uint8_t> buf(256);
  uint8_t src[16] = {0xfe, 0x80}, dst[16] = {0x20, 0x01, 0x0d, 0xb8};
  src[15] = 1;
  dst[15] = 2;
  uint8_t* icmp = buf.data() + kL4Offset6;
  const uint8_t reply[] = {129, 0, 0, 0, 0, 1, 0, 1, 'p', 'i', 'n'};
  std::memcpy(icmp, reply, sizeof(reply));
  FillIcmpChecksum(absl::MakeSpan(icmp, sizeof(reply)),
                   PseudoSum6(src, dst, kProtoIcmpv6, sizeof(reply)));
  const size_t len = WrapIpv6(absl::MakeSpan(buf), kDst, kSrc, src, dst,
                              kProtoIcmpv6, sizeof(reply), 255);
  ASSERT_EQ(len, 14u + 40 + sizeof(reply));
  auto ip = Ipv6View::Parse(absl::MakeConstSpan(buf.data() + 14, len - 14));
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->hop_limit(), 255);
  EXPECT_EQ(ip->protocol(), kProtoIcmpv6);
  EXPECT_EQ(Finish(SumBytes(ip->payload(), ip->PseudoSum())), 0);
}

TEST(BuildTest, RefusesWhatDoesNotFit) {
  std::vector<uint8_t> buf(60);
  const uint8_t a[16] = {};
  EXPECT_EQ(WrapIpv4(absl::MakeSpan(buf), kDst, kSrc, a, a, 17, 27), 0u);
  EXPECT_EQ(WrapIpv4(absl::MakeSpan(buf), kDst, kSrc, a, a, 17, 26), 60u);
  EXPECT_EQ(WrapIpv6(absl::MakeSpan(buf), kDst, kSrc, a, a, 17, 7), 0u);
}

TEST(BuildTest, ZeroUdpChecksumIsSentAsOnes) {
  // Find a payload whose checksum computes to 0 and check it goes as ffff:
  // with an all-zero pseudo-header and header fields chosen so the one's
  // complement sum is 0xffff.
  std::vector<uint8_t> udp(10, 0);
  const uint8_t zero[4] = {0, 0, 0, 0};
  // ports 0xffff - 10 - 17 - 10 leave the sum at 0xffff with len=10.
  const uint16_t port = static_cast<uint16_t>(0xffff - 10 - 10 - 17);
  FillUdp(udp.data(), port, 0, 2, PseudoSum4(zero, zero, 17, 10));
  EXPECT_EQ(udp[6], 0xff);
  EXPECT_EQ(udp[7], 0xff);
}

}  // namespace
}  // namespace pasta::wire
