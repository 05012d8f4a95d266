// StreamDevice over a socketpair(AF_UNIX, SOCK_STREAM): the peer end plays
// QEMU or passt's client, writing and reading length-prefixed frames.
#include "device/stream_device.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace pasta::device {
namespace {

using Bytes = std::vector<uint8_t>;

// A frame of `len` bytes whose bytes count up from `seed`.
Bytes Frame(size_t len, uint8_t seed) {
  Bytes f(len);
  for (size_t i = 0; i < len; ++i) f[i] = static_cast<uint8_t>(seed + i);
  return f;
}

// `frame` behind its 32-bit big-endian length.
Bytes Prefixed(const Bytes& frame, uint32_t len) {
  Bytes out = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
               static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}
Bytes Prefixed(const Bytes& frame) {
  return Prefixed(frame, static_cast<uint32_t>(frame.size()));
}

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

class StreamDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    peer_.reset(sv[1]);
    device_.emplace(UniqueFd(sv[0]), write_buffer_);
  }

  void PeerWrite(const Bytes& bytes) {
    ASSERT_EQ(write(peer_.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }

  // Reads frames until the device has no more; `last` gets what ended it.
  std::vector<Bytes> ReadFrames(ReadStatus* last = nullptr) {
    std::vector<Bytes> frames;
    absl::Span<const uint8_t> frame;
    ReadStatus status;
    while ((status = device_->Read(&frame)) == ReadStatus::kFrame)
      frames.emplace_back(frame.begin(), frame.end());
    if (last != nullptr) *last = status;
    return frames;
  }

  // Everything the peer can read now.
  Bytes PeerReadAll() {
    Bytes out;
    uint8_t buf[65536];
    ssize_t n;
    while ((n = read(peer_.get(), buf, sizeof(buf))) > 0)
      out.insert(out.end(), buf, buf + n);
    return out;
  }

  // A bad length cannot be resynchronised from: the frame before it comes
  // out, then the connection is shut down (the peer reads EOF) and the
  // device reports kError from then on.
  void ExpectFramingError(uint32_t len) {
    const Bytes good = Frame(60, 1);
    PeerWrite(Concat({Prefixed(good), Prefixed(Frame(20, 2), len)}));
    absl::Span<const uint8_t> frame;
    ASSERT_EQ(device_->Read(&frame), ReadStatus::kFrame);
    EXPECT_EQ(Bytes(frame.begin(), frame.end()), good);
    EXPECT_EQ(device_->Read(&frame), ReadStatus::kError) << "length " << len;
    EXPECT_EQ(device_->Read(&frame), ReadStatus::kError);
    EXPECT_FALSE(device_->WriteFrame(good));
    uint8_t buf[16];
    EXPECT_EQ(read(peer_.get(), buf, sizeof(buf)), 0);  // shut down: EOF
  }

  size_t write_buffer_ = kDefaultStreamWriteBuffer;
  UniqueFd peer_;
  std::optional<StreamDevice> device_;
};

TEST_F(StreamDeviceTest, OneFrame) {
  const Bytes f = Frame(60, 1);
  PeerWrite(Prefixed(f));
  ReadStatus last;
  const auto frames = ReadFrames(&last);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], f);
  EXPECT_EQ(last, ReadStatus::kAgain);
}

TEST_F(StreamDeviceTest, SeveralFramesInOneWrite) {
  const Bytes a = Frame(14, 1), b = Frame(1514, 2), c = Frame(60, 3);
  PeerWrite(Concat({Prefixed(a), Prefixed(b), Prefixed(c)}));
  ReadStatus last;
  const auto frames = ReadFrames(&last);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], a);
  EXPECT_EQ(frames[1], b);
  EXPECT_EQ(frames[2], c);
  EXPECT_EQ(last, ReadStatus::kAgain);
}

