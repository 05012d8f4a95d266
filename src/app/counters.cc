#include "app/counters.h"

#include "absl/strings/str_format.h"

namespace pasta::app {

std::vector<std::string> CounterLines(const Run& run) {
  std::vector<std::string> lines;
  const auto& c = run.tap->counters();
  lines.push_back(absl::StrFormat(
      "tap: %u frames, %u bytes read, %u frames sent; %u dropped "
      "without handler, %u dropped by the device (no room)",
      c.frames, c.bytes, c.sent,
      c.drops[static_cast<size_t>(tap::DropReason::kNoHandler)],
      run.tap->device().frames_dropped()));
  if (run.udp) {
    const udp::Counters& u = run.udp->counters();
    lines.push_back(absl::StrFormat(
        "udp: %u datagrams sent (%u GSO sends), %u received; dropped: %u "
        "busy, %u socket errors, %u too big, %u table full",
        u.sent, u.gso_sends, u.received, u.dropped_busy, u.dropped_socket,
        u.dropped_too_big, u.dropped_table_full));
  }
  if (run.tcp) {
    const tcp::Counters& t = run.tcp->counters();
    lines.push_back(absl::StrFormat(
        "tcp: %u flows, %u connects failed; %u bytes to sockets, %u to the "
        "namespace in %u segments, %u retransmissions; %u buffered, %u "
        "held out of order, %u dropped out of order, %u without buffer; %u "
        "resets sent, %u received, %u timeouts, %u refused (table full)",
        t.flows_opened, t.connect_failed, t.bytes_to_socket, t.bytes_to_ns,
        t.segments_to_ns, t.retransmits, t.buffered, t.out_of_order,
        t.dropped_out_of_order, t.dropped_no_buffer, t.resets_to_ns,
        t.resets_from_ns, t.timeouts, t.dropped_table_full));
  }
  if (run.splice) {
    const tcp::SpliceCounters& sc = run.splice->counters();
    lines.push_back(absl::StrFormat(
        "splice: %u flows, %u bytes; %u refused, %u connects failed, %u "
        "resets",
        sc.flows, sc.bytes, sc.refused, sc.connect_failed, sc.resets));
  }
  return lines;
}

}  // namespace pasta::app
