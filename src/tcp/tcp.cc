#include "tcp/tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/sockaddr.h"
#include "common/status.h"
#include "loop/epoll_ref.h"
#include "tcp/internal.h"
#include "wire/build.h"

namespace pasta::tcp {

using namespace internal;  // NOLINT: this module's own constants

TcpFlows::TcpFlows(const TcpConfig& cfg, sock::Sys* sys, wire::FrameSink* sink,
                   flow::SipKey key, flow::FlowTable* table)
    : cfg_(cfg),
      sys_(sys),
      sink_(sink),
      key_(key),
      table_(table, key, kMaxFlows),
      index_(table_.get(), flow::FlowKind::kTcp),
      flows_(table_.get(), flow::FlowKind::kTcp, kMaxFlows),
      offload_(sink->can_offload()),
      frame_size_(wire::kEthHeaderLen +
                  (offload_ ? kMaxIpPacket : static_cast<size_t>(cfg.mtu))),
      frames_(new uint8_t[frame_size_ * kSendBatch]),
      ctl_(new uint8_t[wire::kL4Offset6 + kTcpHeader + kMaxOptions]),
      pool_(new uint8_t[cfg.buffers * kBufferSize]) {
  queued_.reserve(2 * kMaxFlows);
  buffer_free_.reserve(cfg.buffers);
  for (int32_t i = static_cast<int32_t>(cfg.buffers); i > 0; --i)
    buffer_free_.push_back(i - 1);
  flows_.SetReaper<&TcpFlows::Free>(this);
}

TcpFlows::~TcpFlows() {
  flows_.ClearReaper();
  for (const uint32_t slot : flows_.in_use()) {
    Flow& f = flows_[slot];
    if (f.fd < 0) continue;
    // A flow whose namespace side has finished (its FIN taken, everything
    // written) closes gracefully: what the socket still holds goes out
    // before the kernel's FIN. Anything else is abandoned: RST.
    const bool done = (f.ev & kEvNsFin) && (f.ev & kEvSockShut);
    const bool reset = Closing(f) ? (f.ev & kEvReset) != 0 : !done;
    CloseSocket(f.fd, reset);
  }
  for (const Listener& l : listeners_)
    if (l.fd >= 0) CloseSocket(l.fd, false);
}

sock::Result TcpFlows::Open(int family) {
  const sock::Result s =
      sys_->Socket(sock::Netns::kHost, family, SOCK_STREAM, IPPROTO_TCP);
  if (!s.ok()) return s;
  if (family == AF_INET6) sys_->SetOpt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  // The namespace's kernel already decided how to segment (Nagle or not):
  // do not delay its segments a second time.
  sys_->SetOpt(s.fd(), IPPROTO_TCP, TCP_NODELAY, 1);
  return s;
}

bool TcpFlows::EnablePeekOffset(int fd) {
  return sys_->SetOpt(fd, SOL_SOCKET, SO_PEEK_OFF, 0).ok();
}

void TcpFlows::SetPeekOffset(int fd, size_t offset) {
  sys_->SetOpt(fd, SOL_SOCKET, SO_PEEK_OFF, static_cast<int>(offset));
}

int TcpFlows::PendingError(int fd) {
  const sock::Result r = sys_->GetOpt(fd, SOL_SOCKET, SO_ERROR);
  return r.ok() ? static_cast<int>(r.value) : r.err;
}

void TcpFlows::Watch(int fd, uint32_t index, bool listener) {
  const loop::Ref ref{listener ? loop::Kind::kTcpListen : loop::Kind::kTcpSock,
                      index, fd};
  const uint32_t events =
      listener ? EPOLLIN : EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  if (const sock::Result r = sys_->Watch(fd, ref.Pack(), events); !r.ok())
    LOG_WARN("tcp: epoll_ctl: %s", strerror(r.err));
}

void TcpFlows::CloseSocket(int fd, bool reset) {
  if (reset) {
    sys_->CloseWithReset(fd);
  } else {
    sys_->Close(fd);
  }
}

std::string TcpFlows::Describe(const Key& k) {
  return flow::FormatEnds(flow::FlowKind::kTcp, k.family, k.ns_addr, k.ns_port,
                          k.remote, k.remote_port);
}

std::string TcpFlows::Describe(const Flow& f) {
  static constexpr const char* kNames[] = {
      "inbound", "connecting", "synack_sent", "syn_sent", "established",
      "ns_fin",  "sock_shut",  "sock_eof",    "fin_sent", "fin_acked",
      "ack_due", "send_due",   nullptr,       "queued",   "rdhup",
      "reset",   "retry_push", "sack",        "drained"};
  std::string bits;
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) {
    if ((f.ev & (1u << i)) == 0 || kNames[i] == nullptr) continue;
    if (!bits.empty()) bits += ',';
    bits += kNames[i];
  }
  if (Closing(f)) bits += bits.empty() ? "closing" : ",closing";
  return absl::StrFormat("%s [%s]", flow::FormatFlow(f.hdr), bits);
}

