// Local mode and the IPv6 socket probe (app/addresses.h): which family gets
// upstream's local set-up, what DHCP, NDP and the address mapping then say,
// and when IPv6 goes off. No privileges, no sockets (DNS is given with -D
// so that the host's resolv.conf is not read).
#include "app/addresses.h"

#include <sys/socket.h>

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "netlink/netlink.h"

namespace pasta::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

IpAddr Ip(const char* text) { return *ParseIp(text); }

netlink::FamilyTemplate HostV4() {
  netlink::FamilyTemplate t;
  t.link.index = 2;
  t.link.name = "eth0";
  netlink::Address a;
  a.addr = Ip("198.51.100.2");
  a.prefix_len = 24;
  t.addrs.push_back(a);
  t.gateway = Ip("198.51.100.1");
  netlink::Route r;
  r.family = AF_INET;
  r.dst = IpAddr{};
  r.dst.family = AF_INET;
  r.gateway = t.gateway;
  t.routes.push_back(r);
  return t;
}

// The run's view of one configuration: the template after local mode, the
// tap's set-up and what the services and handlers make of it.
struct Built {
  netlink::HostTemplate tmpl;
  netlink::TapConfig net;
  tap::Services services;
  flow::AddressMap map;
};

Built Build(const config::Config& cfg, netlink::HostTemplate tmpl) {
  Built b;
  EXPECT_TRUE(UseLocalMode(cfg, &tmpl).ok());
  b.tmpl = tmpl;
  absl::StatusOr<netlink::TapConfig> net = netlink::BuildTapConfig(
      tmpl, netlink::Overrides{}, tmpl.v4.has_value(), tmpl.v6.has_value());
  EXPECT_TRUE(net.ok()) << net.status();
  if (net.ok()) b.net = *net;
  b.services = BuildServices(cfg, b.tmpl, b.net, dhcp::ResolvConf{});
  b.map =
      AddressMapFor(cfg, b.tmpl, b.net, b.services.our_mac, dhcp::ResolvConf{});
  return b;
}

config::Config Cfg() {
  config::Config cfg;
  cfg.dns = {Ip("192.0.2.53")};  // keeps the host's resolv.conf out of it
  return cfg;
}

TEST(LocalMode, BothFamiliesWithoutTemplate) {
  netlink::HostTemplate tmpl;
  tmpl.why_no_v4 = "no IPv4 route on any interface";
  tmpl.why_no_v6 = "no IPv6 route on any interface";
  const config::Config cfg = Cfg();
  Built b = Build(cfg, tmpl);
  ASSERT_TRUE(b.tmpl.v4 && b.tmpl.v6);
  EXPECT_TRUE(b.tmpl.v4->local);
  EXPECT_TRUE(b.tmpl.v6->local);

  // DHCP hands out what --config-net sets: 169.254.2.1/16 via 169.254.2.2.
  ASSERT_TRUE(b.services.dhcp4.has_value());
  EXPECT_EQ(b.services.dhcp4->addr, Ip("169.254.2.1"));
  EXPECT_EQ(b.services.dhcp4->prefix_len, 16);
  EXPECT_EQ(b.services.dhcp4->router, Ip("169.254.2.2"));
  EXPECT_THAT(b.services.dhcp4->dns, ElementsAre(Ip("192.0.2.53")));
  // NDP answers as fe80::1, the IPv6 gateway; no DHCPv6 without an
  // address to give.
  ASSERT_TRUE(b.services.ndp.has_value());
  EXPECT_EQ(b.services.ndp->our_ll, Ip("fe80::1"));
  EXPECT_EQ(b.services.our_ll6, Ip("fe80::1"));
  EXPECT_FALSE(b.services.dhcp6.has_value());
  // No host interface behind it: upstream's fixed MAC.
  EXPECT_EQ(FormatMac(b.services.our_mac), "9a:55:9a:55:9a:55");

  // The gateways stand for the host's loopback.
  EXPECT_EQ(b.map.map_host4, Ip("169.254.2.2"));
  EXPECT_EQ(b.map.map_host6, Ip("fe80::1"));
  EXPECT_EQ(b.map.ns4, Ip("169.254.2.1"));
  EXPECT_EQ(b.map.ns6.family, AF_UNSPEC);  // until the tap's LL is known
  b.net.ns_link_local6 = Ip("fe80::1234");
  EXPECT_EQ(
      AddressMapFor(cfg, b.tmpl, b.net, b.services.our_mac, dhcp::ResolvConf{})
          .ns6,
      Ip("fe80::1234"));
}

