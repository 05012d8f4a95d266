#include "dhcp/dns_name.h"

#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace pasta::dhcp {
namespace {

using testing::Bytes;
using testing::Cat;
using testing::Raw;

Bytes Encode(std::string_view name) {
  Bytes out;
  EXPECT_TRUE(AppendDnsName(name, out)) << name;
  return out;
}

TEST(DnsNameTest, EncodesLabels) {
  const Bytes expected = Raw("\3www\7example\3org\0");
  EXPECT_EQ(Encode("www.example.org"), expected);
  EXPECT_EQ(Encode("www.example.org."), expected);  // absolute form
  EXPECT_EQ(Encode("localdomain"), Raw("\13localdomain\0"));
}

TEST(DnsNameTest, LengthLimits) {
  const std::string label63(63, 'a');
  EXPECT_EQ(Encode(label63 + ".b").size(), 1 + 63 + 1 + 1 + 1u);
  // 253 characters of text encode to exactly 255 bytes.
  std::string name253 =
      label63 + "." + label63 + "." + label63 + "." + std::string(61, 'c');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_EQ(Encode(name253).size(), 255u);
  EXPECT_EQ(Encode(name253 + ".").size(), 255u);

  Bytes out = {0xaa};
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(64, 'a'),
        std::string(64, 'a') + ".org", name253 + "c", std::string("a..b"),
        std::string(".a"), std::string("a.b.."), std::string("..")}) {
    EXPECT_FALSE(AppendDnsName(bad, out)) << bad;
    EXPECT_EQ(out, Bytes{0xaa}) << "left untouched: " << bad;
  }
}

TEST(DnsNameTest, ListSkipsInvalidNames) {
  EXPECT_EQ(EncodeDnsNames({"a.b", "bad..name", std::string(70, 'x'), "c"}),
            Raw("\1a\1b\0\1c\0"));
  EXPECT_TRUE(EncodeDnsNames({}).empty());
}

}  // namespace
}  // namespace pasta::dhcp