size_t TcpFlows::PayloadOffset(int family) {
  return L4Offset(family) + kTcpHeader;
}

uint32_t TcpFlows::OurWindow(const Flow& f) {
  if (f.buf < 0) return kBufferSize;
  return static_cast<uint32_t>(kBufferSize - (f.buf_end - f.buf_start));
}

void TcpFlows::Queue(uint32_t slot, uint32_t bits) {
  Flow& f = flows_[slot];
  f.ev |= bits;
  if (f.ev & kEvQueued) return;
  f.ev |= kEvQueued;
  queued_.push_back(slot);
}

void TcpFlows::ReadOptions(Flow& f, const wire::TcpView& tcp) const {
  const absl::Span<const uint8_t> o = tcp.options();
  const int family = f.key.family;
  uint16_t mss = family == AF_INET ? kDefaultMss4 : kDefaultMss6;
  int ws = -1;
  bool sack = false;
  for (size_t i = 0; i < o.size();) {
    const uint8_t kind = o[i];
    if (kind == kOptEnd) break;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= o.size()) break;
    const size_t len = o[i + 1];
    if (len < 2 || i + len > o.size()) break;  // malformed: stop reading
    if (kind == kOptMss && len == 4) mss = wire::LoadBe16(o.data() + i + 2);
    if (kind == kOptWs && len == 3) ws = std::min<int>(o[i + 2], kMaxWindowScale);
    if (kind == kOptSackPermitted && len == 2) sack = true;
    i += len;
  }
  const size_t max_mss = static_cast<size_t>(cfg_.mtu) - IpHeader(family) -
                         kTcpHeader;
  // Our 64-byte floor gives way under an MTU below 104 (std::clamp needs
  // lo <= hi).
  f.mss = static_cast<uint16_t>(
      std::clamp<size_t>(mss, std::min<size_t>(64, max_mss), max_mss));
  if (ws >= 0) {
    f.ns_ws = static_cast<uint8_t>(ws);
    f.our_ws = kWindowScale;
  } else {
    f.ns_ws = 0;
    f.our_ws = 0;
  }
  if (sack) {
    f.ev |= kEvSack;
  } else {
    f.ev &= ~kEvSack;
  }
}

bool TcpFlows::FromNamespace(int family, const uint8_t* src, const uint8_t* dst,
                             const wire::TcpView& tcp, const MacAddr& ns_mac,
                             Instant now) {
  if (family != AF_INET && family != AF_INET6) return false;
  if (!Enabled(family)) return false;
  Key key{};
  key.family = static_cast<uint8_t>(family);
  key.ns_port = tcp.src_port();
  key.remote_port = tcp.dst_port();
  std::memcpy(key.ns_addr, src, AddrLen(family));
  std::memcpy(key.remote, dst, AddrLen(family));
  const uint8_t flags = tcp.flags();
  int64_t slot = index_.Find(key);
  if (slot >= 0) {
    Flow& f = flows_[slot];
    // A new connection on the tuple of one that is done on the tap side.
    if ((flags & (kSyn | kAck | kRst)) == kSyn && (f.ev & kEvEstablished)) {
      Close(static_cast<uint32_t>(slot), true, false, "SYN for a new connection");
      slot = -1;
    }
  }
  if (slot < 0) {
    if ((flags & (kSyn | kAck | kRst)) == kSyn) {
      OpenOutbound(key, tcp, ns_mac, now);
      return true;
    }
    ++counters_.dropped_invalid;
    LOG_TRACE("%s: segment flags 0x%02x for no flow, reset", Describe(key),
              flags);
    ResetUnknown(family, src, dst, tcp, ns_mac);
    return true;
  }
  Flow& f = flows_[slot];
  f.ns_mac = ns_mac;
  f.hdr.last = now;
  HandleSegment(static_cast<uint32_t>(slot), tcp, now);
  return true;
}

