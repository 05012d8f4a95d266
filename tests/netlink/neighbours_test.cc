// Neighbour messages (RTM_NEWNEIGH / RTM_DELNEIGH) and the notification
// walker, on literal bytes (little-endian hosts, as the captures).
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "netlink/events.h"
#include "netlink/messages.h"

namespace pasta::netlink {
namespace {

// 198.51.100.1 is at 02:00:5e:10:00:01 on interface 3, REACHABLE, as
// `ip monitor neigh` would report it.
const std::vector<uint8_t> kNewNeigh4 = {
    0x38, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00,  // len 56, RTM_NEWNEIGH
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // seq 0, port 0
    0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,  // AF_INET, ifindex 3
    0x02, 0x00, 0x00, 0x01,                          // REACHABLE, flags, type
    0x08, 0x00, 0x01, 0x00, 0xc6, 0x33, 0x64, 0x01,  // NDA_DST 198.51.100.1
    0x0a, 0x00, 0x02, 0x00, 0x02, 0x00, 0x5e, 0x10,  // NDA_LLADDR
    0x00, 0x01, 0x00, 0x00,                          //   (padded)
    0x08, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00,  // NDA_PROBES 1
};

// 2001:db8:1::1 deleted from interface 3 (no link-layer address).
const std::vector<uint8_t> kDelNeigh6 = {
    0x30, 0x00, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x00,  // len 48, RTM_DELNEIGH
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
    0x0a, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,  // AF_INET6, ifindex 3
    0x20, 0x00, 0x00, 0x01,                          // FAILED
    0x14, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8,  // NDA_DST
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
    0x00, 0x00, 0x00, 0x01,                          // 2001:db8:1::1
};

const nlmsghdr* Hdr(const std::vector<uint8_t>& v) {
  return reinterpret_cast<const nlmsghdr*>(v.data());
}

TEST(ParseNeighbour, NewIpv4Entry) {
  std::vector<uint8_t> msg = kNewNeigh4;
  const auto n = ParseNeighbour(Hdr(msg));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->addr, *ParseIp("198.51.100.1"));
  ASSERT_TRUE(n->has_mac);
  EXPECT_EQ(n->mac, *ParseMac("02:00:5e:10:00:01"));
  EXPECT_EQ(n->ifindex, 3);
  EXPECT_EQ(n->state, NUD_REACHABLE);
  EXPECT_FALSE(n->deleted);
  EXPECT_TRUE(n->Usable());
}

TEST(ParseNeighbour, StatesThatMakeAnEntryUnusable) {
  std::vector<uint8_t> msg = kNewNeigh4;
  for (uint16_t state : {NUD_STALE, NUD_DELAY, NUD_PROBE, NUD_PERMANENT}) {
    msg[24] = static_cast<uint8_t>(state);
    EXPECT_TRUE(ParseNeighbour(Hdr(msg))->Usable()) << state;
  }
  for (uint16_t state : {NUD_INCOMPLETE, NUD_FAILED, NUD_NONE}) {
    msg[24] = static_cast<uint8_t>(state);
    EXPECT_FALSE(ParseNeighbour(Hdr(msg))->Usable()) << state;
  }
  msg[24] = NUD_REACHABLE;
  msg[26] = NTF_PROXY;
  EXPECT_FALSE(ParseNeighbour(Hdr(msg))->Usable());
}

TEST(ParseNeighbour, DeletedIpv6Entry) {
  const auto n = ParseNeighbour(Hdr(kDelNeigh6));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->addr, *ParseIp("2001:db8:1::1"));
  EXPECT_TRUE(n->deleted);
  EXPECT_FALSE(n->has_mac);
  EXPECT_FALSE(n->Usable());
}

TEST(ParseNeighbour, RejectsMalformed) {
  // A link-layer address of another length is no MAC.
  std::vector<uint8_t> msg = kNewNeigh4;
  msg[36] = 0x09;  // NDA_LLADDR of 5 bytes
  auto n = ParseNeighbour(Hdr(msg));
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->has_mac);
  EXPECT_FALSE(n->Usable());
  // A destination of the wrong size: no address, no entry.
  msg = kNewNeigh4;
  msg[28] = 0x07;  // NDA_DST of 3 bytes
  EXPECT_FALSE(ParseNeighbour(Hdr(msg)));
  // Other families, other types, a message shorter than its header.
  msg = kNewNeigh4;
  msg[16] = 7;  // AF_BRIDGE
  EXPECT_FALSE(ParseNeighbour(Hdr(msg)));
  msg = kNewNeigh4;
  msg[4] = RTM_NEWROUTE;
  EXPECT_FALSE(ParseNeighbour(Hdr(msg)));
  msg = kNewNeigh4;
  msg[0] = 20;
  EXPECT_FALSE(ParseNeighbour(Hdr(msg)));
}

TEST(BuildGetNeighbours, DumpRequest) {
  alignas(nlmsghdr) uint8_t buf[64];
  ASSERT_EQ(BuildGetNeighbours(AF_INET6, 3, absl::MakeSpan(buf)), 36u);
  // The header names no interface (strict checking refuses one there).
  const std::vector<uint8_t> expected = {
      0x24, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x01, 0x03,  // RTM_GETNEIGH, dump
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
      0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // AF_INET6, ifindex 0
      0x00, 0x00, 0x00, 0x00,                          //
      0x08, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00,  // NDA_IFINDEX 3
  };
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + 36), expected);
  EXPECT_EQ(BuildGetNeighbours(AF_INET, 0, absl::MakeSpan(buf)), 28u);
  EXPECT_EQ(BuildGetNeighbours(AF_INET, 0, absl::MakeSpan(buf, 20)), 0u);
  EXPECT_EQ(BuildGetNeighbours(AF_INET, 3, absl::MakeSpan(buf, 30)), 0u);
}

TEST(WalkNotifications, EveryDataMessageThenTrailingBytes) {
  std::vector<uint8_t> datagram = kNewNeigh4;
  datagram.insert(datagram.end(), kDelNeigh6.begin(), kDelNeigh6.end());
  int seen = 0;
  EXPECT_TRUE(WalkNotifications(datagram, [&](const nlmsghdr* nlh) {
    ++seen;
    EXPECT_TRUE(ParseNeighbour(nlh));
  }));
  EXPECT_EQ(seen, 2);
  datagram.push_back(0);
  seen = 0;
  EXPECT_FALSE(WalkNotifications(datagram, [&](const nlmsghdr*) { ++seen; }));
  EXPECT_EQ(seen, 2);
  // A length running past the end: nothing handed out.
  std::vector<uint8_t> bad = kNewNeigh4;
  bad[0] = 0xff;
  seen = 0;
  EXPECT_FALSE(WalkNotifications(bad, [&](const nlmsghdr*) { ++seen; }));
  EXPECT_EQ(seen, 0);
}

}  // namespace
}  // namespace pasta::netlink
