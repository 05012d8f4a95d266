// Instants for tests: a count of seconds or milliseconds after the clock's
// zero, so that a test script can say "at 10 s" as an integer.
#pragma once

#include <cstdint>

#include "common/time.h"

namespace pasta {

inline Instant AtSeconds(int64_t s) {
  return Instant::FromClockZero(Seconds(s));
}
inline Instant AtMs(int64_t ms) {
  return Instant::FromClockZero(Milliseconds(ms));
}

}  // namespace pasta
