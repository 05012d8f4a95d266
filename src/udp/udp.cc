#include "udp/udp.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "common/log.h"
#include "common/sockaddr.h"
#include "common/status.h"
#include "loop/epoll_ref.h"
#include "wire/build.h"

namespace pasta::udp {

static_assert(kBatch <= sock::Sys::kMaxBatch, "one RecvBatch() per wakeup");

namespace {

constexpr size_t kUdpHeader = wire::UdpView::kHeader;
constexpr size_t kIcmpHeader = 8;  // type, code, checksum, unused
// ICMP error size limits: RFC 1812 4.3.2.3 (at most 576 bytes of IPv4
// datagram) and RFC 4443 2.4 (c) (at most the IPv6 minimum MTU, 1280).
constexpr size_t kMaxIcmpPacket4 = 576;
constexpr size_t kMaxIcmpPacket6 = 1280;
constexpr size_t kErrBufSize = wire::kEthHeaderLen + kMaxIcmpPacket6;
// ICMP types and codes we relay.
constexpr uint8_t kIcmpDestUnreach = 3;  // RFC 792
constexpr uint8_t kIcmpFragNeeded = 4;   // its code: path MTU, not relayed
constexpr uint8_t kIcmpMaxCode = 15;
constexpr uint8_t kIcmp6DestUnreach = 1;  // RFC 4443 3.1
constexpr uint8_t kIcmp6MaxCode = 7;

const MacAddr kBroadcastMac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

using flow::AddrLen;
using flow::IsLoopback;
size_t IpHeader(int family) {
  return family == AF_INET ? wire::kIpv4Header : wire::kIpv6Header;
}
size_t L4Offset(int family) {
  return family == AF_INET ? wire::kL4Offset4 : wire::kL4Offset6;
}

std::string Format(int family, const uint8_t* addr, uint16_t port) {
  return FormatEndpoint(family, addr, port);
}

}  // namespace

UdpFlows::UdpFlows(UdpConfig cfg, sock::Sys* sys, wire::FrameSink* sink,
                   flow::SipKey key, flow::FlowTable* table)
    : cfg_(std::move(cfg)),
      sys_(sys),
      sink_(sink),
      table_(table, key, kMaxFlows),
      index_(table_.get(), flow::FlowKind::kUdp),
      flows_(table_.get(), flow::FlowKind::kUdp, kMaxFlows),
      err_buf_(new uint8_t[kErrBufSize]) {
  if (cfg_.mtu <= 0) cfg_.mtu = 65520;
  cfg_.mtu = std::clamp(cfg_.mtu, 68, 65535);
  frame_size_ = wire::kEthHeaderLen + static_cast<size_t>(cfg_.mtu);
  frames_.reset(new uint8_t[kBatch * frame_size_]);
  if (cfg_.coalesce) run_buf_.reset(new uint8_t[kMaxRunBytes]);
  flows_.SetReaper<&UdpFlows::Free>(this);
}

UdpFlows::~UdpFlows() {
  flows_.ClearReaper();
  for (const uint32_t s : flows_.in_use()) {
    if (flows_[s].listener < 0) sys_->Close(flows_[s].fd);
  }
  for (const Listener& l : listeners_)
    if (l.fd >= 0) sys_->Close(l.fd);
}

sock::Result UdpFlows::Open(int family) {
  const sock::Result s =
      sys_->Socket(sock::Netns::kHost, family, SOCK_DGRAM, IPPROTO_UDP);
  if (!s.ok()) return s;
  sock::Result r;
  if (family == AF_INET) {
    r = sys_->SetOpt(s.fd(), SOL_IP, IP_RECVERR, 1);
  } else {
    // IPv4 goes through sockets of its own; a v6 wildcard listener must
    // not take it.
    r = sys_->SetOpt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (r.ok()) r = sys_->SetOpt(s.fd(), IPPROTO_IPV6, IPV6_RECVERR, 1);
  }
  if (!r.ok()) LOG_DEBUG("udp: setsockopt: %s", strerror(r.err));
  return s;
}

void UdpFlows::Watch(int fd, uint32_t index, bool listener) {
  const loop::Kind kind = listener ? loop::Kind::kUdpListen : loop::Kind::kUdp;
  const sock::Result r =
      sys_->Watch(fd, loop::Ref{kind, index, fd}.Pack(), EPOLLIN);
  if (!r.ok()) LOG_WARN("udp: epoll_ctl: %s", strerror(r.err));
}

size_t UdpFlows::MaxPayload(int family) const {
  const size_t overhead = IpHeader(family) + kUdpHeader;
  const size_t mtu = static_cast<size_t>(cfg_.mtu);
  return mtu > overhead ? std::min(mtu - overhead, kMaxDatagram) : 0;
}

MacAddr UdpFlows::MacFor(const Flow& f) const {
  if (!f.ns_mac.IsZero()) return f.ns_mac;
  if (!ns_mac_.IsZero()) return ns_mac_;
  return kBroadcastMac;
}

void UdpFlows::ShownRemote(int family, const uint8_t* real,
                           uint8_t* shown) const {
  flow::ShownPeer(cfg_.map, family, real, shown);
}

bool UdpFlows::FromNamespace(int family, const uint8_t* src, const uint8_t* dst,
                             const wire::UdpView& udp, const MacAddr& ns_mac,
                             Instant now) {
  if (family != AF_INET && family != AF_INET6) return false;
  if (!Enabled(family)) return false;
  if (udp.dst_port() == 0) {
    ++counters_.dropped_invalid;
    LOG_TRACE("udp: %s -> %s: destination port 0, dropped",
              Format(family, src, udp.src_port()), Format(family, dst, 0));
    return true;
  }
  Key key{};
  key.family = static_cast<uint8_t>(family);
  key.ns_port = udp.src_port();
  key.remote_port = udp.dst_port();
  std::memcpy(key.ns_addr, src, AddrLen(family));
  std::memcpy(key.remote, dst, AddrLen(family));
  int64_t slot = index_.Find(key);
  if (slot < 0) {
    slot = OpenOutbound(key, now);
    if (slot < 0) return true;
  }
  Flow& f = flows_[slot];
  f.ns_mac = ns_mac;
  f.hdr.last = now;
  const absl::Span<const uint8_t> payload = udp.payload();
  f.last_len = static_cast<uint16_t>(payload.size());
  if (cfg_.coalesce && f.listener < 0 && !payload.empty() && gso_ok_) {
    Coalesce(slot, payload);
  } else {
    Flush();  // keep the order of what was already queued
    SendNow(slot, payload);
  }
  return true;
}

void UdpFlows::SendNow(int64_t slot, absl::Span<const uint8_t> payload) {
  const Flow& f = flows_[slot];
  const Key& key = f.key;
  const int family = key.family;
  sock::Result n;
  if (f.listener >= 0) {
    n = sys_->SendTo(f.fd, family, f.hdr.side[flow::kHostSide].peer,
                     key.remote_port, payload);
  } else {
    n = sys_->Send(f.fd, payload);
    // A refusal left pending by an earlier datagram fails this send without
    // sending it (the ICMP error itself is relayed from the error queue):
    // try once more.
    if (n.err == ECONNREFUSED) n = sys_->Send(f.fd, payload);
  }
  if (n.ok()) {
    ++counters_.sent;
    return;
  }
  const int err = n.err;
  if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
    ++counters_.dropped_busy;
  } else {
    ++counters_.dropped_socket;
  }
  LOG_TRACE("udp: %s -> %s: send: %s, dropped",
            Format(family, key.ns_addr, key.ns_port),
            Format(family, key.remote, key.remote_port), strerror(err));
}

