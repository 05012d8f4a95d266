#include "udp/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/sockaddr.h"
#include "common/status.h"
#include "loop/epoll_ref.h"

namespace pasta::udp {

namespace {

uint16_t PortOf(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    sockaddr_in sa;
    std::memcpy(&sa, &ss, sizeof(sa));
    return ntohs(sa.sin_port);
  }
  sockaddr_in6 sa;
  std::memcpy(&sa, &ss, sizeof(sa));
  return ntohs(sa.sin6_port);
}

bool FromLoopback(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    sockaddr_in sa;
    std::memcpy(&sa, &ss, sizeof(sa));
    return (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
  }
  if (ss.ss_family != AF_INET6) return false;
  sockaddr_in6 sa;
  std::memcpy(&sa, &ss, sizeof(sa));
  return IN6_IS_ADDR_LOOPBACK(&sa.sin6_addr);
}

}  // namespace

UdpRelay::UdpRelay(int epoll_fd, flow::SipKey key,
                   std::function<int(int)> other_side_socket, Kinds kinds,
                   flow::FlowTable* table)
    : epoll_fd_(epoll_fd),
      other_side_socket_(std::move(other_side_socket)),
      kinds_(kinds),
      table_(table, key, kMaxFlows),
      index_(table_.get(), kinds.table),
      flows_(table_.get(), kinds.table, kMaxFlows),
      bufs_(new uint8_t[kBatch * kMaxDatagram]) {
  for (int i = 0; i < kBatch; ++i) {
    iovs_[i] = iovec{bufs_.get() + static_cast<size_t>(i) * kMaxDatagram,
                     kMaxDatagram};
  }
}

UdpRelay::~UdpRelay() {
  for (const uint32_t slot : flows_.in_use()) close(flows_[slot].fd);
  for (const Listener& l : listeners_)
    if (l.fd >= 0) close(l.fd);
}

absl::Status UdpRelay::AddListener(int fd, int family, uint16_t port,
                                   uint16_t target, uint32_t* index_out) {
  const uint32_t index =
      flow::TakeListenerEntry(listeners_, &lowest_free_listener_);
  if (const int err = loop::EpollAdd(
          epoll_fd_, loop::Ref{kinds_.listen, index, fd}, EPOLLIN);
      err != 0) {
    close(fd);
    lowest_free_listener_ = index;  // the entry stays free
    return ErrnoToStatus(err, "epoll_ctl");
  }
  listeners_[index] = Listener{fd, family, port, target};
  if (index_out != nullptr) *index_out = index;
  LOG_DEBUG("udp relay: forwarding loopback port %u to the other side's "
            "loopback port %u (%s)",
            port, target, family == AF_INET ? "IPv4" : "IPv6");
  return absl::OkStatus();
}

void UdpRelay::RemoveListeners(uint16_t port) {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i].fd >= 0 && listeners_[i].port == port) {
      CloseListener(static_cast<uint32_t>(i));
    }
  }
}

void UdpRelay::CloseListener(uint32_t index) {
  Listener& l = listeners_[index];
  ForgetListener(l.fd);
  close(l.fd);
  l.fd = -1;
  lowest_free_listener_ = std::min<size_t>(lowest_free_listener_, index);
  LOG_DEBUG("udp relay: no longer forwarding loopback port %u", l.port);
}

void UdpRelay::RetargetListener(uint32_t index, uint16_t target) {
  listeners_[index].target = target;
  LOG_DEBUG("udp relay: loopback port %u now goes to port %u",
            listeners_[index].port, target);
}

void UdpRelay::OnReadable(uint32_t slot, Instant now) {
  if (flows_.InUse(slot)) ReadFlow(slot, now);
}

void UdpRelay::OnListenerReadable(uint32_t index, Instant now) {
  if (flow::OpenListener(listeners_, index) != nullptr) ReadListener(index, now);
}

void UdpRelay::ReadListener(uint32_t index, Instant now) {
  const Listener& l = listeners_[index];
  for (int i = 0; i < kBatch; ++i) {
    msgs_[i] = mmsghdr{};
    iovs_[i].iov_len = kMaxDatagram;
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_name = &addrs_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof(addrs_[i]);
  }
  const int n = recvmmsg(l.fd, msgs_, kBatch, MSG_DONTWAIT, nullptr);
  for (int i = 0; i < n; ++i) {
    // Only the listener's own loopback is served: the socket is bound
    // there, so anything else would be a misrouted packet.
    if (!FromLoopback(addrs_[i])) continue;
    Forward(l.fd, l.family, PortOf(addrs_[i]), l.target,
            absl::MakeConstSpan(static_cast<const uint8_t*>(iovs_[i].iov_base),
                                msgs_[i].msg_len),
            now);
  }
}

