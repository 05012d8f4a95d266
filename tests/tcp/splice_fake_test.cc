// SpliceFlows against a fake of the socket seam: which sockets it opens
// where, what it connects them to, what happens when a step fails, and how
// bytes travel socket -> pipe -> socket, without the kernel. The real
// sockets are in splice_test.cc.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fake_sys.h"
#include "gtest/gtest.h"
#include "loop/epoll_ref.h"
#include "tcp/splice.h"
#include "tcp/tcp.h"
#include "wire/frame_sink.h"

namespace pasta::tcp {
namespace {

using sock::Netns;
using sock::Result;

// Sockets and pipes as byte queues. A socket's `rx` is what its peer sent
// (read by splicing it into a pipe), `written` what reached its peer
// through us; a pipe is one queue shared by its two ends.
class FakeSpliceSys : public fake::FakeSys {
 public:
  struct Fd {
    enum Type { kSocket, kPipeRead, kPipeWrite } type = kSocket;
    Netns where = Netns::kHost;
    int pipe = -1;  // pipes: the queue
    std::string rx;
    bool eof = false;  // the peer's FIN after rx
    std::string written;
    size_t send_room = SIZE_MAX;  // what the socket takes before EAGAIN
    bool shut = false;
    bool closed = false;
    bool reset = false;
    // Connect.
    bool connected = false;
    std::string connect_addr;  // empty: the loopback
    uint16_t connect_port = 0;
    // Watch.
    uint64_t ref = 0;
    uint32_t events = 0;
  };

  int NewFd(Netns where = Netns::kHost) {
    const int fd = next_fd_++;
    fds[fd].where = where;
    return fd;
  }

  Result Socket(Netns where, int family, int type, int protocol) override {
    EXPECT_EQ(type, SOCK_STREAM);
    EXPECT_TRUE(family == AF_INET || family == AF_INET6);
    (void)protocol;
    if (where == Netns::kTarget && ns_socket_errno != 0)
      return sock::Fail(ns_socket_errno);
    return sock::Ok(NewFd(where));
  }
  Result SetOpt(int fd, int, int, int) override {
    Get(fd);
    return sock::Ok();
  }
  Result GetOpt(int fd, int level, int name) override {
    EXPECT_EQ(level, SOL_SOCKET);
    EXPECT_EQ(name, SO_ERROR);
    Get(fd);
    return sock::Ok(pending_error);
  }
  Result Connect(int fd, int family, const uint8_t* addr,
                 uint16_t port) override {
    Fd& s = Get(fd);
    s.connect_addr = addr == nullptr
                         ? ""
                         : std::string(reinterpret_cast<const char*>(addr),
                                       family == AF_INET ? 4 : 16);
    s.connect_port = port;
    if (connect_errno != 0) return sock::Fail(connect_errno);
    s.connected = true;
    return sock::Ok();
  }
  // A connection from 127.0.0.1:40000, made where the listener is.
  Result Accept(int fd, int* family, uint8_t* addr, uint16_t* port) override {
    const Netns where = Get(fd).where;
    if (backlog == 0) return sock::Fail(EAGAIN);
    --backlog;
    if (family != nullptr) {
      *family = AF_INET;
      const uint8_t lo[4] = {127, 0, 0, 1};
      std::memcpy(addr, lo, 4);
      *port = 40000;
    }
    const int c = NewFd(where);
    accepted.push_back(c);
    return sock::Ok(c);
  }
  Result Bind(int fd, int, const uint8_t*, uint16_t) override {
    Get(fd);
    return sock::Ok();
  }
  Result Listen(int fd) override {
    Get(fd);
    return sock::Ok();
  }
  Result ShutdownWrite(int fd) override {
    Get(fd).shut = true;
    return sock::Ok();
  }
  Result Close(int fd) override {
    Get(fd).closed = true;
    return sock::Ok();
  }
  Result CloseWithReset(int fd) override {
    Fd& s = Get(fd);
    s.closed = true;
    s.reset = true;
    return sock::Ok();
  }
  Result Pipe(int fds_out[2]) override {
    if (pipe_errno != 0) return sock::Fail(pipe_errno);
    const int queue = static_cast<int>(pipes.size());
    pipes.emplace_back();
    fds_out[0] = NewFd();
    fds_out[1] = NewFd();
    fds[fds_out[0]].type = Fd::kPipeRead;
    fds[fds_out[1]].type = Fd::kPipeWrite;
    fds[fds_out[0]].pipe = fds[fds_out[1]].pipe = queue;
    return sock::Ok();
  }
  Result SetPipeSize(int fd, size_t size) override {
    Get(fd);
    return sock::Ok(static_cast<ssize_t>(std::min(size, pipe_size)));
  }
  Result Splice(int from, int to, size_t len) override {
    Fd& in = Get(from);
    Fd& out = Get(to);
    ++splices;
    if (in.type == Fd::kSocket) {
      EXPECT_EQ(out.type, Fd::kPipeWrite);
      if (in.rx.empty()) return in.eof ? sock::Ok(0) : sock::Fail(EAGAIN);
      std::string& q = pipes[static_cast<size_t>(out.pipe)];
      const size_t n = std::min({len, in.rx.size(), pipe_size - q.size()});
      if (n == 0) return sock::Fail(EAGAIN);
      q += in.rx.substr(0, n);
      in.rx.erase(0, n);
      return sock::Ok(static_cast<ssize_t>(n));
    }
    EXPECT_EQ(in.type, Fd::kPipeRead);
    EXPECT_EQ(out.type, Fd::kSocket);
    if (out.shut) ADD_FAILURE() << "splice into fd " << to << " after shutdown";
    std::string& q = pipes[static_cast<size_t>(in.pipe)];
    const size_t n = std::min({len, q.size(), out.send_room});
    if (n == 0) return sock::Fail(EAGAIN);
    out.written += q.substr(0, n);
    q.erase(0, n);
    if (out.send_room != SIZE_MAX) out.send_room -= n;
    return sock::Ok(static_cast<ssize_t>(n));
  }
  Result Watch(int fd, uint64_t data, uint32_t events) override {
    Fd& s = Get(fd);
    s.ref = data;
    s.events = events;
    return sock::Ok();
  }

