// Global operator new/delete for the fuzz targets that build big tables
// per run (the tcp, udp and icmp flow tables, the port maps of config and
// port_spec). Flow arrays, indexes and frame buffers are megabytes, which
// AddressSanitizer maps afresh for every run and unmaps after it: page
// faults were nearly all of the time (tens of runs a second, not thousands).
//
// Blocks of kMinCached bytes or more (which ASan's quarantine would
// otherwise replace with fresh memory) are kept when deleted and handed out
// again for a request of exactly the same size. They still come from
// malloc, so ASan's redzones around them stay and an overflow is still
// caught; a reused block gets ASan's fill (0xbe) over its first 4 KiB, as a
// fresh one would, and the code under test constructs or writes what it
// reads. Blocks never deleted are still reported as leaks. Not thread-safe:
// libFuzzer runs one input at a time on one thread.
#include <malloc.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

constexpr size_t kMinCached = 8 * 1024;
constexpr size_t kSlots = 64;
constexpr size_t kFillBytes = 4096;  // ASan's max_malloc_fill_size

struct Cached {
  void* p = nullptr;
  size_t n = 0;
};
Cached g_cache[kSlots];
size_t g_next_victim = 0;

void* Allocate(size_t n) {
  if (n >= kMinCached) {
    for (Cached& c : g_cache) {
      if (c.p != nullptr && c.n == n) {
        void* p = c.p;
        c = Cached{};
        std::memset(p, 0xbe, kFillBytes);
        return p;
      }
    }
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) std::abort();  // -fno-exceptions: no bad_alloc
  return p;
}

void Release(void* p) {
  if (p == nullptr) return;
  const size_t n = malloc_usable_size(p);
  if (n >= kMinCached) {
    for (Cached& c : g_cache) {
      if (c.p == nullptr) {
        c = Cached{p, n};
        return;
      }
    }
    Cached& victim = g_cache[g_next_victim++ % kSlots];
    std::free(victim.p);
    victim = Cached{p, n};
    return;
  }
  std::free(p);
}

}  // namespace

void* operator new(size_t n) { return Allocate(n); }
void* operator new[](size_t n) { return Allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n);
}
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }
