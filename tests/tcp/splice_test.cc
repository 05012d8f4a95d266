// SpliceFlows against real sockets, in this process and on the loopback
// only: the "namespace" socket is an ordinary one (to_ns_loopback), so the
// client, the accepted socket, the connected one and the server are all on
// 127.0.0.1. The test plays the event loop (epoll_wait, OnEvent, Reap)
// between the two peers' non-blocking reads and writes, so it decides when
// pasta runs: data can pile up in the sockets and pipes first.
#include "tcp/splice.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loop/epoll_ref.h"
#include "sock/system_sys.h"

namespace pasta::tcp {
namespace {

// The byte at offset `i` of a stream: no period a lost, repeated or
// reordered chunk could hide in.
uint8_t PatternByte(uint64_t i, uint8_t seed) {
  uint64_t x = (i + seed) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint8_t>(x >> 56);
}

int Listener(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0) return -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// One reading end: checks every byte against the pattern as it comes.
struct Reader {
  int fd = -1;
  uint8_t seed = 0;
  uint64_t got = 0;
  uint64_t bad_at = UINT64_MAX;  // first offset that differed
  bool eof = false;
  int error = 0;

  // Reads at most `budget` bytes (what is there). Returns bytes read.
  size_t Read(size_t budget) {
    static uint8_t buf[1 << 16];
    size_t total = 0;
    while (total < budget && !eof && error == 0) {
      const ssize_t n = read(fd, buf, std::min(sizeof(buf), budget - total));
      if (n == 0) {
        eof = true;
      } else if (n < 0) {
        if (errno != EAGAIN) error = errno;
        break;
      } else {
        for (ssize_t k = 0; k < n; ++k) {
          if (bad_at == UINT64_MAX && buf[k] != PatternByte(got + k, seed))
            bad_at = got + k;
        }
        got += static_cast<uint64_t>(n);
        total += static_cast<size_t>(n);
      }
    }
    return total;
  }
};

class SpliceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep_, 0);
    sys_ = std::make_unique<sock::SystemSys>(ep_);
    // The "namespace" is this one.
    sys_->set_namespace_sockets([](int family, int type) {
      const int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      return fd < 0 ? sock::Fail(errno) : sock::Ok(fd);
    });
    flows_ = std::make_unique<SpliceFlows>(sys_.get(), IpAddr{}, IpAddr{},
                                           /*to_ns_loopback=*/true);
    server_listener_ = Listener(&server_port_);
    ASSERT_GE(server_listener_, 0);
  }

  void TearDown() override {
    flows_.reset();
    for (int fd : {client_, server_, server_listener_, ep_})
      if (fd >= 0) close(fd);
  }

  // A client connected through a spliced flow to `port` (the server's
  // unless given); `server_` is the server's end (-1 if none came).
  void Connect(int port = -1) {
    uint16_t front_port = 0;
    const int front = Listener(&front_port);
    ASSERT_GE(front, 0);
    client_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(front_port);
    ASSERT_EQ(connect(client_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    const int accepted =
        accept4(front, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    close(front);
    ASSERT_GE(accepted, 0);
    fcntl(client_, F_SETFL, O_NONBLOCK);
    flows_->FromHost(accepted, AF_INET,
                     port < 0 ? server_port_ : static_cast<uint16_t>(port));
    if (port >= 0) return;
    for (int i = 0; i < 200 && server_ < 0; ++i) {
      Pump(10);
      server_ = accept4(server_listener_, nullptr, nullptr,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    ASSERT_GE(server_, 0) << "the spliced connection never reached the server";
  }

  // One pass of the event loop: waits at most `timeout_ms`.
  void Pump(int timeout_ms) {
    epoll_event ev[32];
    const int n = epoll_wait(ep_, ev, 32, timeout_ms);
    for (int i = 0; i < n; ++i) {
      const loop::Ref r = loop::Ref::Unpack(ev[i].data.u64);
      if (r.kind == loop::Kind::kTcpSplice)
        flows_->OnEvent(r.index, r.side, ev[i].events);
    }
    flows_->Reap();
  }

  // Pumps and reads `fd` into `out` until its end of stream (true) or the
  // deadline (false).
  template <typename Deadline>
  bool ReadToEnd(int fd, Deadline deadline, std::string* out) {
    while (std::chrono::steady_clock::now() < deadline) {
      Pump(10);
      char buf[64];
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n == 0) return true;
      if (n > 0) out->append(buf, static_cast<size_t>(n));
    }
    return false;
  }

  int ep_ = -1;
  std::unique_ptr<sock::SystemSys> sys_;
  std::unique_ptr<SpliceFlows> flows_;
  int server_listener_ = -1;
  uint16_t server_port_ = 0;
  int client_ = -1, server_ = -1;
};

using Clock = std::chrono::steady_clock;

// 8 MiB each way at once: the server sends with sendfile (page cache pages,
// one pipe slot each, as a file server does), the client with write; both
// readers stop for stretches, so pipes and socket buffers fill, then read
// in bursts. Every byte arrives, in order, and both ends see the other's
// end of stream.
TEST_F(SpliceTest, BulkBothWaysWithStallingReaders) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  constexpr uint64_t kSize = 8 << 20;
  const int mem = memfd_create("splice_test", MFD_CLOEXEC);
  ASSERT_GE(mem, 0);
  {
    std::vector<uint8_t> data(kSize);
    for (uint64_t i = 0; i < kSize; ++i) data[i] = PatternByte(i, 1);
    ASSERT_EQ(write(mem, data.data(), kSize), static_cast<ssize_t>(kSize));
  }
  std::vector<uint8_t> up(1 << 16);
  uint64_t sent_down = 0, sent_up = 0;
  off_t file_off = 0;
  Reader at_client{client_, 1}, at_server{server_, 2};
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (int round = 0; Clock::now() < deadline; ++round) {
    if (sent_down < kSize) {
      const ssize_t n = sendfile(server_, mem, &file_off, kSize - sent_down);
      if (n > 0) sent_down += static_cast<uint64_t>(n);
      if (sent_down == kSize) shutdown(server_, SHUT_WR);
    }
    if (sent_up < kSize) {
      const size_t chunk = std::min<uint64_t>(up.size(), kSize - sent_up);
      for (size_t k = 0; k < chunk; ++k) up[k] = PatternByte(sent_up + k, 2);
      const ssize_t n = write(client_, up.data(), chunk);
      if (n > 0) sent_up += static_cast<uint64_t>(n);
      if (sent_up == kSize) shutdown(client_, SHUT_WR);
    }
    Pump(round % 50 < 10 ? 5 : 0);
    // Readers: 10 rounds of nothing, then a burst; the client's bursts
    // are small, the server's large.
    if (round % 50 >= 10) {
      at_client.Read(round % 7 == 0 ? 1 << 20 : 4096);
      at_server.Read(1 << 20);
    }
    if (at_client.eof && at_server.eof) break;
  }
  close(mem);
  EXPECT_EQ(at_client.got, kSize);
  EXPECT_EQ(at_server.got, kSize);
  EXPECT_EQ(at_client.bad_at, UINT64_MAX);
  EXPECT_EQ(at_server.bad_at, UINT64_MAX);
  EXPECT_TRUE(at_client.eof && at_server.eof);
  EXPECT_EQ(at_client.error, 0);
  EXPECT_EQ(at_server.error, 0);
  EXPECT_EQ(flows_->counters().bytes, 2 * kSize);
}

// Many small segments, sent while pasta does not run and nobody reads, sit
// in the connected socket; then pasta runs and the client reads: all of
// them arrive. Each segment is sent from a page of its own (sendfile from
// a file, 60 bytes a page), so each takes a pipe slot of its own: a read
// into the pipe stops at its slots long before its bytes, with the socket
// still full, and since no more data comes, nothing signals it again.
TEST_F(SpliceTest, SmallSegmentsQueuedBeforeTheFirstRead) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  const int one = 1;
  setsockopt(server_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  constexpr int kSegments = 2000, kSegment = 60, kPage = 4096;
  const int mem = memfd_create("splice_test", MFD_CLOEXEC);
  ASSERT_GE(mem, 0);
  ASSERT_EQ(ftruncate(mem, static_cast<off_t>(kSegments) * kPage), 0);
  for (int i = 0; i < kSegments; ++i) {
    uint8_t seg[kSegment];
    for (int k = 0; k < kSegment; ++k)
      seg[k] = PatternByte(static_cast<uint64_t>(i) * kSegment + k, 3);
    ASSERT_EQ(pwrite(mem, seg, kSegment, static_cast<off_t>(i) * kPage),
              kSegment);
  }
  uint64_t sent = 0;
  for (int i = 0; i < kSegments; ++i) {
    off_t off = static_cast<off_t>(i) * kPage;
    if (sendfile(server_, mem, &off, kSegment) != kSegment) break;
    sent += kSegment;
  }
  close(mem);
  ASSERT_GT(sent, 128u * kSegment) << "fewer segments than pipe slots";
  Reader at_client{client_, 3};
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (at_client.got < sent && Clock::now() < deadline) {
    Pump(10);
    at_client.Read(1 << 20);
  }
  EXPECT_EQ(at_client.got, sent)
      << "of " << sent / kSegment << " segments of " << kSegment << " bytes";
  EXPECT_EQ(at_client.bad_at, UINT64_MAX);
}

// Half-close both ways: the client's end of stream reaches the server,
// which still answers; then the flow is done and freed.
TEST_F(SpliceTest, HalfCloseThenAnswer) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  ASSERT_EQ(write(client_, "request", 7), 7);
  shutdown(client_, SHUT_WR);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::string at_server;
  ASSERT_TRUE(ReadToEnd(server_, deadline, &at_server)) << at_server;
  EXPECT_EQ(at_server, "request");
  ASSERT_EQ(write(server_, "answer", 6), 6);
  close(server_);
  server_ = -1;
  std::string at_client;
  EXPECT_TRUE(ReadToEnd(client_, deadline, &at_client)) << at_client;
  EXPECT_EQ(at_client, "answer");
  for (int i = 0; i < 100 && flows_->active() > 0; ++i) Pump(10);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(flows_->counters().resets, 0u);
}

// A reset on one side resets the other.
TEST_F(SpliceTest, ResetReachesTheOtherSide) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  const linger lg{1, 0};
  setsockopt(server_, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(server_);
  server_ = -1;
  int err = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (err == 0 && Clock::now() < deadline) {
    Pump(10);
    char c;
    if (read(client_, &c, 1) < 0 && errno != EAGAIN) err = errno;
  }
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_GE(flows_->counters().resets, 1u);
}

// Nothing listens where the flow connects: the client is reset.
TEST_F(SpliceTest, RefusedConnectResetsTheClient) {
  uint16_t unused = 0;
  const int l = Listener(&unused);
  ASSERT_GE(l, 0);
  close(l);  // the port is free again, and nothing listens there
  ASSERT_NO_FATAL_FAILURE(Connect(unused));
  int err = 0;
  bool eof = false;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (err == 0 && !eof && Clock::now() < deadline) {
    Pump(10);
    char c;
    const ssize_t n = read(client_, &c, 1);
    if (n == 0) eof = true;
    if (n < 0 && errno != EAGAIN) err = errno;
  }
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_EQ(flows_->counters().connect_failed, 1u);
  EXPECT_EQ(flows_->active(), 0u);
}

}  // namespace
}  // namespace pasta::tcp
