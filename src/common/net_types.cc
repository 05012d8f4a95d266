#include "common/net_types.h"

#include <arpa/inet.h>

#include "absl/strings/str_format.h"

namespace pasta {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<MacAddr> ParseMac(std::string_view text) {
  // Exactly 17 characters: six pairs of hex digits separated by ':'.
  if (text.size() != 17) return std::nullopt;
  MacAddr mac;
  for (int i = 0; i < 6; ++i) {
    const int hi = HexDigit(text[i * 3]);
    const int lo = HexDigit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return mac;
}

std::string FormatMac(const MacAddr& mac) {
  const auto& b = mac.bytes;
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
                         b[3], b[4], b[5]);
}

std::optional<IpAddr> ParseIp(std::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr addr;
  if (inet_pton(AF_INET, buf, addr.bytes.data()) == 1) {
    addr.family = AF_INET;
    return addr;
  }
  if (inet_pton(AF_INET6, buf, addr.bytes.data()) == 1) {
    addr.family = AF_INET6;
    return addr;
  }
  return std::nullopt;
}

std::string FormatIp(const IpAddr& addr) {
  char buf[INET6_ADDRSTRLEN];
  if (addr.family != AF_INET && addr.family != AF_INET6) return "<none>";
  if (inet_ntop(addr.family, addr.bytes.data(), buf, sizeof(buf)) == nullptr)
    return "<bad>";
  return buf;
}

bool SamePrefix(const IpAddr& a, const IpAddr& b, int prefix_len) {
  if (a.family != b.family || prefix_len < 0) return false;
  const int bits = static_cast<int>(a.size()) * 8;
  if (prefix_len > bits) prefix_len = bits;
  const int full = prefix_len / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), full) != 0) return false;
  const int rest = prefix_len % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (b.bytes[full] & mask);
}

}  // namespace pasta
