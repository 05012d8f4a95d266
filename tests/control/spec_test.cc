// Port specifications into rules, checked against the encodings captured
// from upstream's pesto (../shared/pesto-protocol.md §7.3, §10).
#include "control/spec.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pasta::control {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr uint32_t kAllCaps = 0x3f;
constexpr std::pair<uint16_t, uint16_t> kEphemeral{32768, 60999};

std::vector<std::string> Lines(std::string_view spec, char option,
                               uint32_t caps = kAllCaps) {
  SpecResult result;
  const absl::Status st = ParseSpec(spec, option, caps, kEphemeral, &result);
  EXPECT_TRUE(st.ok()) << spec << ": " << st;
  std::vector<std::string> out;
  for (const Rule& r : result.rules) out.push_back(Describe(r));
  return out;
}

std::string Error(std::string_view spec, char option,
                  uint32_t caps = kAllCaps) {
  SpecResult result;
  const absl::Status st = ParseSpec(spec, option, caps, kEphemeral, &result);
  EXPECT_FALSE(st.ok()) << spec;
  return std::string(st.message());
}

TEST(ControlSpecTest, CapturedEncodings) {
  SpecResult r;
  ASSERT_TRUE(ParseSpec("8080", 't', kAllCaps, kEphemeral, &r).ok());
  ASSERT_THAT(r.rules, SizeIs(1));
  EXPECT_EQ(r.rules[0].addr, WireAddr{});
  EXPECT_EQ(r.rules[0].flags, kFlagDualStack);
  EXPECT_EQ(r.rules[0].proto, kProtoTcp);
  EXPECT_EQ(Describe(r.rules[0]), "TCP [*]:8080  =>  8080 ");

  ASSERT_TRUE(ParseSpec("all", 't', kAllCaps, kEphemeral, &r).ok());
  ASSERT_THAT(r.rules, SizeIs(2));
  EXPECT_EQ(r.rules[0].flags, 0x03);
  EXPECT_EQ(Describe(r.rules[0]),
            "TCP [*]:1-32767  =>  1-32767  (best effort)");
  EXPECT_EQ(Describe(r.rules[1]),
            "TCP [*]:61000-65535  =>  61000-65535  (best effort)");

  ASSERT_TRUE(ParseSpec("auto", 'T', kAllCaps, kEphemeral, &r).ok());
  ASSERT_THAT(r.rules, SizeIs(2));
  EXPECT_EQ(r.rules[0].flags, 0x07);
  EXPECT_EQ(r.rules[0].ifname_view(), "lo");

  ASSERT_TRUE(ParseSpec("8000-8010,auto", 't', kAllCaps, kEphemeral, &r).ok());
  ASSERT_THAT(r.rules, SizeIs(1));
  EXPECT_EQ(r.rules[0].flags, 0x05);

  EXPECT_THAT(Lines("0.0.0.0/22:192.0.2.1", 't'),
              ::testing::ElementsAre("TCP [0.0.0.0]:22  =>  192.0.2.1:22 "));
  EXPECT_THAT(
      Lines("0.0.0.0/5000:192.0.2.5/6000", 't'),
      ::testing::ElementsAre("TCP [0.0.0.0]:5000  =>  192.0.2.5:6000 "));
  EXPECT_THAT(Lines("[::1]/5002:[2001:db8::5]/6002", 't'),
              ::testing::ElementsAre("TCP [::1]:5002  =>  2001:db8::5:6002 "));
  EXPECT_THAT(Lines("6000-6010:7000-7010", 'u'),
              ::testing::ElementsAre("UDP [*]:6000-6010  =>  7000-7010 "));
  EXPECT_THAT(Lines("9090", 'T'),
              ::testing::ElementsAre("TCP [*]%lo:9090  =>  9090 "));
}

TEST(ControlSpecTest, PrefixesAndExclusions) {
  EXPECT_THAT(Lines("*/8080", 't'),
              ::testing::ElementsAre("TCP [*]:8080  =>  8080 "));
  EXPECT_THAT(Lines("192.0.2.1%eth0/22", 't'),
              ::testing::ElementsAre("TCP [192.0.2.1]%eth0:22  =>  22 "));
  EXPECT_THAT(Lines("%eth0/22", 't'),
              ::testing::ElementsAre("TCP [*]%eth0:22  =>  22 "));
  EXPECT_THAT(Lines("5-25,~10-20", 't'),
              ::testing::ElementsAre("TCP [*]:5-9  =>  5-9 ",
                                     "TCP [*]:21-25  =>  21-25 "));
  EXPECT_THAT(Lines("100-110:200-210,~105", 'u'),
              ::testing::ElementsAre("UDP [*]:100-104  =>  200-204 ",
                                     "UDP [*]:106-110  =>  206-210 "));
  EXPECT_THAT(
      Lines("127.0.0.6/all:192.0.2.6", 't'),
      ::testing::ElementsAre(
          "TCP [127.0.0.6]:1-32767  =>  192.0.2.6:1-32767  (best effort)",
          "TCP [127.0.0.6]:61000-65535  =>  192.0.2.6:61000-65535  "
          "(best effort)"));
  EXPECT_THAT(Lines("~1-32000", 't'),
              ::testing::ElementsAre(
                  "TCP [*]:32001-32767  =>  32001-32767  (best effort)",
                  "TCP [*]:61000-65535  =>  61000-65535  (best effort)"));
}

TEST(ControlSpecTest, OneFamilyAndNoDeviceBinding) {
  EXPECT_THAT(Lines("80", 't', kAllCaps & ~kCapIpv6),
              ::testing::ElementsAre("TCP [0.0.0.0]:80  =>  80 "));
  EXPECT_THAT(Lines("80", 't', kAllCaps & ~kCapIpv4),
              ::testing::ElementsAre("TCP [::]:80  =>  80 "));
  SpecResult r;
  ASSERT_TRUE(
      ParseSpec("53", 'U', kAllCaps & ~kCapIfname, kEphemeral, &r).ok());
  std::vector<std::string> lines;
  for (const Rule& rule : r.rules) lines.push_back(Describe(rule));
  EXPECT_THAT(lines, ::testing::ElementsAre("UDP [127.0.0.1]:53  =>  53 ",
                                            "UDP [::1]:53  =>  53 "));
  EXPECT_THAT(r.warning, HasSubstr("127.0.0.1 and ::1"));
}

TEST(ControlSpecTest, NoneAndErrors) {
  SpecResult r;
  ASSERT_TRUE(ParseSpec("none", 't', kAllCaps, kEphemeral, &r).ok());
  EXPECT_TRUE(r.none);
  EXPECT_TRUE(r.rules.empty());

  for (const char* bad : {"", "foo", "22,", "70000", "22-80:32-100", "80-22",
                          "22:", "22x", "192.0.2.1/", "~", "all,bogus"}) {
    EXPECT_THAT(Error(bad, 't'), HasSubstr("invalid port specification"))
        << bad;
  }
  EXPECT_THAT(Error("127.0.0.1/22", 'T'), HasSubstr("for -t and -u only"));
  EXPECT_THAT(Error("auto", 't', kAllCaps & ~kCapScan),
              HasSubstr("pasta only"));
  EXPECT_THAT(Error("%eth0/22", 't', kAllCaps & ~kCapIfname),
              HasSubstr("Linux 5.7"));
  EXPECT_THAT(Error("%../22", 't'), HasSubstr("invalid interface name"));
}

}  // namespace
}  // namespace pasta::control
