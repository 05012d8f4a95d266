// The real `Sys`: each call is the system call it names, with the errno
// read right after it. Made once per run (app/pasta.cc) and shared by every
// handler.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sock/sys.h"

namespace pasta::sock {

class SystemSys : public Sys {
 public:
  // `epoll_fd`: where Watch() registers. `scope_ifindex6`: the interface
  // IPv6 link-local destinations of SendTo() are reached through (the
  // template interface; 0: none). Allocates its batch arrays and the
  // discard area of Peek() here, once.
  explicit SystemSys(int epoll_fd, int scope_ifindex6 = 0);
  ~SystemSys() override;
  SystemSys(const SystemSys&) = delete;
  SystemSys& operator=(const SystemSys&) = delete;

  // Where sockets in the target namespace come from (Socket(kTarget, ...)):
  // `maker(family, type)` returns a non-blocking, close-on-exec socket made
  // there. Without one, such a call fails with ENOSYS.
  using NsSocketMaker = std::function<Result(int family, int type)>;
  void set_namespace_sockets(NsSocketMaker maker) {
    ns_sockets_ = std::move(maker);
  }

  Result Socket(Netns where, int family, int type, int protocol) override;
  Result SetOpt(int fd, int level, int name, int value) override;
  Result GetOpt(int fd, int level, int name) override;
  Result Bind(int fd, int family, const uint8_t* addr, uint16_t port) override;
  Result BindToDevice(int fd, const std::string& ifname) override;
  Result Connect(int fd, int family, const uint8_t* addr,
                 uint16_t port) override;
  Result Listen(int fd) override;
  Result Accept(int fd, int* family, uint8_t* addr, uint16_t* port) override;
  Result LocalAddress(int fd, int* family, uint8_t* addr) override;
  Result ShutdownWrite(int fd) override;
  Result Close(int fd) override;
  Result CloseWithReset(int fd) override;
  Result Send(int fd, absl::Span<const uint8_t> data) override;
  Result SendTo(int fd, int family, const uint8_t* addr, uint16_t port,
                absl::Span<const uint8_t> data) override;
  Result SendSegments(int fd, absl::Span<const uint8_t> data,
                      uint16_t segment) override;
  Result Recv(int fd, absl::Span<uint8_t> buf) override;
  Result Peek(int fd, size_t skip, const iovec* iov, int iovcnt) override;
  Result Discard(int fd, size_t n) override;
  Result RecvBatch(int fd, Datagram* batch, int n) override;
  Result SendBatch(int fd, int family, const uint8_t* addr, uint16_t port,
                   const Datagram* batch, int n) override;
  Result RecvError(int fd, absl::Span<uint8_t> quoted,
                   IcmpErrorInfo* info) override;
  Result Pipe(int fds[2]) override;
  Result SetPipeSize(int fd, size_t size) override;
  Result Splice(int from, int to, size_t len) override;
  Result Watch(int fd, uint64_t data, uint32_t events) override;

 private:
  static constexpr size_t kDiscardSize = 1 << 20;
  static constexpr int kMaxSkipIov = 16;
  int epoll_fd_;
  int scope_ifindex6_;
  NsSocketMaker ns_sockets_;
  std::unique_ptr<uint8_t[]> discard_;  // Peek() without SO_PEEK_OFF
  mmsghdr msgs_[kMaxBatch];
  iovec iov_[kMaxBatch];
  sockaddr_storage names_[kMaxBatch];
};

}  // namespace pasta::sock
