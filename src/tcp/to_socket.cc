// Namespace -> socket: payload from the tap to the flow's socket, what the
// socket refuses into the flow's buffer, out-of-order segments held and
// merged (see tcp.h, "Namespace -> socket").
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

void TcpFlows::HandlePayload(uint32_t slot, const wire::TcpView& tcp,
                             Instant now) {
  (void)now;
  Flow& f = flows_[slot];
  absl::Span<const uint8_t> data = tcp.payload();
  bool fin = (tcp.flags() & kFin) != 0;
  if (data.empty() && !fin) {
    // An empty segment before our ACK point is a keepalive or a window
    // probe (sequence number one below): it must be answered (RFC 9293
    // 3.8.4, 3.8.6.1), or a lost window update stalls the namespace.
    if (SeqDiff(tcp.seq(), f.ns_next) < 0) Queue(slot, kEvAckDue);
    return;
  }
  if (f.ev & kEvNsFin) {
    // Everything up to the FIN was taken: this is a retransmission.
    Queue(slot, kEvAckDue);
    return;
  }
  const int32_t off = SeqDiff(tcp.seq(), f.ns_next);
  if (off > 0) {
    // A gap: keep the segment (a FIN with it is dropped and comes again)
    // and repeat our ACK at once, with SACK blocks where permitted, so that
    // the namespace resends only what is missing.
    const bool kept = StoreOutOfOrder(f, static_cast<uint32_t>(off), data);
    LOG_TRACE("%s: segment %u bytes ahead, %s, duplicate ACK", Describe(f), off,
              kept ? "kept" : "dropped");
    SendAckNow(f);
    return;
  }
  const size_t trim = static_cast<size_t>(-static_cast<int64_t>(off));
  if (trim > data.size()) {
    // Entirely old, FIN included.
    Queue(slot, kEvAckDue);
    return;
  }
  data = data.subspan(trim);
  if (!data.empty()) {
    size_t taken = 0;
    if (f.buf < 0) {
      const sock::Result n = sys_->Send(f.fd, data);
      if (!n.ok()) {
        const int err = n.err;
        if (err != EAGAIN && err != EWOULDBLOCK) {
          LOG_TRACE("%s: send: %s, reset", Describe(f), strerror(err));
          Close(slot, true, true, "send failed");
          return;
        }
      } else {
        taken = static_cast<size_t>(n.value);
      }
    }
    // With a buffer holding nothing unsent (it holds out-of-order data),
    // the socket is not known to be full: write what arrives at once.
    bool flush = f.buf >= 0 && f.buf_start == f.buf_end;
    if (taken < data.size()) {
      if (f.buf < 0) AttachBuffer(f);
      if (f.buf >= 0) {
        const size_t want = std::min<size_t>(data.size() - taken, OurWindow(f));
        if (f.buf_end + want > kBufferSize) Compact(f);
        std::memcpy(BufferData(f.buf) + f.buf_end, data.data() + taken, want);
        f.buf_end += static_cast<uint32_t>(want);
        taken += want;
        ++counters_.buffered;
      } else {
        ++counters_.dropped_no_buffer;
      }
    }
    f.ns_next += static_cast<uint32_t>(taken);
    counters_.bytes_to_socket += taken;
    if (f.ooo_n > 0) {
      const uint32_t before = f.ns_next;
      MergeOutOfOrder(f);
      counters_.bytes_to_socket += f.ns_next - before;
      flush = flush || f.ns_next != before;
    }
    if (flush && !FlushBuffer(slot)) return;
    if (taken < data.size()) {
      // What we could not hold is not acknowledged: the namespace sends it
      // again.
      fin = false;
      LOG_TRACE("%s: kept %zu of %zu bytes", Describe(f), taken, data.size());
    }
  }
  if (fin) {
    ++f.ns_next;
    f.ev |= kEvNsFin;
    LOG_TRACE("%s: tap FIN", Describe(f));
    // Nothing can follow a FIN: data held beyond it was bogus.
    f.ooo_n = 0;
    if (f.buf >= 0 && f.buf_start == f.buf_end) ReleaseBuffer(f);
    if (f.buf < 0) {
      sys_->ShutdownWrite(f.fd);
      f.ev |= kEvSockShut;
    }
    SendAckNow(f);
    MaybeFinish(slot);
    return;
  }
  Queue(slot, kEvAckDue);
}

