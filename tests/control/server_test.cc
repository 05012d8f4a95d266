// The control server over real UNIX sockets in a temporary directory (no
// network, no privileges), driven by hand in place of the loop: what a
// client sees at each step.
#include "control/server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pasta::control {
namespace {

using ::testing::HasSubstr;

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pasta-control-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sock";
    tables_ = {Table{Pif::kHost, 0x3f, {}}, Table{Pif::kSplice, 0x3f, {}}};
  }
  void TearDown() override {
    for (const int fd : clients_) close(fd);
    server_.reset();
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  void StartServer() {
    auto server = Server::Bind(path_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    server_->Start(
        ServerHooks{[this] { return tables_; },
                    [this](const std::vector<Table>& t) {
                      ++applies_;
                      if (!refuse_.empty())
                        return absl::FailedPreconditionError(refuse_);
                      tables_ = t;
                      return absl::OkStatus();
                    },
                    [this](int fd, uint32_t events, bool add, bool listener) {
                      watched_.push_back({fd, events, add, listener});
                    }});
  }

  int Connect() {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strcpy(sun.sun_path, path_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    clients_.push_back(fd);
    return fd;
  }

  // Reads what is there now (never blocks).
  static std::vector<uint8_t> ReadNow(int fd) {
    std::vector<uint8_t> out;
    uint8_t buf[4096];
    for (;;) {
      const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      out.insert(out.end(), buf, buf + n);
    }
    return out;
  }

  // Reads until EOF (2 s timeout).
  static std::vector<uint8_t> ReadToEnd(int fd) {
    std::vector<uint8_t> out;
    uint8_t buf[4096];
    for (;;) {
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.insert(out.end(), buf, buf + n);
    }
    return out;
  }

  static void Send(int fd, const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  Rule TcpRule(uint16_t port) {
    Rule r;
    r.first = r.last = r.to = port;
    r.proto = kProtoTcp;
    r.flags = kFlagDualStack;
    return r;
  }

  struct Watch {
    int fd;
    uint32_t events;
    bool add;
    bool listener;
  };
  std::string dir_;
  std::string path_;
  std::vector<Table> tables_;
  std::unique_ptr<Server> server_;
  std::vector<Watch> watched_;
  std::vector<int> clients_;
  std::string refuse_;
  int applies_ = 0;
  Instant now_ = Instant::FromClockZero(Seconds(100));
};

TEST_F(ControlServerTest, GreetsWithTheDumpAndAppliesAnUpdate) {
  StartServer();
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);  // whatever the umask
  ASSERT_FALSE(watched_.empty());
  EXPECT_TRUE(watched_[0].listener);
  EXPECT_NE(watched_[0].events & EPOLLET, 0U);
  const int c = Connect();
  server_->OnListener(now_);
  EXPECT_EQ(ReadNow(c), EncodeHello(tables_));

  std::vector<Table> update = tables_;
  update[0].rules.push_back(TcpRule(8080));
  Send(c, EncodeUpdate(update));
  shutdown(c, SHUT_WR);
  server_->OnSession(EPOLLIN, now_);
  EXPECT_EQ(applies_, 1);
  EXPECT_EQ(tables_[0].rules, update[0].rules);
  EXPECT_EQ(ReadToEnd(c), EncodeStatus(true, ""));
  EXPECT_EQ(server_->session_fd(), -1);
  EXPECT_EQ(server_->counters().applied, 1U);

  // The next client sees the new table.
  const int d = Connect();
  server_->OnListener(now_);
  EXPECT_EQ(ReadNow(d), EncodeHello(tables_));
}

TEST_F(ControlServerTest, RefusedUpdatesLeaveTheRulesAndSayWhy) {
  StartServer();
  tables_[0].rules.push_back(TcpRule(22));
  const std::vector<Table> before = tables_;

  // The owner refuses (say, a port already bound).
  refuse_ = "-t 8080: Address already in use";
  int c = Connect();
  server_->OnListener(now_);
  ReadNow(c);
  std::vector<Table> update = tables_;
  update[0].rules.push_back(TcpRule(8080));
  Send(c, EncodeUpdate(update));
  server_->OnSession(EPOLLIN, now_);
  EXPECT_EQ(ReadToEnd(c), EncodeStatus(false, refuse_));
  EXPECT_EQ(tables_[0].rules, before[0].rules);

  // Malformed: a rule from port 0 never reaches the owner.
  refuse_.clear();
  c = Connect();
  server_->OnListener(now_);
  ReadNow(c);
  update = tables_;
  update[0].rules.push_back(TcpRule(0));
  Send(c, EncodeUpdate(update));
  server_->OnSession(EPOLLIN, now_);
  const std::vector<uint8_t> status = ReadToEnd(c);
  ASSERT_GE(status.size(), kStatusHeaderSize);
  EXPECT_EQ(status[11], 1);
  EXPECT_THAT(std::string(status.begin() + kStatusHeaderSize, status.end()),
              HasSubstr("port 0"));
  EXPECT_EQ(applies_, 1);
  EXPECT_EQ(tables_[0].rules, before[0].rules);
  EXPECT_EQ(server_->counters().rejected, 2U);
}

TEST_F(ControlServerTest, AClientThatOnlyLooksChangesNothing) {
  StartServer();
  const int c = Connect();
  server_->OnListener(now_);
  ReadNow(c);
  shutdown(c, SHUT_WR);
  server_->OnSession(EPOLLIN | EPOLLRDHUP, now_);
  EXPECT_EQ(applies_, 0);
  EXPECT_EQ(server_->session_fd(), -1);
  EXPECT_EQ(server_->counters().rejected, 0U);
}

TEST_F(ControlServerTest, AStalledClientTimesOutAndTheNextOneIsServed) {
  StartServer();
  const int a = Connect();
  server_->OnListener(now_);
  ReadNow(a);
  Send(a, {1, 0, 0});  // half a count, then nothing
  server_->OnSession(EPOLLIN, now_);
  EXPECT_EQ(server_->NextDeadline(), now_ + kSessionTimeout);

  // A second client waits: no greeting while the first holds the session.
  const int b = Connect();
  server_->OnListener(now_);
  EXPECT_TRUE(ReadNow(b).empty());

  server_->Expire(now_ + Seconds(1));
  EXPECT_NE(server_->session_fd(), -1);
  server_->Expire(now_ + kSessionTimeout);
  EXPECT_EQ(server_->counters().timeouts, 1U);
  EXPECT_EQ(applies_, 0);
  // The first is closed without change; the second has its greeting.
  EXPECT_TRUE(ReadToEnd(a).empty());
  EXPECT_EQ(ReadNow(b), EncodeHello(tables_));
}

TEST_F(ControlServerTest, AFloodIsRefusedWithoutApplying) {
  StartServer();
  const int c = Connect();
  server_->OnListener(now_);
  ReadNow(c);
  // Empty HOST records, forever: valid bytes, never an end.
  std::vector<uint8_t> flood;
  for (int i = 0; i < 16000; ++i) flood.insert(flood.end(), {1, 0, 0, 0, 0});
  Send(c, flood);
  for (int i = 0; i < 10 && server_->session_fd() >= 0; ++i) {
    server_->OnSession(EPOLLIN, now_);
  }
  EXPECT_EQ(server_->session_fd(), -1);
  EXPECT_EQ(applies_, 0);
  EXPECT_EQ(server_->counters().rejected, 1U);
}

TEST_F(ControlServerTest, BindRefusesALiveSocketAndReplacesAStaleOne) {
  StartServer();
  auto second = Server::Bind(path_);
  EXPECT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("already answers"));
  server_.reset();  // the file stays, nobody listens
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  auto again = Server::Bind(path_);
  EXPECT_TRUE(again.ok()) << again.status();

  auto too_long = Server::Bind(dir_ + "/" + std::string(120, 'x'));
  EXPECT_FALSE(too_long.ok());
  EXPECT_THAT(std::string(too_long.status().message()), HasSubstr("107 bytes"));
}

}  // namespace
}  // namespace pasta::control
