// FlowIndex: from a flow's key to its slot in a fixed-capacity flow table.
//
// Open addressing with linear probing over 2 * kCapacity buckets (load at
// most one half), keyed SipHash so that the namespace cannot force
// collisions, and backward-shift deletion (no tombstones, so lookups stay
// short however many flows come and go). Keys are trivially copyable structs
// hashed as bytes: give them no padding (or zero it). Storage is fixed at
// construction and zero-filled (an empty bucket is all zero), so only the
// pages that keys hash to become resident; no operation allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "flow/siphash.h"
#include "flow/zeroed_array.h"

namespace pasta::flow {

template <typename Key, size_t kCapacity>
class FlowIndex {
  static_assert(std::is_trivially_copyable_v<Key>);
  static constexpr size_t kBuckets = [] {
    size_t n = 1;
    while (n < 2 * kCapacity) n <<= 1;
    return n;
  }();
  static_assert(kCapacity < UINT32_MAX);

 public:
  explicit FlowIndex(SipKey key)
      : key_(key), buckets_(MakeZeroedArray<Bucket>(kBuckets)) {}

  // Returns the slot stored for `k`, or -1.
  int64_t Find(const Key& k) const {
    for (size_t b = Home(k);; b = (b + 1) & (kBuckets - 1)) {
      const Bucket& e = buckets_[b];
      if (e.slot_plus_one == 0) return -1;
      if (std::memcmp(&e.key, &k, sizeof(Key)) == 0) return e.slot_plus_one - 1;
    }
  }

  // Maps `k` to `slot`. The caller guarantees `k` is absent and that at most
  // kCapacity keys are stored.
  void Insert(const Key& k, uint32_t slot) {
    size_t b = Home(k);
    while (buckets_[b].slot_plus_one != 0) b = (b + 1) & (kBuckets - 1);
    buckets_[b].key = k;
    buckets_[b].slot_plus_one = slot + 1;
    ++size_;
  }

  // Removes `k` if present.
  void Erase(const Key& k) {
    size_t b = Home(k);
    for (;; b = (b + 1) & (kBuckets - 1)) {
      if (buckets_[b].slot_plus_one == 0) return;
      if (std::memcmp(&buckets_[b].key, &k, sizeof(Key)) == 0) break;
    }
    // Backward shift: move later entries of the run into the hole when
    // their home position allows it.
    size_t hole = b;
    for (size_t j = (hole + 1) & (kBuckets - 1); buckets_[j].slot_plus_one != 0;
         j = (j + 1) & (kBuckets - 1)) {
      const size_t home = Home(buckets_[j].key);
      // Move j into hole unless home lies cyclically in (hole, j].
      const bool stays =
          hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      buckets_[hole] = buckets_[j];
      hole = j;
    }
    buckets_[hole].slot_plus_one = 0;
    --size_;
  }

  size_t size() const { return size_; }

 private:
  struct Bucket {
    Key key;
    uint32_t slot_plus_one;  // 0: empty
  };
  size_t Home(const Key& k) const {
    return SipHash24(key_, &k, sizeof(Key)) & (kBuckets - 1);
  }

  SipKey key_;
  ZeroedArray<Bucket> buckets_;
  size_t size_ = 0;
};

}  // namespace pasta::flow
