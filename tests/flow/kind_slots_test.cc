#include <algorithm>
#include <cstdint>
#include <vector>

#include "flow/flow_table.h"
#include "flow/listener_list.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pasta::flow {
namespace {

using ::testing::UnorderedElementsAreArray;

struct Item {
  FlowHeader hdr;
  int fd = -1;
  uint32_t value = 7;
};

// One kind's view over a table of its own capacity, as a handler has it:
// the tests below held for the per-handler tables this replaced.
template <size_t kCapacity>
struct Slots : KindSlots<Item> {
  Slots() : KindSlots<Item>(&table, FlowKind::kUdp, kCapacity) {}
  FlowTable table{SipKey{1, 2}, kCapacity};
};

std::vector<uint32_t> InUse(const KindSlots<Item>& t) {
  return {t.in_use().begin(), t.in_use().end()};
}

TEST(KindSlotsTest, HandsOutLowestFreshSlotsFirstAsValueInitialised) {
  Slots<4> t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.InUse(0));
  EXPECT_EQ(t.Take(), 0u);
  EXPECT_EQ(t.Take(), 1u);
  EXPECT_EQ(t[0].fd, -1);
  EXPECT_EQ(t[1].value, 7u);
  EXPECT_TRUE(t.InUse(1));
  EXPECT_FALSE(t.InUse(2));
  EXPECT_THAT(InUse(t), UnorderedElementsAreArray({0u, 1u}));
}

TEST(KindSlotsTest, ReleasedSlotIsReusedAndResetNothingOfTheOldFlowRemains) {
  Slots<4> t;
  const uint32_t a = t.Take();
  t[a].fd = 42;
  t[a].value = 99;
  t.Release(a);
  EXPECT_FALSE(t.InUse(a));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.Take(), a);
  EXPECT_EQ(t[a].fd, -1);
  EXPECT_EQ(t[a].value, 7u);
}

TEST(KindSlotsTest, FullAtCapacityAndOutOfRangeSlotsAreNotInUse) {
  Slots<4> t;
  for (int i = 0; i < 4; ++i) t.Take();
  EXPECT_TRUE(t.full());
  EXPECT_FALSE(t.InUse(4));
  EXPECT_FALSE(t.InUse(UINT32_MAX));
  EXPECT_FALSE(t.InUse(uint64_t{1} << 40));
  t.Release(2);
  EXPECT_FALSE(t.full());
  EXPECT_EQ(t.Take(), 2u);
}

TEST(KindSlotsTest, ReleasingWhileWalkingBackwardsVisitsEverySlotOnce) {
  Slots<4> t;
  for (int i = 0; i < 4; ++i) t[t.Take()].value = static_cast<uint32_t>(i);
  t.Release(1);
  t.Take();  // 1 again
  std::vector<uint32_t> seen;
  for (size_t k = t.size(); k-- > 0;) {
    const uint32_t s = t.in_use()[k];
    seen.push_back(s);
    if (s % 2 == 0) t.Release(s);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_THAT(InUse(t), UnorderedElementsAreArray({1u, 3u}));
  EXPECT_TRUE(t.InUse(1));
  EXPECT_FALSE(t.InUse(0));
}

// A model check: random takes and releases agree with a set, while
// another kind takes and releases slots of the same table.
TEST(KindSlotsTest, AgreesWithAModelOverManyOperations) {
  FlowTable table(SipKey{1, 2}, 64);
  KindSlots<Item> t(&table, FlowKind::kUdp, 64);
  KindSlots<Item> other(&table, FlowKind::kTcp, 64);
  std::vector<bool> model(64, false);
  uint32_t x = 12345;
  for (int step = 0; step < 20000; ++step) {
    x = x * 1103515245u + 12345u;
    const uint32_t r = (x >> 8) % 64;
    if ((x >> 20) & 1) {
      if (!t.full()) {
        const uint32_t s = t.Take();
        ASSERT_FALSE(model[s]);
        model[s] = true;
      }
    } else if (model[r]) {
      t.Release(r);
      model[r] = false;
    }
    if ((x >> 24) % 4 == 0 && !other.full()) {
      other.Take();
    } else if ((x >> 24) % 4 == 1 && other.size() > 0) {
      other.Release(other.in_use()[(x >> 4) % other.size()]);
    }
    ASSERT_EQ(t.size(), static_cast<size_t>(
                            std::count(model.begin(), model.end(), true)));
    for (uint32_t s = 0; s < 64; ++s) ASSERT_EQ(t.InUse(s), model[s]) << s;
  }
  std::vector<uint32_t> expected;
  for (uint32_t s = 0; s < 64; ++s)
    if (model[s]) expected.push_back(s);
  std::vector<uint32_t> got(t.in_use().begin(), t.in_use().end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

struct Entry {
  int fd = -1;
};

TEST(OpenListenerTest, OnlyAnOpenEntryInRange) {
  std::vector<Listener> list(3);
  list[1].fd = 7;
  EXPECT_EQ(OpenListener(list, 0), nullptr);  // free
  ASSERT_NE(OpenListener(list, 1), nullptr);
  EXPECT_EQ(OpenListener(list, 1)->fd, 7);
  // Out of range. Through volatiles: with constant indexes GCC 12 inlines
  // the call and warns (-Warray-bounds) about the access the bounds check
  // prevents.
  volatile uint32_t past_end = 3, far = UINT32_MAX;
  EXPECT_EQ(OpenListener(list, past_end), nullptr);
  EXPECT_EQ(OpenListener(list, far), nullptr);
}

TEST(TakeListenerEntryTest, FillsTheLowestFreeEntryAndAppendsWhenNoneIs) {
  std::vector<Entry> list;
  size_t lowest = 0;
  for (int i = 0; i < 4; ++i) {
    const uint32_t e = TakeListenerEntry(list, &lowest);
    EXPECT_EQ(e, static_cast<uint32_t>(i));
    list[e].fd = 10 + i;
  }
  // Free 2 and 1 (the caller lowers the bound), then take twice and once.
  list[2].fd = -1;
  lowest = std::min<size_t>(lowest, 2);
  list[1].fd = -1;
  lowest = std::min<size_t>(lowest, 1);
  uint32_t e = TakeListenerEntry(list, &lowest);
  EXPECT_EQ(e, 1u);
  list[e].fd = 20;
  e = TakeListenerEntry(list, &lowest);
  EXPECT_EQ(e, 2u);
  list[e].fd = 21;
  e = TakeListenerEntry(list, &lowest);
  EXPECT_EQ(e, 4u);
  EXPECT_EQ(list.size(), 5u);
  EXPECT_EQ(list[4].fd, -1);  // appended as L{}: the caller fills it
}

}  // namespace
}  // namespace pasta::flow
