#include "ndp/ndp.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace pasta::ndp {
namespace {

using testing::FixChecksum;
using testing::FoldedSum;
using testing::Ip;
using testing::Mac;

const MacAddr kOurMac = Mac("9a:55:9a:55:9a:55");
const MacAddr kNsMac = Mac("2e:11:22:33:44:55");
const MacAddr kOtherMac = Mac("02:00:00:00:00:99");
const IpAddr kOurLl = Ip("fe80::9855:9aff:fe55:9a55");
const IpAddr kNsLl = Ip("fe80::2c11:22ff:fe33:4455");
const IpAddr kNsGlobal = Ip("2001:db8:1::2c11:22ff:fe33:4455");
const IpAddr kGateway = Ip("fe80::1");
const IpAddr kGatewaySolicited = Ip("ff02::1:ff00:1");
const IpAddr kAllRouters = Ip("ff02::2");
const IpAddr kAllNodes = Ip("ff02::1");
const IpAddr kUnspecified = Ip("::");

// The namespace asks for fe80::1 from its link-local address, to the
// solicited-node group, with its source link-layer address. Checksum literal
// computed independently (Python).
const std::vector<uint8_t> kNsForGateway = {
    0x87, 0x00, 0x56, 0x68, 0x00, 0x00, 0x00, 0x00,  // NS, code 0, reserved
    0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target fe80::1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  //
    0x01, 0x01, 0x2e, 0x11, 0x22, 0x33, 0x44, 0x55,  // SLLA 2e:11:22:33:44:55
};

const std::vector<uint8_t> kNaForGateway = {
    0x88, 0x00, 0x6d, 0x84, 0xe0, 0x00, 0x00, 0x00,  // NA, R S O
    0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target fe80::1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  //
    0x02, 0x01, 0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55,  // TLLA: our MAC
};

// RS from the namespace's link-local address to all routers, with SLLA.
const std::vector<uint8_t> kRs = {
    0x85, 0x00, 0x55, 0xfb, 0x00, 0x00, 0x00, 0x00,  // RS, code 0, reserved
    0x01, 0x01, 0x2e, 0x11, 0x22, 0x33, 0x44, 0x55,  // SLLA
};

NdpConfig Config() {
  NdpConfig cfg;
  cfg.our_mac = kOurMac;
  cfg.our_ll = kOurLl;
  cfg.ns_addrs = {kNsLl, kNsGlobal};
  cfg.prefixes = {Prefix{Ip("2001:db8:1::"), 64}};
  cfg.mtu = 65520;
  cfg.rdnss = {Ip("2001:db8:1::53"), Ip("2001:db8:2::53")};
  cfg.dnssl = {"example.org", "corp.example.com."};
  cfg.other = true;
  return cfg;
}

struct Result {
  std::optional<NdpReply> reply;
  std::vector<uint8_t> bytes;
};

Result Handle(const IpAddr& src, const IpAddr& dst,
              const std::vector<uint8_t>& msg, const NdpConfig& cfg,
              uint8_t hop_limit = 255, const MacAddr& frame_src = kNsMac) {
  std::array<uint8_t, kMaxNdpReplyLen> out{};
  Result r;
  r.reply =
      HandleNdp(src, dst, hop_limit, frame_src, msg, cfg, absl::MakeSpan(out));
  if (r.reply) r.bytes.assign(out.begin(), out.begin() + r.reply->len);
  return r;
}

// ---- Neighbour Solicitation -> Neighbour Advertisement ----

TEST(NdpNsTest, AnswersGatewayWithExactNa) {
  Result r = Handle(kNsLl, kGatewaySolicited, kNsForGateway, Config());
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->src, kOurLl);
  EXPECT_EQ(r.reply->dst, kNsLl);
  EXPECT_EQ(r.reply->dst_mac, kNsMac);
  EXPECT_EQ(r.reply->len, kNeighborAdvertLen);
  EXPECT_EQ(r.bytes, kNaForGateway);
  EXPECT_EQ(FoldedSum(r.reply->src, r.reply->dst, r.bytes), 0xffff);
}

