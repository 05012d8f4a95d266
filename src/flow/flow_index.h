// FlowIndex: from a flow's key to its slot in a fixed-capacity flow table.
//
// Open addressing with linear probing over 2 * capacity buckets (load at
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

template <typename Key>
class FlowIndex {
  static_assert(std::is_trivially_copyable_v<Key>);

 public:
  // Room for `capacity` keys (< 2^31).
  FlowIndex(SipKey key, size_t capacity)
      : key_(key),
        mask_(BucketsFor(capacity) - 1),
        buckets_(MakeZeroedArray<Bucket>(mask_ + 1)) {}

  // Returns the slot stored for `k`, or -1.
  int64_t Find(const Key& k) const {
    for (size_t b = Home(k);; b = (b + 1) & mask_) {
      const Bucket& e = buckets_[b];
      if (e.slot_plus_one == 0) return -1;
      if (std::memcmp(&e.key, &k, sizeof(Key)) == 0) return e.slot_plus_one - 1;
    }
  }

  // Maps `k` to `slot`. The caller guarantees `k` is absent and that at most
  // `capacity` keys are stored.
  void Insert(const Key& k, uint32_t slot) {
    size_t b = Home(k);
    while (buckets_[b].slot_plus_one != 0) b = (b + 1) & mask_;
    buckets_[b].key = k;
    buckets_[b].slot_plus_one = slot + 1;
    ++size_;
  }

  // Removes `k` if present. Returns whether it was.
  bool Erase(const Key& k) {
    size_t b = Home(k);
    for (;; b = (b + 1) & mask_) {
      if (buckets_[b].slot_plus_one == 0) return false;
      if (std::memcmp(&buckets_[b].key, &k, sizeof(Key)) == 0) break;
    }
    // Backward shift: move later entries of the run into the hole when
    // their home position allows it.
    size_t hole = b;
    for (size_t j = (hole + 1) & mask_; buckets_[j].slot_plus_one != 0;
         j = (j + 1) & mask_) {
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
    return true;
  }

  size_t size() const { return size_; }

 private:
  struct Bucket {
    Key key;
    uint32_t slot_plus_one;  // 0: empty
  };
  // Twice the capacity (load at most one half), a power of two.
  static size_t BucketsFor(size_t capacity) {
    size_t n = 1;
    while (n < 2 * capacity) n <<= 1;
    return n;
  }
  size_t Home(const Key& k) const {
    return SipHash24(key_, &k, sizeof(Key)) & mask_;
  }

  SipKey key_;
  size_t mask_;
  ZeroedArray<Bucket> buckets_;
  size_t size_ = 0;
};

}  // namespace pasta::flow
