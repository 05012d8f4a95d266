// UdpRelay against a fake of the socket seam: where a flow's socket is made
// and what it is connected to, where replies go, what a failure costs, and
// idle expiry, without the kernel. The real sockets are in relay_test.cc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "fake_sys.h"
#include "gtest/gtest.h"
#include "loop/epoll_ref.h"
#include "test_clock.h"
#include "udp/relay.h"

namespace pasta::udp {
namespace {

using sock::Netns;
using sock::Result;

class FakeRelaySys : public fake::FakeSys {
 public:
  struct In {
    int family;
    std::string addr;  // 4 or 16 bytes
    uint16_t port;
    std::string payload;
  };
  struct Out {  // one datagram of a SendBatch()
    int fd;
    bool to_loopback;
    uint16_t port;
    std::string payload;
  };
  struct Fd {
    Netns where = Netns::kHost;
    bool connected = false;
    bool to_loopback = false;
    uint16_t connect_port = 0;
    std::deque<In> rx;
    std::vector<std::string> sent;  // Send()
    uint64_t ref = 0;
    bool closed = false;
  };

  int NewFd() { return next_fd_++; }

  Result Socket(Netns where, int family, int type, int) override {
    EXPECT_EQ(type, SOCK_DGRAM);
    EXPECT_TRUE(family == AF_INET || family == AF_INET6);
    if (socket_errno != 0) return sock::Fail(socket_errno);
    const int fd = NewFd();
    fds[fd].where = where;
    return sock::Ok(fd);
  }
  Result Connect(int fd, int, const uint8_t* addr, uint16_t port) override {
    Fd& s = fds[fd];
    s.to_loopback = addr == nullptr;
    s.connect_port = port;
    if (connect_errno != 0) return sock::Fail(connect_errno);
    s.connected = true;
    return sock::Ok();
  }
  Result Watch(int fd, uint64_t data, uint32_t events) override {
    EXPECT_EQ(events, static_cast<uint32_t>(EPOLLIN));
    fds[fd].ref = data;
    return sock::Ok();
  }
  Result Close(int fd) override {
    if (fds[fd].closed) ADD_FAILURE() << "fd " << fd << " closed twice";
    fds[fd].closed = true;
    return sock::Ok();
  }
  Result Send(int fd, absl::Span<const uint8_t> data) override {
    fds[fd].sent.emplace_back(reinterpret_cast<const char*>(data.data()),
                              data.size());
    return sock::Ok(static_cast<ssize_t>(data.size()));
  }
  Result RecvBatch(int fd, sock::Datagram* batch, int n) override {
    Fd& s = fds[fd];
    if (s.rx.empty()) return sock::Fail(EAGAIN);
    int got = 0;
    for (; got < n && !s.rx.empty(); ++got) {
      const In& in = s.rx.front();
      sock::Datagram& d = batch[got];
      EXPECT_GE(d.cap, in.payload.size());
      std::memcpy(d.data, in.payload.data(), in.payload.size());
      d.len = in.payload.size();
      d.family = in.family;
      std::memcpy(d.addr, in.addr.data(), in.addr.size());
      d.port = in.port;
      s.rx.pop_front();
    }
    return sock::Ok(got);
  }
  Result SendBatch(int fd, int, const uint8_t* addr, uint16_t port,
                   const sock::Datagram* batch, int n) override {
    for (int i = 0; i < n; ++i) {
      out.push_back(
          Out{fd, addr == nullptr, port,
              std::string(reinterpret_cast<const char*>(batch[i].data),
                          batch[i].len)});
    }
    return sock::Ok(n);
  }

  // The flow sockets made so far (not listeners).
  std::vector<int> Flows() const {
    std::vector<int> v;
    for (const auto& [fd, s] : fds)
      if (loop::Ref::Unpack(s.ref).kind == flow_kind && s.ref != 0)
        v.push_back(fd);
    return v;
  }

  std::map<int, Fd> fds;
  std::vector<Out> out;
  int socket_errno = 0;
  int connect_errno = 0;
  loop::Kind flow_kind = loop::Kind::kRelayFlow;

 private:
  int next_fd_ = 100;
};

const std::string kLoopback4("\x7f\x00\x00\x01", 4);

class RelayFakeTest : public ::testing::Test {
 protected:
  explicit RelayFakeTest(UdpRelay::Kinds kinds = UdpRelay::kOutbound)
      : relay_(&sys_, flow::SipKey{1, 2}, kinds) {
    sys_.flow_kind = kinds.flow;
    listener_ = sys_.NewFd();
    EXPECT_TRUE(relay_.AddListener(listener_, AF_INET, 5353, 53).ok());
    listener_index_ = loop::Ref::Unpack(sys_.fds[listener_].ref).index;
  }

  // A datagram from 127.0.0.1:`port` (or `addr`) on the listener.
  void FromClient(const std::string& payload, uint16_t port = 40000,
                  const std::string& addr = kLoopback4, int64_t now = 1) {
    sys_.fds[listener_].rx.push_back(In{AF_INET, addr, port, payload});
    relay_.OnListenerReadable(listener_index_, AtSeconds(now));
  }
  // A reply on flow socket `fd`.
  void Reply(int fd, const std::string& payload, int64_t now = 1) {
    sys_.fds[fd].rx.push_back(In{AF_INET, kLoopback4, 53, payload});
    relay_.OnReadable(loop::Ref::Unpack(sys_.fds[fd].ref).index,
                      AtSeconds(now));
  }

