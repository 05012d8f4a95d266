// What an epoll registration refers to, packed into epoll_data.u64.
//
// Layout: bits 0..7 the kind, bits 8..31 a flow or slot index (24 bits), bits
// 32..63 the file descriptor. The loop unpacks it and dispatches with one
// switch over Kind that has no default, so -Wswitch-enum names a forgotten
// kind. Pure and constexpr; no allocation.
#pragma once

#include <sys/epoll.h>

#include <cerrno>
#include <cstdint>

namespace pasta::loop {

enum class Kind : uint8_t {
  kTap = 1,     // the tap device
  kSignal,      // signalfd: SIGCHLD, SIGTERM, SIGINT, SIGHUP
  kNetnsWatch,  // inotify on the directory of a bound netns file
  kPidWatch,    // pidfd of a target PID
  kTimer,       // the timerfd
  kTcpListen,   // TCP listener for a forwarded port
  kTcpSock,     // TCP socket of a tap-side flow
  kTcpSplice,   // TCP socket of a spliced flow
  kSpliceListen,  // TCP listener in the namespace for a -T port
  kUdp,         // UDP socket
  kIcmp,        // ICMP echo socket
  kUdpRelay,    // UDP between the loopbacks (-U): listener or flow socket
};

inline constexpr uint32_t kMaxIndex = (1u << 24) - 1;

struct Ref {
  Kind kind;
  uint32_t index;  // flow or slot index, < 2^24
  int fd;

  // Packs into a u64 for epoll_data. `index` must be <= kMaxIndex and fd >= 0.
  constexpr uint64_t Pack() const {
    return static_cast<uint64_t>(static_cast<uint8_t>(kind)) |
           static_cast<uint64_t>(index & kMaxIndex) << 8 |
           static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32;
  }
  static constexpr Ref Unpack(uint64_t v) {
    return Ref{static_cast<Kind>(v & 0xff),
               static_cast<uint32_t>(v >> 8) & kMaxIndex,
               static_cast<int>(static_cast<uint32_t>(v >> 32))};
  }
  constexpr bool operator==(const Ref&) const = default;
};

// Registers `ref.fd` with epoll instance `epoll_fd` for `events`, with `ref`
// as its data. Returns 0 or an errno value.
inline int EpollAdd(int epoll_fd, Ref ref, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = ref.Pack();
  return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ref.fd, &ev) == 0 ? 0 : errno;
}

}  // namespace pasta::loop
