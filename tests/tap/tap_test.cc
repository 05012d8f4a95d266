#include "tap/tap.h"

#include <fcntl.h>

#include <vector>

#include "gtest/gtest.h"

namespace pasta::tap {
namespace {

// An Ethernet + IPv4 header: 02:00:00:00:00:01 -> ff:ff:ff:ff:ff:ff,
// 198.51.100.2 -> 203.0.113.7, protocol 6.
std::vector<uint8_t> Ipv4Frame() {
  return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0,    0, 0,  1,
          0x08, 0x00, 0x45, 0,    0,    40,   0,    0, 0x40, 0, 64, 6,
          0,    0,    198,  51,   100,  2,    203,  0, 113,  7};
}

TEST(DescribeFrameTest, Ipv4) {
  EXPECT_EQ(DescribeFrame(Ipv4Frame()),
            "IPv4 198.51.100.2 -> 203.0.113.7 proto 6, 34 bytes");
}

TEST(DescribeFrameTest, Ipv6) {
  std::vector<uint8_t> f = {0x33, 0x33, 0,    0,    0, 1, 0x02, 0, 0, 0,  0,
                            1,    0x86, 0xdd, 0x60, 0, 0, 0,    0, 0, 58, 255};
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                           0,    0,    0,    0,    0, 0, 0, 2};
  const uint8_t dst[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                           0,    0,    0, 0, 0, 0, 0, 1};
  f.insert(f.end(), src, src + 16);
  f.insert(f.end(), dst, dst + 16);
  EXPECT_EQ(DescribeFrame(f),
            "IPv6 2001:db8:1::2 -> ff02::1 next header 58, 54 bytes");
}

TEST(DescribeFrameTest, ShortAndOther) {
  std::vector<uint8_t> runt = {1, 2, 3};
  EXPECT_EQ(DescribeFrame(runt), "runt frame, 3 bytes");
  auto f = Ipv4Frame();
  f.resize(20);  // header cut short
  EXPECT_EQ(DescribeFrame(f), "IPv4 (short), 20 bytes");
  f[12] = 0x88;
  f[13] = 0xcc;
  EXPECT_EQ(DescribeFrame(f), "ethertype 0x88cc, 20 bytes");
}

TEST(TapTest, HandleFrameCountsDrops) {
  Tap tap(UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC)), nullptr, nullptr,
          nullptr);
  tap.HandleFrame(Ipv4Frame(), Instant());
  std::vector<uint8_t> runt = {1, 2, 3};
  tap.HandleFrame(runt, Instant());
  EXPECT_EQ(tap.counters().frames, 2u);
  EXPECT_EQ(tap.counters().bytes, 37u);
  EXPECT_EQ(tap.counters().drops[static_cast<size_t>(DropReason::kRunt)], 1u);
  // Ipv4Frame() is cut after the IPv4 header that claims 40 bytes: malformed.
  EXPECT_EQ(tap.counters().drops[static_cast<size_t>(DropReason::kBadIp)], 1u);
}

TEST(OpenTapTest, RejectsOverlongName) {
  auto fd = OpenTap("a-name-much-longer-than-ifnamsiz", nullptr);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(std::string(fd.status().message()).find("longer than 15"),
            std::string::npos);
}

}  // namespace
}  // namespace pasta::tap
