// Which of the host's neighbours the namespace sees with their own MAC
// (app/neighbours.h): ApplyNeighbour on parsed entries, NeighbourFilterFor
// as a re-sync computes it.
#include "app/neighbours.h"

#include <linux/neighbour.h>

#include <vector>

#include "gtest/gtest.h"

namespace pasta::app {
namespace {

using Change = ndp::NeighbourTable::Change;

netlink::Neighbour Entry(const char* ip, const char* mac, int ifindex = 3,
                         uint16_t state = NUD_REACHABLE) {
  netlink::Neighbour n;
  n.addr = *ParseIp(ip);
  n.mac = *ParseMac(mac);
  n.has_mac = true;
  n.ifindex = ifindex;
  n.state = state;
  return n;
}

NeighbourFilter Filter() {
  NeighbourFilter f;
  f.ifindex4 = 3;
  f.ifindex6 = 4;
  f.excluded = {*ParseIp("198.51.100.2"), *ParseIp("198.51.100.254")};
  return f;
}

TEST(ApplyNeighbour, AddChangeStaleAndGone) {
  ndp::NeighbourTable t;
  const NeighbourFilter f = Filter();
  EXPECT_EQ(ApplyNeighbour(f, Entry("198.51.100.1", "02:00:00:00:00:01"), t),
            Change::kAdded);
  EXPECT_EQ(ApplyNeighbour(f, Entry("198.51.100.1", "02:00:00:00:00:01"), t),
            Change::kNone);
  // STALE keeps the entry (the MAC is still the best known).
  EXPECT_EQ(ApplyNeighbour(
                f, Entry("198.51.100.1", "02:00:00:00:00:01", 3, NUD_STALE), t),
            Change::kNone);
  EXPECT_EQ(ApplyNeighbour(f, Entry("198.51.100.1", "02:00:00:00:00:02"), t),
            Change::kChanged);
  EXPECT_EQ(*t.Find(*ParseIp("198.51.100.1")), *ParseMac("02:00:00:00:00:02"));
  // FAILED: forgotten, our MAC again.
  EXPECT_EQ(
      ApplyNeighbour(
          f, Entry("198.51.100.1", "02:00:00:00:00:02", 3, NUD_FAILED), t),
      Change::kNone);
  EXPECT_EQ(t.Find(*ParseIp("198.51.100.1")), nullptr);
  ApplyNeighbour(f, Entry("198.51.100.1", "02:00:00:00:00:02"), t);
  netlink::Neighbour del = Entry("198.51.100.1", "02:00:00:00:00:02");
  del.deleted = true;
  ApplyNeighbour(f, del, t);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ApplyNeighbour, OnlyTheTemplateInterfaceAndSharedAddresses) {
  ndp::NeighbourTable t;
  const NeighbourFilter f = Filter();
  // Other interface (IPv4's template is 3, IPv6's is 4).
  EXPECT_EQ(ApplyNeighbour(f, Entry("198.51.100.1", "02:00:00:00:00:01", 4), t),
            Change::kNone);
  EXPECT_EQ(ApplyNeighbour(f, Entry("2001:db8::1", "02:00:00:00:00:01", 3), t),
            Change::kNone);
  EXPECT_EQ(ApplyNeighbour(f, Entry("2001:db8::1", "02:00:00:00:00:01", 4), t),
            Change::kAdded);
  // Addresses that stay ours, and ones the namespace can't share.
  for (const char* ip : {"198.51.100.2", "198.51.100.254", "0.0.0.0",
                         "127.0.0.1", "224.0.0.251"}) {
    EXPECT_EQ(ApplyNeighbour(f, Entry(ip, "02:00:00:00:00:01"), t),
              Change::kNone)
        << ip;
  }
  for (const char* ip : {"::", "::1", "ff02::fb"}) {
    EXPECT_EQ(ApplyNeighbour(f, Entry(ip, "02:00:00:00:00:01", 4), t),
              Change::kNone)
        << ip;
  }
  EXPECT_EQ(t.size(), 1u);
  // A family not followed.
  NeighbourFilter only4 = f;
  only4.ifindex6 = 0;
  EXPECT_EQ(
      ApplyNeighbour(only4, Entry("2001:db8::2", "02:00:00:00:00:01", 4), t),
      Change::kNone);
}

netlink::FamilyTemplate Template(int ifindex, const char* addr, bool local) {
  netlink::FamilyTemplate t;
  t.link.index = ifindex;
  t.local = local;
  netlink::Address a;
  a.addr = *ParseIp(addr);
  a.prefix_len = 24;
  t.addrs = {a};
  return t;
}

TEST(NeighbourFilterFor, FollowsTheTemplateInterfaces) {
  netlink::HostTemplate tmpl;
  tmpl.v4 = Template(3, "198.51.100.2", false);
  tmpl.v6 = Template(4, "2001:db8::2", false);
  netlink::TapConfig net;
  net.addrs = tmpl.v4->addrs;
  flow::AddressMap map;
  map.map_host4 = *ParseIp("198.51.100.1");
  map.map_guest4 = *ParseIp("203.0.113.77");
  NeighbourFilter f = NeighbourFilterFor(true, true, tmpl, net, map);
  EXPECT_EQ(f.ifindex4, 3);
  EXPECT_EQ(f.ifindex6, 4);
  EXPECT_EQ(f.excluded, (std::vector<IpAddr>{*ParseIp("198.51.100.1"),
                                             *ParseIp("203.0.113.77"),
                                             *ParseIp("198.51.100.2")}));

  // The default route moved to interface 7: its neighbours, not 3's.
  tmpl.v4 = Template(7, "192.0.2.2", false);
  const NeighbourFilter g = NeighbourFilterFor(true, true, tmpl, net, map);
  EXPECT_EQ(g.ifindex4, 7);
  EXPECT_FALSE(g == f);
  ndp::NeighbourTable t;
  EXPECT_EQ(ApplyNeighbour(g, Entry("192.0.2.1", "02:00:00:00:00:07", 7), t),
            Change::kAdded);
  EXPECT_EQ(ApplyNeighbour(g, Entry("198.51.100.9", "02:00:00:00:00:03", 3), t),
            Change::kNone);
  EXPECT_EQ(t.size(), 1u);

  // Local mode, or ARP/NDP not answered: nothing followed.
  tmpl.v4 = Template(0, "169.254.2.1", true);
  EXPECT_EQ(NeighbourFilterFor(true, true, tmpl, net, map).ifindex4, 0);
  EXPECT_EQ(NeighbourFilterFor(true, false, tmpl, net, map).ifindex6, 0);
  EXPECT_EQ(NeighbourFilterFor(false, false, tmpl, net, map),
            NeighbourFilter{});
}

}  // namespace
}  // namespace pasta::app