void TcpFlows::OpenOutbound(const Key& key, const wire::TcpView& tcp,
                            const MacAddr& ns_mac, Instant now) {
  const int family = key.family;
  if (key.remote_port == 0 || key.ns_port == 0 ||
      !flow::AllowedDestination(cfg_.map, family, key.remote)) {
    ++counters_.dropped_invalid;
    LOG_TRACE("%s: not a unicast destination, dropped", Describe(key));
    return;
  }
  if (flows_.full()) {
    ++counters_.dropped_table_full;
    if (now - last_full_warning_ >= kFullWarningInterval) {
      last_full_warning_ = now;
      LOG_WARN("tcp: flow table full (%u flows), refusing new connections",
               kMaxFlows);
    }
    ResetUnknown(family, key.ns_addr, key.remote, tcp, ns_mac);
    return;
  }
  uint8_t target[16];
  flow::MapDestination(cfg_.map, family, key.remote, key.remote_port, target);
  const sock::Result s = Open(family);
  if (!s.ok()) {
    ++counters_.connect_failed;
    LOG_DEBUG("%s: socket: %s", Describe(key), strerror(s.err));
    ResetUnknown(family, key.ns_addr, key.remote, tcp, ns_mac);
    return;
  }
  const int fd = s.fd();
  const flow::Outbound::Binding out = cfg_.out.For(family, target);
  if (out.device) {
    if (const sock::Result r = sys_->BindToDevice(fd, *out.device); !r.ok()) {
      LOG_DEBUG("%s: bind to device %s: %s", Describe(key), *out.device,
                strerror(r.err));
    }
  }
  if (out.addr) {
    if (const sock::Result r = sys_->Bind(fd, family, out.addr, 0); !r.ok()) {
      LOG_DEBUG("%s: bind to the outbound address: %s", Describe(key),
                strerror(r.err));
    }
  }
  const uint32_t slot = static_cast<uint32_t>(NewSlot(key, fd, target, now));
  Flow& f = flows_[slot];
  f.ns_mac = ns_mac;
  f.ns_next = tcp.seq() + 1;
  f.ns_wnd = tcp.window();  // never scaled in a SYN (RFC 7323 2.2)
  ReadOptions(f, tcp);
  if (!EnablePeekOffset(fd) && peek_off_ok_) {
    LOG_DEBUG("tcp: no SO_PEEK_OFF, peeking past data in flight");
    peek_off_ok_ = false;
  }
  Watch(fd, slot, false);
  const sock::Result connected =
      sys_->Connect(fd, family, target, key.remote_port);
  if (!connected.ok() && connected.err != EINPROGRESS) {
    ++counters_.connect_failed;
    LOG_TRACE("%s: connect to %s: %s, reset", Describe(f),
              FormatEndpoint(family, target, key.remote_port),
              strerror(connected.err));
    Close(slot, false, true, "connect failed");
    return;
  }
  LOG_TRACE("%s: tap SYN, socket %s %s", Describe(key),
            connected.ok() ? "connected to" : "connecting to",
            FormatEndpoint(family, target, key.remote_port));
  if (connected.ok()) {
    f.ev |= kEvSynAckSent;
    SendFlags(f, kSyn | kAck);
    Arm(f, now + kSynRetransmit);
  } else {
    f.ev |= kEvConnecting;
  }
}

