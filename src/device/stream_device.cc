#include "device/stream_device.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "wire/bytes.h"

namespace pasta::device {

namespace {

constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;
constexpr uint8_t kZeros[kMinStreamPadded] = {};

}  // namespace

StreamDevice::StreamDevice(UniqueFd fd, size_t write_buffer)
    : fd_(std::move(fd)),
      in_(new uint8_t[kStreamReadBuffer]),
      wcap_(std::max(write_buffer, kStreamPrefixLen + kMaxStreamFrame)) {
  out_.reset(new uint8_t[wcap_]);
  const int flags = fcntl(fd_.get(), F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) == 0)
    fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
}

ReadStatus StreamDevice::TakeFrame(absl::Span<const uint8_t>* frame) {
  const size_t have = rend_ - rstart_;
  if (have < kStreamPrefixLen) return ReadStatus::kAgain;
  const uint32_t len = wire::LoadBe32(in_.get() + rstart_);
  if (len < kMinStreamFrame || len > kMaxStreamFrame) {
    LOG_ERROR("stream: bad frame length %u, closing the connection", len);
    Fail(nullptr, 0);
    return ReadStatus::kError;
  }
  if (have < kStreamPrefixLen + len) return ReadStatus::kAgain;
  *frame = absl::MakeConstSpan(in_.get() + rstart_ + kStreamPrefixLen, len);
  rstart_ += kStreamPrefixLen + len;
  return ReadStatus::kFrame;
}

bool StreamDevice::has_buffered() const {
  if (state_ == State::kFailed) return false;
  const size_t have = rend_ - rstart_;
  if (have < kStreamPrefixLen) return false;
  const uint32_t len = wire::LoadBe32(in_.get() + rstart_);
  return len < kMinStreamFrame || len > kMaxStreamFrame ||
         have >= kStreamPrefixLen + len;
}

ReadStatus StreamDevice::Read(absl::Span<const uint8_t>* frame) {
  if (state_ == State::kFailed) return ReadStatus::kError;
  const ReadStatus buffered = TakeFrame(frame);
  if (buffered != ReadStatus::kAgain) return buffered;
  if (state_ == State::kEof) return ReadStatus::kEof;
  // No whole frame here: move the start of the next one to the front, where
  // the largest frame fits behind it, so that there is room to read.
  const size_t have = rend_ - rstart_;
  if (rstart_ > 0) {
    std::memmove(in_.get(), in_.get() + rstart_, have);
    rstart_ = 0;
    rend_ = have;
  }
  const ssize_t n =
      read(fd_.get(), in_.get() + rend_, kStreamReadBuffer - rend_);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return ReadStatus::kAgain;
  if (n < 0) {
    Fail("read", errno);
    return ReadStatus::kError;
  }
  if (n == 0) {
    if (have > 0)
      LOG_DEBUG("stream: peer closed with %d bytes of a frame unread", have);
    state_ = State::kEof;
    rstart_ = rend_ = 0;
    return ReadStatus::kEof;
  }
  rend_ += static_cast<size_t>(n);
  // kAgain if the frame is still not whole: then the read took all the
  // socket had, since there was room for the rest of the frame.
  return TakeFrame(frame);
}

bool StreamDevice::WriteFrame(absl::Span<const uint8_t> frame) {
  if (state_ == State::kFailed) {
    errno = EPIPE;
    return false;
  }
  if (frame.size() < kMinStreamFrame || frame.size() > kMaxStreamFrame) {
    errno = EMSGSIZE;
    return false;
  }
  const size_t pad =
      frame.size() < kMinStreamPadded ? kMinStreamPadded - frame.size() : 0;
  const size_t len = frame.size() + pad;
  const size_t total = kStreamPrefixLen + len;
  uint8_t prefix[kStreamPrefixLen];
  wire::StoreBe32(prefix, static_cast<uint32_t>(len));
  if (wend_ == wstart_ && !corked_) {
    // Nothing queued: straight to the socket, and what does not go waits.
    iovec iov[3] = {{prefix, kStreamPrefixLen},
                    {const_cast<uint8_t*>(frame.data()), frame.size()},
                    {const_cast<uint8_t*>(kZeros), pad}};
    msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = pad != 0 ? 3 : 2;
    ssize_t n = sendmsg(fd_.get(), &msg, kSendFlags);
    if (n == static_cast<ssize_t>(total)) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Fail("write", errno);
    // The buffer is empty and holds a largest frame: the rest fits.
    Queue(prefix, frame, pad, n < 0 ? 0 : static_cast<size_t>(n));
    return true;
  }
  if (wcap_ - (wend_ - wstart_) < total) {
    // Full: perhaps the socket has room by now (EPOLLOUT not yet handled).
    if (!OnWritable()) return false;
    if (wcap_ - (wend_ - wstart_) < total) {
      ++frames_dropped_;
      errno = ENOBUFS;
      return false;
    }
  }
  Queue(prefix, frame, pad, 0);
  return true;
}

void StreamDevice::Queue(const uint8_t* prefix, absl::Span<const uint8_t> frame,
                         size_t pad, size_t skip) {
  const size_t total = kStreamPrefixLen + frame.size() + pad;
  if (wcap_ - wend_ < total - skip) {
    std::memmove(out_.get(), out_.get() + wstart_, wend_ - wstart_);
    wend_ -= wstart_;
    wstart_ = 0;
  }
  // Copies the part of [offset, offset + size) of the frame's bytes that
  // lies at or after `skip`.
  size_t offset = 0;
  const auto put = [&](const uint8_t* data, size_t size) {
    if (offset + size > skip) {
      const size_t from = skip > offset ? skip - offset : 0;
      std::memcpy(out_.get() + wend_, data + from, size - from);
      wend_ += size - from;
    }
    offset += size;
  };
  put(prefix, kStreamPrefixLen);
  put(frame.data(), frame.size());
  put(kZeros, pad);
}

bool StreamDevice::WriteTcpOffloaded(absl::Span<const uint8_t> frame,
                                     size_t l4_offset, uint16_t segment,
                                     bool ipv6) {
  (void)frame;
  (void)l4_offset;
  (void)segment;
  (void)ipv6;
  errno = EOPNOTSUPP;
  return false;
}

bool StreamDevice::OnWritable() {
  if (state_ == State::kFailed) return false;
  while (wend_ != wstart_) {
    const ssize_t n =
        send(fd_.get(), out_.get() + wstart_, wend_ - wstart_, kSendFlags);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n < 0) return Fail("write", errno);
    wstart_ += static_cast<size_t>(n);
  }
  wstart_ = wend_ = 0;
  return true;
}

bool StreamDevice::Uncork() {
  corked_ = false;
  return OnWritable();
}

bool StreamDevice::Fail(const char* what, int err) {
  if (what != nullptr)
    LOG_ERROR("stream: %s: %s, closing the connection", what, strerror(err));
  state_ = State::kFailed;
  shutdown(fd_.get(), SHUT_RDWR);
  wstart_ = wend_ = 0;
  rstart_ = rend_ = 0;
  errno = err != 0 ? err : EPIPE;
  return false;
}

}  // namespace pasta::device
