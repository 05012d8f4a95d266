// The control protocol against the exchanges captured between upstream's
// pasta and pesto (../shared/pesto-protocol.md §10): the same bytes out,
// the same rules and text from the same bytes in.
#include "control/protocol.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pasta::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kAllCaps = 0x3f;

WireAddr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  WireAddr w{};
  w[10] = 0xff;
  w[11] = 0xff;
  w[12] = a;
  w[13] = b;
  w[14] = c;
  w[15] = d;
  return w;
}

WireAddr V6(std::initializer_list<uint8_t> head, uint8_t last) {
  WireAddr w{};
  size_t i = 0;
  for (const uint8_t b : head) w[i++] = b;
  w[15] = last;
  return w;
}

Rule Tcp(uint16_t first, uint16_t last, uint16_t to) {
  Rule r;
  r.first = first;
  r.last = last;
  r.to = to;
  r.proto = kProtoTcp;
  r.flags = kFlagDualStack;
  return r;
}

std::vector<Table> PastaTables() {
  return {Table{Pif::kHost, kAllCaps, {}}, Table{Pif::kSplice, kAllCaps, {}}};
}

std::vector<uint8_t> Bytes(std::initializer_list<int> list) {
  std::vector<uint8_t> out;
  for (const int b : list) out.push_back(static_cast<uint8_t>(b));
  return out;
}

TEST(ControlProtocolTest, HelloWithEmptyTablesIsTheCaptured295Bytes) {
  const std::vector<uint8_t> hello = EncodeHello(PastaTables());
  ASSERT_EQ(hello.size(), 295U);
  const std::vector<uint8_t> head =
      Bytes({'b', 'a', 's',  'i', 'l', ':', 's',  0, 0,   0,   0,   2,   0,
             0,   0,   0x80, 0,   0,   0,   0x10, 1, 'H', 'O', 'S', 'T', 0});
  EXPECT_TRUE(std::equal(head.begin(), head.end(), hello.begin()));
  // The rest of the name is zero, then caps and count.
  for (size_t i = 0x19; i < 0x95; ++i) ASSERT_EQ(hello[i], 0) << i;
  EXPECT_THAT(std::vector<uint8_t>(hello.begin() + 0x95, hello.begin() + 0x9e),
              ElementsAre(0, 0, 0, 0x3f, 0, 0, 0, 0, 3));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&hello[0x9e])), "SPLICE");
  EXPECT_THAT(std::vector<uint8_t>(hello.begin() + 0x11e, hello.end()),
              ElementsAre(0, 0, 0, 0x3f, 0, 0, 0, 0, 0));
}

TEST(ControlProtocolTest, AddOneTcpPortIsTheCaptured67ByteUpdate) {
  std::vector<Table> tables = PastaTables();
  tables[0].rules.push_back(Tcp(8080, 8080, 8080));
  const std::vector<uint8_t> update = EncodeUpdate(tables);
  ASSERT_EQ(update.size(), 67U);
  std::vector<uint8_t> want(67, 0);
  want[0] = 1;
  want[4] = 1;
  for (const size_t at : {0x35, 0x37, 0x39}) {
    want[at] = 0x1f;
    want[at + 1] = 0x90;
  }
  want[0x3b] = 6;
  want[0x3c] = 1;
  want[0x3d] = 3;
  EXPECT_EQ(update, want);

  UpdateReader reader(PastaTables());
  EXPECT_EQ(reader.Feed(update), update.size());
  ASSERT_EQ(reader.state(), UpdateReader::State::kDone) << reader.error();
  EXPECT_THAT(reader.tables()[0].rules, ElementsAre(Tcp(8080, 8080, 8080)));
  EXPECT_TRUE(reader.tables()[1].rules.empty());
}

TEST(ControlProtocolTest, RulesRoundTripVerbatimIncludingBytesAfterTheName) {
  Rule r = Tcp(5000, 5010, 6000);
  r.flags = 0;
  r.addr = V4(0, 0, 0, 0);
  r.taddr = V4(192, 0, 2, 5);
  std::memcpy(r.ifname.data(), "lo\0junk", 7);
  uint8_t bytes[kRuleSize];
  r.Encode(bytes);
  EXPECT_EQ(Rule::Decode(bytes), r);
  EXPECT_EQ(r.ifname_view(), "lo");
}

