// BuildTapConfig: template plus -a/-n/-g/--no-copy-* into a TapConfig.
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "netlink/netlink.h"
#include "netlink/test_util.h"

namespace pasta::netlink {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Ip;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

Address Addr(const char* ip, uint8_t prefix, uint8_t scope = 0) {
  Address a;
  a.addr = Ip(ip);
  a.prefix_len = prefix;
  a.scope = scope;
  a.flags = IFA_F_PERMANENT;
  a.ifindex = 2;
  return a;
}

Route Rt(const char* dst, uint8_t len, const char* via = nullptr,
         uint32_t metric = 0, const char* prefsrc = nullptr) {
  Route r;
  r.dst = Ip(dst);
  r.family = r.dst.family;
  r.dst_len = len;
  if (via) r.gateway = Ip(via);
  if (prefsrc) r.prefsrc = Ip(prefsrc);
  r.oif = 2;
  r.priority = metric;
  r.table = RT_TABLE_MAIN;
  r.type = RTN_UNICAST;
  r.protocol = via ? RTPROT_DHCP : RTPROT_KERNEL;
  r.scope = via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  return r;
}

HostTemplate Template() {
  HostTemplate t;
  FamilyTemplate v4;
  v4.link = {2, "eth0", 1500, *ParseMac("02:00:00:00:00:02"), 0x1043};
  v4.addrs = {Addr("192.0.2.10", 24), Addr("203.0.113.7", 24)};
  v4.routes = {Rt("0.0.0.0", 0, "192.0.2.1", 100),
               Rt("192.0.2.0", 24, nullptr, 0, "192.0.2.10"),
               Rt("203.0.113.0", 24, nullptr, 0, "203.0.113.7"),
               Rt("198.51.100.0", 24, "203.0.113.254")};
  v4.gateway = Ip("192.0.2.1");
  t.v4 = v4;
  FamilyTemplate v6;
  v6.link = v4.link;
  v6.addrs = {Addr("2001:db8::10", 64), Addr("fe80::10", 64, RT_SCOPE_LINK)};
  v6.routes = {Rt("::", 0, "fe80::1", 1024), Rt("2001:db8::", 64, nullptr, 256),
               Rt("fe80::", 64, nullptr, 256)};
  v6.gateway = Ip("fe80::1");
  t.v6 = v6;
  return t;
}

std::vector<std::string> AddrStrings(const TapConfig& c) {
  std::vector<std::string> out;
  for (const Address& a : c.addrs)
    out.push_back(FormatIp(a.addr) + "/" + std::to_string(a.prefix_len));
  return out;
}

std::vector<std::string> RouteStrings(const TapConfig& c, int family) {
  std::vector<std::string> out;
  for (const Route& r : c.routes)
    if (r.family == family) out.push_back(FormatRoute(r));
  return out;
}

const Route* FindRoute(const TapConfig& c, const std::string& text) {
  for (const Route& r : c.routes)
    if (FormatRoute(r) == text) return &r;
  return nullptr;
}

TEST(BuildTapConfig, CopiesEverythingByDefault) {
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), {}, true, true);
  ASSERT_TRUE(c.ok()) << c.status();
  // IPv6 link-local addresses are not copied: the tap has its own.
  EXPECT_THAT(AddrStrings(*c), ElementsAre("192.0.2.10/24", "203.0.113.7/24",
                                           "2001:db8::10/64"));
  for (const Address& a : c->addrs) EXPECT_EQ(a.ifindex, 0);
  EXPECT_THAT(
      RouteStrings(*c, AF_INET),
      ElementsAre("0.0.0.0/0 via 192.0.2.1", "192.0.2.0/24", "203.0.113.0/24",
                  "198.51.100.0/24 via 203.0.113.254"));
  EXPECT_THAT(RouteStrings(*c, AF_INET6),
              ElementsAre("::/0 via fe80::1", "2001:db8::/64", "fe80::/64"));
  EXPECT_EQ(FindRoute(*c, "203.0.113.0/24")->prefsrc, Ip("203.0.113.7"));
  // Left for the caller.
  EXPECT_EQ(c->ifname, "");
  EXPECT_EQ(c->mtu, 0);
  EXPECT_FALSE(c->mac.has_value());
}

