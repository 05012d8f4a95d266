// The one seam between the protocol handlers (TCP, splice, UDP, the
// loopback relays, ICMP) and the kernel: every socket, pipe and epoll call
// they make goes through a `Sys`, so each handler can be tested against a
// fake (tests/testing/fake_sys.h) as well as run on the real thing
// (`SystemSys`, system_sys.h).
//
// Every call returns a `Result`: its value and, on failure, the errno, read
// right after the system call. A handler never looks at the global errno
// after a seam call. EAGAIN is an ordinary result, not an error to log.
//
// Addresses are 4 or 16 bytes in network order, ports in host order. Every
// socket is non-blocking and close-on-exec. Nothing here allocates; one
// call is one virtual call and (in SystemSys) one or a few system calls.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/types/span.h"
#include "common/net_types.h"

namespace pasta::sock {

// A call's outcome: `value` (a descriptor, a byte or message count, an
// option's value) with err == 0, or value -1 with `err` the errno.
struct Result {
  ssize_t value = 0;
  int err = 0;

  bool ok() const { return err == 0; }
  // As an int (descriptors, counts that fit).
  int fd() const { return static_cast<int>(value); }
};

inline Result Ok(ssize_t value = 0) { return Result{value, 0}; }
inline Result Fail(int err) { return Result{-1, err}; }

// Where a socket is made: pasta's own network namespace (the host), or the
// target namespace (the splice path and the -u loopback relay reach its
// loopback).
enum class Netns : uint8_t { kHost, kTarget };

// One datagram slot of RecvBatch() and SendBatch(). The caller fills
// `data`/`cap`; RecvBatch fills the rest, SendBatch sends `len` bytes.
struct Datagram {
  uint8_t* data = nullptr;
  size_t cap = 0;
  size_t len = 0;          // bytes stored (at most cap)
  bool truncated = false;  // the datagram was longer than cap
  int family = 0;          // of the source address (AF_UNSPEC: none)
  uint8_t addr[16] = {};   // source address (4 or 16 bytes used)
  uint16_t port = 0;       // source port
};

// One entry of a socket's error queue (MSG_ERRQUEUE, sock_extended_err).
struct IcmpErrorInfo {
  int err = 0;         // ee_errno (ECONNREFUSED for port unreachable)
  uint8_t origin = 0;  // SO_EE_ORIGIN_ICMP, _ICMP6, _LOCAL...
  uint8_t type = 0;    // ICMP type and code, for the ICMP origins
  uint8_t code = 0;
  int family = 0;        // of `dst`
  uint8_t dst[16] = {};  // where the failed datagram was sent
  uint16_t port = 0;
  size_t quoted_len = 0;  // bytes of its payload stored in the caller's buffer
};

class Sys {
 public:
  virtual ~Sys() = default;

  // --- Sockets.
  // socket(2) in `where`, non-blocking and close-on-exec. Value: the fd.
  virtual Result Socket(Netns where, int family, int type, int protocol) = 0;
  // setsockopt(2) of an int option.
  virtual Result SetOpt(int fd, int level, int name, int value) = 0;
  // getsockopt(2) of an int option (SO_ERROR: the pending error, cleared).
  // Value: the option's value.
  virtual Result GetOpt(int fd, int level, int name) = 0;
  // bind(2) to `addr` (nullptr: the wildcard) and `port`.
  virtual Result Bind(int fd, int family, const uint8_t* addr,
                      uint16_t port) = 0;
  // SO_BINDTODEVICE.
  virtual Result BindToDevice(int fd, const std::string& ifname) = 0;
  // connect(2) to `addr` (nullptr: the loopback of `family`) and `port`.
  // Non-blocking: err EINPROGRESS means it goes on (EPOLLOUT, SO_ERROR).
  virtual Result Connect(int fd, int family, const uint8_t* addr,
                         uint16_t port) = 0;
  // listen(2) with SOMAXCONN.
  virtual Result Listen(int fd) = 0;
  // accept4(2), non-blocking and close-on-exec. Value: the new fd. The
  // peer goes to `family`, `addr` (16 bytes), `port` unless they are null.
  virtual Result Accept(int fd, int* family, uint8_t* addr, uint16_t* port) = 0;
  // getsockname(2): the local address goes to `family` and `addr` (16
  // bytes). Fakes that don't say otherwise fail with EOPNOTSUPP.
  virtual Result LocalAddress(int /*fd*/, int* /*family*/, uint8_t* /*addr*/) {
    return Fail(EOPNOTSUPP);
  }
  // shutdown(SHUT_WR).
  virtual Result ShutdownWrite(int fd) = 0;
  // close(2); CloseWithReset first sets SO_LINGER 0 so a TCP peer gets RST.
  virtual Result Close(int fd) = 0;
  virtual Result CloseWithReset(int fd) = 0;

