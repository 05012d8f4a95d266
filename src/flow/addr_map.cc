#include "flow/addr_map.h"

#include <arpa/inet.h>

#include <cstring>

namespace pasta::flow {

namespace {
constexpr uint16_t kDnsPort = 53;
}  // namespace

bool Matches(const IpAddr& a, int family, const uint8_t* addr) {
  return a.family == family &&
         std::memcmp(a.bytes.data(), addr, AddrLen(family)) == 0;
}

bool IsLoopback(int family, const uint8_t* a) {
  if (family == AF_INET) return a[0] == 127;
  return std::memcmp(a, &in6addr_loopback, 16) == 0;
}

void StoreLoopback(int family, uint8_t* out) {
  if (family == AF_INET) {
    const in_addr lo{htonl(INADDR_LOOPBACK)};
    std::memcpy(out, &lo, 4);
  } else {
    std::memcpy(out, &in6addr_loopback, 16);
  }
}

bool IsValidRemote(int family, const uint8_t* a) {
  if (family == AF_INET) {
    if (a[0] == 0 || a[0] == 127) return false;
    return a[0] < 224;  // not multicast, reserved or broadcast
  }
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(a, kZero, 16) == 0) return false;
  if (IsLoopback(AF_INET6, a)) return false;
  if (a[0] == 0xff) return false;  // multicast
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0,    0,
                                          0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, kMapped, 12) != 0;  // not IPv4-mapped
}

bool AllowedDestination(const AddressMap& m, int family, const uint8_t* dst) {
  return IsValidRemote(family, dst) || Matches(m.map_host(family), family, dst);
}

bool MapDestination(const AddressMap& m, int family, const uint8_t* dst,
                    uint16_t port, uint8_t* target) {
  const size_t len = AddrLen(family);
  std::memcpy(target, dst, len);
  const bool v4 = family == AF_INET;
  const IpAddr& dns_tgt = v4 ? m.dns_target4 : m.dns_target6;
  if (port == kDnsPort && Matches(v4 ? m.dns_forward4 : m.dns_forward6, family,
                                  dst) &&
      dns_tgt.family == family) {
    std::memcpy(target, dns_tgt.bytes.data(), len);
    return true;
  }
  if (Matches(m.map_host(family), family, dst)) {
    StoreLoopback(family, target);
    return true;
  }
  const IpAddr& guest = v4 ? m.guest_host4 : m.guest_host6;
  if (guest.family == family &&
      Matches(v4 ? m.map_guest4 : m.map_guest6, family, dst)) {
    std::memcpy(target, guest.bytes.data(), len);
    return true;
  }
  return false;
}

void ShownPeer(const AddressMap& m, int family, const uint8_t* real,
               uint8_t* shown) {
  const size_t len = AddrLen(family);
  std::memcpy(shown, real, len);
  const bool v4 = family == AF_INET;
  const IpAddr& map = m.map_host(family);
  if (IsLoopback(family, real)) {
    if (map.family == family) std::memcpy(shown, map.bytes.data(), len);
    return;
  }
  if (!Matches(v4 ? m.ns4 : m.ns6, family, real)) return;
  const IpAddr& guest = v4 ? m.map_guest4 : m.map_guest6;
  const IpAddr& ours = v4 ? m.ours4 : m.ours6;
  if (guest.family == family) {
    std::memcpy(shown, guest.bytes.data(), len);
  } else if (ours.family == family) {
    std::memcpy(shown, ours.bytes.data(), len);
  }
}

}  // namespace pasta::flow