void UdpFlows::Coalesce(int64_t slot, absl::Span<const uint8_t> payload) {
  const size_t len = payload.size();
  const bool fits = run_.slot == slot && len <= run_.segment &&
                    run_.count < kMaxRunSegments &&
                    run_.len + len <= kMaxRunBytes;
  if (!fits) {
    Flush();
    if (len > kMaxRunBytes) return SendNow(slot, payload);
    run_.slot = slot;
    run_.segment = static_cast<uint16_t>(len);
  }
  std::memcpy(run_buf_.get() + run_.len, payload.data(), len);
  run_.len += len;
  ++run_.count;
  // A shorter datagram can only be the last of a GSO send.
  if (len < run_.segment) Flush();
}

void UdpFlows::Flush() {
  if (run_.count == 0) return;
  const Run run = run_;
  run_ = Run{};
  const auto data = absl::MakeConstSpan(run_buf_.get(), run.len);
  if (run.count == 1) return SendNow(run.slot, data);
  const Flow& f = flows_[run.slot];
  sock::Result n = sys_->SendSegments(f.fd, data, run.segment);
  if (n.err == ECONNREFUSED) n = sys_->SendSegments(f.fd, data, run.segment);
  if (n.ok()) {
    counters_.sent += run.count;
    ++counters_.gso_sends;
    return;
  }
  const int err = n.err;
  if (err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP) {
    // No GSO here (old kernel, or an egress device without checksum
    // offload): send these one by one, and everything from now on.
    LOG_DEBUG("udp: GSO send refused (%s), sending datagrams one by one",
              strerror(err));
    gso_ok_ = false;
    for (size_t off = 0; off < run.len; off += run.segment)
      SendNow(run.slot,
              data.subspan(off, std::min<size_t>(run.segment, run.len - off)));
    return;
  }
  if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
    counters_.dropped_busy += run.count;
  } else {
    counters_.dropped_socket += run.count;
  }
  LOG_TRACE("udp: GSO send of %u datagrams: %s, dropped", run.count,
            strerror(err));
}

