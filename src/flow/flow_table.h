// FlowTable: the one table that holds every flow of a run, whatever its
// kind (TCP over the tap, spliced TCP, UDP, the two UDP loopback relays,
// ICMP echo), and the one keyed index that finds them.
//
// Theory of operation:
// - An entry is kFlowDataSize bytes holding a handler's own Flow struct
//   (flat, trivially destructible, no virtual anything), which begins with
//   the header every entry shares, FlowHeader `hdr`: the kind, the state
//   bits the table keeps (closing), the flow's two sides as it maps them
//   (the namespace's and the host's: addresses and ports), its last
//   activity and, for a kind that keeps one, its next deadline. What works
//   on any kind (idle expiry, closing, FormatFlow in traces) reads the
//   header; the rest of the struct is the kind's own. A handler sees its
//   kind through a typed view, KindSlots<T>, which offers what it needs:
//   take, release, defer, look up by slot, and the dense list of its own
//   flows. A slot number is the same in every view and in every epoll
//   reference (loop/epoll_ref.h). The table also keeps each slot's kind in
//   a compact array of its own, so that any number an event carries can be
//   checked without touching an entry.
// - The index maps a FlowKey (the kind plus the handler's own key, as
//   bytes) to a slot: open addressing with keyed SipHash (flow_index.h), so
//   the namespace cannot force collisions. KindIndex<Key> is a handler's
//   typed view of it.
// - Limits: the table holds kMaxFlows entries in all (as upstream's flow
//   table); a view may cap its kind lower where a resource demands it (each
//   TCP flow holds a descriptor, a spliced one four), and says full() when
//   either limit is reached, so a handler refuses new flows cleanly and
//   counts them as before.
// - Memory: every array is calloc'd zero at construction (ZeroedArray), so
//   only the pages that flows touch become resident; nothing allocates
//   afterwards. Slots are handed out lowest first and reused last-freed
//   first, so the entries in use stay packed at the start of the table;
//   the index, whose keys hash anywhere, is sized for the flows that can
//   have keys (the kinds' caps), not for the whole table. Releasing a slot runs
//   no destructor: per-kind data must be trivially destructible.
// - Closing is deferred, for every kind alike: a handler closing a flow
//   erases its key (a new packet for the same ends makes a new flow) and
//   calls Defer(), which sets the entry's closing bit and queues it. The
//   entry keeps its slot, its data and its sockets until the loop calls
//   Reap() once per iteration, after the batch of events: an event for
//   the flow later in the same batch finds the bit set and is ignored
//   (the handlers check it at their entry points), idle expiry skips it,
//   and the slot cannot be handed to a new flow while an event may still
//   name it. Reap() calls the kind's free function (registered by its
//   handler with SetReaper: a plain function and a context, no virtual
//   call), which closes what the flow holds, then releases the slot. The
//   queue is sized with the table, so deferring never allocates.
#pragma once

#include <sys/socket.h>

#include <cstddef>  // offsetof
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "absl/types/span.h"
#include "common/time.h"
#include "flow/flow_index.h"
#include "flow/siphash.h"
#include "flow/zeroed_array.h"

