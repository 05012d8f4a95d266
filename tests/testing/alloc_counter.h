// Counting heap allocations in tests (house style, habit 5: no allocation
// per packet). Linking alloc_counter.cc into a test binary replaces the
// global operator new/delete with versions that count while a
// CountAllocations scope is alive.
#pragma once

namespace pasta::testing {

// Counts the allocations made while it is alive (this thread or any other).
class CountAllocations {
 public:
  CountAllocations();
  ~CountAllocations();
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;
  // Allocations since construction.
  long count() const;

 private:
  long start_;
};

}  // namespace pasta::testing
