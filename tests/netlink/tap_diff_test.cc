// DiffTapConfig: from what the tap has to what it should have, as the
// netlink requests in between (following the host, app/follow.h). No
// namespace: the requests are compared as they are logged, and the one
// new builder (BuildDelRoute) on its bytes.
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "netlink/messages.h"
#include "netlink/netlink.h"
#include "netlink/test_util.h"

namespace pasta::netlink {
namespace {

using ::testing::ElementsAre;
using testing::Ip;
using ::testing::IsEmpty;

Address Addr(const char* ip, uint8_t prefix) {
  Address a;
  a.addr = Ip(ip);
  a.prefix_len = prefix;
  return a;
}

Route Rt(const char* dst, uint8_t len, const char* via = nullptr,
         uint32_t metric = 0) {
  Route r;
  r.dst = Ip(dst);
  r.family = r.dst.family;
  r.dst_len = len;
  if (via) r.gateway = Ip(via);
  r.oif = 2;
  r.priority = metric;
  r.table = RT_TABLE_MAIN;
  r.type = RTN_UNICAST;
  r.protocol = via ? RTPROT_DHCP : RTPROT_KERNEL;
  r.scope = via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  return r;
}

std::vector<std::string> Strings(const std::vector<TapChange>& changes) {
  std::vector<std::string> out;
  for (const TapChange& c : changes) out.push_back(FormatTapChange(c));
  return out;
}

TapConfig Host(const char* addr, const char* gw) {
  TapConfig c;
  c.ifname = "eth0";
  c.mtu = 65520;
  c.addrs = {Addr(addr, 24)};
  c.routes = {Rt("0.0.0.0", 0, gw, 100), Rt("198.51.100.0", 24)};
  return c;
}

// The host's template as ReadHostTemplate would give it, one IPv4 address
// and a default route.
HostTemplate HostTemplateWith(const char* addr, const char* gw) {
  HostTemplate t;
  FamilyTemplate v4;
  v4.link = {2, "eth0", 1500, {}, 0x1043};
  v4.addrs = {Addr(addr, 24)};
  v4.routes = {Rt("0.0.0.0", 0, gw, 100), Rt("198.51.100.0", 24)};
  v4.gateway = Ip(gw);
  t.v4 = v4;
  return t;
}

TEST(DiffTapConfig, NothingChangedNoRequests) {
  EXPECT_THAT(DiffTapConfig(Host("198.51.100.2", "198.51.100.1"),
                            Host("198.51.100.2", "198.51.100.1")),
              IsEmpty());
}

// The kernel drops the routes via 198.51.100.1 with the last address in
// its subnet: they are added again, the subnet's first.
TEST(DiffTapConfig, RenumberedAddress) {
  EXPECT_THAT(
      Strings(DiffTapConfig(Host("198.51.100.2", "198.51.100.1"),
                            Host("198.51.100.3", "198.51.100.1"))),
      ElementsAre("remove address 198.51.100.2/24",
                  "add address 198.51.100.3/24", "add route 198.51.100.0/24",
                  "add route 0.0.0.0/0 via 198.51.100.1"));
}

TEST(DiffTapConfig, NewGatewayIsARemovalAndAnAddition) {
  EXPECT_THAT(Strings(DiffTapConfig(Host("198.51.100.2", "198.51.100.1"),
                                    Host("198.51.100.2", "198.51.100.254"))),
              ElementsAre("remove route 0.0.0.0/0 via 198.51.100.1",
                          "add route 0.0.0.0/0 via 198.51.100.254"));
}

TEST(DiffTapConfig, NewMetricIsARemovalAndAnAddition) {
  TapConfig want = Host("198.51.100.2", "198.51.100.1");
  want.routes[0].priority = 200;
  EXPECT_THAT(
      Strings(DiffTapConfig(Host("198.51.100.2", "198.51.100.1"), want)),
      ElementsAre("remove route 0.0.0.0/0 via 198.51.100.1",
                  "add route 0.0.0.0/0 via 198.51.100.1"));
}

TEST(DiffTapConfig, MtuChange) {
  TapConfig want = Host("198.51.100.2", "198.51.100.1");
  want.mtu = 1500;
  EXPECT_THAT(
      Strings(DiffTapConfig(Host("198.51.100.2", "198.51.100.1"), want)),
      ElementsAre("MTU 1500"));
  want.mtu = 0;  // "leave it": no request
  EXPECT_THAT(DiffTapConfig(Host("198.51.100.2", "198.51.100.1"), want),
              IsEmpty());
}

// Through the same pure steps a re-sync takes: local mode at start-up (the
// host had no route), then the host's interface gets an address and a
// default route, then loses them again.
TEST(DiffTapConfig, LocalModeToHostAndBack) {
  HostTemplate local;
  local.v4 = LocalTemplate(AF_INET);
  local.v6 = LocalTemplate(AF_INET6);
  HostTemplate host = HostTemplateWith("198.51.100.2", "198.51.100.1");
  host.v6 = LocalTemplate(AF_INET6);  // IPv6 stays local
  const Overrides none;
  const TapConfig have = *BuildTapConfig(local, none, true, true);
  const TapConfig want = *BuildTapConfig(host, none, true, true);
  // Removals first, then additions, the direct route before the route via
  // a gateway in it; IPv6's local mode untouched.
  EXPECT_THAT(
      Strings(DiffTapConfig(have, want)),
      ElementsAre("remove route 0.0.0.0/0 via 169.254.2.2",
                  "remove address 169.254.2.1/16",
                  "add address 198.51.100.2/24", "add route 198.51.100.0/24",
                  "add route 0.0.0.0/0 via 198.51.100.1"));
  EXPECT_THAT(Strings(DiffTapConfig(want, have)),
              ElementsAre("remove route 0.0.0.0/0 via 198.51.100.1",
                          "remove route 198.51.100.0/24",
                          "remove address 198.51.100.2/24",
                          "add address 169.254.2.1/16",
                          "add route 0.0.0.0/0 via 169.254.2.2"));
}

TEST(DiffTapConfig, Ipv6PrefixChange) {
  TapConfig have, want;
  have.addrs = {Addr("2001:db8:1::2", 64)};
  have.routes = {Rt("::", 0, "fe80::1", 1024), Rt("2001:db8:1::", 64)};
  want.addrs = {Addr("2001:db8:2::2", 64)};
  want.routes = {Rt("::", 0, "fe80::1", 1024), Rt("2001:db8:2::", 64)};
  EXPECT_THAT(
      Strings(DiffTapConfig(have, want)),
      ElementsAre("remove route 2001:db8:1::/64",
                  "remove address 2001:db8:1::2/64",
                  "add address 2001:db8:2::2/64", "add route 2001:db8:2::/64",
                  "add route ::/0 via fe80::1"));
}

TEST(BuildDelRoute, SameAttributesAsNewRouteWithoutCreate) {
  const Route r = Rt("0.0.0.0", 0, "198.51.100.1", 100);
  alignas(nlmsghdr) uint8_t add[kMsgBufSize];
  alignas(nlmsghdr) uint8_t del[kMsgBufSize];
  const size_t add_len = BuildNewRoute(r, absl::MakeSpan(add));
  const size_t del_len = BuildDelRoute(r, absl::MakeSpan(del));
  ASSERT_GT(add_len, sizeof(nlmsghdr));
  ASSERT_EQ(del_len, add_len);
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(del);
  EXPECT_EQ(nlh->nlmsg_type, RTM_DELROUTE);
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  // Everything after the header (rtmsg and attributes) is the same.
  EXPECT_EQ(std::vector<uint8_t>(add + sizeof(nlmsghdr), add + add_len),
            std::vector<uint8_t>(del + sizeof(nlmsghdr), del + del_len));
  Route bad = r;
  bad.family = AF_UNSPEC;
  EXPECT_EQ(BuildDelRoute(bad, absl::MakeSpan(del)), 0u);
}

}  // namespace
}  // namespace pasta::netlink