int64_t TcpFlows::NewSlot(const Key& key, int fd, const uint8_t* host_peer,
                          Instant now) {
  const uint32_t slot = flows_.Take();
  Flow& f = flows_[slot];
  flow::SetSide(f.hdr, flow::kNsSide, key.family, key.ns_addr, key.ns_port,
                key.remote, key.remote_port);
  flow::SetSide(f.hdr, flow::kHostSide, key.family, host_peer, key.remote_port,
                nullptr, 0);
  f.key = key;
  f.fd = fd;
  f.hdr.last = f.opened = now;
  Due(now + kSynTimeout);
  // RFC 6528: a keyed hash of the connection's ends (not of the time),
  // plus a clock. So a new connection on the ends of an old one starts
  // beyond it (its ISN grew by 250 per ms since), and a namespace socket
  // still in TIME-WAIT for those ends takes our SYN (RFC 1122 4.2.2.13).
  f.isn = static_cast<uint32_t>(flow::SipHash24(key_, &key, sizeof(key))) +
          static_cast<uint32_t>(now.SinceClockZero().ToMicroseconds() /
                                4);  // 4 µs per tick, as RFC 9293
  f.seq_next = f.seq_max = f.isn + 1;
  f.seq_acked = f.isn;
  index_.Insert(key, slot);
  ++counters_.flows_opened;
  return slot;
}

void TcpFlows::HandleSegment(uint32_t slot, const wire::TcpView& tcp,
                             Instant now) {
  Flow& f = flows_[slot];
  if (Closing(f)) return;
  const uint8_t flags = tcp.flags();
  if (flags & kRst) {
    // Accept a reset in the window (RFC 9293 3.10.7.4; no challenge ACK:
    // the namespace is the only sender on this link).
    const int32_t off = SeqDiff(tcp.seq(), f.ns_next);
    if ((f.ev & kEvSynSent) && (f.ev & kEvEstablished) == 0) {
      // A reset answering our SYN (RFC 9293 3.10.7.3): acceptable if it
      // acknowledges the SYN.
      if ((flags & kAck) == 0 || tcp.ack() != f.isn + 1) return;
    } else if (off < 0 || static_cast<uint32_t>(off) > OurWindow(f)) {
      return;
    }
    ++counters_.resets_from_ns;
    LOG_TRACE("%s: tap RST", Describe(f));
    Close(slot, true, false, "reset by the namespace");
    return;
  }
  if (flags & kSyn) {
    if ((f.ev & kEvSynSent) && (f.ev & kEvEstablished) == 0 &&
        (flags & kAck)) {
      // Inbound: the namespace's SYN-ACK to our SYN.
      if (tcp.ack() != f.isn + 1) {
        ResetUnknown(f.key.family, f.key.ns_addr, f.key.remote, tcp, f.ns_mac);
        return;
      }
      f.ns_next = tcp.seq() + 1;
      const uint8_t offered = f.our_ws;
      ReadOptions(f, tcp);
      if (offered == 0) f.our_ws = f.ns_ws = 0;
      f.ns_wnd = tcp.window();
      f.seq_acked = f.isn + 1;
      f.ev |= kEvEstablished;
      f.rto_at = Instant::Never();
      f.retries = 0;
      LOG_TRACE("%s: tap SYN-ACK, established", Describe(f));
      SendAckNow(f);
      Queue(slot, kEvSendDue);
      return;
    }
    // A retransmitted SYN: repeat our SYN-ACK if we sent one.
    if ((f.ev & kEvSynAckSent) && (f.ev & kEvEstablished) == 0)
      SendFlags(f, kSyn | kAck);
    return;
  }
  if ((flags & kAck) == 0) return;  // RFC 9293 3.10.7.4: drop
  if ((f.ev & kEvEstablished) == 0) {
    if ((f.ev & kEvSynSent) && tcp.ack() != f.isn + 1) {
      // Inbound, an ACK that is not for our SYN (RFC 9293 3.10.7.3): the
      // answer of a namespace socket still in TIME-WAIT for these ends,
      // about the old connection. A reset with its ACK number as sequence
      // ends the TIME-WAIT; our SYN goes again at its retransmission.
      ResetUnknown(f.key.family, f.key.ns_addr, f.key.remote, tcp, f.ns_mac);
      return;
    }
    if ((f.ev & kEvSynAckSent) == 0) return;  // still connecting
    if (tcp.ack() != f.isn + 1) {
      ResetUnknown(f.key.family, f.key.ns_addr, f.key.remote, tcp, f.ns_mac);
      return;
    }
    f.ev |= kEvEstablished;
    f.seq_acked = f.isn + 1;
    f.rto_at = Instant::Never();
    f.retries = 0;
    LOG_TRACE("%s: tap ACK, established", Describe(f));
    Queue(slot, kEvSendDue);  // the server may have spoken first
  }
  HandleAck(slot, tcp, now);
  if (Closing(f)) return;
  HandlePayload(slot, tcp, now);
}

