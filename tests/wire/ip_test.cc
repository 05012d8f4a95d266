#include "wire/ip.h"

#include <vector>

#include "gtest/gtest.h"
#include "wire/checksum.h"

namespace pasta::wire {
namespace {

// 198.51.100.2 -> 203.0.113.7, UDP 40000 -> 53, payload "abcd", valid
// header checksum (computed below, then checked against a literal).
std::vector<uint8_t> Udp4() {
  std::vector<uint8_t> p = {0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00,
                            0x40, 0x11, 0x00, 0x00, 198,  51,   100,  2,
                            203,  0,    113,  7,    0x9c, 0x40, 0x00, 0x35,
                            0x00, 0x0c, 0x00, 0x00, 'a',  'b',  'c',  'd'};
  const uint16_t sum = Finish(SumBytes(absl::MakeConstSpan(p.data(), 20)));
  p[10] = static_cast<uint8_t>(sum >> 8);
  p[11] = static_cast<uint8_t>(sum);
  return p;
}

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(Finish(SumBytes(b)), static_cast<uint16_t>(~0xddf2));
  const uint8_t odd[] = {0x01};
  EXPECT_EQ(SumBytes(odd), 0x100u);
}

// The sum of 16-bit big-endian words with end-around carry, a word at a
// time, as RFC 1071 defines it: what SumBytes must agree with.
uint16_t ReferenceChecksum(const uint8_t* p, size_t n, uint32_t start) {
  uint64_t acc = start;
  for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2 == 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc & 0xffff);
}

TEST(ChecksumTest, AgreesWithTheWordAtATimeSumAtEveryLengthAndAlignment) {
  std::vector<uint8_t> buf(70000);
  uint32_t x = 12345;
  for (auto& b : buf) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  // Lengths around every step of the loop, from odd and even addresses,
  // a running start sum, and a frame of all ones (the largest sums).
  for (size_t off : {0, 1, 3, 8}) {
    for (size_t n = 0; n < 80; ++n) {
      ASSERT_EQ(Finish(SumBytes(absl::MakeConstSpan(buf.data() + off, n), 0x1f00d)),
                ReferenceChecksum(buf.data() + off, n, 0x1f00d))
          << "offset " << off << " length " << n;
    }
    for (size_t n : {1499, 1500, 9001, 65535, 65536 + 14}) {
      ASSERT_EQ(Finish(SumBytes(absl::MakeConstSpan(buf.data() + off, n))),
                ReferenceChecksum(buf.data() + off, n, 0))
          << "offset " << off << " length " << n;
    }
  }
  std::vector<uint8_t> ones(65536 + 14, 0xff);
  EXPECT_EQ(Finish(SumBytes(ones)), ReferenceChecksum(ones.data(), ones.size(), 0));
  // Chained: spans of even length, then the rest.
  uint32_t sum = SumBytes(absl::MakeConstSpan(buf.data(), 20));
  sum = SumBytes(absl::MakeConstSpan(buf.data() + 20, 1000), sum);
  sum = SumBytes(absl::MakeConstSpan(buf.data() + 1020, 333), sum);
  EXPECT_EQ(Finish(sum), ReferenceChecksum(buf.data(), 1353, 0));
}

TEST(Ipv4Test, ParsesAndTrimsPadding) {
  auto p = Udp4();
  // The header checksum of this header, worked out by hand: 0xc25b.
  EXPECT_EQ(p[10], 0xc2);
  EXPECT_EQ(p[11], 0x5b);
  p.insert(p.end(), 6, 0);  // Ethernet padding
  auto ip = Ipv4View::Parse(p);
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->header_len(), 20u);
  EXPECT_EQ(ip->total_len(), 32);
  EXPECT_EQ(ip->protocol(), kProtoUdp);
  EXPECT_EQ(ip->ttl(), 64);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->payload().size(), 12u);
  EXPECT_EQ(ip->src()[0], 198);
  EXPECT_EQ(ip->dst()[3], 7);
  auto udp = UdpView::Parse(ip->payload());
  ASSERT_TRUE(udp.has_value());
  EXPECT_EQ(udp->src_port(), 40000);
  EXPECT_EQ(udp->dst_port(), 53);
  EXPECT_EQ(udp->payload().size(), 4u);
  EXPECT_EQ(udp->payload()[0], 'a');
}

TEST(Ipv4Test, RejectsMalformed) {
  ParseError e;
  auto p = Udp4();
  EXPECT_FALSE(Ipv4View::Parse(absl::MakeConstSpan(p.data(), 19), &e));
  EXPECT_EQ(e, ParseError::kTruncated);
  auto bad = p;
  bad[0] = 0x65;
  EXPECT_FALSE(Ipv4View::Parse(bad, &e));
  EXPECT_EQ(e, ParseError::kBadVersion);
  bad = p;
  bad[0] = 0x44;  // IHL 16 bytes
  EXPECT_FALSE(Ipv4View::Parse(bad, &e));
  EXPECT_EQ(e, ParseError::kBadLength);
  bad = p;
  bad[3] = 0x40;  // total length 64 > 32 bytes present
  EXPECT_FALSE(Ipv4View::Parse(bad, &e));
  EXPECT_EQ(e, ParseError::kTruncated);
  bad = p;
  bad[3] = 0x10;  // total length 16 < IHL
  EXPECT_FALSE(Ipv4View::Parse(bad, &e));
  EXPECT_EQ(e, ParseError::kBadLength);
  bad = p;
  bad[8] = 1;  // TTL changed: header checksum no longer matches
  EXPECT_FALSE(Ipv4View::Parse(bad, &e));
  EXPECT_EQ(e, ParseError::kBadChecksum);
}

