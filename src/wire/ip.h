// IPv4 and IPv6 headers as validated views, and the L4 views on top of them
// (UDP, TCP, ICMP/ICMPv6).
//
// Bounds contract: Parse() checks the buffer against the header's fixed size
// *and* against its own length fields (IPv4 IHL and total length, IPv6
// payload length and every extension header's length, UDP length, TCP data
// offset). A view's payload() is trimmed to what the header says, so
// Ethernet padding never reaches a protocol handler. After Parse() no
// accessor can read outside the buffer. Views borrow bytes; nothing here
// allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

namespace pasta::wire {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoNone6 = 59;

// Why a packet was not accepted by a parser: reported by the Parse*Checked
// variants so that drops can be counted and traced precisely.
enum class ParseError : uint8_t {
  kOk = 0,
  kTruncated,      // shorter than the header, or a length field overruns
  kBadVersion,     // IP version field wrong for the ethertype
  kBadLength,      // a length field smaller than its header
  kBadChecksum,    // IPv4 header checksum
  kFragment,       // a fragment (not reassembled by us)
  kTooManyExtHdrs  // IPv6 extension header chain too long
};
const char* ParseErrorName(ParseError e);

class Ipv4View {
 public:
  static constexpr size_t kMinHeader = 20;

  // Validates version 4, 20 <= IHL*4 <= total length <= buffer size, and the
  // header checksum. Fragments parse (is_fragment()) but callers drop them.
  static std::optional<Ipv4View> Parse(absl::Span<const uint8_t> packet,
                                       ParseError* error = nullptr);

  size_t header_len() const { return header_len_; }
  uint16_t total_len() const { return static_cast<uint16_t>(bytes_.size()); }
  uint8_t tos() const { return bytes_[1]; }
  uint16_t id() const { return LoadBe16(bytes_.data() + 4); }
  bool is_fragment() const {
    const uint16_t f = LoadBe16(bytes_.data() + 6);
    return (f & 0x2000) != 0 || (f & 0x1fff) != 0;
  }
  uint8_t ttl() const { return bytes_[8]; }
  uint8_t protocol() const { return bytes_[9]; }
  const uint8_t* src() const { return bytes_.data() + 12; }
  const uint8_t* dst() const { return bytes_.data() + 16; }
  absl::Span<const uint8_t> payload() const {
    return bytes_.subspan(header_len_);
  }
  // The pseudo-header sum for the payload's checksum.
  uint32_t PseudoSum() const {
    return PseudoSum4(src(), dst(), protocol(),
                      static_cast<uint16_t>(payload().size()));
  }

 private:
  Ipv4View(absl::Span<const uint8_t> bytes, size_t header_len)
      : bytes_(bytes), header_len_(header_len) {}
  absl::Span<const uint8_t> bytes_;  // trimmed to total length
  size_t header_len_;
};

class Ipv6View {
 public:
  static constexpr size_t kHeader = 40;
  static constexpr int kMaxExtHeaders = 8;

  // Validates version 6 and 40 + payload length <= buffer size, then walks
  // extension headers (hop-by-hop, routing, destination options, fragment)
  // with bounds checks, at most kMaxExtHeaders of them, to find the
  // upper-layer protocol. A fragment header makes is_fragment() true.
  static std::optional<Ipv6View> Parse(absl::Span<const uint8_t> packet,
                                       ParseError* error = nullptr);

  uint8_t hop_limit() const { return bytes_[7]; }
  const uint8_t* src() const { return bytes_.data() + 8; }
  const uint8_t* dst() const { return bytes_.data() + 24; }
  uint8_t protocol() const { return protocol_; }  // after extension headers
  bool is_fragment() const { return fragment_; }
  uint32_t flow_label() const { return LoadBe32(bytes_.data()) & 0xfffff; }
  absl::Span<const uint8_t> payload() const { return bytes_.subspan(l4_off_); }
  uint32_t PseudoSum() const {
    return PseudoSum6(src(), dst(), protocol(),
                      static_cast<uint32_t>(payload().size()));
  }

 private:
  Ipv6View(absl::Span<const uint8_t> bytes, size_t l4_off, uint8_t protocol,
           bool fragment)
      : bytes_(bytes),
        l4_off_(l4_off),
        protocol_(protocol),
        fragment_(fragment) {}
  absl::Span<const uint8_t> bytes_;  // trimmed to 40 + payload length
  size_t l4_off_;
  uint8_t protocol_;
  bool fragment_;
};

class UdpView {
 public:
  static constexpr size_t kHeader = 8;
  // Validates 8 <= length field <= buffer size; payload trimmed to it.
  static std::optional<UdpView> Parse(absl::Span<const uint8_t> segment,
                                      ParseError* error = nullptr);
  uint16_t src_port() const { return LoadBe16(bytes_.data()); }
  uint16_t dst_port() const { return LoadBe16(bytes_.data() + 2); }
  uint16_t checksum() const { return LoadBe16(bytes_.data() + 6); }
  absl::Span<const uint8_t> bytes() const { return bytes_; }
  absl::Span<const uint8_t> payload() const { return bytes_.subspan(kHeader); }

 private:
  explicit UdpView(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}
  absl::Span<const uint8_t> bytes_;
};

class TcpView {
 public:
  static constexpr size_t kMinHeader = 20;
  // Validates 20 <= data offset * 4 <= buffer size.
  static std::optional<TcpView> Parse(absl::Span<const uint8_t> segment,
                                      ParseError* error = nullptr);
  uint16_t src_port() const { return LoadBe16(bytes_.data()); }
  uint16_t dst_port() const { return LoadBe16(bytes_.data() + 2); }
  uint32_t seq() const { return LoadBe32(bytes_.data() + 4); }
  uint32_t ack() const { return LoadBe32(bytes_.data() + 8); }
  size_t header_len() const { return header_len_; }
  uint8_t flags() const { return bytes_[13]; }
  uint16_t window() const { return LoadBe16(bytes_.data() + 14); }
  absl::Span<const uint8_t> options() const {
    return bytes_.subspan(kMinHeader, header_len_ - kMinHeader);
  }
  absl::Span<const uint8_t> payload() const {
    return bytes_.subspan(header_len_);
  }

 private:
  TcpView(absl::Span<const uint8_t> bytes, size_t header_len)
      : bytes_(bytes), header_len_(header_len) {}
  absl::Span<const uint8_t> bytes_;
  size_t header_len_;
};

// ICMP (RFC 792) and ICMPv6 (RFC 4443) share the first 4 bytes (type, code,
// checksum); echo messages add identifier and sequence number.
class IcmpView {
 public:
  static constexpr size_t kHeader = 4;
  static constexpr size_t kEchoHeader = 8;
  static std::optional<IcmpView> Parse(absl::Span<const uint8_t> message,
                                       ParseError* error = nullptr);
  uint8_t type() const { return bytes_[0]; }
  uint8_t code() const { return bytes_[1]; }
  bool has_echo_fields() const { return bytes_.size() >= kEchoHeader; }
  // Echo identifier and sequence; only with has_echo_fields().
  uint16_t echo_id() const { return LoadBe16(bytes_.data() + 4); }
  uint16_t echo_seq() const { return LoadBe16(bytes_.data() + 6); }
  absl::Span<const uint8_t> bytes() const { return bytes_; }

 private:
  explicit IcmpView(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}
  absl::Span<const uint8_t> bytes_;
};

}  // namespace pasta::wire
