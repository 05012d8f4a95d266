// UDP flows against a fake socket layer: datagrams from the namespace in,
// socket calls out; socket datagrams and errors in, frames out. One test
// runs the system socket layer for real, on loopback, in a network
// namespace of its own.
#include "udp/udp.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "fake_sys.h"
#include "gtest/gtest.h"
#include "loop/epoll_ref.h"
#include "sock/system_sys.h"
#include "test_clock.h"
#include "wire/build.h"
#include "wire/ethernet.h"

namespace pasta::udp {
namespace {

constexpr int64_t kIdleSeconds = kIdleTimeout.ToSeconds();

using Bytes = std::vector<uint8_t>;

struct Call {
  int fd;
  Bytes addr;  // empty: none (connected send, wildcard bind)
  uint16_t port = 0;
  Bytes payload;
};

struct Incoming {
  Bytes payload;
  Bytes addr;
  uint16_t port;
};

struct QueuedError {
  IcmpErrorInfo info;
  Bytes quoted;
};

Bytes AddrBytes(int family, const uint8_t* a) {
  if (a == nullptr) return {};
  return Bytes(a, a + (family == AF_INET ? 4 : 16));
}

class FakeSockets : public fake::FakeSys {
 public:
  Result Socket(Netns where, int family, int type, int) override {
    EXPECT_EQ(where, Netns::kHost);
    EXPECT_EQ(type, SOCK_DGRAM);
    if (refuse_open) return sock::Fail(EMFILE);
    opened.push_back(family);
    return sock::Ok(next_fd++);
  }
  Result SetOpt(int, int, int, int) override { return sock::Ok(); }
  Result BindToDevice(int, const std::string&) override { return sock::Ok(); }
  Result Bind(int fd, int family, const uint8_t* addr, uint16_t port) override {
    binds.push_back({fd, AddrBytes(family, addr), port, {}});
    if (port != 0 && taken.count(port)) return sock::Fail(bind_errno);
    return sock::Ok();
  }
  Result Connect(int fd, int family, const uint8_t* addr,
                 uint16_t port) override {
    connects.push_back({fd, AddrBytes(family, addr), port, {}});
    if (refuse_connect) return sock::Fail(ENETUNREACH);
    return sock::Ok();
  }
  Result Send(int fd, absl::Span<const uint8_t> p) override {
    ++send_calls;
    if (!send_errnos.empty()) {
      const int err = send_errnos.front();
      send_errnos.pop_front();
      return sock::Fail(err);
    }
    sends.push_back({fd, {}, 0, Bytes(p.begin(), p.end())});
    return sock::Ok(static_cast<ssize_t>(p.size()));
  }
  Result SendTo(int fd, int family, const uint8_t* addr, uint16_t port,
                absl::Span<const uint8_t> p) override {
    sends.push_back(
        {fd, AddrBytes(family, addr), port, Bytes(p.begin(), p.end())});
    return sock::Ok(static_cast<ssize_t>(p.size()));
  }
  // As the kernel where UDP GSO is missing (GsoSockets has it).
  Result SendSegments(int, absl::Span<const uint8_t>, uint16_t) override {
    return sock::Fail(ENOPROTOOPT);
  }
  Result RecvBatch(int fd, Datagram* batch, int n) override {
    auto& q = inbox[fd];
    if (q.empty()) return sock::Fail(recv_errno);
    int i = 0;
    for (; i < n && !q.empty(); ++i) {
      const Incoming m = q.front();
      q.pop_front();
      Datagram& d = batch[i];
      d.len = std::min(m.payload.size(), d.cap);
      d.truncated = m.payload.size() > d.cap;
      std::memcpy(d.data, m.payload.data(), d.len);
      d.family = m.addr.size() == 4 ? AF_INET : AF_INET6;
      std::memcpy(d.addr, m.addr.data(), m.addr.size());
      d.port = m.port;
    }
    return sock::Ok(i);
  }
  Result RecvError(int fd, absl::Span<uint8_t> quoted,
                   IcmpErrorInfo* info) override {
    auto& q = errors[fd];
    if (q.empty()) return sock::Fail(EAGAIN);
    QueuedError e = q.front();
    q.pop_front();
    e.info.quoted_len = std::min(e.quoted.size(), quoted.size());
    if (e.info.quoted_len > 0)  // memcpy from an empty vector's null data is UB
      std::memcpy(quoted.data(), e.quoted.data(), e.info.quoted_len);
    *info = e.info;
    return sock::Ok(static_cast<ssize_t>(e.info.quoted_len));
  }
  Result Watch(int fd, uint64_t ref, uint32_t) override {
    const loop::Ref r = loop::Ref::Unpack(ref);
    EXPECT_EQ(r.fd, fd);
    watched[fd] = r.index;
    if (r.kind == loop::Kind::kUdpListen) listeners.insert(fd);
    return sock::Ok();
  }
  Result Close(int fd) override {
    closed.push_back(fd);
    return sock::Ok();
  }

  Result LocalAddress(int fd, int* family, uint8_t* addr) override {
    const auto it = local.find(fd);
    if (it == local.end()) return sock::Fail(EBADF);
    *family = it->second.size() == 4 ? AF_INET : AF_INET6;
    std::memcpy(addr, it->second.data(), it->second.size());
    return sock::Ok();
  }
  bool refuse_open = false;
  bool refuse_connect = false;
  std::map<int, Bytes> local;  // fd -> its local address (LocalAddress)
  std::set<uint16_t> taken;
  int bind_errno = EADDRINUSE;
  int recv_errno = EAGAIN;
  std::deque<int> send_errnos;
  int send_calls = 0;
  int next_fd = 100;
  std::vector<int> opened, closed;
  std::vector<Call> binds, connects, sends;
  std::map<int, uint32_t> watched;  // fd -> flow slot or listener index
  std::set<int> listeners;          // the fds watched as listeners
  std::map<int, std::deque<Incoming>> inbox;
  std::map<int, std::deque<QueuedError>> errors;
};

class FrameLog : public wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t> f) override {
    frames.emplace_back(f.begin(), f.end());
  }
  std::vector<Bytes> frames;
};

