#include "udp/relay.h"

#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/status.h"
#include "flow/addr_map.h"
#include "loop/epoll_ref.h"

namespace pasta::udp {

namespace {

bool FromLoopback(const sock::Datagram& d) {
  return (d.family == AF_INET || d.family == AF_INET6) &&
         flow::IsLoopback(d.family, d.addr);
}

}  // namespace

UdpRelay::UdpRelay(sock::Sys* sys, flow::SipKey key, Kinds kinds,
                   flow::FlowTable* table)
    : sys_(sys),
      kinds_(kinds),
      table_(table, key, kMaxFlows),
      index_(table_.get(), kinds.table),
      flows_(table_.get(), kinds.table, kMaxFlows),
      bufs_(new uint8_t[kBatch * kMaxDatagram]) {
  ResetBatch();
  flows_.SetReaper<&UdpRelay::Free>(this);
}

UdpRelay::~UdpRelay() {
  flows_.ClearReaper();
  for (const uint32_t slot : flows_.in_use()) sys_->Close(flows_[slot].fd);
  for (const Listener& l : listeners_)
    if (l.fd >= 0) sys_->Close(l.fd);
}

void UdpRelay::ResetBatch() {
  for (int i = 0; i < kBatch; ++i) {
    batch_[i] = sock::Datagram{};
    batch_[i].data = bufs_.get() + static_cast<size_t>(i) * kMaxDatagram;
    batch_[i].cap = kMaxDatagram;
  }
}

absl::Status UdpRelay::AddListener(int fd, int family, uint16_t port,
                                   uint16_t target, uint32_t* index_out) {
  const uint32_t index =
      flow::TakeListenerEntry(listeners_, &lowest_free_listener_);
  if (const sock::Result r =
          sys_->Watch(fd, loop::Ref{kinds_.listen, index, fd}.Pack(), EPOLLIN);
      !r.ok()) {
    sys_->Close(fd);
    lowest_free_listener_ = index;  // the entry stays free
    return ErrnoToStatus(r.err, "epoll_ctl");
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
  sys_->Close(l.fd);
  flow::FreeListenerEntry(listeners_, index, &lowest_free_listener_,
                          "udp relay");
}

void UdpRelay::RetargetListener(uint32_t index, uint16_t target) {
  flow::RetargetListener(listeners_[index], target, nullptr, "udp relay");
}

void UdpRelay::OnReadable(uint32_t slot, Instant now) {
  // Not if closed earlier in this batch.
  if (flows_.Live(slot)) ReadFlow(slot, now);
}

void UdpRelay::OnListenerReadable(uint32_t index, Instant now) {
  if (flow::OpenListener(listeners_, index) != nullptr) ReadListener(index, now);
}

void UdpRelay::ReadListener(uint32_t index, Instant now) {
  const Listener& l = listeners_[index];
  ResetBatch();
  const sock::Result n = sys_->RecvBatch(l.fd, batch_, kBatch);
  for (ssize_t i = 0; i < n.value; ++i) {
    const sock::Datagram& d = batch_[i];
    // Only the listener's own loopback is served: the socket is bound
    // there, so anything else would be a misrouted packet.
    if (!FromLoopback(d)) continue;
    Forward(l.fd, l.family, d.port, l.target,
            absl::MakeConstSpan(d.data, d.len), now);
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
  f.hdr.last = now;
  next_deadline_ = Earlier(next_deadline_, now + kIdleTimeout);
  if (const sock::Result r = sys_->Send(f.fd, payload); !r.ok()) {
    ++counters_.dropped;
    LOG_TRACE("udp relay: send: %s", strerror(r.err));
    return false;
  }
  ++counters_.forwarded;
  return true;
}

void UdpRelay::ForgetListener(int listener_fd) {
  // Backwards, as a release would move the last slot in use into the closed
  // one's place (Close() defers, so none moves now).
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
  const sock::Result s =
      sys_->Socket(kinds_.other_side, family, SOCK_DGRAM, IPPROTO_UDP);
  if (!s.ok()) {
    ++counters_.dropped;
    LOG_DEBUG("udp relay: socket: %s", strerror(s.err));
    return -1;
  }
  const int fd = s.fd();
  if (const sock::Result r = sys_->Connect(fd, family, nullptr, key.target);
      !r.ok()) {
    ++counters_.dropped;
    LOG_DEBUG("udp relay: connect to loopback port %u: %s", key.target,
              strerror(r.err));
    sys_->Close(fd);
    return -1;
  }
  const uint32_t slot = flows_.Take();
  if (const sock::Result r =
          sys_->Watch(fd, loop::Ref{kinds_.flow, slot, fd}.Pack(), EPOLLIN);
      !r.ok()) {
    ++counters_.dropped;
    sys_->Close(fd);
    flows_.Release(slot);
    return -1;
  }
  Flow& f = flows_[slot];
  f.key = key;
  f.fd = fd;
  f.hdr.last = now;
  // The client is on the side whose loopback the listener is on: the
  // namespace's where the flows' sockets are the host's (-U), else the
  // host's (-u from the host's loopback).
  const bool client_in_ns = kinds_.other_side == sock::Netns::kHost;
  uint8_t lo[16] = {};
  flow::StoreLoopback(family, lo);
  flow::SetSide(f.hdr, client_in_ns ? flow::kNsSide : flow::kHostSide, family,
                lo, key.port, lo, 0);
  flow::SetSide(f.hdr, client_in_ns ? flow::kHostSide : flow::kNsSide, family,
                lo, key.target, nullptr, 0);
  index_.Insert(key, slot);
  LOG_TRACE("udp relay: new flow from loopback port %u to port %u", key.port,
            key.target);
  return slot;
}

void UdpRelay::ReadFlow(uint32_t slot, Instant now) {
  Flow& f = flows_[slot];
  ResetBatch();
  const sock::Result r = sys_->RecvBatch(f.fd, batch_, kBatch);
  // EAGAIN, or an error such as ECONNREFUSED.
  if (!r.ok() || r.value <= 0) return;
  const int n = static_cast<int>(r.value);
  f.hdr.last = now;
  // Every reply goes to the client's loopback port, through the listener.
  const sock::Result s = sys_->SendBatch(f.key.listener_fd, f.hdr.family,
                                         nullptr, f.key.port, batch_, n);
  const int sent = static_cast<int>(s.value);
  if (sent > 0) counters_.replies += static_cast<uint64_t>(sent);
  if (sent < n) counters_.dropped += static_cast<uint64_t>(n - std::max(sent, 0));
}

void UdpRelay::Expire(Instant now) {
  next_deadline_ = flow::ExpireIdle(flows_, now, kIdleTimeout,
                                    [this](uint32_t slot) { Close(slot); });
}

void UdpRelay::Close(uint32_t slot) {
  if (!flows_.Defer(slot)) return;
  index_.Erase(flows_[slot].key);
}

void UdpRelay::Free(uint32_t slot) { sys_->Close(flows_[slot].fd); }

}  // namespace pasta::udp