namespace pasta::flow {

enum class FlowKind : uint8_t {
  kFree = 0,  // no flow
  kTcp,       // TCP over the tap (tcp::TcpFlows)
  kSplice,    // TCP spliced between the loopbacks (tcp::SpliceFlows)
  kUdp,       // UDP over the tap (udp::UdpFlows)
  kRelay,     // UDP between the loopbacks, -U (udp::UdpRelay)
  kRelayIn,   // UDP between the loopbacks, -u from the host's loopback
  kIcmp,      // ICMP echo (icmp::IcmpFlows)
  kCount,
};

// Flows in all, as upstream's table.
inline constexpr size_t kMaxFlows = 128 * 1024;
// Bytes of per-kind data an entry holds.
inline constexpr size_t kFlowDataSize = 256;
// Bytes of a handler's own key the index holds.
inline constexpr size_t kFlowKeySize = 40;

// The key of a TCP or UDP flow over the tap: its two ends as the namespace
// sees them. Hashed and compared as bytes: value-initialise it.
struct PortKey {
  uint8_t family;  // AF_INET or AF_INET6 as a byte
  uint8_t pad = 0;
  uint16_t ns_port;
  uint16_t remote_port;
  uint16_t pad2 = 0;
  uint8_t ns_addr[16];
  uint8_t remote[16];  // as the namespace sees it
};
static_assert(sizeof(PortKey) == 40);

// One side of a flow as the flow maps it: the peer's end and ours on that
// side. Addresses are 16 bytes, IPv4 in the first 4; zero (and port 0)
// where the side has no such end or it is not known (our end of a socket
// bound to any address).
struct FlowSide {
  uint8_t peer[16] = {};
  uint8_t ours[16] = {};
  uint16_t peer_port = 0;
  uint16_t our_port = 0;
};
// FlowHeader::side's indexes: the side towards the namespace (the tap, or
// its loopback), and the side towards the host (its sockets).
inline constexpr int kNsSide = 0;
inline constexpr int kHostSide = 1;

// The header every entry begins with (the first member, `hdr`, of every
// kind's Flow struct). The table sets `kind` and keeps `state`; the
// handler fills the rest where it makes the flow and keeps `last` (and
// `deadline`, if its kind has one) up to date.
struct FlowHeader {
  FlowKind kind = FlowKind::kFree;
  uint8_t state = 0;   // kFlowClosing
  uint8_t family = 0;  // AF_INET or AF_INET6 as a byte
  uint8_t pad = 0;
  FlowSide side[2];  // [kNsSide], [kHostSide]
  Instant last;      // last activity
  // The kind's earliest own deadline for this flow (TCP: handshake,
  // retransmission, FIN, idle), as of its last look; Never() if it keeps
  // none (UDP, ICMP and the relays expire from `last`).
  Instant deadline = Instant::Never();
};
// Fills `side` of `h` (family AF_INET or AF_INET6): the peer's end and
// ours; a null address leaves it zero (unknown). Allocates nothing.
inline void SetSide(FlowHeader& h, int side, int family, const uint8_t* peer,
                    uint16_t peer_port, const uint8_t* ours,
                    uint16_t our_port) {
  const size_t len = family == AF_INET ? 4 : 16;
  FlowSide& s = h.side[side];
  h.family = static_cast<uint8_t>(family);
  if (peer != nullptr) std::memcpy(s.peer, peer, len);
  if (ours != nullptr) std::memcpy(s.ours, ours, len);
  s.peer_port = peer_port;
  s.our_port = our_port;
}

// FlowHeader::state bits.
inline constexpr uint8_t kFlowClosing = 1;  // deferred, waiting for Reap()

// "tcp 198.51.100.2:40000 -> 203.0.113.1:80": the kind, then the flow's
// namespace side (the namespace's end, then the end it talks to), for
// traces. Allocates.
std::string FormatFlow(const FlowHeader& h);
// The same from the parts, for a flow not made yet. Allocates.
std::string FormatEnds(FlowKind kind, int family, const uint8_t* from,
                       uint16_t from_port, const uint8_t* to, uint16_t to_port);

// What the index is keyed by: the kind, then the handler's key as bytes
// (zero beyond its size). No padding: hashed and compared as bytes.
struct FlowKey {
  FlowKind kind = FlowKind::kFree;
  uint8_t pad[3] = {};
  uint8_t bytes[kFlowKeySize] = {};
};
static_assert(sizeof(FlowKey) == 4 + kFlowKeySize);

// Frees what the flow in `slot` holds (its sockets, buffers) before the
// table releases the slot; `ctx` is the handler that registered it.
using ReapFn = void (*)(void* ctx, uint32_t slot);

class FlowTable {
 public:
  // Room for `capacity` flows (<= kMaxFlows < 2^23, the epoll reference's
  // index), of which at most `indexed` (0: all) have keys in the index: the
  // sum of the caps of the kinds that look flows up by key. The index is
  // sized for those only, since hashing spreads keys over all its pages
  // and churn makes every page resident. Allocates the (lazily resident)
  // arrays.
  explicit FlowTable(SipKey key, size_t capacity = kMaxFlows,
                     size_t indexed = 0);
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;
  ~FlowTable() = default;

  size_t capacity() const { return capacity_; }
  bool full() const { return size_ == capacity_; }
  size_t size() const { return size_; }
  size_t count(FlowKind kind) const { return count_[Index(kind)]; }

  // Takes a free entry for `kind` (not kFree): a FlowHeader of that kind,
  // the rest zero-filled. The caller checked !full().
  uint32_t Take(FlowKind kind);
  // Gives `slot` (in use) back. The last flow of its kind's in_use() list
  // moves into its place: to release while walking it, walk backwards.
  void Release(uint32_t slot);