int64_t UdpFlows::OpenOutbound(const Key& key, Instant now) {
  const int family = key.family;
  const uint8_t* dst = key.remote;
  if (!flow::AllowedDestination(cfg_.map, family, dst)) {
    ++counters_.dropped_invalid;
    LOG_TRACE("udp: %s -> %s: not a unicast destination, dropped",
              Format(family, key.ns_addr, key.ns_port),
              Format(family, dst, key.remote_port));
    return -1;
  }
  if (flows_.full()) {
    ++counters_.dropped_table_full;
    LOG_TRACE("udp: flow table full, %s -> %s dropped",
              Format(family, key.ns_addr, key.ns_port),
              Format(family, dst, key.remote_port));
    return -1;
  }
  // Where the socket really goes (DNS forwarding, the host's loopback,
  // --map-guest-addr).
  uint8_t target[16];
  const uint16_t target_port = key.remote_port;
  flow::MapDestination(cfg_.map, family, dst, key.remote_port, target);
  const sock::Result s = Open(family);
  if (!s.ok()) {
    ++counters_.dropped_socket;
    LOG_TRACE("udp: socket: %s", strerror(s.err));
    return -1;
  }
  const int fd = s.fd();
  // Keep the namespace's source port if the host lets us (the remote then
  // sees the same port); otherwise any port.
  const flow::Outbound::Binding out = cfg_.out.For(family, target);
  const uint8_t* bind_addr = out.addr;
  if (out.device) {
    if (const sock::Result r = sys_->BindToDevice(fd, *out.device); !r.ok())
      LOG_DEBUG("udp: bind to device %s: %s", *out.device, strerror(r.err));
  }
  if (sock::Result r = sys_->Bind(fd, family, bind_addr, key.ns_port);
      !r.ok()) {
    if (r.err == EADDRINUSE || r.err == EACCES)
      r = sys_->Bind(fd, family, bind_addr, 0);
    if (!r.ok()) {
      ++counters_.dropped_socket;
      LOG_TRACE("udp: bind: %s", strerror(r.err));
      sys_->Close(fd);
      return -1;
    }
  }
  if (const sock::Result r = sys_->Connect(fd, family, target, target_port);
      !r.ok()) {
    ++counters_.dropped_socket;
    LOG_TRACE("udp: %s -> %s: connect: %s",
              Format(family, key.ns_addr, key.ns_port),
              Format(family, target, target_port), strerror(r.err));
    sys_->Close(fd);
    return -1;
  }
  const int64_t slot = NewSlot(key, fd, -1, target, target_port, 0, now);
  Watch(fd, static_cast<uint32_t>(slot), false);
  LOG_DEBUG("udp: new flow %s -> %s via %s",
            Format(family, key.ns_addr, key.ns_port),
            Format(family, dst, key.remote_port),
            Format(family, target, target_port));
  return slot;
}