const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
const MacAddr kNsMac{{0x02, 0, 0, 0, 0, 0x0e}};
const Bytes kNs4 = {198, 51, 100, 2};
const Bytes kServer4 = {203, 0, 113, 1};
const Bytes kOther4 = {203, 0, 113, 9};
const Bytes kGw4 = {198, 51, 100, 1};
const Bytes kDnsFwd4 = {198, 51, 100, 3};
const Bytes kResolver4 = {192, 0, 2, 53};
const Bytes kLo4 = {127, 0, 0, 1};
const Bytes kNs6 = {0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const Bytes kServer6 = {0x20, 1, 0xd, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kGw6 = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kLo6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

IpAddr Ip(const Bytes& b) {
  IpAddr a;
  a.family = b.size() == 4 ? AF_INET : AF_INET6;
  std::memcpy(a.bytes.data(), b.data(), b.size());
  return a;
}

Bytes Text(const char* s) { return Bytes(s, s + std::strlen(s)); }

// A UDP header and payload as the namespace sends it (checksum left 0: the
// module does not look at it).
Bytes UdpSegment(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b(8 + payload.size());
  wire::StoreBe16(b.data(), sport);
  wire::StoreBe16(b.data() + 2, dport);
  wire::StoreBe16(b.data() + 4, static_cast<uint16_t>(b.size()));
  std::copy(payload.begin(), payload.end(), b.begin() + 8);
  return b;
}

// What a frame towards the namespace says, checked on the way.
struct Parsed {
  bool ok = false;
  Bytes dst_mac, src_mac, src, dst;
  uint8_t protocol = 0;
  Bytes l4;  // UDP or ICMP message
  uint16_t sport = 0, dport = 0;
  Bytes payload;
  bool checksum_ok = false;  // L4 checksum verified with the pseudo-header
};

Parsed ParseFrame(const Bytes& frame) {
  Parsed p;
  const auto eth = wire::EthernetView::Parse(frame);
  if (!eth) return p;
  p.dst_mac = Bytes(eth->dst(), eth->dst() + 6);
  p.src_mac = Bytes(eth->src(), eth->src() + 6);
  uint32_t pseudo = 0;
  absl::Span<const uint8_t> l4;
  if (eth->ethertype() == wire::kEtherTypeIpv4) {
    const auto ip = wire::Ipv4View::Parse(eth->payload());  // checks its sum
    if (!ip) return p;
    p.src = Bytes(ip->src(), ip->src() + 4);
    p.dst = Bytes(ip->dst(), ip->dst() + 4);
    p.protocol = ip->protocol();
    l4 = ip->payload();
    if (p.protocol == wire::kProtoUdp)
      pseudo = wire::PseudoSum4(ip->src(), ip->dst(), p.protocol,
                                static_cast<uint16_t>(l4.size()));
  } else if (eth->ethertype() == wire::kEtherTypeIpv6) {
    const auto ip = wire::Ipv6View::Parse(eth->payload());
    if (!ip) return p;
    p.src = Bytes(ip->src(), ip->src() + 16);
    p.dst = Bytes(ip->dst(), ip->dst() + 16);
    p.protocol = ip->protocol();
    l4 = ip->payload();
    pseudo = ip->PseudoSum();
  } else {
    return p;
  }
  p.l4 = Bytes(l4.begin(), l4.end());
  p.checksum_ok = wire::Finish(wire::SumBytes(l4, pseudo)) == 0;
  if (p.protocol == wire::kProtoUdp) {
    const auto udp = wire::UdpView::Parse(l4);
    if (!udp || udp->bytes().size() != l4.size()) return p;
    p.sport = udp->src_port();
    p.dport = udp->dst_port();
    p.payload = Bytes(udp->payload().begin(), udp->payload().end());
  }
  p.ok = true;
  return p;
}

struct UdpTest : ::testing::Test {
  UdpTest() {
    cfg.our_mac = kOurMac;
    cfg.map.map_host4 = Ip(kGw4);
    cfg.map.map_host6 = Ip(kGw6);
    cfg.map.dns_forward4 = Ip(kDnsFwd4);
    cfg.map.dns_target4 = Ip(kResolver4);
    cfg.ns_addr4 = Ip(kNs4);
    cfg.ns_addr6 = Ip(kNs6);
    Make();
  }
  void Make() {
    flows.reset();
    flows =
        std::make_unique<UdpFlows>(cfg, &sockets, &sink, flow::SipKey{5, 6});
  }
  bool Send(const Bytes& src, uint16_t sport, const Bytes& dst, uint16_t dport,
            const Bytes& payload, int64_t now = 0) {
    const Bytes seg = UdpSegment(sport, dport, payload);
    return flows->FromNamespace(
        src.size() == 4 ? AF_INET : AF_INET6, src.data(), dst.data(),
        *wire::UdpView::Parse(seg), kNsMac, AtSeconds(now));
  }
  void Reply(int fd, const Bytes& payload, const Bytes& from = {},
             uint16_t port = 0, int64_t now = 0) {
    sockets.inbox[fd].push_back(
        {payload, from.empty() ? kServer4 : from, port});
    if (sockets.listeners.count(fd))
      flows->OnListenerReadable(sockets.watched.at(fd), AtSeconds(now));
    else
      flows->OnReadable(sockets.watched.at(fd), AtSeconds(now));
  }

  UdpConfig cfg;
  FakeSockets sockets;
  FrameLog sink;
  std::unique_ptr<UdpFlows> flows;
};

TEST_F(UdpTest, OutboundV4BindsTheSourcePortConnectsAndSendsThePayload) {
  ASSERT_TRUE(Send(kNs4, 40000, kServer4, 5353, Text("query")));
  ASSERT_EQ(sockets.opened, std::vector<int>{AF_INET});
  ASSERT_EQ(sockets.binds.size(), 1u);
  EXPECT_TRUE(sockets.binds[0].addr.empty());  // the wildcard
  EXPECT_EQ(sockets.binds[0].port, 40000);
  ASSERT_EQ(sockets.connects.size(), 1u);
  EXPECT_EQ(sockets.connects[0].addr, kServer4);
  EXPECT_EQ(sockets.connects[0].port, 5353);
  ASSERT_EQ(sockets.sends.size(), 1u);
  EXPECT_EQ(sockets.sends[0].fd, 100);
  EXPECT_TRUE(sockets.sends[0].addr.empty());  // send(), not sendto()
  EXPECT_EQ(sockets.sends[0].payload, Text("query"));
  EXPECT_EQ(sockets.watched.at(100), 0u);
  EXPECT_EQ(flows->active(), 1u);
  EXPECT_EQ(flows->counters().sent, 1u);
}

TEST_F(UdpTest, FlowsFromAVanishedHostAddressAreClosed) {
  const Bytes old4 = {192, 0, 2, 2};
  const Bytes new4 = {192, 0, 2, 3};
  const Bytes old6 = {0x20, 1, 0xd, 0xb8, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  ASSERT_TRUE(Send(kNs4, 40000, kServer4, 5353, Text("a")));  // fd 100
  ASSERT_TRUE(Send(kNs4, 40001, kOther4, 5353, Text("b")));   // fd 101
  ASSERT_TRUE(Send(kNs6, 40002, kServer6, 5353, Text("c")));  // fd 102
  ASSERT_EQ(flows->active(), 3u);
  sockets.local[100] = old4;
  sockets.local[101] = new4;
  sockets.local[102] = old6;

  EXPECT_EQ(flows->CloseFlowsFrom({Ip(old4), Ip(old6)}), 2u);
  flows->Reap();
  std::sort(sockets.closed.begin(), sockets.closed.end());
  EXPECT_EQ(sockets.closed, (std::vector<int>{100, 102}));
  EXPECT_EQ(flows->active(), 1u);
  EXPECT_EQ(flows->counters().closed_addr_gone, 2u);
  EXPECT_EQ(flows->CloseFlowsFrom({Ip(old4), Ip(old6)}), 0u);
  EXPECT_EQ(flows->CloseFlowsFrom({}), 0u);

  // The namespace's next datagram of that flow: a new socket.
  ASSERT_TRUE(Send(kNs4, 40000, kServer4, 5353, Text("a2")));
  EXPECT_EQ(sockets.opened.size(), 4u);
  ASSERT_FALSE(sockets.sends.empty());
  EXPECT_EQ(sockets.sends.back().fd, 103);
  EXPECT_EQ(sockets.sends.back().payload, Text("a2"));
}

TEST_F(UdpTest, ReplyV4IsAFrameWithSwappedAddressesAndValidChecksums) {
  Send(kNs4, 40000, kServer4, 5353, Text("query"));
  Reply(100, Text("answer!"));  // odd length: checksum padding
  ASSERT_EQ(sink.frames.size(), 1u);
  const Parsed p = ParseFrame(sink.frames[0]);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.dst_mac, Bytes(kNsMac.bytes.begin(), kNsMac.bytes.end()));
  EXPECT_EQ(p.src_mac, Bytes(kOurMac.bytes.begin(), kOurMac.bytes.end()));
  EXPECT_EQ(p.src, kServer4);
  EXPECT_EQ(p.dst, kNs4);
  EXPECT_EQ(p.protocol, wire::kProtoUdp);
  EXPECT_EQ(p.sport, 5353);
  EXPECT_EQ(p.dport, 40000);
  EXPECT_EQ(p.payload, Text("answer!"));
  EXPECT_TRUE(p.checksum_ok);
  EXPECT_EQ(flows->counters().received, 1u);
}

TEST_F(UdpTest, OutboundAndReplyV6) {
  ASSERT_TRUE(Send(kNs6, 5000, kServer6, 443, Text("quic")));
  ASSERT_EQ(sockets.opened, std::vector<int>{AF_INET6});
  EXPECT_EQ(sockets.binds[0].port, 5000);
  EXPECT_EQ(sockets.connects[0].addr, kServer6);
  EXPECT_EQ(sockets.connects[0].port, 443);
  EXPECT_EQ(sockets.sends[0].payload, Text("quic"));
  Reply(100, Text("hello back"));
  ASSERT_EQ(sink.frames.size(), 1u);
  const Parsed p = ParseFrame(sink.frames[0]);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.src, kServer6);
  EXPECT_EQ(p.dst, kNs6);
  EXPECT_EQ(p.sport, 443);
  EXPECT_EQ(p.dport, 5000);
  EXPECT_EQ(p.payload, Text("hello back"));
  EXPECT_TRUE(p.checksum_ok);
}

TEST_F(UdpTest, SameFiveTupleReusesTheFlow) {
  Send(kNs4, 40000, kServer4, 53, Text("a"));
  Send(kNs4, 40000, kServer4, 53, Text("b"));
  EXPECT_EQ(sockets.opened.size(), 1u);
  ASSERT_EQ(sockets.sends.size(), 2u);
  EXPECT_EQ(sockets.sends[1].fd, 100);
  EXPECT_EQ(sockets.sends[1].payload, Text("b"));
  Send(kNs4, 40000, kOther4, 53, Text("c"));   // other destination
  Send(kNs4, 40000, kServer4, 54, Text("d"));  // other port
  EXPECT_EQ(sockets.opened.size(), 3u);
  EXPECT_EQ(flows->active(), 3u);
}

TEST_F(UdpTest, TwoSourcePortsToOneDestinationNeverCrossReplies) {
  Send(kNs4, 1111, kServer4, 9000, Text("one"));
  Send(kNs4, 2222, kServer4, 9000, Text("two"));
  ASSERT_EQ(sockets.opened.size(), 2u);
  Reply(101, Text("to two"));
  Reply(100, Text("to one"));
  ASSERT_EQ(sink.frames.size(), 2u);
  const Parsed a = ParseFrame(sink.frames[0]);
  const Parsed b = ParseFrame(sink.frames[1]);
  EXPECT_EQ(a.dport, 2222);
  EXPECT_EQ(a.payload, Text("to two"));
  EXPECT_EQ(b.dport, 1111);
  EXPECT_EQ(b.payload, Text("to one"));
}

TEST_F(UdpTest, BindFallsBackToAnyPortWhenTheSourcePortIsTaken) {
  sockets.taken = {40000};
  Send(kNs4, 40000, kServer4, 9000, Text("x"));
  ASSERT_EQ(sockets.binds.size(), 2u);
  EXPECT_EQ(sockets.binds[0].port, 40000);
  EXPECT_EQ(sockets.binds[1].port, 0);
  EXPECT_EQ(sockets.sends.size(), 1u);
  // Privileged ports fall back the same way.
  sockets.taken = {123};
  sockets.bind_errno = EACCES;
  Send(kNs4, 123, kServer4, 123, Text("ntp"));
  EXPECT_EQ(sockets.binds.back().port, 0);
  EXPECT_EQ(sockets.sends.size(), 2u);
  // Anything else is a failure: counted, socket closed.
  sockets.taken = {7};
  sockets.bind_errno = EINVAL;
  Send(kNs4, 7, kServer4, 7, Text("echo"));
  EXPECT_EQ(sockets.sends.size(), 2u);
  EXPECT_EQ(flows->counters().dropped_socket, 1u);
  EXPECT_EQ(sockets.closed.size(), 1u);
  EXPECT_EQ(flows->active(), 2u);
}

TEST_F(UdpTest, GatewayIsTheHostsLoopbackAndRepliesComeFromTheGateway) {
  Send(kNs4, 40000, kGw4, 8080, Text("hi host"));
  ASSERT_EQ(sockets.connects.size(), 1u);
  EXPECT_EQ(sockets.connects[0].addr, kLo4);
  EXPECT_EQ(sockets.connects[0].port, 8080);
  Reply(100, Text("hi ns"), kLo4, 8080);
  Parsed p = ParseFrame(sink.frames.at(0));
  EXPECT_EQ(p.src, kGw4);
  EXPECT_EQ(p.sport, 8080);
  EXPECT_TRUE(p.checksum_ok);

  Send(kNs6, 40000, kGw6, 8080, Text("hi host"));
  EXPECT_EQ(sockets.connects.back().addr, kLo6);
  Reply(101, Text("hi ns"), kLo6, 8080);
  p = ParseFrame(sink.frames.at(1));
  EXPECT_EQ(p.src, kGw6);
  EXPECT_EQ(p.dst, kNs6);
  EXPECT_TRUE(p.checksum_ok);
}

TEST_F(UdpTest, DnsForwardGoesToTheResolverOnPort53Only) {
  Send(kNs4, 33333, kDnsFwd4, 53, Text("dns?"));
  ASSERT_EQ(sockets.connects.size(), 1u);
  EXPECT_EQ(sockets.connects[0].addr, kResolver4);
  EXPECT_EQ(sockets.connects[0].port, 53);
  Reply(100, Text("dns!"), kResolver4, 53);
  const Parsed p = ParseFrame(sink.frames.at(0));
  EXPECT_EQ(p.src, kDnsFwd4);  // what the namespace asked
  EXPECT_EQ(p.sport, 53);
  EXPECT_EQ(p.dport, 33333);
  EXPECT_TRUE(p.checksum_ok);
  // Another port of the same address is not DNS.
  Send(kNs4, 33333, kDnsFwd4, 5353, Text("mdns"));
  EXPECT_EQ(sockets.connects.back().addr, kDnsFwd4);
  EXPECT_EQ(sockets.connects.back().port, 5353);
}

TEST_F(UdpTest, DnsForwardWinsOverMapHostForTheSameAddress) {
  cfg.map.dns_forward4 = Ip(kGw4);
  Make();
  Send(kNs4, 33333, kGw4, 53, Text("dns?"));
  EXPECT_EQ(sockets.connects.back().addr, kResolver4);
  Send(kNs4, 33333, kGw4, 80, Text("http?"));
  EXPECT_EQ(sockets.connects.back().addr, kLo4);
}

TEST_F(UdpTest, BadDestinationsAreDroppedWithoutASocket) {
  EXPECT_TRUE(Send(kNs4, 40000, kServer4, 0, Text("port 0")));
  EXPECT_TRUE(Send(kNs4, 40000, kLo4, 53, Text("host loopback")));
  EXPECT_TRUE(Send(kNs4, 40000, {224, 0, 0, 251}, 5353, Text("mdns")));
  EXPECT_TRUE(Send(kNs4, 40000, {255, 255, 255, 255}, 67, Text("bcast")));
  EXPECT_TRUE(Send(kNs4, 40000, {0, 0, 0, 0}, 9, Text("zero")));
  EXPECT_TRUE(Send(kNs6, 40000, kLo6, 53, Text("host loopback")));
  Bytes mcast6(16, 0);
  mcast6[0] = 0xff;
  mcast6[1] = 0x02;
  mcast6[15] = 0xfb;
  EXPECT_TRUE(Send(kNs6, 40000, mcast6, 5353, Text("mdns")));
  EXPECT_TRUE(sockets.opened.empty());
  EXPECT_EQ(flows->counters().dropped_invalid, 7u);
  EXPECT_EQ(flows->active(), 0u);
}

TEST_F(UdpTest, DisabledFamilyIsNotHandled) {
  cfg.enabled6 = false;
  Make();
  EXPECT_FALSE(Send(kNs6, 1, kServer6, 2, Text("x")));
  EXPECT_TRUE(Send(kNs4, 1, kServer4, 2, Text("x")));
}

TEST_F(UdpTest, SendBusyIsCountedNotFatal) {
  sockets.send_errnos = {EAGAIN, ENOBUFS};
  EXPECT_TRUE(Send(kNs4, 40000, kServer4, 9000, Text("1")));
  EXPECT_TRUE(Send(kNs4, 40000, kServer4, 9000, Text("2")));
  EXPECT_TRUE(Send(kNs4, 40000, kServer4, 9000, Text("3")));
  EXPECT_EQ(flows->counters().dropped_busy, 2u);
  ASSERT_EQ(sockets.sends.size(), 1u);
  EXPECT_EQ(sockets.sends[0].payload, Text("3"));
  EXPECT_EQ(flows->active(), 1u);
}

TEST_F(UdpTest, PendingRefusalOnSendIsRetriedOnce) {
  Send(kNs4, 40000, kServer4, 9000, Text("1"));
  sockets.send_errnos = {ECONNREFUSED};
  Send(kNs4, 40000, kServer4, 9000, Text("2"));
  ASSERT_EQ(sockets.sends.size(), 2u);
  EXPECT_EQ(sockets.sends[1].payload, Text("2"));
  sockets.send_errnos = {ECONNREFUSED, ECONNREFUSED};
  Send(kNs4, 40000, kServer4, 9000, Text("3"));
  EXPECT_EQ(sockets.sends.size(), 2u);
  EXPECT_EQ(flows->counters().dropped_socket, 1u);
}

TEST_F(UdpTest, SocketFailuresAreCountedNotFatal) {
  sockets.refuse_open = true;
  EXPECT_TRUE(Send(kNs4, 40000, kServer4, 9000, Text("1")));
  sockets.refuse_open = false;
  sockets.refuse_connect = true;
  EXPECT_TRUE(Send(kNs4, 40000, kServer4, 9000, Text("2")));
  EXPECT_EQ(flows->counters().dropped_socket, 2u);
  EXPECT_EQ(sockets.closed, std::vector<int>{100});
  EXPECT_EQ(flows->active(), 0u);
}

TEST_F(UdpTest, RepliesLargerThanTheTapMtuAllowsAreDropped) {
  cfg.mtu = 1500;
  Make();
  Send(kNs4, 40000, kServer4, 9000, Text("x"));
  sockets.inbox[100].push_back({Bytes(1473, 'a'), kServer4, 9000});
  sockets.inbox[100].push_back({Bytes(1472, 'b'), kServer4, 9000});
  flows->OnReadable(0, AtSeconds(0));
  EXPECT_EQ(flows->counters().dropped_too_big, 1u);
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0].size(), 14u + 1500u);
  const Parsed p = ParseFrame(sink.frames[0]);
  EXPECT_EQ(p.payload, Bytes(1472, 'b'));
  EXPECT_TRUE(p.checksum_ok);
  // IPv6 headers are 20 bytes longer.
  Send(kNs6, 40000, kServer6, 9000, Text("x"));
  sockets.inbox[101].push_back({Bytes(1453, 'c'), kServer6, 9000});
  sockets.inbox[101].push_back({Bytes(1452, 'd'), kServer6, 9000});
  flows->OnReadable(sockets.watched.at(101), AtSeconds(0));
  EXPECT_EQ(flows->counters().dropped_too_big, 2u);
  ASSERT_EQ(sink.frames.size(), 2u);
  EXPECT_EQ(sink.frames[1].size(), 14u + 1500u);
}

