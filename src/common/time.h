// Time as types: an Instant on the monotonic clock and a Duration between
// two of them, both counted in microseconds.
//
// Every handler gets `now` (an Instant read once per loop wakeup) and keeps
// deadlines and last-activity times as Instants; timeouts are Durations.
// Mixing them up, or passing a count of unknown unit, does not compile:
// there is no conversion from an integer to either type except through the
// named factories (Milliseconds(), Seconds(), ...). Each operation is a
// plain integer operation; nothing here allocates or makes a system call
// except Instant::Now().
#pragma once

#include <time.h>

#include <cstdint>
#include <limits>

namespace pasta {

class Duration {
 public:
  constexpr Duration() = default;

  static constexpr Duration Microseconds(int64_t us) { return Duration(us); }
  static constexpr Duration Max() {
    return Duration(std::numeric_limits<int64_t>::max());
  }

  constexpr int64_t ToMicroseconds() const { return us_; }
  // Rounded towards zero.
  constexpr int64_t ToMilliseconds() const { return us_ / 1000; }
  constexpr int64_t ToSeconds() const { return us_ / 1'000'000; }

  constexpr Duration operator+(Duration d) const {
    return Duration(us_ + d.us_);
  }
  constexpr Duration operator-(Duration d) const {
    return Duration(us_ - d.us_);
  }
  constexpr Duration operator*(int64_t n) const { return Duration(us_ * n); }
  constexpr Duration operator/(int64_t n) const { return Duration(us_ / n); }
  // Doubled `n` times: exponential backoff.
  constexpr Duration operator<<(int n) const { return Duration(us_ << n); }
  constexpr Duration& operator+=(Duration d) {
    us_ += d.us_;
    return *this;
  }

  constexpr bool operator==(Duration d) const { return us_ == d.us_; }
  constexpr bool operator!=(Duration d) const { return us_ != d.us_; }
  constexpr bool operator<(Duration d) const { return us_ < d.us_; }
  constexpr bool operator<=(Duration d) const { return us_ <= d.us_; }
  constexpr bool operator>(Duration d) const { return us_ > d.us_; }
  constexpr bool operator>=(Duration d) const { return us_ >= d.us_; }

 private:
  constexpr explicit Duration(int64_t us) : us_(us) {}
  int64_t us_ = 0;
};

constexpr Duration operator*(int64_t n, Duration d) { return d * n; }

constexpr Duration Microseconds(int64_t us) {
  return Duration::Microseconds(us);
}
constexpr Duration Milliseconds(int64_t ms) {
  return Duration::Microseconds(ms * 1000);
}
constexpr Duration Seconds(int64_t s) {
  return Duration::Microseconds(s * 1'000'000);
}

// A point on CLOCK_MONOTONIC. The default value is the clock's zero (never
// a time the loop reads: the clock counts from boot); Never() is later than
// every real instant and stands for "no deadline".
class Instant {
 public:
  constexpr Instant() = default;

  // Reads CLOCK_MONOTONIC: a vDSO call, no system call on common kernels.
  static Instant Now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Instant(static_cast<int64_t>(ts.tv_sec) * 1'000'000 +
                   ts.tv_nsec / 1000);
  }
  static constexpr Instant Never() {
    return Instant(std::numeric_limits<int64_t>::max());
  }
  // The instant `since` after the clock's zero: for tests and for the
  // timerfd, which takes absolute times on the same clock.
  static constexpr Instant FromClockZero(Duration since) {
    return Instant(since.ToMicroseconds());
  }

  constexpr bool is_never() const { return *this == Never(); }
  constexpr Duration SinceClockZero() const {
    return Duration::Microseconds(us_);
  }

  // Never() stays Never() whatever is added.
  constexpr Instant operator+(Duration d) const {
    if (is_never()) return *this;
    return Instant(us_ + d.ToMicroseconds());
  }
  constexpr Instant operator-(Duration d) const {
    return Instant(us_ - d.ToMicroseconds());
  }
  constexpr Duration operator-(Instant o) const {
    return Duration::Microseconds(us_ - o.us_);
  }
  constexpr Instant& operator+=(Duration d) {
    *this = *this + d;
    return *this;
  }

  constexpr bool operator==(Instant o) const { return us_ == o.us_; }
  constexpr bool operator!=(Instant o) const { return us_ != o.us_; }
  constexpr bool operator<(Instant o) const { return us_ < o.us_; }
  constexpr bool operator<=(Instant o) const { return us_ <= o.us_; }
  constexpr bool operator>(Instant o) const { return us_ > o.us_; }
  constexpr bool operator>=(Instant o) const { return us_ >= o.us_; }

 private:
  constexpr explicit Instant(int64_t us) : us_(us) {}
  int64_t us_ = 0;
};

constexpr Instant Earlier(Instant a, Instant b) { return a < b ? a : b; }

}  // namespace pasta