int64_t UdpFlows::NewSlot(const Key& key, int fd, int32_t listener,
                          const uint8_t* host_peer, uint16_t host_port,
                          uint16_t our_port, Instant now) {
  const uint32_t slot = flows_.Take();
  Flow& f = flows_[slot];
  flow::SetSide(f.hdr, flow::kNsSide, key.family, key.ns_addr, key.ns_port,
                key.remote, key.remote_port);
  flow::SetSide(f.hdr, flow::kHostSide, key.family, host_peer, host_port,
                nullptr, our_port);
  f.key = key;
  f.fd = fd;
  f.listener = listener;
  f.hdr.last = now;
  next_deadline_ = Earlier(next_deadline_, now + kIdleTimeout);
  index_.Insert(key, slot);
  ++counters_.flows_opened;
  return slot;
}

absl::Status UdpFlows::AddListener(int family, const IpAddr* bind_addr,
                                   uint16_t host_port, uint16_t ns_port,
                                   const IpAddr* to_addr,
                                   const std::string& ifname,
                                   uint32_t* index_out) {
  if (absl::Status st =
          flow::CheckNewListener("UDP", family, bind_addr, to_addr,
                                 listeners_.size(), kMaxListeners);
      !st.ok())
    return st;
  const sock::Result s = Open(family);
  if (!s.ok()) return ErrnoToStatus(s.err, "UDP socket");
  const int fd = s.fd();
  sock::Result r = sock::BindForwarded(
      *sys_, fd, family, bind_addr ? bind_addr->bytes.data() : nullptr,
      host_port, cfg_.freebind, ifname);
  if (!r.ok()) {
    const int err = r.err;
    sys_->Close(fd);
    return ErrnoToStatus(
        err, absl::StrFormat("bind UDP%s port %u%s%s",
                             family == AF_INET ? "" : "v6", host_port,
                             ifname.empty() ? "" : " on ", ifname));
  }
  flow::AddListenerEntry(
      listeners_, &lowest_free_listener_,
      Listener{fd, family, host_port, ns_port, to_addr ? *to_addr : IpAddr{}},
      [this](int lfd, uint32_t index) { Watch(lfd, index, true); }, index_out,
      "udp");
  return absl::OkStatus();
}

void UdpFlows::RemoveListeners(uint16_t host_port) {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i].fd >= 0 && listeners_[i].port == host_port) {
      CloseListener(static_cast<uint32_t>(i));
    }
  }
}

void UdpFlows::CloseListener(uint32_t index) {
  Listener& l = listeners_[index];
  // Inbound flows answer through the listener's socket: they go first.
  // Backwards, as a release would move the last slot in use into the closed
  // one's place (Close() defers, so none moves now).
  for (size_t k = flows_.size(); k-- > 0;) {
    const uint32_t slot = flows_.in_use()[k];
    if (flows_[slot].listener == static_cast<int32_t>(index)) Close(slot);
  }
  if (relay_ != nullptr) relay_->ForgetListener(l.fd);
  sys_->Close(l.fd);
  flow::FreeListenerEntry(listeners_, index, &lowest_free_listener_, "udp");
}

void UdpFlows::RetargetListener(uint32_t index, uint16_t ns_port,
                                const IpAddr* to_addr) {
  flow::RetargetListener(listeners_[index], ns_port, to_addr, "udp");
}

void UdpFlows::OnReadable(uint32_t slot, Instant now) {
  // Not if closed earlier in this batch.
  if (flows_.Live(slot)) ReadFlow(slot, now);
}

void UdpFlows::OnListenerReadable(uint32_t index, Instant now) {
  if (flow::OpenListener(listeners_, index) != nullptr) ReadListener(index, now);
}

int UdpFlows::Receive(int fd, int family) {
  const size_t off = L4Offset(family) + kUdpHeader;
  const size_t cap = MaxPayload(family);
  for (int i = 0; i < kBatch; ++i) {
    batch_[i].data = frames_.get() + static_cast<size_t>(i) * frame_size_ + off;
    batch_[i].cap = cap;
    batch_[i].len = 0;
    batch_[i].truncated = false;
  }
  const sock::Result r = sys_->RecvBatch(fd, batch_, kBatch);
  return r.ok() ? r.fd() : -1;
}

