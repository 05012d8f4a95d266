// SlotTable: the fixed-capacity flow table of a protocol. A flow lives in a
// slot (its number is what epoll and the FlowIndex carry); the slots in use
// are also kept in a dense list, so that timers and teardown visit only the
// flows that exist, never the whole capacity.
//
// All storage is zero-filled by calloc (ZeroedArray): a slot's page becomes
// resident when a flow first uses it, and slots are handed out lowest first
// until one is released, so a pasta with few flows keeps few pages. Take()
// value-initialises the slot (T{}), so nothing of a previous flow remains.
// No operation allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "absl/types/span.h"
#include "flow/zeroed_array.h"

namespace pasta::flow {

template <typename T, size_t kCapacity>
class SlotTable {
  static_assert(kCapacity > 0 && kCapacity < UINT32_MAX);

 public:
  SlotTable()
      : slots_(MakeZeroedArray<T>(kCapacity)),
        free_(MakeZeroedArray<uint32_t>(kCapacity)),
        in_use_(MakeZeroedArray<uint32_t>(kCapacity)),
        pos_(MakeZeroedArray<uint32_t>(kCapacity)) {}

  bool full() const { return size_ == kCapacity; }
  size_t size() const { return size_; }

  // Takes a free slot, as T{}. The caller checked !full().
  uint32_t Take() {
    const uint32_t slot = free_count_ > 0 ? free_[--free_count_]
                                          : static_cast<uint32_t>(fresh_++);
    new (&slots_[slot]) T{};
    in_use_[size_] = slot;
    pos_[slot] = static_cast<uint32_t>(++size_);
    return slot;
  }

  // Gives `slot` (in use) back. The last entry of in_use() moves into its
  // place: to release while walking in_use(), walk it backwards.
  void Release(uint32_t slot) {
    const uint32_t pos = pos_[slot] - 1;
    const uint32_t last = in_use_[--size_];
    in_use_[pos] = last;
    pos_[last] = pos + 1;
    pos_[slot] = 0;
    free_[free_count_++] = slot;
  }

  // Whether `slot` is a slot number in use (any value is safe to ask about).
  bool InUse(uint64_t slot) const {
    return slot < kCapacity && pos_[slot] != 0;
  }

  T& operator[](uint32_t slot) { return slots_[slot]; }
  const T& operator[](uint32_t slot) const { return slots_[slot]; }

  // The slots in use, in no particular order.
  absl::Span<const uint32_t> in_use() const {
    return absl::MakeConstSpan(in_use_.get(), size_);
  }

 private:
  ZeroedArray<T> slots_;
  ZeroedArray<uint32_t> free_;    // released slots, a stack
  ZeroedArray<uint32_t> in_use_;  // dense list of the slots in use
  ZeroedArray<uint32_t> pos_;  // per slot: index in in_use_ plus one, 0 if free
  size_t free_count_ = 0;
  size_t fresh_ = 0;  // slots [fresh_, kCapacity) never used yet
  size_t size_ = 0;
};

// For the listener lists (a std::vector<L> whose free entries have fd < 0):
// the index of the lowest free entry, appended if there is none; the caller
// fills it. `*lowest_free` is a lower bound of that index: this keeps it, and
// a caller freeing entry i lowers it to i. So opening n listeners (an
// exclusion-only spec opens tens of thousands) costs O(n), not O(n^2).
template <typename L>
uint32_t TakeListenerEntry(std::vector<L>& list, size_t* lowest_free) {
  size_t i = *lowest_free;
  while (i < list.size() && list[i].fd >= 0) ++i;
  if (i == list.size()) list.push_back(L{});
  *lowest_free = i + 1;
  return static_cast<uint32_t>(i);
}

}  // namespace pasta::flow
