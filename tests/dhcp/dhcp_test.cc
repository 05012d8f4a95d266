#include "dhcp/dhcp.h"

#include <array>
#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace pasta::dhcp {
namespace {

using testing::Addr;
using testing::Bytes;
using testing::Cat;
using testing::Raw;
using testing::Str;
using testing::Zeros;

constexpr size_t kCookieOff = 236;
constexpr size_t kOptionsOff = 240;

Dhcp4Config TestConfig() {
  Dhcp4Config cfg;
  cfg.addr = *ParseIp("10.0.2.15");
  cfg.prefix_len = 24;
  cfg.router = *ParseIp("10.0.2.2");
  cfg.server_id = *ParseIp("10.0.2.2");
  // The IPv6 server is not for DHCPv4 and must be skipped.
  cfg.dns = {*ParseIp("10.0.2.3"), *ParseIp("2001:db8::53"),
             *ParseIp("192.0.2.53")};
  cfg.search = {"example.org", "lab.internal"};
  cfg.mtu = 1500;
  Prepare(cfg);
  return cfg;
}

// The fixed header a client on 52:54:00:12:34:56 sends, cookie included.
Bytes Header(uint16_t flags = 0, const char* ciaddr = "0.0.0.0") {
  return Cat({
      {0x01, 0x01, 0x06, 0x00},  // op BOOTREQUEST, htype 1, hlen 6, hops
      {0x39, 0x03, 0xf3, 0x26},  // xid
      {0x00, 0x00, static_cast<uint8_t>(flags >> 8),
       static_cast<uint8_t>(flags)},  // secs, flags
      Addr(ciaddr),                   // ciaddr
      Zeros(12),                      // yiaddr, siaddr, giaddr
      {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
      Zeros(10),   // chaddr
      Zeros(192),  // sname, file
      {99, 130, 83, 99},
  });
}

// Pads to the 300 bytes busybox sends at least.
Bytes Padded(Bytes b) {
  if (b.size() < 300) b.resize(300, 0);
  return b;
}

const Bytes kClientIdOption = {0x3d, 0x07, 0x01, 0x52, 0x54,
                               0x00, 0x12, 0x34, 0x56};

// DHCPDISCOVER as busybox udhcpc 1.36 sends it.
Bytes BusyboxDiscover(uint16_t flags = 0) {
  return Padded(Cat({
      Header(flags),
      {0x35, 0x01, 0x01},  // message type DISCOVER
      kClientIdOption,
      {0x39, 0x02, 0x02, 0x40},  // max message size 576
      {0x37, 0x07, 0x01, 0x03, 0x06, 0x0c, 0x0f, 0x1c, 0x2a},  // PRL
      {0x3c, 0x0c},
      Str("udhcp 1.36.1"),  // vendor class
      {0xff},
  }));
}

Bytes Request(const Bytes& options, uint16_t flags = 0,
              const char* ciaddr = "0.0.0.0") {
  return Padded(Cat({Header(flags, ciaddr),
                     {0x35, 0x01, 0x03},
                     kClientIdOption,
                     options,
                     {0xff}}));
}

// Option `code` of a reply, nullopt if absent.
std::optional<Bytes> FindOption(const Bytes& msg, uint8_t code) {
  size_t off = kOptionsOff;
  while (off < msg.size() && msg[off] != 0xff) {
    if (msg[off] == 0) {
      ++off;
      continue;
    }
    const size_t len = msg[off + 1];
    if (msg[off] == code)
      return Bytes(msg.begin() + off + 2, msg.begin() + off + 2 + len);
    off += 2 + len;
  }
  return std::nullopt;
}

struct Answer {
  Dhcp4Reply reply;
  Bytes msg;
};

std::optional<Answer> Handle(const Bytes& request, const Dhcp4Config& cfg,
                             size_t out_size = 1500) {
  Bytes out(out_size, 0xee);
  const auto reply = HandleDhcp4(request, cfg, absl::MakeSpan(out));
  if (!reply) return std::nullopt;
  out.resize(reply->len);
  return Answer{*reply, out};
}

Bytes Slice(const Bytes& b, size_t off, size_t len) {
  return Bytes(b.begin() + off, b.begin() + off + len);
}

TEST(Dhcp4Test, DiscoverGetsOfferByteForByte) {
  const auto a = Handle(BusyboxDiscover(), TestConfig());
  ASSERT_TRUE(a.has_value());
  const Bytes expected = Padded(Cat({
      {0x02, 0x01, 0x06, 0x00},  // op BOOTREPLY, htype, hlen, hops
      {0x39, 0x03, 0xf3, 0x26},  // xid echoed
      {0x00, 0x00, 0x00, 0x00},  // secs, flags
      Zeros(4),                  // ciaddr
      Addr("10.0.2.15"),         // yiaddr
      Addr("10.0.2.2"),          // siaddr
      Zeros(4),                  // giaddr
      {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
      Zeros(10),  // chaddr echoed
      Zeros(192),
      {99, 130, 83, 99},
      {0x35, 0x01, 0x02},                    // OFFER
      {0x36, 0x04, 0x0a, 0x00, 0x02, 0x02},  // server id
      kClientIdOption,                       // RFC 6842 echo
      {0x33, 0x04, 0xff, 0xff, 0xff, 0xff},  // lease: infinite
      {0x01, 0x04, 0xff, 0xff, 0xff, 0x00},  // mask /24
      {0x03, 0x04, 0x0a, 0x00, 0x02, 0x02},  // router
      {0x06, 0x08, 0x0a, 0x00, 0x02, 0x03, 0xc0, 0x00, 0x02, 0x35},  // DNS
      {0x1a, 0x02, 0x05, 0xdc},                                      // MTU 1500
      {0x77, 27},  // search list (RFC 3397)
      Raw("\7example\3org\0\3lab\10internal\0"),
      {0xff},
  }));
  EXPECT_EQ(a->msg, expected);
  EXPECT_EQ(a->reply.len, 320u);
  EXPECT_EQ(a->reply.type, Dhcp4Type::kOffer);
  // No broadcast flag and no ciaddr: unicast to yiaddr and chaddr.
  EXPECT_FALSE(a->reply.broadcast);
  EXPECT_EQ(a->reply.dst, *ParseIp("10.0.2.15"));
  EXPECT_EQ(a->reply.dst_mac, *ParseMac("52:54:00:12:34:56"));
}

TEST(Dhcp4Test, BroadcastFlagIsHonouredAndEchoed) {
  const auto a = Handle(BusyboxDiscover(0x8000), TestConfig());
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->reply.broadcast);
  EXPECT_EQ(a->reply.dst, *ParseIp("255.255.255.255"));
  EXPECT_EQ(a->reply.dst_mac, *ParseMac("ff:ff:ff:ff:ff:ff"));
  EXPECT_EQ(Slice(a->msg, 10, 2), (Bytes{0x80, 0x00}));
  // Reserved flag bits are not echoed.
  const auto b = Handle(BusyboxDiscover(0x8123), TestConfig());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(Slice(b->msg, 10, 2), (Bytes{0x80, 0x00}));
}

TEST(Dhcp4Test, SelectingRequestGetsAck) {
  const auto a = Handle(
      Request(Cat(
          {{0x32, 0x04}, Addr("10.0.2.15"), {0x36, 0x04}, Addr("10.0.2.2")})),
      TestConfig());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->reply.type, Dhcp4Type::kAck);
  EXPECT_EQ(a->msg[0], 2);
  EXPECT_EQ(Slice(a->msg, 4, 4), (Bytes{0x39, 0x03, 0xf3, 0x26}));
  EXPECT_EQ(Slice(a->msg, 12, 4), Zeros(4));           // ciaddr
  EXPECT_EQ(Slice(a->msg, 16, 4), Addr("10.0.2.15"));  // yiaddr
  EXPECT_EQ(FindOption(a->msg, 53), Bytes{5});
  EXPECT_EQ(FindOption(a->msg, 54), Addr("10.0.2.2"));
  EXPECT_EQ(FindOption(a->msg, 51), (Bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(FindOption(a->msg, 1), (Bytes{0xff, 0xff, 0xff, 0x00}));
  EXPECT_EQ(FindOption(a->msg, 3), Addr("10.0.2.2"));
  EXPECT_FALSE(a->reply.broadcast);
}

TEST(Dhcp4Test, RequestForAnotherAddressGetsNak) {
  const auto a = Handle(
      Request(Cat(
          {{0x32, 0x04}, Addr("10.0.2.99"), {0x36, 0x04}, Addr("10.0.2.2")})),
      TestConfig());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->reply.type, Dhcp4Type::kNak);
  EXPECT_EQ(FindOption(a->msg, 53), Bytes{6});
  EXPECT_EQ(FindOption(a->msg, 54), Addr("10.0.2.2"));
  EXPECT_EQ(Slice(a->msg, 12, 12), Zeros(12));  // ciaddr, yiaddr, siaddr
  EXPECT_FALSE(FindOption(a->msg, 51).has_value());
  EXPECT_FALSE(FindOption(a->msg, 1).has_value());
  EXPECT_FALSE(FindOption(a->msg, 3).has_value());
  EXPECT_TRUE(FindOption(a->msg, 56).has_value());
  // RFC 2131 4.1: NAKs are broadcast.
  EXPECT_TRUE(a->reply.broadcast);
  EXPECT_EQ(a->reply.dst, *ParseIp("255.255.255.255"));
}

TEST(Dhcp4Test, InitRebootRequestIsCheckedToo) {
  // No server id: INIT-REBOOT. Right address -> ACK, wrong -> NAK.
  auto ok =
      Handle(Request(Cat({{0x32, 0x04}, Addr("10.0.2.15")})), TestConfig());
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->reply.type, Dhcp4Type::kAck);
  auto bad =
      Handle(Request(Cat({{0x32, 0x04}, Addr("192.168.1.7")})), TestConfig());
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->reply.type, Dhcp4Type::kNak);
}

