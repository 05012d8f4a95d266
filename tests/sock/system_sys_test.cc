// SystemSys on real descriptors of this process (socket pairs, pipes, the
// loopback): each call returns its value, or -1 with the errno it got.
#include "sock/system_sys.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace pasta::sock {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                             s.size());
}

class SystemSysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(ep_, 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair_), 0);
  }
  void TearDown() override {
    for (int fd : {pair_[0], pair_[1], ep_}) close(fd);
  }
  int ep_ = epoll_create1(EPOLL_CLOEXEC);  // before sys_, which takes it
  int pair_[2] = {-1, -1};
  SystemSys sys_{ep_};
};

TEST_F(SystemSysTest, FailuresCarryTheirErrno) {
  const Result r = sys_.Send(-1, Bytes("x"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.value, -1);
  EXPECT_EQ(r.err, EBADF);
  EXPECT_EQ(sys_.Recv(pair_[0], absl::Span<uint8_t>()).err, EAGAIN);
  EXPECT_EQ(sys_.Close(-1).err, EBADF);
}

TEST_F(SystemSysTest, NamespaceSocketsNeedAMaker) {
  EXPECT_EQ(sys_.Socket(Netns::kTarget, AF_INET, SOCK_STREAM, 0).err, ENOSYS);
  int asked_type = 0;
  sys_.set_namespace_sockets([&](int, int type) {
    asked_type = type;
    return Fail(EMFILE);
  });
  EXPECT_EQ(sys_.Socket(Netns::kTarget, AF_INET, SOCK_DGRAM, 0).err, EMFILE);
  EXPECT_EQ(asked_type, SOCK_DGRAM);
}

TEST_F(SystemSysTest, SocketsAreNonBlockingAndCloseOnExec) {
  const Result s = sys_.Socket(Netns::kHost, AF_INET, SOCK_DGRAM, 0);
  ASSERT_TRUE(s.ok()) << strerror(s.err);
  EXPECT_NE(fcntl(s.fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(fcntl(s.fd(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_TRUE(sys_.Close(s.fd()).ok());
}

TEST_F(SystemSysTest, PeekSkipsWhatIsInFlight) {
  ASSERT_EQ(write(pair_[1], "abcdef", 6), 6);
  char buf[8] = {};
  iovec iov{buf, sizeof(buf)};
  Result r = sys_.Peek(pair_[0], 2, &iov, 1);
  ASSERT_TRUE(r.ok()) << strerror(r.err);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(r.value)), "cdef");
  // Nothing beyond the skipped bytes: EAGAIN, not zero (end of stream).
  EXPECT_EQ(sys_.Peek(pair_[0], 6, &iov, 1).err, EAGAIN);
}

TEST_F(SystemSysTest, OptionsReadBack) {
  const Result s = sys_.Socket(Netns::kHost, AF_INET, SOCK_STREAM, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(sys_.SetOpt(s.fd(), SOL_SOCKET, SO_KEEPALIVE, 1).ok());
  EXPECT_EQ(sys_.GetOpt(s.fd(), SOL_SOCKET, SO_KEEPALIVE).value, 1);
  EXPECT_EQ(sys_.GetOpt(s.fd(), SOL_SOCKET, SO_ERROR).value, 0);
  EXPECT_EQ(sys_.SetOpt(s.fd(), SOL_SOCKET, 9999, 1).err, ENOPROTOOPT);
  sys_.Close(s.fd());
}

TEST_F(SystemSysTest, PipesSpliceAndHaveTheSizeAskedFor) {
  int p[2];
  ASSERT_TRUE(sys_.Pipe(p).ok());
  const Result size = sys_.SetPipeSize(p[1], 1 << 16);
  EXPECT_EQ(size.value, 1 << 16);
  ASSERT_EQ(write(pair_[1], "hello", 5), 5);
  EXPECT_EQ(sys_.Splice(pair_[0], p[1], 1 << 16).value, 5);
  EXPECT_EQ(sys_.Splice(pair_[0], p[1], 1 << 16).err, EAGAIN);
  EXPECT_EQ(sys_.Splice(p[0], pair_[1], 5).value, 5);
  char buf[8];
  EXPECT_EQ(read(pair_[0], buf, sizeof(buf)), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  shutdown(pair_[1], SHUT_WR);
  EXPECT_TRUE(sys_.Splice(pair_[0], p[1], 1 << 16).ok());
  EXPECT_EQ(sys_.Splice(pair_[0], p[1], 1 << 16).value, 0);  // end of stream
  close(p[0]);
  close(p[1]);
}

TEST_F(SystemSysTest, DatagramBatchesOnTheLoopback) {
  const int a = sys_.Socket(Netns::kHost, AF_INET, SOCK_DGRAM, 0).fd();
  const int b = sys_.Socket(Netns::kHost, AF_INET, SOCK_DGRAM, 0).fd();
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  const uint8_t lo[4] = {127, 0, 0, 1};
  ASSERT_TRUE(sys_.Bind(b, AF_INET, lo, 0).ok());
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  getsockname(b, reinterpret_cast<sockaddr*>(&sa), &len);
  const uint16_t port = ntohs(sa.sin_port);
  uint8_t out1[] = {'o', 'n', 'e'}, out2[] = {'t', 'w', 'o', '!'};
  Datagram send[2];
  send[0].data = out1;
  send[0].len = sizeof(out1);
  send[1].data = out2;
  send[1].len = sizeof(out2);
  // nullptr: the loopback.
  EXPECT_EQ(sys_.SendBatch(a, AF_INET, nullptr, port, send, 2).value, 2);
  uint8_t in[2][8];
  Datagram got[2];
  for (int i = 0; i < 2; ++i) {
    got[i].data = in[i];
    got[i].cap = 3;  // the second one does not fit
  }
  EXPECT_EQ(sys_.RecvBatch(b, got, 2).value, 2);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(in[0]), got[0].len), "one");
  EXPECT_FALSE(got[0].truncated);
  EXPECT_TRUE(got[1].truncated);
  EXPECT_EQ(got[0].family, AF_INET);
  EXPECT_EQ(std::memcmp(got[0].addr, lo, 4), 0);
  EXPECT_EQ(sys_.RecvBatch(b, got, 2).err, EAGAIN);
  sys_.Close(a);
  sys_.Close(b);
}

TEST_F(SystemSysTest, WatchRegistersWithTheRunsEpoll) {
  EXPECT_TRUE(sys_.Watch(pair_[0], 0x1234, EPOLLIN).ok());
  EXPECT_EQ(sys_.Watch(pair_[0], 0x1234, EPOLLIN).err, EEXIST);
  ASSERT_EQ(write(pair_[1], "x", 1), 1);
  epoll_event ev{};
  ASSERT_EQ(epoll_wait(ep_, &ev, 1, 1000), 1);
  EXPECT_EQ(ev.data.u64, 0x1234u);
}

}  // namespace
}  // namespace pasta::sock
