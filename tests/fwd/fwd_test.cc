// Automatic forwarding: reading the kernel's socket tables, and keeping
// listeners in step with them (one AutoForward, and MakeAutoForward()'s
// listener per family).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/fd.h"
#include "fwd/auto_forward.h"
#include "fwd/proc_net.h"
#include "gtest/gtest.h"
#include "log_capture.h"

namespace pasta::fwd {
namespace {

// Lines as Linux 6.x prints them (trimmed after the inode).
constexpr char kTcp[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
    "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 4711 1\n"
    "   1: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 4712 1\n"
    "   2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 "
    "00000000     0        0 4713 1\n";

constexpr char kTcp6[] =
    "  sl  local_address                         remote_address         "
    "               st tx_queue rx_queue\n"
    "   0: 00000000000000000000000000000000:01BB "
    "00000000000000000000000000000000:0000 0A 00000000:00000000\n";

constexpr char kUdp[] =
    "   sl  local_address rem_address   st tx_queue rx_queue\n"
    "  100: 00000000:0035 00000000:0000 07 00000000:00000000\n"
    "  101: 0F02000A:A000 0100000A:0035 01 00000000:00000000\n";

TEST(ParseProcNetTest, ListeningTcpSocketsCount) {
  PortSet ports;
  EXPECT_EQ(ParseProcNet(kTcp, Table::kTcp, &ports), 2);
  EXPECT_TRUE(ports.test(8080));
  EXPECT_TRUE(ports.test(22));
  EXPECT_FALSE(ports.test(40000));  // established: not a server
  EXPECT_EQ(ports.count(), 2u);
}

TEST(ParseProcNetTest, Ipv6TableAddsToTheSameSet) {
  PortSet ports;
  ParseProcNet(kTcp, Table::kTcp, &ports);
  EXPECT_EQ(ParseProcNet(kTcp6, Table::kTcp, &ports), 1);
  EXPECT_TRUE(ports.test(443));
  EXPECT_EQ(ports.count(), 3u);
}

TEST(ParseProcNetTest, UdpCountsUnconnectedBoundSockets) {
  PortSet ports;
  EXPECT_EQ(ParseProcNet(kUdp, Table::kUdp, &ports), 1);
  EXPECT_TRUE(ports.test(53));
  EXPECT_FALSE(ports.test(0xa000));  // connected: a client
}

TEST(ParseProcNetTest, TcpStatesDoNotCountForUdpAndViceVersa) {
  PortSet ports;
  EXPECT_EQ(ParseProcNet(kUdp, Table::kTcp, &ports), 0);
  EXPECT_EQ(ParseProcNet(kTcp, Table::kUdp, &ports), 0);
  EXPECT_TRUE(ports.none());
}

TEST(ParseProcNetTest, JunkIsSkipped) {
  const std::vector<std::string> junk = {
      "",
      "\n\n",
      "0: 00000000:1F90",                          // no state
      "0: 00000000:1F90 00000000:0000",            // no state
      "0: 000000001F90 00000000:0000 0A",          // no colon in local
      "0: 00000000:XYZ 00000000:0000 0A",          // not hex
      "0: 00000000:123456789 00000000:0000 0A",    // too many digits
      "0: 00000000:10000 00000000:0000 0A",        // port > 65535
      "0: 00000000:0000 00000000:0000 0A",         // port 0
      "0 00000000:1F90 00000000:0000 0A",          // no "sl:" field
      "0: 00000000:1F90 00000000:0000 0AA0A0A0A0", // state too long
      std::string("0: 00000000:1F90\0 00000000:0000 0A", 34),
  };
  for (const std::string& text : junk) {
    PortSet ports;
    EXPECT_EQ(ParseProcNet(text, Table::kTcp, &ports), 0) << text;
    EXPECT_TRUE(ports.none()) << text;
  }
}

TEST(ParseProcNetTest, LastLineWithoutNewline) {
  PortSet ports;
  EXPECT_EQ(ParseProcNet("1: 00000000:0050 00000000:0000 0A", Table::kTcp,
                         &ports),
            1);
  EXPECT_TRUE(ports.test(80));
}

class AutoForwardTest : public testing::Test {
 protected:
  AutoForward fwd_{"test",
                   [this](uint16_t p) {
                     opened_.push_back(p);
                     return refuse_ != p;
                   },
                   [this](uint16_t p) { closed_.push_back(p); }};
  std::vector<int> opened_, closed_;
  int refuse_ = -1;
};

PortSet Ports(std::initializer_list<int> list) {
  PortSet s;
  for (int p : list) s.set(static_cast<size_t>(p));
  return s;
}

TEST_F(AutoForwardTest, OpensNewPortsAndClosesGoneOnes) {
  fwd_.Update(Ports({80, 443}), {});
  EXPECT_EQ(opened_, (std::vector<int>{80, 443}));
  fwd_.Update(Ports({80, 443}), {});  // no change: no calls
  EXPECT_EQ(opened_.size(), 2u);
  fwd_.Update(Ports({443, 8080}), {});
  EXPECT_EQ(closed_, (std::vector<int>{80}));
  EXPECT_EQ(opened_, (std::vector<int>{80, 443, 8080}));
  EXPECT_EQ(fwd_.active(), Ports({443, 8080}));
}

TEST_F(AutoForwardTest, OwnPortsAreNeverForwardedBack) {
  fwd_.Update(Ports({22, 5432}), Ports({5432}));
  EXPECT_EQ(opened_, (std::vector<int>{22}));
  // A port that becomes ours is dropped.
  fwd_.Update(Ports({22, 5432}), Ports({22, 5432}));
  EXPECT_EQ(closed_, (std::vector<int>{22}));
  EXPECT_TRUE(fwd_.active().none());
}

TEST_F(AutoForwardTest, APortThatFailedIsNotRetriedUntilItComesBack) {
  refuse_ = 53;
  fwd_.Update(Ports({53}), {});
  fwd_.Update(Ports({53}), {});
  EXPECT_EQ(opened_, (std::vector<int>{53}));
  EXPECT_TRUE(fwd_.active().none());
  fwd_.Update({}, {});  // gone: nothing to close, forgotten
  EXPECT_TRUE(closed_.empty());
  refuse_ = -1;
  fwd_.Update(Ports({53}), {});
  EXPECT_EQ(opened_, (std::vector<int>{53, 53}));
  EXPECT_TRUE(fwd_.active().test(53));
}

TEST_F(AutoForwardTest, OnlyAllowedPortsAreForwarded) {
  fwd_.set_allowed(Ports({8000, 8001, 8002}));
  fwd_.Update(Ports({22, 8001, 9000}), {});
  EXPECT_EQ(opened_, (std::vector<int>{8001}));
  EXPECT_EQ(fwd_.active(), Ports({8001}));
}

TEST_F(AutoForwardTest, HighestPort) {
  fwd_.Update(Ports({65535}), {});
  EXPECT_EQ(opened_, (std::vector<int>{65535}));
}

// The kernel's own table, read back: a listener of ours on the loopback
// (port 0: any free port) is in it while it listens.
TEST(ProcNetTablesTest, ReadsTheCallersNamespace) {
  UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(s.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(s.get(), 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);

  ProcNetTables tcp = OpenProcNet(Table::kTcp);
  ASSERT_TRUE(tcp.v4.valid());
  EXPECT_EQ(tcp.table, Table::kTcp);
  EXPECT_TRUE(tcp.Read().test(port));
  EXPECT_FALSE(OpenProcNet(Table::kUdp).Read().test(port));
  s.reset();
  EXPECT_FALSE(tcp.Read().test(port));  // read again from the start
}

TEST(ProcNetTablesTest, UnopenedTablesReadAsNoPorts) {
  EXPECT_TRUE(ProcNetTables().Read().none());
}

// One add callback's calls: (family, port); fails the families in `refuse`
// with "bind: Address in use".
struct FamilyCalls {
  std::vector<std::pair<int, int>> calls;
  std::vector<int> refuse;
  std::vector<int> removed;
};

std::unique_ptr<AutoForward> MakeRecorded(const char* name,
                                          const char* protocol, bool v4,
                                          bool v6, FamilyCalls& c) {
  return MakeAutoForward(
      name, protocol, v4, v6,
      [&c](int family, uint16_t port) {
        c.calls.emplace_back(family, port);
        for (int f : c.refuse)
          if (f == family)
            return absl::UnavailableError("bind: Address in use");
        return absl::OkStatus();
      },
      [&c](uint16_t port) { c.removed.push_back(port); });
}

TEST(MakeAutoForwardTest, OpensAListenerPerEnabledFamily) {
  FamilyCalls both, v4, v6;
  MakeRecorded("-t auto", "TCP", true, true, both)->Update(Ports({80}), {});
  MakeRecorded("-t auto", "TCP", true, false, v4)->Update(Ports({80}), {});
  MakeRecorded("-t auto", "TCP", false, true, v6)->Update(Ports({80}), {});
  using Calls = std::vector<std::pair<int, int>>;
  EXPECT_EQ(both.calls, (Calls{{AF_INET, 80}, {AF_INET6, 80}}));
  EXPECT_EQ(v4.calls, (Calls{{AF_INET, 80}}));
  EXPECT_EQ(v6.calls, (Calls{{AF_INET6, 80}}));
}

TEST(MakeAutoForwardTest, OnePortOpensIfAnyFamilyDoesAndSaysSo) {
  LogCapture log(log::Level::kDebug);
  FamilyCalls c;
  c.refuse = {AF_INET6};
  std::unique_ptr<AutoForward> f =
      MakeRecorded("-u auto", "UDP", true, true, c);
  EXPECT_EQ(f->name(), "-u auto");
  f->Update(Ports({5353}), {});
  EXPECT_TRUE(f->active().test(5353));
  EXPECT_EQ(log.Text(),
            "-u auto: bind: Address in use\n"
            "-u auto: forwarding UDP port 5353\n");
  f->Update({}, {});
  EXPECT_EQ(c.removed, std::vector<int>{5353});
}

TEST(MakeAutoForwardTest, APortNoFamilyCouldOpenIsNotForwarded) {
  LogCapture log(log::Level::kDebug);
  FamilyCalls c;
  c.refuse = {AF_INET, AF_INET6};
  std::unique_ptr<AutoForward> f =
      MakeRecorded("-T auto", "TCP", true, true, c);
  f->Update(Ports({8080}), {});
  EXPECT_TRUE(f->active().none());
  EXPECT_EQ(log.Text(),
            "-T auto: bind: Address in use\n"
            "-T auto: bind: Address in use\n");
  f->Update({}, {});
  EXPECT_TRUE(c.removed.empty());  // nothing was open
}

}  // namespace
}  // namespace pasta::fwd