TEST(BuildTapConfig, FamiliesAsAsked) {
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), {}, false, true);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(AddrStrings(*c), ElementsAre("2001:db8::10/64"));
  EXPECT_THAT(RouteStrings(*c, AF_INET), IsEmpty());

  HostTemplate only4 = Template();
  only4.v6.reset();
  c = BuildTapConfig(only4, {}, true, true);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(RouteStrings(*c, AF_INET6), IsEmpty());
  EXPECT_EQ(c->addrs.size(), 2u);
}

TEST(BuildTapConfig, NoCopyAddrsTakesTheFirstAndDropsForeignPrefsrc) {
  Overrides ov;
  ov.no_copy_addrs = true;
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, true, true);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(AddrStrings(*c), ElementsAre("192.0.2.10/24", "2001:db8::10/64"));
  EXPECT_EQ(FindRoute(*c, "192.0.2.0/24")->prefsrc, Ip("192.0.2.10"));
  EXPECT_EQ(FindRoute(*c, "203.0.113.0/24")->prefsrc.family, AF_UNSPEC);
  // 198.51.100.0/24 via 203.0.113.254 still works through the copied
  // 203.0.113.0/24 route.
  EXPECT_NE(FindRoute(*c, "198.51.100.0/24 via 203.0.113.254"), nullptr);
}

TEST(BuildTapConfig, NoCopyRoutesLeavesOnlyTheDefault) {
  Overrides ov;
  ov.no_copy_routes = true;
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, true, true);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(RouteStrings(*c, AF_INET),
              ElementsAre("0.0.0.0/0 via 192.0.2.1"));
  EXPECT_THAT(RouteStrings(*c, AF_INET6), ElementsAre("::/0 via fe80::1"));
  const Route* d = FindRoute(*c, "0.0.0.0/0 via 192.0.2.1");
  EXPECT_EQ(d->priority, 100u);
  EXPECT_EQ(d->table, static_cast<uint32_t>(RT_TABLE_MAIN));
  EXPECT_EQ(d->type, RTN_UNICAST);
  EXPECT_EQ(d->dst.family, AF_INET);
}

TEST(BuildTapConfig, NoCopyRoutesWithoutGatewayHasNoRoutes) {
  HostTemplate t = Template();
  t.v4->routes = {Rt("192.0.2.0", 24)};
  t.v4->gateway = IpAddr{};
  Overrides ov;
  ov.no_copy_routes = true;
  absl::StatusOr<TapConfig> c = BuildTapConfig(t, ov, true, false);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->routes, IsEmpty());
}

TEST(BuildTapConfig, NoCopyRoutesKeepsOnLinkGateway) {
  HostTemplate t = Template();
  Route def = Rt("0.0.0.0", 0, "10.255.0.1", 0);
  def.flags = RTNH_F_ONLINK;
  t.v4->routes = {def};
  t.v4->gateway = Ip("10.255.0.1");
  Overrides ov;
  ov.no_copy_routes = true;
  absl::StatusOr<TapConfig> c = BuildTapConfig(t, ov, true, false);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->routes.size(), 1u);
  EXPECT_TRUE(c->routes[0].flags & RTNH_F_ONLINK);
}

TEST(BuildTapConfig, AddressOverridePrefixes) {
  struct Case {
    const char* addr;
    int n;
    const char* want;
  } cases[] = {
      {"192.0.2.77", -1, "192.0.2.77/24"},  // template subnet's prefix
      {"203.0.113.9", -1, "203.0.113.9/24"},
      {"192.0.2.77", 28, "192.0.2.77/28"},  // -n wins
      {"10.0.2.15", -1, "10.0.2.15/8"},     // classful, as upstream
      {"172.16.1.1", -1, "172.16.1.1/16"},
      {"192.168.1.1", -1, "192.168.1.1/24"},
      {"10.0.2.15", 24, "10.0.2.15/24"},
  };
  for (const Case& k : cases) {
    Overrides ov;
    ov.addr4 = Ip(k.addr);
    ov.prefix_len4 = k.n;
    absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, true, false);
    ASSERT_TRUE(c.ok()) << k.addr << ": " << c.status();
    EXPECT_THAT(AddrStrings(*c), ElementsAre(k.want)) << k.addr;
  }
}

