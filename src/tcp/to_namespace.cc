// Socket -> namespace: building segments (SendSegment, SendFlags, resets),
// pushing what the socket has within the namespace's window, and rewinding
// for retransmission (see tcp.h, "Socket -> namespace").
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "tcp/internal.h"
#include "tcp/tcp.h"
#include "wire/build.h"

namespace pasta::tcp {

using namespace internal;  // NOLINT: this module's own constants

bool TcpFlows::SendSegment(Flow& f, uint8_t* frame, uint8_t flags, uint32_t seq,
                           size_t payload_len, bool options) {
  const int family = f.key.family;
  const size_t l4 = L4Offset(family);
  // SACK blocks (RFC 2018 4) go on pure ACKs while data is held out of
  // order; the range that grew last comes first.
  const bool sack = !options && payload_len == 0 && (flags & kAck) &&
                    (f.ev & kEvSack) && f.ooo_n > 0;
  const size_t opt_len = options ? kSynOptions : sack ? 4 + 8 * f.ooo_n : 0;
  uint8_t* tcp = frame + l4;
  if (sack) {
    uint8_t* o = tcp + kTcpHeader;
    o[0] = o[1] = kOptNop;
    o[2] = kOptSack;
    o[3] = static_cast<uint8_t>(2 + 8 * f.ooo_n);
    int n = 0;
    for (int k = -1; k < f.ooo_n; ++k) {
      if (k == f.ooo_last) continue;
      const int i = k < 0 ? f.ooo_last : k;
      wire::StoreBe32(o + 4 + 8 * n, f.ooo_start[i]);
      wire::StoreBe32(o + 8 + 8 * n, f.ooo_end[i]);
      ++n;
    }
  }
  if (options) {
    // Options sit where payload would; a SYN carries none.
    uint8_t* o = tcp + kTcpHeader;
    const size_t max_mss =
        static_cast<size_t>(cfg_.mtu) - IpHeader(family) - kTcpHeader;
    o[0] = kOptMss;
    o[1] = 4;
    wire::StoreBe16(o + 2,
                    static_cast<uint16_t>(std::min<size_t>(max_mss, 65535)));
    o[4] = kOptNop;
    o[5] = kOptWs;
    o[6] = 3;
    o[7] = f.our_ws;
    if (f.our_ws == 0 && (f.ev & kEvSynSent) == 0) {
      // The namespace offered no scaling: no window scale option.
      o[4] = o[5] = o[6] = o[7] = kOptNop;
    }
    o[8] = o[9] = kOptNop;
    o[10] = kOptSackPermitted;
    o[11] = 2;
    if ((f.ev & kEvSack) == 0 && (f.ev & kEvSynSent) == 0)
      o[10] = o[11] = kOptNop;  // not offered by the namespace
  }
  const size_t l4_len = kTcpHeader + opt_len + payload_len;
  wire::StoreBe16(tcp, f.key.remote_port);
  wire::StoreBe16(tcp + 2, f.key.ns_port);
  wire::StoreBe32(tcp + 4, seq);
  wire::StoreBe32(tcp + 8, (flags & kAck) ? f.ns_next : 0);
  tcp[12] = static_cast<uint8_t>(((kTcpHeader + opt_len) / 4) << 4);
  tcp[13] = flags;
  uint32_t wnd = OurWindow(f);
  if ((flags & kSyn) == 0) wnd >>= f.our_ws;
  wire::StoreBe16(tcp + 14,
                  static_cast<uint16_t>(std::min<uint32_t>(wnd, 65535)));
  wire::StoreBe16(tcp + 16, 0);
  wire::StoreBe16(tcp + 18, 0);
  const uint32_t pseudo =
      family == AF_INET
          ? wire::PseudoSum4(f.key.remote, f.key.ns_addr, wire::kProtoTcp,
                             static_cast<uint16_t>(l4_len))
          : wire::PseudoSum6(f.key.remote, f.key.ns_addr, wire::kProtoTcp,
                             static_cast<uint32_t>(l4_len));
  if (offload_) {
    // A partial checksum: the folded pseudo-header sum (see FrameSink).
    wire::StoreBe16(tcp + 16, static_cast<uint16_t>(~wire::Finish(pseudo)));
  } else {
    wire::StoreBe16(tcp + 16, wire::Finish(wire::SumBytes(
                                  absl::MakeConstSpan(tcp, l4_len), pseudo)));
  }
  const MacAddr mac = !f.ns_mac.IsZero()  ? f.ns_mac
                      : !ns_mac_.IsZero() ? ns_mac_
                                          : kBroadcastMac;
  const auto out = absl::MakeSpan(frame, l4 + l4_len);
  const size_t len =
      family == AF_INET
          ? wire::WrapIpv4(out, mac, cfg_.our_mac, f.key.remote, f.key.ns_addr,
                           wire::kProtoTcp, l4_len)
          : wire::WrapIpv6(out, mac, cfg_.our_mac, f.key.remote, f.key.ns_addr,
                           wire::kProtoTcp, l4_len);
  if (len == 0) return false;
  if (flags & kAck) {
    f.ack_sent = f.ns_next;
    f.ev &= ~kEvAckDue;
  }
  const auto bytes = absl::MakeConstSpan(frame, len);
  if (!offload_) return sink_->TrySendFrame(bytes);
  return sink_->TrySendTcpOffloaded(bytes, l4, payload_len > f.mss ? f.mss : 0,
                                    family == AF_INET6);
}

void TcpFlows::SendFlags(Flow& f, uint8_t flags) {
  const bool syn = (flags & kSyn) != 0;
  const uint32_t seq = syn ? f.isn : f.seq_next;
  SendSegment(f, ctl_.get(), flags, seq, 0, syn);
}

void TcpFlows::ResetUnknown(int family, const uint8_t* src, const uint8_t* dst,
                            const wire::TcpView& tcp, const MacAddr& ns_mac) {
  if (tcp.flags() & kRst) return;  // never answer a reset
  Flow f;
  f.key.family = static_cast<uint8_t>(family);
  f.key.ns_port = tcp.src_port();
  f.key.remote_port = tcp.dst_port();
  std::memcpy(f.key.ns_addr, src, AddrLen(family));
  std::memcpy(f.key.remote, dst, AddrLen(family));
  f.ns_mac = ns_mac;
  f.buf = 0;  // window 0
  f.buf_end = kBufferSize;
  ++counters_.resets_to_ns;
  if (tcp.flags() & kAck) {
    SendSegment(f, ctl_.get(), kRst, tcp.ack(), 0, false);
    return;
  }
  // RST|ACK acknowledging everything the segment occupied (RFC 9293
  // 3.10.7.1).
  uint32_t len = static_cast<uint32_t>(tcp.payload().size());
  if (tcp.flags() & kSyn) ++len;
  if (tcp.flags() & kFin) ++len;
  f.ns_next = tcp.seq() + len;
  SendSegment(f, ctl_.get(), kRst | kAck, 0, 0, false);
}

void TcpFlows::Push(uint32_t slot, Instant now) {
  Flow& f = flows_[slot];
  if (Closing(f)) return;
  // First, whatever else: acknowledged bytes left in the socket would close
  // its window to the server.
  DiscardAcked(f);
  if ((f.ev & kEvEstablished) == 0 || (f.ev & (kEvFinSent | kEvDrained)))
    return;
  const int family = f.key.family;
  const size_t off = PayloadOffset(family);
  iovec iov[kSendBatch];
  for (;;) {
    const int32_t avail = SeqDiff(f.seq_acked + f.ns_wnd, f.seq_next);
    if (avail <= 0) {
      // Zero window: probe it later (RFC 9293 3.8.6.1).
      if (f.rto_at.is_never()) Arm(f, now + kRtoMin);
      return;
    }
    // One segment per frame, or with offloads as many whole segments as a
    // TSO frame holds.
    const size_t cap =
        offload_ ? std::max<size_t>(f.mss, kMaxTsoPayload / f.mss * f.mss)
                 : f.mss;
    // No more than the device has room for (passt's stream queue): what
    // it dropped would have been read from the socket for nothing.
    const size_t room = sink_->room();
    int n = 0;
    size_t total = 0;
    size_t used = 0;
    while (n < kSendBatch && total < static_cast<size_t>(avail)) {
      const size_t len =
          std::min<size_t>(cap, static_cast<size_t>(avail) - total);
      if (room - std::min(room, used) < off + len + kFramingMargin) break;
      used += off + len + kFramingMargin;
      iov[n] = iovec{frames_.get() + static_cast<size_t>(n) * frame_size_ + off,
                     len};
      total += len;
      ++n;
    }
    if (n == 0) {
      // No room for a segment: the next ACK from the namespace (the queue
      // drains towards it) or the retry pushes again.
      f.ev |= kEvRetryPush;
      Due(now + kRetryPushDelay);
      return;
    }
    const size_t skip = peek_off_ok_ ? 0 : f.seq_next - f.seq_acked;
    const sock::Result peeked = sys_->Peek(f.fd, skip, iov, n);
    const ssize_t r = peeked.value;
    if (!peeked.ok()) {
      const int err = peeked.err;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        if ((f.ev & kEvRdHup) == 0) {
          f.ev |= kEvDrained;
          return;
        }
        // The peer's FIN came and nothing is left beyond what is in
        // flight: end of stream.
      } else {
        LOG_TRACE("%s: recv: %s, reset", Describe(f), strerror(err));
        Close(slot, false, true, "socket error");
        return;
      }
    }
    if (r <= 0) {
      f.ev |= kEvSockEof | kEvFinSent;
      Due(f.hdr.last + kFinTimeout);
      LOG_TRACE("%s: socket EOF, FIN to the namespace", Describe(f));
      SendFlags(f, kFin | kAck);
      f.fin_seq = f.seq_next++;
      if (SeqDiff(f.seq_next, f.seq_max) > 0) f.seq_max = f.seq_next;
      if (f.rto_at.is_never()) Arm(f, now + kRtoMin);
      return;
    }
    size_t left = static_cast<size_t>(r);
    uint32_t seq = f.seq_next;
    bool refused = false;
    for (int i = 0; i < n && left > 0; ++i) {
      const size_t len = std::min(left, iov[i].iov_len);
      uint8_t* frame = frames_.get() + static_cast<size_t>(i) * frame_size_;
      const bool last = len == left;
      if (!SendSegment(f, frame, kAck | (last ? kPsh : 0), seq, len, false)) {
        refused = true;
        break;
      }
      seq += static_cast<uint32_t>(len);
      left -= len;
      ++counters_.segments_to_ns;
    }
    if (SeqDiff(seq, f.seq_max) > 0) {
      counters_.bytes_to_ns += seq - f.seq_max;
      f.seq_max = seq;
    }
    f.seq_next = seq;
    if (f.rto_at.is_never()) Arm(f, now + kRtoMin);
    if (refused) {
      // The tap's queue is full: what did not go is sent again from here
      // at the next ACK or tick.
      if (peek_off_ok_) SetPeekOffset(f.fd, f.seq_next - f.seq_acked);
      f.ev |= kEvRetryPush;
      Due(now + kRetryPushDelay);
      return;
    }
    if (static_cast<size_t>(r) < total) {
      // All there was. The next peek waits for the next EPOLLIN (edge
      // triggered, so it comes for any new data), unless the peer's FIN is
      // in: then one more peek finds the end of the stream now.
      if (f.ev & kEvRdHup) continue;
      f.ev |= kEvDrained;
      return;
    }
  }
}

void TcpFlows::Rewind(uint32_t slot, Instant now) {
  Flow& f = flows_[slot];
  ++counters_.retransmits;
  f.seq_next = f.seq_acked;
  f.ev &= ~(kEvFinSent | kEvDrained);
  DiscardAcked(f);
  if (peek_off_ok_) SetPeekOffset(f.fd, 0);
  f.rto_at = Instant::Never();
  Push(slot, now);
}

}  // namespace pasta::tcp