TEST(NdpNsTest, UnicastNudWithoutSllaGoesToFrameSource) {
  std::vector<uint8_t> ns(kNsForGateway.begin(), kNsForGateway.begin() + 24);
  FixChecksum(kNsGlobal, kGateway, ns);
  Result r = Handle(kNsGlobal, kGateway, ns, Config(), 255, kOtherMac);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->dst, kNsGlobal);
  EXPECT_EQ(r.reply->dst_mac, kOtherMac);
  EXPECT_EQ(r.bytes[4], 0xe0);
  EXPECT_EQ(FoldedSum(r.reply->src, r.reply->dst, r.bytes), 0xffff);
}

TEST(NdpNsTest, SllaOptionWinsOverFrameSource) {
  Result r =
      Handle(kNsLl, kGatewaySolicited, kNsForGateway, Config(), 255, kOtherMac);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->dst_mac, kNsMac);
}

TEST(NdpNsTest, SkipsUnknownOptions) {
  std::vector<uint8_t> ns = kNsForGateway;
  // A nonce option (RFC 3971, type 14), one unit, before the SLLA.
  ns.insert(ns.begin() + 24, {14, 1, 1, 2, 3, 4, 5, 6});
  FixChecksum(kNsLl, kGatewaySolicited, ns);
  Result r = Handle(kNsLl, kGatewaySolicited, ns, Config());
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.bytes, kNaForGateway);
}

TEST(NdpNsTest, DerivesOurLinkLocalWhenUnset) {
  NdpConfig cfg = Config();
  cfg.our_ll = IpAddr{};
  Result r = Handle(kNsLl, kGatewaySolicited, kNsForGateway, cfg);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->src, kOurLl);
  EXPECT_EQ(r.bytes, kNaForGateway);
}

TEST(NdpNsTest, NoReplyForDad) {
  // DAD: from ::, to the solicited-node group, no SLLA.
  std::vector<uint8_t> ns(kNsForGateway.begin(), kNsForGateway.begin() + 24);
  FixChecksum(kUnspecified, kGatewaySolicited, ns);
  EXPECT_FALSE(Handle(kUnspecified, kGatewaySolicited, ns, Config()).reply);
}

TEST(NdpNsTest, NoReplyForNamespaceOwnAddresses) {
  for (const IpAddr& own : {kNsLl, kNsGlobal}) {
    std::vector<uint8_t> ns = kNsForGateway;
    std::copy(own.bytes.begin(), own.bytes.end(), ns.begin() + 8);
    FixChecksum(kNsLl, kGatewaySolicited, ns);
    EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply);
  }
}

TEST(NdpNsTest, NoReplyUnlessHopLimit255) {
  for (int hop : {0, 1, 64, 254}) {
    EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, kNsForGateway, Config(),
                        static_cast<uint8_t>(hop))
                     .reply)
        << hop;
  }
}

TEST(NdpNsTest, NoReplyForNonZeroCode) {
  std::vector<uint8_t> ns = kNsForGateway;
  ns[1] = 1;
  FixChecksum(kNsLl, kGatewaySolicited, ns);
  EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply);
}

TEST(NdpNsTest, NoReplyForBadChecksum) {
  std::vector<uint8_t> ns = kNsForGateway;
  ns[3] ^= 1;
  EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply);
  // The right checksum for other addresses is the wrong one here.
  EXPECT_FALSE(
      Handle(kNsGlobal, kGatewaySolicited, kNsForGateway, Config()).reply);
}

TEST(NdpNsTest, NoReplyForZeroLengthOption) {
  std::vector<uint8_t> ns = kNsForGateway;
  ns[25] = 0;
  FixChecksum(kNsLl, kGatewaySolicited, ns);
  EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply);
}

TEST(NdpNsTest, NoReplyForOverrunningOption) {
  std::vector<uint8_t> ns = kNsForGateway;
  ns[25] = 2;  // 16 bytes claimed, 8 present
  FixChecksum(kNsLl, kGatewaySolicited, ns);
  EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply);
  // A lone option type byte with no length.
  ns = kNsForGateway;
  ns.push_back(1);
  FixChecksum(kNsLl, kGatewaySolicited, ns);
  EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply);
}

TEST(NdpNsTest, NoReplyForTruncatedMessage) {
  // Cuts inside the fixed part, and inside the option.
  for (size_t len = 0; len < kNsForGateway.size(); len++) {
    if (len == 24) continue;  // a complete NS without options
    std::vector<uint8_t> ns(kNsForGateway.begin(), kNsForGateway.begin() + len);
    FixChecksum(kNsLl, kGatewaySolicited, ns);
    EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply) << len;
  }
}

