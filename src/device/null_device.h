// The device of --splice-only: no tap at all. Nothing ever arrives (it has
// no descriptor, so the loop never watches it) and every frame written to
// it is dropped, with errno ENODEV. The handlers still hold a frame sink;
// in that mode they are given no namespace address, so they have nothing
// to send it.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "device/frame_device.h"

namespace pasta::device {

class NullDevice final : public FrameDevice {
 public:
  // -1: not to be registered with epoll.
  int fd() const override { return -1; }
  ReadStatus Read(absl::Span<const uint8_t>* /*frame*/) override {
    return ReadStatus::kAgain;
  }
  bool WriteFrame(absl::Span<const uint8_t> /*frame*/) override {
    errno = ENODEV;
    return false;
  }
  bool can_offload() const override { return false; }
  bool WriteTcpOffloaded(absl::Span<const uint8_t> /*frame*/,
                         size_t /*l4_offset*/, uint16_t /*segment*/,
                         bool /*ipv6*/) override {
    errno = ENODEV;
    return false;
  }
};

}  // namespace pasta::device