TEST_F(UdpTest, ReadsAtMostABatchPerWakeup) {
  Send(kNs4, 40000, kServer4, 9000, Text("x"));
  for (int i = 0; i < kBatch + 5; ++i)
    sockets.inbox[100].push_back({Text("r"), kServer4, 9000});
  flows->OnReadable(0, AtSeconds(0));
  EXPECT_EQ(sink.frames.size(), static_cast<size_t>(kBatch));
  flows->OnReadable(0, AtSeconds(0));
  EXPECT_EQ(sink.frames.size(), static_cast<size_t>(kBatch + 5));
}

QueuedError PortUnreachable(int family, const Bytes& dst, uint16_t port,
                            const Bytes& quoted) {
  QueuedError e;
  e.info.err = ECONNREFUSED;
  e.info.family = family;
  std::memcpy(e.info.dst, dst.data(), dst.size());
  e.info.port = port;
  if (family == AF_INET) {
    e.info.origin = SO_EE_ORIGIN_ICMP;
    e.info.type = 3;
    e.info.code = 3;
  } else {
    e.info.origin = SO_EE_ORIGIN_ICMP6;
    e.info.type = 1;
    e.info.code = 4;
  }
  e.quoted = quoted;
  return e;
}

TEST_F(UdpTest, PortUnreachableV4BecomesAnIcmpErrorQuotingTheDatagram) {
  Send(kNs4, 40000, kServer4, 9000, Text("knock"));
  sockets.errors[100].push_back(
      PortUnreachable(AF_INET, kServer4, 9000, Text("knock")));
  sockets.recv_errno = ECONNREFUSED;
  flows->OnReadable(0, AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  const Parsed p = ParseFrame(sink.frames[0]);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.dst_mac, Bytes(kNsMac.bytes.begin(), kNsMac.bytes.end()));
  EXPECT_EQ(p.protocol, wire::kProtoIcmp);
  EXPECT_EQ(p.src, kServer4);
  EXPECT_EQ(p.dst, kNs4);
  EXPECT_TRUE(p.checksum_ok);  // ICMP checksum (no pseudo-header)
  const Bytes& m = p.l4;
  ASSERT_EQ(m.size(), 8u + 20u + 8u + 5u);
  EXPECT_EQ(m[0], 3);
  EXPECT_EQ(m[1], 3);
  // The quoted IPv4 header: as the namespace sent it, valid checksum.
  const auto qip = wire::Ipv4View::Parse(absl::MakeConstSpan(m).subspan(8));
  ASSERT_TRUE(qip.has_value());
  EXPECT_EQ(Bytes(qip->src(), qip->src() + 4), kNs4);
  EXPECT_EQ(Bytes(qip->dst(), qip->dst() + 4), kServer4);
  EXPECT_EQ(qip->protocol(), wire::kProtoUdp);
  const auto qudp = wire::UdpView::Parse(qip->payload());
  ASSERT_TRUE(qudp.has_value());
  EXPECT_EQ(qudp->src_port(), 40000);
  EXPECT_EQ(qudp->dst_port(), 9000);
  EXPECT_EQ(Bytes(qudp->payload().begin(), qudp->payload().end()),
            Text("knock"));
  // All of it was quoted, so the quoted UDP checksum is the real one.
  EXPECT_EQ(wire::Finish(wire::SumBytes(
                qudp->bytes(), wire::PseudoSum4(kNs4.data(), kServer4.data(),
                                                wire::kProtoUdp, 13))),
            0);
  EXPECT_EQ(flows->counters().icmp_relayed, 1u);
}

