// The header every flow entry begins with (FlowHeader): what the table
// keeps there, what a handler fills, and the one way a flow is written in
// traces.
#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "flow/flow_table.h"
#include "gtest/gtest.h"

namespace pasta::flow {
namespace {

struct Conn {
  FlowHeader hdr;
  int fd = -1;
};

TEST(FlowHeaderTest, TheTableSetsTheKindAndKeepsTheClosingBit) {
  FlowTable table(SipKey{1, 2}, 4);
  KindSlots<Conn> udp(&table, FlowKind::kUdp, 4);
  const uint32_t s = udp.Take();
  EXPECT_EQ(udp[s].hdr.kind, FlowKind::kUdp);
  EXPECT_EQ(&table.header(s), &udp[s].hdr);  // the same bytes
  EXPECT_EQ(udp[s].hdr.state, 0);
  EXPECT_TRUE(udp[s].hdr.deadline.is_never());
  udp.Defer(s);
  EXPECT_EQ(udp[s].hdr.state & kFlowClosing, kFlowClosing);
  table.Reap();
  // Taken again: a fresh header, not closing.
  const uint32_t again = udp.Take();
  EXPECT_EQ(again, s);
  EXPECT_EQ(udp[again].hdr.state, 0);
  EXPECT_FALSE(udp.Closing(again));
}

TEST(FlowHeaderTest, SidesHoldAddressesAndPortsByFamily) {
  FlowHeader h;
  const uint8_t ns4[4] = {198, 51, 100, 2}, remote4[4] = {203, 0, 113, 1};
  SetSide(h, kNsSide, AF_INET, ns4, 40000, remote4, 80);
  SetSide(h, kHostSide, AF_INET, remote4, 80, nullptr, 0);
  EXPECT_EQ(h.family, AF_INET);
  EXPECT_EQ(h.side[kNsSide].peer[3], 2);
  EXPECT_EQ(h.side[kNsSide].ours[0], 203);
  EXPECT_EQ(h.side[kNsSide].peer_port, 40000);
  EXPECT_EQ(h.side[kNsSide].our_port, 80);
  EXPECT_EQ(h.side[kHostSide].peer[0], 203);
  EXPECT_EQ(h.side[kHostSide].ours[0], 0);  // unknown stays zero
  EXPECT_EQ(h.side[kNsSide].peer[4], 0);    // 4 bytes only for IPv4
}

TEST(FlowHeaderTest, FormatFlowWritesTheKindAndTheNamespaceSide) {
  FlowHeader h;
  h.kind = FlowKind::kTcp;
  const uint8_t ns4[4] = {198, 51, 100, 2}, remote4[4] = {203, 0, 113, 1};
  SetSide(h, kNsSide, AF_INET, ns4, 40000, remote4, 80);
  EXPECT_EQ(FormatFlow(h), "tcp 198.51.100.2:40000 -> 203.0.113.1:80");
  FlowHeader u;
  u.kind = FlowKind::kUdp;
  uint8_t ns6[16] = {0x20, 0x01, 0x0d, 0xb8};
  ns6[15] = 2;
  uint8_t remote6[16] = {0x20, 0x01, 0x0d, 0xb8};
  remote6[15] = 1;
  SetSide(u, kNsSide, AF_INET6, ns6, 5353, remote6, 53);
  EXPECT_EQ(FormatFlow(u), "udp [2001:db8::2]:5353 -> [2001:db8::1]:53");
  EXPECT_EQ(FormatEnds(FlowKind::kTcp, AF_INET, ns4, 1, remote4, 2),
            "tcp 198.51.100.2:1 -> 203.0.113.1:2");
}

}  // namespace
}  // namespace pasta::flow
