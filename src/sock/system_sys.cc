#include "sock/system_sys.h"

#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/sockaddr.h"

namespace pasta::sock {

namespace {

// The outcome of a call that returned `r` (-1 with errno on failure).
Result Of(ssize_t r) { return r < 0 ? Fail(errno) : Ok(r); }

socklen_t Address(int family, const uint8_t* addr, uint16_t port,
                  sockaddr_storage* ss) {
  return addr != nullptr ? ToSockaddr(family, addr, port, ss)
                         : LoopbackSockaddr(family, port, ss);
}

}  // namespace

SystemSys::SystemSys(int epoll_fd, int scope_ifindex6)
    : epoll_fd_(epoll_fd),
      scope_ifindex6_(scope_ifindex6),
      discard_(new uint8_t[kDiscardSize]) {}

SystemSys::~SystemSys() = default;

Result SystemSys::Socket(Netns where, int family, int type, int protocol) {
  if (where == Netns::kTarget)
    return ns_sockets_ ? ns_sockets_(family, type) : Fail(ENOSYS);
  return Of(socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
}

Result SystemSys::SetOpt(int fd, int level, int name, int value) {
  return Of(setsockopt(fd, level, name, &value, sizeof(value)));
}

Result SystemSys::GetOpt(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, name, &value, &len) != 0) return Fail(errno);
  return Ok(value);
}

Result SystemSys::Bind(int fd, int family, const uint8_t* addr, uint16_t port) {
  return Of(BindTo(fd, family, addr, port));
}

Result SystemSys::BindToDevice(int fd, const std::string& ifname) {
  return Of(pasta::BindToDevice(fd, ifname));
}

Result SystemSys::Connect(int fd, int family, const uint8_t* addr,
                          uint16_t port) {
  sockaddr_storage ss;
  const socklen_t len = Address(family, addr, port, &ss);
  return Of(connect(fd, reinterpret_cast<sockaddr*>(&ss), len));
}

Result SystemSys::Listen(int fd) { return Of(listen(fd, SOMAXCONN)); }

Result SystemSys::Accept(int fd, int* family, uint8_t* addr, uint16_t* port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  const int c = accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) return Fail(errno);
  if (family != nullptr && addr != nullptr && port != nullptr)
    FromSockaddr(ss, family, addr, port);
  return Ok(c);
}

Result SystemSys::LocalAddress(int fd, int* family, uint8_t* addr) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return Fail(errno);
  uint16_t port = 0;
  FromSockaddr(ss, family, addr, &port);
  return Ok();
}

Result SystemSys::ShutdownWrite(int fd) { return Of(shutdown(fd, SHUT_WR)); }

Result SystemSys::Close(int fd) { return Of(close(fd)); }

Result SystemSys::CloseWithReset(int fd) {
  pasta::CloseWithReset(fd);
  return Ok();
}

Result SystemSys::Send(int fd, absl::Span<const uint8_t> data) {
  return Of(send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL));
}

Result SystemSys::SendTo(int fd, int family, const uint8_t* addr, uint16_t port,
                         absl::Span<const uint8_t> data) {
  sockaddr_storage ss;
  const socklen_t len = ToSockaddr(family, addr, port, &ss);
  // fe80::/10 needs an interface: the template's, as upstream.
  if (family == AF_INET6 && addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80) {
    sockaddr_in6 sa;
    std::memcpy(&sa, &ss, sizeof(sa));
    sa.sin6_scope_id = static_cast<uint32_t>(scope_ifindex6_);
    std::memcpy(&ss, &sa, sizeof(sa));
  }
  return Of(sendto(fd, data.data(), data.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&ss), len));
}

Result SystemSys::SendSegments(int fd, absl::Span<const uint8_t> data,
                               uint16_t segment) {
  iovec iov{const_cast<uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(c), &segment, sizeof(segment));
  return Of(sendmsg(fd, &msg, MSG_DONTWAIT));
}

Result SystemSys::Recv(int fd, absl::Span<uint8_t> buf) {
  return Of(recv(fd, buf.data(), buf.size(), MSG_DONTWAIT));
}

