// Integration: ReadHostTemplate and ConfigureTap against the real kernel, in
// network namespaces the test makes (a thread unshares CLONE_NEWNET, so the
// namespace dies with the thread; nothing outside it is touched). Needs root
// and iproute2; skips cleanly otherwise. Run with strict checking on and off:
// off, this kernel answers dumps like 4.19 (every table, every interface).
//
// "Host" namespace: h0 (template, carrier through its up peer p0) and d0 (a
// veth whose peer is down: NO-CARRIER, link-down routes, the local-table
// broadcast route with RTNH_F_LINKDOWN). "Target" namespace: t0 stands in for
// the tap (its peer t1 up).
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "netlink/netlink.h"
#include "netlink/test_util.h"

namespace pasta::netlink {
namespace {

using ::testing::HasSubstr;
using testing::Ip;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAre;

ino_t NetnsInode() {
  struct stat st {};
  if (stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

bool HaveIp() {
  return access("/usr/sbin/ip", X_OK) == 0 || access("/sbin/ip", X_OK) == 0 ||
         access("/usr/bin/ip", X_OK) == 0 || access("/bin/ip", X_OK) == 0;
}

// Runs `fn` on a thread moved into a fresh network namespace. Returns false
// (without running it) if the namespace can't be made.
bool InNewNetns(const std::function<void()>& fn) {
  bool ran = false;
  std::thread t([&] {
    const ino_t before = NetnsInode();
    if (unshare(CLONE_NEWNET) != 0) return;
    // Belt and braces: never configure anything outside a new namespace.
    if (before == 0 || NetnsInode() == before) return;
    ran = true;
    fn();
  });
  t.join();
  return ran;
}

// Moves the calling (namespaced) thread into another fresh namespace.
void NextNetns() {
  const ino_t before = NetnsInode();
  ASSERT_EQ(unshare(CLONE_NEWNET), 0);
  ASSERT_NE(NetnsInode(), before);
}

void Sh(const std::string& cmd) {
  ASSERT_EQ(std::system((cmd + " 2>&1").c_str()), 0) << cmd;
}

void MakeHost(bool with_v6 = true) {
  Sh("ip link set lo up");
  Sh("ip link add h0 type veth peer name p0");
  Sh("ip link set h0 address 02:00:00:00:00:10 mtu 1500");
  Sh("ip link set p0 up");
  Sh("ip link set h0 up");
  Sh("ip link add d0 type veth peer name d1");
  Sh("ip link set d0 up");
  // Until the kernel's link watcher has run (up to a second after the veth
  // is made), d0 counts as running (operstate "unknown") and the prefix
  // route its address adds below is not flagged link-down: seen on 6.1 on
  // the emulated arm64 machine. Wait for NO-CARRIER, bounded at 5 s.
  Sh("for i in $(seq 50); do ip link show d0 | grep -q NO-CARRIER && exit 0; "
     "sleep 0.1; done; echo d0 never lost its carrier; exit 1");
  Sh("ip addr add 192.0.2.10/24 dev h0");
  Sh("ip addr add 203.0.113.5/24 dev d0");
  Sh("ip route add default via 192.0.2.1 dev h0 metric 100");
  Sh("ip route add default via 203.0.113.1 dev d0 metric 50");
  Sh("ip route add 198.51.100.0/24 via 192.0.2.254 dev h0 metric 5");
  Sh("ip route add 10.9.0.0/16 via 203.0.113.1 dev d0");
  Sh("ip route add 10.7.0.0/16 nexthop via 192.0.2.2 dev h0 "
     "nexthop via 203.0.113.2 dev d0");
  Sh("ip route add 10.8.0.0/16 nexthop via 192.0.2.3 dev h0 "
     "nexthop via 192.0.2.4 dev h0 weight 2");
  Sh("ip route add 10.6.0.0/16 via 192.0.2.1 dev h0 table 100");
  if (!with_v6) return;
  Sh("ip addr add 2001:db8::10/64 dev h0 nodad");
  Sh("ip -6 route add default via fe80::1 dev h0");
  Sh("ip -6 route add 2001:db8:5::/48 via 2001:db8::1 dev h0");
  Sh("ip -6 route add 2001:db8:6::/48 via 2001:db8::1 dev h0 table 100");
}

std::vector<std::string> Strings(const std::vector<Route>& routes) {
  std::vector<std::string> out;
  for (const Route& r : routes) out.push_back(FormatRoute(r));
  return out;
}

std::vector<std::string> Strings(const std::vector<Address>& addrs) {
  std::vector<std::string> out;
  for (const Address& a : addrs)
    out.push_back(FormatIp(a.addr) + "/" + std::to_string(a.prefix_len));
  return out;
}

const char* const kTemplateRoutes4[] = {
    "0.0.0.0/0 via 192.0.2.1", "10.7.0.0/16 via 192.0.2.2",
    "10.8.0.0/16 nexthop via 192.0.2.3 nexthop via 192.0.2.4", "192.0.2.0/24",
    "198.51.100.0/24 via 192.0.2.254"};

class NetnsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    if (!HaveIp()) GTEST_SKIP() << "needs iproute2";
  }
  bool strict() const { return GetParam(); }
};

TEST_P(NetnsTest, ReadHostTemplateFiltersLikeANewKernel) {
  ASSERT_TRUE(InNewNetns([&] {
    MakeHost();
    if (::testing::Test::HasFatalFailure()) return;
    TemplateRequest req;
    req.strict_check = strict();
    absl::StatusOr<HostTemplate> t = ReadHostTemplate(req);
    ASSERT_TRUE(t.ok()) << t.status();

    ASSERT_TRUE(t->v4.has_value()) << t->why_no_v4;
    const FamilyTemplate& v4 = *t->v4;
    EXPECT_EQ(v4.link.name, "h0");  // d0's default has the lower metric, but
                                    // no carrier
    EXPECT_EQ(v4.link.index, static_cast<int>(if_nametoindex("h0")));
    EXPECT_EQ(v4.link.mtu, 1500u);
    EXPECT_EQ(FormatMac(v4.link.mac), "02:00:00:00:00:10");
    EXPECT_THAT(Strings(v4.addrs), UnorderedElementsAre("192.0.2.10/24"));
    EXPECT_THAT(Strings(v4.routes),
                ::testing::UnorderedElementsAreArray(kTemplateRoutes4));
    EXPECT_EQ(v4.gateway, Ip("192.0.2.1"));

    ASSERT_TRUE(t->v6.has_value()) << t->why_no_v6;
    const FamilyTemplate& v6 = *t->v6;
    EXPECT_EQ(v6.link.name, "h0");
    EXPECT_THAT(Strings(v6.addrs), ::testing::Contains("2001:db8::10/64"));
    EXPECT_THAT(Strings(v6.routes),
                IsSupersetOf({"::/0 via fe80::1", "2001:db8::/64",
                              "2001:db8:5::/48 via 2001:db8::1"}));
    for (const Route& r : v6.routes) {
      EXPECT_EQ(r.table, static_cast<uint32_t>(RT_TABLE_MAIN));
      EXPECT_EQ(r.oif, v6.link.index);
    }
    EXPECT_EQ(v6.gateway, Ip("fe80::1"));
  }));
}

TEST_P(NetnsTest, NamedInterfaces) {
  ASSERT_TRUE(InNewNetns([&] {
    MakeHost(/*with_v6=*/false);
    if (::testing::Test::HasFatalFailure()) return;
    TemplateRequest req;
    req.strict_check = strict();
    req.ifname4 = "d0";  // link down: address yes, routes none
    absl::StatusOr<HostTemplate> t = ReadHostTemplate(req);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE(t->v4.has_value()) << t->why_no_v4;
    EXPECT_EQ(t->v4->link.name, "d0");
    EXPECT_THAT(Strings(t->v4->addrs), UnorderedElementsAre("203.0.113.5/24"));
    EXPECT_THAT(Strings(t->v4->routes), ::testing::IsEmpty());
    EXPECT_EQ(t->v4->gateway.family, AF_UNSPEC);
    EXPECT_FALSE(t->v6.has_value());
    EXPECT_EQ(t->why_no_v6, "no IPv6 route on any interface");

    req.ifname6 = "h0";  // exists, but only a link-local IPv6 address
    t = ReadHostTemplate(req);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_FALSE(t->v6.has_value());
    EXPECT_EQ(t->why_no_v6, "interface h0 has no global IPv6 address");

    req.ifname4 = "nosuchif";
    t = ReadHostTemplate(req);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(t.status().message(), "interface nosuchif: no such interface");

    req = {};
    req.want6 = false;
    req.strict_check = strict();
    t = ReadHostTemplate(req);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(t->v4.has_value());
    EXPECT_EQ(t->why_no_v6, "IPv6 disabled");
  }));
}

TEST_P(NetnsTest, ConfigureTapCopiesTheTemplate) {
  ASSERT_TRUE(InNewNetns([&] {
    MakeHost();
    if (::testing::Test::HasFatalFailure()) return;
    TemplateRequest req;
    req.strict_check = strict();
    absl::StatusOr<HostTemplate> t = ReadHostTemplate(req);
    ASSERT_TRUE(t.ok()) << t.status();
    absl::StatusOr<TapConfig> cfg = BuildTapConfig(*t, {}, true, true);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    cfg->ifname = "t0";
    cfg->mtu = 65520;
    cfg->mac = *ParseMac("02:00:00:00:00:99");
    cfg->strict_check = strict();

    NextNetns();  // the target namespace
    if (::testing::Test::HasFatalFailure()) return;
    Sh("ip link add t0 type veth peer name t1");
    Sh("ip link set t1 up");
    if (::testing::Test::HasFatalFailure()) return;

    absl::Status s = ConfigureTap(*cfg);
    ASSERT_TRUE(s.ok()) << s;

    absl::StatusOr<LinkInfo> link = GetLink("t0", strict());
    ASSERT_TRUE(link.ok()) << link.status();
    EXPECT_EQ(link->mtu, 65520u);
    EXPECT_EQ(FormatMac(link->mac), "02:00:00:00:00:99");
    EXPECT_TRUE(link->flags & IFF_UP);

    absl::StatusOr<std::vector<Address>> addrs =
        DumpAddrs(AF_UNSPEC, link->index, strict());
    ASSERT_TRUE(addrs.ok()) << addrs.status();
    EXPECT_THAT(Strings(*addrs),
                IsSupersetOf({"192.0.2.10/24", "2001:db8::10/64"}));
    for (const Address& a : *addrs) {
      if (a.addr == Ip("2001:db8::10")) {
        EXPECT_TRUE(a.flags & IFA_F_NODAD);
        EXPECT_FALSE(a.flags & IFA_F_TENTATIVE);
      }
    }

    absl::StatusOr<std::vector<Route>> r4 =
        DumpRoutes(AF_INET, link->index, strict());
    ASSERT_TRUE(r4.ok()) << r4.status();
    EXPECT_THAT(Strings(*r4),
                ::testing::UnorderedElementsAreArray(kTemplateRoutes4));
    absl::StatusOr<std::vector<Route>> r6 =
        DumpRoutes(AF_INET6, link->index, strict());
    ASSERT_TRUE(r6.ok()) << r6.status();
    EXPECT_THAT(Strings(*r6),
                IsSupersetOf({"::/0 via fe80::1", "2001:db8::/64",
                              "2001:db8:5::/48 via 2001:db8::1"}));

    // Again: everything exists already, which is fine.
    s = ConfigureTap(*cfg);
    EXPECT_TRUE(s.ok()) << s;
  }));
}

TEST_P(NetnsTest, ConfigureTapRetriesRoutesInPasses) {
  ASSERT_TRUE(InNewNetns([&] {
    Sh("ip link add t0 type veth peer name t1");
    Sh("ip link set t1 up");
    if (::testing::Test::HasFatalFailure()) return;
    TapConfig cfg;
    cfg.ifname = "t0";
    cfg.strict_check = strict();
    Address a;
    a.addr = Ip("10.0.2.15");
    a.prefix_len = 24;
    cfg.addrs = {a};
    // The default route needs 192.0.2.0/24, which needs nothing; the
    // 198.51.100.0/24 route needs the other two. Worst order first.
    Route via2;
    via2.family = AF_INET;
    via2.dst = Ip("198.51.100.0");
    via2.dst_len = 24;
    via2.gateway = Ip("192.0.2.77");
    via2.table = RT_TABLE_MAIN;
    via2.type = RTN_UNICAST;
    via2.protocol = RTPROT_BOOT;
    Route def = via2;
    def.dst = Ip("0.0.0.0");
    def.dst_len = 0;
    def.gateway = Ip("192.0.2.1");
    Route subnet = via2;
    subnet.dst = Ip("192.0.2.0");
    subnet.gateway = IpAddr{};
    subnet.scope = RT_SCOPE_LINK;
    cfg.routes = {via2, def, subnet};
    absl::Status s = ConfigureTap(cfg);
    ASSERT_TRUE(s.ok()) << s;
    absl::StatusOr<std::vector<Route>> r4 =
        DumpRoutes(AF_INET, static_cast<int>(if_nametoindex("t0")), strict());
    ASSERT_TRUE(r4.ok()) << r4.status();
    EXPECT_THAT(Strings(*r4),
                IsSupersetOf({"0.0.0.0/0 via 192.0.2.1", "192.0.2.0/24",
                              "198.51.100.0/24 via 192.0.2.77"}));
  }));
}

TEST_P(NetnsTest, ConfigureTapReportsTheFailingRoute) {
  ASSERT_TRUE(InNewNetns([&] {
    Sh("ip link add t0 type veth peer name t1");
    if (::testing::Test::HasFatalFailure()) return;
    TapConfig cfg;
    cfg.ifname = "t0";
    cfg.strict_check = strict();
    Route r;
    r.family = AF_INET;
    r.dst = Ip("10.1.0.0");
    r.dst_len = 16;
    r.gateway = Ip("203.0.113.99");
    r.table = RT_TABLE_MAIN;
    r.type = RTN_UNICAST;
    cfg.routes = {r};
    absl::Status s = ConfigureTap(cfg);
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr("route 10.1.0.0/16 via 203.0.113.99: "
                                       "Network is unreachable"));

    cfg.ifname = "nosuchif";
    s = ConfigureTap(cfg);
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  }));
}

// Local mode on a tap with its descriptor open (carrier on, as pasta's):
// 169.254.2.1/16 and both default routes; with ll_nodad the kernel's
// link-local address is usable at once (not tentative, IFA_F_NODAD), and
// the address is read back.
TEST_P(NetnsTest, ConfigureTapLocalModeWithUsableLinkLocal) {
  ASSERT_TRUE(InNewNetns([&] {
    const int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ASSERT_GE(tun, 0) << strerror(errno);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "t0", IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    ASSERT_EQ(ioctl(tun, TUNSETIFF, &ifr), 0) << strerror(errno);
    HostTemplate t;
    t.v4 = LocalTemplate(AF_INET);
    t.v6 = LocalTemplate(AF_INET6);
    absl::StatusOr<TapConfig> cfg = BuildTapConfig(t, {}, true, true);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    cfg->ifname = "t0";
    cfg->strict_check = strict();
    cfg->ll_nodad = true;
    IpAddr ll;
    absl::Status s = ConfigureTap(*cfg, &ll);
    ASSERT_TRUE(s.ok()) << s;

    absl::StatusOr<LinkInfo> link = GetLink("t0", strict());
    ASSERT_TRUE(link.ok()) << link.status();
    EXPECT_TRUE(link->flags & IFF_UP);
    absl::StatusOr<std::vector<Address>> addrs =
        DumpAddrs(AF_UNSPEC, link->index, strict());
    ASSERT_TRUE(addrs.ok()) << addrs.status();
    EXPECT_THAT(Strings(*addrs), ::testing::Contains("169.254.2.1/16"));
    bool saw_ll = false;
    for (const Address& a : *addrs) {
      if (a.scope != RT_SCOPE_LINK || !a.addr.IsV6()) continue;
      saw_ll = true;
      EXPECT_EQ(a.addr, ll);
      EXPECT_TRUE(a.flags & IFA_F_NODAD) << FormatIp(a.addr);
      EXPECT_FALSE(a.flags & IFA_F_TENTATIVE) << FormatIp(a.addr);
    }
    EXPECT_TRUE(saw_ll);
    absl::StatusOr<std::vector<Route>> r4 =
        DumpRoutes(AF_INET, link->index, strict());
    ASSERT_TRUE(r4.ok()) << r4.status();
    EXPECT_THAT(Strings(*r4),
                IsSupersetOf({"0.0.0.0/0 via 169.254.2.2", "169.254.0.0/16"}));
    absl::StatusOr<std::vector<Route>> r6 =
        DumpRoutes(AF_INET6, link->index, strict());
    ASSERT_TRUE(r6.ok()) << r6.status();
    EXPECT_THAT(Strings(*r6), ::testing::Contains("::/0 via fe80::1"));
    close(tun);
  }));
}

INSTANTIATE_TEST_SUITE_P(StrictCheck, NetnsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Strict" : "Legacy";
                         });

}  // namespace
}  // namespace pasta::netlink
