// (Named pcap_writer.h so that <pcap/pcap.h> still finds libpcap.)
// --pcap FILE: every frame through the tap, both ways, in a pcap file
// (libpcap's writer; Ethernet link type, nanosecond timestamps), readable by
// `tcpdump -r` and Wireshark.
//
// Record() appends to libpcap's stdio buffer; Flush() is called by the loop
// at the end of each wakeup that recorded something, so a killed process
// leaves a file that ends on a whole frame. The file is opened at start-up,
// before any sandboxing. Recording does not allocate.
#pragma once

#include <time.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace pasta::pcap {

class PcapWriter {
 public:
  // Creates (truncates) `path` and writes the file header. Allocates.
  static absl::StatusOr<std::unique_ptr<PcapWriter>> Open(
      const std::string& path);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends one frame with timestamp `ts` (CLOCK_REALTIME).
  void Record(absl::Span<const uint8_t> frame, const timespec& ts);
  // Appends one frame stamped now.
  void Record(absl::Span<const uint8_t> frame);
  // Writes buffered frames to the file if any were recorded since last time.
  void Flush();
  uint64_t frames() const { return frames_; }

 private:
  struct Handles;
  explicit PcapWriter(std::unique_ptr<Handles> h);
  std::unique_ptr<Handles> h_;
  bool dirty_ = false;
  uint64_t frames_ = 0;
};

}  // namespace pasta::pcap
