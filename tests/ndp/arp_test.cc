#include "ndp/arp.h"

#include <array>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace pasta::ndp {
namespace {

using testing::Ip;
using testing::Mac;

// The namespace (2e:11:22:33:44:55, 192.0.2.10) asks who has 192.0.2.1.
const std::vector<uint8_t> kRequestForGateway = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // Ethernet/IPv4, request
    0x2e, 0x11, 0x22, 0x33, 0x44, 0x55,              // sender MAC
    0xc0, 0x00, 0x02, 0x0a,                          // sender IP 192.0.2.10
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // target MAC (unknown)
    0xc0, 0x00, 0x02, 0x01,                          // target IP 192.0.2.1
};

const std::vector<uint8_t> kReplyFromGateway = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,  // Ethernet/IPv4, reply
    0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55,              // our MAC
    0xc0, 0x00, 0x02, 0x01,                          // 192.0.2.1
    0x2e, 0x11, 0x22, 0x33, 0x44, 0x55,              // the requester
    0xc0, 0x00, 0x02, 0x0a,                          // 192.0.2.10
};

ArpConfig Config() {
  ArpConfig cfg;
  cfg.our_mac = Mac("9a:55:9a:55:9a:55");
  cfg.ns_addr = Ip("192.0.2.10");
  return cfg;
}

size_t Handle(const std::vector<uint8_t>& req, const ArpConfig& cfg,
              std::vector<uint8_t>* reply = nullptr) {
  std::array<uint8_t, 64> out{};
  size_t n = HandleArp(req, cfg, absl::MakeSpan(out));
  if (reply != nullptr) reply->assign(out.begin(), out.begin() + n);
  return n;
}

TEST(ArpTest, AnswersRequestForGateway) {
  std::vector<uint8_t> reply;
  ASSERT_EQ(Handle(kRequestForGateway, Config(), &reply), kArpLen);
  EXPECT_EQ(reply, kReplyFromGateway);
}

TEST(ArpTest, AnswersAnyOtherAddress) {
  std::vector<uint8_t> req = kRequestForGateway;
  req[24] = 203, req[25] = 0, req[26] = 113, req[27] = 7;
  std::vector<uint8_t> reply;
  ASSERT_EQ(Handle(req, Config(), &reply), kArpLen);
  EXPECT_EQ(std::vector<uint8_t>(reply.begin() + 14, reply.begin() + 18),
            (std::vector<uint8_t>{203, 0, 113, 7}));
}

TEST(ArpTest, IgnoresEthernetPadding) {
  std::vector<uint8_t> req = kRequestForGateway;
  req.resize(46, 0);  // padded to the 60-byte minimum frame
  std::vector<uint8_t> reply;
  ASSERT_EQ(Handle(req, Config(), &reply), kArpLen);
  EXPECT_EQ(reply, kReplyFromGateway);
}

TEST(ArpTest, NoReplyForNamespaceOwnAddress) {
  std::vector<uint8_t> req = kRequestForGateway;
  req[27] = 0x0a;  // who has 192.0.2.10, from someone else
  req[17] = 0x63;
  EXPECT_EQ(Handle(req, Config()), 0u);
}

TEST(ArpTest, OwnAddressUnknownYetAnswersEverything) {
  ArpConfig cfg = Config();
  cfg.ns_addr = IpAddr{};
  std::vector<uint8_t> req = kRequestForGateway;
  req[27] = 0x0a;
  req[17] = 0x63;
  EXPECT_EQ(Handle(req, cfg), kArpLen);
}

TEST(ArpTest, NoReplyForGratuitousArp) {
  std::vector<uint8_t> req = kRequestForGateway;
  req[24] = 0xc0, req[25] = 0x00, req[26] = 0x02, req[27] = 0x0a;
  EXPECT_EQ(Handle(req, Config()), 0u);
  // Also when the namespace's address is not known yet.
  ArpConfig cfg = Config();
  cfg.ns_addr = IpAddr{};
  EXPECT_EQ(Handle(req, cfg), 0u);
}

TEST(ArpTest, NoReplyForProbe) {
  std::vector<uint8_t> req = kRequestForGateway;
  req[14] = req[15] = req[16] = req[17] = 0;  // sender IP 0.0.0.0
  EXPECT_EQ(Handle(req, Config()), 0u);
}

TEST(ArpTest, NoReplyForWrongHeaderFields) {
  struct Case {
    size_t offset;
    uint8_t value;
    const char* what;
  };
  for (const Case& c :
       {Case{1, 6, "htype 6 (IEEE 802)"}, Case{0, 1, "htype 0x0101"},
        Case{2, 0x86, "ptype 0x86dd"}, Case{3, 0x06, "ptype 0x0806"},
        Case{4, 8, "hlen 8"}, Case{5, 16, "plen 16"}, Case{7, 2, "op reply"},
        Case{7, 3, "op RARP request"}, Case{6, 1, "op 0x0101"}}) {
    std::vector<uint8_t> req = kRequestForGateway;
    req[c.offset] = c.value;
    EXPECT_EQ(Handle(req, Config()), 0u) << c.what;
  }
}

TEST(ArpTest, NoReplyForTruncatedRequest) {
  for (size_t len = 0; len < kArpLen; len++) {
    std::vector<uint8_t> req(kRequestForGateway.begin(),
                             kRequestForGateway.begin() + len);
    EXPECT_EQ(Handle(req, Config()), 0u) << len;
  }
}

TEST(ArpTest, NoReplyWhenOutputTooSmall) {
  std::array<uint8_t, kArpLen - 1> out{};
  EXPECT_EQ(HandleArp(kRequestForGateway, Config(), absl::MakeSpan(out)), 0u);
}

}  // namespace
}  // namespace pasta::ndp
