// ICMP echo flows against a fake socket layer: requests in, socket calls
// out; socket replies in, frames out.
#include "icmp/icmp.h"

#include <arpa/inet.h>

#include <deque>
#include <map>
#include <vector>

#include "fake_sys.h"
#include "gtest/gtest.h"
#include "loop/epoll_ref.h"
#include "test_clock.h"
#include "wire/build.h"
#include "wire/ethernet.h"

namespace pasta::icmp {
namespace {

constexpr int64_t kIdleSeconds = kIdleTimeout.ToSeconds();

struct Sent {
  int fd;
  int family;
  std::vector<uint8_t> dst;
  std::vector<uint8_t> msg;
};

class FakeSockets : public fake::FakeSys {
 public:
  Result Socket(Netns where, int family, int type, int protocol) override {
    EXPECT_EQ(where, Netns::kHost);
    EXPECT_EQ(type, SOCK_DGRAM);
    EXPECT_EQ(protocol, family == AF_INET ? static_cast<int>(IPPROTO_ICMP)
                                          : static_cast<int>(IPPROTO_ICMPV6));
    if (refuse) return sock::Fail(EACCES);
    opened.push_back(family);
    return sock::Ok(next_fd++);
  }
  Result SendTo(int fd, int family, const uint8_t* dst, uint16_t,
                absl::Span<const uint8_t> msg) override {
    sent.push_back(
        {fd, family,
         std::vector<uint8_t>(dst, dst + (family == AF_INET ? 4 : 16)),
         std::vector<uint8_t>(msg.begin(), msg.end())});
    return sock::Ok(static_cast<ssize_t>(msg.size()));
  }
  Result Recv(int fd, absl::Span<uint8_t> buf) override {
    auto& q = inbox[fd];
    if (q.empty()) return sock::Fail(EAGAIN);
    const auto m = q.front();
    q.pop_front();
    std::memcpy(buf.data(), m.data(), m.size());
    return sock::Ok(static_cast<ssize_t>(m.size()));
  }
  Result Watch(int fd, uint64_t ref, uint32_t) override {
    const loop::Ref r = loop::Ref::Unpack(ref);
    EXPECT_EQ(r.kind, loop::Kind::kIcmp);
    EXPECT_EQ(r.fd, fd);
    watched[fd] = r.index;
    return sock::Ok();
  }
  Result Close(int fd) override {
    closed.push_back(fd);
    return sock::Ok();
  }

  bool refuse = false;
  int next_fd = 100;
  std::vector<int> opened, closed;
  std::vector<Sent> sent;
  std::map<int, uint32_t> watched;
  std::map<int, std::deque<std::vector<uint8_t>>> inbox;
};

class FrameLog : public wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t> f) override {
    frames.emplace_back(f.begin(), f.end());
  }
  std::vector<std::vector<uint8_t>> frames;
};

const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
const MacAddr kNsMac{{0x02, 0, 0, 0, 0, 0x0e}};
const uint8_t kNs4[4] = {198, 51, 100, 2};
const uint8_t kServer4[4] = {203, 0, 113, 1};
const uint8_t kGw4[4] = {198, 51, 100, 1};

std::vector<uint8_t> Echo(uint8_t type, uint16_t id, uint16_t seq) {
  return {type,
          0,
          0,
          0,
          static_cast<uint8_t>(id >> 8),
          static_cast<uint8_t>(id),
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(seq),
          'd',
          'a',
          't',
          'a'};
}

struct Fixture : ::testing::Test {
  Fixture() {
    cfg.our_mac = kOurMac;
    in_addr gw;
    std::memcpy(&gw, kGw4, 4);
    cfg.map.map_host4 = IpAddr::V4(gw);
    flows =
        std::make_unique<IcmpFlows>(cfg, &sockets, &sink, flow::SipKey{3, 4});
  }
  bool Request(const uint8_t* dst, uint16_t id, uint16_t seq, int64_t now) {
    const auto msg = Echo(8, id, seq);
    return flows->FromNamespace(AF_INET, kNs4, dst, *wire::IcmpView::Parse(msg),
                                kNsMac, AtSeconds(now));
  }
  IcmpConfig cfg;
  FakeSockets sockets;
  FrameLog sink;
  std::unique_ptr<IcmpFlows> flows;
};

