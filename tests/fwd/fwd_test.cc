// Automatic forwarding: reading the kernel's socket tables, and keeping
// listeners in step with them.
#include <string>
#include <vector>

#include "fwd/auto_forward.h"
#include "fwd/proc_net.h"
#include "gtest/gtest.h"

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

TEST_F(AutoForwardTest, HighestPort) {
  fwd_.Update(Ports({65535}), {});
  EXPECT_EQ(opened_, (std::vector<int>{65535}));
}

}  // namespace
}  // namespace pasta::fwd