bool UdpFlows::TooBig(const Datagram& d, int family) {
  if (!d.truncated && d.len <= MaxPayload(family)) return false;
  ++counters_.dropped_too_big;
  LOG_TRACE("udp: datagram larger than the tap MTU (%d) allows, dropped",
            cfg_.mtu);
  return true;
}

void UdpFlows::ReadFlow(uint32_t slot, Instant now) {
  Flow& f = flows_[slot];
  const int family = f.key.family;
  const int n = Receive(f.fd, family);
  if (n <= 0) {
    // Nothing to read, or a pending error: this wakeup was (also) for the
    // error queue.
    DrainErrors(f.fd, family, slot, -1);
    return;
  }
  f.hdr.last = now;
  const MacAddr mac = MacFor(f);
  for (int i = 0; i < n; ++i) {
    if (TooBig(batch_[i], family)) continue;
    Deliver(static_cast<size_t>(i), f.key, mac, batch_[i].len);
  }
}

void UdpFlows::ReadListener(uint32_t index, Instant now) {
  const Listener& l = listeners_[index];
  const int family = l.family;
  const int n = Receive(l.fd, family);
  if (n <= 0) {
    DrainErrors(l.fd, family, -1, static_cast<int32_t>(index));
    return;
  }
  // A target address is reached over the tap only (the relay sends to the
  // namespace's loopback).
  const bool to_addr = l.to_addr.family != AF_UNSPEC;
  const IpAddr& ns = to_addr             ? l.to_addr
                     : family == AF_INET ? cfg_.ns_addr4
                                         : cfg_.ns_addr6;
  for (int i = 0; i < n; ++i) {
    const Datagram& d = batch_[i];
    if (TooBig(d, family)) continue;
    if (d.family != family) {
      ++counters_.dropped_invalid;
      continue;
    }
    if (relay_ != nullptr && !to_addr && IsLoopback(family, d.addr)) {
      relay_->Forward(l.fd, family, d.port, l.target,
                      absl::MakeConstSpan(d.data, d.len), now);
      continue;
    }
    // After the relay: --splice-only gives no namespace address.
    if (ns.family != family) {
      ++counters_.dropped_no_ns_addr;
      continue;
    }
    Key key{};
    key.family = static_cast<uint8_t>(family);
    key.ns_port = l.target;
    key.remote_port = d.port;
    std::memcpy(key.ns_addr, ns.bytes.data(), AddrLen(family));
    ShownRemote(family, d.addr, key.remote);
    int64_t slot = index_.Find(key);
    if (slot < 0) {
      if (flows_.full()) {
        ++counters_.dropped_table_full;
        LOG_TRACE("udp: flow table full, datagram from %s dropped",
                  Format(family, d.addr, d.port));
        continue;
      }
      slot = NewSlot(key, l.fd, static_cast<int32_t>(index), d.addr, d.port,
                     l.port, now);
      LOG_DEBUG("udp: new inbound flow %s -> host port %u -> %s",
                Format(family, d.addr, d.port), l.port,
                Format(family, key.ns_addr, key.ns_port));
    }
    Flow& f = flows_[slot];
    f.hdr.last = now;
    Deliver(static_cast<size_t>(i), key, MacFor(f), d.len);
  }
}

void UdpFlows::Deliver(size_t i, const Key& key, const MacAddr& mac,
                       size_t len) {
  const int family = key.family;
  uint8_t* frame = frames_.get() + i * frame_size_;
  uint8_t* udp = frame + L4Offset(family);
  const auto l4_len = static_cast<uint16_t>(kUdpHeader + len);
  size_t frame_len;
  if (family == AF_INET) {
    wire::FillUdp(
        udp, key.remote_port, key.ns_port, len,
        wire::PseudoSum4(key.remote, key.ns_addr, wire::kProtoUdp, l4_len));
    frame_len =
        wire::WrapIpv4(absl::MakeSpan(frame, frame_size_), mac, cfg_.our_mac,
                       key.remote, key.ns_addr, wire::kProtoUdp, l4_len);
  } else {
    wire::FillUdp(
        udp, key.remote_port, key.ns_port, len,
        wire::PseudoSum6(key.remote, key.ns_addr, wire::kProtoUdp, l4_len));
    frame_len =
        wire::WrapIpv6(absl::MakeSpan(frame, frame_size_), mac, cfg_.our_mac,
                       key.remote, key.ns_addr, wire::kProtoUdp, l4_len);
  }
  if (frame_len == 0) {
    ++counters_.dropped_too_big;
    return;
  }
  ++counters_.received;
  sink_->SendFrame(absl::MakeConstSpan(frame, frame_len));
}