TEST(NdpNsTest, NoReplyForMulticastOrUnspecifiedTarget) {
  for (const IpAddr& target : {kAllNodes, kUnspecified}) {
    std::vector<uint8_t> ns = kNsForGateway;
    std::copy(target.bytes.begin(), target.bytes.end(), ns.begin() + 8);
    FixChecksum(kNsLl, kGatewaySolicited, ns);
    EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, ns, Config()).reply);
  }
}

TEST(NdpNsTest, NoReplyFromMulticastOrNonIpv6Source) {
  std::vector<uint8_t> ns = kNsForGateway;
  FixChecksum(kAllNodes, kGatewaySolicited, ns);
  EXPECT_FALSE(Handle(kAllNodes, kGatewaySolicited, ns, Config()).reply);
  EXPECT_FALSE(
      Handle(Ip("192.0.2.10"), kGatewaySolicited, kNsForGateway, Config())
          .reply);
}

TEST(NdpNsTest, NoReplyWhenOutputTooSmall) {
  std::array<uint8_t, kNeighborAdvertLen - 1> out{};
  EXPECT_FALSE(HandleNdp(kNsLl, kGatewaySolicited, 255, kNsMac, kNsForGateway,
                         Config(), absl::MakeSpan(out)));
}

TEST(NdpTest, NoReplyForOtherTypes) {
  for (uint8_t type : {128, 129, 134, 136, 137}) {
    std::vector<uint8_t> msg = kNsForGateway;
    msg[0] = type;
    FixChecksum(kNsLl, kGatewaySolicited, msg);
    EXPECT_FALSE(Handle(kNsLl, kGatewaySolicited, msg, Config()).reply)
        << int(type);
  }
}

// ---- Router Solicitation -> Router Advertisement ----

uint32_t Be32(const std::vector<uint8_t>& b, size_t off) {
  return uint32_t(b[off]) << 24 | uint32_t(b[off + 1]) << 16 |
         uint32_t(b[off + 2]) << 8 | b[off + 3];
}
std::vector<uint8_t> Slice(const std::vector<uint8_t>& b, size_t off,
                           size_t len) {
  return std::vector<uint8_t>(b.begin() + off, b.begin() + off + len);
}
std::vector<uint8_t> Bytes(const IpAddr& a) {
  return std::vector<uint8_t>(a.bytes.begin(), a.bytes.end());
}

TEST(NdpRsTest, AnswersWithFullRouterAdvert) {
  Result r = Handle(kNsLl, kAllRouters, kRs, Config());
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->src, kOurLl);
  EXPECT_EQ(r.reply->dst, kNsLl);
  EXPECT_EQ(r.reply->dst_mac, kNsMac);
  const std::vector<uint8_t>& ra = r.bytes;
  ASSERT_EQ(ra.size(), 144u);
  EXPECT_EQ(FoldedSum(kOurLl, kNsLl, ra), 0xffff);

  // Fixed part (RFC 4861 4.2).
  EXPECT_EQ(ra[0], 134);
  EXPECT_EQ(ra[1], 0);
  EXPECT_EQ(ra[4], 255);                 // Cur Hop Limit
  EXPECT_EQ(ra[5], 0x40);                // O, not M
  EXPECT_EQ(ra[6] << 8 | ra[7], 65535);  // Router Lifetime
  EXPECT_EQ(Be32(ra, 8), 0u);            // Reachable Time
  EXPECT_EQ(Be32(ra, 12), 0u);           // Retrans Timer

  // Source link-layer address (4.6.1).
  EXPECT_EQ(Slice(ra, 16, 8),
            (std::vector<uint8_t>{1, 1, 0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}));

  // Prefix information (4.6.2): /64, L and A, infinite lifetimes.
  EXPECT_EQ(ra[24], 3);
  EXPECT_EQ(ra[25], 4);
  EXPECT_EQ(ra[26], 64);
  EXPECT_EQ(ra[27], 0xc0);
  EXPECT_EQ(Be32(ra, 28), 0xffffffffu);
  EXPECT_EQ(Be32(ra, 32), 0xffffffffu);
  EXPECT_EQ(Be32(ra, 36), 0u);
  EXPECT_EQ(Slice(ra, 40, 16), Bytes(Ip("2001:db8:1::")));

  // MTU (4.6.4).
  EXPECT_EQ(Slice(ra, 56, 4), (std::vector<uint8_t>{5, 1, 0, 0}));
  EXPECT_EQ(Be32(ra, 60), 65520u);

  // RDNSS (RFC 8106 5.1): length 1 + 2 * 2.
  EXPECT_EQ(Slice(ra, 64, 4), (std::vector<uint8_t>{25, 5, 0, 0}));
  EXPECT_EQ(Be32(ra, 68), 65535u);
  EXPECT_EQ(Slice(ra, 72, 16), Bytes(Ip("2001:db8:1::53")));
  EXPECT_EQ(Slice(ra, 88, 16), Bytes(Ip("2001:db8:2::53")));

  // DNSSL (RFC 8106 5.2): 8 + 13 + 18 = 39 bytes, padded to 40.
  EXPECT_EQ(Slice(ra, 104, 4), (std::vector<uint8_t>{31, 5, 0, 0}));
  EXPECT_EQ(Be32(ra, 108), 65535u);
  const std::vector<uint8_t> names = {7,   'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                      3,   'o', 'r', 'g', 0,   4,   'c', 'o',
                                      'r', 'p', 7,   'e', 'x', 'a', 'm', 'p',
                                      'l', 'e', 3,   'c', 'o', 'm', 0,   0};
  EXPECT_EQ(Slice(ra, 112, 32), names);
}

