// Relaying datagrams must not allocate (house style, habit 5). This binary
// counts heap allocations with tests/testing/alloc_counter.h.
// Include order: linux/errqueue.h uses struct timespec without including
// its header, so <time.h> must come first.
// clang-format off
#include <time.h>
#include <linux/errqueue.h>  // SO_EE_ORIGIN_ICMP
// clang-format on

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "alloc_counter.h"
#include "fake_sys.h"
#include "gtest/gtest.h"
#include "test_clock.h"
#include "udp/udp.h"
#include "wire/bytes.h"

namespace pasta::udp {
namespace {

using Bytes = std::vector<uint8_t>;

const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
const MacAddr kNsMac{{0x02, 0, 0, 0, 0, 0x0e}};
const Bytes kNs4 = {198, 51, 100, 2};
const Bytes kServer4 = {203, 0, 113, 1};
const Bytes kNs6 = {0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const Bytes kServer6 = {0x20, 1, 0xd, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

IpAddr Ip(const Bytes& b) {
  IpAddr a;
  a.family = b.size() == 4 ? AF_INET : AF_INET6;
  std::memcpy(a.bytes.data(), b.data(), b.size());
  return a;
}

Bytes UdpSegment(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b(8 + payload.size());
  wire::StoreBe16(b.data(), sport);
  wire::StoreBe16(b.data() + 2, dport);
  wire::StoreBe16(b.data() + 4, static_cast<uint16_t>(b.size()));
  std::copy(payload.begin(), payload.end(), b.begin() + 8);
  return b;
}

// A fake that records nothing, so that the module's own allocations are all
// the test sees.
class QuietSockets : public fake::FakeSys {
 public:
  Result Socket(Netns, int, int, int) override { return sock::Ok(next_fd++); }
  Result SetOpt(int, int, int, int) override { return sock::Ok(); }
  Result Bind(int, int, const uint8_t*, uint16_t) override {
    return sock::Ok();
  }
  Result Connect(int, int, const uint8_t*, uint16_t) override {
    return sock::Ok();
  }
  Result Send(int, absl::Span<const uint8_t> p) override {
    ++sends;
    return sock::Ok(static_cast<ssize_t>(p.size()));
  }
  Result SendTo(int, int, const uint8_t*, uint16_t,
                absl::Span<const uint8_t> p) override {
    ++sends;
    return sock::Ok(static_cast<ssize_t>(p.size()));
  }
  Result RecvBatch(int, Datagram* batch, int n) override {
    if (pending == 0) return sock::Fail(EAGAIN);
    int i = 0;
    for (; i < n && pending > 0; ++i, --pending) {
      batch[i].len = 100;
      std::memset(batch[i].data, 'r', 100);
      batch[i].family = AF_INET;
      std::memcpy(batch[i].addr, kServer4.data(), 4);
      batch[i].port = 9000;
    }
    return sock::Ok(i);
  }
  Result RecvError(int, absl::Span<uint8_t>, IcmpErrorInfo* info) override {
    if (!error_pending) return sock::Fail(EAGAIN);
    error_pending = false;
    IcmpErrorInfo e;
    e.origin = SO_EE_ORIGIN_ICMP;
    e.type = 3;
    e.code = 3;
    *info = e;
    return sock::Ok();
  }
  Result Watch(int, uint64_t, uint32_t) override { return sock::Ok(); }
  Result Close(int) override { return sock::Ok(); }
  int next_fd = 100;
  int pending = 0;
  bool error_pending = false;
  int sends = 0;
};

class CountingSink : public wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t>) override { ++frames; }
  int frames = 0;
};

TEST(UdpAllocTest, BurstOnExistingFlowsAllocatesNothing) {
  UdpConfig cfg;
  cfg.our_mac = kOurMac;
  cfg.ns_addr4 = Ip(kNs4);
  QuietSockets sockets;
  CountingSink sink;
  UdpFlows flows(cfg, &sockets, &sink, flow::SipKey{1, 2});
  ASSERT_TRUE(flows.AddListener(AF_INET, nullptr, 7000, 7000).ok());
  const Bytes seg_a = UdpSegment(40000, 9000, Bytes(512, 'a'));
  const Bytes seg_b = UdpSegment(40001, 9000, Bytes(512, 'b'));
  const auto a = *wire::UdpView::Parse(seg_a);
  const auto b = *wire::UdpView::Parse(seg_b);
  const Bytes seg6 = UdpSegment(40000, 9000, Bytes(64, '6'));
  const auto c = *wire::UdpView::Parse(seg6);
  ASSERT_TRUE(flows.FromNamespace(AF_INET, kNs4.data(), kServer4.data(), a,
                                  kNsMac, AtSeconds(0)));
  ASSERT_TRUE(flows.FromNamespace(AF_INET, kNs4.data(), kServer4.data(), b,
                                  kNsMac, AtSeconds(0)));
  ASSERT_TRUE(flows.FromNamespace(AF_INET6, kNs6.data(), kServer6.data(), c,
                                  kNsMac, AtSeconds(0)));
  sockets.pending = 1;
  flows.OnListenerReadable(0, AtSeconds(0));  // creates the inbound flow
  ASSERT_EQ(flows.active(), 4u);
  const Bytes seg_in = UdpSegment(7000, 9000, Bytes(32, 'i'));
  const auto in = *wire::UdpView::Parse(seg_in);

  std::optional<pasta::testing::CountAllocations> counter(std::in_place);
  for (int i = 0; i < 1000; ++i) {
    flows.FromNamespace(AF_INET, kNs4.data(), kServer4.data(), i % 2 ? a : b,
                        kNsMac, AtSeconds(i));
    flows.FromNamespace(AF_INET6, kNs6.data(), kServer6.data(), c, kNsMac,
                        AtSeconds(i));
    flows.FromNamespace(AF_INET, kNs4.data(), kServer4.data(), in, kNsMac,
                        AtSeconds(i));
    sockets.pending = kBatch;
    flows.OnReadable(static_cast<uint32_t>(i % 3), AtSeconds(i));
    sockets.pending = 3;
    flows.OnListenerReadable(0, AtSeconds(i));
    sockets.error_pending = true;
    flows.OnReadable(0, AtSeconds(i));  // the ICMP error path
    flows.Expire(AtSeconds(i));
    flows.Reap();  // the loop's end of iteration: allocates nothing either
  }
  EXPECT_EQ(counter->count(), 0);
  counter.reset();
  EXPECT_EQ(sockets.sends, 3 + 3000);
  EXPECT_EQ(flows.counters().icmp_relayed, 1000u);
  EXPECT_EQ(flows.active(), 4u);
}

}  // namespace
}  // namespace pasta::udp
