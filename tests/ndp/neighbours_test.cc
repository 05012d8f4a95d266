// The neighbour table and the responders answering a host's LAN neighbour
// with its own MAC; the announcements of a changed MAC.
#include "ndp/neighbours.h"

#include <array>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "ndp/arp.h"
#include "ndp/ndp.h"
#include "test_util.h"

namespace pasta::ndp {
namespace {

using testing::FixChecksum;
using testing::FoldedSum;
using testing::Ip;
using testing::Mac;

const MacAddr kOurMac = Mac("9a:55:9a:55:9a:55");
const MacAddr kPeerMac = Mac("02:00:5e:10:00:01");
const MacAddr kNewMac = Mac("02:00:5e:10:00:02");

TEST(NeighbourTableTest, SetFindChangeRemove) {
  NeighbourTable t;
  EXPECT_EQ(t.Find(Ip("192.0.2.1")), nullptr);
  EXPECT_EQ(t.Set(Ip("192.0.2.1"), kPeerMac), NeighbourTable::Change::kAdded);
  EXPECT_EQ(t.Set(Ip("192.0.2.1"), kPeerMac), NeighbourTable::Change::kNone);
  ASSERT_NE(t.Find(Ip("192.0.2.1")), nullptr);
  EXPECT_EQ(*t.Find(Ip("192.0.2.1")), kPeerMac);
  EXPECT_EQ(t.Set(Ip("192.0.2.1"), kNewMac), NeighbourTable::Change::kChanged);
  EXPECT_EQ(*t.Find(Ip("192.0.2.1")), kNewMac);
  // Same bytes, other family: another entry.
  EXPECT_EQ(t.Find(Ip("::ffff:192.0.2.1")), nullptr);
  EXPECT_EQ(t.Set(Ip("2001:db8::1"), kPeerMac), NeighbourTable::Change::kAdded);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.Remove(Ip("192.0.2.1")));
  EXPECT_FALSE(t.Remove(Ip("192.0.2.1")));
  EXPECT_EQ(t.Find(Ip("192.0.2.1")), nullptr);
  EXPECT_EQ(*t.Find(Ip("2001:db8::1")), kPeerMac);
  t.Set(Ip("192.0.2.9"), kNewMac);
  int seen = 0;
  t.ForEach([&](const IpAddr& addr, const MacAddr& mac) {
    ++seen;
    EXPECT_EQ(mac, addr == Ip("192.0.2.9") ? kNewMac : kPeerMac);
  });
  EXPECT_EQ(seen, 2);
}

TEST(NeighbourTableTest, FullTableRefusesNewEntries) {
  NeighbourTable t;
  for (size_t i = 0; i < NeighbourTable::kCapacity; ++i) {
    IpAddr a = Ip("10.0.0.0");
    a.bytes[2] = static_cast<uint8_t>(i >> 8);
    a.bytes[3] = static_cast<uint8_t>(i);
    ASSERT_EQ(t.Set(a, kPeerMac), NeighbourTable::Change::kAdded);
  }
  EXPECT_EQ(t.Set(Ip("192.0.2.1"), kPeerMac), NeighbourTable::Change::kFull);
  EXPECT_EQ(t.Find(Ip("192.0.2.1")), nullptr);
  // Known entries still change.
  EXPECT_EQ(t.Set(Ip("10.0.0.5"), kNewMac), NeighbourTable::Change::kChanged);
}

// The namespace (2e:11:22:33:44:55, 192.0.2.10) asks who has 192.0.2.1.
const std::vector<uint8_t> kArpRequest = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // Ethernet/IPv4, request
    0x2e, 0x11, 0x22, 0x33, 0x44, 0x55,              // sender MAC
    0xc0, 0x00, 0x02, 0x0a,                          // sender IP 192.0.2.10
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // target MAC (unknown)
    0xc0, 0x00, 0x02, 0x01,                          // target IP 192.0.2.1
};

std::vector<uint8_t> ArpReply(const std::vector<uint8_t>& req,
                              const ArpConfig& cfg) {
  std::array<uint8_t, 64> out{};
  const size_t n = HandleArp(req, cfg, absl::MakeSpan(out));
  return std::vector<uint8_t>(out.begin(), out.begin() + n);
}

TEST(NeighbourArpTest, KnownNeighbourGetsItsOwnMac) {
  NeighbourTable t;
  t.Set(Ip("192.0.2.1"), kPeerMac);
  ArpConfig cfg;
  cfg.our_mac = kOurMac;
  cfg.ns_addr = Ip("192.0.2.10");
  cfg.neighbours = &t;
  const std::vector<uint8_t> expected = {
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,  // reply
      0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,              // the neighbour's MAC
      0xc0, 0x00, 0x02, 0x01,                          // 192.0.2.1
      0x2e, 0x11, 0x22, 0x33, 0x44, 0x55,              // the requester
      0xc0, 0x00, 0x02, 0x0a,                          // 192.0.2.10
  };
  EXPECT_EQ(ArpReply(kArpRequest, cfg), expected);

  // Any other address: our MAC, as without the table.
  std::vector<uint8_t> other = kArpRequest;
  other[27] = 7;  // 192.0.2.7
  const std::vector<uint8_t> reply = ArpReply(other, cfg);
  ASSERT_EQ(reply.size(), kArpLen);
  EXPECT_EQ(std::vector<uint8_t>(reply.begin() + 8, reply.begin() + 14),
            std::vector<uint8_t>(kOurMac.bytes.begin(), kOurMac.bytes.end()));

  // The MAC changes: the next answer has the new one.
  t.Set(Ip("192.0.2.1"), kNewMac);
  EXPECT_EQ(ArpReply(kArpRequest, cfg)[13], 0x02);
}

