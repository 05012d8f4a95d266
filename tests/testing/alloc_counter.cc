#include "alloc_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<int> g_scopes{0};
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_scopes.load(std::memory_order_relaxed) > 0)
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  std::abort();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace pasta::testing {

CountAllocations::CountAllocations() : start_(g_allocations.load()) {
  g_scopes.fetch_add(1);
}
CountAllocations::~CountAllocations() { g_scopes.fetch_sub(1); }
long CountAllocations::count() const { return g_allocations.load() - start_; }

}  // namespace pasta::testing
