#include "flow/outbound.h"

#include <sys/socket.h>

#include "flow/addr_map.h"

namespace pasta::flow {

Outbound::Binding Outbound::For(int family, const uint8_t* target) const {
  Binding b;
  if (IsLoopback(family, target)) return b;
  const std::string& dev = family == AF_INET ? bind_if4 : bind_if6;
  if (!dev.empty()) b.device = &dev;
  const IpAddr& addr = family == AF_INET ? bind4 : bind6;
  if (addr.family == family) b.addr = addr.bytes.data();
  return b;
}

}  // namespace pasta::flow