Result SystemSys::Peek(int fd, size_t skip, const iovec* iov, int iovcnt) {
  // Without SO_PEEK_OFF, what is in flight is read again into a discard
  // area in front of the frames.
  constexpr int kMaxIov = 64;
  iovec all[kMaxIov + kMaxSkipIov];
  int n = 0;
  for (size_t left = skip; left > 0 && n < kMaxSkipIov; ++n) {
    const size_t len = std::min(left, kDiscardSize);
    all[n] = iovec{discard_.get(), len};
    left -= len;
  }
  for (int i = 0; i < iovcnt && i < kMaxIov; ++i) all[n++] = iov[i];
  msghdr msg{};
  msg.msg_iov = all;
  msg.msg_iovlen = static_cast<size_t>(n);
  const ssize_t r = recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT);
  if (r < 0) return Fail(errno);
  if (skip == 0) return Ok(r);
  if (static_cast<size_t>(r) <= skip) {
    // Nothing beyond what is in flight (or the end of the stream).
    return r == 0 ? Ok(0) : Fail(EAGAIN);
  }
  return Ok(r - static_cast<ssize_t>(skip));
}

Result SystemSys::Discard(int fd, size_t n) {
  // MSG_TRUNC on a TCP socket drops the bytes without copying them.
  return Of(recv(fd, nullptr, n, MSG_TRUNC | MSG_DONTWAIT));
}

Result SystemSys::RecvBatch(int fd, Datagram* batch, int n) {
  n = std::min(n, kMaxBatch);
  for (int i = 0; i < n; ++i) {
    iov_[i].iov_base = batch[i].data;
    iov_[i].iov_len = batch[i].cap;
    msgs_[i].msg_hdr = msghdr{};
    msgs_[i].msg_hdr.msg_name = &names_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof(names_[i]);
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_len = 0;
  }
  const int r =
      recvmmsg(fd, msgs_, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
  if (r < 0) return Fail(errno);
  for (int i = 0; i < r; ++i) {
    Datagram& d = batch[i];
    d.len = msgs_[i].msg_len;
    d.truncated = (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    FromSockaddr(names_[i], &d.family, d.addr, &d.port);
  }
  return Ok(r);
}

Result SystemSys::SendBatch(int fd, int family, const uint8_t* addr,
                            uint16_t port, const Datagram* batch, int n) {
  n = std::min(n, kMaxBatch);
  sockaddr_storage to;
  const socklen_t to_len = Address(family, addr, port, &to);
  for (int i = 0; i < n; ++i) {
    iov_[i].iov_base = batch[i].data;
    iov_[i].iov_len = batch[i].len;
    msgs_[i].msg_hdr = msghdr{};
    msgs_[i].msg_hdr.msg_name = &to;
    msgs_[i].msg_hdr.msg_namelen = to_len;
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_len = 0;
  }
  return Of(sendmmsg(fd, msgs_, static_cast<unsigned>(n), MSG_DONTWAIT));
}

Result SystemSys::RecvError(int fd, absl::Span<uint8_t> quoted,
                            IcmpErrorInfo* info) {
  sockaddr_storage name{};
  iovec iov{quoted.data(), quoted.size()};
  alignas(cmsghdr) uint8_t control[256];
  msghdr msg{};
  msg.msg_name = &name;
  msg.msg_namelen = sizeof(name);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t r = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
  if (r < 0) return Fail(errno);
  *info = IcmpErrorInfo{};
  info->quoted_len = std::min(static_cast<size_t>(r), quoted.size());
  FromSockaddr(name, &info->family, info->dst, &info->port);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    const bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
    const bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    if (c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
    sock_extended_err ee;
    std::memcpy(&ee, CMSG_DATA(c), sizeof(ee));
    info->err = static_cast<int>(ee.ee_errno);
    info->origin = ee.ee_origin;
    info->type = ee.ee_type;
    info->code = ee.ee_code;
    break;
  }
  // No extended error: origin 0 (none), which callers ignore.
  return Ok(r);
}

Result SystemSys::Pipe(int fds[2]) {
  return Of(pipe2(fds, O_NONBLOCK | O_CLOEXEC));
}

Result SystemSys::SetPipeSize(int fd, size_t size) {
  const int r = fcntl(fd, F_SETPIPE_SZ, static_cast<int>(size));
  if (r >= 0) return Ok(r);
  // Past the per-user pipe budget the kernel says EPERM and the pipe keeps
  // the size it has.
  return Of(fcntl(fd, F_GETPIPE_SZ));
}

Result SystemSys::Splice(int from, int to, size_t len) {
  return Of(splice(from, nullptr, to, nullptr, len,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK));
}

Result SystemSys::Watch(int fd, uint64_t data, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return Of(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev));
}

}  // namespace pasta::sock