TEST(Dhcp4Test, RequestNamingAnotherServerGetsNoReply) {
  // RFC 2131 3.1 step 4: the client chose another server's offer.
  EXPECT_FALSE(Handle(Request(Cat({{0x32, 0x04},
                                   Addr("10.0.2.15"),
                                   {0x36, 0x04},
                                   Addr("10.0.2.1")})),
                      TestConfig())
                   .has_value());
}

TEST(Dhcp4Test, RenewingRequestUsesCiaddrAndIsUnicast) {
  const auto a = Handle(Request({}, 0, "10.0.2.15"), TestConfig());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->reply.type, Dhcp4Type::kAck);
  EXPECT_EQ(Slice(a->msg, 12, 4), Addr("10.0.2.15"));  // ciaddr echoed
  EXPECT_FALSE(a->reply.broadcast);
  EXPECT_EQ(a->reply.dst, *ParseIp("10.0.2.15"));
  // Renewing an address that is not ours: NAK.
  const auto b = Handle(Request({}, 0, "10.0.9.9"), TestConfig());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->reply.type, Dhcp4Type::kNak);
}

TEST(Dhcp4Test, InformGetsAckWithoutAddressOrLease) {
  const Bytes inform =
      Padded(Cat({Header(0, "10.0.2.15"), {0x35, 0x01, 0x08}, {0xff}}));
  const auto a = Handle(inform, TestConfig());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->reply.type, Dhcp4Type::kAck);
  EXPECT_EQ(FindOption(a->msg, 53), Bytes{5});
  EXPECT_EQ(Slice(a->msg, 12, 4), Addr("10.0.2.15"));  // ciaddr
  EXPECT_EQ(Slice(a->msg, 16, 4), Zeros(4));           // yiaddr
  EXPECT_FALSE(FindOption(a->msg, 51).has_value());
  EXPECT_EQ(FindOption(a->msg, 6).value().size(), 8u);
  EXPECT_FALSE(FindOption(a->msg, 61).has_value());  // client sent none
  EXPECT_FALSE(a->reply.broadcast);
  EXPECT_EQ(a->reply.dst, *ParseIp("10.0.2.15"));
}

