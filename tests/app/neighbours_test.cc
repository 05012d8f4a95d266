// Which of the host's neighbours the namespace sees with their own MAC
// (app/neighbours.h): ApplyNeighbour on parsed entries.
#include "app/neighbours.h"

#include <linux/neighbour.h>

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

}  // namespace
}  // namespace pasta::app