TEST(Ipv4Test, FragmentsAreFlagged) {
  auto p = Udp4();
  p[6] = 0x20;  // MF
  p[10] = p[11] = 0;
  const uint16_t sum = Finish(SumBytes(absl::MakeConstSpan(p.data(), 20)));
  p[10] = static_cast<uint8_t>(sum >> 8);
  p[11] = static_cast<uint8_t>(sum);
  auto ip = Ipv4View::Parse(p);
  ASSERT_TRUE(ip.has_value());
  EXPECT_TRUE(ip->is_fragment());
}

TEST(UdpTest, LengthFieldMustFit) {
  uint8_t seg[] = {0, 1, 0, 2, 0, 20, 0, 0, 1, 2, 3, 4};
  ParseError e;
  EXPECT_FALSE(UdpView::Parse(seg, &e));  // says 20, has 12
  EXPECT_EQ(e, ParseError::kTruncated);
  seg[5] = 7;  // less than the header
  EXPECT_FALSE(UdpView::Parse(seg, &e));
  EXPECT_EQ(e, ParseError::kBadLength);
  seg[5] = 10;
  auto udp = UdpView::Parse(seg);
  ASSERT_TRUE(udp.has_value());
  EXPECT_EQ(udp->payload().size(), 2u);
}

std::vector<uint8_t> Ipv6(uint8_t next, std::vector<uint8_t> payload) {
  std::vector<uint8_t> p = {0x60, 0, 0, 0, 0, 0, next, 64};
  p[4] = static_cast<uint8_t>(payload.size() >> 8);
  p[5] = static_cast<uint8_t>(payload.size());
  for (int i = 0; i < 16; ++i) p.push_back(i == 0 ? 0xfe : i == 1 ? 0x80 : i);
  for (int i = 0; i < 16; ++i)
    p.push_back(i == 0 ? 0xff : i == 1 ? 0x02 : i == 15 ? 1 : 0);
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

TEST(Ipv6Test, WalksExtensionHeaders) {
  // Hop-by-hop (8 bytes) -> destination options (16 bytes) -> ICMPv6.
  std::vector<uint8_t> pl = {60, 0, 1, 4, 0, 0, 0, 0};
  std::vector<uint8_t> dst = {58, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  pl.insert(pl.end(), dst.begin(), dst.end());
  std::vector<uint8_t> icmp = {133, 0, 0, 0, 0, 0, 0, 0};
  pl.insert(pl.end(), icmp.begin(), icmp.end());
  auto p = Ipv6(0, pl);
  auto ip = Ipv6View::Parse(p);
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->protocol(), kProtoIcmpv6);
  EXPECT_EQ(ip->payload().size(), 8u);
  EXPECT_EQ(ip->payload()[0], 133);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->hop_limit(), 64);
}

TEST(Ipv6Test, RejectsExtensionHeaderOverrun) {
  ParseError e;
  // Destination options claiming 2 * 8 bytes with only 8 present.
  auto p = Ipv6(60, {58, 1, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(Ipv6View::Parse(p, &e));
  EXPECT_EQ(e, ParseError::kTruncated);
  // Payload length larger than the buffer.
  p = Ipv6(58, {128, 0, 0, 0});
  p[5] = 200;
  EXPECT_FALSE(Ipv6View::Parse(p, &e));
  EXPECT_EQ(e, ParseError::kTruncated);
}

TEST(Ipv6Test, BoundsTheChainLength) {
  std::vector<uint8_t> pl;
  for (int i = 0; i < 20; ++i) {
    std::vector<uint8_t> h = {60, 0, 1, 4, 0, 0, 0, 0};
    pl.insert(pl.end(), h.begin(), h.end());
  }
  ParseError e;
  EXPECT_FALSE(Ipv6View::Parse(Ipv6(60, pl), &e));
  EXPECT_EQ(e, ParseError::kTooManyExtHdrs);
}

TEST(Ipv6Test, FragmentHeaderIsFlagged) {
  auto p = Ipv6(44, {17, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 2, 0, 8, 0, 0});
  auto ip = Ipv6View::Parse(p);
  ASSERT_TRUE(ip.has_value());
  EXPECT_TRUE(ip->is_fragment());
  EXPECT_EQ(ip->protocol(), kProtoUdp);
}

TEST(TcpTest, DataOffsetMustFit) {
  std::vector<uint8_t> seg(24, 0);
  seg[12] = 6 << 4;  // 24-byte header
  auto tcp = TcpView::Parse(seg);
  ASSERT_TRUE(tcp.has_value());
  EXPECT_EQ(tcp->options().size(), 4u);
  EXPECT_EQ(tcp->payload().size(), 0u);
  ParseError e;
  seg[12] = 7 << 4;  // 28 > 24
  EXPECT_FALSE(TcpView::Parse(seg, &e));
  EXPECT_EQ(e, ParseError::kTruncated);
  seg[12] = 4 << 4;
  EXPECT_FALSE(TcpView::Parse(seg, &e));
  EXPECT_EQ(e, ParseError::kBadLength);
}

TEST(IcmpTest, EchoFields) {
  const uint8_t echo[] = {8, 0, 0, 0, 0x12, 0x34, 0, 7, 'x'};
  auto icmp = IcmpView::Parse(echo);
  ASSERT_TRUE(icmp.has_value());
  EXPECT_TRUE(icmp->has_echo_fields());
  EXPECT_EQ(icmp->echo_id(), 0x1234);
  EXPECT_EQ(icmp->echo_seq(), 7);
  const uint8_t short_msg[] = {3, 3, 0, 0, 0};
  auto s = IcmpView::Parse(short_msg);
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->has_echo_fields());
  EXPECT_FALSE(IcmpView::Parse(absl::MakeConstSpan(echo, 3)).has_value());
}

}  // namespace
}  // namespace pasta::wire