TEST_F(UdpTest, PortUnreachableV6BecomesAnIcmpv6Error) {
  Send(kNs6, 40000, kServer6, 9000, Text("knock"));
  sockets.errors[100].push_back(
      PortUnreachable(AF_INET6, kServer6, 9000, Text("knock")));
  flows->OnReadable(0, AtSeconds(0));  // no datagram: the wakeup was EPOLLERR
  ASSERT_EQ(sink.frames.size(), 1u);
  const Parsed p = ParseFrame(sink.frames[0]);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.protocol, wire::kProtoIcmpv6);
  EXPECT_EQ(p.src, kServer6);
  EXPECT_EQ(p.dst, kNs6);
  EXPECT_TRUE(p.checksum_ok);  // with the IPv6 pseudo-header
  const Bytes& m = p.l4;
  ASSERT_EQ(m.size(), 8u + 40u + 8u + 5u);
  EXPECT_EQ(m[0], 1);
  EXPECT_EQ(m[1], 4);
  const auto qip = wire::Ipv6View::Parse(absl::MakeConstSpan(m).subspan(8));
  ASSERT_TRUE(qip.has_value());
  EXPECT_EQ(Bytes(qip->src(), qip->src() + 16), kNs6);
  EXPECT_EQ(Bytes(qip->dst(), qip->dst() + 16), kServer6);
  EXPECT_EQ(qip->protocol(), wire::kProtoUdp);
  const auto qudp = wire::UdpView::Parse(qip->payload());
  ASSERT_TRUE(qudp.has_value());
  EXPECT_EQ(qudp->src_port(), 40000);
  EXPECT_EQ(qudp->dst_port(), 9000);
  EXPECT_EQ(wire::Finish(wire::SumBytes(qudp->bytes(), qip->PseudoSum())), 0);
}

