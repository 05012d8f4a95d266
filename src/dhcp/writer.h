// Internal to src/dhcp: a bounds-checked appender over a caller's buffer.
// A write that does not fit is dropped and latches ok() to false, so builders
// write unconditionally and check once at the end. Never allocates.
#pragma once

#include <cstdint>
#include <cstring>

#include "absl/types/span.h"
#include "wire/bytes.h"

namespace pasta::dhcp::internal {

class Writer {
 public:
  explicit Writer(absl::Span<uint8_t> buf) : buf_(buf) {}

  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }

  void U8(uint8_t v) {
    if (uint8_t* p = Reserve(1)) *p = v;
  }
  void U16(uint16_t v) {
    if (uint8_t* p = Reserve(2)) wire::StoreBe16(p, v);
  }
  void U32(uint32_t v) {
    if (uint8_t* p = Reserve(4)) wire::StoreBe32(p, v);
  }
  void Bytes(const uint8_t* src, size_t n) {
    if (n == 0) return;
    if (uint8_t* p = Reserve(n)) std::memcpy(p, src, n);
  }
  void Bytes(absl::Span<const uint8_t> src) { Bytes(src.data(), src.size()); }
  void Zeros(size_t n) {
    if (n == 0) return;
    if (uint8_t* p = Reserve(n)) std::memset(p, 0, n);
  }
  // Overwrites a 16-bit field written earlier (a length placeholder).
  void PatchU16(size_t at, uint16_t v) {
    if (ok_ && at + 2 <= pos_) wire::StoreBe16(buf_.data() + at, v);
  }

 private:
  uint8_t* Reserve(size_t n) {
    if (!ok_ || n > buf_.size() - pos_) {
      ok_ = false;
      return nullptr;
    }
    uint8_t* p = buf_.data() + pos_;
    pos_ += n;
    return p;
  }

  absl::Span<uint8_t> buf_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace pasta::dhcp::internal