TEST_F(Fixture, RequestGoesOutAndReplyComesBackWithTheNamespacesId) {
  ASSERT_TRUE(Request(kServer4, 0x4242, 1, 10));
  ASSERT_EQ(sockets.sent.size(), 1u);
  EXPECT_EQ(sockets.sent[0].family, AF_INET);
  EXPECT_EQ(sockets.sent[0].dst, std::vector<uint8_t>(kServer4, kServer4 + 4));
  EXPECT_EQ(sockets.sent[0].msg, Echo(8, 0x4242, 1));
  ASSERT_EQ(sockets.watched.size(), 1u);
  const int fd = sockets.sent[0].fd;
  // The kernel's reply carries the socket's identifier (here 7).
  sockets.inbox[fd].push_back(Echo(0, 7, 1));
  flows->OnReadable(sockets.watched[fd], AtSeconds(10));
  ASSERT_EQ(sink.frames.size(), 1u);
  const auto& f = sink.frames[0];
  auto eth = wire::EthernetView::Parse(f);
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(std::memcmp(eth->dst(), kNsMac.bytes.data(), 6), 0);
  EXPECT_EQ(std::memcmp(eth->src(), kOurMac.bytes.data(), 6), 0);
  auto ip = wire::Ipv4View::Parse(eth->payload());
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(std::memcmp(ip->src(), kServer4, 4), 0);
  EXPECT_EQ(std::memcmp(ip->dst(), kNs4, 4), 0);
  EXPECT_EQ(ip->protocol(), wire::kProtoIcmp);
  auto icmp = wire::IcmpView::Parse(ip->payload());
  ASSERT_TRUE(icmp.has_value());
  EXPECT_EQ(icmp->type(), 0);
  EXPECT_EQ(icmp->echo_id(), 0x4242);
  EXPECT_EQ(icmp->echo_seq(), 1);
  EXPECT_EQ(wire::Finish(wire::SumBytes(ip->payload())), 0);  // valid checksum
  EXPECT_EQ(flows->counters().replies, 1u);
}

TEST_F(Fixture, SameIdAndDestinationReuseTheFlow) {
  Request(kServer4, 1, 1, 0);
  Request(kServer4, 1, 2, 1);
  Request(kServer4, 2, 1, 1);  // another id: another flow
  EXPECT_EQ(sockets.opened.size(), 2u);
  EXPECT_EQ(flows->active(), 2u);
}

TEST_F(Fixture, GatewayIsPingedOnTheHostsLoopbackAndAnswersAsTheGateway) {
  Request(kGw4, 9, 1, 0);
  ASSERT_EQ(sockets.sent.size(), 1u);
  const uint8_t lo[4] = {127, 0, 0, 1};
  EXPECT_EQ(sockets.sent[0].dst, std::vector<uint8_t>(lo, lo + 4));
  sockets.inbox[sockets.sent[0].fd].push_back(Echo(0, 5, 1));
  flows->OnReadable(sockets.watched[sockets.sent[0].fd], AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  auto ip = wire::Ipv4View::Parse(
      wire::EthernetView::Parse(sink.frames[0])->payload());
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(std::memcmp(ip->src(), kGw4, 4), 0);
}

TEST_F(Fixture, NonEchoIsNotHandled) {
  const auto msg = Echo(13, 1, 1);  // timestamp request
  EXPECT_FALSE(flows->FromNamespace(AF_INET, kNs4, kServer4,
                                    *wire::IcmpView::Parse(msg), kNsMac,
                                    AtSeconds(0)));
  const uint8_t shortmsg[] = {8, 0, 0, 0, 0};
  EXPECT_FALSE(flows->FromNamespace(AF_INET, kNs4, kServer4,
                                    *wire::IcmpView::Parse(shortmsg), kNsMac,
                                    AtSeconds(0)));
  EXPECT_TRUE(sockets.sent.empty());
}

TEST_F(Fixture, IdleFlowsExpireAndCloseTheirSockets) {
  Request(kServer4, 1, 1, 0);
  flows->Expire(AtSeconds(kIdleSeconds - 1));
  EXPECT_EQ(flows->active(), 1u);
  flows->Expire(AtSeconds(kIdleSeconds));
  // The loop frees what closed at the end of its iteration.
  flows->Reap();
  EXPECT_EQ(flows->active(), 0u);
  EXPECT_EQ(sockets.closed.size(), 1u);
  Request(kServer4, 1, 2, kIdleSeconds + 1);  // a new flow, new socket
  EXPECT_EQ(sockets.opened.size(), 2u);
}

TEST_F(Fixture, FullTableRefusesCleanly) {
  for (uint32_t i = 0; i < kMaxFlows; ++i)
    Request(kServer4, static_cast<uint16_t>(i), 1, 0);
  EXPECT_EQ(flows->active(), kMaxFlows);
  Request(kServer4, 60000, 1, 0);
  EXPECT_EQ(flows->active(), kMaxFlows);
  EXPECT_EQ(flows->counters().dropped_table_full, 1u);
  // Existing flows still work.
  Request(kServer4, 5, 2, 0);
  EXPECT_EQ(sockets.sent.size(), kMaxFlows + 1);
}

// As for UDP and TCP: no echo to an address that is not one host's (the
// unspecified address, loopback, broadcast, multicast, IPv4-mapped), but
// the gateway (map_host) is fine.
TEST_F(Fixture, EchoToANonUnicastAddressIsDroppedAndCounted) {
  const uint8_t bad4[][4] = {
      {0, 0, 0, 0}, {127, 0, 0, 1}, {255, 255, 255, 255}, {224, 0, 0, 1}};
  for (const auto& dst : bad4) EXPECT_TRUE(Request(dst, 1, 1, 0));
  const auto msg = Echo(128, 1, 1);
  const uint8_t ns6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                           0,    0,    0,    0,    0, 0, 0, 2};
  const uint8_t bad6[][16] = {
      {},
      {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 1}};
  for (const auto& dst : bad6)
    EXPECT_TRUE(flows->FromNamespace(
        AF_INET6, ns6, dst, *wire::IcmpView::Parse(msg), kNsMac, AtSeconds(0)));
  EXPECT_TRUE(sockets.opened.empty());
  EXPECT_TRUE(sockets.sent.empty());
  EXPECT_EQ(flows->active(), 0u);
  EXPECT_EQ(flows->counters().dropped_invalid, 8u);
  Request(kGw4, 1, 1, 0);
  EXPECT_EQ(sockets.sent.size(), 1u);
}

