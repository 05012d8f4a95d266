#include "config/port_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bitset>
#include <string>
#include <vector>

namespace pasta::config {
namespace {

using ::testing::HasSubstr;
using Mode = PortSpec::Mode;

// Returns the spec after adding each of `specs`, or fails the test.
PortSpec Build(const std::vector<std::string>& specs, bool allow_bind = true) {
  PortSpec spec;
  for (const std::string& s : specs) {
    absl::Status status = spec.Add(s, allow_bind);
    EXPECT_TRUE(status.ok()) << s << ": " << status;
  }
  return spec;
}

// Returns the error message of the last Add (earlier ones must succeed).
std::string AddError(const std::vector<std::string>& specs,
                     bool allow_bind = true) {
  PortSpec spec;
  for (size_t i = 0; i + 1 < specs.size(); ++i) {
    EXPECT_TRUE(spec.Add(specs[i], allow_bind).ok()) << specs[i];
  }
  absl::Status status = spec.Add(specs.back(), allow_bind);
  EXPECT_FALSE(status.ok()) << specs.back() << " was accepted";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

TEST(PortSpecTest, DefaultIsUnspecifiedAuto) {
  PortSpec spec;
  EXPECT_FALSE(spec.specified());
  EXPECT_EQ(spec.mode(), Mode::kAuto);
  EXPECT_FALSE(spec.Forwarded(22));
  EXPECT_EQ(spec.ForwardedCount(), 0u);
  EXPECT_EQ(spec.Target(22), 22);
  EXPECT_FALSE(spec.Excluded(22));
  EXPECT_EQ(spec.BindFor(22), PortSpec::Bind{});
}

TEST(PortSpecTest, Keywords) {
  PortSpec none = Build({"none"});
  EXPECT_TRUE(none.specified());
  EXPECT_EQ(none.mode(), Mode::kNone);
  EXPECT_FALSE(none.Forwarded(80));
  EXPECT_EQ(none.ForwardedCount(), 0u);

  PortSpec automatic = Build({"auto"});
  EXPECT_TRUE(automatic.specified());
  EXPECT_EQ(automatic.mode(), Mode::kAuto);
  EXPECT_FALSE(automatic.Forwarded(80));

  PortSpec all = Build({"all"});
  EXPECT_EQ(all.mode(), Mode::kAll);
  EXPECT_FALSE(all.Forwarded(0));
  EXPECT_TRUE(all.Forwarded(1));
  EXPECT_TRUE(all.Forwarded(65535));
  EXPECT_EQ(all.ForwardedCount(), 65535u);
  EXPECT_EQ(all.Target(443), 443);
}

TEST(PortSpecTest, SinglePort) {
  PortSpec spec = Build({"22"});
  EXPECT_EQ(spec.mode(), Mode::kExplicit);
  EXPECT_TRUE(spec.Forwarded(22));
  EXPECT_FALSE(spec.Forwarded(21));
  EXPECT_FALSE(spec.Forwarded(23));
  EXPECT_EQ(spec.Target(22), 22);
  EXPECT_EQ(spec.ForwardedCount(), 1u);
}

TEST(PortSpecTest, ListAndRange) {
  PortSpec spec = Build({"22,25,100-105"});
  EXPECT_TRUE(spec.Forwarded(22));
  EXPECT_TRUE(spec.Forwarded(25));
  EXPECT_FALSE(spec.Forwarded(24));
  EXPECT_FALSE(spec.Forwarded(99));
  EXPECT_TRUE(spec.Forwarded(100));
  EXPECT_TRUE(spec.Forwarded(105));
  EXPECT_FALSE(spec.Forwarded(106));
  EXPECT_EQ(spec.ForwardedCount(), 8u);
}

TEST(PortSpecTest, ExtremePorts) {
  PortSpec spec = Build({"1,65535", "65000-65534"});
  EXPECT_TRUE(spec.Forwarded(1));
  EXPECT_TRUE(spec.Forwarded(65535));
  EXPECT_TRUE(spec.Forwarded(65534));
  EXPECT_FALSE(spec.Forwarded(0));
  EXPECT_EQ(spec.ForwardedCount(), 2u + 535u);
}

TEST(PortSpecTest, RemapSinglePort) {
  PortSpec spec = Build({"22:23"});
  EXPECT_TRUE(spec.Forwarded(22));
  EXPECT_FALSE(spec.Forwarded(23));
  EXPECT_EQ(spec.Target(22), 23);
}

TEST(PortSpecTest, RemapRange) {
  PortSpec spec = Build({"22-80:32-90"});
  EXPECT_EQ(spec.ForwardedCount(), 59u);
  EXPECT_EQ(spec.Target(22), 32);
  EXPECT_EQ(spec.Target(50), 60);
  EXPECT_EQ(spec.Target(80), 90);
  EXPECT_FALSE(spec.Forwarded(81));
}

TEST(PortSpecTest, RemapDownwardsAndMixed) {
  PortSpec spec = Build({"8080:80,443,9000-9001:1-2"});
  EXPECT_EQ(spec.Target(8080), 80);
  EXPECT_EQ(spec.Target(443), 443);
  EXPECT_EQ(spec.Target(9000), 1);
  EXPECT_EQ(spec.Target(9001), 2);
}

TEST(PortSpecTest, RepeatedOptionsAccumulate) {
  PortSpec spec = Build({"22", "80", "1000-1001:2000-2001"});
  EXPECT_EQ(spec.mode(), Mode::kExplicit);
  EXPECT_TRUE(spec.Forwarded(22));
  EXPECT_TRUE(spec.Forwarded(80));
  EXPECT_EQ(spec.Target(1001), 2001);
  EXPECT_EQ(spec.Target(22), 22);
  EXPECT_EQ(spec.ForwardedCount(), 4u);
}

TEST(PortSpecTest, ExclusionCutsRange) {
  PortSpec spec = Build({"20-30,~25"});
  EXPECT_TRUE(spec.Forwarded(24));
  EXPECT_FALSE(spec.Forwarded(25));
  EXPECT_TRUE(spec.Forwarded(26));
  EXPECT_TRUE(spec.Excluded(25));
  EXPECT_EQ(spec.ForwardedCount(), 10u);
}

TEST(PortSpecTest, ExclusionBeforeRangeAndRangeExclusion) {
  PortSpec spec = Build({"~22-23,20-30:120-130"});
  EXPECT_FALSE(spec.Forwarded(22));
  EXPECT_FALSE(spec.Forwarded(23));
  EXPECT_TRUE(spec.Forwarded(24));
  EXPECT_EQ(spec.Target(24), 124);
  EXPECT_EQ(spec.ForwardedCount(), 9u);
}

TEST(PortSpecTest, ExcludedPortMayBeForwardedByAnotherOption) {
  // Exclusions apply to the items of their own spec.
  PortSpec spec = Build({"20-30,~25", "25:2525"});
  EXPECT_TRUE(spec.Forwarded(25));
  EXPECT_EQ(spec.Target(25), 2525);
}

TEST(PortSpecTest, ExclusionOnlyMeansAllExcept) {
  PortSpec spec = Build({"~25"});
  EXPECT_EQ(spec.mode(), Mode::kAll);
  EXPECT_TRUE(spec.Forwarded(24));
  EXPECT_FALSE(spec.Forwarded(25));
  EXPECT_TRUE(spec.Forwarded(26));
  EXPECT_EQ(spec.ForwardedCount(), 65534u);

  PortSpec ranges = Build({"~10-20,~30"});
  EXPECT_EQ(ranges.mode(), Mode::kAll);
  EXPECT_FALSE(ranges.Forwarded(10));
  EXPECT_FALSE(ranges.Forwarded(20));
  EXPECT_FALSE(ranges.Forwarded(30));
  EXPECT_TRUE(ranges.Forwarded(21));
  EXPECT_EQ(ranges.ForwardedCount(), 65535u - 12u);
}

TEST(PortSpecTest, ExcludeRangeForRuntime) {
  PortSpec all = Build({"all"});
  all.ExcludeRange(32768, 60999);
  EXPECT_TRUE(all.Forwarded(32767));
  EXPECT_FALSE(all.Forwarded(32768));
  EXPECT_FALSE(all.Forwarded(60999));
  EXPECT_TRUE(all.Forwarded(61000));
  EXPECT_EQ(all.ForwardedCount(), 65535u - (60999u - 32768u + 1u));

  PortSpec explicit_spec = Build({"100-200"});
  explicit_spec.ExcludeRange(150, 160);
  EXPECT_FALSE(explicit_spec.Forwarded(155));
  EXPECT_EQ(explicit_spec.ForwardedCount(), 101u - 11u);
}

TEST(PortSpecTest, BindAddressV4) {
  PortSpec spec = Build({"192.0.2.1/5"});
  EXPECT_TRUE(spec.Forwarded(5));
  const PortSpec::Bind& bind = spec.BindFor(5);
  ASSERT_TRUE(bind.addr.has_value());
  EXPECT_EQ(FormatIp(*bind.addr), "192.0.2.1");
  EXPECT_EQ(bind.ifname, "");
}

TEST(PortSpecTest, BindAddressV6WithRemap) {
  PortSpec spec = Build({"2001:db8::1/22-25:32-35"});
  EXPECT_EQ(spec.Target(23), 33);
  ASSERT_TRUE(spec.BindFor(25).addr.has_value());
  EXPECT_EQ(FormatIp(*spec.BindFor(25).addr), "2001:db8::1");
}

TEST(PortSpecTest, BracketedAddresses) {
  PortSpec spec = Build({"[::1]/80", "[127.0.0.1]/81"});
  EXPECT_EQ(FormatIp(*spec.BindFor(80).addr), "::1");
  EXPECT_EQ(FormatIp(*spec.BindFor(81).addr), "127.0.0.1");
}

TEST(PortSpecTest, BindInterfaceOnlyAndWithAddress) {
  PortSpec spec = Build({"%eth0/22", "192.0.2.1%eth1/23"});
  EXPECT_FALSE(spec.BindFor(22).addr.has_value());
  EXPECT_EQ(spec.BindFor(22).ifname, "eth0");
  EXPECT_EQ(FormatIp(*spec.BindFor(23).addr), "192.0.2.1");
  EXPECT_EQ(spec.BindFor(23).ifname, "eth1");
  ASSERT_EQ(spec.binds().size(), 3u);
  EXPECT_EQ(spec.binds()[0], PortSpec::Bind{});
}

TEST(PortSpecTest, BindsArePerOption) {
  PortSpec spec = Build({"127.0.0.1/80", "443", "127.0.0.1/8080"});
  EXPECT_EQ(FormatIp(*spec.BindFor(80).addr), "127.0.0.1");
  EXPECT_FALSE(spec.BindFor(443).addr.has_value());
  EXPECT_EQ(FormatIp(*spec.BindFor(8080).addr), "127.0.0.1");
  EXPECT_EQ(spec.binds().size(), 2u);  // the same prefix is stored once
}

TEST(PortSpecTest, BindWithExclusionOnly) {
  PortSpec spec = Build({"127.0.0.1/~22"});
  EXPECT_EQ(spec.mode(), Mode::kAll);
  EXPECT_FALSE(spec.Forwarded(22));
  EXPECT_EQ(FormatIp(*spec.BindFor(80).addr), "127.0.0.1");
}

TEST(PortSpecTest, BindRefusedWhenNotAllowed) {
  EXPECT_THAT(AddError({"127.0.0.1/80"}, /*allow_bind=*/false),
              HasSubstr("address or interface"));
  EXPECT_THAT(AddError({"%lo/80"}, /*allow_bind=*/false),
              HasSubstr("address or interface"));
  PortSpec spec = Build({"80:8080"}, /*allow_bind=*/false);
  EXPECT_EQ(spec.Target(80), 8080);
}

TEST(PortSpecTest, ReversedRange) {
  EXPECT_EQ(AddError({"80-22"}), "reversed range '80-22'");
  EXPECT_THAT(AddError({"22-23:90-80"}), HasSubstr("reversed range '90-80'"));
  EXPECT_THAT(AddError({"~30-20"}), HasSubstr("reversed range"));
}

TEST(PortSpecTest, PortZeroAndOutOfRange) {
  EXPECT_THAT(AddError({"0"}), HasSubstr("port 0 is not allowed"));
  EXPECT_THAT(AddError({"0-10"}), HasSubstr("port 0"));
  EXPECT_THAT(AddError({"65536"}), HasSubstr("out of range"));
  EXPECT_THAT(AddError({"22:70000"}), HasSubstr("out of range"));
  EXPECT_THAT(AddError({"99999999999999999999"}), HasSubstr("out of range"));
}

TEST(PortSpecTest, NonNumeric) {
  EXPECT_THAT(AddError({"ssh"}), HasSubstr("invalid port 'ssh'"));
  EXPECT_THAT(AddError({"22x"}), HasSubstr("invalid port '22x'"));
  EXPECT_THAT(AddError({"+22"}), HasSubstr("invalid port"));
  EXPECT_THAT(AddError({" 22"}), HasSubstr("invalid port"));
  EXPECT_THAT(AddError({"22-"}), HasSubstr("missing port"));
  EXPECT_THAT(AddError({"-22"}), HasSubstr("missing port"));
  EXPECT_THAT(AddError({"22:"}), HasSubstr("missing port"));
  EXPECT_THAT(AddError({"22:23:24"}), HasSubstr("invalid port"));
  EXPECT_THAT(AddError({"22-23-24"}), HasSubstr("invalid port"));
  EXPECT_THAT(AddError({"~"}), HasSubstr("missing port"));
}

TEST(PortSpecTest, EmptyItems) {
  EXPECT_THAT(AddError({""}), HasSubstr("empty"));
  EXPECT_THAT(AddError({"22,"}), HasSubstr("empty item"));
  EXPECT_THAT(AddError({",22"}), HasSubstr("empty item"));
  EXPECT_THAT(AddError({"22,,23"}), HasSubstr("empty item"));
  EXPECT_THAT(AddError({"192.0.2.1/"}), HasSubstr("no ports"));
}

TEST(PortSpecTest, MismatchedRangeLengths) {
  EXPECT_THAT(AddError({"22-80:32-91"}), HasSubstr("differ in length"));
  EXPECT_THAT(AddError({"22-80:32"}), HasSubstr("differ in length"));
  EXPECT_THAT(AddError({"22:32-33"}), HasSubstr("differ in length"));
}

TEST(PortSpecTest, OverlapIsAnError) {
  EXPECT_THAT(AddError({"22,22"}),
              HasSubstr("port 22 is given more than once"));
  EXPECT_THAT(AddError({"20-30,25"}), HasSubstr("port 25"));
  EXPECT_THAT(AddError({"80", "70-90"}), HasSubstr("port 80"));
  EXPECT_THAT(AddError({"~10-20,~15"}), HasSubstr("overlaps"));
}

TEST(PortSpecTest, DistinctHostPortsMayShareATarget) {
  PortSpec spec = Build({"8080:80,8081:80"});
  EXPECT_EQ(spec.Target(8080), 80);
  EXPECT_EQ(spec.Target(8081), 80);
}

TEST(PortSpecTest, FailedAddLeavesSpecUnchanged) {
  PortSpec spec = Build({"22"});
  EXPECT_FALSE(spec.Add("23,24,22").ok());
  EXPECT_FALSE(spec.Forwarded(23));
  EXPECT_FALSE(spec.Forwarded(24));
  EXPECT_EQ(spec.ForwardedCount(), 1u);
}

TEST(PortSpecTest, KeywordsDontCombine) {
  EXPECT_THAT(AddError({"127.0.0.1/auto"}),
              HasSubstr("'auto' can't be combined"));
  EXPECT_THAT(AddError({"22,none"}), HasSubstr("'none' can't be combined"));
  EXPECT_THAT(AddError({"all,~22"}), HasSubstr("'all' can't be combined"));
  EXPECT_THAT(AddError({"127.0.0.1/all"}), HasSubstr("'all' can't be"));
  EXPECT_THAT(AddError({"auto", "22"}), HasSubstr("conflicts with auto"));
  EXPECT_THAT(AddError({"none", "none"}), HasSubstr("conflicts with none"));
  EXPECT_THAT(AddError({"22", "none"}), HasSubstr("'none' conflicts"));
  EXPECT_THAT(AddError({"22", "all"}), HasSubstr("'all' conflicts"));
  EXPECT_THAT(AddError({"~25", "22"}), HasSubstr("conflicts with all"));
  EXPECT_THAT(AddError({"22", "~25"}), HasSubstr("conflicts with a port list"));
}

TEST(PortSpecTest, UnknownWords) {
  EXPECT_THAT(AddError({"everything"}), HasSubstr("invalid port 'everything'"));
  EXPECT_THAT(AddError({"Auto"}), HasSubstr("invalid port"));
}

TEST(PortSpecTest, BadBindPrefix) {
  EXPECT_THAT(AddError({"192.0.2.300/22"}), HasSubstr("invalid address"));
  EXPECT_THAT(AddError({"bogus/22"}), HasSubstr("invalid address 'bogus'"));
  EXPECT_THAT(AddError({"/22"}), HasSubstr("empty address"));
  EXPECT_THAT(AddError({"%/22"}), HasSubstr("invalid interface name"));
  EXPECT_THAT(AddError({"%averyveryverylongname/22"}),
              HasSubstr("invalid interface name"));
  EXPECT_THAT(AddError({"192.0.2.1/22/23"}), HasSubstr("invalid port"));
}

TEST(PortSpecTest, InterfaceNames) {
  EXPECT_TRUE(IsValidInterfaceName("eth0"));
  EXPECT_TRUE(IsValidInterfaceName("a"));
  EXPECT_TRUE(IsValidInterfaceName("fifteen-chars15"));
  EXPECT_FALSE(IsValidInterfaceName("sixteen-chars-16"));
  EXPECT_FALSE(IsValidInterfaceName(""));
  EXPECT_FALSE(IsValidInterfaceName("."));
  EXPECT_FALSE(IsValidInterfaceName(".."));
  EXPECT_FALSE(IsValidInterfaceName("a/b"));
  EXPECT_FALSE(IsValidInterfaceName("a:b"));
  EXPECT_FALSE(IsValidInterfaceName("a b"));
}

TEST(PortSpecTest, TooManyBinds) {
  PortSpec spec;
  for (int i = 0; i < 255; ++i) {
    std::string s = "10.0." + std::to_string(i / 200) + "." +
                    std::to_string(i % 200 + 1) + "/" +
                    std::to_string(1000 + i);
    ASSERT_TRUE(spec.Add(s).ok()) << s;
  }
  absl::Status status = spec.Add("10.9.9.9/5000");
  EXPECT_THAT(std::string(status.message()), HasSubstr("too many"));
  EXPECT_EQ(FormatIp(*spec.BindFor(1254).addr), "10.0.1.55");
}

// --- 2026-07 grammar: `*`, target addresses, ITEMS,auto -------------------

TEST(PortSpecTest, StarIsTheWildcardAddress) {
  PortSpec spec = Build({"*/8080"});
  EXPECT_EQ(spec.mode(), Mode::kExplicit);
  EXPECT_TRUE(spec.Forwarded(8080));
  EXPECT_EQ(spec.BindFor(8080), PortSpec::Bind{});
  EXPECT_EQ(spec.binds().size(), 1u);  // the same as no prefix

  PortSpec with_if = Build({"*%eth0/22,~23"});
  EXPECT_TRUE(with_if.Forwarded(22));
  EXPECT_FALSE(with_if.BindFor(22).addr.has_value());
  EXPECT_EQ(with_if.BindFor(22).ifname, "eth0");

  PortSpec all_but = Build({"*/~25"});
  EXPECT_EQ(all_but.mode(), Mode::kAll);
  EXPECT_FALSE(all_but.Forwarded(25));
  EXPECT_EQ(all_but.BindFor(80), PortSpec::Bind{});
}

TEST(PortSpecTest, StarRefusedWhereNoAddressIs) {
  EXPECT_EQ(AddError({"*/80"}, /*allow_bind=*/false),
            "an address or interface can't be given for this direction");
  EXPECT_EQ(AddError({"**/80"}), "invalid address '**'");
  EXPECT_EQ(AddError({"*/"}), "no ports after '/'");
}

TEST(PortSpecTest, TargetAddressAndPorts) {
  PortSpec spec = Build({"0.0.0.0/5000:192.0.2.5/6000"});
  EXPECT_TRUE(spec.Forwarded(5000));
  EXPECT_EQ(spec.Target(5000), 6000);
  ASSERT_NE(spec.TargetAddr(5000), nullptr);
  EXPECT_EQ(FormatIp(*spec.TargetAddr(5000)), "192.0.2.5");
  EXPECT_EQ(FormatIp(*spec.BindFor(5000).addr), "0.0.0.0");
}

TEST(PortSpecTest, TargetAddressRanges) {
  PortSpec spec =
      Build({"127.0.0.1/7000-7002:192.0.2.7,7010-7011:192.0.2.8/80-81,7020"});
  EXPECT_EQ(spec.Target(7001), 7001);
  EXPECT_EQ(FormatIp(*spec.TargetAddr(7002)), "192.0.2.7");
  EXPECT_EQ(spec.Target(7011), 81);
  EXPECT_EQ(FormatIp(*spec.TargetAddr(7011)), "192.0.2.8");
  EXPECT_EQ(spec.TargetAddr(7020), nullptr);
  EXPECT_EQ(spec.TargetAddr(7003), nullptr);
}

TEST(PortSpecTest, TargetAddressIPv6) {
  PortSpec spec =
      Build({"[::]/5000:[2001:db8::5]/6000", "::1/5001:2001:db8::6"});
  EXPECT_EQ(FormatIp(*spec.TargetAddr(5000)), "2001:db8::5");
  EXPECT_EQ(spec.Target(5000), 6000);
  EXPECT_EQ(FormatIp(*spec.TargetAddr(5001)), "2001:db8::6");
  EXPECT_EQ(spec.Target(5001), 5001);
}

TEST(PortSpecTest, TargetAddressErrors) {
  EXPECT_EQ(AddError({"5000:192.0.2.5/6000"}),
            "target address 192.0.2.5 in '5000:192.0.2.5/6000' needs a "
            "listening address of its family, e.g. "
            "0.0.0.0/5000:192.0.2.5/6000");
  EXPECT_EQ(AddError({"*/5000:192.0.2.5"}),
            "target address 192.0.2.5 in '5000:192.0.2.5' needs a listening "
            "address of its family, e.g. 0.0.0.0/5000:192.0.2.5");
  EXPECT_EQ(AddError({"::1/5000:192.0.2.5"}),
            "listening address ::1 and target address 192.0.2.5 are of "
            "different families");
  EXPECT_EQ(AddError({"0.0.0.0/5000:192.0.2.5/6000"}, /*allow_bind=*/false),
            "an address or interface can't be given for this direction");
  EXPECT_EQ(AddError({"5000:192.0.2.5/6000"}, /*allow_bind=*/false),
            "a target address can't be given for this direction "
            "('5000:192.0.2.5/6000')");
  EXPECT_EQ(AddError({"0.0.0.0/5000:224.0.0.1"}),
            "target address '224.0.0.1' is not usable (multicast) in "
            "'5000:224.0.0.1'");
  EXPECT_EQ(AddError({"0.0.0.0/5000:127.0.0.1"}),
            "target address '127.0.0.1' is not usable (loopback) in "
            "'5000:127.0.0.1'");
  EXPECT_EQ(AddError({"0.0.0.0/5000:192.0.2/6000"}),
            "invalid port or target address '192.0.2' in '5000:192.0.2/6000'");
  EXPECT_EQ(AddError({"0.0.0.0/5000:192.0.2.5/"}),
            "missing port in '5000:192.0.2.5/'");
  EXPECT_EQ(AddError({"0.0.0.0/5000-5001:192.0.2.5/6000"}),
            "ranges differ in length in '5000-5001:192.0.2.5/6000'");
}

TEST(PortSpecTest, AutoLimitedToRanges) {
  PortSpec spec = Build({"8000-8010,auto"});
  EXPECT_EQ(spec.mode(), Mode::kAuto);
  EXPECT_TRUE(spec.auto_limited());
  EXPECT_TRUE(spec.AutoForwarded(8000));
  EXPECT_TRUE(spec.AutoForwarded(8010));
  EXPECT_FALSE(spec.AutoForwarded(7999));
  EXPECT_FALSE(spec.AutoForwarded(8011));
  EXPECT_FALSE(spec.Forwarded(8000));  // only if bound: the runtime's call
  EXPECT_EQ(spec.ForwardedCount(), 0u);

  PortSpec more = Build({"auto,80", "8000-8010,~8005,auto"});
  EXPECT_TRUE(more.AutoForwarded(80));
  EXPECT_TRUE(more.AutoForwarded(8004));
  EXPECT_FALSE(more.AutoForwarded(8005));
  EXPECT_FALSE(more.AutoForwarded(81));
}

// The set and the port-by-port answer agree on every port, in every mode.
TEST(PortSpecTest, AutoForwardedSetIsAutoForwardedForEachPort) {
  for (const std::vector<std::string>& specs :
       std::vector<std::vector<std::string>>{
           {"auto"},
           {"~22,~60000-60100,auto"},
           {"8000-8010,auto"},
           {"auto,80", "8000-8010,~8005,auto"},
           {"1-100,~50,auto"},
           {"80"},
           {"all"},
           {"none"}}) {
    const PortSpec spec = Build(specs);
    const std::bitset<PortSpec::kNumPorts> set = spec.AutoForwardedSet();
    size_t mismatches = 0;
    for (uint32_t p = 0; p < PortSpec::kNumPorts; ++p)
      mismatches += set.test(p) != spec.AutoForwarded(static_cast<uint16_t>(p));
    EXPECT_EQ(mismatches, 0u) << specs.back();
  }
  EXPECT_EQ(PortSpec().AutoForwardedSet().count(), 65535u);  // the default
  EXPECT_EQ(Build({"8000-8010,~8005,auto"}).AutoForwardedSet().count(), 10u);
}

TEST(PortSpecTest, AutoWithExclusionsOnly) {
  PortSpec spec = Build({"~22,auto"});
  EXPECT_EQ(spec.mode(), Mode::kAuto);
  EXPECT_FALSE(spec.auto_limited());
  EXPECT_FALSE(spec.AutoForwarded(22));
  EXPECT_TRUE(spec.AutoForwarded(23));
  EXPECT_FALSE(spec.AutoForwarded(0));

  PortSpec plain = Build({"auto"});
  EXPECT_TRUE(plain.AutoForwarded(22));
  EXPECT_TRUE(PortSpec().AutoForwarded(22));  // the default
  EXPECT_FALSE(Build({"22"}).AutoForwarded(22));
  PortSpec star = Build({"*/auto"});
  EXPECT_TRUE(star.AutoForwarded(1));
}

TEST(PortSpecTest, AutoLimitedErrors) {
  EXPECT_EQ(AddError({"8000:9000,auto"}),
            "'auto' can't be combined with a remapping or a target address");
  EXPECT_EQ(AddError({"127.0.0.1/8000,auto"}),
            "'auto' can't be combined with other items, an address or an "
            "interface");
  EXPECT_EQ(AddError({"8000,auto,auto"}),
            "'auto' can't be combined with other items, an address or an "
            "interface");
  EXPECT_EQ(AddError({"8000,auto", "8000,auto"}),
            "port 8000 is given more than once");
  EXPECT_EQ(AddError({"8000,8000,auto"}), "port 8000 is given more than once");
  EXPECT_EQ(AddError({"22", "8000,auto"}),
            "'auto' list conflicts with a port list given earlier");
  EXPECT_EQ(AddError({"auto", "8000,auto"}),
            "'auto' list conflicts with plain auto given earlier");
  EXPECT_EQ(AddError({"8000,auto", "~22,auto"}),
            "'auto' conflicts with auto given earlier");
  EXPECT_EQ(AddError({"8000,auto", "22"}),
            "port list conflicts with auto given earlier");
  // For -T and -U too (no address there).
  PortSpec ns = Build({"8000-8010,auto"}, /*allow_bind=*/false);
  EXPECT_TRUE(ns.AutoForwarded(8001));
}

}  // namespace
}  // namespace pasta::config
