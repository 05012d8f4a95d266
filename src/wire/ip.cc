#include "wire/ip.h"

namespace pasta::wire {

namespace {

template <typename T>
std::optional<T> Fail(ParseError* error, ParseError e) {
  if (error != nullptr) *error = e;
  return std::nullopt;
}

// IPv6 extension headers that we walk over (RFC 8200 section 4). ESP and AH
// end the walk: what follows is not ours to read.
bool IsExtensionHeader(uint8_t nh) {
  return nh == 0 /* hop-by-hop */ || nh == 43 /* routing */ ||
         nh == 44 /* fragment */ || nh == 60 /* destination options */;
}

}  // namespace

const char* ParseErrorName(ParseError e) {
  switch (e) {
    case ParseError::kOk:
      return "ok";
    case ParseError::kTruncated:
      return "truncated";
    case ParseError::kBadVersion:
      return "bad IP version";
    case ParseError::kBadLength:
      return "bad length field";
    case ParseError::kBadChecksum:
      return "bad header checksum";
    case ParseError::kFragment:
      return "fragment";
    case ParseError::kTooManyExtHdrs:
      return "too many extension headers";
  }
  return "?";
}

std::optional<Ipv4View> Ipv4View::Parse(absl::Span<const uint8_t> packet,
                                        ParseError* error) {
  if (packet.size() < kMinHeader)
    return Fail<Ipv4View>(error, ParseError::kTruncated);
  if ((packet[0] >> 4) != 4)
    return Fail<Ipv4View>(error, ParseError::kBadVersion);
  const size_t ihl = static_cast<size_t>(packet[0] & 0x0f) * 4;
  const size_t total = LoadBe16(packet.data() + 2);
  if (ihl < kMinHeader || total < ihl)
    return Fail<Ipv4View>(error, ParseError::kBadLength);
  if (total > packet.size())
    return Fail<Ipv4View>(error, ParseError::kTruncated);
  if (Finish(SumBytes(packet.subspan(0, ihl))) != 0)
    return Fail<Ipv4View>(error, ParseError::kBadChecksum);
  if (error != nullptr) *error = ParseError::kOk;
  return Ipv4View(packet.subspan(0, total), ihl);
}

std::optional<Ipv6View> Ipv6View::Parse(absl::Span<const uint8_t> packet,
                                        ParseError* error) {
  if (packet.size() < kHeader)
    return Fail<Ipv6View>(error, ParseError::kTruncated);
  if ((packet[0] >> 4) != 6)
    return Fail<Ipv6View>(error, ParseError::kBadVersion);
  const size_t total = kHeader + LoadBe16(packet.data() + 4);
  if (total > packet.size())
    return Fail<Ipv6View>(error, ParseError::kTruncated);
  packet = packet.subspan(0, total);
  uint8_t nh = packet[6];
  size_t off = kHeader;
  bool fragment = false;
  for (int i = 0; IsExtensionHeader(nh); ++i) {
    if (i == kMaxExtHeaders)
      return Fail<Ipv6View>(error, ParseError::kTooManyExtHdrs);
    if (off + 8 > total) return Fail<Ipv6View>(error, ParseError::kTruncated);
    // Fragment headers are 8 bytes; the others say (length + 1) * 8.
    const size_t len =
        nh == 44 ? 8 : (static_cast<size_t>(packet[off + 1]) + 1) * 8;
    if (off + len > total) return Fail<Ipv6View>(error, ParseError::kTruncated);
    if (nh == 44) fragment = true;
    nh = packet[off];
    off += len;
  }
  if (error != nullptr) *error = ParseError::kOk;
  return Ipv6View(packet, off, nh, fragment);
}

std::optional<UdpView> UdpView::Parse(absl::Span<const uint8_t> segment,
                                      ParseError* error) {
  if (segment.size() < kHeader)
    return Fail<UdpView>(error, ParseError::kTruncated);
  const size_t len = LoadBe16(segment.data() + 4);
  if (len < kHeader) return Fail<UdpView>(error, ParseError::kBadLength);
  if (len > segment.size()) return Fail<UdpView>(error, ParseError::kTruncated);
  if (error != nullptr) *error = ParseError::kOk;
  return UdpView(segment.subspan(0, len));
}

std::optional<TcpView> TcpView::Parse(absl::Span<const uint8_t> segment,
                                      ParseError* error) {
  if (segment.size() < kMinHeader)
    return Fail<TcpView>(error, ParseError::kTruncated);
  const size_t hl = static_cast<size_t>(segment[12] >> 4) * 4;
  if (hl < kMinHeader) return Fail<TcpView>(error, ParseError::kBadLength);
  if (hl > segment.size()) return Fail<TcpView>(error, ParseError::kTruncated);
  if (error != nullptr) *error = ParseError::kOk;
  return TcpView(segment, hl);
}

std::optional<IcmpView> IcmpView::Parse(absl::Span<const uint8_t> message,
                                        ParseError* error) {
  if (message.size() < kHeader)
    return Fail<IcmpView>(error, ParseError::kTruncated);
  if (error != nullptr) *error = ParseError::kOk;
  return IcmpView(message);
}

}  // namespace pasta::wire
