// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash, so that the
// namespace, which chooses addresses and ports, cannot aim flows at one
// bucket without knowing the per-run key. Pure; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pasta::flow {

struct SipKey {
  uint64_t k0 = 0, k1 = 0;
};

// Returns SipHash-2-4 of `len` bytes at `data` under `key`.
uint64_t SipHash24(const SipKey& key, const void* data, size_t len);

// A key from getrandom(2), made once per run.
SipKey RandomSipKey();

}  // namespace pasta::flow