TEST(ControlProtocolTest, DescribeMatchesUpstreamsLines) {
  EXPECT_EQ(Describe(Tcp(8080, 8080, 8080)), "TCP [*]:8080  =>  8080 ");
  Rule target = Tcp(5000, 5000, 6000);
  target.flags = 0;
  target.addr = V4(0, 0, 0, 0);
  target.taddr = V4(192, 0, 2, 5);
  EXPECT_EQ(Describe(target), "TCP [0.0.0.0]:5000  =>  192.0.2.5:6000 ");
  Rule udp = Tcp(6000, 6010, 7000);
  udp.proto = kProtoUdp;
  EXPECT_EQ(Describe(udp), "UDP [*]:6000-6010  =>  7000-7010 ");
  Rule lo = Tcp(9090, 9090, 9090);
  std::memcpy(lo.ifname.data(), "lo", 2);
  EXPECT_EQ(Describe(lo), "TCP [*]%lo:9090  =>  9090 ");
  Rule v6 = Tcp(5002, 5002, 6002);
  v6.flags = 0;
  v6.addr = V6({}, 1);
  v6.taddr = V6({0x20, 0x01, 0x0d, 0xb8}, 5);
  EXPECT_EQ(Describe(v6), "TCP [::1]:5002  =>  2001:db8::5:6002 ");
  Rule weak = Tcp(65001, 65535, 65001);
  weak.flags |= kFlagWeak;
  EXPECT_EQ(Describe(weak),
            "TCP [*]:65001-65535  =>  65001-65535  (best effort)");
  Rule scan = Tcp(1, 32767, 1);
  scan.flags |= kFlagWeak | kFlagScan;
  std::memcpy(scan.ifname.data(), "lo", 2);
  EXPECT_EQ(Describe(scan),
            "TCP [*]%lo:1-32767  =>  1-32767  (best effort) (auto-scan)");
}

TEST(ControlProtocolTest, DescribeKeepsAnyInterfaceNameOnOneLine) {
  Rule r = Tcp(1, 1, 1);
  std::memcpy(r.ifname.data(), "a\nb\x7f", 4);
  EXPECT_EQ(Describe(r), "TCP [*]%a\\x0ab\\x7f:1  =>  1 ");
}

TEST(ControlProtocolTest, ConflictsFollowAddressFamiliesAndDualStack) {
  Rule any4 = Tcp(8080, 8080, 8080);
  any4.flags = 0;
  any4.addr = V4(0, 0, 0, 0);
  Rule any6 = any4;
  any6.addr = WireAddr{};
  EXPECT_FALSE(Conflicts(any4, any6));
  EXPECT_TRUE(Conflicts(any4, Tcp(8080, 8080, 8080)));
  EXPECT_TRUE(Conflicts(any6, Tcp(8000, 9000, 8000)));
  Rule one = any4;
  one.addr = V4(192, 0, 2, 1);
  EXPECT_TRUE(Conflicts(one, any4));
  Rule other = any4;
  other.addr = V4(192, 0, 2, 2);
  EXPECT_FALSE(Conflicts(one, other));
  Rule udp = any4;
  udp.proto = kProtoUdp;
  EXPECT_FALSE(Conflicts(any4, udp));
  EXPECT_FALSE(Conflicts(Tcp(100, 200, 100), Tcp(201, 300, 201)));
}

// Each check of a rule in an update rejects it with one line and leaves
// the table as it was.
TEST(ControlProtocolTest, AddRuleRejectsEachKindOfBadRule) {
  struct Case {
    Rule rule;
    uint32_t caps;
    const char* says;
  };
  Rule backwards = Tcp(200, 100, 100);
  Rule from_zero = Tcp(0, 10, 1);
  Rule to_zero = Tcp(10, 10, 0);
  Rule past_end = Tcp(10, 20, 65530);
  Rule flags = Tcp(10, 10, 10);
  flags.flags |= 0x08;
  Rule dual_addr = Tcp(10, 10, 10);
  dual_addr.addr = V6({}, 1);
  Rule v4_only = Tcp(10, 10, 10);
  v4_only.flags = 0;
  v4_only.addr = V4(0, 0, 0, 0);
  Rule icmp = Tcp(10, 10, 10);
  icmp.proto = 1;
  Rule multicast = v4_only;
  multicast.taddr = V4(224, 0, 0, 1);
  Rule broadcast = v4_only;
  broadcast.taddr = V4(255, 255, 255, 255);
  Rule dual_target = Tcp(10, 10, 10);
  dual_target.taddr = V4(192, 0, 2, 1);
  Rule cross = v4_only;
  cross.taddr = V6({0x20, 0x01, 0x0d, 0xb8}, 1);
  const Case cases[] = {
      {backwards, kAllCaps, "invalid port range 200-100"},
      {from_zero, kAllCaps, "from port 0"},
      {to_zero, kAllCaps, "to port 0"},
      {past_end, kAllCaps, "beyond 65535"},
      {flags, kAllCaps, "unknown rule flags 0x9"},
      {dual_addr, kAllCaps, "dual-stack rule with an address: ::1"},
      {Tcp(10, 10, 10), kAllCaps & ~kCapIpv6, "IPv6 is not enabled"},
      {v4_only, kAllCaps & ~kCapIpv4, "IPv4 rule, but IPv4 is not enabled"},
      {icmp, kAllCaps, "protocol 1 (ICMP)"},
      {Tcp(10, 10, 10), kAllCaps & ~kCapTcp, "protocol 6 (TCP)"},
      {multicast, kAllCaps, "multicast or broadcast target address 224.0.0.1"},
      {broadcast, kAllCaps, "255.255.255.255"},
      {dual_target, kAllCaps, "dual-stack rule with a target address"},
      {cross, kAllCaps, "another address family"},
  };
  for (const Case& c : cases) {
    Table table{Pif::kHost, c.caps, {Tcp(30000, 30000, 30000)}};
    uint64_t listeners = 1;
    const absl::Status st = AddRule(table, c.rule, listeners);
    EXPECT_FALSE(st.ok()) << c.says;
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.says));
    EXPECT_EQ(table.rules.size(), 1U);
    EXPECT_EQ(listeners, 1U);
  }
}

