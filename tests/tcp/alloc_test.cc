// Relaying TCP data must not allocate (house style, habit 5). This file is
// linked with tests/testing/alloc_counter.cc, which counts heap allocations.
#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "alloc_counter.h"
#include "fake_sys.h"
#include "gtest/gtest.h"
#include "loop/epoll_ref.h"
#include "tcp/tcp.h"
#include "test_clock.h"
#include "test_util.h"
#include "wire/ethernet.h"
#include "wire/ip.h"

namespace pasta::tcp {
namespace {

using testing::Bytes;
using testing::Concat;
using testing::kNs4;
using testing::kNsMac;
using testing::kNsPort;
using testing::kRemote4;
using testing::kRemotePort;
using testing::MssOption;
using testing::Segment;
using testing::TcpFrame;
using testing::WindowScaleOption;

// A fake that records into fixed storage only, so that the module's own
// allocations are all the counter sees. One connection: every socket call
// is on it.
class QuietSockets : public fake::FakeSys {
 public:
  Result Socket(Netns, int, int, int) override { return sock::Ok(next_fd++); }
  Result Bind(int, int, const uint8_t*, uint16_t) override {
    return sock::Ok();
  }
  Result Connect(int, int, const uint8_t*, uint16_t) override {
    return sock::Fail(EINPROGRESS);
  }
  Result Listen(int) override { return sock::Ok(); }
  Result Accept(int, int*, uint8_t*, uint16_t*) override {
    return sock::Fail(EAGAIN);
  }
  Result GetOpt(int, int, int) override { return sock::Ok(0); }  // SO_ERROR
  // Takes `limit` bytes per call when set (the rest is refused), else all.
  Result Send(int, absl::Span<const uint8_t> data) override {
    if (refuse) return sock::Fail(EAGAIN);
    const size_t n = limit ? std::min(limit, data.size()) : data.size();
    written += n;
    if (limit) refuse = true;
    return sock::Ok(static_cast<ssize_t>(n));
  }
  // SO_PEEK_OFF (turned on at 0, then moved); other options are taken.
  Result SetOpt(int, int level, int name, int value) override {
    if (level == SOL_SOCKET && name == SO_PEEK_OFF)
      peek_off = static_cast<size_t>(value);
    return sock::Ok();
  }
  Result Peek(int, size_t skip, const iovec* iov, int iovcnt) override {
    const size_t start = peek_off + skip;
    if (start >= queued) return sock::Fail(EAGAIN);
    size_t n = 0;
    for (int i = 0; i < iovcnt && start + n < queued; ++i) {
      const size_t len = std::min(iov[i].iov_len, queued - start - n);
      std::memset(iov[i].iov_base, 'r', len);
      n += len;
    }
    peek_off += n;
    return sock::Ok(static_cast<ssize_t>(n));
  }
  Result Discard(int, size_t n) override {
    n = std::min(n, queued);
    queued -= n;
    peek_off = peek_off > n ? peek_off - n : 0;
    discarded += n;
    return sock::Ok(static_cast<ssize_t>(n));
  }
  Result ShutdownWrite(int) override { return sock::Ok(); }
  Result Watch(int, uint64_t ref, uint32_t) override {
    slot = loop::Ref::Unpack(ref).index;
    return sock::Ok();
  }
  Result Close(int) override { return sock::Ok(); }
  Result CloseWithReset(int) override { return sock::Ok(); }

  int next_fd = 100;
  uint32_t slot = 0;
  size_t limit = 0;
  bool refuse = false;
  size_t written = 0;
  size_t queued = 0;  // receive queue length
  size_t peek_off = 0;
  size_t discarded = 0;
};

// Keeps the last frame (in fixed storage) and counts them.
class LastFrame : public wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t> f) override {
    ++frames;
    len = std::min(f.size(), last.size());
    std::copy(f.begin(), f.begin() + static_cast<ptrdiff_t>(len), last.begin());
  }
  // The TCP header of the last frame (IPv4, no IP options).
  uint32_t seq() const { return testing::Get32(Last(), 14 + 20 + 4); }
  uint32_t ack() const { return testing::Get32(Last(), 14 + 20 + 8); }
  Bytes Last() const { return Bytes(last.begin(), last.begin() + len); }
  std::array<uint8_t, 1600> last{};
  size_t len = 0;
  int frames = 0;
};

