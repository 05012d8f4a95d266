// ZeroedArray<T>: a fixed array of n zero-filled T, from calloc.
//
// The flow tables are megabytes that an idle pasta mostly never uses. A
// calloc of that size gets fresh pages from the kernel, already zero, and
// they only become resident when a flow first touches them; `new T[n]()`
// would write (and so fault in) every one of them at start-up. T must be a
// type whose all-zero bytes are a valid value and that needs no destructor.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <type_traits>

namespace pasta::flow {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

template <typename T>
using ZeroedArray = std::unique_ptr<T[], FreeDeleter>;

template <typename T>
ZeroedArray<T> MakeZeroedArray(size_t n) {
  static_assert(std::is_trivially_destructible_v<T>);
  static_assert(std::is_trivially_copyable_v<T>);
  void* p = std::calloc(n, sizeof(T));
  if (p == nullptr) std::abort();  // as a failed new without exceptions
  return ZeroedArray<T>(static_cast<T*>(p));
}

}  // namespace pasta::flow
