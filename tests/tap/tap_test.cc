#include "tap/tap.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "device/stream_device.h"
#include "device/tap_device.h"
#include "gtest/gtest.h"
#include "ndp/arp.h"
#include "wire/build.h"

namespace pasta::tap {
namespace {

// An Ethernet + IPv4 header: 02:00:00:00:00:01 -> ff:ff:ff:ff:ff:ff,
// 198.51.100.2 -> 203.0.113.7, protocol 6.
std::vector<uint8_t> Ipv4Frame() {
  return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0,    0, 0,  1,
          0x08, 0x00, 0x45, 0,    0,    40,   0,    0, 0x40, 0, 64, 6,
          0,    0,    198,  51,   100,  2,    203,  0, 113,  7};
}

TEST(DescribeFrameTest, Ipv4) {
  EXPECT_EQ(DescribeFrame(Ipv4Frame()),
            "IPv4 198.51.100.2 -> 203.0.113.7 proto 6, 34 bytes");
}

TEST(DescribeFrameTest, Ipv6) {
  std::vector<uint8_t> f = {0x33, 0x33, 0,    0,    0, 1, 0x02, 0, 0, 0,  0,
                            1,    0x86, 0xdd, 0x60, 0, 0, 0,    0, 0, 58, 255};
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                           0,    0,    0,    0,    0, 0, 0, 2};
  const uint8_t dst[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                           0,    0,    0, 0, 0, 0, 0, 1};
  f.insert(f.end(), src, src + 16);
  f.insert(f.end(), dst, dst + 16);
  EXPECT_EQ(DescribeFrame(f),
            "IPv6 2001:db8:1::2 -> ff02::1 next header 58, 54 bytes");
}

TEST(DescribeFrameTest, ShortAndOther) {
  std::vector<uint8_t> runt = {1, 2, 3};
  EXPECT_EQ(DescribeFrame(runt), "runt frame, 3 bytes");
  auto f = Ipv4Frame();
  f.resize(20);  // header cut short
  EXPECT_EQ(DescribeFrame(f), "IPv4 (short), 20 bytes");
  f[12] = 0x88;
  f[13] = 0xcc;
  EXPECT_EQ(DescribeFrame(f), "ethertype 0x88cc, 20 bytes");
}

TEST(TapTest, HandleFrameCountsDrops) {
  Tap tap(std::make_unique<device::TapDevice>(
              UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC)), false),
          nullptr, nullptr, nullptr);
  tap.HandleFrame(Ipv4Frame(), Instant());
  std::vector<uint8_t> runt = {1, 2, 3};
  tap.HandleFrame(runt, Instant());
  EXPECT_EQ(tap.counters().frames, 2u);
  EXPECT_EQ(tap.counters().bytes, 37u);
  EXPECT_EQ(tap.counters().drops[static_cast<size_t>(DropReason::kRunt)], 1u);
  // Ipv4Frame() is cut after the IPv4 header that claims 40 bytes: malformed.
  EXPECT_EQ(tap.counters().drops[static_cast<size_t>(DropReason::kBadIp)], 1u);
}