bool TcpFlows::FlushBuffer(uint32_t slot) {
  Flow& f = flows_[slot];
  if (f.buf < 0) return true;
  const uint32_t before = f.buf_end - f.buf_start;
  while (f.buf_start < f.buf_end) {
    const sock::Result n =
        sys_->Send(f.fd, absl::MakeConstSpan(BufferData(f.buf) + f.buf_start,
                                             f.buf_end - f.buf_start));
    if (!n.ok()) {
      const int err = n.err;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      LOG_TRACE("%s: send: %s, reset", Describe(f), strerror(err));
      Close(slot, true, true, "send failed");
      return false;
    }
    f.buf_start += static_cast<uint32_t>(n.value);
  }
  if (f.buf_end - f.buf_start == before) return true;
  if (f.buf_start == f.buf_end && f.ooo_n == 0) {
    ReleaseBuffer(f);
    if ((f.ev & kEvNsFin) && (f.ev & kEvSockShut) == 0) {
      sys_->ShutdownWrite(f.fd);
      f.ev |= kEvSockShut;
      MaybeFinish(slot);
    }
  }
  Queue(slot, kEvAckDue);  // window update
  return true;
}

void TcpFlows::ReleaseBuffer(Flow& f) {
  if (f.buf < 0) return;
  buffer_free_.push_back(f.buf);
  f.buf = -1;
  f.buf_start = f.buf_end = 0;
  f.ooo_n = 0;
}

bool TcpFlows::AttachBuffer(Flow& f) {
  if (buffer_free_.empty()) return false;
  f.buf = buffer_free_.back();
  buffer_free_.pop_back();
  f.buf_start = f.buf_end = 0;
  f.ooo_n = 0;
  return true;
}

void TcpFlows::Compact(Flow& f) {
  uint32_t extent = f.buf_end - f.buf_start;
  if (f.ooo_n > 0)
    extent += static_cast<uint32_t>(SeqDiff(f.ooo_end[f.ooo_n - 1], f.ns_next));
  uint8_t* b = BufferData(f.buf);
  std::memmove(b, b + f.buf_start, extent);
  f.buf_end -= f.buf_start;
  f.buf_start = 0;
}

bool TcpFlows::StoreOutOfOrder(Flow& f, uint32_t off,
                               absl::Span<const uint8_t> data) {
  const uint32_t window = OurWindow(f);
  if (data.empty() || off >= window || (f.buf < 0 && !AttachBuffer(f))) {
    ++counters_.dropped_out_of_order;
    return false;
  }
  const uint32_t len =
      static_cast<uint32_t>(std::min<size_t>(data.size(), window - off));
  uint32_t s = f.ns_next + off, e = s + len;
  // Insert [s, e) into the sorted ranges, merging what it touches.
  int first = 0;
  while (first < f.ooo_n && SeqDiff(f.ooo_end[first], s) < 0) ++first;
  int last = first;  // ranges [first, last) merge with the new one
  while (last < f.ooo_n && SeqDiff(f.ooo_start[last], e) <= 0) {
    if (SeqDiff(f.ooo_start[last], s) < 0) s = f.ooo_start[last];
    if (SeqDiff(f.ooo_end[last], e) > 0) e = f.ooo_end[last];
    ++last;
  }
  const int n = f.ooo_n - (last - first) + 1;
  if (n > kMaxOutOfOrder) {
    ++counters_.dropped_out_of_order;
    return false;
  }
  if (f.buf_end + off + len > kBufferSize) Compact(f);
  std::memcpy(BufferData(f.buf) + f.buf_end + off, data.data(), len);
  // Shift the ranges after the merged ones into place.
  const int shift = 1 - (last - first);
  if (shift > 0) {
    for (int i = f.ooo_n - 1; i >= last; --i) {
      f.ooo_start[i + shift] = f.ooo_start[i];
      f.ooo_end[i + shift] = f.ooo_end[i];
    }
  } else if (shift < 0) {
    for (int i = last; i < f.ooo_n; ++i) {
      f.ooo_start[i + shift] = f.ooo_start[i];
      f.ooo_end[i + shift] = f.ooo_end[i];
    }
  }
  f.ooo_start[first] = s;
  f.ooo_end[first] = e;
  f.ooo_n = static_cast<uint8_t>(n);
  f.ooo_last = static_cast<uint8_t>(first);
  ++counters_.out_of_order;
  return true;
}

void TcpFlows::MergeOutOfOrder(Flow& f) {
  int taken = 0;
  while (taken < f.ooo_n && SeqDiff(f.ooo_start[taken], f.ns_next) <= 0) {
    const int32_t gain = SeqDiff(f.ooo_end[taken], f.ns_next);
    if (gain > 0) {
      f.buf_end += static_cast<uint32_t>(gain);
      f.ns_next = f.ooo_end[taken];
    }
    ++taken;
  }
  if (taken == 0) return;
  for (int i = taken; i < f.ooo_n; ++i) {
    f.ooo_start[i - taken] = f.ooo_start[i];
    f.ooo_end[i - taken] = f.ooo_end[i];
  }
  f.ooo_n = static_cast<uint8_t>(f.ooo_n - taken);
  f.ooo_last = 0;
}

}  // namespace pasta::tcp
