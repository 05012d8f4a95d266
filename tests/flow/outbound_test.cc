#include "flow/outbound.h"

#include <sys/socket.h>

#include <cstring>

#include "gtest/gtest.h"

namespace pasta::flow {
namespace {

IpAddr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr ip;
  ip.family = AF_INET;
  ip.bytes = {a, b, c, d};
  return ip;
}

constexpr uint8_t kRemote4[4] = {203, 0, 113, 7};
constexpr uint8_t kLoopback4[4] = {127, 0, 0, 1};
constexpr uint8_t kRemote6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                  0,    0,    0,    0,    0, 0, 0, 7};
constexpr uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 1};

TEST(OutboundTest, NothingConfiguredBindsNothing) {
  const Outbound out;
  const Outbound::Binding b = out.For(AF_INET, kRemote4);
  EXPECT_EQ(b.device, nullptr);
  EXPECT_EQ(b.addr, nullptr);
}

TEST(OutboundTest, AddressAndDeviceOfTheSocketsFamily) {
  Outbound out;
  out.bind4 = V4(192, 0, 2, 1);
  out.bind_if4 = "eth4";
  out.bind_if6 = "eth6";
  const Outbound::Binding b4 = out.For(AF_INET, kRemote4);
  ASSERT_NE(b4.device, nullptr);
  EXPECT_EQ(*b4.device, "eth4");
  ASSERT_NE(b4.addr, nullptr);
  EXPECT_EQ(std::memcmp(b4.addr, out.bind4.bytes.data(), 4), 0);
  // IPv6: its own device, and no address (only -o for IPv4 was given).
  const Outbound::Binding b6 = out.For(AF_INET6, kRemote6);
  ASSERT_NE(b6.device, nullptr);
  EXPECT_EQ(*b6.device, "eth6");
  EXPECT_EQ(b6.addr, nullptr);
}

TEST(OutboundTest, TheHostsLoopbackGetsNeither) {
  Outbound out;
  out.bind4 = V4(192, 0, 2, 1);
  out.bind_if4 = "eth4";
  out.bind_if6 = "eth6";
  const Outbound::Binding b4 = out.For(AF_INET, kLoopback4);
  EXPECT_EQ(b4.device, nullptr);
  EXPECT_EQ(b4.addr, nullptr);
  const Outbound::Binding b6 = out.For(AF_INET6, kLoopback6);
  EXPECT_EQ(b6.device, nullptr);
  EXPECT_EQ(b6.addr, nullptr);
}

}  // namespace
}  // namespace pasta::flow