TEST(NeighbourArpTest, AnnouncementIsAGratuitousRequest) {
  std::array<uint8_t, kArpLen> out{};
  ASSERT_EQ(BuildArpAnnounce(Ip("192.0.2.1"), kNewMac, absl::MakeSpan(out)),
            kArpLen);
  const std::array<uint8_t, kArpLen> expected = {
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // request
      0x02, 0x00, 0x5e, 0x10, 0x00, 0x02,              // sender: new MAC
      0xc0, 0x00, 0x02, 0x01,                          // sender IP 192.0.2.1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // target MAC zero
      0xc0, 0x00, 0x02, 0x01,                          // target IP = sender IP
  };
  EXPECT_EQ(out, expected);
  EXPECT_EQ(BuildArpAnnounce(Ip("2001:db8::1"), kNewMac, absl::MakeSpan(out)),
            0u);
  EXPECT_EQ(BuildArpAnnounce(Ip("192.0.2.1"), kNewMac,
                             absl::MakeSpan(out).subspan(1)),
            0u);
}

const IpAddr kOurLl = Ip("fe80::9855:9aff:fe55:9a55");
const IpAddr kNsLl = Ip("fe80::2c11:22ff:fe33:4455");

NdpConfig NdpCfg(const NeighbourTable* t) {
  NdpConfig cfg;
  cfg.our_mac = kOurMac;
  cfg.our_ll = kOurLl;
  cfg.ns_addrs = {kNsLl};
  cfg.neighbours = t;
  return cfg;
}

// NS from the namespace for `target`, to its solicited-node group.
std::vector<uint8_t> Ns(const IpAddr& target, const IpAddr& group) {
  std::vector<uint8_t> ns = {0x87, 0, 0, 0, 0, 0, 0, 0};
  ns.insert(ns.end(), target.bytes.begin(), target.bytes.end());
  for (uint8_t b : {0x01, 0x01, 0x2e, 0x11, 0x22, 0x33, 0x44, 0x55})
    ns.push_back(b);
  FixChecksum(kNsLl, group, ns);
  return ns;
}

TEST(NeighbourNdpTest, KnownNeighbourGetsItsOwnMac) {
  NeighbourTable t;
  t.Set(Ip("2001:db8:1::1"), kPeerMac);
  const NdpConfig cfg = NdpCfg(&t);
  const IpAddr group = Ip("ff02::1:ff00:1");
  std::array<uint8_t, kMaxNdpReplyLen> out{};
  auto reply =
      HandleNdp(kNsLl, group, 255, Mac("2e:11:22:33:44:55"),
                Ns(Ip("2001:db8:1::1"), group), cfg, absl::MakeSpan(out));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->len, kNeighborAdvertLen);
  EXPECT_EQ(out[24], 2);  // target link-layer address option
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 26, out.begin() + 32),
            std::vector<uint8_t>(kPeerMac.bytes.begin(), kPeerMac.bytes.end()));
  EXPECT_EQ(out[4], 0xe0);  // R S O

  // Another address: ours.
  reply = HandleNdp(kNsLl, group, 255, Mac("2e:11:22:33:44:55"),
                    Ns(Ip("2001:db8:1::7"), group), cfg, absl::MakeSpan(out));
  ASSERT_TRUE(reply);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 26, out.begin() + 32),
            std::vector<uint8_t>(kOurMac.bytes.begin(), kOurMac.bytes.end()));
}

TEST(NeighbourNdpTest, UnsolicitedNaOverridesToAllNodes) {
  const NdpConfig cfg = NdpCfg(nullptr);
  std::array<uint8_t, kMaxNdpReplyLen> out{};
  const auto na = BuildUnsolicitedNa(cfg, Ip("2001:db8:1::1"), kNewMac,
                                     absl::MakeSpan(out));
  ASSERT_TRUE(na);
  EXPECT_EQ(na->src, kOurLl);
  EXPECT_EQ(na->dst, Ip("ff02::1"));
  EXPECT_EQ(na->dst_mac, Mac("33:33:00:00:00:01"));
  ASSERT_EQ(na->len, kNeighborAdvertLen);
  std::vector<uint8_t> bytes(out.begin(), out.begin() + na->len);
  std::vector<uint8_t> expected = {
      0x88, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00,  // NA, R and O, not S
      0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,  // target
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // 2001:db8:1::1
      0x02, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02,  // TLLA: the new MAC
  };
  FixChecksum(kOurLl, Ip("ff02::1"), expected);
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(FoldedSum(na->src, na->dst, bytes), 0xffff);
  EXPECT_FALSE(
      BuildUnsolicitedNa(cfg, Ip("192.0.2.1"), kNewMac, absl::MakeSpan(out)));
}

}  // namespace
}  // namespace pasta::ndp