void TcpFlows::HandleAck(uint32_t slot, const wire::TcpView& tcp, Instant now) {
  Flow& f = flows_[slot];
  const uint32_t ack = tcp.ack();
  const int32_t advance = SeqDiff(ack, f.seq_acked);
  if (SeqDiff(ack, f.seq_max) > 0) {
    // Acknowledges what we never sent: answer with an ACK (RFC 9293
    // 3.10.7.4) and ignore it.
    Queue(slot, kEvAckDue);
    return;
  }
  const uint32_t wnd = static_cast<uint32_t>(tcp.window()) << f.ns_ws;
  const bool pure_ack = tcp.payload().empty() && (tcp.flags() & kFin) == 0;
  if (advance > 0) {
    uint32_t data = static_cast<uint32_t>(advance);
    if ((f.ev & kEvSockEof) && ack == f.fin_seq + 1) {
      --data;  // the FIN's sequence number
      f.ev |= kEvFinAcked;
    }
    // Read away at the round's end (Flush -> Push), where the ACKs of one
    // batch of frames cost one call between them.
    f.unread_acked += data;
    f.seq_acked = ack;
    if (SeqDiff(ack, f.seq_next) > 0) {
      // A late ACK for what was sent before a rewind: no need to send it
      // again (the discard, at the next Push, moves the peek offset back
      // to 0).
      f.seq_next = ack;
      if (f.ev & kEvFinAcked) f.ev |= kEvFinSent;
    }
    f.dup_acks = 0;
    f.retries = 0;
    f.rto_at = Instant::Never();
    if (f.seq_acked != f.seq_next) Arm(f, now + kRtoMin);
    Queue(slot, kEvSendDue);
    if (f.ev & kEvFinAcked) MaybeFinish(slot);
  } else if (advance == 0 && pure_ack && f.seq_next != f.seq_acked &&
             wnd == f.ns_wnd) {
    // A duplicate ACK (RFC 5681 2): the third means a lost segment.
    if (++f.dup_acks == 3) {
      LOG_TRACE("%s: three duplicate ACKs for %u, retransmitting",
                Describe(f), ack - f.isn);
      Rewind(slot, now);
    }
  }
  if (wnd != f.ns_wnd) {
    if (wnd > f.ns_wnd) Queue(slot, kEvSendDue);
    f.ns_wnd = wnd;
  }
}

void TcpFlows::DiscardAcked(Flow& f) {
  if (f.unread_acked == 0 || f.fd < 0) return;
  const uint32_t data = f.unread_acked;
  f.unread_acked = 0;
  const sock::Result n = sys_->Discard(f.fd, data);
  if (n.value != static_cast<ssize_t>(data))
    LOG_DEBUG("%s: discard %u: %zd", Describe(f), data, n.value);
}

void TcpFlows::MaybeFinish(uint32_t slot) {
  const Flow& f = flows_[slot];
  constexpr uint32_t kDone = kEvNsFin | kEvSockShut | kEvFinAcked;
  if ((f.ev & kDone) != kDone) return;
  LOG_TRACE("%s: both sides closed", Describe(f));
  Close(slot, false, false, "closed");
}

void TcpFlows::Flush(Instant now) {
  // By index: Push() may queue the flow again (its kEvQueued is cleared
  // first), which appends to queued_ while this walks it.
  // NOLINTNEXTLINE(modernize-loop-convert)
  for (size_t i = 0; i < queued_.size(); ++i) {
    const uint32_t slot = queued_[i];
    Flow& f = flows_[slot];
    f.ev &= ~kEvQueued;
    if (Closing(f)) continue;
    if (f.ev & kEvSendDue) {
      f.ev &= ~kEvSendDue;
      Push(slot, now);
      if (Closing(f)) continue;
    }
    // Data frames carry the ACK; send one only if still owed.
    if ((f.ev & kEvAckDue) && (f.ev & (kEvEstablished | kEvSynAckSent)))
      SendAckNow(f);
    f.ev &= ~kEvAckDue;
  }
  queued_.clear();
}