TEST(Dhcp4Test, ReleaseAndDeclineGetNoReply) {
  for (uint8_t type : {4, 7}) {
    const Bytes msg = Padded(Cat({Header(0, "10.0.2.15"),
                                  {0x35, 0x01, type},
                                  {0x36, 0x04},
                                  Addr("10.0.2.2"),
                                  {0xff}}));
    EXPECT_FALSE(Handle(msg, TestConfig()).has_value()) << int{type};
  }
}

TEST(Dhcp4Test, ServerMessagesAndUnknownTypesGetNoReply) {
  for (uint8_t type : {0, 2, 5, 6, 9, 13, 255}) {
    const Bytes msg = Padded(Cat({Header(), {0x35, 0x01, type}, {0xff}}));
    EXPECT_FALSE(Handle(msg, TestConfig()).has_value()) << int{type};
  }
}

TEST(Dhcp4Test, PadOptionsAndDuplicatesAreTolerated) {
  // Pads before the type; a second message type is ignored.
  const Bytes msg = Cat({Header(),
                         {0x00, 0x00, 0x35, 0x01, 0x01, 0x00},
                         {0x35, 0x01, 0x07},
                         {0xff}});
  const auto a = Handle(msg, TestConfig());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->reply.type, Dhcp4Type::kOffer);
}