// Where the quoted payload of an ICMP error goes in err_buf_, and how much
// of it fits: after our ICMP header and the reconstructed IP + UDP headers,
// within the RFC limits and the tap MTU.
size_t UdpFlows::QuoteOffset(int family) {
  return L4Offset(family) + kIcmpHeader + IpHeader(family) + kUdpHeader;
}
size_t UdpFlows::QuoteCap(int family) const {
  const size_t limit = family == AF_INET ? kMaxIcmpPacket4 : kMaxIcmpPacket6;
  const size_t packet = std::min(limit, static_cast<size_t>(cfg_.mtu));
  const size_t headers = 2 * IpHeader(family) + kIcmpHeader + kUdpHeader;
  return packet > headers ? packet - headers : 0;
}

void UdpFlows::DrainErrors(int fd, int family, int64_t slot, int32_t listener) {
  const auto quoted =
      absl::MakeSpan(err_buf_.get() + QuoteOffset(family), QuoteCap(family));
  // Bounded, like the reads: the rest waits for the next wakeup.
  for (int i = 0; i < kBatch; ++i) {
    IcmpErrorInfo info;
    if (!sys_->RecvError(fd, quoted, &info).ok()) return;
    const IcmpErrorInfo* e = &info;
    int64_t s = slot;
    if (listener >= 0) {
      // Unconnected: the failed datagram's destination names the flow.
      const Listener& l = listeners_[listener];
      const IpAddr& ns = l.to_addr.family != AF_UNSPEC ? l.to_addr
                         : family == AF_INET           ? cfg_.ns_addr4
                                                       : cfg_.ns_addr6;
      if (e->family != family || ns.family != family) continue;
      Key key{};
      key.family = static_cast<uint8_t>(family);
      key.ns_port = l.target;
      key.remote_port = e->port;
      std::memcpy(key.ns_addr, ns.bytes.data(), AddrLen(family));
      ShownRemote(family, e->dst, key.remote);
      s = index_.Find(key);
    }
    if (s < 0) continue;
    RelayIcmpError(flows_[s], *e);
  }
}