void TcpFlows::OnSocketEvent(uint32_t slot, uint32_t events, Instant now) {
  if (!flows_.Live(slot)) return;  // gone, or closed earlier in this batch
  Flow& f = flows_[slot];
  if (f.fd < 0 || Closing(f)) return;
  if (events & EPOLLRDHUP) f.ev |= kEvRdHup;
  if (f.ev & kEvConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    const int err = PendingError(f.fd);
    if (err != 0 || (events & EPOLLERR)) {
      ++counters_.connect_failed;
      LOG_TRACE("%s: connect: %s, reset", Describe(f),
                strerror(err != 0 ? err : ECONNREFUSED));
      Close(slot, false, true, "connect failed");
      return;
    }
    f.ev &= ~kEvConnecting;
    f.ev |= kEvSynAckSent;
    f.hdr.last = now;
    LOG_TRACE("%s: socket connected, SYN-ACK to the namespace", Describe(f));
    SendFlags(f, kSyn | kAck);
    Arm(f, now + kSynRetransmit);
    return;
  }
  if (events & EPOLLERR) {
    const int err = PendingError(f.fd);
    LOG_TRACE("%s: socket error: %s, reset", Describe(f), strerror(err));
    Close(slot, false, true, "socket error");
    return;
  }
  f.hdr.last = now;
  if ((events & EPOLLOUT) && !FlushBuffer(slot)) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    f.ev &= ~kEvDrained;
    Push(slot, now);
  }
}

void TcpFlows::OnListenerReadable(uint32_t index, Instant now) {
  const Listener* open = flow::OpenListener(listeners_, index);
  if (open == nullptr) return;
  const Listener& l = *open;
  for (int i = 0; i < kAcceptBatch; ++i) {
    int family = AF_UNSPEC;
    uint8_t peer[16] = {};
    uint16_t port = 0;
    const sock::Result accepted = sys_->Accept(l.fd, &family, peer, &port);
    if (!accepted.ok()) return;
    const int fd = accepted.fd();
    sys_->SetOpt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    // A target address is reached over the tap only (splicing connects
    // to the namespace's own address).
    const bool to_addr = l.to_addr.family != AF_UNSPEC;
    if (splice_ != nullptr && family == l.family && !to_addr &&
        flow::IsLoopback(family, peer)) {
      splice_->FromHost(fd, family, l.target);
      continue;
    }
    const IpAddr& ns = to_addr             ? l.to_addr
                       : family == AF_INET ? cfg_.ns_addr4
                                           : cfg_.ns_addr6;
    Key key{};
    key.family = static_cast<uint8_t>(family);
    key.ns_port = l.target;
    key.remote_port = port;
    if (family != l.family || ns.family != family || flows_.full()) {
      if (flows_.full()) {
        ++counters_.dropped_table_full;
        if (now - last_full_warning_ >= kFullWarningInterval) {
          last_full_warning_ = now;
          LOG_WARN("tcp: flow table full (%u flows), refusing new connections",
                   kMaxFlows);
        }
      } else {
        ++counters_.dropped_invalid;
        LOG_DEBUG("tcp: inbound connection on port %u: no namespace address",
                  l.port);
      }
      CloseSocket(fd, true);
      continue;
    }
    std::memcpy(key.ns_addr, ns.bytes.data(), AddrLen(family));
    flow::ShownPeer(cfg_.map, family, peer, key.remote);
    if (index_.Find(key) >= 0) {
      ++counters_.dropped_invalid;
      LOG_DEBUG("%s: inbound connection collides with a flow, reset",
                Describe(key));
      CloseSocket(fd, true);
      continue;
    }
    const uint32_t s = static_cast<uint32_t>(NewSlot(key, fd, peer, now));
    Flow& f = flows_[s];
    f.hdr.side[flow::kHostSide].our_port = l.port;
    f.ev |= kEvInbound | kEvSynSent;
    f.our_ws = kWindowScale;
    f.mss = family == AF_INET ? kDefaultMss4 : kDefaultMss6;
    if (!EnablePeekOffset(fd) && peek_off_ok_) {
      LOG_DEBUG("tcp: no SO_PEEK_OFF, peeking past data in flight");
      peek_off_ok_ = false;
    }
    Watch(fd, s, false);
    LOG_TRACE("%s: accepted from %s, SYN to the namespace", Describe(f),
              FormatEndpoint(family, peer, port));
    SendFlags(f, kSyn);
    Arm(f, now + kSynRetransmit);
  }
}

