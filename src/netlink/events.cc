#include "netlink/events.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/log.h"
#include "common/status.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace pasta::netlink {

namespace {

// A notification datagram holds one message, a few hundred bytes; the
// kernel never sends one larger than a page (8 KiB on some architectures).
constexpr size_t kRxBufSize = 16 * 1024;

}  // namespace

bool WalkNotifications(absl::Span<const uint8_t> bytes, MessageFn on_message) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data());
  int rem = static_cast<int>(bytes.size());
  // As in ProcessReplies: nlmsg_len is compared unsigned too, since
  // mnl_nlmsg_ok() takes a length of 2 GiB or more as negative.
  while (mnl_nlmsg_ok(nlh, rem) &&
         nlh->nlmsg_len <= static_cast<uint32_t>(rem)) {
    if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) on_message(nlh);
    nlh = mnl_nlmsg_next(nlh, &rem);
  }
  return rem == 0;
}

absl::StatusOr<EventSocket> EventSocket::Open(
    std::initializer_list<unsigned> groups) {
  EventSocket sock;
  sock.fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        NETLINK_ROUTE));
  if (!sock.fd_.valid())
    return ErrnoToStatus(errno, "netlink events: socket(NETLINK_ROUTE)");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(sock.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) <
      0)
    return ErrnoToStatus(errno, "netlink events: bind");
  for (unsigned group : groups) {
    const int g = static_cast<int>(group);
    if (setsockopt(sock.fd_.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g,
                   sizeof(g)) < 0)
      return ErrnoToStatus(errno, "netlink events: joining a group");
  }
  sock.rxbuf_.resize(kRxBufSize);
  return sock;
}

int EventSocket::Drain(MessageFn on_message) {
  for (int i = 0; i < kMaxReads; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n =
        recvfrom(fd_.get(), rxbuf_.data(), rxbuf_.size(), MSG_DONTWAIT,
                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
    }
    if (from.nl_pid != 0) continue;  // only the kernel talks to us
    if (!WalkNotifications(
            absl::MakeConstSpan(rxbuf_.data(), static_cast<size_t>(n)),
            on_message))
      LOG_DEBUG("netlink events: %zd bytes with a malformed message", n);
  }
  return 0;
}

void EventSocket::Discard() {
  // Bounded, so that a flood cannot hold the loop (older notifications
  // left then are applied after the dump, and newer ones correct them).
  for (int i = 0; i < 64 * kMaxReads; ++i) {
    const ssize_t n =
        recv(fd_.get(), rxbuf_.data(), rxbuf_.size(), MSG_DONTWAIT);
    if (n < 0 && errno != EINTR && errno != ENOBUFS) return;
  }
}

}  // namespace pasta::netlink