  using In = FakeRelaySys::In;
  FakeRelaySys sys_;
  UdpRelay relay_;
  int listener_ = -1;
  uint32_t listener_index_ = 0;
};

TEST_F(RelayFakeTest, ADatagramOpensAFlowConnectedToTheTarget) {
  FromClient("query");
  const std::vector<int> flows = sys_.Flows();
  ASSERT_EQ(flows.size(), 1u);
  const FakeRelaySys::Fd& f = sys_.fds[flows[0]];
  EXPECT_EQ(f.where, Netns::kHost);  // -U: the host's loopback
  EXPECT_TRUE(f.to_loopback);
  EXPECT_EQ(f.connect_port, 53);
  EXPECT_EQ(f.sent, std::vector<std::string>{"query"});
  EXPECT_EQ(relay_.active(), 1u);
  EXPECT_EQ(relay_.counters().forwarded, 1u);
}

TEST_F(RelayFakeTest, TheSameClientReusesItsFlowAnotherGetsItsOwn) {
  FromClient("a");
  FromClient("b");
  FromClient("c", 40001);
  const std::vector<int> flows = sys_.Flows();
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(sys_.fds[flows[0]].sent, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sys_.fds[flows[1]].sent, std::vector<std::string>{"c"});
}

TEST_F(RelayFakeTest, RepliesGoBackThroughTheListenerToTheClientsPort) {
  FromClient("query");
  const int flow = sys_.Flows().at(0);
  sys_.fds[flow].rx.push_back(In{AF_INET, kLoopback4, 53, "answer 1"});
  Reply(flow, "answer 2");
  ASSERT_EQ(sys_.out.size(), 2u);
  for (const FakeRelaySys::Out& o : sys_.out) {
    EXPECT_EQ(o.fd, listener_);
    EXPECT_TRUE(o.to_loopback);
    EXPECT_EQ(o.port, 40000);
  }
  EXPECT_EQ(sys_.out[0].payload, "answer 1");
  EXPECT_EQ(sys_.out[1].payload, "answer 2");
  EXPECT_EQ(relay_.counters().replies, 2u);
}

TEST_F(RelayFakeTest, ADatagramFromBeyondTheLoopbackIsIgnored) {
  FromClient("stray", 40000, std::string("\xc6\x33\x64\x01", 4));
  EXPECT_TRUE(sys_.Flows().empty());
  EXPECT_EQ(relay_.active(), 0u);
}

TEST_F(RelayFakeTest, ConnectFailureDropsAndClosesTheSocket) {
  sys_.connect_errno = ENETUNREACH;
  FromClient("query");
  EXPECT_EQ(relay_.active(), 0u);
  EXPECT_EQ(relay_.counters().dropped, 1u);
  ASSERT_EQ(sys_.fds.size(), 2u);  // the listener and the one socket
  for (const auto& [fd, s] : sys_.fds)
    EXPECT_TRUE(fd == listener_ || s.closed) << "fd " << fd << " left open";
}

TEST_F(RelayFakeTest, NoSocketDrops) {
  sys_.socket_errno = EMFILE;
  FromClient("query");
  EXPECT_EQ(relay_.active(), 0u);
  EXPECT_EQ(relay_.counters().dropped, 1u);
}

TEST_F(RelayFakeTest, IdleFlowsExpireAndCloseTheirSockets) {
  const int64_t idle = UdpRelay::kIdleTimeout.ToSeconds();
  FromClient("a", 40000, kLoopback4, /*now=*/1);
  FromClient("b", 40001, kLoopback4, /*now=*/10);
  const std::vector<int> flows = sys_.Flows();
  ASSERT_EQ(flows.size(), 2u);
  relay_.Expire(AtSeconds(1 + idle - 1));
  EXPECT_EQ(relay_.active(), 2u);
  relay_.Expire(AtSeconds(1 + idle));
  // The loop frees what closed at the end of its iteration.
  relay_.Reap();
  EXPECT_EQ(relay_.active(), 1u);
  EXPECT_TRUE(sys_.fds[flows[0]].closed);
  EXPECT_FALSE(sys_.fds[flows[1]].closed);
  EXPECT_EQ(relay_.NextDeadline(), AtSeconds(10 + idle));
  // A reply keeps a flow alive as a request does.
  Reply(flows[1], "r", /*now=*/100);
  relay_.Expire(AtSeconds(10 + idle));
  EXPECT_EQ(relay_.active(), 1u);
  relay_.Expire(AtSeconds(100 + idle));
  relay_.Reap();
  EXPECT_EQ(relay_.active(), 0u);
  EXPECT_TRUE(sys_.fds[flows[1]].closed);
  EXPECT_FALSE(sys_.fds[listener_].closed) << "listeners stay";
}

TEST_F(RelayFakeTest, RemovingTheListenerClosesItAndItsFlows) {
  FromClient("a");
  const int flow = sys_.Flows().at(0);
  relay_.RemoveListeners(5353);
  // The loop frees what closed at the end of its iteration.
  relay_.Reap();
  EXPECT_TRUE(sys_.fds[listener_].closed);
  EXPECT_TRUE(sys_.fds[flow].closed);
  EXPECT_EQ(relay_.active(), 0u);
}

class InboundRelayFakeTest : public RelayFakeTest {
 protected:
  InboundRelayFakeTest() : RelayFakeTest(UdpRelay::kInbound) {}
};

TEST_F(InboundRelayFakeTest, FlowsOpenInTheNamespace) {
  FromClient("query");
  const std::vector<int> flows = sys_.Flows();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(sys_.fds[flows[0]].where, Netns::kTarget);
  EXPECT_EQ(loop::Ref::Unpack(sys_.fds[flows[0]].ref).kind,
            loop::Kind::kRelayInFlow);
}

}  // namespace
}  // namespace pasta::udp
