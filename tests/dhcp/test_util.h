// Helpers shared by the DHCP tests: byte-vector building and option lookup.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "common/net_types.h"

namespace pasta::dhcp::testing {

using Bytes = std::vector<uint8_t>;

// Concatenates byte lists: Cat({0x35, 1, 1}, Zeros(3), Str("abc")).
inline Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline Bytes Zeros(size_t n) { return Bytes(n, 0); }
inline Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }
// The bytes of a string literal, embedded NULs included, without the
// terminating one. DNS names read well with octal escapes for the label
// lengths: Raw("\3www\7example\3org\0").
template <size_t N>
Bytes Raw(const char (&s)[N]) {
  return Bytes(s, s + N - 1);
}
inline Bytes Addr(const char* text) {
  const IpAddr a = *ParseIp(text);
  return Bytes(a.bytes.begin(), a.bytes.begin() + a.size());
}

}  // namespace pasta::dhcp::testing
