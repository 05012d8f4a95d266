// Moving frames through a device must not allocate (house style, habit 5).
// This file is linked with tests/testing/alloc_counter.cc, which counts heap
// allocations; the buffers are allocated when the devices are made.
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "alloc_counter.h"
#include "device/stream_device.h"
#include "device/tap_device.h"
#include "gtest/gtest.h"

namespace pasta::device {
namespace {

TEST(DeviceAllocTest, StreamDeviceReadsAndWritesWithoutAllocating) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd peer(sv[1]);
  StreamDevice device(UniqueFd(sv[0]), 0);
  const int small = 4096;
  ASSERT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  static uint8_t stream[32 * (4 + 1514)], frame[1514], sink[65536];
  for (size_t i = 0; i < 32; ++i) {
    uint8_t* p = stream + i * (4 + 1514);
    p[0] = p[1] = 0;
    p[2] = 1514 >> 8;
    p[3] = 1514 & 0xff;
  }
  std::memset(frame, 0x5a, sizeof(frame));
  long allocations = 0;
  size_t frames = 0, written = 0, dropped = 0;
  {
    testing::CountAllocations counter;
    for (int round = 0; round < 20; ++round) {
      // In, split at an odd place.
      const size_t cut = 1000 + round * 77;
      if (write(peer.get(), stream, cut) < 0) break;
      if (write(peer.get(), stream + cut, sizeof(stream) - cut) < 0) break;
      absl::Span<const uint8_t> f;
      while (device.Read(&f) == ReadStatus::kFrame) ++frames;
      // Out, more than the socket takes: short writes, queueing, drops.
      for (int i = 0; i < 64; ++i) {
        if (device.WriteFrame(absl::MakeConstSpan(frame, sizeof(frame))))
          ++written;
        else
          ++dropped;
      }
      while (read(peer.get(), sink, sizeof(sink)) > 0) {
      }
      device.OnWritable();
    }
    allocations = counter.count();
  }
  EXPECT_EQ(frames, 20u * 32);
  EXPECT_GT(written, 0u);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(allocations, 0);
}

TEST(DeviceAllocTest, TapDeviceReadsAndWritesWithoutAllocating) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd peer(sv[1]);
  TapDevice device(UniqueFd(sv[0]), true);
  static uint8_t in[kVnetHeaderLen + 1514], frame[1514], sink[65536];
  std::memset(in, 0, sizeof(in));
  std::memset(frame, 0x5a, sizeof(frame));
  frame[14 + 20 + 12] = 0x50;
  long allocations = 0;
  size_t frames = 0, written = 0;
  {
    testing::CountAllocations counter;
    for (int i = 0; i < 100; ++i) {
      if (write(peer.get(), in, sizeof(in)) < 0) break;
      absl::Span<const uint8_t> f;
      if (device.Read(&f) == ReadStatus::kFrame) ++frames;
      written += device.WriteFrame(absl::MakeConstSpan(frame, sizeof(frame)));
      written += device.WriteTcpOffloaded(
          absl::MakeConstSpan(frame, sizeof(frame)), 34, 1460, false);
      while (read(peer.get(), sink, sizeof(sink)) > 0) {
      }
    }
    allocations = counter.count();
  }
  EXPECT_EQ(frames, 100u);
  EXPECT_EQ(written, 200u);
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace pasta::device