Instant TcpFlows::FlowDeadline(const Flow& f, Instant now) {
  if (Closing(f)) return Instant::Never();
  if ((f.ev & kEvEstablished) == 0)
    return Earlier(f.opened + kSynTimeout, f.rto_at);
  Instant d = Earlier(f.hdr.last + kIdleTimeout, f.rto_at);
  if (f.ev & kEvSockEof) d = Earlier(d, f.hdr.last + kFinTimeout);
  if (f.ev & kEvRetryPush) d = Earlier(d, now + kRetryPushDelay);
  return d;
}

void TcpFlows::TickFlow(uint32_t slot, Instant now) {
  Flow& f = flows_[slot];
  if (Closing(f)) return;
  if ((f.ev & kEvEstablished) == 0) {
    if (now - f.opened >= kSynTimeout) {
      ++counters_.timeouts;
      Close(slot, true, true, "handshake timeout");
      return;
    }
    if (now >= f.rto_at) {
      // Our SYN or SYN-ACK went unanswered: send it again.
      SendFlags(f, (f.ev & kEvSynSent) ? kSyn : kSyn | kAck);
      Arm(f, now + (kSynRetransmit << std::min<int>(++f.retries, 3)));
    }
    return;
  }
  // Once our FIN is out, the namespace has kFinTimeout to finish; a
  // half-close from its side alone may last (the server may still speak).
  if ((f.ev & kEvSockEof) && now - f.hdr.last >= kFinTimeout) {
    ++counters_.timeouts;
    Close(slot, true, true, "FIN timeout");
    return;
  }
  if (now - f.hdr.last >= kIdleTimeout) {
    ++counters_.timeouts;
    Close(slot, true, true, "idle timeout");
    return;
  }
  if (f.ev & kEvRetryPush) {
    // A frame the tap refused: the queue had a tick to drain.
    f.ev &= ~kEvRetryPush;
    Push(slot, now);
    if (Closing(f)) return;
  }
  if (now < f.rto_at) return;
  f.rto_at = Instant::Never();
  if (f.seq_next != f.seq_acked) {
    if (++f.retries > kMaxRetransmits) {
      ++counters_.timeouts;
      Close(slot, true, true, "retransmission limit");
      return;
    }
    LOG_TRACE("%s: no ACK for %u bytes, retransmitting", Describe(f),
              f.seq_next - f.seq_acked);
    f.dup_acks = 0;
    Rewind(slot, now);
    Arm(f, now + (kRtoMin << std::min<int>(f.retries, 6)));
  } else if (f.ns_wnd == 0) {
    // Zero-window probe: an old sequence number makes the namespace
    // answer with its current window.
    const uint32_t saved = f.seq_next;
    f.seq_next = saved - 1;
    SendAckNow(f);
    f.seq_next = saved;
    Arm(f, now + (kRtoMin << std::min<int>(++f.retries, 6)));
  } else {
    Push(slot, now);  // a frame the tap refused, nothing in flight
  }
}

void TcpFlows::Tick(Instant now) {
  // One pass: each flow's due work, then what it has due next.
  Instant next = Instant::Never();
  for (size_t i = 0; i < flows_.size(); ++i) {
    const uint32_t slot = flows_.in_use()[i];
    TickFlow(slot, now);
    Flow& f = flows_[slot];
    f.hdr.deadline = FlowDeadline(f, now);
    next = Earlier(next, f.hdr.deadline);
  }
  next_deadline_ = next;
}

