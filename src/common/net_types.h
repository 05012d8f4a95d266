// Small value types shared by configuration, netlink and the tap: MAC and IP
// addresses with parsing and formatting. Control plane; formatting allocates.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace pasta {

struct MacAddr {
  std::array<uint8_t, 6> bytes{};
  bool operator==(const MacAddr&) const = default;
  bool IsZero() const { return bytes == std::array<uint8_t, 6>{}; }
};

// Parses "aa:bb:cc:dd:ee:ff" (hex digits, either case). nullopt if malformed.
std::optional<MacAddr> ParseMac(std::string_view text);
std::string FormatMac(const MacAddr& mac);

// An IPv4 or IPv6 address. `family` is AF_INET or AF_INET6; for AF_INET only
// the first four bytes of `bytes` are used (network order).
struct IpAddr {
  int family = AF_UNSPEC;
  std::array<uint8_t, 16> bytes{};

  static IpAddr V4(const in_addr& a) {
    IpAddr r;
    r.family = AF_INET;
    std::memcpy(r.bytes.data(), &a, 4);
    return r;
  }
  static IpAddr V6(const in6_addr& a) {
    IpAddr r;
    r.family = AF_INET6;
    std::memcpy(r.bytes.data(), &a, 16);
    return r;
  }
  in_addr v4() const {
    in_addr a;
    std::memcpy(&a, bytes.data(), 4);
    return a;
  }
  in6_addr v6() const {
    in6_addr a;
    std::memcpy(&a, bytes.data(), 16);
    return a;
  }
  size_t size() const { return family == AF_INET ? 4 : 16; }
  bool IsV4() const { return family == AF_INET; }
  bool IsV6() const { return family == AF_INET6; }
  bool operator==(const IpAddr&) const = default;
};

// Parses a dotted-quad IPv4 or a textual IPv6 address. nullopt if neither.
std::optional<IpAddr> ParseIp(std::string_view text);
std::string FormatIp(const IpAddr& addr);

// True if `a` and `b` share the first `prefix_len` bits (same family only).
bool SamePrefix(const IpAddr& a, const IpAddr& b, int prefix_len);

}  // namespace pasta
