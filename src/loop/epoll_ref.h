// What an epoll registration refers to, packed into epoll_data.u64: the
// kind of descriptor, the index of its flow or listener in its handler's
// table, and for a flow with two sockets (splice) which side it is.
//
// Layout: bits 0..7 the kind, bits 8..30 the index (23 bits), bit 31 the
// side, bits 32..63 the file descriptor. Every listener has a kind of its
// own, so an index is always a plain index into one table: no offsets to
// add or subtract. The loop unpacks it and dispatches with one switch over
// Kind that has no default, so -Wswitch-enum names a forgotten kind. Pure
// and constexpr; no allocation.
#pragma once

#include <sys/epoll.h>

#include <cerrno>
#include <cstdint>

namespace pasta::loop {

enum class Kind : uint8_t {
  kTap = 1,        // the tap device
  kSignal,         // signalfd: SIGCHLD, SIGTERM, SIGINT, SIGHUP
  kNetnsWatch,     // inotify on the directory of a bound netns file
  kPidWatch,       // pidfd of a target PID
  kTimer,          // the timerfd
  kTcpListen,      // TCP listener for a forwarded port (-t)
  kTcpSock,        // TCP socket of a tap-side flow
  kTcpSplice,      // TCP socket of a spliced flow (side: which of the two)
  kSpliceListen,   // TCP listener in the namespace for a -T port
  kUdp,            // UDP socket of a flow
  kUdpListen,      // UDP listener for a forwarded port (-u)
  kIcmp,           // ICMP echo socket
  kRelayListen,    // UDP between the loopbacks, -U: listener in the namespace
  kRelayFlow,      // -U: a flow's socket on the host's loopback
  kRelayInListen,  // -u from the host's loopback: listener on the host
  kRelayInFlow,    // -u from the host's loopback: a flow's socket
  kControlListen,  // the control socket (-c)
  kControlSession, // its one client
  kNetlinkEvents,  // rtnetlink notifications from the host (index 0:
                   // neighbours, 1: links, addresses, routes)
  kPasstListen,    // passt: the UNIX socket QEMU connects to (-s)
};

inline constexpr uint32_t kMaxIndex = (1u << 23) - 1;

struct Ref {
  Kind kind;
  uint32_t index;  // flow or listener index, <= kMaxIndex
  int fd;
  uint8_t side = 0;  // 0 or 1: which socket of a two-socket flow

  // Packs into a u64 for epoll_data. `index` must be <= kMaxIndex, `side`
  // 0 or 1, and fd >= 0.
  constexpr uint64_t Pack() const {
    return static_cast<uint64_t>(static_cast<uint8_t>(kind)) |
           static_cast<uint64_t>(index & kMaxIndex) << 8 |
           static_cast<uint64_t>(side & 1u) << 31 |
           static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32;
  }
  static constexpr Ref Unpack(uint64_t v) {
    return Ref{static_cast<Kind>(v & 0xff),
               static_cast<uint32_t>(v >> 8) & kMaxIndex,
               static_cast<int>(static_cast<uint32_t>(v >> 32)),
               static_cast<uint8_t>((v >> 31) & 1u)};
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