  // Every fd made, by number; any call on a closed one fails the test.
  Fd& Get(int fd) {
    auto it = fds.find(fd);
    if (it == fds.end()) {
      ADD_FAILURE() << "call on unknown fd " << fd;
      return fds[fd];
    }
    if (it->second.closed) ADD_FAILURE() << "call on closed fd " << fd;
    return it->second;
  }

  std::map<int, Fd> fds;
  std::vector<std::string> pipes;
  std::vector<int> accepted;
  int backlog = 0;
  int ns_socket_errno = 0;
  int connect_errno = EINPROGRESS;
  int pipe_errno = 0;
  int pending_error = 0;
  size_t pipe_size = 1 << 16;
  int splices = 0;

 private:
  int next_fd_ = 100;
};

const uint8_t kNs4[4] = {198, 51, 100, 2};
IpAddr Ns4() {
  in_addr a;
  std::memcpy(&a, kNs4, 4);
  return IpAddr::V4(a);
}

class SpliceFakeTest : public ::testing::Test {
 protected:
  SpliceFakeTest() : flows_(&sys_, Ns4()) {}

  // -t: a connection the host accepted from its loopback, spliced to the
  // namespace's port 8080. Returns the two sockets (accepted, connected).
  std::pair<int, int> FromHost() {
    const int accepted = sys_.NewFd();
    flows_.FromHost(accepted, AF_INET, 8080);
    return {accepted, LastSocket()};
  }
  int LastSocket() const {
    int fd = -1;
    for (const auto& [n, f] : sys_.fds)
      if (f.type == FakeSpliceSys::Fd::kSocket) fd = std::max(fd, n);
    return fd;
  }
  void Event(int fd, uint32_t events) {
    const loop::Ref r = loop::Ref::Unpack(sys_.fds[fd].ref);
    ASSERT_EQ(r.kind, loop::Kind::kTcpSplice);
    ASSERT_EQ(r.fd, fd);
    flows_.OnEvent(r.index, r.side, events);
    flows_.Reap();
  }
  bool AllClosed() const {
    for (const auto& [n, f] : sys_.fds)
      if (!f.closed) return false;
    return true;
  }