TEST(Dhcp4Test, MalformedInputGetsNoReply) {
  const Bytes good = Cat({Header(), {0x35, 0x01, 0x01}, {0xff}});
  ASSERT_TRUE(Handle(good, TestConfig()).has_value());

  std::vector<std::pair<std::string, Bytes>> cases;
  cases.emplace_back("empty", Bytes{});
  cases.emplace_back("truncated before cookie", Slice(good, 0, kCookieOff + 2));
  cases.emplace_back("header only", Slice(good, 0, kOptionsOff));
  Bytes bad_cookie = good;
  bad_cookie[kCookieOff + 3] = 0x64;
  cases.emplace_back("bad cookie", bad_cookie);
  cases.emplace_back(
      "option overruns",
      Cat({Header(), {0x35, 0x01, 0x01}, {0x0c, 0x20, 'x', 'y'}}));
  cases.emplace_back("option length byte missing",
                     Cat({Header(), {0x35, 0x01, 0x01, 0x0c}}));
  cases.emplace_back("no END", Cat({Header(), {0x35, 0x01, 0x01}}));
  cases.emplace_back("no END, only pads",
                     Cat({Header(), {0x35, 0x01, 0x01}, Zeros(60)}));
  Bytes hlen = good;
  hlen[2] = 16;
  cases.emplace_back("hlen 16", hlen);
  Bytes htype = good;
  htype[1] = 6;
  cases.emplace_back("htype 6", htype);
  Bytes reply = good;
  reply[0] = 2;
  cases.emplace_back("op BOOTREPLY", reply);
  cases.emplace_back("no message type",
                     Cat({Header(), {0x3d, 0x02, 0x00, 0x01}, {0xff}}));
  cases.emplace_back("message type too long",
                     Cat({Header(), {0x35, 0x02, 0x01, 0x01}, {0xff}}));
  cases.emplace_back(
      "requested ip of 3 bytes",
      Cat({Header(), {0x35, 0x01, 0x03, 0x32, 0x03, 10, 0, 2}, {0xff}}));
  cases.emplace_back("server id of 5 bytes", Cat({Header(),
                                                  {0x35, 0x01, 0x03},
                                                  {0x36, 0x05, 10, 0, 2, 2, 0},
                                                  {0xff}}));
  cases.emplace_back(
      "client id of 1 byte",
      Cat({Header(), {0x35, 0x01, 0x01, 0x3d, 0x01, 0x01}, {0xff}}));
  cases.emplace_back(
      "max size of 1 byte",
      Cat({Header(), {0x35, 0x01, 0x01, 0x39, 0x01, 0x05}, {0xff}}));
  for (const auto& [name, msg] : cases)
    EXPECT_FALSE(Handle(msg, TestConfig()).has_value()) << name;
}