TEST(NdpRsTest, RouterAdvertLenMatches) {
  EXPECT_EQ(RouterAdvertLen(Config()), 144u);
  NdpConfig bare;
  bare.our_mac = kOurMac;
  EXPECT_EQ(RouterAdvertLen(bare), 24u);  // fixed part + SLLA
}

TEST(NdpRsTest, ManagedFlagAndLifetimesFromConfig) {
  NdpConfig cfg = Config();
  cfg.managed = true;
  cfg.other = false;
  cfg.router_lifetime = 1800;
  cfg.dns_lifetime = 600;
  cfg.prefixes[0].valid_lifetime = 7200;
  cfg.prefixes[0].preferred_lifetime = 3600;
  Result r = Handle(kNsLl, kAllRouters, kRs, cfg);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.bytes[5], 0x80);
  EXPECT_EQ(r.bytes[6] << 8 | r.bytes[7], 1800);
  EXPECT_EQ(Be32(r.bytes, 28), 7200u);
  EXPECT_EQ(Be32(r.bytes, 32), 3600u);
  EXPECT_EQ(Be32(r.bytes, 68), 600u);
  EXPECT_EQ(Be32(r.bytes, 108), 600u);
}

TEST(NdpRsTest, NoReplyWhenRaDisabled) {
  NdpConfig cfg = Config();
  cfg.ra = false;
  EXPECT_FALSE(Handle(kNsLl, kAllRouters, kRs, cfg).reply);
  std::array<uint8_t, kMaxNdpReplyLen> out{};
  EXPECT_FALSE(BuildRouterAdvert(cfg, absl::MakeSpan(out)));
}

TEST(NdpRsTest, FromUnspecifiedGoesToAllNodes) {
  std::vector<uint8_t> rs(kRs.begin(), kRs.begin() + 8);  // no SLLA allowed
  FixChecksum(kUnspecified, kAllRouters, rs);
  Result r = Handle(kUnspecified, kAllRouters, rs, Config());
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->dst, kAllNodes);
  EXPECT_EQ(r.reply->dst_mac, Mac("33:33:00:00:00:01"));
  EXPECT_EQ(FoldedSum(kOurLl, kAllNodes, r.bytes), 0xffff);
}

TEST(NdpRsTest, NoReplyFromUnspecifiedWithSlla) {
  std::vector<uint8_t> rs = kRs;
  FixChecksum(kUnspecified, kAllRouters, rs);
  EXPECT_FALSE(Handle(kUnspecified, kAllRouters, rs, Config()).reply);
}