TEST_F(UdpTest, PartlyQuotedDatagramKeepsItsLengthAndOmitsTheUdpChecksum) {
  Send(kNs4, 40000, kServer4, 9000, Bytes(1000, 'z'));
  // The kernel kept nothing of the payload.
  sockets.errors[100].push_back(PortUnreachable(AF_INET, kServer4, 9000, {}));
  flows->OnReadable(0, AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  const Parsed p = ParseFrame(sink.frames[0]);
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.checksum_ok);
  ASSERT_EQ(p.l4.size(), 8u + 20u + 8u);
  const uint8_t* qip = p.l4.data() + 8;
  EXPECT_EQ(wire::LoadBe16(qip + 2), 20 + 8 + 1000);
  EXPECT_EQ(wire::Finish(wire::SumBytes(absl::MakeConstSpan(qip, 20))), 0);
  const uint8_t* qudp = qip + 20;
  EXPECT_EQ(wire::LoadBe16(qudp), 40000);
  EXPECT_EQ(wire::LoadBe16(qudp + 2), 9000);
  EXPECT_EQ(wire::LoadBe16(qudp + 4), 8 + 1000);
  EXPECT_EQ(wire::LoadBe16(qudp + 6), 0);
}

TEST_F(UdpTest, LargeQuotesAreCutToTheRfcLimit) {
  Send(kNs4, 40000, kServer4, 9000, Bytes(1400, 'q'));
  sockets.errors[100].push_back(
      PortUnreachable(AF_INET, kServer4, 9000, Bytes(1400, 'q')));
  flows->OnReadable(0, AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0].size(), 14u + 576u);  // RFC 1812 4.3.2.3
  EXPECT_TRUE(ParseFrame(sink.frames[0]).checksum_ok);
}

TEST_F(UdpTest, OtherErrorsAreNotRelayed) {
  Send(kNs4, 40000, kServer4, 9000, Text("x"));
  QueuedError local = PortUnreachable(AF_INET, kServer4, 9000, {});
  local.info.origin = SO_EE_ORIGIN_LOCAL;
  local.info.err = EMSGSIZE;
  QueuedError frag = PortUnreachable(AF_INET, kServer4, 9000, {});
  frag.info.code = 4;  // fragmentation needed: the host's path MTU
  sockets.errors[100] = {local, frag};
  flows->OnReadable(0, AtSeconds(0));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(sockets.errors[100].empty());  // drained all the same
}

TEST_F(UdpTest, IdleFlowsExpireAndCloseTheirSockets) {
  Send(kNs4, 40000, kServer4, 9000, Text("x"), 10);
  Send(kNs4, 40001, kServer4, 9000, Text("x"), 10);
  Reply(101, Text("keeps it alive"), kServer4, 9000, 100);
  flows->Expire(AtSeconds(10 + kIdleSeconds - 1));
  EXPECT_EQ(flows->active(), 2u);
  flows->Expire(AtSeconds(10 + kIdleSeconds));
  // The loop frees what closed at the end of its iteration.
  flows->Reap();
  EXPECT_EQ(flows->active(), 1u);
  EXPECT_EQ(sockets.closed, std::vector<int>{100});
  EXPECT_EQ(flows->counters().expired, 1u);
  // A stale wakeup for the freed slot does nothing.
  flows->OnReadable(0, AtSeconds(500));
  // The same 5-tuple again is a new flow with a new socket.
  Send(kNs4, 40000, kServer4, 9000, Text("x"), 500);
  EXPECT_EQ(sockets.opened.size(), 3u);
}