  FakeSpliceSys sys_;
  SpliceFlows flows_;
};

TEST_F(SpliceFakeTest, FromHostConnectsANamespaceSocketToTheNamespaceAddress) {
  const auto [accepted, out] = FromHost();
  ASSERT_NE(out, accepted);
  const FakeSpliceSys::Fd& o = sys_.fds[out];
  EXPECT_EQ(o.where, Netns::kTarget);
  EXPECT_EQ(o.connect_addr,
            std::string(reinterpret_cast<const char*>(kNs4), 4));
  EXPECT_EQ(o.connect_port, 8080);
  EXPECT_EQ(flows_.active(), 1u);
  EXPECT_EQ(flows_.counters().flows, 1u);
  // Both sockets are watched, edge-triggered, as the two sides of one flow.
  const loop::Ref r0 = loop::Ref::Unpack(sys_.fds[accepted].ref);
  const loop::Ref r1 = loop::Ref::Unpack(o.ref);
  EXPECT_EQ(r0.kind, loop::Kind::kTcpSplice);
  EXPECT_EQ(r0.index, r1.index);
  EXPECT_EQ(r0.side, 0);
  EXPECT_EQ(r1.side, 1);
  EXPECT_NE(sys_.fds[accepted].events & EPOLLET, 0u);
}

TEST_F(SpliceFakeTest, ToNamespaceLoopbackConnectsToTheLoopback) {
  SpliceFlows lo(&sys_, Ns4(), IpAddr{}, /*to_ns_loopback=*/true);
  lo.FromHost(sys_.NewFd(), AF_INET, 8080);
  EXPECT_EQ(sys_.fds[LastSocket()].connect_addr, "");
  EXPECT_EQ(sys_.fds[LastSocket()].connect_port, 8080);
}

TEST_F(SpliceFakeTest, NamespaceListenerAcceptsAndConnectsToTheHostLoopback) {
  const int listener = sys_.NewFd(Netns::kTarget);
  ASSERT_TRUE(flows_.AddNamespaceListener(listener, AF_INET, 5000, 6000).ok());
  const loop::Ref lr = loop::Ref::Unpack(sys_.fds[listener].ref);
  EXPECT_EQ(lr.kind, loop::Kind::kSpliceListen);
  sys_.backlog = 2;
  flows_.OnListenerReadable(lr.index);
  ASSERT_EQ(sys_.accepted.size(), 2u);
  EXPECT_EQ(flows_.active(), 2u);
  int host_sockets = 0;
  for (const auto& [n, f] : sys_.fds) {
    if (f.type != FakeSpliceSys::Fd::kSocket || f.where != Netns::kHost)
      continue;
    ++host_sockets;
    EXPECT_EQ(f.connect_addr, "");  // the host's loopback
    EXPECT_EQ(f.connect_port, 6000);
  }
  EXPECT_EQ(host_sockets, 2);
}

TEST_F(SpliceFakeTest, ConnectFailureResetsBothAndCounts) {
  sys_.connect_errno = ECONNREFUSED;
  const auto [accepted, out] = FromHost();
  flows_.Reap();
  EXPECT_EQ(flows_.counters().connect_failed, 1u);
  EXPECT_EQ(flows_.active(), 0u);
  EXPECT_TRUE(sys_.fds[accepted].reset);
  EXPECT_TRUE(sys_.fds[out].reset);
  EXPECT_TRUE(AllClosed()) << "a socket or pipe was left open";
}

TEST_F(SpliceFakeTest, AsynchronousConnectErrorCounts) {
  const auto [accepted, out] = FromHost();
  sys_.pending_error = ECONNREFUSED;
  Event(out, EPOLLERR | EPOLLHUP);
  EXPECT_EQ(flows_.counters().connect_failed, 1u);
  EXPECT_EQ(flows_.counters().resets, 1u);
  EXPECT_TRUE(sys_.fds[accepted].reset);
  EXPECT_TRUE(AllClosed());
}

TEST_F(SpliceFakeTest, NoNamespaceSocketRefusesTheConnection) {
  sys_.ns_socket_errno = EMFILE;
  const int accepted = sys_.NewFd();
  flows_.FromHost(accepted, AF_INET, 8080);
  EXPECT_EQ(flows_.counters().refused, 1u);
  EXPECT_EQ(flows_.active(), 0u);
  EXPECT_TRUE(sys_.fds[accepted].reset);
}

TEST_F(SpliceFakeTest, NoPipeRefusesAndClosesEverything) {
  sys_.pipe_errno = EMFILE;
  const auto [accepted, out] = FromHost();
  flows_.Reap();
  EXPECT_EQ(flows_.counters().refused, 1u);
  EXPECT_EQ(flows_.active(), 0u);
  EXPECT_TRUE(sys_.fds[accepted].closed);
  EXPECT_TRUE(sys_.fds[out].closed);
}

TEST_F(SpliceFakeTest, BytesWaitingBeforeTheConnectGoOnceItCompletes) {
  const auto [accepted, out] = FromHost();
  sys_.fds[accepted].rx = "hello";
  // Nothing moves while connecting.
  Event(accepted, EPOLLIN);
  EXPECT_EQ(sys_.fds[out].written, "");
  Event(out, EPOLLOUT);
  EXPECT_EQ(sys_.fds[out].written, "hello");
  EXPECT_EQ(flows_.counters().bytes, 5u);
}

TEST_F(SpliceFakeTest, BothWaysThroughThePipes) {
  const auto [accepted, out] = FromHost();
  Event(out, EPOLLOUT);
  sys_.fds[accepted].rx = "request";
  Event(accepted, EPOLLIN);
  EXPECT_EQ(sys_.fds[out].written, "request");
  sys_.fds[out].rx = "response";
  Event(out, EPOLLIN);
  EXPECT_EQ(sys_.fds[accepted].written, "response");
  EXPECT_EQ(flows_.counters().bytes, 15u);
}

TEST_F(SpliceFakeTest, WhatTheOtherSideRefusesWaitsInThePipeForEpollout) {
  const auto [accepted, out] = FromHost();
  Event(out, EPOLLOUT);
  sys_.fds[out].send_room = 3;
  sys_.fds[accepted].rx = "abcdefgh";
  Event(accepted, EPOLLIN);
  EXPECT_EQ(sys_.fds[out].written, "abc");
  EXPECT_EQ(sys_.fds[accepted].rx, "") << "read into the pipe, not left";
  sys_.fds[out].send_room = SIZE_MAX;
  Event(out, EPOLLOUT);
  EXPECT_EQ(sys_.fds[out].written, "abcdefgh");
}

TEST_F(SpliceFakeTest, AFullPipeStopsReading) {
  sys_.pipe_size = 4;
  const auto [accepted, out] = FromHost();
  Event(out, EPOLLOUT);
  sys_.fds[out].send_room = 0;
  sys_.fds[accepted].rx = "abcdefgh";
  Event(accepted, EPOLLIN);
  EXPECT_EQ(sys_.fds[accepted].rx, "efgh") << "read beyond the pipe's size";
  sys_.fds[out].send_room = SIZE_MAX;
  Event(out, EPOLLOUT);
  EXPECT_EQ(sys_.fds[out].written, "abcdefgh");
}

TEST_F(SpliceFakeTest, EndOfStreamEachWayShutsTheOtherThenCloses) {
  const auto [accepted, out] = FromHost();
  Event(out, EPOLLOUT);
  sys_.fds[accepted].rx = "bye";
  sys_.fds[accepted].eof = true;
  Event(accepted, EPOLLIN | EPOLLRDHUP);
  EXPECT_EQ(sys_.fds[out].written, "bye");
  EXPECT_TRUE(sys_.fds[out].shut);
  EXPECT_FALSE(sys_.fds[accepted].shut);
  EXPECT_EQ(flows_.active(), 1u) << "half-closed: the other way still runs";
  sys_.fds[out].rx = "ok";
  sys_.fds[out].eof = true;
  Event(out, EPOLLIN | EPOLLRDHUP);
  EXPECT_EQ(sys_.fds[accepted].written, "ok");
  EXPECT_TRUE(sys_.fds[accepted].shut);
  EXPECT_EQ(flows_.active(), 0u);
  EXPECT_FALSE(sys_.fds[accepted].reset);
  EXPECT_FALSE(sys_.fds[out].reset);
  EXPECT_TRUE(AllClosed());
}

class CountingSink : public wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t>) override { ++frames; }
  int frames = 0;
};

