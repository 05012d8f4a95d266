// Ethernet II frames as validated views.
//
// A view is made by Parse(), which checks the buffer is long enough for the
// header; after that no accessor can read out of bounds. The view borrows the
// bytes; it does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "wire/bytes.h"

namespace pasta::wire {

inline constexpr size_t kEthHeaderLen = 14;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

class EthernetView {
 public:
  // Returns a view if `frame` holds at least an Ethernet header.
  static std::optional<EthernetView> Parse(absl::Span<const uint8_t> frame) {
    if (frame.size() < kEthHeaderLen) return std::nullopt;
    return EthernetView(frame);
  }
  const uint8_t* dst() const { return frame_.data(); }
  const uint8_t* src() const { return frame_.data() + 6; }
  uint16_t ethertype() const { return LoadBe16(frame_.data() + 12); }
  absl::Span<const uint8_t> payload() const {
    return frame_.subspan(kEthHeaderLen);
  }
  size_t size() const { return frame_.size(); }

 private:
  explicit EthernetView(absl::Span<const uint8_t> frame) : frame_(frame) {}
  absl::Span<const uint8_t> frame_;
};

}  // namespace pasta::wire
