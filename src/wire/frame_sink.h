// Where frames towards the namespace go: the tap in the program, a recorder
// in tests. The one virtual seam between protocol handlers and the device.
#pragma once

#include <cstdint>

#include "absl/types/span.h"

namespace pasta::wire {

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Sends one complete Ethernet frame to the namespace. Best effort: a full
  // queue drops the frame (the namespace's protocols recover).
  virtual void SendFrame(absl::Span<const uint8_t> frame) = 0;
  // Same, but says whether the frame went out (false: dropped, e.g. the
  // device's queue is full), for senders that retransmit (TCP).
  virtual bool TrySendFrame(absl::Span<const uint8_t> frame) {
    SendFrame(frame);
    return true;
  }
};

}  // namespace pasta::wire