// -t from the host's loopback, end to end on the one seam: TcpFlows
// accepts on its listener and hands the connection to the splice path,
// which opens its socket in the namespace; nothing goes over the tap.
TEST_F(SpliceFakeTest, LoopbackConnectionsToATcpListenerAreSpliced) {
  TcpConfig cfg;
  cfg.ns_addr4 = Ns4();
  cfg.buffers = 1;
  CountingSink sink;
  TcpFlows tcp(cfg, &sys_, &sink, flow::SipKey{1, 2});
  tcp.set_splice(&flows_);
  ASSERT_TRUE(tcp.AddListener(AF_INET, nullptr, 8080, 80).ok());
  const int listener = LastSocket();
  const loop::Ref lr = loop::Ref::Unpack(sys_.fds[listener].ref);
  ASSERT_EQ(lr.kind, loop::Kind::kTcpListen);
  sys_.backlog = 1;
  tcp.OnListenerReadable(lr.index, Instant());
  ASSERT_EQ(sys_.accepted.size(), 1u);
  const int accepted = sys_.accepted[0];
  const int out = LastSocket();
  EXPECT_EQ(sys_.fds[accepted].where, Netns::kHost);
  EXPECT_EQ(sys_.fds[out].where, Netns::kTarget);
  EXPECT_EQ(sys_.fds[out].connect_addr,
            std::string(reinterpret_cast<const char*>(kNs4), 4));
  EXPECT_EQ(sys_.fds[out].connect_port, 80);
  EXPECT_EQ(flows_.active(), 1u);
  EXPECT_EQ(tcp.active(), 0u);
  EXPECT_EQ(sink.frames, 0);
}

TEST_F(SpliceFakeTest, DestructionClosesEverything) {
  {
    SpliceFlows other(&sys_, Ns4());
    other.FromHost(sys_.NewFd(), AF_INET, 1);
    const int listener = sys_.NewFd(Netns::kTarget);
    ASSERT_TRUE(other.AddNamespaceListener(listener, AF_INET, 2, 3).ok());
  }
  EXPECT_TRUE(AllClosed());
}

}  // namespace
}  // namespace pasta::tcp