// A batch that stops early leaves whole frames in the device's buffer with
// the socket empty: has_buffered() tells the loop to read on without
// EPOLLIN; a partial frame does not count, a bad length does.
TEST_F(StreamDeviceTest, HasBufferedSaysWhatAReadWouldFindWithoutTheSocket) {
  EXPECT_FALSE(device_->has_buffered());
  const Bytes a = Frame(60, 1), b = Frame(70, 2), c = Frame(80, 3);
  const Bytes cp = Prefixed(c);
  PeerWrite(Concat({Prefixed(a), Prefixed(b), Bytes(cp.begin(), cp.begin() + 10)}));
  EXPECT_FALSE(device_->has_buffered());  // all still in the socket
  absl::Span<const uint8_t> frame;
  ASSERT_EQ(device_->Read(&frame), ReadStatus::kFrame);
  EXPECT_TRUE(device_->has_buffered());  // b, read with a
  ASSERT_EQ(device_->Read(&frame), ReadStatus::kFrame);
  EXPECT_EQ(Bytes(frame.begin(), frame.end()), b);
  EXPECT_FALSE(device_->has_buffered());  // 10 bytes of c only
  PeerWrite(Bytes(cp.begin() + 10, cp.end()));
  ASSERT_EQ(device_->Read(&frame), ReadStatus::kFrame);
  EXPECT_EQ(Bytes(frame.begin(), frame.end()), c);
  PeerWrite(Concat({Prefixed(a), Prefixed(Frame(20, 4), 0)}));
  ASSERT_EQ(device_->Read(&frame), ReadStatus::kFrame);
  EXPECT_TRUE(device_->has_buffered());  // the bad length, to report
  EXPECT_EQ(device_->Read(&frame), ReadStatus::kError);
  EXPECT_FALSE(device_->has_buffered());
}

TEST_F(StreamDeviceTest, FramesSplitByteByByte) {
  const Bytes a = Frame(100, 7), b = Frame(20, 9);
  const Bytes stream = Concat({Prefixed(a), Prefixed(b)});
  std::vector<Bytes> got;
  for (size_t i = 0; i < stream.size(); ++i) {
    PeerWrite(Bytes{stream[i]});
    ReadStatus last;
    const auto frames = ReadFrames(&last);
    EXPECT_EQ(last, ReadStatus::kAgain) << "after byte " << i;
    // A frame is handed up exactly when its last byte arrives.
    const bool ends_a = i == 4 + a.size() - 1, ends_b = i == stream.size() - 1;
    EXPECT_EQ(frames.size(), ends_a || ends_b ? 1u : 0u) << "after byte " << i;
    got.insert(got.end(), frames.begin(), frames.end());
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
}

// The largest frame is accepted, split across reads, behind a small one.
TEST_F(StreamDeviceTest, LargestFrameSplitAcrossWrites) {
  const Bytes small = Frame(14, 3), big = Frame(kMaxStreamFrame, 5);
  const Bytes stream = Concat({Prefixed(small), Prefixed(big)});
  std::vector<Bytes> got;
  for (size_t at = 0; at < stream.size(); at += 10000) {
    const size_t n = std::min<size_t>(10000, stream.size() - at);
    PeerWrite(Bytes(stream.begin() + at, stream.begin() + at + n));
    const auto frames = ReadFrames();
    got.insert(got.end(), frames.begin(), frames.end());
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], small);
  EXPECT_EQ(got[1], big);
}

// Many frames of every size in chunks that cut them anywhere: the read
// buffer is compacted over and over, and every frame comes out whole.
TEST_F(StreamDeviceTest, RandomFramesInRandomChunks) {
  std::mt19937 rng(42);
  std::vector<Bytes> sent;
  Bytes stream;
  for (int i = 0; i < 300; ++i) {
    const size_t len = i % 50 == 0 ? 9000 + rng() % 50000 : 14 + rng() % 1600;
    sent.push_back(Frame(len, static_cast<uint8_t>(i)));
    const Bytes p = Prefixed(sent.back());
    stream.insert(stream.end(), p.begin(), p.end());
  }
  std::vector<Bytes> got;
  for (size_t at = 0; at < stream.size();) {
    const size_t n = std::min<size_t>(1 + rng() % 30000, stream.size() - at);
    PeerWrite(Bytes(stream.begin() + at, stream.begin() + at + n));
    at += n;
    ReadStatus last;
    const auto frames = ReadFrames(&last);
    ASSERT_EQ(last, ReadStatus::kAgain);
    got.insert(got.end(), frames.begin(), frames.end());
  }
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i], sent[i]) << i;
}

TEST_F(StreamDeviceTest, ZeroLengthIsAnError) { ExpectFramingError(0); }