TEST_F(UdpTest, FullTableRefusesCleanly) {
  for (uint32_t i = 0; i < kMaxFlows; ++i)
    Send(kNs4, static_cast<uint16_t>(1000 + i), kServer4, 9000, Text("x"));
  EXPECT_EQ(flows->active(), kMaxFlows);
  EXPECT_TRUE(Send(kNs4, 60000, kServer4, 9000, Text("one too many")));
  EXPECT_EQ(flows->active(), kMaxFlows);
  EXPECT_EQ(flows->counters().dropped_table_full, 1u);
  EXPECT_EQ(sockets.opened.size(), kMaxFlows);
  // Existing flows still work both ways.
  Send(kNs4, 1005, kServer4, 9000, Text("still here"));
  EXPECT_EQ(sockets.sends.back().payload, Text("still here"));
  EXPECT_EQ(sockets.sends.back().fd, 105);
  Reply(105, Text("yes"));
  EXPECT_EQ(ParseFrame(sink.frames.back()).dport, 1005);
  // And a slot freed by expiry is used again.
  flows->Expire(AtSeconds(kIdleSeconds));
  flows->Reap();  // as the loop does at the end of its iteration
  EXPECT_EQ(flows->active(), 0u);
  Send(kNs4, 60000, kServer4, 9000, Text("room now"), kIdleSeconds);
  EXPECT_EQ(flows->active(), 1u);
}

// Closing is deferred to the loop's reap: within the batch, an event for
// the closed flow reads nothing and its slot is not free yet (a full table
// still refuses, and counts it); after the reap its socket is closed and
// the slot serves a new flow.
TEST_F(UdpTest,
       AFlowClosedInABatchIgnoresItsEventsAndHoldsItsSlotUntilTheReap) {
  for (uint32_t i = 0; i < kMaxFlows; ++i)
    Send(kNs4, static_cast<uint16_t>(1000 + i), kServer4, 9000, Text("x"));
  Send(kNs4, 1000, kServer4, 9000, Text("later"), 5);  // keeps fd 100 alive
  flows->Expire(AtSeconds(kIdleSeconds));
  EXPECT_EQ(flows->active(), 1u);
  EXPECT_TRUE(sockets.closed.empty()) << "closing waits for the reap";
  const size_t frames = sink.frames.size();
  Reply(101, Text("stale"), kServer4, 9000, kIdleSeconds);
  EXPECT_EQ(sink.frames.size(), frames);  // ignored
  EXPECT_TRUE(
      Send(kNs4, 60000, kServer4, 9000, Text("no room yet"), kIdleSeconds));
  EXPECT_EQ(flows->counters().dropped_table_full, 1u);
  flows->Reap();
  EXPECT_EQ(sockets.closed.size(), kMaxFlows - 1);
  Send(kNs4, 60000, kServer4, 9000, Text("room now"), kIdleSeconds);
  EXPECT_EQ(flows->active(), 2u);
  EXPECT_EQ(sockets.sends.back().payload, Text("room now"));
  // The flow that stayed still answers.
  Reply(100, Text("yes"), kServer4, 9000, kIdleSeconds);
  EXPECT_EQ(sink.frames.size(), frames + 1);
}

TEST_F(UdpTest, InboundListenerRelaysBothWays) {
  ASSERT_TRUE(flows->AddListener(AF_INET, nullptr, 5000, 6000).ok());
  ASSERT_EQ(sockets.binds.size(), 1u);
  EXPECT_TRUE(sockets.binds[0].addr.empty());
  EXPECT_EQ(sockets.binds[0].port, 5000);
  const int lfd = 100;
  EXPECT_EQ(sockets.watched.at(lfd), 0u);  // the first listener
  EXPECT_EQ(sockets.listeners.count(lfd), 1u);
  flows->set_ns_mac(kNsMac);
  const Bytes remote = {192, 0, 2, 77};
  sockets.inbox[lfd].push_back({Text("ping"), remote, 41000});
  flows->OnListenerReadable(0, AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  const Parsed p = ParseFrame(sink.frames[0]);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.dst_mac, Bytes(kNsMac.bytes.begin(), kNsMac.bytes.end()));
  EXPECT_EQ(p.src, remote);
  EXPECT_EQ(p.sport, 41000);
  EXPECT_EQ(p.dst, kNs4);
  EXPECT_EQ(p.dport, 6000);
  EXPECT_EQ(p.payload, Text("ping"));
  EXPECT_TRUE(p.checksum_ok);
  EXPECT_EQ(flows->active(), 1u);
  // The namespace answers from its port to the remote: out of the listener.
  ASSERT_TRUE(Send(kNs4, 6000, remote, 41000, Text("pong")));
  EXPECT_EQ(sockets.opened.size(), 1u);  // no new socket
  ASSERT_EQ(sockets.sends.size(), 1u);
  EXPECT_EQ(sockets.sends[0].fd, lfd);
  EXPECT_EQ(sockets.sends[0].addr, remote);
  EXPECT_EQ(sockets.sends[0].port, 41000);
  EXPECT_EQ(sockets.sends[0].payload, Text("pong"));
  // Expiry forgets the flow but keeps the listener open.
  flows->Expire(AtSeconds(kIdleSeconds));
  EXPECT_EQ(flows->active(), 0u);
  EXPECT_TRUE(sockets.closed.empty());
  sockets.inbox[lfd].push_back({Text("again"), remote, 41000});
  flows->OnListenerReadable(0, AtSeconds(kIdleSeconds));
  EXPECT_EQ(sink.frames.size(), 2u);
  // Destruction closes the listener.
  flows.reset();
  EXPECT_EQ(sockets.closed, std::vector<int>{lfd});
}

TEST_F(UdpTest, InboundListenerWithATargetAddress) {
  // -u 0.0.0.0/5000:192.0.2.5/6000: datagrams go to 192.0.2.5, and its
  // answers go back out of the listener.
  const IpAddr to = *ParseIp("192.0.2.5");
  ASSERT_TRUE(flows->AddListener(AF_INET, nullptr, 5000, 6000, &to).ok());
  const int lfd = 100;
  flows->set_ns_mac(kNsMac);
  const Bytes remote = {192, 0, 2, 77};
  sockets.inbox[lfd].push_back({Text("ping"), remote, 41000});
  flows->OnListenerReadable(0, AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 1u);
  const Parsed p = ParseFrame(sink.frames[0]);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.dst, (Bytes{192, 0, 2, 5}));
  EXPECT_EQ(p.dport, 6000);
  EXPECT_EQ(p.payload, Text("ping"));
  ASSERT_TRUE(Send({192, 0, 2, 5}, 6000, remote, 41000, Text("pong")));
  ASSERT_EQ(sockets.sends.size(), 1u);
  EXPECT_EQ(sockets.sends[0].fd, lfd);
  EXPECT_EQ(sockets.sends[0].payload, Text("pong"));
  const IpAddr v6 = *ParseIp("2001:db8::5");
  EXPECT_FALSE(flows->AddListener(AF_INET, nullptr, 5001, 6000, &v6).ok());
}

TEST_F(UdpTest, InboundFromLoopbackIsShownAsTheMappedHostAddress) {
  ASSERT_TRUE(flows->AddListener(AF_INET, nullptr, 5000, 5000).ok());
  ASSERT_TRUE(flows->AddListener(AF_INET6, nullptr, 5000, 5000).ok());
  EXPECT_EQ(sockets.watched.at(101), 1u);
  EXPECT_EQ(sockets.listeners.count(101), 1u);
  sockets.inbox[100].push_back({Text("from host"), {127, 0, 0, 9}, 41000});
  flows->OnListenerReadable(0, AtSeconds(0));
  sockets.inbox[101].push_back({Text("from host"), kLo6, 41001});
  flows->OnListenerReadable(1, AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 2u);
  Parsed p = ParseFrame(sink.frames[0]);
  EXPECT_EQ(p.src, kGw4);
  EXPECT_TRUE(p.checksum_ok);
  p = ParseFrame(sink.frames[1]);
  EXPECT_EQ(p.src, kGw6);
  EXPECT_EQ(p.dst, kNs6);
  EXPECT_EQ(p.sport, 41001);
  EXPECT_TRUE(p.checksum_ok);
  // Broadcast MAC until the namespace's is known.
  EXPECT_EQ(p.dst_mac, Bytes(6, 0xff));
  // Replies to the mapped address go back to the real loopback source.
  Send(kNs4, 5000, kGw4, 41000, Text("back"));
  ASSERT_EQ(sockets.sends.size(), 1u);
  EXPECT_EQ(sockets.sends[0].fd, 100);
  EXPECT_EQ(sockets.sends[0].addr, Bytes({127, 0, 0, 9}));
  EXPECT_EQ(sockets.sends[0].port, 41000);
}