TEST(LocalMode, OnlyTheFamilyWithoutTemplate) {
  netlink::HostTemplate tmpl;
  tmpl.v4 = HostV4();
  tmpl.why_no_v6 = "no IPv6 route on any interface";
  Built b = Build(Cfg(), tmpl);
  ASSERT_TRUE(b.tmpl.v4 && b.tmpl.v6);
  EXPECT_FALSE(b.tmpl.v4->local);
  EXPECT_TRUE(b.tmpl.v6->local);
  EXPECT_EQ(b.map.map_host4, Ip("198.51.100.1"));
  EXPECT_EQ(b.map.map_host6, Ip("fe80::1"));
}

TEST(LocalMode, DisabledFamilyStaysOff) {
  netlink::HostTemplate tmpl;
  tmpl.why_no_v4 = "no IPv4 route on any interface";
  tmpl.why_no_v6 = "IPv6 disabled";
  config::Config cfg = Cfg();
  cfg.ipv4_only = true;
  ASSERT_TRUE(UseLocalMode(cfg, &tmpl).ok());
  ASSERT_TRUE(tmpl.v4.has_value());
  EXPECT_TRUE(tmpl.v4->local);
  EXPECT_FALSE(tmpl.v6.has_value());
}

TEST(LocalMode, NoMapGwLeavesTheGatewayUnmapped) {
  netlink::HostTemplate tmpl;
  config::Config cfg = Cfg();
  cfg.no_map_gw = true;
  Built b = Build(cfg, tmpl);
  EXPECT_EQ(b.map.map_host4.family, AF_UNSPEC);
  EXPECT_EQ(b.map.map_host6.family, AF_UNSPEC);
}

TEST(LocalMode, OutboundInterfaceThatIsNotUsableIsAnError) {
  netlink::HostTemplate tmpl;
  tmpl.v4 = HostV4();
  tmpl.why_no_v6 = "interface wlan0 has no global IPv6 address";
  config::Config cfg = Cfg();
  cfg.outbound_if6 = "wlan0";
  const absl::Status st = UseLocalMode(cfg, &tmpl);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "--outbound-if6 wlan0: not usable for IPv6 (interface wlan0 has "
            "no global IPv6 address)");
}

