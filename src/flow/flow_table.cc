#include "flow/flow_table.h"

#include <sys/socket.h>

#include <cstdlib>

#include "common/sockaddr.h"

namespace pasta::flow {

FlowTable::FlowTable(SipKey key, size_t capacity, size_t indexed)
    : capacity_(capacity),
      entries_(MakeZeroedArray<Entry>(capacity)),
      kinds_(MakeZeroedArray<FlowKind>(capacity)),
      closing_(MakeZeroedArray<uint32_t>(capacity)),
      free_(MakeZeroedArray<uint32_t>(capacity)),
      pos_(MakeZeroedArray<uint32_t>(capacity)),
      index_(key, indexed != 0 && indexed < capacity ? indexed : capacity) {
  if (capacity == 0 || capacity > kMaxFlows) std::abort();
  for (size_t k = 1; k < kKinds; ++k)
    lists_[k] = MakeZeroedArray<uint32_t>(capacity);
}

uint32_t FlowTable::Take(FlowKind kind) {
  const uint32_t slot =
      free_count_ > 0 ? free_[--free_count_] : static_cast<uint32_t>(fresh_++);
  std::memset(entries_[slot].bytes, 0, kFlowDataSize);
  new (entries_[slot].bytes) FlowHeader{};
  header(slot).kind = kind;
  kinds_[slot] = kind;
  const size_t k = Index(kind);
  pos_[slot] = static_cast<uint32_t>(count_[k]);
  lists_[k][count_[k]++] = slot;
  ++size_;
  return slot;
}

void FlowTable::Release(uint32_t slot) {
  const size_t k = Index(kinds_[slot]);
  const uint32_t pos = pos_[slot];
  const uint32_t last = lists_[k][--count_[k]];
  lists_[k][pos] = last;
  pos_[last] = pos;
  kinds_[slot] = FlowKind::kFree;
  header(slot).kind = FlowKind::kFree;
  header(slot).state = 0;
  free_[free_count_++] = slot;
  --size_;
}

namespace {

const char* KindName(FlowKind kind) {
  switch (kind) {
    case FlowKind::kFree:
      return "free";
    case FlowKind::kTcp:
      return "tcp";
    case FlowKind::kSplice:
      return "splice";
    case FlowKind::kUdp:
      return "udp";
    case FlowKind::kRelay:
    case FlowKind::kRelayIn:
      return "udp relay";
    case FlowKind::kIcmp:
      return "icmp";
    case FlowKind::kCount:
      break;
  }
  return "?";
}

}  // namespace

std::string FormatEnds(FlowKind kind, int family, const uint8_t* from,
                       uint16_t from_port, const uint8_t* to,
                       uint16_t to_port) {
  return absl::StrCat(KindName(kind), " ",
                      FormatEndpoint(family, from, from_port), " -> ",
                      FormatEndpoint(family, to, to_port));
}

std::string FormatFlow(const FlowHeader& h) {
  const FlowSide& ns = h.side[kNsSide];
  return FormatEnds(h.kind, h.family, ns.peer, ns.peer_port, ns.ours,
                    ns.our_port);
}

bool FlowTable::Defer(uint32_t slot) {
  FlowHeader& h = header(slot);
  if (h.state & kFlowClosing) return false;
  h.state |= kFlowClosing;
  // Each slot is queued at most once until reaped: capacity_ bounds it.
  closing_[closing_count_++] = slot;
  return true;
}

size_t FlowTable::Reap() {
  // By index: a free function may (though none does) defer another flow.
  size_t i = 0;
  for (; i < closing_count_; ++i) {
    const uint32_t slot = closing_[i];
    const Reaper& r = reapers_[Index(kinds_[slot])];
    if (r.fn != nullptr) r.fn(r.ctx, slot);
    Release(slot);
  }
  closing_count_ = 0;
  return i;
}

}  // namespace pasta::flow