TEST_F(UdpTest, InboundPortUnreachableFindsTheFlowByDestination) {
  ASSERT_TRUE(flows->AddListener(AF_INET, nullptr, 5000, 6000).ok());
  const Bytes remote = {192, 0, 2, 77};
  sockets.inbox[100].push_back({Text("ping"), remote, 41000});
  flows->OnListenerReadable(0, AtSeconds(0));
  Send(kNs4, 6000, remote, 41000, Text("pong"));
  sockets.errors[100].push_back(
      PortUnreachable(AF_INET, remote, 41000, Text("pong")));
  flows->OnListenerReadable(0, AtSeconds(0));
  ASSERT_EQ(sink.frames.size(), 2u);
  const Parsed p = ParseFrame(sink.frames[1]);
  EXPECT_EQ(p.protocol, wire::kProtoIcmp);
  EXPECT_EQ(p.src, remote);
  EXPECT_EQ(p.dst, kNs4);
  EXPECT_TRUE(p.checksum_ok);
  EXPECT_EQ(wire::LoadBe16(p.l4.data() + 8 + 20), 6000);
  EXPECT_EQ(wire::LoadBe16(p.l4.data() + 8 + 22), 41000);
}

TEST_F(UdpTest, ListenerErrors) {
  sockets.taken = {5000};
  const absl::Status st = flows->AddListener(AF_INET, nullptr, 5000, 5000);
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(sockets.closed, std::vector<int>{100});
  const IpAddr v6 = Ip(kNs6);
  EXPECT_FALSE(flows->AddListener(AF_INET, &v6, 5001, 5001).ok());
  const IpAddr v4 = Ip(kNs4);
  ASSERT_TRUE(flows->AddListener(AF_INET, &v4, 5001, 5001).ok());
  EXPECT_EQ(sockets.binds.back().addr, kNs4);
  EXPECT_EQ(flows->listeners(), 1u);
  // No namespace address of the family: inbound datagrams are dropped.
  cfg.ns_addr4 = IpAddr{};
  Make();
  ASSERT_TRUE(flows->AddListener(AF_INET, nullptr, 5002, 5002).ok());
  const int fd = sockets.next_fd - 1;
  sockets.inbox[fd].push_back({Text("x"), kServer4, 1});
  flows->OnListenerReadable(0, AtSeconds(0));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(flows->counters().dropped_no_ns_addr, 1u);
  // Unknown slots are ignored.
  flows->OnListenerReadable(7, AtSeconds(0));
  flows->OnReadable(kMaxFlows - 1, AtSeconds(0));
}

// The system socket layer for real: loopback only, in a network namespace
// this test makes (a user namespace too when not root). The namespace's
// "gateway" is mapped to 127.0.0.1, where a server answers; a closed port
// answers with ICMP port unreachable.
int RealSocketsChild() {
  if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
    return 77;  // cannot: skip
  const int ctl = socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  if (ctl < 0 || ioctl(ctl, SIOCGIFFLAGS, &ifr) != 0) return 10;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (ioctl(ctl, SIOCSIFFLAGS, &ifr) != 0) return 11;
  close(ctl);

  // A server on 127.0.0.1 that echoes one datagram.
  const int server = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof(sa);
  if (bind(server, reinterpret_cast<sockaddr*>(&sa), sl) != 0) return 12;
  getsockname(server, reinterpret_cast<sockaddr*>(&sa), &sl);
  const uint16_t server_port = ntohs(sa.sin_port);

  const int ep = epoll_create1(0);
  sock::SystemSys sys(ep);
  FrameLog sink;
  UdpConfig cfg;
  cfg.map.map_host4 = Ip(kGw4);
  cfg.ns_addr4 = Ip(kNs4);
  UdpFlows flows(cfg, &sys, &sink, flow::SipKey{7, 8});
  const Bytes seg = UdpSegment(40000, server_port, Text("echo me"));
  flows.FromNamespace(AF_INET, kNs4.data(), kGw4.data(),
                      *wire::UdpView::Parse(seg), kNsMac, AtSeconds(0));
  char buf[64];
  sockaddr_in from{};
  socklen_t fl = sizeof(from);
  const ssize_t n = recvfrom(server, buf, sizeof(buf), 0,
                             reinterpret_cast<sockaddr*>(&from), &fl);
  if (n != 7 || std::memcmp(buf, "echo me", 7) != 0) return 13;
  if (ntohs(from.sin_port) != 40000) return 14;  // the same source port
  sendto(server, "echoed", 6, 0, reinterpret_cast<sockaddr*>(&from), fl);
  epoll_event ev;
  if (epoll_wait(ep, &ev, 1, 2000) != 1) return 15;
  const loop::Ref ref = loop::Ref::Unpack(ev.data.u64);
  if (ref.kind != loop::Kind::kUdp) return 16;
  flows.OnReadable(ref.index, AtSeconds(0));
  if (sink.frames.size() != 1) return 17;
  const Parsed p = ParseFrame(sink.frames[0]);
  if (p.src != kGw4 || p.sport != server_port || p.dport != 40000 ||
      p.payload != Text("echoed") || !p.checksum_ok)
    return 18;

  // A closed port: the kernel answers port unreachable.
  close(server);
  flows.FromNamespace(AF_INET, kNs4.data(), kGw4.data(),
                      *wire::UdpView::Parse(seg), kNsMac, AtSeconds(1));
  if (epoll_wait(ep, &ev, 1, 2000) != 1) return 19;
  if ((ev.events & EPOLLERR) == 0) return 20;
  flows.OnReadable(loop::Ref::Unpack(ev.data.u64).index, AtSeconds(1));
  if (sink.frames.size() != 2) return 21;
  const Parsed icmp = ParseFrame(sink.frames[1]);
  if (icmp.protocol != wire::kProtoIcmp || icmp.src != kGw4 ||
      !icmp.checksum_ok || icmp.l4.size() != 8 + 20 + 8 + 7 ||
      icmp.l4[0] != 3 || icmp.l4[1] != 3)
    return 22;
  // The error queue is empty again: no more wakeups.
  if (epoll_wait(ep, &ev, 1, 0) != 0) return 23;

  // A listener: a datagram from loopback shows as the gateway, and the
  // namespace's answer comes back from the port the client talked to.
  if (!flows.AddListener(AF_INET, nullptr, 47000, 6000).ok()) return 24;
  const int client = socket(AF_INET, SOCK_DGRAM, 0);
  sa.sin_port = htons(47000);
  if (connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    return 25;
  sockaddr_in me{};
  socklen_t ml = sizeof(me);
  getsockname(client, reinterpret_cast<sockaddr*>(&me), &ml);
  if (send(client, "in", 2, 0) != 2) return 26;
  if (epoll_wait(ep, &ev, 1, 2000) != 1) return 27;
  if (loop::Ref::Unpack(ev.data.u64).kind != loop::Kind::kUdpListen ||
      loop::Ref::Unpack(ev.data.u64).index != 0)
    return 28;
  flows.OnListenerReadable(0, AtSeconds(2));
  if (sink.frames.size() != 3) return 29;
  const Parsed in = ParseFrame(sink.frames[2]);
  if (in.src != kGw4 || in.sport != ntohs(me.sin_port) || in.dst != kNs4 ||
      in.dport != 6000 || in.payload != Text("in") || !in.checksum_ok)
    return 30;
  const Bytes answer = UdpSegment(6000, ntohs(me.sin_port), Text("out"));
  flows.FromNamespace(AF_INET, kNs4.data(), kGw4.data(),
                      *wire::UdpView::Parse(answer), kNsMac, AtSeconds(2));
  if (recv(client, buf, sizeof(buf), 0) != 3 || std::memcmp(buf, "out", 3) != 0)
    return 31;
  return 0;
}

TEST(UdpSystemTest, LoopbackInAPrivateNetworkNamespace) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(RealSocketsChild());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "no network namespace here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "step that failed (see the source)";
}

