#include "flow/flow_table.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace pasta::flow {
namespace {

struct TcpLike {
  FlowHeader hdr;
  int fd = -1;
  uint32_t seq = 0;
};
struct UdpLike {
  FlowHeader hdr;
  int fd = -1;
  uint16_t port = 0;
};
struct Key {
  uint8_t family;
  uint8_t pad = 0;
  uint16_t port;
};

std::vector<uint32_t> Sorted(absl::Span<const uint32_t> s) {
  std::vector<uint32_t> v(s.begin(), s.end());
  std::sort(v.begin(), v.end());
  return v;
}

TEST(FlowTableTest, KindsShareOneTableAndKeepTheirOwnLists) {
  FlowTable table(SipKey{1, 2}, 64);
  KindSlots<TcpLike> tcp(&table, FlowKind::kTcp, 64);
  KindSlots<UdpLike> udp(&table, FlowKind::kUdp, 64);
  const uint32_t a = tcp.Take();
  const uint32_t b = udp.Take();
  const uint32_t c = tcp.Take();
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(tcp.size(), 2u);
  EXPECT_EQ(udp.size(), 1u);
  EXPECT_EQ(Sorted(tcp.in_use()),
            (std::vector<uint32_t>{std::min(a, c), std::max(a, c)}));
  EXPECT_EQ(Sorted(udp.in_use()), std::vector<uint32_t>{b});
  // A slot is one kind's only: the other's view does not see it.
  EXPECT_TRUE(tcp.InUse(a));
  EXPECT_FALSE(udp.InUse(a));
  EXPECT_TRUE(udp.InUse(b));
  EXPECT_FALSE(tcp.InUse(b));
  EXPECT_FALSE(tcp.InUse(1u << 30));  // any number is safe to ask about
  EXPECT_EQ(table.kind(b), FlowKind::kUdp);
}

TEST(FlowTableTest, TakeGivesAFreshValueAndReleaseFreesTheSlot) {
  FlowTable table(SipKey{1, 2}, 4);
  KindSlots<TcpLike> tcp(&table, FlowKind::kTcp, 4);
  const uint32_t a = tcp.Take();
  EXPECT_EQ(tcp[a].fd, -1);  // T{}
  tcp[a].fd = 7;
  tcp[a].seq = 99;
  tcp.Release(a);
  EXPECT_FALSE(tcp.InUse(a));
  EXPECT_EQ(table.kind(a), FlowKind::kFree);
  const uint32_t again = tcp.Take();
  EXPECT_EQ(again, a);  // released slots are reused first
  EXPECT_EQ(tcp[again].fd, -1);
  EXPECT_EQ(tcp[again].seq, 0u);
}

TEST(FlowTableTest, ReleasingWhileWalkingBackwardsVisitsEveryFlow) {
  FlowTable table(SipKey{1, 2}, 32);
  KindSlots<UdpLike> udp(&table, FlowKind::kUdp, 32);
  KindSlots<TcpLike> tcp(&table, FlowKind::kTcp, 32);
  for (int i = 0; i < 10; ++i) {
    udp[udp.Take()].port = static_cast<uint16_t>(i);
    tcp.Take();
  }
  int seen = 0;
  for (size_t k = udp.size(); k-- > 0;) {
    const uint32_t s = udp.in_use()[k];
    ++seen;
    if (udp[s].port % 2 == 0) udp.Release(s);
  }
  EXPECT_EQ(seen, 10);
  EXPECT_EQ(udp.size(), 5u);
  for (const uint32_t s : udp.in_use()) EXPECT_EQ(udp[s].port % 2, 1);
  EXPECT_EQ(tcp.size(), 10u);  // the other kind untouched
}

TEST(FlowTableTest, AKindsCapAndTheTablesCapacityBothMakeItFull) {
  FlowTable table(SipKey{1, 2}, 5);
  KindSlots<TcpLike> tcp(&table, FlowKind::kTcp, 2);
  KindSlots<UdpLike> udp(&table, FlowKind::kUdp, 10);
  tcp.Take();
  EXPECT_FALSE(tcp.full());
  tcp.Take();
  EXPECT_TRUE(tcp.full());  // its own cap
  EXPECT_FALSE(udp.full());
  udp.Take();
  udp.Take();
  EXPECT_FALSE(udp.full());
  udp.Take();
  EXPECT_TRUE(table.full());
  EXPECT_TRUE(udp.full());  // the table's capacity
}

TEST(FlowTableTest, EqualKeysOfTwoKindsAreTwoFlows) {
  FlowTable table(SipKey{3, 4}, 16);
  KindIndex<Key> tcp(&table, FlowKind::kTcp);
  KindIndex<Key> udp(&table, FlowKind::kUdp);
  const Key k{4, 0, 80};
  EXPECT_EQ(tcp.Find(k), -1);
  tcp.Insert(k, 3);
  EXPECT_EQ(tcp.Find(k), 3);
  EXPECT_EQ(udp.Find(k), -1);
  udp.Insert(k, 9);
  EXPECT_EQ(udp.Find(k), 9);
  EXPECT_EQ(tcp.Find(k), 3);
  EXPECT_EQ(tcp.size(), 1u);
  tcp.Erase(k);
  tcp.Erase(k);  // absent now: no effect on the count
  EXPECT_EQ(tcp.size(), 0u);
  EXPECT_EQ(tcp.Find(k), -1);
  EXPECT_EQ(udp.Find(k), 9);
}

TEST(FlowTableTest, APrivateTableWhenGivenNone) {
  FlowTable shared(SipKey{1, 2}, 8);
  const TableRef given(&shared, SipKey{}, 4);
  EXPECT_EQ(given.get(), &shared);
  const TableRef own(nullptr, SipKey{}, 4);
  ASSERT_NE(own.get(), nullptr);
  EXPECT_EQ(own.get()->capacity(), 4u);
}

}  // namespace
}  // namespace pasta::flow
