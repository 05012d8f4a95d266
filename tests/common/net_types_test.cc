#include "common/net_types.h"

#include <arpa/inet.h>

#include "gtest/gtest.h"

namespace pasta {
namespace {

TEST(MacTest, ParsesAndFormats) {
  auto mac = ParseMac("9A:55:9a:55:00:ff");
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(mac->bytes[0], 0x9a);
  EXPECT_EQ(mac->bytes[5], 0xff);
  EXPECT_EQ(FormatMac(*mac), "9a:55:9a:55:00:ff");
}

TEST(MacTest, RejectsMalformed) {
  for (const char* bad :
       {"", "9a:55:9a:55:00", "9a:55:9a:55:00:fg", "9a-55-9a-55-00-ff",
        "9a:55:9a:55:00:ff:", "9a:55:9a:55:00:f"}) {
    EXPECT_FALSE(ParseMac(bad).has_value()) << bad;
  }
}

TEST(IpTest, ParsesBothFamilies) {
  auto v4 = ParseIp("198.51.100.2");
  ASSERT_TRUE(v4.has_value());
  EXPECT_TRUE(v4->IsV4());
  EXPECT_EQ(FormatIp(*v4), "198.51.100.2");
  auto v6 = ParseIp("2001:db8:1::2");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->IsV6());
  EXPECT_EQ(FormatIp(*v6), "2001:db8:1::2");
}

TEST(IpTest, RejectsMalformed) {
  for (const char* bad :
       {"", "1.2.3", "1.2.3.256", "2001:db8:::1", "host", "198.51.100.2/24"}) {
    EXPECT_FALSE(ParseIp(bad).has_value()) << bad;
  }
}

TEST(IpTest, SamePrefix) {
  auto a = *ParseIp("198.51.100.2"), b = *ParseIp("198.51.100.200"),
       c = *ParseIp("198.51.101.2"), d = *ParseIp("2001:db8::1");
  EXPECT_TRUE(SamePrefix(a, b, 24));
  EXPECT_FALSE(SamePrefix(a, c, 24));
  EXPECT_TRUE(SamePrefix(a, c, 23));
  EXPECT_TRUE(SamePrefix(a, b, 0));
  EXPECT_FALSE(SamePrefix(a, b, 32));
  EXPECT_FALSE(SamePrefix(a, d, 0));  // families differ
  EXPECT_TRUE(SamePrefix(d, *ParseIp("2001:db8::ffff"), 64));
  EXPECT_FALSE(SamePrefix(d, *ParseIp("2001:db9::1"), 32));
}

}  // namespace
}  // namespace pasta
