// TapDevice with a SOCK_SEQPACKET socketpair standing in for the tap fd (it
// keeps frame boundaries as a tap does): frames with and without the
// virtio-net header, both ways.
#include "device/tap_device.h"

#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pasta::device {
namespace {

using Bytes = std::vector<uint8_t>;

// Ethernet + IPv4 + TCP headers (data offset 8 words: 12 bytes of options)
// and `payload` bytes.
Bytes TcpFrame(size_t payload) {
  Bytes f(14 + 20 + 32 + payload, 0x5a);
  f[12] = 0x08;
  f[13] = 0x00;
  f[14] = 0x45;
  f[14 + 20 + 12] = 0x80;
  return f;
}

class TapDeviceTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
    peer_.reset(sv[1]);
    device_.emplace(UniqueFd(sv[0]), GetParam());
  }

  // The virtio-net header the device expects (if any) in front of `frame`.
  Bytes WithHeader(const Bytes& header, const Bytes& frame) {
    Bytes out = GetParam() ? header : Bytes();
    out.insert(out.end(), frame.begin(), frame.end());
    return out;
  }

  void PeerWrite(const Bytes& bytes) {
    ASSERT_EQ(write(peer_.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }

  // The next message the device wrote, or nothing.
  std::optional<Bytes> PeerRead() {
    Bytes buf(kVnetHeaderLen + kMaxFrame);
    const ssize_t n = read(peer_.get(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

  UniqueFd peer_;
  std::optional<TapDevice> device_;
};

INSTANTIATE_TEST_SUITE_P(VnetHeader, TapDeviceTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "With" : "Without";
                         });

TEST_P(TapDeviceTest, ReadHandsUpTheFrameAfterTheHeader) {
  const Bytes frame = TcpFrame(100);
  // What the kernel puts in the header (here: a partial checksum) is
  // skipped, not acted on.
  PeerWrite(WithHeader({1, 0, 0, 0, 0, 0, 34, 0, 16, 0}, frame));
  PeerWrite(WithHeader(Bytes(kVnetHeaderLen, 0), TcpFrame(0)));
  absl::Span<const uint8_t> got;
  ASSERT_EQ(device_->Read(&got), ReadStatus::kFrame);
  EXPECT_EQ(Bytes(got.begin(), got.end()), frame);
  ASSERT_EQ(device_->Read(&got), ReadStatus::kFrame);
  EXPECT_EQ(Bytes(got.begin(), got.end()), TcpFrame(0));
  EXPECT_EQ(device_->Read(&got), ReadStatus::kAgain);
}

TEST_P(TapDeviceTest, ShortReads) {
  PeerWrite(Bytes(4, 0xee));
  absl::Span<const uint8_t> got;
  if (GetParam()) {
    // Shorter than the header: not even an empty frame.
    EXPECT_EQ(device_->Read(&got), ReadStatus::kRunt);
  } else {
    // A runt frame, for the dispatcher to count.
    ASSERT_EQ(device_->Read(&got), ReadStatus::kFrame);
    EXPECT_EQ(got.size(), 4u);
  }
}

TEST_P(TapDeviceTest, WriteFramePutsAPlainHeaderInFront) {
  const Bytes frame = TcpFrame(1000);
  EXPECT_TRUE(device_->WriteFrame(frame));
  EXPECT_EQ(PeerRead(), WithHeader(Bytes(kVnetHeaderLen, 0), frame));
  EXPECT_FALSE(device_->wants_writable());
}

TEST_P(TapDeviceTest, OffloadOnlyWithTheHeader) {
  EXPECT_EQ(device_->can_offload(), GetParam());
}

TEST(TapDeviceOffloadTest, WriteTcpOffloadedFillsTheHeader) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd peer(sv[1]);
  TapDevice device(UniqueFd(sv[0]), true);
  const auto peer_read = [&peer] {
    Bytes buf(kVnetHeaderLen + kMaxFrame);
    const ssize_t n = read(peer.get(), buf.data(), buf.size());
    buf.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return buf;
  };
  const auto with_header = [](Bytes header, const Bytes& frame) {
    header.insert(header.end(), frame.begin(), frame.end());
    return header;
  };
  const Bytes frame = TcpFrame(3000);
  // A partial checksum: NEEDS_CSUM, csum_start 34 (the TCP header),
  // csum_offset 16 (its checksum field), no GSO.
  EXPECT_TRUE(device.WriteTcpOffloaded(frame, 34, 0, false));
  EXPECT_EQ(peer_read(), with_header({1, 0, 0, 0, 0, 0, 34, 0, 16, 0}, frame));
  // TSO over IPv4: GSO_TCPV4, hdr_len 14 + 20 + 32 = 66, gso_size 1448.
  EXPECT_TRUE(device.WriteTcpOffloaded(frame, 34, 1448, false));
  EXPECT_EQ(peer_read(),
            with_header({1, 1, 66, 0, 0xa8, 0x05, 34, 0, 16, 0}, frame));
  // TSO over IPv6 (the offsets are the caller's): GSO_TCPV6.
  EXPECT_TRUE(device.WriteTcpOffloaded(frame, 34, 1448, true));
  EXPECT_EQ(peer_read(),
            with_header({1, 4, 66, 0, 0xa8, 0x05, 34, 0, 16, 0}, frame));
}

TEST_P(TapDeviceTest, WriteFailsWhenTheQueueIsFull) {
  const Bytes frame = TcpFrame(1000);
  int sent = 0;
  while (device_->WriteFrame(frame) && sent < 100000) ++sent;
  EXPECT_LT(sent, 100000);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_P(TapDeviceTest, Eof) {
  peer_.reset();
  absl::Span<const uint8_t> got;
  EXPECT_EQ(device_->Read(&got), ReadStatus::kEof);
}

TEST(OpenTapTest, RejectsOverlongName) {
  auto fd = OpenTap("a-name-much-longer-than-ifnamsiz", nullptr);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(std::string(fd.status().message()).find("longer than 15"),
            std::string::npos);
}

}  // namespace
}  // namespace pasta::device
