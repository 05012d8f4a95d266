// The tap's hot path must not allocate (house style, habit 5): frames read
// through a device, dispatched, answered and written back through it. This
// file is linked with tests/testing/alloc_counter.cc, which counts heap
// allocations.
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "alloc_counter.h"
#include "device/stream_device.h"
#include "device/tap_device.h"
#include "gtest/gtest.h"
#include "ndp/arp.h"
#include "tap/tap.h"
#include "wire/build.h"

namespace pasta::tap {
namespace {

const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};

// An ARP request for 198.51.100.1 from the namespace at `at`.
void WriteArpRequest(uint8_t* at) {
  wire::WriteEthernet(at, MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                      MacAddr{{0x02, 0, 0, 0, 0, 0x0e}}, wire::kEtherTypeArp);
  const uint8_t arp[28] = {0, 1, 8, 0,    6,   4,  0,   1, 0x02, 0,
                           0, 0, 0, 0x0e, 198, 51, 100, 2, 0,    0,
                           0, 0, 0, 0,    198, 51, 100, 1};
  std::memcpy(at + 14, arp, sizeof(arp));
}

class TapAllocTest : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(Device, TapAllocTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Stream" : "Tap";
                         });

// 32 ARP requests per wakeup, 20 wakeups: every one answered, nothing
// allocated.
TEST_P(TapAllocTest, ArpExchangesDoNotAllocate) {
  const bool stream = GetParam();
  Services services;
  services.our_mac = kOurMac;
  services.arp = ndp::ArpConfig{kOurMac, *ParseIp("198.51.100.2")};
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX,
                       (stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_NONBLOCK,
                       0, sv),
            0);
  UniqueFd peer(sv[1]);
  std::unique_ptr<device::FrameDevice> dev;
  if (stream)
    dev = std::make_unique<device::StreamDevice>(UniqueFd(sv[0]));
  else
    dev = std::make_unique<device::TapDevice>(UniqueFd(sv[0]), true);
  Tap tap(std::move(dev), &services, nullptr, nullptr);

  // Stream: 32 length-prefixed requests in one write. Tap: one request
  // behind a virtio-net header, written 32 times.
  static uint8_t in[32 * (4 + 42)], sink[65536];
  std::memset(in, 0, sizeof(in));
  for (int i = 0; i < 32; ++i) {
    in[i * 46 + 3] = 42;
    WriteArpRequest(in + i * 46 + 4);
  }
  uint8_t vnet_frame[device::kVnetHeaderLen + 42] = {};
  WriteArpRequest(vnet_frame + device::kVnetHeaderLen);

  long allocations = 0;
  bool alive = true;
  {
    testing::CountAllocations counter;
    for (int round = 0; round < 20; ++round) {
      if (stream) {
        if (write(peer.get(), in, sizeof(in)) < 0) break;
      } else {
        for (int i = 0; i < 32; ++i)
          if (write(peer.get(), vnet_frame, sizeof(vnet_frame)) < 0) break;
      }
      alive = alive && tap.OnReadable(Instant());
      while (read(peer.get(), sink, sizeof(sink)) > 0) {
      }
    }
    allocations = counter.count();
  }
  EXPECT_TRUE(alive);
  EXPECT_EQ(tap.counters().frames, 20u * 32);
  EXPECT_EQ(tap.counters().sent, 20u * 32);
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace pasta::tap