  // Marks `slot` (in use) closing and queues it for Reap(). Returns false,
  // and does nothing, if it was already closing. Costs O(1), allocates
  // nothing.
  bool Defer(uint32_t slot);
  // Whether `slot` is closing (deferred, not yet reaped); false for a free
  // slot or any number out of range.
  bool closing(uint64_t slot) const {
    return kind(slot) != FlowKind::kFree &&
           (header(static_cast<uint32_t>(slot)).state & kFlowClosing) != 0;
  }
  // The header of `slot` (in use).
  FlowHeader& header(uint32_t slot) {
    return *std::launder(reinterpret_cast<FlowHeader*>(entries_[slot].bytes));
  }
  const FlowHeader& header(uint32_t slot) const {
    return *std::launder(
        reinterpret_cast<const FlowHeader*>(entries_[slot].bytes));
  }
  // Flows deferred and not yet reaped.
  size_t closing_count() const { return closing_count_; }
  // `fn(ctx, slot)` frees a flow of `kind` at Reap() (null: nothing to
  // free beyond the slot). A handler registers itself when made and
  // unregisters when destroyed.
  void SetReaper(FlowKind kind, ReapFn fn, void* ctx) {
    reapers_[Index(kind)] = Reaper{fn, ctx};
  }
  // Frees every deferred flow, in the order deferred: its kind's ReapFn,
  // then Release(). Call once per loop iteration, after the events.
  // Returns how many it freed. Allocates nothing.
  size_t Reap();

  // The kind of `slot`; kFree for a free slot or any number out of range.
  FlowKind kind(uint64_t slot) const {
    return slot < capacity_ ? kinds_[slot] : FlowKind::kFree;
  }
  void* data(uint32_t slot) { return entries_[slot].bytes; }
  const void* data(uint32_t slot) const { return entries_[slot].bytes; }
  // The slots of `kind` in use, in no particular order.
  absl::Span<const uint32_t> in_use(FlowKind kind) const {
    return absl::MakeConstSpan(lists_[Index(kind)].get(), count(kind));
  }

  // The index. Find returns the slot or -1; Insert needs `k` absent; Erase
  // says whether `k` was there.
  int64_t Find(const FlowKey& k) const { return index_.Find(k); }
  void Insert(const FlowKey& k, uint32_t slot) { index_.Insert(k, slot); }
  bool Erase(const FlowKey& k) { return index_.Erase(k); }

 private:
  struct alignas(16) Entry {
    unsigned char bytes[kFlowDataSize];
  };
  struct Reaper {
    ReapFn fn = nullptr;
    void* ctx = nullptr;
  };
  static constexpr size_t kKinds = static_cast<size_t>(FlowKind::kCount);
  static size_t Index(FlowKind kind) { return static_cast<size_t>(kind); }

  size_t capacity_;
  ZeroedArray<Entry> entries_;
  ZeroedArray<FlowKind> kinds_;
  ZeroedArray<uint32_t> closing_;  // deferred slots, in order
  size_t closing_count_ = 0;
  Reaper reapers_[kKinds];
  ZeroedArray<uint32_t> free_;           // released slots, a stack
  ZeroedArray<uint32_t> pos_;            // per slot: index in its kind's list
  ZeroedArray<uint32_t> lists_[kKinds];  // per kind: dense list of slots
  size_t count_[kKinds] = {};
  size_t free_count_ = 0;
  size_t fresh_ = 0;  // slots [fresh_, capacity_) never used yet
  size_t size_ = 0;
  FlowIndex<FlowKey> index_;
};

// A handler's typed view of its own kind's entries: the interface of a
// table of T of its own, capped at `cap` flows of this kind.
template <typename T>
class KindSlots {
  static_assert(sizeof(T) <= kFlowDataSize, "raise kFlowDataSize");
  static_assert(alignof(T) <= 16);
  static_assert(std::is_trivially_destructible_v<T>);
  // The header first, so that the table reads it in any entry.
  static_assert(std::is_standard_layout_v<T>);
  static_assert(std::is_same_v<decltype(T::hdr), FlowHeader>);

 public:
  KindSlots(FlowTable* table, FlowKind kind, size_t cap)
      : table_(table), kind_(kind), cap_(cap) {}

  bool full() const { return size() >= cap_ || table_->full(); }
  size_t size() const { return table_->count(kind_); }
  size_t cap() const { return cap_; }