void UdpFlows::RelayIcmpError(const Flow& f, const IcmpErrorInfo& e) {
  const int family = f.key.family;
  if (family == AF_INET) {
    if (e.origin != SO_EE_ORIGIN_ICMP || e.type != kIcmpDestUnreach ||
        e.code == kIcmpFragNeeded || e.code > kIcmpMaxCode)
      return;
  } else {
    if (e.origin != SO_EE_ORIGIN_ICMP6 || e.type != kIcmp6DestUnreach ||
        e.code > kIcmp6MaxCode)
      return;
  }
  const Key& k = f.key;
  const size_t quoted = std::min(e.quoted_len, QuoteCap(family));
  // The failed datagram's length: the last one sent, unless the kernel
  // showed us more of it than that.
  const size_t orig_len = std::max<size_t>(f.last_len, quoted);
  const auto udp_len = static_cast<uint16_t>(kUdpHeader + orig_len);
  uint8_t* icmp = err_buf_.get() + L4Offset(family);
  uint8_t* qip = icmp + kIcmpHeader;
  uint8_t* qudp = qip + IpHeader(family);
  // The datagram as the namespace sent it: from it, to where it wrote.
  std::memset(icmp, 0, kIcmpHeader);
  icmp[0] = e.type;
  icmp[1] = e.code;
  if (family == AF_INET) {
    std::memset(qip, 0, wire::kIpv4Header);
    qip[0] = 0x45;
    wire::StoreBe16(qip + 2,
                    static_cast<uint16_t>(wire::kIpv4Header + udp_len));
    wire::StoreBe16(qip + 6, 0x4000);  // DF
    qip[8] = 64;
    qip[9] = wire::kProtoUdp;
    std::memcpy(qip + 12, k.ns_addr, 4);
    std::memcpy(qip + 16, k.remote, 4);
    wire::StoreBe16(qip + 10, wire::Finish(wire::SumBytes(absl::MakeConstSpan(
                                  qip, wire::kIpv4Header))));
  } else {
    std::memset(qip, 0, wire::kIpv6Header);
    wire::StoreBe32(qip, 0x60000000u);
    wire::StoreBe16(qip + 4, udp_len);
    qip[6] = wire::kProtoUdp;
    qip[7] = 64;
    std::memcpy(qip + 8, k.ns_addr, 16);
    std::memcpy(qip + 24, k.remote, 16);
  }
  if (quoted == orig_len) {  // all of it: the real UDP checksum
    const uint32_t pseudo =
        family == AF_INET
            ? wire::PseudoSum4(k.ns_addr, k.remote, wire::kProtoUdp, udp_len)
            : wire::PseudoSum6(k.ns_addr, k.remote, wire::kProtoUdp, udp_len);
    wire::FillUdp(qudp, k.ns_port, k.remote_port, orig_len, pseudo);
  } else {  // part of it: the checksum cannot be known, leave it out
    wire::StoreBe16(qudp, k.ns_port);
    wire::StoreBe16(qudp + 2, k.remote_port);
    wire::StoreBe16(qudp + 4, udp_len);
    wire::StoreBe16(qudp + 6, 0);
  }
  const size_t icmp_len = kIcmpHeader + IpHeader(family) + kUdpHeader + quoted;
  const auto out = absl::MakeSpan(err_buf_.get(), kErrBufSize);
  const MacAddr mac = MacFor(f);
  size_t len;
  if (family == AF_INET) {
    wire::FillIcmpChecksum(absl::MakeSpan(icmp, icmp_len), 0);
    len = wire::WrapIpv4(out, mac, cfg_.our_mac, k.remote, k.ns_addr,
                         wire::kProtoIcmp, icmp_len);
  } else {
    wire::FillIcmpChecksum(
        absl::MakeSpan(icmp, icmp_len),
        wire::PseudoSum6(k.remote, k.ns_addr, wire::kProtoIcmpv6,
                         static_cast<uint32_t>(icmp_len)));
    len = wire::WrapIpv6(out, mac, cfg_.our_mac, k.remote, k.ns_addr,
                         wire::kProtoIcmpv6, icmp_len);
  }
  if (len == 0) return;
  ++counters_.icmp_relayed;
  LOG_TRACE("%s: ICMP%s type %u code %u (%s) relayed", flow::FormatFlow(f.hdr),
            family == AF_INET ? "" : "v6", e.type, e.code, strerror(e.err));
  sink_->SendFrame(absl::MakeConstSpan(out.data(), len));
}

void UdpFlows::Close(uint32_t slot) {
  if (!flows_.Defer(slot)) return;
  if (run_.slot == static_cast<int64_t>(slot)) Flush();
  index_.Erase(flows_[slot].key);
}

void UdpFlows::Free(uint32_t slot) {
  const Flow& f = flows_[slot];
  if (f.listener < 0) sys_->Close(f.fd);  // listeners stay open
}

size_t UdpFlows::CloseFlowsFrom(const std::vector<IpAddr>& gone) {
  if (gone.empty()) return 0;
  size_t n = 0;
  for (const uint32_t slot : flows_.in_use()) {
    const Flow& f = flows_[slot];
    if (flows_.Closing(slot) || f.listener >= 0 || f.fd < 0) continue;
    if (!sock::BoundToOneOf(*sys_, f.fd, gone)) continue;
    LOG_TRACE("%s: host address gone, closed", flow::FormatFlow(f.hdr));
    Close(slot);
    ++counters_.closed_addr_gone;
    ++n;
  }
  return n;
}

void UdpFlows::Expire(Instant now) {
  next_deadline_ =
      flow::ExpireIdle(flows_, now, kIdleTimeout, [this](uint32_t s) {
        ++counters_.expired;
        LOG_TRACE("%s: idle, closed", flow::FormatFlow(flows_[s].hdr));
        Close(s);
      });
}

}  // namespace pasta::udp
