#include "flow/siphash.h"

#include <sys/random.h>

namespace pasta::flow {

namespace {

inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline void Round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = Rotl(v1, 13);
  v1 ^= v0;
  v0 = Rotl(v0, 32);
  v2 += v3;
  v3 = Rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = Rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = Rotl(v1, 17);
  v1 ^= v2;
  v2 = Rotl(v2, 32);
}

inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

uint64_t SipHash24(const SipKey& key, const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t v0 = 0x736f6d6570736575ull ^ key.k0;
  uint64_t v1 = 0x646f72616e646f6dull ^ key.k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ key.k0;
  uint64_t v3 = 0x7465646279746573ull ^ key.k1;
  const size_t blocks = len / 8;
  for (size_t i = 0; i < blocks; ++i) {
    const uint64_t m = LoadLe64(p + i * 8);
    v3 ^= m;
    Round(v0, v1, v2, v3);
    Round(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t last = static_cast<uint64_t>(len & 0xff) << 56;
  const uint8_t* tail = p + blocks * 8;
  for (size_t i = 0; i < (len & 7); ++i)
    last |= static_cast<uint64_t>(tail[i]) << (8 * i);
  v3 ^= last;
  Round(v0, v1, v2, v3);
  Round(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) Round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

SipKey RandomSipKey() {
  SipKey key;
  uint64_t buf[2] = {0, 0};
  if (getrandom(buf, sizeof(buf), 0) == static_cast<ssize_t>(sizeof(buf))) {
    key.k0 = buf[0];
    key.k1 = buf[1];
  }
  return key;
}

}  // namespace pasta::flow
