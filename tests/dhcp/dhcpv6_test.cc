#include "dhcp/dhcpv6.h"

#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "test_util.h"
#include "wire/bytes.h"

namespace pasta::dhcp {
namespace {

using testing::Addr;
using testing::Bytes;
using testing::Cat;
using testing::Raw;
using testing::Str;
using testing::Zeros;

Dhcp6Config TestConfig() {
  Dhcp6Config cfg;
  cfg.addr = *ParseIp("2001:db8::15");
  // The IPv4 server is not for DHCPv6 and must be skipped.
  cfg.dns = {*ParseIp("2001:db8::53"), *ParseIp("10.0.2.3")};
  cfg.search = {"example.org"};
  cfg.our_mac = *ParseMac("9a:55:9a:55:9a:55");
  Prepare(cfg);
  return cfg;
}

// Client Identifier: DUID-LLT (type 1, hw 1, time, 52:54:00:12:34:56).
const Bytes kClientId = {0x00, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x2b,
                         0x3c, 0x4d, 0x5e, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
// Our Server Identifier: DUID-LL (type 3, hw 1, 9a:55:9a:55:9a:55).
const Bytes kServerId = {0x00, 0x02, 0x00, 0x0a, 0x00, 0x03, 0x00,
                         0x01, 0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55};
const Bytes kForeignServerId = {0x00, 0x02, 0x00, 0x0a, 0x00, 0x03, 0x00,
                                0x01, 0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x56};
const Bytes kOro = {0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18};
const Bytes kElapsed = {0x00, 0x08, 0x00, 0x02, 0x00, 0x00};
// IA_NA, IAID 0x12345678, T1 = T2 = 0, no addresses.
const Bytes kIaNa = {0x00, 0x03, 0x00, 0x0c, 0x12, 0x34, 0x56, 0x78,
                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
const Bytes kRapidCommit = {0x00, 0x0e, 0x00, 0x00};

Bytes Message(uint8_t type, std::initializer_list<Bytes> options) {
  Bytes msg = {type, 0x10, 0x20, 0x30};  // transaction id 0x102030
  for (const Bytes& o : options) msg.insert(msg.end(), o.begin(), o.end());
  return msg;
}

// IA_NA with IAID `iaid` holding IA Addresses for `addrs`.
Bytes IaNaWith(uint8_t iaid, std::initializer_list<const char*> addrs) {
  Bytes body = {0, 0, 0, iaid, 0, 0, 0, 0, 0, 0, 0, 0};
  for (const char* a : addrs)
    body = Cat({body, {0x00, 0x05, 0x00, 0x18}, Addr(a), Zeros(8)});
  return Cat({{0x00, 0x03, 0x00, static_cast<uint8_t>(body.size())}, body});
}

std::optional<Bytes> Handle(const Bytes& request, const Dhcp6Config& cfg,
                            size_t out_size = 1500) {
  Bytes out(out_size, 0xee);
  const size_t n = HandleDhcp6(request, cfg, absl::MakeSpan(out));
  if (n == 0) return std::nullopt;
  out.resize(n);
  return out;
}

// All top-level options of a reply (assumed well formed), in order.
std::vector<std::pair<uint16_t, Bytes>> Options(const Bytes& msg,
                                                size_t from = 4) {
  std::vector<std::pair<uint16_t, Bytes>> opts;
  for (size_t off = from; off + 4 <= msg.size();) {
    const uint16_t len = wire::LoadBe16(&msg[off + 2]);
    opts.emplace_back(
        wire::LoadBe16(&msg[off]),
        Bytes(msg.begin() + off + 4, msg.begin() + off + 4 + len));
    off += 4 + len;
  }
  return opts;
}

std::optional<Bytes> Find(const Bytes& msg, uint16_t code, size_t from = 4) {
  for (auto& [c, body] : Options(msg, from))
    if (c == code) return body;
  return std::nullopt;
}

TEST(Dhcp6Test, SolicitGetsAdvertiseByteForByte) {
  const auto reply =
      Handle(Message(1, {kClientId, kOro, kElapsed, kIaNa}), TestConfig());
  ASSERT_TRUE(reply.has_value());
  const Bytes expected = Cat({
      {0x02, 0x10, 0x20, 0x30},  // ADVERTISE, transaction id echoed
      kClientId,
      kServerId,
      {0x00, 0x07, 0x00, 0x01, 0xff},                    // Preference 255
      {0x00, 0x03, 0x00, 0x28, 0x12, 0x34, 0x56, 0x78},  // IA_NA, IAID
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},  // T1, T2
      {0x00, 0x05, 0x00, 0x18},
      Addr("2001:db8::15"),                              // IA Address
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},  // lifetimes
      {0x00, 0x17, 0x00, 0x10},
      Addr("2001:db8::53"),      // DNS servers
      {0x00, 0x18, 0x00, 0x0d},  // domain list
      Raw("\7example\3org\0"),
  });
  EXPECT_EQ(*reply, expected);
}

TEST(Dhcp6Test, SolicitWithRapidCommitGetsReply) {
  const auto reply = Handle(
      Message(1, {kClientId, kRapidCommit, kElapsed, kIaNa}), TestConfig());
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ((*reply)[0], 7);  // REPLY
  EXPECT_EQ(Find(*reply, 14), Bytes{});
  EXPECT_FALSE(Find(*reply, 7).has_value());  // no Preference in a Reply
  ASSERT_TRUE(Find(*reply, 3).has_value());
}

TEST(Dhcp6Test, RequestGetsReplyWithTheAddress) {
  const auto reply = Handle(Message(3, {kClientId, kServerId, kElapsed,
                                        IaNaWith(0x42, {"2001:db8::15"})}),
                            TestConfig());
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ((*reply)[0], 7);
  EXPECT_EQ(Bytes(reply->begin() + 1, reply->begin() + 4),
            (Bytes{0x10, 0x20, 0x30}));
  const auto ia = Find(*reply, 3);
  ASSERT_TRUE(ia.has_value());
  EXPECT_EQ(Bytes(ia->begin(), ia->begin() + 4), (Bytes{0, 0, 0, 0x42}));
  // One IA Address, ours, nothing else.
  const auto inner = Options(*ia, 12);
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_EQ(inner[0].first, 5);
  EXPECT_EQ(Bytes(inner[0].second.begin(), inner[0].second.begin() + 16),
            Addr("2001:db8::15"));
  EXPECT_EQ(Find(*reply, 1), Bytes(kClientId.begin() + 4, kClientId.end()));
  EXPECT_EQ(Find(*reply, 2), Bytes(kServerId.begin() + 4, kServerId.end()));
}

TEST(Dhcp6Test, FiniteLifetimesGiveT1AndT2) {
  Dhcp6Config cfg = TestConfig();
  cfg.preferred_lifetime = 1000;
  cfg.valid_lifetime = 2000;
  const auto reply = Handle(Message(1, {kClientId, kIaNa}), cfg);
  ASSERT_TRUE(reply.has_value());
  const auto ia = Find(*reply, 3);
  ASSERT_TRUE(ia.has_value());
  EXPECT_EQ(wire::LoadBe32(ia->data() + 4), 500u);
  EXPECT_EQ(wire::LoadBe32(ia->data() + 8), 800u);
  EXPECT_EQ(wire::LoadBe32(ia->data() + 12 + 4 + 16), 1000u);
  EXPECT_EQ(wire::LoadBe32(ia->data() + 12 + 4 + 20), 2000u);
}

TEST(Dhcp6Test, RenewExpiresAddressesThatAreNotOurs) {
  const auto reply =
      Handle(Message(5, {kClientId, kServerId,
                         IaNaWith(1, {"2001:db8::15", "2001:db8::99"})}),
             TestConfig());
  ASSERT_TRUE(reply.has_value());
  const auto ia = Find(*reply, 3);
  ASSERT_TRUE(ia.has_value());
  const auto inner = Options(*ia, 12);
  ASSERT_EQ(inner.size(), 2u);
  EXPECT_EQ(inner[0].second, Cat({Addr("2001:db8::15"), Bytes(8, 0xff)}));
  EXPECT_EQ(inner[1].second, Cat({Addr("2001:db8::99"), Zeros(8)}));
}

TEST(Dhcp6Test, RebindGetsReply) {
  const auto reply = Handle(
      Message(6, {kClientId, IaNaWith(1, {"2001:db8::15"})}), TestConfig());
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ((*reply)[0], 7);
  EXPECT_TRUE(Find(*reply, 3).has_value());
}

TEST(Dhcp6Test, InformationRequestGetsDnsAndDomainsOnly) {
  // No Client Identifier: allowed for Information-request (RFC 8415 16.12).
  const auto reply = Handle(Message(11, {kOro, kElapsed}), TestConfig());
  ASSERT_TRUE(reply.has_value());
  const Bytes expected = Cat({
      {0x07, 0x10, 0x20, 0x30},
      kServerId,
      {0x00, 0x17, 0x00, 0x10},
      Addr("2001:db8::53"),
      {0x00, 0x18, 0x00, 0x0d},  // domain list
      Raw("\7example\3org\0"),
  });
  EXPECT_EQ(*reply, expected);
  // With a Client Identifier it is echoed.
  const auto with_id = Handle(Message(11, {kClientId}), TestConfig());
  ASSERT_TRUE(with_id.has_value());
  EXPECT_TRUE(Find(*with_id, 1).has_value());
  EXPECT_FALSE(Find(*with_id, 3).has_value());
}

TEST(Dhcp6Test, ReleaseAndDeclineGetSuccess) {
  for (uint8_t type : {8, 9}) {
    const auto reply = Handle(
        Message(type, {kClientId, kServerId, IaNaWith(1, {"2001:db8::15"})}),
        TestConfig());
    ASSERT_TRUE(reply.has_value()) << int{type};
    EXPECT_EQ((*reply)[0], 7);
    const auto status = Find(*reply, 13);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(wire::LoadBe16(status->data()), 0);
    EXPECT_FALSE(Find(*reply, 3).has_value());
  }
}

TEST(Dhcp6Test, Confirm) {
  const auto ok = Handle(Message(4, {kClientId, IaNaWith(1, {"2001:db8::15"})}),
                         TestConfig());
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(wire::LoadBe16(Find(*ok, 13)->data()), 0);  // Success
  EXPECT_FALSE(Find(*ok, 3).has_value());
  const auto moved = Handle(
      Message(4, {kClientId, IaNaWith(1, {"2001:db8:1::7"})}), TestConfig());
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(wire::LoadBe16(Find(*moved, 13)->data()), 4);  // NotOnLink
  // No addresses: no reply (RFC 8415 18.3.3).
  EXPECT_FALSE(Handle(Message(4, {kClientId, kIaNa}), TestConfig()));
}

TEST(Dhcp6Test, NoAddressOrExtraIaGetsNoAddrsAvail) {
  Dhcp6Config stateless = TestConfig();
  stateless.addr = IpAddr{};
  const auto none = Handle(Message(1, {kClientId, kIaNa}), stateless);
  ASSERT_TRUE(none.has_value());
  const auto ia = Find(*none, 3);
  ASSERT_TRUE(ia.has_value());
  EXPECT_EQ(wire::LoadBe16(Find(*ia, 13, 12)->data()), 2);
  EXPECT_FALSE(Find(*ia, 5, 12).has_value());
  EXPECT_TRUE(Find(*none, 23).has_value());

  const auto two = Handle(
      Message(1, {kClientId, IaNaWith(1, {}), IaNaWith(2, {})}), TestConfig());
  ASSERT_TRUE(two.has_value());
  std::vector<Bytes> ias;
  for (auto& [code, body] : Options(*two))
    if (code == 3) ias.push_back(body);
  ASSERT_EQ(ias.size(), 2u);
  EXPECT_TRUE(Find(ias[0], 5, 12).has_value());
  EXPECT_EQ(ias[1][3], 2);
  EXPECT_EQ(wire::LoadBe16(Find(ias[1], 13, 12)->data()), 2);
}

TEST(Dhcp6Test, FqdnIsSentWhenConfigured) {
  Dhcp6Config cfg = TestConfig();
  cfg.fqdn = "box.example.org.";
  Prepare(cfg);
  const auto reply = Handle(Message(1, {kClientId, kIaNa}), cfg);
  ASSERT_TRUE(reply.has_value());
  // Flags N: we do no DNS updates (RFC 4704 4.1).
  EXPECT_EQ(Find(*reply, 39), Raw("\4\3box\7example\3org\0"));
}

// A client asking for AAAA updates (S, RFC 4704 4.1) is told we override
// that (O), in the REPLY to its REQUEST as in the ADVERTISE.
TEST(Dhcp6Test, FqdnOverridesClientUpdateRequest) {
  Dhcp6Config cfg = TestConfig();
  cfg.fqdn = "box.example.org";
  Prepare(cfg);
  // OPTION_CLIENT_FQDN: flags S, name "pc".
  const Bytes client_fqdn = {0x00, 0x27, 0x00, 0x05, 0x01,
                             0x02, 'p',  'c',  0x00};
  const auto adv = Handle(Message(1, {kClientId, kIaNa, client_fqdn}), cfg);
  ASSERT_TRUE(adv.has_value());
  EXPECT_EQ((*adv)[0], 2);
  EXPECT_EQ(Find(*adv, 39), Raw("\6\3box\7example\3org\0"));
  const auto reply =
      Handle(Message(3, {kClientId, kServerId, kIaNa, client_fqdn}), cfg);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ((*reply)[0], 7);
  EXPECT_EQ(Find(*reply, 39), Raw("\6\3box\7example\3org\0"));
  // Without the client's option: N only; no option at all without --fqdn.
  const auto plain = Handle(Message(3, {kClientId, kServerId, kIaNa}), cfg);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(Find(*plain, 39), Raw("\4\3box\7example\3org\0"));
  const auto none =
      Handle(Message(3, {kClientId, kServerId, kIaNa}), TestConfig());
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(Find(*none, 39).has_value());
}

TEST(Dhcp6Test, WrongServerGetsNoReply) {
  for (uint8_t type : {3, 5, 8, 9, 11}) {
    EXPECT_FALSE(Handle(Message(type, {kClientId, kForeignServerId, kIaNa}),
                        TestConfig()))
        << int{type};
  }
  // REQUEST/RENEW/RELEASE/DECLINE without any Server Identifier.
  for (uint8_t type : {3, 5, 8, 9})
    EXPECT_FALSE(Handle(Message(type, {kClientId, kIaNa}), TestConfig()))
        << int{type};
  // SOLICIT/CONFIRM/REBIND must not name a server, not even us.
  for (uint8_t type : {1, 4, 6}) {
    EXPECT_FALSE(Handle(
        Message(type, {kClientId, kServerId, IaNaWith(1, {"2001:db8::15"})}),
        TestConfig()))
        << int{type};
  }
}

TEST(Dhcp6Test, MalformedInputGetsNoReply) {
  const Bytes good = Message(1, {kClientId, kIaNa});
  ASSERT_TRUE(Handle(good, TestConfig()));

  std::vector<std::pair<std::string, Bytes>> cases;
  cases.emplace_back("empty", Bytes{});
  cases.emplace_back("truncated header", Bytes{0x01, 0x10, 0x20});
  cases.emplace_back("half an option header", Cat({good, {0x00, 0x08}}));
  cases.emplace_back("option overruns",
                     Cat({good, {0x00, 0x08, 0x00, 0x04, 0x00, 0x00}}));
  Bytes lying = good;
  lying[4 + 3] = 0xff;  // Client Identifier claims 255 bytes
  cases.emplace_back("client id length lies", lying);
  cases.emplace_back(
      "IA_NA shorter than 12",
      Message(1, {kClientId, {0x00, 0x03, 0x00, 0x04, 1, 2, 3, 4}}));
  cases.emplace_back("IA Address shorter than 24",
                     Message(1, {kClientId, Cat({{0x00, 0x03, 0x00, 0x1c},
                                                 Zeros(12),
                                                 {0x00, 0x05, 0x00, 0x0c},
                                                 Zeros(12)})}));
  cases.emplace_back("nested option overruns its IA_NA",
                     Message(1, {kClientId, Cat({{0x00, 0x03, 0x00, 0x10},
                                                 Zeros(12),
                                                 {0x00, 0x05, 0x00, 0x18}})}));
  cases.emplace_back("no client id", Message(1, {kIaNa}));
  cases.emplace_back("client id too short",
                     Message(1, {{0x00, 0x01, 0x00, 0x02, 0x00, 0x03}, kIaNa}));
  cases.emplace_back(
      "client id too long",
      Message(1, {Cat({{0x00, 0x01, 0x00, 131}, Zeros(131)}), kIaNa}));
  cases.emplace_back("information-request with IA",
                     Message(11, {kClientId, kIaNa}));
  for (uint8_t type : {0, 2, 7, 10, 12, 13, 14, 255})
    cases.emplace_back("type " + std::to_string(type),
                       Message(type, {kClientId, kIaNa}));
  for (const auto& [name, msg] : cases)
    EXPECT_FALSE(Handle(msg, TestConfig())) << name;
}

TEST(Dhcp6Test, OutTooSmallGetsNoReply) {
  const Bytes solicit = Message(1, {kClientId, kIaNa});
  const size_t full = Handle(solicit, TestConfig())->size();
  EXPECT_FALSE(Handle(solicit, TestConfig(), 0));
  EXPECT_FALSE(Handle(solicit, TestConfig(), full - 1));
  EXPECT_TRUE(Handle(solicit, TestConfig(), full));
  Bytes out(full + 50, 0xee);
  ASSERT_EQ(
      HandleDhcp6(solicit, TestConfig(), absl::MakeSpan(out.data(), full)),
      full);
  EXPECT_EQ(Bytes(out.begin() + full, out.end()), Bytes(50, 0xee));
}

TEST(Dhcp6Test, UnpreparedConfigGetsNoReply) {
  Dhcp6Config cfg = TestConfig();
  cfg.prepared = false;
  EXPECT_FALSE(Handle(Message(1, {kClientId, kIaNa}), cfg));
}

}  // namespace
}  // namespace pasta::dhcp