// DNS: the host's resolver on its loopback is reached at the gateway.
TEST(LocalModeDns, LoopbackResolverIsHandedOutAsTheGateway) {
  config::Config cfg;
  netlink::HostTemplate tmpl;
  ASSERT_TRUE(UseLocalMode(cfg, &tmpl).ok());
  absl::StatusOr<netlink::TapConfig> net =
      netlink::BuildTapConfig(tmpl, netlink::Overrides{}, true, true);
  ASSERT_TRUE(net.ok());
  dhcp::ResolvConf resolv;
  resolv.nameservers = {Ip("127.0.0.53"), Ip("::1"), Ip("192.0.2.53")};
  const tap::Services s = BuildServices(cfg, tmpl, *net, resolv);
  ASSERT_TRUE(s.dhcp4.has_value());
  EXPECT_THAT(s.dhcp4->dns, ElementsAre(Ip("169.254.2.2"), Ip("192.0.2.53")));
  const flow::AddressMap m = AddressMapFor(cfg, tmpl, *net, s.our_mac, resolv);
  EXPECT_EQ(m.dns_forward4, Ip("169.254.2.2"));
  EXPECT_EQ(m.dns_target4, Ip("127.0.0.53"));
  EXPECT_EQ(m.dns_forward6, Ip("fe80::1"));
  EXPECT_EQ(m.dns_target6, Ip("::1"));

  // Nothing stands for the host's loopback: the loopback resolver is left
  // out, as before.
  cfg.no_map_gw = true;
  const tap::Services off = BuildServices(cfg, tmpl, *net, resolv);
  ASSERT_TRUE(off.dhcp4.has_value());
  EXPECT_THAT(off.dhcp4->dns, ElementsAre(Ip("192.0.2.53")));
  const flow::AddressMap none =
      AddressMapFor(cfg, tmpl, *net, off.our_mac, resolv);
  EXPECT_EQ(none.dns_forward4.family, AF_UNSPEC);
  EXPECT_EQ(none.dns_forward6.family, AF_UNSPEC);

  // --dns-forward says where DNS goes: the namespace is told that address.
  cfg.no_map_gw = false;
  cfg.dns_forward4 = Ip("169.254.1.1");
  const tap::Services fwd = BuildServices(cfg, tmpl, *net, resolv);
  ASSERT_TRUE(fwd.dhcp4.has_value());
  EXPECT_THAT(fwd.dhcp4->dns, ElementsAre(Ip("169.254.1.1")));
  const flow::AddressMap fm =
      AddressMapFor(cfg, tmpl, *net, fwd.our_mac, resolv);
  EXPECT_EQ(fm.dns_forward4, Ip("169.254.1.1"));
  EXPECT_EQ(fm.dns_target4, Ip("127.0.0.53"));
  EXPECT_EQ(fm.dns_forward6.family, AF_UNSPEC);
}

// The gateway is the host's resolver: DNS to it goes to it, not to the
// host's loopback as other traffic to the gateway does.
TEST(LocalModeDns, ResolverAtTheGatewayIsNotMappedToLoopback) {
  config::Config cfg;
  netlink::HostTemplate tmpl;
  tmpl.v4 = HostV4();
  cfg.ipv4_only = true;
  absl::StatusOr<netlink::TapConfig> net =
      netlink::BuildTapConfig(tmpl, netlink::Overrides{}, true, false);
  ASSERT_TRUE(net.ok());
  dhcp::ResolvConf resolv;
  resolv.nameservers = {Ip("198.51.100.1")};
  const tap::Services s = BuildServices(cfg, tmpl, *net, resolv);
  ASSERT_TRUE(s.dhcp4.has_value());
  EXPECT_THAT(s.dhcp4->dns, ElementsAre(Ip("198.51.100.1")));
  const flow::AddressMap m = AddressMapFor(cfg, tmpl, *net, s.our_mac, resolv);
  EXPECT_EQ(m.map_host4, Ip("198.51.100.1"));
  EXPECT_EQ(m.dns_forward4, Ip("198.51.100.1"));
  EXPECT_EQ(m.dns_target4, Ip("198.51.100.1"));
}

TEST(Ipv6Probe, SocketsFailTurnsIpv6Off) {
  config::Config cfg;
  ASSERT_TRUE(ApplyIpv6Probe(true, &cfg).ok());
  EXPECT_FALSE(cfg.ipv4_only);
  ASSERT_TRUE(ApplyIpv6Probe(false, &cfg).ok());
  EXPECT_TRUE(cfg.ipv4_only);

  // Then local mode leaves IPv6 alone.
  netlink::HostTemplate tmpl;
  ASSERT_TRUE(UseLocalMode(cfg, &tmpl).ok());
  EXPECT_TRUE(tmpl.v4.has_value());
  EXPECT_FALSE(tmpl.v6.has_value());

  config::Config v6;
  v6.ipv6_only = true;
  const absl::Status st = ApplyIpv6Probe(false, &v6);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("-6: IPv6 is not available"));
}

}  // namespace
}  // namespace pasta::app
