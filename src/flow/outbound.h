// The rule every outbound host socket follows (TCP and UDP flows): with -o
// and --outbound-if4/6, bind it to that source address and device of its
// family, except towards the host's own loopback (the namespace reaching
// the host, --map-host-loopback), where neither makes sense: a loopback
// destination is never reached through another device or from another
// address. Pure; allocates nothing.
#pragma once

#include <cstdint>
#include <string>

#include "common/net_types.h"

namespace pasta::flow {

struct Outbound {
  IpAddr bind4, bind6;             // -o: source address (AF_UNSPEC: none)
  std::string bind_if4, bind_if6;  // --outbound-if4/6 (empty: none)

  // What a socket of `family` to `target` (4 or 16 bytes, after mapping)
  // is bound to: null where nothing is.
  struct Binding {
    const std::string* device = nullptr;  // SO_BINDTODEVICE
    const uint8_t* addr = nullptr;        // bind() address, 4 or 16 bytes
  };
  Binding For(int family, const uint8_t* target) const;
};

}  // namespace pasta::flow