void TcpFlows::Close(uint32_t slot, bool reset_socket, bool reset_ns,
                     const char* why) {
  Flow& f = flows_[slot];
  if (Closing(f)) return;
  if (reset_ns) {
    ++counters_.resets_to_ns;
    SendFlags(f, kRst | kAck);
  }
  LOG_TRACE("%s: closing (%s)", Describe(f), why);
  if (reset_socket) f.ev |= kEvReset;
  index_.Erase(f.key);
  flows_.Defer(slot);
}

void TcpFlows::CloseAll(const char* why) {
  // Close() only marks: the dense list does not change under us.
  for (size_t i = 0; i < flows_.size(); ++i)
    Close(flows_.in_use()[i], /*reset_socket=*/true, /*reset_ns=*/false, why);
}

void TcpFlows::Free(uint32_t slot) {
  Flow& f = flows_[slot];
  // Unread data would turn close() into a reset.
  DiscardAcked(f);
  if (f.fd >= 0) CloseSocket(f.fd, (f.ev & kEvReset) != 0);
  f.fd = -1;
  ReleaseBuffer(f);
  f.ev = 0;
}

absl::Status TcpFlows::AddListener(int family, const IpAddr* bind_addr,
                                   uint16_t host_port, uint16_t ns_port,
                                   const IpAddr* to_addr,
                                   const std::string& ifname,
                                   uint32_t* index_out) {
  if (absl::Status st =
          flow::CheckNewListener("TCP", family, bind_addr, to_addr,
                                 listeners_.size(), kMaxListeners);
      !st.ok())
    return st;
  const sock::Result s = Open(family);
  if (!s.ok()) return ErrnoToStatus(s.err, "TCP socket");
  const int fd = s.fd();
  if (host_port != 0) sys_->SetOpt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  sock::Result r = sock::BindForwarded(
      *sys_, fd, family, bind_addr ? bind_addr->bytes.data() : nullptr,
      host_port, cfg_.freebind, ifname);
  if (r.ok()) r = sys_->Listen(fd);
  if (!r.ok()) {
    const int err = r.err;
    CloseSocket(fd, false);
    return ErrnoToStatus(
        err, absl::StrFormat("listen on TCP%s port %u%s%s",
                             family == AF_INET ? "" : "v6", host_port,
                             ifname.empty() ? "" : " on ", ifname));
  }
  flow::AddListenerEntry(
      listeners_, &lowest_free_listener_,
      Listener{fd, family, host_port, ns_port, to_addr ? *to_addr : IpAddr{}},
      [this](int lfd, uint32_t index) { Watch(lfd, index, true); }, index_out,
      "tcp");
  return absl::OkStatus();
}

size_t TcpFlows::ResetFlowsFrom(const std::vector<IpAddr>& gone) {
  if (gone.empty()) return 0;
  size_t n = 0;
  for (const uint32_t slot : flows_.in_use()) {
    const Flow& f = flows_[slot];
    if (Closing(f) || f.fd < 0) continue;
    if (!sock::BoundToOneOf(*sys_, f.fd, gone)) continue;
    Close(slot, /*reset_socket=*/true, /*reset_ns=*/true, "host address gone");
    ++n;
  }
  return n;
}

size_t TcpFlows::PendingFromNamespace() const {
  size_t n = 0;
  for (const uint32_t slot : flows_.in_use()) {
    const uint32_t ev = flows_[slot].ev;
    if (Closing(flows_[slot])) continue;
    if ((ev & kEvNsFin) && (ev & kEvSockShut)) continue;
    ++n;
  }
  return n;
}

void TcpFlows::RemoveListeners(uint16_t host_port) {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i].fd >= 0 && listeners_[i].port == host_port) {
      CloseListener(static_cast<uint32_t>(i));
    }
  }
}

void TcpFlows::CloseListener(uint32_t index) {
  CloseSocket(listeners_[index].fd, false);
  flow::FreeListenerEntry(listeners_, index, &lowest_free_listener_, "tcp");
}

void TcpFlows::RetargetListener(uint32_t index, uint16_t ns_port,
                                const IpAddr* to_addr) {
  flow::RetargetListener(listeners_[index], ns_port, to_addr, "tcp");
}

}  // namespace pasta::tcp
