// DescribeHostChange and DescribeResolvChange: the --debug lines a re-sync
// writes when the host's network or resolvers changed (app/follow.h).
#include "app/follow.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "netlink/netlink.h"

namespace pasta::app {
namespace {

netlink::FamilyTemplate Eth0(const char* addr, const char* gw) {
  netlink::FamilyTemplate t;
  t.link.index = 2;
  t.link.name = "eth0";
  netlink::Address a;
  a.addr = *ParseIp(addr);
  a.prefix_len = 24;
  a.scope = RT_SCOPE_UNIVERSE;
  t.addrs = {a};
  if (gw != nullptr) t.gateway = *ParseIp(gw);
  return t;
}

TEST(DescribeHostChange, NothingChanged) {
  const netlink::FamilyTemplate a = Eth0("198.51.100.2", "198.51.100.1");
  EXPECT_EQ(DescribeHostChange(AF_INET, &a, &a), "");
  const netlink::FamilyTemplate local = netlink::LocalTemplate(AF_INET);
  EXPECT_EQ(DescribeHostChange(AF_INET, &local, &local), "");
}

TEST(DescribeHostChange, ToLocalMode) {
  const netlink::FamilyTemplate a = Eth0("198.51.100.2", "198.51.100.1");
  const netlink::FamilyTemplate local = netlink::LocalTemplate(AF_INET);
  EXPECT_EQ(DescribeHostChange(AF_INET, &a, &local),
            "IPv4 default route via 198.51.100.1 on eth0 removed, address "
            "198.51.100.2/24 on eth0 removed; namespace: local mode");
  EXPECT_EQ(DescribeHostChange(AF_INET, &local, &a),
            "IPv4 default route via 198.51.100.1 on eth0 added, address "
            "198.51.100.2/24 on eth0 added; namespace: the host's eth0");
}

TEST(DescribeHostChange, Renumbered) {
  const netlink::FamilyTemplate a = Eth0("198.51.100.2", "198.51.100.1");
  const netlink::FamilyTemplate b = Eth0("198.51.100.3", "198.51.100.1");
  EXPECT_EQ(DescribeHostChange(AF_INET, &a, &b),
            "IPv4 address 198.51.100.2/24 on eth0 removed, address "
            "198.51.100.3/24 on eth0 added; namespace: the host's eth0");
}

TEST(DescribeHostChange, FamilyGone) {
  const netlink::FamilyTemplate a = Eth0("2001:db8::2", nullptr);
  EXPECT_EQ(DescribeHostChange(AF_INET6, &a, nullptr),
            "IPv6 address 2001:db8::2/24 on eth0 removed; namespace: off");
}

dhcp::ResolvConf Resolv(std::vector<const char*> servers,
                        std::vector<std::string> search) {
  dhcp::ResolvConf r;
  for (const char* s : servers) r.nameservers.push_back(*ParseIp(s));
  r.search = std::move(search);
  return r;
}

TEST(DescribeResolvChange, SameIsSilent) {
  EXPECT_EQ(DescribeResolvChange(Resolv({"192.0.2.1"}, {"a.test"}),
                                 Resolv({"192.0.2.1"}, {"a.test"})),
            "");
  EXPECT_EQ(DescribeResolvChange({}, {}), "");
}

TEST(DescribeResolvChange, Nameservers) {
  EXPECT_EQ(
      DescribeResolvChange(Resolv({"192.0.2.1"}, {"a.test"}),
                           Resolv({"192.0.2.2", "2001:db8::53"}, {"a.test"})),
      "resolv.conf: nameservers 192.0.2.2, 2001:db8::53 (were "
      "192.0.2.1)");
  EXPECT_EQ(DescribeResolvChange(Resolv({"192.0.2.1"}, {}), Resolv({}, {})),
            "resolv.conf: nameservers none (were 192.0.2.1)");
}

TEST(DescribeResolvChange, SearchToo) {
  EXPECT_EQ(DescribeResolvChange(Resolv({"192.0.2.1"}, {}),
                                 Resolv({"192.0.2.9"}, {"a.test", "b.test"})),
            "resolv.conf: nameservers 192.0.2.9 (were 192.0.2.1), search "
            "a.test b.test (was none)");
}

}  // namespace
}  // namespace pasta::app
