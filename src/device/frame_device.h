// The frame device: where Ethernet frames to and from the namespace (or the
// guest) actually go. The one virtual seam below tap::Tap, so that the
// dispatcher and the protocol handlers above it never know which device
// carries their frames.
//
// Theory of operation. A device owns one descriptor and the buffers it
// reads into, all allocated when it is made. Reading hands frames up one at
// a time as spans into the device's own buffer (no copy), valid until the
// next call on the device. Writing takes one whole frame and either sends
// it, queues it whole, or drops it whole; a frame is never half sent. The
// devices:
//   TapDevice     a tap fd, one frame per read()/writev(), optionally behind
//                 a virtio-net header; partial checksums and TSO frames
//                 (can_offload()). pasta. (tap_device.h)
//   StreamDevice  a UNIX stream socket, each frame preceded by its length as
//                 a 32-bit big-endian integer: passt, QEMU's
//                 `-netdev stream`. Frames split or batched across reads are
//                 reassembled; short writes are queued in a bounded buffer
//                 that the loop flushes on EPOLLOUT (wants_writable(),
//                 OnWritable()). (stream_device.h)
//   NullDevice    no descriptor, nothing read, every write dropped: the
//                 absent tap of --splice-only. (null_device.h)
// Reading, writing and flushing allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace pasta::device {

// Largest frame a device hands up: a 65535-byte IP packet (the most a TSO
// frame from the namespace holds, and more than 65520 bytes of MTU) plus the
// Ethernet header, rounded up. Callers size their own frame buffers by it.
inline constexpr size_t kMaxFrame = 65536 + 64;

// What one FrameDevice::Read() found.
enum class ReadStatus : uint8_t {
  kFrame,  // one frame, in *frame
  kRunt,   // a read too short to hold even the device's framing (a tap read
           // shorter than its virtio-net header): nothing to hand up, and
           // the caller counts it as a runt frame
  kAgain,  // nothing more for now (EAGAIN, EINTR): wait for EPOLLIN
  kEof,    // the other side closed the device
  kError,  // a fatal read error or a framing error (logged); the device is
           // unusable and should be closed
};

class FrameDevice {
 public:
  virtual ~FrameDevice() = default;

  // The descriptor to watch with epoll: EPOLLIN always, EPOLLOUT while
  // wants_writable().
  virtual int fd() const = 0;

  // Returns the next frame the device has, reading from the descriptor only
  // when its buffer holds no whole frame (at most one read per call). On
  // kFrame, *frame points into the device's buffer and stays valid until the
  // next call on the device; otherwise *frame is left alone. After kEof or
  // kError the device is done: the caller stops reading and closes it.
  // Allocates nothing.
  virtual ReadStatus Read(absl::Span<const uint8_t>* frame) = 0;

  // Writes one complete Ethernet frame, or queues it whole to be written on
  // OnWritable(). Returns false if it was dropped (queue full, device gone),
  // with errno saying why. At most one write syscall, plus a flush of the
  // queue when it is full; allocates nothing.
  virtual bool WriteFrame(absl::Span<const uint8_t> frame) = 0;

  // Whether WriteTcpOffloaded() is available (a tap with virtio-net headers).
  virtual bool can_offload() const = 0;

  // Writes a TCP frame that carries only a partial checksum, and if
  // `segment` is non-zero is a TSO frame of `segment`-byte segments, as
  // wire::FrameSink::TrySendTcpOffloaded() describes; `l4_offset` is where
  // the TCP header starts. Precondition: can_offload(). Returns false if the
  // frame was dropped, with errno saying why.
  virtual bool WriteTcpOffloaded(absl::Span<const uint8_t> frame,
                                 size_t l4_offset, uint16_t segment,
                                 bool ipv6) = 0;

  // Whether frames wait for the descriptor to become writable. Only
  // WriteFrame() and OnWritable() change it; the loop compares it with what
  // it asked epoll for after each round of events, adds EPOLLOUT while it
  // holds (EPOLL_CTL_MOD) and calls OnWritable() on EPOLLOUT.
  virtual bool wants_writable() const { return false; }

  // Writes what waits, as far as the descriptor takes it (until EAGAIN).
  // Returns false if the device failed (logged; later reads return kError,
  // and the loop treats it as a closed device). Allocates nothing.
  virtual bool OnWritable() { return true; }

  // Batching, for a device where every write is a system call that could
  // carry many frames (the stream socket): after Cork(), WriteFrame()
  // queues frames, and Uncork() writes the queue with as few calls as the
  // descriptor takes (the rest waits for OnWritable(), as a short write's
  // does). The loop corks the device around each round of events, so that
  // the frames one round makes leave together, at its end. Returns false
  // from Uncork() if the device failed (as OnWritable()). No-ops elsewhere.
  virtual void Cork() {}
  virtual bool Uncork() { return true; }

  // Bytes WriteFrame() takes now without dropping, its framing included
  // (wire::FrameSink::room()); unbounded for devices without a queue.
  virtual size_t write_room() const { return static_cast<size_t>(-1); }

  // Frames written that the device dropped because it had no room for
  // them (the stream's full write buffer); 0 for devices that never do.
  virtual uint64_t frames_dropped() const { return 0; }

  // Whether Read() has a frame (or a framing error) to report without
  // reading from the descriptor: a batch that stopped early left it in the
  // device's buffer, and no EPOLLIN will come for it, so the loop calls
  // Read() again. Costs nothing; false for devices without a buffer.
  virtual bool has_buffered() const { return false; }
};

}  // namespace pasta::device