TEST(ControlProtocolTest, AddRuleEnforcesConflictsAndLimits) {
  Table table{Pif::kHost, kAllCaps, {}};
  uint64_t listeners = 0;
  ASSERT_TRUE(AddRule(table, Tcp(100, 200, 100), listeners).ok());
  const absl::Status conflict = AddRule(table, Tcp(150, 150, 150), listeners);
  EXPECT_THAT(std::string(conflict.message()),
              HasSubstr("conflicting rules: TCP [*]:150  =>  150 versus TCP "
                        "[*]:100-200  =>  100-200 "));
  // 255 rules, then one more.
  for (uint16_t p = 1000; table.rules.size() < kMaxRules; ++p) {
    ASSERT_TRUE(AddRule(table, Tcp(p, p, p), listeners).ok());
  }
  EXPECT_THAT(
      std::string(AddRule(table, Tcp(5000, 5000, 5000), listeners).message()),
      HasSubstr("more than 255 rules"));
  // The socket budget counts ports over the table's rules.
  Table udp{Pif::kHost, kAllCaps, {}};
  uint64_t sockets = 0;
  for (const uint8_t last : {1, 2, 3, 4, 5}) {
    Rule all = Tcp(1, 65535, 1);
    all.proto = kProtoUdp;
    all.flags = 0;
    all.addr = V6({}, last);
    ASSERT_TRUE(AddRule(udp, all, sockets).ok());
  }
  // 5 x 65535 ports: five more reach the limit exactly, one more is over.
  Rule five = Tcp(1, 5, 1);
  five.proto = kProtoUdp;
  five.flags = 0;
  five.addr = V6({}, 8);
  ASSERT_TRUE(AddRule(udp, five, sockets).ok());
  EXPECT_EQ(sockets, kMaxListeners);
  Rule one = five;
  one.last = 1;
  one.addr = V6({}, 9);
  EXPECT_THAT(std::string(AddRule(udp, one, sockets).message()),
              HasSubstr("listening sockets"));
  EXPECT_EQ(sockets, kMaxListeners);
}

TEST(ControlProtocolTest, ReaderTakesAnUpdateAByteAtATime) {
  std::vector<Table> tables = PastaTables();
  Rule target = Tcp(5000, 5000, 6000);
  target.flags = 0;
  target.addr = V4(0, 0, 0, 0);
  target.taddr = V4(192, 0, 2, 5);
  tables[0].rules = {target, Tcp(8080, 8081, 8080)};
  Rule lo = Tcp(9090, 9090, 9090);
  std::memcpy(lo.ifname.data(), "lo", 2);
  tables[1].rules = {lo};
  std::vector<uint8_t> update = EncodeUpdate(tables);
  update.push_back(0x55);  // after the end: not the reader's

  UpdateReader reader(PastaTables());
  size_t used = 0;
  for (size_t i = 0; i < update.size() - 1; ++i) {
    ASSERT_EQ(reader.state(), UpdateReader::State::kMore) << i;
    used += reader.Feed(absl::MakeConstSpan(&update[i], 1));
  }
  ASSERT_EQ(reader.state(), UpdateReader::State::kDone) << reader.error();
  EXPECT_EQ(reader.Feed(absl::MakeConstSpan(&update.back(), 1)), 0U);
  EXPECT_EQ(used, update.size() - 1);
  EXPECT_EQ(reader.tables()[0].rules, tables[0].rules);
  EXPECT_EQ(reader.tables()[1].rules, tables[1].rules);
}