TEST(BuildTapConfig, AddressOverrideDropsPrefsrcButKeepsRoutes) {
  Overrides ov;
  ov.addr4 = Ip("10.0.2.15");
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, true, false);
  ASSERT_TRUE(c.ok()) << c.status();
  // The gateway is still reachable through the copied 192.0.2.0/24 route.
  EXPECT_NE(FindRoute(*c, "0.0.0.0/0 via 192.0.2.1"), nullptr);
  for (const Route& r : c->routes) EXPECT_EQ(r.prefsrc.family, AF_UNSPEC);
}

TEST(BuildTapConfig, Ipv6AddressOverride) {
  Overrides ov;
  ov.addr6 = Ip("2001:db8::99");
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, false, true);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(AddrStrings(*c), ElementsAre("2001:db8::99/64"));
  ov.addr6 = Ip("2001:db8:1:2:3::5");
  c = BuildTapConfig(Template(), ov, false, true);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(AddrStrings(*c), ElementsAre("2001:db8:1:2:3::5/64"));
}

TEST(BuildTapConfig, NetmaskAloneAppliesToTheFirstIpv4Address) {
  Overrides ov;
  ov.prefix_len4 = 16;
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, true, false);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(AddrStrings(*c), ElementsAre("192.0.2.10/16", "203.0.113.7/24"));
}

TEST(BuildTapConfig, GatewayOverrideReplacesTheDefaultRoute) {
  HostTemplate t = Template();
  t.v4->routes.push_back(Rt("0.0.0.0", 0, "203.0.113.1", 600));
  Overrides ov;
  ov.gw4 = Ip("192.0.2.254");
  absl::StatusOr<TapConfig> c = BuildTapConfig(t, ov, true, false);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(RouteStrings(*c, AF_INET),
              UnorderedElementsAre("0.0.0.0/0 via 192.0.2.254", "192.0.2.0/24",
                                   "203.0.113.0/24",
                                   "198.51.100.0/24 via 203.0.113.254"));
  EXPECT_EQ(FindRoute(*c, "0.0.0.0/0 via 192.0.2.254")->priority, 100u);
}

TEST(BuildTapConfig, GatewayOverrideAddsADefaultRoute) {
  HostTemplate t = Template();
  t.v4->routes = {Rt("192.0.2.0", 24)};
  t.v4->gateway = IpAddr{};
  Overrides ov;
  ov.gw4 = Ip("192.0.2.1");
  absl::StatusOr<TapConfig> c = BuildTapConfig(t, ov, true, false);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(RouteStrings(*c, AF_INET),
              ElementsAre("192.0.2.0/24", "0.0.0.0/0 via 192.0.2.1"));
}

TEST(BuildTapConfig, GatewayOverrideWithNoCopyRoutes) {
  Overrides ov;
  ov.gw6 = Ip("fe80::99");  // link-local: always reachable
  ov.no_copy_routes = true;
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, false, true);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(RouteStrings(*c, AF_INET6), ElementsAre("::/0 via fe80::99"));
}

TEST(BuildTapConfig, UnreachableGatewayIsAnError) {
  Overrides ov;
  ov.gw4 = Ip("198.18.0.1");
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, true, true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "gateway 198.18.0.1 of route 0.0.0.0/0 via 198.18.0.1 is not "
            "reachable on any IPv4 subnet or route of the tap");

  // -a elsewhere with only the default route: the template's gateway is out
  // of reach.
  Overrides ov2;
  ov2.addr4 = Ip("10.0.2.15");
  ov2.no_copy_routes = true;
  c = BuildTapConfig(Template(), ov2, true, true);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("gateway 192.0.2.1"));

  Overrides ov3;
  ov3.addr6 = Ip("2001:db8:1::1");
  ov3.gw6 = Ip("2001:db8:2::1");
  ov3.no_copy_routes = true;
  c = BuildTapConfig(Template(), ov3, true, true);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("IPv6 subnet"));
}

