// The deferred reap (FlowTable::Defer / Reap): one mechanism for every
// kind of flow. No sockets, no namespace: a small handler stands in for
// the real ones, with the same entry-point check (Live) they make.
#include <cstdint>
#include <vector>

#include "flow/flow_table.h"
#include "gtest/gtest.h"

namespace pasta::flow {
namespace {

struct Conn {
  FlowHeader hdr;
  int fd = -1;
};
struct Key {
  uint8_t family;
  uint8_t pad = 0;
  uint16_t port;
};

// A handler as the real ones are built: its own kind's view of the table,
// a free function registered for Reap, and an event entry point that
// ignores flows closed earlier in the batch.
class FakeHandler {
 public:
  FakeHandler(FlowTable* table, FlowKind kind, size_t cap)
      : flows_(table, kind, cap), index_(table, kind) {
    flows_.SetReaper<&FakeHandler::Free>(this);
  }
  ~FakeHandler() { flows_.ClearReaper(); }

  // A new flow for `port`, or -1 (and a refusal counted) when full.
  int64_t Open(uint16_t port, int fd) {
    if (flows_.full()) {
      ++refused;
      return -1;
    }
    const uint32_t slot = flows_.Take();
    flows_[slot].fd = fd;
    index_.Insert(Key{4, 0, port}, slot);
    return slot;
  }
  int64_t Find(uint16_t port) const { return index_.Find(Key{4, 0, port}); }
  void Close(uint32_t slot, uint16_t port) {
    if (!flows_.Defer(slot)) return;
    index_.Erase(Key{4, 0, port});
  }
  void OnEvent(uint32_t slot) {
    if (!flows_.Live(slot)) return;
    events.push_back(slot);
  }

  KindSlots<Conn> flows_;
  KindIndex<Key> index_;
  std::vector<int> freed;        // fds, in the order freed
  std::vector<uint32_t> events;  // slots that took an event
  int refused = 0;