TEST(Dhcp4Test, OutTooSmallGetsNoReply) {
  const Dhcp4Config cfg = TestConfig();
  EXPECT_FALSE(Handle(BusyboxDiscover(), cfg, 0).has_value());
  EXPECT_FALSE(Handle(BusyboxDiscover(), cfg, 100).has_value());
  EXPECT_FALSE(Handle(BusyboxDiscover(), cfg, 319).has_value());
  EXPECT_TRUE(Handle(BusyboxDiscover(), cfg, 320).has_value());
  // A reply must not write past the space it was given.
  Bytes out(400, 0xee);
  ASSERT_TRUE(
      HandleDhcp4(BusyboxDiscover(), cfg, absl::MakeSpan(out.data(), 320))
          .has_value());
  EXPECT_EQ(Slice(out, 320, 80), Bytes(80, 0xee));
  // Padding to 300 bytes is part of the reply too.
  Dhcp4Config bare = cfg;
  bare.search.clear();
  Prepare(bare);
  const auto padded = Handle(BusyboxDiscover(), bare);
  ASSERT_TRUE(padded.has_value());
  EXPECT_EQ(padded->msg.size(), 300u);
  EXPECT_FALSE(Handle(BusyboxDiscover(), bare, 299).has_value());
}

TEST(Dhcp4Test, LongSearchListNeedsALargerMaxMessageSize) {
  Dhcp4Config cfg = TestConfig();
  cfg.search.clear();
  for (int i = 0; i < 10; ++i)
    cfg.search.push_back(std::string(40, static_cast<char>('a' + i)) + ".test");
  Prepare(cfg);
  ASSERT_EQ(cfg.search_wire.size(), 10u * 47u);

  // 576-byte clients: the search list does not fit and is left out.
  const auto small = Handle(BusyboxDiscover(), cfg);
  ASSERT_TRUE(small.has_value());
  EXPECT_FALSE(FindOption(small->msg, 119).has_value());
  EXPECT_TRUE(FindOption(small->msg, 6).has_value());

  // A client accepting 1500 bytes gets it, split as RFC 3396 says.
  Bytes discover =
      Cat({Header(), {0x35, 0x01, 0x01, 0x39, 0x02, 0x05, 0xdc}, {0xff}});
  const auto big = Handle(discover, cfg);
  ASSERT_TRUE(big.has_value());
  Bytes joined;
  std::vector<size_t> chunks;
  for (size_t off = kOptionsOff; big->msg[off] != 0xff;
       off += 2 + big->msg[off + 1]) {
    if (big->msg[off] != 119) continue;
    chunks.push_back(big->msg[off + 1]);
    joined.insert(joined.end(), big->msg.begin() + off + 2,
                  big->msg.begin() + off + 2 + big->msg[off + 1]);
  }
  EXPECT_EQ(chunks, (std::vector<size_t>{255, 215}));
  EXPECT_EQ(joined, cfg.search_wire);
}

TEST(Dhcp4Test, HostnameAndFqdn) {
  Dhcp4Config cfg = TestConfig();
  cfg.hostname = "box";
  cfg.fqdn = "box.example.org";
  Prepare(cfg);
  const auto a = Handle(BusyboxDiscover(), cfg);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(FindOption(a->msg, 12), Str("box"));
  // Flags E|N (wire format, no DNS updates by us), RCODE1 and RCODE2 255.
  EXPECT_EQ(FindOption(a->msg, 81), Raw("\14\377\377\3box\7example\3org\0"));
}