TEST(NdpRsTest, WithoutSllaGoesToFrameSource) {
  std::vector<uint8_t> rs(kRs.begin(), kRs.begin() + 8);
  FixChecksum(kNsLl, kAllRouters, rs);
  Result r = Handle(kNsLl, kAllRouters, rs, Config(), 255, kOtherMac);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->dst_mac, kOtherMac);
}

TEST(NdpRsTest, NoReplyForMalformed) {
  EXPECT_FALSE(Handle(kNsLl, kAllRouters, kRs, Config(), 64).reply);
  std::vector<uint8_t> rs = kRs;
  rs[1] = 1;  // code
  FixChecksum(kNsLl, kAllRouters, rs);
  EXPECT_FALSE(Handle(kNsLl, kAllRouters, rs, Config()).reply);
  rs = kRs;
  rs[9] = 0;  // option length 0
  FixChecksum(kNsLl, kAllRouters, rs);
  EXPECT_FALSE(Handle(kNsLl, kAllRouters, rs, Config()).reply);
  rs = kRs;
  rs[9] = 3;  // option past the end
  FixChecksum(kNsLl, kAllRouters, rs);
  EXPECT_FALSE(Handle(kNsLl, kAllRouters, rs, Config()).reply);
  for (size_t len = 0; len < kRs.size(); len++) {
    if (len == 8) continue;
    rs.assign(kRs.begin(), kRs.begin() + len);
    FixChecksum(kNsLl, kAllRouters, rs);
    EXPECT_FALSE(Handle(kNsLl, kAllRouters, rs, Config()).reply) << len;
  }
}

TEST(NdpRsTest, NoReplyWhenOutputTooSmall) {
  std::vector<uint8_t> out(143);
  EXPECT_FALSE(HandleNdp(kNsLl, kAllRouters, 255, kNsMac, kRs, Config(),
                         absl::MakeSpan(out)));
  out.resize(144);
  EXPECT_TRUE(HandleNdp(kNsLl, kAllRouters, 255, kNsMac, kRs, Config(),
                        absl::MakeSpan(out)));
}

TEST(NdpRaTest, UnsolicitedGoesToAllNodes) {
  std::array<uint8_t, kMaxNdpReplyLen> out{};
  std::optional<NdpReply> r = BuildRouterAdvert(Config(), absl::MakeSpan(out));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->src, kOurLl);
  EXPECT_EQ(r->dst, kAllNodes);
  EXPECT_EQ(r->dst_mac, Mac("33:33:00:00:00:01"));
  ASSERT_EQ(r->len, 144u);
  std::vector<uint8_t> ra(out.begin(), out.begin() + r->len);
  EXPECT_EQ(FoldedSum(kOurLl, kAllNodes, ra), 0xffff);
  // Same body as the solicited one.
  Result solicited = Handle(kNsLl, kAllRouters, kRs, Config());
  ASSERT_TRUE(solicited.reply);
  EXPECT_EQ(Slice(ra, 4, 140), Slice(solicited.bytes, 4, 140));
}

TEST(NdpRaTest, PrefixMaskedAndAutonomousOnlyFor64) {
  NdpConfig cfg;
  cfg.our_mac = kOurMac;
  cfg.prefixes = {Prefix{Ip("2001:db8:1:2:3:4:5:6"), 56},
                  Prefix{Ip("2001:db8:1:2:3:4:5:6"), 64},
                  Prefix{Ip("192.0.2.0"), 24},     // skipped
                  Prefix{Ip("2001:db8::"), 129}};  // skipped
  cfg.mtu = 1000;                                  // below 1280: no option
  cfg.rdnss = {Ip("192.0.2.53")};                  // skipped
  cfg.dnssl = {"", ".", "a..b"};                   // all invalid: no option
  std::array<uint8_t, kMaxNdpReplyLen> out{};
  std::optional<NdpReply> r = BuildRouterAdvert(cfg, absl::MakeSpan(out));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->len, 24u + 2 * 32u);
  std::vector<uint8_t> ra(out.begin(), out.begin() + r->len);
  EXPECT_EQ(ra[26], 56);
  EXPECT_EQ(ra[27], 0x80);  // L only
  EXPECT_EQ(Slice(ra, 40, 16), Bytes(Ip("2001:db8:1::")));
  EXPECT_EQ(ra[58], 64);
  EXPECT_EQ(ra[59], 0xc0);
  EXPECT_EQ(Slice(ra, 72, 16), Bytes(Ip("2001:db8:1:2::")));
  EXPECT_EQ(r->src, kOurLl);  // derived from the MAC
}

