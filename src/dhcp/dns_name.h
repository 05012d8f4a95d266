// Domain names in DNS wire format (RFC 1035 3.1: length-prefixed labels ending
// in a zero byte), as carried by DHCPv4 option 119 (RFC 3397), DHCPv4 option
// 81 (RFC 4702), DHCPv6 OPTION_DOMAIN_LIST (RFC 3646) and OPTION_CLIENT_FQDN
// (RFC 4704). Names are encoded once, at start-up; the packet handlers only
// copy the bytes. We never compress (RFC 3397 allows it, RFC 3646 forbids it),
// so one encoding serves both protocols.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pasta::dhcp {

inline constexpr size_t kMaxLabel = 63;      // RFC 1035 2.3.4
inline constexpr size_t kMaxWireName = 255;  // RFC 1035 2.3.4, incl. lengths

// Appends the wire encoding of `name` ("example.org" or "example.org.") to
// `out`. Returns false and leaves `out` unchanged if the name is not valid:
// empty, the root alone ("."), an empty label ("a..b", ".a"), a label longer
// than 63 bytes or an encoding longer than 255 bytes (253 characters of text).
// Label contents are not restricted further. Allocates (grows `out`).
bool AppendDnsName(std::string_view name, std::vector<uint8_t>& out);

// Encodes `names` one after the other, skipping invalid ones (each skipped
// name is logged as a warning). Allocates; meant for start-up.
std::vector<uint8_t> EncodeDnsNames(const std::vector<std::string>& names);

}  // namespace pasta::dhcp