  // Takes a free slot, as T{} with its header's kind set. The caller
  // checked !full().
  uint32_t Take() {
    const uint32_t slot = table_->Take(kind_);
    T* t = new (table_->data(slot)) T{};
    static_assert(offsetof(T, hdr) == 0);
    t->hdr.kind = kind_;
    return slot;
  }
  // Gives `slot` (one of ours, in use, never published to the loop) back
  // at once; see FlowTable::Release. A flow the loop may have an event
  // for is closed with Defer() instead.
  void Release(uint32_t slot) { table_->Release(slot); }
  // Closes `slot` (one of ours) at the end of the loop iteration; see
  // FlowTable::Defer. False if it was already closing.
  bool Defer(uint32_t slot) { return table_->Defer(slot); }
  // Whether `slot` is one of our flows (any value is safe to ask about).
  bool InUse(uint64_t slot) const { return table_->kind(slot) == kind_; }
  // Whether `slot` is one of our flows and open (not deferred): what an
  // event entry point checks.
  bool Live(uint64_t slot) const { return InUse(slot) && !Closing(slot); }
  bool Closing(uint64_t slot) const { return table_->closing(slot); }
  // Registers `(handler->*Free)(slot)` as our kind's free function for
  // FlowTable::Reap (see SetReaper); ClearReaper() unregisters it (call it
  // from the handler's destructor).
  template <auto Free, typename H>
  void SetReaper(H* handler) {
    table_->SetReaper(
        kind_,
        [](void* ctx, uint32_t slot) { (static_cast<H*>(ctx)->*Free)(slot); },
        handler);
  }
  void ClearReaper() { table_->SetReaper(kind_, nullptr, nullptr); }
  // Frees every deferred flow of the table (all kinds): FlowTable::Reap.
  void Reap() { table_->Reap(); }

  T& operator[](uint32_t slot) {
    return *std::launder(static_cast<T*>(table_->data(slot)));
  }
  const T& operator[](uint32_t slot) const {
    return *std::launder(static_cast<const T*>(table_->data(slot)));
  }
  absl::Span<const uint32_t> in_use() const { return table_->in_use(kind_); }

 private:
  FlowTable* table_;
  FlowKind kind_;
  size_t cap_;
};

// Closes, through `close(slot)` (which defers the slot), every open flow
// of `flows` idle for `timeout` at `now` (its header's `last` that long
// ago), and
// returns when the next of the others expires: Never() if none is left.
// Flows already closing are skipped. One pass, backwards (a release
// would move the last flow, already seen, into the freed place).
template <typename T, typename CloseFn>
Instant ExpireIdle(KindSlots<T>& flows, Instant now, Duration timeout,
                   CloseFn close) {
  Instant next = Instant::Never();
  for (size_t k = flows.size(); k-- > 0;) {
    const uint32_t slot = flows.in_use()[k];
    if (flows.Closing(slot)) continue;
    const Instant due = flows[slot].hdr.last + timeout;
    if (now >= due) {
      close(slot);
    } else {
      next = Earlier(next, due);
    }
  }
  return next;
}

// A handler's typed view of the index: its own Key (trivially copyable,
// no padding, at most kFlowKeySize bytes) under its kind.
template <typename Key>
class KindIndex {
  static_assert(sizeof(Key) <= kFlowKeySize);
  static_assert(std::is_trivially_copyable_v<Key>);

 public:
  KindIndex(FlowTable* table, FlowKind kind) : table_(table), kind_(kind) {}

  int64_t Find(const Key& k) const { return table_->Find(Make(k)); }
  void Insert(const Key& k, uint32_t slot) {
    table_->Insert(Make(k), slot);
    ++size_;
  }
  void Erase(const Key& k) {
    if (table_->Erase(Make(k))) --size_;
  }
  // Keys of this kind stored.
  size_t size() const { return size_; }

 private:
  FlowKey Make(const Key& k) const {
    FlowKey fk;
    fk.kind = kind_;
    std::memcpy(fk.bytes, &k, sizeof(Key));
    return fk;
  }

  FlowTable* table_;
  FlowKind kind_;
  size_t size_ = 0;
};

// The table a handler works on: the run's, or, given none (a handler made
// on its own, as in unit tests), a private one of `capacity` flows.
class TableRef {
 public:
  TableRef(FlowTable* shared, SipKey key, size_t capacity)
      : own_(shared != nullptr ? nullptr
                               : std::make_unique<FlowTable>(key, capacity)),
        table_(shared != nullptr ? shared : own_.get()) {}
  FlowTable* get() const { return table_; }

 private:
  std::unique_ptr<FlowTable> own_;
  FlowTable* table_;
};

}  // namespace pasta::flow