TEST(BuildTapConfig, FamilyMismatchAndRangeErrors) {
  Overrides ov;
  ov.addr4 = Ip("2001:db8::1");
  absl::StatusOr<TapConfig> c = BuildTapConfig(Template(), ov, true, true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "address 2001:db8::1 is not an IPv4 address");

  ov = {};
  ov.gw6 = Ip("192.0.2.1");
  c = BuildTapConfig(Template(), ov, true, true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "gateway 192.0.2.1 is not an IPv6 address");

  ov = {};
  ov.prefix_len4 = 33;
  c = BuildTapConfig(Template(), ov, true, true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BuildTapConfig, MultipathRoutesAreCopied) {
  HostTemplate t = Template();
  Route mp = Rt("10.8.0.0", 16);
  mp.oif = 0;
  mp.multipath = {{Ip("192.0.2.3"), 2, 0, 0}, {Ip("192.0.2.4"), 2, 1, 0}};
  t.v4->routes.push_back(mp);
  Overrides ov;
  ov.no_copy_addrs = true;  // triggers validation: both gateways reachable
  absl::StatusOr<TapConfig> c = BuildTapConfig(t, ov, true, false);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(FindRoute(*c,
                      "10.8.0.0/16 nexthop via 192.0.2.3 nexthop via "
                      "192.0.2.4"),
            nullptr);
}

// Local mode: upstream's addresses, overridable like a host's template.
TEST(LocalTemplate, UpstreamsAddresses) {
  const FamilyTemplate v4 = LocalTemplate(AF_INET);
  EXPECT_TRUE(v4.local);
  EXPECT_EQ(v4.link.index, 0);
  ASSERT_EQ(v4.addrs.size(), 1u);
  EXPECT_EQ(FormatIp(v4.addrs[0].addr), "169.254.2.1");
  EXPECT_EQ(v4.addrs[0].prefix_len, 16);
  EXPECT_EQ(FormatIp(v4.gateway), "169.254.2.2");
  const FamilyTemplate v6 = LocalTemplate(AF_INET6);
  EXPECT_TRUE(v6.local);
  EXPECT_THAT(v6.addrs, IsEmpty());
  EXPECT_EQ(FormatIp(v6.gateway), "fe80::1");

  HostTemplate t;
  t.v4 = v4;
  t.v6 = v6;
  absl::StatusOr<TapConfig> c = BuildTapConfig(t, Overrides{}, true, true);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(AddrStrings(*c), ElementsAre("169.254.2.1/16"));
  EXPECT_THAT(RouteStrings(*c, AF_INET),
              ElementsAre("0.0.0.0/0 via 169.254.2.2"));
  EXPECT_THAT(RouteStrings(*c, AF_INET6), ElementsAre("::/0 via fe80::1"));
  EXPECT_EQ(DefaultGateway(c->routes, AF_INET6), Ip("fe80::1"));
}

TEST(LocalTemplate, AddressAndGatewayGivenWin) {
  HostTemplate t;
  t.v4 = LocalTemplate(AF_INET);
  t.v6 = LocalTemplate(AF_INET6);
  Overrides ov;
  ov.addr4 = Ip("169.254.7.7");  // same /16: keeps its prefix
  ov.gw4 = Ip("169.254.7.1");
  ov.addr6 = Ip("2001:db8::5");
  absl::StatusOr<TapConfig> c = BuildTapConfig(t, ov, true, true);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(AddrStrings(*c),
              UnorderedElementsAre("169.254.7.7/16", "2001:db8::5/64"));
  EXPECT_THAT(RouteStrings(*c, AF_INET),
              ElementsAre("0.0.0.0/0 via 169.254.7.1"));

  // A gateway that the local subnet does not reach is refused, one line.
  ov = {};
  ov.gw4 = Ip("192.0.2.1");
  c = BuildTapConfig(t, ov, true, true);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("not reachable"));
}

}  // namespace
}  // namespace pasta::netlink