// A frame from the namespace handed to the flows (parsing allocates
// nothing).
void Deliver(TcpFlows& flows, const Bytes& frame, Instant now) {
  const auto eth = wire::EthernetView::Parse(frame);
  const auto ip = wire::Ipv4View::Parse(eth->payload());
  const auto tcp = wire::TcpView::Parse(ip->payload());
  flows.FromNamespace(AF_INET, ip->src(), ip->dst(), *tcp, kNsMac, now);
}

Bytes FromNs(const Segment& seg) {
  return TcpFrame(kNs4, kNsPort, kRemote4, kRemotePort, seg);
}

TEST(TcpAllocTest, BurstOfDataBothWaysAllocatesNothing) {
  TcpConfig cfg;
  cfg.our_mac = testing::kOurMac;
  cfg.ns_addr4 = testing::Ip(kNs4);
  cfg.mtu = 1500;
  QuietSockets sockets;
  LastFrame sink;
  TcpFlows flows(cfg, &sockets, &sink, flow::SipKey{3, 4});

  constexpr uint32_t kNsIsn = 5000;
  Deliver(flows,
          FromNs({kSyn,
                  kNsIsn,
                  0,
                  64240,
                  Concat(MssOption(1460), WindowScaleOption(7)),
                  {}}),
          AtMs(0));
  flows.OnSocketEvent(sockets.slot, EPOLLOUT, AtMs(0));
  flows.Flush(AtMs(0));
  ASSERT_EQ(sink.frames, 1);
  const uint32_t our_isn = sink.seq();
  ASSERT_EQ(sink.ack(), kNsIsn + 1);
  Deliver(flows, FromNs({kAck, kNsIsn + 1, our_isn + 1, 512, {}, {}}), AtMs(0));
  flows.Flush(AtMs(0));
  ASSERT_EQ(flows.active(), 1u);

  // Every iteration: 1000 bytes from the namespace (on odd iterations the
  // socket takes 600 and the rest is buffered until EPOLLOUT), 4000 bytes
  // from the socket in three segments, the namespace's ACK for them.
  constexpr int kRounds = 1000;
  constexpr uint32_t kIn = 1000, kOut = 4000;
  std::vector<Bytes> data, acks;
  for (uint32_t i = 0; i < kRounds + 1; ++i) {
    data.push_back(FromNs({kAck | kPsh,
                           kNsIsn + 1 + kIn * i,
                           our_isn + 1 + kOut * i,
                           512,
                           {},
                           std::string(kIn, 'n')}));
    acks.push_back(FromNs({kAck,
                           kNsIsn + 1 + kIn * (i + 1),
                           our_isn + 1 + kOut * (i + 1),
                           512,
                           {},
                           {}}));
  }
  auto round = [&](uint32_t i) {
    const Instant now = AtMs(1 + i);
    sockets.limit = i % 2 ? 600 : 0;
    Deliver(flows, data[i], now);
    flows.Flush(now);
    sockets.limit = 0;
    sockets.refuse = false;
    sockets.queued += kOut;
    flows.OnSocketEvent(sockets.slot, EPOLLIN | EPOLLOUT, now);
    flows.Flush(now);
    Deliver(flows, acks[i], now);
    flows.Flush(now);
    flows.Tick(now);
    flows.Reap();
  };
  round(0);  // warm-up: the buffer path's first use

  std::optional<pasta::testing::CountAllocations> counter(std::in_place);
  for (uint32_t i = 1; i <= kRounds; ++i) round(i);
  const long allocations = counter->count();
  counter.reset();
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(sockets.written, size_t{kIn} * (kRounds + 1));
  EXPECT_EQ(sockets.discarded, size_t{kOut} * (kRounds + 1));
  EXPECT_EQ(flows.active(), 1u);
  EXPECT_EQ(flows.counters().retransmits, 0u);
}

}  // namespace
}  // namespace pasta::tcp