  // --- Data.
  // send(MSG_DONTWAIT | MSG_NOSIGNAL). Value: bytes sent.
  virtual Result Send(int fd, absl::Span<const uint8_t> data) = 0;
  // sendto(2) to `addr`:`port` (an IPv6 link-local destination goes
  // through the interface SystemSys was given). Value: bytes sent.
  virtual Result SendTo(int fd, int family, const uint8_t* addr, uint16_t port,
                        absl::Span<const uint8_t> data) = 0;
  // Sends `data` as datagrams of `segment` bytes (the last may be shorter)
  // in one UDP GSO call. err EIO, EINVAL or ENOPROTOOPT: no GSO here.
  virtual Result SendSegments(int fd, absl::Span<const uint8_t> data,
                              uint16_t segment) = 0;
  // recv(MSG_DONTWAIT) of one message. Value: bytes.
  virtual Result Recv(int fd, absl::Span<uint8_t> buf) = 0;
  // recv(MSG_PEEK) into `iov`, after skipping `skip` bytes from the head
  // of the queue (0 with SO_PEEK_OFF on: the kernel continues at its
  // offset). Value: bytes stored in `iov` (not counting `skip`), 0 at end
  // of stream; err EAGAIN when nothing more is there now.
  virtual Result Peek(int fd, size_t skip, const iovec* iov, int iovcnt) = 0;
  // Removes `n` bytes from the head of a TCP receive queue (MSG_TRUNC),
  // without copying. Value: bytes removed.
  virtual Result Discard(int fd, size_t n) = 0;
  // recvmmsg(2) of up to `n` datagrams (at most kMaxBatch) into `batch`.
  // Value: how many (> 0); err EAGAIN when there are none.
  virtual Result RecvBatch(int fd, Datagram* batch, int n) = 0;
  // sendmmsg(2) of `n` datagrams (at most kMaxBatch), each batch[i].len
  // bytes of batch[i].data, all to `addr` (nullptr: the loopback of
  // `family`) `port`. Value: how many were sent.
  virtual Result SendBatch(int fd, int family, const uint8_t* addr,
                           uint16_t port, const Datagram* batch, int n) = 0;
  // Takes one entry off the error queue (MSG_ERRQUEUE) into `info`, its
  // payload into `quoted`. err EAGAIN when the queue is empty.
  virtual Result RecvError(int fd, absl::Span<uint8_t> quoted,
                           IcmpErrorInfo* info) = 0;

  // --- Pipes (the splice path).
  // pipe2(O_NONBLOCK | O_CLOEXEC): fds[0] reads, fds[1] writes.
  virtual Result Pipe(int fds[2]) = 0;
  // Asks for a pipe of `size` bytes (F_SETPIPE_SZ). Value: the size it
  // has (F_GETPIPE_SZ when the request was refused).
  virtual Result SetPipeSize(int fd, size_t size) = 0;
  // splice(2) of at most `len` bytes from `from` to `to` (one of them a
  // pipe), SPLICE_F_MOVE | SPLICE_F_NONBLOCK. Value: bytes moved, 0 at
  // end of stream.
  virtual Result Splice(int from, int to, size_t len) = 0;

  // --- The loop.
  // Registers `fd` with the run's epoll instance for `events`, with
  // `data` (a packed loop::Ref) as its epoll_data.
  virtual Result Watch(int fd, uint64_t data, uint32_t events) = 0;

  // The most datagrams RecvBatch() and SendBatch() move in one call.
  static constexpr int kMaxBatch = 32;
};

// --freebind: IP_FREEBIND (IPV6_FREEBIND on an IPv6 socket) on `fd`, so
// that bind(2) takes an address the host doesn't have (yet); traffic to it
// arrives once the address is added.
inline Result SetFreebind(Sys& sys, int fd, int family) {
  return family == AF_INET ? sys.SetOpt(fd, IPPROTO_IP, IP_FREEBIND, 1)
                           : sys.SetOpt(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1);
}

// Binds the socket of a forwarded port: --freebind's option first where
// `freebind`, then SO_BINDTODEVICE where `ifname` is not empty, then
// bind(2) to `addr` (the family's bytes; null: the wildcard) and `port`.
// Returns the first failure.
inline Result BindForwarded(Sys& sys, int fd, int family, const uint8_t* addr,
                            uint16_t port, bool freebind,
                            const std::string& ifname) {
  Result r = Ok();
  if (freebind) r = SetFreebind(sys, fd, family);
  if (r.ok() && !ifname.empty()) r = sys.BindToDevice(fd, ifname);
  if (r.ok()) r = sys.Bind(fd, family, addr, port);
  return r;
}

// Whether the socket `fd` is bound to one of `addrs` (its local address,
// as Sys::LocalAddress() reads it): a flow whose host address went away.
// False where the address cannot be read.
inline bool BoundToOneOf(Sys& sys, int fd, absl::Span<const IpAddr> addrs) {
  int family = 0;
  uint8_t addr[16] = {};
  if (!sys.LocalAddress(fd, &family, addr).ok()) return false;
  const size_t len = family == AF_INET ? 4 : 16;
  for (const IpAddr& a : addrs)
    if (a.family == family && std::memcmp(a.bytes.data(), addr, len) == 0)
      return true;
  return false;
}

}  // namespace pasta::sock