// A client that asks us to update its A record (S set, RFC 4702 2.1) learns
// that we do not: O set, S clear, N set. Without S in its option, no O.
TEST(Dhcp4Test, FqdnOverridesClientUpdateRequest) {
  Dhcp4Config cfg = TestConfig();
  cfg.fqdn = "box.example.org";
  Prepare(cfg);
  // Option 81 as dhclient sends it: S|E, RCODEs 0, name "pc".
  const auto a = Handle(
      Request(Cat({{0x32, 0x04},
                   Addr("10.0.2.15"),
                   {0x51, 0x07, 0x05, 0x00, 0x00, 0x02, 'p', 'c', 0x00}})),
      cfg);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->reply.type, Dhcp4Type::kAck);
  EXPECT_EQ(FindOption(a->msg, 81), Raw("\16\377\377\3box\7example\3org\0"));
  const auto b = Handle(
      Request(Cat({{0x32, 0x04},
                   Addr("10.0.2.15"),
                   {0x51, 0x07, 0x04, 0x00, 0x00, 0x02, 'p', 'c', 0x00}})),
      cfg);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(FindOption(b->msg, 81), Raw("\14\377\377\3box\7example\3org\0"));
  // A client option 81 with no bytes at all is not an error.
  const auto c = Handle(
      Request(Cat({{0x32, 0x04}, Addr("10.0.2.15"), {0x51, 0x00}})), cfg);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(FindOption(c->msg, 81), Raw("\14\377\377\3box\7example\3org\0"));
}

// Either name alone: only its own option, nothing derived from it.
TEST(Dhcp4Test, HostnameOrFqdnAlone) {
  Dhcp4Config host = TestConfig();
  host.hostname = "box";
  Prepare(host);
  const auto a = Handle(BusyboxDiscover(), host);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(FindOption(a->msg, 12), Str("box"));
  EXPECT_FALSE(FindOption(a->msg, 81).has_value());
  Dhcp4Config fqdn = TestConfig();
  fqdn.fqdn = "box.example.org";
  Prepare(fqdn);
  const auto b = Handle(BusyboxDiscover(), fqdn);
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(FindOption(b->msg, 12).has_value());
  EXPECT_EQ(FindOption(b->msg, 81), Raw("\14\377\377\3box\7example\3org\0"));
}

TEST(Dhcp4Test, OptionalFieldsAreOmitted) {
  Dhcp4Config cfg;
  cfg.addr = *ParseIp("192.0.2.10");
  cfg.server_id = *ParseIp("192.0.2.1");
  cfg.prefix_len = 0;
  cfg.mtu = 67;  // below the minimum of RFC 2132 5.1
  cfg.dns = {*ParseIp("2001:db8::1")};
  cfg.lease_secs = 3600;
  Prepare(cfg);
  const auto a = Handle(BusyboxDiscover(), cfg);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(FindOption(a->msg, 1), Zeros(4));
  EXPECT_EQ(FindOption(a->msg, 51), (Bytes{0, 0, 0x0e, 0x10}));
  for (uint8_t code : {3, 6, 12, 26, 81, 119})
    EXPECT_FALSE(FindOption(a->msg, code).has_value()) << int{code};
}

TEST(Dhcp4Test, UnusableConfigGetsNoReply) {
  Dhcp4Config unprepared = TestConfig();
  unprepared.prepared = false;
  EXPECT_FALSE(Handle(BusyboxDiscover(), unprepared).has_value());
  Dhcp4Config no_server = TestConfig();
  no_server.server_id = IpAddr{};
  EXPECT_FALSE(Handle(BusyboxDiscover(), no_server).has_value());
  Dhcp4Config v6 = TestConfig();
  v6.addr = *ParseIp("2001:db8::1");
  EXPECT_FALSE(Handle(BusyboxDiscover(), v6).has_value());
}

}  // namespace
}  // namespace pasta::dhcp