bool UdpRelay::Forward(int listener_fd, int family, uint16_t client_port,
                       uint16_t target, absl::Span<const uint8_t> payload,
                       Instant now) {
  const Key key{listener_fd, client_port, target};
  int64_t slot = index_.Find(key);
  if (slot < 0) slot = OpenFlow(key, family, now);
  if (slot < 0) return false;
  Flow& f = flows_[slot];
  f.last = now;
  next_deadline_ = Earlier(next_deadline_, now + kIdleTimeout);
  if (send(f.fd, payload.data(), payload.size(), MSG_DONTWAIT) < 0) {
    ++counters_.dropped;
    LOG_TRACE("udp relay: send: %s", strerror(errno));
    return false;
  }
  ++counters_.forwarded;
  return true;
}

void UdpRelay::ForgetListener(int listener_fd) {
  // Backwards: Close() moves the last slot in use into the closed one's place.
  for (size_t k = flows_.size(); k-- > 0;) {
    const uint32_t slot = flows_.in_use()[k];
    if (flows_[slot].key.listener_fd == listener_fd) Close(slot);
  }
}

int64_t UdpRelay::OpenFlow(const Key& key, int family, Instant now) {
  if (flows_.full()) {
    ++counters_.dropped;
    LOG_TRACE("udp relay: flow table full, datagram dropped");
    return -1;
  }
  const int fd = other_side_socket_(family);
  if (fd < 0) {
    ++counters_.dropped;
    LOG_DEBUG("udp relay: socket: %s", strerror(errno));
    return -1;
  }
  sockaddr_storage ss;
  const socklen_t len = LoopbackSockaddr(family, key.target, &ss);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ++counters_.dropped;
    LOG_DEBUG("udp relay: connect to loopback port %u: %s", key.target,
              strerror(errno));
    close(fd);
    return -1;
  }
  const uint32_t slot = flows_.Take();
  if (const int err =
          loop::EpollAdd(epoll_fd_, loop::Ref{kinds_.flow, slot, fd}, EPOLLIN);
      err != 0) {
    ++counters_.dropped;
    close(fd);
    flows_.Release(slot);
    return -1;
  }
  flows_[slot] = Flow{key, family, fd, now};
  index_.Insert(key, slot);
  LOG_TRACE("udp relay: new flow from loopback port %u to port %u", key.port,
            key.target);
  return slot;
}

void UdpRelay::ReadFlow(uint32_t slot, Instant now) {
  Flow& f = flows_[slot];
  for (int i = 0; i < kBatch; ++i) {
    msgs_[i] = mmsghdr{};
    iovs_[i].iov_len = kMaxDatagram;
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = recvmmsg(f.fd, msgs_, kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return;  // EAGAIN, or an error such as ECONNREFUSED
  f.last = now;
  // Every reply goes to the client's loopback port, through the listener.
  sockaddr_storage to;
  const socklen_t to_len = LoopbackSockaddr(f.family, f.key.port, &to);
  for (int i = 0; i < n; ++i) {
    iovs_[i].iov_len = msgs_[i].msg_len;
    msgs_[i].msg_hdr.msg_name = &to;
    msgs_[i].msg_hdr.msg_namelen = to_len;
  }
  const int sent = sendmmsg(f.key.listener_fd, msgs_, static_cast<unsigned>(n),
                            MSG_DONTWAIT);
  if (sent > 0) counters_.replies += static_cast<uint64_t>(sent);
  if (sent < n) counters_.dropped += static_cast<uint64_t>(n - std::max(sent, 0));
}

void UdpRelay::Expire(Instant now) {
  next_deadline_ = flow::ExpireIdle(flows_, now, kIdleTimeout,
                                    [this](uint32_t slot) { Close(slot); });
}

void UdpRelay::Close(uint32_t slot) {
  Flow& f = flows_[slot];
  close(f.fd);
  index_.Erase(f.key);
  flows_.Release(slot);
}

}  // namespace pasta::udp