TEST(NdpRaTest, MtuOptionBounds) {
  NdpConfig cfg;
  cfg.our_mac = kOurMac;
  for (int mtu : {0, 1279, 65536, -1}) {
    cfg.mtu = mtu;
    EXPECT_EQ(RouterAdvertLen(cfg), 24u) << mtu;
  }
  for (int mtu : {1280, 1500, 65535}) {
    cfg.mtu = mtu;
    EXPECT_EQ(RouterAdvertLen(cfg), 32u) << mtu;
  }
}

TEST(NdpConfigTest, Validates) {
  EXPECT_TRUE(ValidateNdpConfig(Config()).ok());
  NdpConfig cfg = Config();
  cfg.prefixes.push_back(Prefix{Ip("192.0.2.0"), 24});
  EXPECT_FALSE(ValidateNdpConfig(cfg).ok());
  cfg = Config();
  cfg.prefixes[0].len = 129;
  EXPECT_FALSE(ValidateNdpConfig(cfg).ok());
  cfg = Config();
  cfg.rdnss.push_back(Ip("192.0.2.53"));
  EXPECT_FALSE(ValidateNdpConfig(cfg).ok());
  for (const char* bad : {"", ".", "a..b", ".a"}) {
    cfg = Config();
    cfg.dnssl.push_back(bad);
    EXPECT_FALSE(ValidateNdpConfig(cfg).ok()) << bad;
  }
  cfg = Config();
  cfg.dnssl.push_back(std::string(64, 'a') + ".org");
  EXPECT_FALSE(ValidateNdpConfig(cfg).ok());
  cfg = Config();
  cfg.dnssl.push_back(std::string(63, 'a') + ".org");
  EXPECT_TRUE(ValidateNdpConfig(cfg).ok());
  // Too many options for the minimum MTU.
  cfg = Config();
  for (int i = 0; i < 40; i++) cfg.prefixes.push_back(cfg.prefixes[0]);
  EXPECT_FALSE(ValidateNdpConfig(cfg).ok());
}

TEST(NdpTest, LinkLocalFromMacRfc4291Example) {
  // RFC 4291 appendix A: 34-56-78-9A-BC-DE -> 36-56-78-FF-FE-9A-BC-DE.
  EXPECT_EQ(LinkLocalFromMac(Mac("34:56:78:9a:bc:de")),
            Ip("fe80::3656:78ff:fe9a:bcde"));
  EXPECT_EQ(LinkLocalFromMac(kOurMac), kOurLl);
  EXPECT_EQ(LinkLocalFromMac(kNsMac), kNsLl);
}

// RFC 4861 6.2.1: MaxRtrAdvInterval 600 s, MinRtrAdvInterval a third; the
// draw spreads over the whole range and never leaves it.
TEST(NdpRaIntervalTest, SpreadsOverTheRfcRange) {
  NdpConfig cfg;
  const Duration lo = Seconds(200);
  const Duration hi = Seconds(600);
  Duration least = hi;
  Duration most = lo;
  for (uint64_t r = 0; r < 4000; ++r) {
    const Duration d = RouterAdvertInterval(cfg, r * 0x9e3779b97f4a7c15ULL);
    ASSERT_GE(d, lo);
    ASSERT_LT(d, hi);
    least = std::min(least, d);
    most = std::max(most, d);
  }
  EXPECT_LT(least, Seconds(210));
  EXPECT_GT(most, Seconds(590));
}

// A short router lifetime pulls the interval below it; the 3 s minimum
// delay between RAs still holds.
TEST(NdpRaIntervalTest, StaysBelowTheRouterLifetime) {
  NdpConfig cfg;
  cfg.router_lifetime = 31;
  for (uint64_t r = 0; r < 1000; ++r) {
    const Duration d = RouterAdvertInterval(cfg, r * 7919);
    EXPECT_GE(d, Seconds(10));
    EXPECT_LT(d, Seconds(30));
  }
  cfg.router_lifetime = 2;
  EXPECT_EQ(RouterAdvertInterval(cfg, 12345), Seconds(3));
}

}  // namespace
}  // namespace pasta::ndp
