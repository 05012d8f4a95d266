// Where frames towards the namespace go: the tap in the program, a recorder
// in tests. The one virtual seam between protocol handlers and the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

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

  // How many bytes of frames (headers included; a device's own framing is
  // its margin) the sink takes now without dropping any: a sender that
  // would read data from a socket only to see its frames dropped sends no
  // more than this and tries again when the namespace's next ACK comes.
  // Unbounded for a tap, whose writes the kernel takes or drops itself.
  virtual size_t room() const { return std::numeric_limits<size_t>::max(); }

  // Whether TrySendTcpOffloaded() is available (a tap with virtio-net
  // headers). Without it, senders fill checksums and keep to the MTU.
  virtual bool can_offload() const { return false; }

  // Sends a TCP frame whose checksum field holds only the folded
  // pseudo-header sum (a partial checksum, as the kernel's own TSO frames
  // carry): the namespace's kernel treats it as verified, and completes it
  // if it forwards the packet. `l4_offset` is where the TCP header starts.
  // If `segment` is non-zero, the payload is larger than that and the
  // frame is a TSO frame of `segment`-byte segments. Only when
  // can_offload(); returns false if the frame was dropped.
  virtual bool TrySendTcpOffloaded(absl::Span<const uint8_t> frame,
                                   size_t l4_offset, uint16_t segment,
                                   bool ipv6) {
    (void)l4_offset;
    (void)segment;
    (void)ipv6;
    return TrySendFrame(frame);
  }
};

}  // namespace pasta::wire
