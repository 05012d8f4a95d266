#include "fwd/auto_forward.h"

#include <sys/socket.h>

#include "common/log.h"

namespace pasta::fwd {

std::unique_ptr<AutoForward> MakeAutoForward(std::string name,
                                             std::string_view protocol,
                                             bool enabled4, bool enabled6,
                                             AutoListenFn add,
                                             AutoForward::CloseFn remove) {
  AutoForward::OpenFn open = [name, protocol = std::string(protocol), enabled4,
                              enabled6, add = std::move(add)](uint16_t port) {
    bool any = false;
    for (int family : {AF_INET, AF_INET6}) {
      if (family == AF_INET ? !enabled4 : !enabled6) continue;
      const absl::Status st = add(family, port);
      if (st.ok()) {
        any = true;
      } else {
        LOG_DEBUG("%s: %s", name, std::string(st.message()));
      }
    }
    if (any) LOG_DEBUG("%s: forwarding %s port %u", name, protocol, port);
    return any;
  };
  return std::make_unique<AutoForward>(std::move(name), std::move(open),
                                       std::move(remove));
}

}  // namespace pasta::fwd
