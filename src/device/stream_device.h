// The stream device (passt, QEMU's `-netdev stream`): Ethernet frames over a
// UNIX stream socket, each preceded by its length in bytes as a 32-bit
// big-endian integer (the Ethernet header counts, the prefix itself does
// not).
//
// Reading: one read() fills a buffer with as much as the socket has; Read()
// then hands up the whole frames in it one by one and keeps a frame that is
// not all there yet (moved to the front of the buffer, so that the largest
// frame always fits behind it) until more arrives. A length below
// kMinStreamFrame or above kMaxStreamFrame cannot be resynchronised from:
// like upstream passt, the device logs it, shuts the connection down (the
// peer sees EOF) and reports kError from then on.
//
// Writing: with nothing queued, a frame goes straight to the socket with one
// sendmsg() (prefix, frame, padding). Whatever a short write leaves, or the
// whole frame on EAGAIN, goes into a bounded write buffer; while it holds
// anything, new frames are appended to it behind it (keeping their order)
// and wants_writable() asks the loop for EPOLLOUT, on which OnWritable()
// writes it out. A frame that does not fit is dropped whole and counted
// (frames_dropped()); the buffer is never smaller than one largest frame,
// so a frame that has started to go always finishes. Frames shorter than 60
// bytes (the Ethernet minimum without FCS) are padded with zeros, as
// upstream passt does, since a guest's NIC may drop runts. No offloads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/types/span.h"
#include "common/fd.h"
#include "device/frame_device.h"

namespace pasta::device {

// The length prefix in front of every frame.
inline constexpr size_t kStreamPrefixLen = 4;
// Shortest and longest frame accepted from the peer: an Ethernet header, and
// a 65535-byte IP packet behind one. Upstream passt takes at most 65535
// bytes in all; QEMU sends frames of the guest's MTU plus the header.
inline constexpr size_t kMinStreamFrame = 14;
inline constexpr size_t kMaxStreamFrame = 65535 + 14;
// Frames we send shorter than this are padded with zeros.
inline constexpr size_t kMinStreamPadded = 60;
// The read buffer: room for two largest frames, so that one read() brings
// in many small ones.
inline constexpr size_t kStreamReadBuffer =
    2 * (kStreamPrefixLen + kMaxStreamFrame);
// The default write buffer, 1 MiB: what one round of events makes at full
// speed (16 largest frames), corked (FrameDevice::Cork()), and a few
// default UNIX socket buffers.
inline constexpr size_t kDefaultStreamWriteBuffer = 1024 * 1024;

class StreamDevice final : public FrameDevice {
 public:
  // `fd` is a connected stream socket, made non-blocking here. The write
  // buffer holds `write_buffer` bytes, at least one largest frame with its
  // prefix. Allocates both buffers.
  explicit StreamDevice(UniqueFd fd,
                        size_t write_buffer = kDefaultStreamWriteBuffer);

  int fd() const override { return fd_.get(); }

  // At most one read() per call, only when no whole frame is buffered.
  // kEof when the peer closed (a frame it left unfinished is dropped, with
  // a debug line); kError on a read error or a bad length (logged, and the
  // connection shut down).
  ReadStatus Read(absl::Span<const uint8_t>* frame) override;
  // Sends or queues `frame` whole. False (dropped) if it is shorter than an
  // Ethernet header or longer than kMaxStreamFrame (EMSGSIZE), if the write
  // buffer has no room for it even after trying to flush it (ENOBUFS,
  // counted in frames_dropped()), or if the device failed (the error, then
  // EPIPE; logged and shut down).
  bool WriteFrame(absl::Span<const uint8_t> frame) override;
  bool can_offload() const override { return false; }
  // Not available (can_offload() is false): drops the frame (EOPNOTSUPP).
  bool WriteTcpOffloaded(absl::Span<const uint8_t> frame, size_t l4_offset,
                         uint16_t segment, bool ipv6) override;
  bool wants_writable() const override { return wend_ != wstart_; }
  // The write buffer's free bytes: frames with their 4-byte prefixes.
  size_t write_room() const override { return wcap_ - (wend_ - wstart_); }
  // Writes the queued bytes until the socket is full (send() until EAGAIN).
  bool OnWritable() override;
  // Corked, WriteFrame() copies every frame into the write buffer (a copy
  // costs less than a system call and the peer's wake-up per frame);
  // Uncork() sends it.
  void Cork() override { corked_ = true; }
  bool Uncork() override;

  bool has_buffered() const override;

  // Frames dropped because the write buffer was full.
  uint64_t frames_dropped() const override { return frames_dropped_; }
  // Bytes waiting in the write buffer.
  size_t pending() const { return wend_ - wstart_; }

 private:
  enum class State : uint8_t { kOpen, kEof, kFailed };

  // Hands up the next whole frame in the read buffer: kFrame, kAgain if
  // there is none, kError on a bad length (after Fail()).
  ReadStatus TakeFrame(absl::Span<const uint8_t>* frame);
  // Logs `what`, shuts the socket down both ways and forgets what was
  // queued. Returns false, for the caller to return.
  bool Fail(const char* what, int err);
  // Appends `frame` with its prefix and padding, skipping the first `skip`
  // bytes of that (what a short write already sent). The caller has made
  // sure it fits.
  void Queue(const uint8_t* prefix, absl::Span<const uint8_t> frame, size_t pad,
             size_t skip);

  UniqueFd fd_;
  State state_ = State::kOpen;
  std::unique_ptr<uint8_t[]> in_;   // kStreamReadBuffer bytes
  size_t rstart_ = 0;               // first byte not handed up
  size_t rend_ = 0;                 // end of what was read
  std::unique_ptr<uint8_t[]> out_;  // wcap_ bytes
  size_t wcap_;
  size_t wstart_ = 0;  // first byte not yet written
  size_t wend_ = 0;    // end of what is queued
  uint64_t frames_dropped_ = 0;
  bool corked_ = false;
};

}  // namespace pasta::device