// The Tap does not know its device: the same ARP exchange over a stream
// device (passt's framing) reads the length-prefixed request and writes a
// length-prefixed reply, padded to the Ethernet minimum.
TEST(TapTest, AnswersOverAStreamDevice) {
  const MacAddr our{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
  Services services;
  services.our_mac = our;
  services.arp = ndp::ArpConfig{our, *ParseIp("198.51.100.2")};
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd peer(sv[1]);
  Tap tap(std::make_unique<device::StreamDevice>(UniqueFd(sv[0])), &services,
          nullptr, nullptr);

  std::vector<uint8_t> request = {0, 0, 0, 42};
  request.resize(4 + 42);
  wire::WriteEthernet(request.data() + 4,
                      MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                      MacAddr{{0x02, 0, 0, 0, 0, 0x0e}}, wire::kEtherTypeArp);
  const uint8_t arp[28] = {0, 1, 8, 0,    6,   4,  0,   1, 0x02, 0,
                           0, 0, 0, 0x0e, 198, 51, 100, 2, 0,    0,
                           0, 0, 0, 0,    198, 51, 100, 1};
  std::memcpy(request.data() + 4 + 14, arp, sizeof(arp));
  ASSERT_EQ(write(peer.get(), request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  EXPECT_TRUE(tap.OnReadable(Instant()));
  EXPECT_EQ(tap.counters().frames, 1u);
  EXPECT_EQ(tap.counters().sent, 1u);
  // The reply's bytes as handed to the device, which pads them (the loop's
  // busy poll reads this count).
  EXPECT_EQ(tap.counters().bytes_sent, 42u);

  uint8_t reply[128];
  ASSERT_EQ(read(peer.get(), reply, sizeof(reply)), 4 + 60);
  EXPECT_EQ(reply[0] | reply[1] | reply[2], 0);
  EXPECT_EQ(reply[3], 60);
  EXPECT_EQ(std::memcmp(reply + 4 + 6, our.bytes.data(), 6), 0);
  EXPECT_EQ(reply[4 + 14 + 7], 2);  // ARP reply

  // The peer goes away: the device is gone.
  peer.reset();
  EXPECT_FALSE(tap.OnReadable(Instant()));
}

// A host's LAN neighbour in the table: its ARP answer carries its own
// MAC, and a change of that MAC goes out as a gratuitous ARP from the new
// MAC to the broadcast address (not before the namespace has spoken).
TEST(TapTest, NeighbourMacInArpAnswersAndAnnouncements) {
  const MacAddr our{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
  const MacAddr peer_mac{{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}};
  const MacAddr new_mac{{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}};
  ndp::NeighbourTable table;
  table.Set(*ParseIp("198.51.100.1"), peer_mac);
  Services services;
  services.our_mac = our;
  services.arp = ndp::ArpConfig{our, *ParseIp("198.51.100.2"), &table};
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd peer(sv[1]);
  Tap tap(std::make_unique<device::StreamDevice>(UniqueFd(sv[0])), &services,
          nullptr, nullptr);
  uint8_t buf[128];

  // Before the namespace's first frame: nothing is sent.
  tap.AnnounceNeighbour(*ParseIp("198.51.100.1"), new_mac);
  EXPECT_EQ(tap.counters().sent, 0u);

  std::vector<uint8_t> request(4 + 42);
  request[3] = 42;
  wire::WriteEthernet(request.data() + 4,
                      MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                      MacAddr{{0x02, 0, 0, 0, 0, 0x0e}}, wire::kEtherTypeArp);
  const uint8_t arp[28] = {0, 1, 8, 0,    6,   4,  0,   1, 0x02, 0,
                           0, 0, 0, 0x0e, 198, 51, 100, 2, 0,    0,
                           0, 0, 0, 0,    198, 51, 100, 1};
  std::memcpy(request.data() + 4 + 14, arp, sizeof(arp));
  ASSERT_EQ(write(peer.get(), request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  EXPECT_TRUE(tap.OnReadable(Instant()));
  ASSERT_EQ(read(peer.get(), buf, sizeof(buf)), 4 + 60);
  EXPECT_EQ(buf[4 + 14 + 7], 2);  // ARP reply
  EXPECT_EQ(std::memcmp(buf + 4 + 14 + 8, peer_mac.bytes.data(), 6), 0);

  table.Set(*ParseIp("198.51.100.1"), new_mac);
  tap.AnnounceNeighbour(*ParseIp("198.51.100.1"), new_mac);
  ASSERT_EQ(read(peer.get(), buf, sizeof(buf)), 4 + 60);
  const uint8_t* eth = buf + 4;
  EXPECT_EQ(std::memcmp(eth, "\xff\xff\xff\xff\xff\xff", 6), 0);
  EXPECT_EQ(std::memcmp(eth + 6, new_mac.bytes.data(), 6), 0);
  const uint8_t expected[28] = {0,    1,    8, 0, 6,   4,  0,   1, 2, 0,
                                0x5e, 0x10, 0, 2, 198, 51, 100, 1, 0, 0,
                                0,    0,    0, 0, 198, 51, 100, 1};
  EXPECT_EQ(std::memcmp(eth + 14, expected, sizeof(expected)), 0);

  // IPv6: an unsolicited NA to all nodes, hop limit 255, override set.
  ndp::NdpConfig ndp_cfg;
  ndp_cfg.our_mac = our;
  ndp_cfg.neighbours = &table;
  services.ndp = ndp_cfg;
  tap.AnnounceNeighbour(*ParseIp("2001:db8:1::1"), new_mac);
  ASSERT_EQ(read(peer.get(), buf, sizeof(buf)), 4 + 14 + 40 + 32);
  const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
  EXPECT_EQ(std::memcmp(eth, all_nodes_mac, 6), 0);
  EXPECT_EQ(std::memcmp(eth + 6, our.bytes.data(), 6), 0);
  const uint8_t* ip6 = eth + 14;
  EXPECT_EQ(ip6[6], 58);   // ICMPv6
  EXPECT_EQ(ip6[7], 255);  // hop limit
  EXPECT_EQ(ip6[24], 0xff);
  EXPECT_EQ(ip6[39], 1);  // ff02::1
  const uint8_t* na = ip6 + 40;
  EXPECT_EQ(na[0], 136);
  EXPECT_EQ(na[4], 0xa0);  // R and O
  EXPECT_EQ(std::memcmp(na + 26, new_mac.bytes.data(), 6), 0);
  EXPECT_EQ(tap.counters().sent, 3u);
}

// A framing error on the stream ends the Tap's device like an EOF.
TEST(TapTest, StreamFramingErrorEndsTheDevice) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd peer(sv[1]);
  Tap tap(std::make_unique<device::StreamDevice>(UniqueFd(sv[0])), nullptr,
          nullptr, nullptr);
  const uint8_t zero_length[4] = {};
  ASSERT_EQ(write(peer.get(), zero_length, 4), 4);
  EXPECT_FALSE(tap.OnReadable(Instant()));
  EXPECT_EQ(tap.counters().frames, 0u);
}

// A tap read shorter than the virtio-net header is counted as a runt.
TEST(TapTest, ShortVnetReadIsARunt) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd peer(sv[1]);
  Tap tap(std::make_unique<device::TapDevice>(UniqueFd(sv[0]), true), nullptr,
          nullptr, nullptr);
  const uint8_t short_read[4] = {};
  ASSERT_EQ(write(peer.get(), short_read, 4), 4);
  EXPECT_TRUE(tap.OnReadable(Instant()));
  EXPECT_EQ(tap.counters().frames, 0u);
  EXPECT_EQ(tap.counters().drops[static_cast<size_t>(DropReason::kRunt)], 1u);
}

}  // namespace
}  // namespace pasta::tap