TEST_F(StreamDeviceTest, LengthShorterThanAnEthernetHeaderIsAnError) {
  ExpectFramingError(kMinStreamFrame - 1);
}

TEST_F(StreamDeviceTest, OversizedLengthIsAnError) {
  ExpectFramingError(kMaxStreamFrame + 1);
}

TEST_F(StreamDeviceTest, HugeLengthIsAnError) {
  ExpectFramingError(0xffffffff);
}

TEST_F(StreamDeviceTest, EofAfterTheLastFrame) {
  const Bytes a = Frame(60, 1);
  PeerWrite(Prefixed(a));
  peer_.reset();
  ReadStatus last;
  const auto frames = ReadFrames(&last);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], a);
  EXPECT_EQ(last, ReadStatus::kEof);
  absl::Span<const uint8_t> frame;
  EXPECT_EQ(device_->Read(&frame), ReadStatus::kEof);
}

TEST_F(StreamDeviceTest, EofInTheMiddleOfAFrame) {
  const Bytes p = Prefixed(Frame(60, 1));
  PeerWrite(Bytes(p.begin(), p.begin() + 30));
  peer_.reset();
  // One read per call: the first brings the 30 bytes (no whole frame yet),
  // the next finds the end (the unfinished frame is dropped).
  absl::Span<const uint8_t> frame;
  EXPECT_EQ(device_->Read(&frame), ReadStatus::kAgain);
  EXPECT_EQ(device_->Read(&frame), ReadStatus::kEof);
  EXPECT_EQ(device_->Read(&frame), ReadStatus::kEof);
}

TEST_F(StreamDeviceTest, WritesLengthPrefixedFrames) {
  const Bytes a = Frame(1514, 1), b = Frame(14, 2);
  EXPECT_TRUE(device_->WriteFrame(a));
  EXPECT_TRUE(device_->WriteFrame(b));
  EXPECT_FALSE(device_->wants_writable());
  // `b` is padded with zeros to the 60-byte Ethernet minimum.
  Bytes padded_b = b;
  padded_b.resize(60, 0);
  EXPECT_EQ(PeerReadAll(), Concat({Prefixed(a), Prefixed(padded_b)}));
}

// Corked, frames wait in the buffer and leave together at Uncork(), whole
// and in order; uncorked, the next frame goes at once again.
TEST_F(StreamDeviceTest, CorkedFramesLeaveTogetherAtUncork) {
  const Bytes a = Frame(1514, 1), b = Frame(65535 + 14, 2), c = Frame(60, 3);
  device_->Cork();
  EXPECT_TRUE(device_->WriteFrame(a));
  EXPECT_TRUE(device_->WriteFrame(b));
  EXPECT_TRUE(device_->WriteFrame(c));
  EXPECT_TRUE(PeerReadAll().empty());
  EXPECT_TRUE(device_->wants_writable());
  EXPECT_TRUE(device_->Uncork());
  // The peer takes what its socket buffer holds at a time: read it all out
  // while the device writes what is left.
  Bytes got;
  for (int i = 0; i < 100; ++i) {
    const Bytes part = PeerReadAll();
    got.insert(got.end(), part.begin(), part.end());
    if (!device_->wants_writable()) break;
    ASSERT_TRUE(device_->OnWritable());
  }
  const Bytes rest = PeerReadAll();
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, Concat({Prefixed(a), Prefixed(b), Prefixed(c)}));
  EXPECT_FALSE(device_->wants_writable());
  EXPECT_TRUE(device_->WriteFrame(a));
  EXPECT_EQ(PeerReadAll(), Prefixed(a));
}

TEST_F(StreamDeviceTest, RefusesFramesItCannotEncode) {
  EXPECT_FALSE(device_->WriteFrame(Frame(13, 0)));
  EXPECT_EQ(errno, EMSGSIZE);
  EXPECT_FALSE(device_->WriteFrame(Frame(kMaxStreamFrame + 1, 0)));
  EXPECT_EQ(errno, EMSGSIZE);
  EXPECT_TRUE(PeerReadAll().empty());
  EXPECT_EQ(device_->frames_dropped(), 0u);
}

TEST_F(StreamDeviceTest, NoOffload) {
  EXPECT_FALSE(device_->can_offload());
  EXPECT_FALSE(device_->WriteTcpOffloaded(Frame(60, 0), 34, 0, false));
  EXPECT_TRUE(PeerReadAll().empty());
}

