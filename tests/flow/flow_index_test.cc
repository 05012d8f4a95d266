#include "flow/flow_index.h"

#include <map>
#include <random>

#include "flow/siphash.h"
#include "gtest/gtest.h"

namespace pasta::flow {
namespace {

TEST(SipHashTest, ReferenceVector) {
  // The SipHash-2-4 paper's test vector: key 00..0f, message 00..0e.
  SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(SipHash24(key, msg, sizeof(msg)), 0xa129ca6149be45e5ull);
  EXPECT_EQ(SipHash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
}

TEST(SipHashTest, RandomKeysDiffer) {
  const SipKey a = RandomSipKey(), b = RandomSipKey();
  EXPECT_FALSE(a.k0 == b.k0 && a.k1 == b.k1);
}

struct Key {
  uint32_t a;
  uint32_t b;
};

// Random inserts and erases against std::map as the model: every lookup
// agrees, including after backward-shift deletions.
TEST(FlowIndexTest, AgreesWithAModel) {
  constexpr size_t kCap = 64;
  FlowIndex<Key> index(SipKey{1, 2}, kCap);
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> model;
  std::mt19937 rng(42);
  for (int step = 0; step < 20000; ++step) {
    Key k{static_cast<uint32_t>(rng() % 100), static_cast<uint32_t>(rng() % 3)};
    const auto mk = std::make_pair(k.a, k.b);
    const bool present = model.count(mk) != 0;
    ASSERT_EQ(index.Find(k) >= 0, present);
    if (present) {
      ASSERT_EQ(index.Find(k), model[mk]);
      if (rng() % 2) {
        index.Erase(k);
        model.erase(mk);
      }
    } else if (model.size() < kCap) {
      const uint32_t slot = static_cast<uint32_t>(step);
      index.Insert(k, slot);
      model[mk] = slot;
    }
    ASSERT_EQ(index.size(), model.size());
  }
  for (const auto& [k, slot] : model) {
    EXPECT_EQ(index.Find(Key{k.first, k.second}), slot);
  }
}

TEST(FlowIndexTest, FullTableStillFindsEverything) {
  constexpr size_t kCap = 128;
  FlowIndex<Key> index(RandomSipKey(), kCap);
  for (uint32_t i = 0; i < kCap; ++i) index.Insert(Key{i, 7}, i);
  for (uint32_t i = 0; i < kCap; ++i) EXPECT_EQ(index.Find(Key{i, 7}), i);
  EXPECT_EQ(index.Find(Key{kCap, 7}), -1);
  for (uint32_t i = 0; i < kCap; i += 2) index.Erase(Key{i, 7});
  for (uint32_t i = 0; i < kCap; ++i)
    EXPECT_EQ(index.Find(Key{i, 7}), i % 2 ? static_cast<int64_t>(i) : -1);
}

}  // namespace
}  // namespace pasta::flow
