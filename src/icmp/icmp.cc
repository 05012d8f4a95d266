#include "icmp/icmp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "loop/epoll_ref.h"
#include "wire/build.h"

namespace pasta::icmp {

namespace {

constexpr size_t kBufSize = 65536;
constexpr uint8_t kEchoRequest4 = 8, kEchoReply4 = 0;
constexpr uint8_t kEchoRequest6 = 128, kEchoReply6 = 129;

using flow::AddrLen;

std::string Format(int family, const uint8_t* addr) {
  char text[INET6_ADDRSTRLEN];
  return inet_ntop(family, addr, text, sizeof(text)) ? text : "?";
}

}  // namespace

IcmpFlows::IcmpFlows(const IcmpConfig& cfg, sock::Sys* sys,
                     wire::FrameSink* sink, flow::SipKey key,
                     flow::FlowTable* table)
    : cfg_(cfg),
      sys_(sys),
      sink_(sink),
      table_(table, key, kMaxFlows),
      index_(table_.get(), flow::FlowKind::kIcmp),
      flows_(table_.get(), flow::FlowKind::kIcmp, kMaxFlows),
      buf_(new uint8_t[kBufSize]) {
  flows_.SetReaper<&IcmpFlows::Free>(this);
}

IcmpFlows::~IcmpFlows() { flows_.ClearReaper(); }

sock::Result IcmpFlows::Open(int family) {
  const int proto = family == AF_INET ? static_cast<int>(IPPROTO_ICMP)
                                      : static_cast<int>(IPPROTO_ICMPV6);
  return sys_->Socket(sock::Netns::kHost, family, SOCK_DGRAM, proto);
}

bool IcmpFlows::Probe() {
  bool any = false;
  for (int family : {AF_INET, AF_INET6}) {
    if (family == AF_INET ? !cfg_.enabled4 : !cfg_.enabled6) continue;
    const sock::Result s = Open(family);
    if (s.ok()) {
      sys_->Close(s.fd());
      any = true;
      continue;
    }
    LOG_WARN(
        "%s: ping sockets not allowed here (%s; see "
        "net.ipv4.ping_group_range): pings from the namespace will fail",
        family == AF_INET ? "ICMP" : "ICMPv6", strerror(s.err));
  }
  return any;
}

bool IcmpFlows::IsMapped(int family, const uint8_t* dst) const {
  return flow::Matches(cfg_.map.map_host(family), family, dst);
}

bool IcmpFlows::FromNamespace(int family, const uint8_t* src,
                              const uint8_t* dst, const wire::IcmpView& icmp,
                              const MacAddr& ns_mac, Instant now) {
  const uint8_t request = family == AF_INET ? kEchoRequest4 : kEchoRequest6;
  if (icmp.type() != request || icmp.code() != 0 || !icmp.has_echo_fields())
    return false;
  if (family == AF_INET ? !cfg_.enabled4 : !cfg_.enabled6) return false;
  ++counters_.requests;
  if (!flow::AllowedDestination(cfg_.map, family, dst)) {
    ++counters_.dropped_invalid;
    LOG_TRACE("icmp: echo to %s: not a unicast destination, dropped",
              Format(family, dst));
    return true;
  }
  Key key{};
  key.family = static_cast<uint8_t>(family);
  key.id = icmp.echo_id();
  std::memcpy(key.dst, dst, AddrLen(family));
  uint8_t target[16];
  flow::MapDestination(cfg_.map, family, dst, 0, target);
  int64_t slot = index_.Find(key);
  if (slot < 0) {
    if (flows_.full()) {
      ++counters_.dropped_table_full;
      LOG_TRACE("icmp: flow table full, echo to %s dropped",
                Format(family, dst));
      return true;
    }
    const sock::Result s = Open(family);
    if (!s.ok()) {
      ++counters_.dropped_socket;
      LOG_TRACE("icmp: ping socket: %s", strerror(s.err));
      return true;
    }
    const int fd = s.fd();
    const uint32_t new_slot = flows_.Take();
    Flow& f = flows_[new_slot];
    flow::SetSide(f.hdr, flow::kNsSide, family, src, key.id, dst, 0);
    flow::SetSide(f.hdr, flow::kHostSide, family, target, 0, nullptr, 0);
    f.key = key;
    f.fd = fd;
    index_.Insert(key, new_slot);
    if (const sock::Result r = sys_->Watch(
            fd, loop::Ref{loop::Kind::kIcmp, new_slot, fd}.Pack(), EPOLLIN);
        !r.ok())
      LOG_WARN("icmp: epoll_ctl: %s", strerror(r.err));
    slot = new_slot;
    LOG_DEBUG("icmp: new flow %s -> %s id %u%s", Format(family, src),
              Format(family, dst), key.id,
              IsMapped(family, dst) ? " (mapped to the host's loopback)" : "");
  }
  Flow& f = flows_[slot];
  // The requester (the key leaves its address out) may change.
  std::memcpy(f.hdr.side[flow::kNsSide].peer, src, AddrLen(family));
  f.ns_mac = ns_mac;
  f.hdr.last = now;
  next_deadline_ = Earlier(next_deadline_, now + kIdleTimeout);
  // The kernel replaces the identifier with the socket's and computes the
  // checksum, so the message goes as it came.
  if (const sock::Result r =
          sys_->SendTo(f.fd, family, target, 0, icmp.bytes());
      !r.ok()) {
    ++counters_.dropped_socket;
    LOG_TRACE("icmp: sendto %s: %s", Format(family, dst), strerror(r.err));
  }
  return true;
}

void IcmpFlows::OnReadable(uint32_t slot, Instant now) {
  if (!flows_.Live(slot)) return;  // gone, or closed earlier in this batch
  Flow& f = flows_[slot];
  const int family = f.key.family;
  const uint8_t* ns_addr = f.hdr.side[flow::kNsSide].peer;  // the requester
  const size_t off = family == AF_INET ? wire::kL4Offset4 : wire::kL4Offset6;
  const uint8_t reply_type = family == AF_INET ? kEchoReply4 : kEchoReply6;
  for (int i = 0; i < 64; ++i) {
    const sock::Result r =
        sys_->Recv(f.fd, absl::MakeSpan(buf_.get() + off, kBufSize - off));
    if (!r.ok()) return;  // EAGAIN or error: nothing more
    const ssize_t n = r.value;
    if (static_cast<size_t>(n) < wire::IcmpView::kEchoHeader) continue;
    uint8_t* msg = buf_.get() + off;
    if (msg[0] != reply_type) continue;
    f.hdr.last = now;
    wire::StoreBe16(msg + 4, f.key.id);  // the namespace's identifier back
    const auto message = absl::MakeSpan(msg, static_cast<size_t>(n));
    size_t len;
    if (family == AF_INET) {
      wire::FillIcmpChecksum(message, 0);
      len = wire::WrapIpv4(absl::MakeSpan(buf_.get(), kBufSize), f.ns_mac,
                           cfg_.our_mac, f.key.dst, ns_addr, wire::kProtoIcmp,
                           message.size());
    } else {
      wire::FillIcmpChecksum(
          message, wire::PseudoSum6(f.key.dst, ns_addr, wire::kProtoIcmpv6,
                                    static_cast<uint32_t>(message.size())));
      len = wire::WrapIpv6(absl::MakeSpan(buf_.get(), kBufSize), f.ns_mac,
                           cfg_.our_mac, f.key.dst, ns_addr, wire::kProtoIcmpv6,
                           message.size());
    }
    if (len == 0) continue;
    ++counters_.replies;
    sink_->SendFrame(absl::MakeConstSpan(buf_.get(), len));
  }
}

void IcmpFlows::Close(uint32_t slot) {
  if (!flows_.Defer(slot)) return;
  index_.Erase(flows_[slot].key);
}

void IcmpFlows::Free(uint32_t slot) { sys_->Close(flows_[slot].fd); }

void IcmpFlows::Expire(Instant now) {
  next_deadline_ =
      flow::ExpireIdle(flows_, now, kIdleTimeout, [this](uint32_t s) {
        ++counters_.expired;
        Close(s);
      });
}

}  // namespace pasta::icmp
