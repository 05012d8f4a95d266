#include "app/listeners.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_format.h"
#include "common/sockaddr.h"
#include "common/status.h"
#include "ns/namespace.h"

namespace pasta::app {
namespace {

// Opens a socket of `type` (SOCK_STREAM: listening) bound to the calling
// thread's loopback (127.0.0.1 or ::1) `port`, non-blocking, into `*fd`.
absl::Status BindLoopback(int family, int type, uint16_t port, int* fd) {
  *fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (*fd < 0) return ErrnoToStatus(errno, "socket");
  const int one = 1;
  setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (family == AF_INET6)
    setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  sockaddr_storage ss;
  const socklen_t len = LoopbackSockaddr(family, port, &ss);
  if (bind(*fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      (type == SOCK_STREAM && listen(*fd, SOMAXCONN) != 0)) {
    const int err = errno;
    close(*fd);
    *fd = -1;
    return ErrnoToStatus(
        err, absl::StrFormat("binding the namespace's loopback %s port %u",
                             type == SOCK_STREAM ? "TCP" : "UDP", port));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AddNamespaceListener(Run& run, int family, uint16_t ns_port,
                                  uint16_t host_port, uint32_t* index) {
  int fd = -1;
  RETURN_IF_ERROR(ns::RunInNamespace(run.target.fds(), [&] {
    return BindLoopback(family, SOCK_STREAM, ns_port, &fd);
  }));
  return run.splice->AddNamespaceListener(fd, family, ns_port, host_port,
                                          index);
}

absl::Status AddRelayListener(Run& run, int family, uint16_t ns_port,
                              uint16_t host_port, uint32_t* index) {
  int fd = -1;
  RETURN_IF_ERROR(ns::RunInNamespace(run.target.fds(), [&] {
    return BindLoopback(family, SOCK_DGRAM, ns_port, &fd);
  }));
  return run.udp_relay->AddListener(fd, family, ns_port, host_port, index);
}

}  // namespace pasta::app