// The peer is gone: writing fails (no SIGPIPE) and so does reading.
TEST_F(StreamDeviceTest, WriteToAClosedPeer) {
  peer_.reset();
  EXPECT_FALSE(device_->WriteFrame(Frame(60, 0)));
  EXPECT_EQ(errno, EPIPE);
  absl::Span<const uint8_t> frame;
  EXPECT_EQ(device_->Read(&frame), ReadStatus::kError);
}

// The peer reads slowly: writes come back short. Frames that do not go are
// queued whole, or dropped whole when the queue is full; the peer receives
// exactly the frames WriteFrame() took, whole and in order.
class StreamDeviceSlowPeerTest : public StreamDeviceTest {
 protected:
  void SetUp() override {
    write_buffer_ = 0;  // the minimum: one largest frame
    StreamDeviceTest::SetUp();
    const int small = 4096;  // the kernel's minimum applies
    ASSERT_EQ(
        setsockopt(device_->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
        0);
  }
};

TEST_F(StreamDeviceSlowPeerTest, PartialWritesKeepFramesWholeAndInOrder) {
  std::vector<Bytes> taken;
  int refused = 0;
  size_t cut = 0;  // how much of the first queued frame went out
  for (int i = 0; i < 200; ++i) {
    // Odd sizes above what the kernel puts in one buffer (half the send
    // buffer), so that short writes cut frames anywhere.
    Bytes f = Frame(5000 + (i * 337) % 9000, static_cast<uint8_t>(i));
    f[0] = static_cast<uint8_t>(i);  // a sequence number
    const bool was_queueing = device_->wants_writable();
    if (device_->WriteFrame(f)) {
      taken.push_back(f);
      if (!was_queueing && device_->wants_writable())
        cut = 4 + f.size() - device_->pending();
    } else {
      EXPECT_EQ(errno, ENOBUFS);
      ++refused;
    }
  }
  // The socket took part of the frame that filled it: the rest was queued.
  EXPECT_GT(cut, 0u);
  EXPECT_GT(refused, 0);
  EXPECT_EQ(device_->frames_dropped(), static_cast<uint64_t>(refused));
  EXPECT_TRUE(device_->wants_writable());
  EXPECT_LE(device_->pending(), kStreamPrefixLen + kMaxStreamFrame);

  // The peer drains; the loop calls OnWritable() on EPOLLOUT.
  Bytes stream;
  for (int round = 0; round < 1000; ++round) {
    const Bytes got = PeerReadAll();
    stream.insert(stream.end(), got.begin(), got.end());
    if (!device_->wants_writable() && got.empty()) break;
    EXPECT_TRUE(device_->OnWritable());
  }
  EXPECT_FALSE(device_->wants_writable());
  EXPECT_EQ(device_->pending(), 0u);

  std::vector<Bytes> received;
  size_t at = 0;
  while (stream.size() - at >= 4) {
    const uint32_t len = static_cast<uint32_t>(stream[at]) << 24 |
                         stream[at + 1] << 16 | stream[at + 2] << 8 |
                         stream[at + 3];
    ASSERT_LE(at + 4 + len, stream.size()) << "a frame was cut";
    received.emplace_back(stream.begin() + at + 4,
                          stream.begin() + at + 4 + len);
    at += 4 + len;
  }
  EXPECT_EQ(at, stream.size());
  ASSERT_EQ(received.size(), taken.size());
  for (size_t i = 0; i < taken.size(); ++i)
    EXPECT_EQ(received[i], taken[i]) << "frame " << i;
}

// Once the queue is full, a write that finds the socket drained flushes
// the queue first instead of dropping.
TEST_F(StreamDeviceSlowPeerTest, FullQueueFlushesBeforeDropping) {
  const Bytes f = Frame(9000, 1);
  while (device_->WriteFrame(f)) {
  }
  const uint64_t dropped = device_->frames_dropped();
  EXPECT_EQ(dropped, 1u);
  PeerReadAll();  // the peer catches up, but no EPOLLOUT was handled
  EXPECT_TRUE(device_->WriteFrame(f));
  EXPECT_EQ(device_->frames_dropped(), dropped);
}

}  // namespace
}  // namespace pasta::device