// UDP GSO coalescing (UdpConfig::coalesce): consecutive equal-sized
// datagrams of one flow become one SendSegments() call at Flush().
class GsoSockets : public FakeSockets {
 public:
  Result SendSegments(int fd, absl::Span<const uint8_t> data,
                      uint16_t segment) override {
    if (refuse_gso) return sock::Fail(EIO);
    gso.push_back({fd, segment, Bytes(data.begin(), data.end())});
    return sock::Ok(static_cast<ssize_t>(data.size()));
  }
  struct Gso {
    int fd;
    uint16_t segment;
    Bytes data;
  };
  std::vector<Gso> gso;
  bool refuse_gso = false;
};

struct CoalesceTest : ::testing::Test {
  CoalesceTest() {
    cfg.our_mac = kOurMac;
    cfg.coalesce = true;
    flows =
        std::make_unique<UdpFlows>(cfg, &sockets, &sink, flow::SipKey{7, 8});
  }
  void Send(uint16_t sport, const Bytes& payload) {
    const Bytes seg = UdpSegment(sport, 9000, payload);
    ASSERT_TRUE(flows->FromNamespace(AF_INET, kNs4.data(), kServer4.data(),
                                     *wire::UdpView::Parse(seg), kNsMac,
                                     AtSeconds(0)));
  }
  UdpConfig cfg;
  GsoSockets sockets;
  FrameLog sink;
  std::unique_ptr<UdpFlows> flows;
};

TEST_F(CoalesceTest, EqualDatagramsOfAFlowGoOutAsOneGsoSend) {
  for (uint8_t i = 0; i < 5; ++i) Send(40000, Bytes(100, i));
  EXPECT_TRUE(sockets.sends.empty());  // pending until the batch ends
  EXPECT_TRUE(sockets.gso.empty());
  flows->Flush();
  ASSERT_EQ(sockets.gso.size(), 1u);
  EXPECT_EQ(sockets.gso[0].segment, 100);
  ASSERT_EQ(sockets.gso[0].data.size(), 500u);
  for (size_t i = 0; i < 5; ++i)
    EXPECT_EQ(sockets.gso[0].data[i * 100 + 99], i);
  EXPECT_EQ(flows->counters().sent, 5u);
  EXPECT_EQ(flows->counters().gso_sends, 1u);
  flows->Flush();  // nothing pending: nothing sent
  EXPECT_EQ(sockets.gso.size(), 1u);
}

TEST_F(CoalesceTest, AShorterDatagramEndsTheRun) {
  Send(40000, Bytes(100, 1));
  Send(40000, Bytes(100, 2));
  Send(40000, Bytes(30, 3));  // may only be last: sent at once
  ASSERT_EQ(sockets.gso.size(), 1u);
  EXPECT_EQ(sockets.gso[0].data.size(), 230u);
  Send(40000, Bytes(100, 4));
  Send(40000, Bytes(200, 5));  // longer: a new run
  flows->Flush();
  ASSERT_EQ(sockets.sends.size(), 2u);  // two runs of one: plain sends
  EXPECT_EQ(sockets.sends[0].payload, Bytes(100, 4));
  EXPECT_EQ(sockets.sends[1].payload, Bytes(200, 5));
}

TEST_F(CoalesceTest, FlowsInterleavedKeepTheirOrder) {
  Send(40000, Bytes(50, 1));
  Send(40000, Bytes(50, 2));
  Send(40001, Bytes(50, 3));  // another flow: the first run goes out
  Send(40000, Bytes(50, 4));
  flows->Flush();
  ASSERT_EQ(sockets.gso.size(), 1u);
  EXPECT_EQ(sockets.gso[0].data.size(), 100u);
  ASSERT_EQ(sockets.sends.size(), 2u);
  EXPECT_EQ(sockets.sends[0].payload, Bytes(50, 3));
  EXPECT_EQ(sockets.sends[1].payload, Bytes(50, 4));
  EXPECT_NE(sockets.sends[0].fd, sockets.sends[1].fd);
}

TEST_F(CoalesceTest, RunsAreCappedInSegmentsAndBytes) {
  // 70 datagrams: a run of 64 (the most one GSO send takes), then 6.
  for (int i = 0; i < 70; ++i) Send(40000, Bytes(10, static_cast<uint8_t>(i)));
  flows->Flush();
  ASSERT_EQ(sockets.gso.size(), 2u);
  EXPECT_EQ(sockets.gso[0].data.size(), 640u);
  EXPECT_EQ(sockets.gso[1].data.size(), 60u);
  EXPECT_EQ(sockets.gso[1].data[0], 64);
  // 1400-byte datagrams: 46 fit the 65000-byte cap.
  for (int i = 0; i < 50; ++i) Send(40000, Bytes(1400, 1));
  flows->Flush();
  ASSERT_EQ(sockets.gso.size(), 4u);
  EXPECT_EQ(sockets.gso[2].data.size(), 46u * 1400);
  EXPECT_EQ(sockets.gso[3].data.size(), 4u * 1400);
  EXPECT_EQ(flows->counters().sent, 120u);
}

TEST_F(CoalesceTest, RefusedGsoFallsBackToSingleSendsForGood) {
  sockets.refuse_gso = true;
  for (uint8_t i = 0; i < 3; ++i) Send(40000, Bytes(64, i));
  flows->Flush();
  ASSERT_EQ(sockets.sends.size(), 3u);  // re-sent one by one, in order
  for (uint8_t i = 0; i < 3; ++i)
    EXPECT_EQ(sockets.sends[i].payload, Bytes(64, i));
  Send(40000, Bytes(64, 9));  // from now on: at once
  EXPECT_EQ(sockets.sends.size(), 4u);
  EXPECT_EQ(flows->counters().sent, 4u);
}

}  // namespace
}  // namespace pasta::udp