 private:
  void Free(uint32_t slot) { freed.push_back(flows_[slot].fd); }
};

TEST(ReapTest, DeferTwiceIsOneFree) {
  FlowTable table(SipKey{1, 2}, 8);
  FakeHandler h(&table, FlowKind::kUdp, 8);
  const auto s = static_cast<uint32_t>(h.Open(53, 10));
  EXPECT_TRUE(table.Defer(s));
  EXPECT_FALSE(table.Defer(s));  // already closing: nothing more
  h.Close(s, 53);                // a handler's second close does nothing
  EXPECT_EQ(table.closing_count(), 1u);
  EXPECT_EQ(table.Reap(), 1u);
  EXPECT_EQ(h.freed, std::vector<int>{10});
  EXPECT_EQ(table.Reap(), 0u);  // nothing left to free
  EXPECT_EQ(h.freed.size(), 1u);
}

TEST(ReapTest, StaleEventOnADeferredSlotIsIgnored) {
  FlowTable table(SipKey{1, 2}, 8);
  FakeHandler h(&table, FlowKind::kIcmp, 8);
  const auto a = static_cast<uint32_t>(h.Open(1, 10));
  const auto b = static_cast<uint32_t>(h.Open(2, 11));
  // One batch: a closes on its first event; its second, stale, is ignored
  // while b's still arrive. The slot stays taken until the reap.
  h.OnEvent(a);
  h.Close(a, 1);
  h.OnEvent(a);
  h.OnEvent(b);
  EXPECT_EQ(h.events, (std::vector<uint32_t>{a, b}));
  EXPECT_TRUE(h.flows_.InUse(a));
  EXPECT_TRUE(h.flows_.Closing(a));
  EXPECT_EQ(h.flows_[a].fd, 10);  // its data kept until freed
  EXPECT_TRUE(h.freed.empty());
  table.Reap();
  // After the reap the slot is free: an event naming it still finds nothing.
  h.OnEvent(a);
  EXPECT_EQ(h.events.size(), 2u);
  EXPECT_FALSE(h.flows_.InUse(a));
  EXPECT_FALSE(table.closing(a));
}

TEST(ReapTest, ReapFreesEachKindThroughItsOwnFunctionAndSlotsAreReused) {
  FlowTable table(SipKey{1, 2}, 8);
  FakeHandler tcp(&table, FlowKind::kTcp, 8);
  FakeHandler udp(&table, FlowKind::kUdp, 8);
  const auto t = static_cast<uint32_t>(tcp.Open(80, 20));
  const auto u = static_cast<uint32_t>(udp.Open(53, 21));
  tcp.Close(t, 80);
  udp.Close(u, 53);
  EXPECT_EQ(table.size(), 2u);  // held until the reap
  EXPECT_EQ(table.Reap(), 2u);
  EXPECT_EQ(tcp.freed, std::vector<int>{20});
  EXPECT_EQ(udp.freed, std::vector<int>{21});
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(tcp.flows_.size(), 0u);
  EXPECT_EQ(udp.flows_.size(), 0u);
  // The freed slot is handed out again, open and fresh.
  const auto again = static_cast<uint32_t>(udp.Open(53, 22));
  EXPECT_TRUE(again == t || again == u);
  EXPECT_TRUE(udp.flows_.Live(again));
  EXPECT_EQ(udp.flows_[again].fd, 22);
}

TEST(ReapTest, TheIndexNoLongerFindsAClosingFlow) {
  FlowTable table(SipKey{1, 2}, 8);
  FakeHandler h(&table, FlowKind::kUdp, 8);
  const auto a = static_cast<uint32_t>(h.Open(53, 10));
  EXPECT_EQ(h.Find(53), a);
  h.Close(a, 53);
  EXPECT_EQ(h.Find(53), -1);
  // The same key before the reap makes a new flow in another slot.
  const int64_t b = h.Open(53, 11);
  ASSERT_GE(b, 0);
  EXPECT_NE(b, a);
  EXPECT_EQ(h.Find(53), b);
  table.Reap();
  EXPECT_EQ(h.freed, std::vector<int>{10});
  EXPECT_EQ(h.Find(53), b);
  EXPECT_TRUE(h.flows_.Live(static_cast<uint32_t>(b)));
}

TEST(ReapTest, FullTableWithDeferredEntriesRefusesCleanlyUntilTheReap) {
  FlowTable table(SipKey{1, 2}, 4);
  FakeHandler h(&table, FlowKind::kTcp, 4);
  std::vector<uint32_t> slots;
  for (uint16_t p = 1; p <= 4; ++p)
    slots.push_back(static_cast<uint32_t>(h.Open(p, p)));
  EXPECT_TRUE(table.full());
  EXPECT_EQ(h.Open(5, 5), -1);
  h.Close(slots[1], 2);
  h.Close(slots[3], 4);
  // Deferred entries still hold their slots: refused, and counted, as a
  // full table is.
  EXPECT_TRUE(table.full());
  EXPECT_EQ(h.Open(6, 6), -1);
  EXPECT_EQ(h.refused, 2);
  EXPECT_EQ(table.closing_count(), 2u);
  EXPECT_EQ(table.Reap(), 2u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_FALSE(table.full());
  EXPECT_GE(h.Open(7, 7), 0);
  EXPECT_GE(h.Open(8, 8), 0);
  EXPECT_EQ(h.Open(9, 9), -1);
  EXPECT_EQ(h.refused, 3);
}

TEST(ReapTest, IdleExpirySkipsClosingFlows) {
  FlowTable table(SipKey{1, 2}, 8);
  FakeHandler h(&table, FlowKind::kUdp, 8);
  const Instant t0 = Instant() + Seconds(100);
  const auto a = static_cast<uint32_t>(h.Open(1, 10));
  const auto b = static_cast<uint32_t>(h.Open(2, 11));
  h.flows_[a].hdr.last = t0;
  h.flows_[b].hdr.last = t0 + Seconds(5);
  h.Close(a, 1);
  std::vector<uint32_t> closed;
  const Instant next = ExpireIdle(h.flows_, t0 + Seconds(10), Seconds(10),
                                  [&](uint32_t s) { closed.push_back(s); });
  // a is idle long enough but already closing: not closed a second time,
  // and not counted in the next deadline either.
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(next, t0 + Seconds(15));
}

TEST(ReapTest, AKindWithoutAFreeFunctionIsReleasedAlone) {
  FlowTable table(SipKey{1, 2}, 4);
  KindSlots<Conn> relay(&table, FlowKind::kRelay, 4);
  const uint32_t s = relay.Take();
  EXPECT_TRUE(relay.Defer(s));
  relay.Reap();
  EXPECT_FALSE(relay.InUse(s));
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace pasta::flow
