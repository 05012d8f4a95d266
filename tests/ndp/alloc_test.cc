// Handling packets must not allocate (house style, habit 5). This binary
// counts heap allocations with tests/testing/alloc_counter.h.
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "alloc_counter.h"
#include "gtest/gtest.h"
#include "ndp/arp.h"
#include "ndp/ndp.h"
#include "ndp/neighbours.h"
#include "test_util.h"

namespace pasta::ndp {
namespace {

using testing::FixChecksum;
using testing::Ip;
using testing::Mac;

TEST(NdpAllocTest, BurstOfPacketsAllocatesNothing) {
  // Everything allocating is done up front: configs, packets, buffers.
  ArpConfig arp_cfg{Mac("9a:55:9a:55:9a:55"), Ip("192.0.2.10")};
  NdpConfig cfg;
  cfg.our_mac = Mac("9a:55:9a:55:9a:55");
  cfg.ns_addrs = {Ip("fe80::2c11:22ff:fe33:4455")};
  cfg.prefixes = {Prefix{Ip("2001:db8:1::"), 64}};
  cfg.mtu = 65520;
  cfg.rdnss = {Ip("2001:db8:1::53")};
  cfg.dnssl = {"example.org", "a.long.enough.name.to.defeat.sso.example.com"};
  const IpAddr src = Ip("fe80::2c11:22ff:fe33:4455");
  const IpAddr sol = Ip("ff02::1:ff00:1");
  const IpAddr routers = Ip("ff02::2");
  const MacAddr mac = Mac("2e:11:22:33:44:55");
  std::vector<uint8_t> arp = {0,    1,    8,    0,    6,   4, 0, 1,  0x2e, 0x11,
                              0x22, 0x33, 0x44, 0x55, 192, 0, 2, 10, 0,    0,
                              0,    0,    0,    0,    192, 0, 2, 1};
  std::vector<uint8_t> ns = {
      0x87, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0x80, 0,    0,    0,    0,    0,   0, 0,
      0,    0, 0, 0, 0, 0, 1, 1, 1,    0x2e, 0x11, 0x22, 0x33, 0x44, 0x55};
  FixChecksum(src, sol, ns);
  std::vector<uint8_t> rs = {0x85, 0, 0,    0,    0,    0,    0,    0,
                             1,    1, 0x2e, 0x11, 0x22, 0x33, 0x44, 0x55};
  FixChecksum(src, routers, rs);
  std::vector<uint8_t> bad = ns;
  bad[25] = 0;
  std::array<uint8_t, kMaxNdpReplyLen> out{};
  // A full table of the host's neighbours, the asked addresses among them.
  auto table = std::make_unique<NeighbourTable>();
  table->Set(Ip("192.0.2.1"), Mac("02:00:5e:10:00:01"));
  table->Set(Ip("fe80::1"), Mac("02:00:5e:10:00:01"));
  for (size_t i = 2; i < NeighbourTable::kCapacity; ++i) {
    IpAddr a = Ip("10.0.0.0");
    a.bytes[2] = static_cast<uint8_t>(i >> 8);
    a.bytes[3] = static_cast<uint8_t>(i);
    table->Set(a, mac);
  }
  arp_cfg.neighbours = table.get();
  cfg.neighbours = table.get();
  const IpAddr target = Ip("2001:db8:1::1");
  const IpAddr gw4 = Ip("192.0.2.1");

  int replies = 0;
  std::optional<pasta::testing::CountAllocations> counter(std::in_place);
  for (int i = 0; i < 1000; i++) {
    replies += HandleArp(arp, arp_cfg, absl::MakeSpan(out)) > 0;
    replies +=
        HandleNdp(src, sol, 255, mac, ns, cfg, absl::MakeSpan(out)).has_value();
    replies += HandleNdp(src, routers, 255, mac, rs, cfg, absl::MakeSpan(out))
                   .has_value();
    replies += HandleNdp(src, sol, 255, mac, bad, cfg, absl::MakeSpan(out))
                   .has_value();
    replies += BuildRouterAdvert(cfg, absl::MakeSpan(out)).has_value();
    replies += BuildArpAnnounce(gw4, mac, absl::MakeSpan(out)) > 0;
    replies +=
        BuildUnsolicitedNa(cfg, target, mac, absl::MakeSpan(out)).has_value();
  }
  EXPECT_EQ(counter->count(), 0);
  EXPECT_EQ(replies, 6000);

  // The counter does count: one allocation while armed is seen.
  auto* probe = new std::vector<int>(1);
  EXPECT_GE(counter->count(), 1);
  counter.reset();
  delete probe;
}

}  // namespace
}  // namespace pasta::ndp
