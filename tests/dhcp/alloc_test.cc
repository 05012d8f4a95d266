// Handling a packet must not allocate (house style, habit 5). This binary
// counts heap allocations (tests/testing/alloc_counter.h) while it runs
// both servers over a burst of requests, good and bad.
#include <atomic>
#include <cstdlib>
#include <new>

#include "alloc_counter.h"
#include "dhcp/dhcp.h"
#include "dhcp/dhcpv6.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace pasta::dhcp {
namespace {

using testing::Addr;
using testing::Bytes;
using testing::Cat;
using testing::Zeros;

TEST(AllocationTest, HandlingPacketsDoesNotAllocate) {
  Dhcp4Config cfg4;
  cfg4.addr = *ParseIp("10.0.2.15");
  cfg4.router = cfg4.server_id = *ParseIp("10.0.2.2");
  cfg4.dns = {*ParseIp("10.0.2.3")};
  cfg4.search = {"example.org", "lab.internal"};
  cfg4.hostname = "box";
  cfg4.fqdn = "box.example.org";
  cfg4.mtu = 1500;
  Prepare(cfg4);
  Dhcp6Config cfg6;
  cfg6.addr = *ParseIp("2001:db8::15");
  cfg6.dns = {*ParseIp("2001:db8::53")};
  cfg6.search = {"example.org"};
  cfg6.fqdn = "box.example.org";
  Prepare(cfg6);

  const Bytes header = Cat({{1, 1, 6, 0, 1, 2, 3, 4, 0, 0, 0x80, 0},
                            Zeros(16),
                            {0x52, 0x54, 0, 0x12, 0x34, 0x56},
                            Zeros(10 + 192),
                            {99, 130, 83, 99}});
  const Bytes clientid6 = {0, 1,    0,    10, 0,    3,    0,
                           1, 0x52, 0x54, 0,  0x12, 0x34, 0x56};
  const Bytes serverid6 =
      Cat({{0, 2, 0, 10},
           {0, 3, 0, 1},
           Bytes(cfg6.our_mac.bytes.begin(), cfg6.our_mac.bytes.end())});
  const Bytes ia = Cat({{0, 3, 0, 40, 0, 0, 0, 1},
                        Zeros(8),
                        {0, 5, 0, 24},
                        Addr("2001:db8::99"),
                        Zeros(8)});
  const std::vector<Bytes> v4 = {
      Cat({header, {53, 1, 1, 57, 2, 5, 0xdc, 255}}),
      Cat({header, {53, 1, 3, 50, 4}, Addr("10.0.2.15"), {255}}),
      Cat({header, {53, 1, 3, 50, 4}, Addr("10.0.2.16"), {255}}),
      Cat({header, {53, 1, 8, 255}}),
      Cat({header, {53, 1, 7, 255}}),
      Cat({header, {53, 1, 1, 12, 200}}),
      Bytes(10, 0),
  };
  const std::vector<Bytes> v6 = {
      Cat({{1, 0, 0, 1}, clientid6, ia}),
      Cat({{1, 0, 0, 1}, clientid6, {0, 14, 0, 0}, ia}),
      Cat({{3, 0, 0, 1}, clientid6, serverid6, ia}),
      Cat({{5, 0, 0, 1}, clientid6, serverid6, ia}),
      Cat({{4, 0, 0, 1}, clientid6, ia}),
      Cat({{8, 0, 0, 1}, clientid6, serverid6, ia}),
      Cat({{11, 0, 0, 1}, clientid6}),
      Cat({{1, 0, 0, 1}, clientid6, {0, 3, 0, 200}}),
  };
  std::array<uint8_t, 1500> out;

  int replies = 0;
  pasta::testing::CountAllocations counter;
  for (int round = 0; round < 100; ++round) {
    for (const Bytes& msg : v4)
      replies += HandleDhcp4(msg, cfg4, absl::MakeSpan(out)).has_value();
    for (const Bytes& msg : v6)
      replies += HandleDhcp6(msg, cfg6, absl::MakeSpan(out)) > 0;
  }
  EXPECT_EQ(counter.count(), 0);
  EXPECT_EQ(replies, 100 * (4 + 7));
}

}  // namespace
}  // namespace pasta::dhcp
