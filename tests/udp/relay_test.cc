// The loopback UDP relay (-U) on real sockets, all on this namespace's
// loopback (the "other side" is the same loopback here): a client's
// datagrams reach the target, the target's replies come back to the
// client from the port it wrote to, and two clients stay apart.
#include "udp/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "sock/system_sys.h"
#include "test_clock.h"

namespace pasta::udp {
namespace {

constexpr int64_t kIdleSeconds = UdpRelay::kIdleTimeout.ToSeconds();

int BoundUdp(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *port = ntohs(sa.sin_port);
  return fd;
}

void SendTo(int fd, uint16_t port, const std::string& text) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  ASSERT_EQ(sendto(fd, text.data(), text.size(), 0,
                   reinterpret_cast<sockaddr*>(&sa), sizeof(sa)),
            static_cast<ssize_t>(text.size()));
}

// Waits (1 s at most) for one datagram; returns it and its source port.
std::string Receive(int fd, uint16_t* from = nullptr) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 1000) != 1) return "<nothing>";
  char buf[2048];
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  const ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
                             reinterpret_cast<sockaddr*>(&sa), &len);
  if (from != nullptr) *from = ntohs(sa.sin_port);
  return n < 0 ? "<error>" : std::string(buf, static_cast<size_t>(n));
}

// The real calls, counting the sockets the relay makes.
class CountingSys : public sock::SystemSys {
 public:
  CountingSys(int epoll_fd, int* made) : SystemSys(epoll_fd), made_(made) {}
  sock::Result Socket(sock::Netns where, int family, int type,
                      int protocol) override {
    ++*made_;
    return SystemSys::Socket(where, family, type, protocol);
  }

 private:
  int* made_;
};

class UdpRelayTest : public testing::Test {
 protected:
  void SetUp() override {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    sys_ = std::make_unique<CountingSys>(epoll_, &sockets_made_);
    relay_ = std::make_unique<UdpRelay>(sys_.get(), flow::SipKey{1, 2});
    target_ = BoundUdp(&target_port_);
    const int listener = BoundUdp(&listen_port_);
    ASSERT_TRUE(relay_->AddListener(listener, AF_INET, listen_port_,
                                    target_port_)
                    .ok());
  }
  void TearDown() override {
    relay_.reset();
    close(target_);
    close(epoll_);
  }
  // Runs what epoll reports, as the loop would.
  void Pump(int64_t now = 1) {
    epoll_event ev[8];
    const int n = epoll_wait(epoll_, ev, 8, 200);
    for (int i = 0; i < n; ++i) {
      const loop::Ref r = loop::Ref::Unpack(ev[i].data.u64);
      if (r.kind == loop::Kind::kRelayListen)
        relay_->OnListenerReadable(r.index, AtSeconds(now));
      else if (r.kind == loop::Kind::kRelayFlow)
        relay_->OnReadable(r.index, AtSeconds(now));
      else
        ADD_FAILURE() << "unexpected kind " << static_cast<int>(r.kind);
    }
  }

  int epoll_ = -1;
  std::unique_ptr<CountingSys> sys_;
  std::unique_ptr<UdpRelay> relay_;
  int target_ = -1;
  uint16_t target_port_ = 0, listen_port_ = 0;
  int sockets_made_ = 0;
};

TEST_F(UdpRelayTest, DatagramsGoToTheTargetAndRepliesComeBack) {
  uint16_t client_port;
  const int client = BoundUdp(&client_port);
  SendTo(client, listen_port_, "ping");
  Pump();
  uint16_t relay_port = 0;
  EXPECT_EQ(Receive(target_, &relay_port), "ping");
  SendTo(target_, relay_port, "pong");
  Pump();
  uint16_t from = 0;
  EXPECT_EQ(Receive(client, &from), "pong");
  EXPECT_EQ(from, listen_port_);  // from the port the client wrote to
  EXPECT_EQ(relay_->counters().forwarded, 1u);
  EXPECT_EQ(relay_->counters().replies, 1u);
  close(client);
}

TEST_F(UdpRelayTest, TwoClientsGetFlowsOfTheirOwn) {
  uint16_t pa, pb;
  const int a = BoundUdp(&pa), b = BoundUdp(&pb);
  SendTo(a, listen_port_, "a");
  SendTo(b, listen_port_, "b");
  Pump();
  uint16_t ra = 0, rb = 0;
  const std::string first = Receive(target_, &ra);
  const std::string second = Receive(target_, &rb);
  ASSERT_NE(ra, rb);
  EXPECT_EQ(relay_->active(), 2u);
  SendTo(target_, first == "a" ? ra : rb, "for a");
  SendTo(target_, first == "a" ? rb : ra, "for b");
  Pump();
  EXPECT_EQ(Receive(a), "for a");
  EXPECT_EQ(Receive(b), "for b");
  (void)second;
  close(a);
  close(b);
}

TEST_F(UdpRelayTest, IdleFlowsExpire) {
  uint16_t client_port;
  const int client = BoundUdp(&client_port);
  SendTo(client, listen_port_, "x");
  Pump(100);
  EXPECT_EQ(relay_->active(), 1u);
  relay_->Expire(AtSeconds(100 + kIdleSeconds - 1));
  EXPECT_EQ(relay_->active(), 1u);
  relay_->Expire(AtSeconds(100 + kIdleSeconds));
  EXPECT_EQ(relay_->active(), 0u);
  // A new datagram opens a new flow.
  SendTo(client, listen_port_, "y");
  Pump(400);
  EXPECT_EQ(relay_->active(), 1u);
  EXPECT_EQ(sockets_made_, 2);
  close(client);
}

}  // namespace
}  // namespace pasta::udp