TEST_F(Fixture, RefusedSocketsAreCountedNotFatal) {
  sockets.refuse = true;
  EXPECT_FALSE(flows->Probe());
  EXPECT_TRUE(Request(kServer4, 1, 1, 0));
  EXPECT_EQ(flows->counters().dropped_socket, 1u);
  EXPECT_EQ(flows->active(), 0u);
}

TEST_F(Fixture, Ipv6ReplyHasAValidChecksum) {
  uint8_t ns6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1},
          srv6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
  ns6[15] = 2;
  srv6[15] = 1;
  const auto msg = Echo(128, 77, 3);
  ASSERT_TRUE(flows->FromNamespace(
      AF_INET6, ns6, srv6, *wire::IcmpView::Parse(msg), kNsMac, AtSeconds(0)));
  ASSERT_EQ(sockets.sent.size(), 1u);
  sockets.inbox[sockets.sent[0].fd].push_back(Echo(129, 1234, 3));
  flows->OnReadable(sockets.watched[sockets.sent[0].fd], AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  auto ip = wire::Ipv6View::Parse(
      wire::EthernetView::Parse(sink.frames[0])->payload());
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(std::memcmp(ip->src(), srv6, 16), 0);
  EXPECT_EQ(std::memcmp(ip->dst(), ns6, 16), 0);
  EXPECT_EQ(wire::Finish(wire::SumBytes(ip->payload(), ip->PseudoSum())), 0);
  EXPECT_EQ(wire::IcmpView::Parse(ip->payload())->echo_id(), 77);
}

TEST(IcmpMapGuestTest, MappedAddressIsPingedAsTheHostsOwnAddress) {
  IcmpConfig cfg;
  cfg.our_mac = kOurMac;
  cfg.map.map_guest4 = *ParseIp("169.254.1.2");
  cfg.map.guest_host4 = *ParseIp("198.51.100.2");
  FakeSockets sockets;
  FrameLog sink;
  IcmpFlows flows(cfg, &sockets, &sink, flow::SipKey{1, 1});
  const uint8_t mapped[4] = {169, 254, 1, 2};
  const auto msg = Echo(8, 3, 1);
  ASSERT_TRUE(flows.FromNamespace(AF_INET, kNs4, mapped,
                                  *wire::IcmpView::Parse(msg), kNsMac,
                                  AtSeconds(0)));
  ASSERT_EQ(sockets.sent.size(), 1u);
  EXPECT_EQ(sockets.sent[0].dst, (std::vector<uint8_t>{198, 51, 100, 2}));
  sockets.inbox[sockets.sent[0].fd].push_back(Echo(0, 9, 1));
  flows.OnReadable(sockets.watched[sockets.sent[0].fd], AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  auto ip = wire::Ipv4View::Parse(
      wire::EthernetView::Parse(sink.frames[0])->payload());
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(std::memcmp(ip->src(), mapped, 4),
            0);  // answered as the mapped address
}

}  // namespace
}  // namespace pasta::icmp