TEST(ControlProtocolTest, ReaderLeavesOutTablesEmptyAndAppendsARepeatedOne) {
  UpdateReader just_end(PastaTables());
  const uint8_t end = 0;
  just_end.Feed(absl::MakeConstSpan(&end, 1));
  ASSERT_EQ(just_end.state(), UpdateReader::State::kDone);
  EXPECT_TRUE(just_end.tables()[0].rules.empty());

  std::vector<Table> first = {Table{Pif::kHost, kAllCaps, {Tcp(1, 1, 1)}}};
  std::vector<Table> second = {Table{Pif::kHost, kAllCaps, {Tcp(2, 2, 2)}}};
  std::vector<uint8_t> update = EncodeUpdate(first);
  update.pop_back();
  const std::vector<uint8_t> more = EncodeUpdate(second);
  update.insert(update.end(), more.begin(), more.end());
  UpdateReader twice(PastaTables());
  twice.Feed(update);
  ASSERT_EQ(twice.state(), UpdateReader::State::kDone) << twice.error();
  EXPECT_THAT(twice.tables()[0].rules, ElementsAre(Tcp(1, 1, 1), Tcp(2, 2, 2)));
}

TEST(ControlProtocolTest, ReaderRejectsBadRecordsWithOneLine) {
  struct Case {
    std::vector<uint8_t> bytes;
    const char* says;
  };
  std::vector<uint8_t> no_nul = EncodeUpdate(
      std::vector<Table>{Table{Pif::kHost, kAllCaps, {Tcp(1, 1, 1)}}});
  for (size_t i = 5 + 32; i < 5 + 48; ++i) no_nul[i] = 'x';
  std::vector<uint8_t> conflict = EncodeUpdate(std::vector<Table>{
      Table{Pif::kHost, kAllCaps, {Tcp(1, 10, 1), Tcp(5, 5, 5)}}});
  const Case cases[] = {
      {Bytes({2, 0, 0, 0, 0, 0}), "rules for table 2"},
      {Bytes({9, 0, 0, 0, 0, 0}), "rules for table 9"},
      {Bytes({1, 0, 0, 1, 0, 0}), "256 rules for table HOST"},
      {no_nul, "terminating NUL"},
      {conflict, "conflicting rules"},
  };
  for (const Case& c : cases) {
    UpdateReader reader(PastaTables());
    reader.Feed(c.bytes);
    ASSERT_EQ(reader.state(), UpdateReader::State::kError) << c.says;
    EXPECT_THAT(reader.error(), HasSubstr(c.says));
    EXPECT_EQ(reader.error().find('\n'), std::string::npos);
  }
  // A passt-like server has no SPLICE table.
  UpdateReader passt(std::vector<Table>{Table{Pif::kHost, 0x2f, {}}});
  passt.Feed(Bytes({3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(passt.state(), UpdateReader::State::kError);
}

TEST(ControlProtocolTest, ReaderCutShortIsAnError) {
  std::vector<uint8_t> update = EncodeUpdate(
      std::vector<Table>{Table{Pif::kHost, kAllCaps, {Tcp(1, 1, 1)}}});
  update.resize(update.size() - 10);
  UpdateReader reader(PastaTables());
  EXPECT_EQ(reader.Feed(update), update.size());
  EXPECT_EQ(reader.state(), UpdateReader::State::kMore);
  reader.End();
  EXPECT_EQ(reader.state(), UpdateReader::State::kError);
  EXPECT_THAT(reader.error(), HasSubstr("closed in the middle"));
}

TEST(ControlProtocolTest, StatusRecord) {
  const std::vector<uint8_t> ok = EncodeStatus(true, "");
  EXPECT_THAT(ok, ElementsAre('b', 'a', 's', 'i', 'l', ':', 'r', 0, 0, 0, 0, 0,
                              0, 0, 0, 0));
  const std::vector<uint8_t> bad = EncodeStatus(false, "no");
  EXPECT_THAT(std::vector<uint8_t>(bad.begin() + 8, bad.end()),
              ElementsAre(0, 0, 0, 1, 0, 0, 0, 2, 'n', 'o'));
}

}  // namespace
}  // namespace pasta::control
