#include "fwd/forwards.h"

#include <sys/socket.h>

#include <string>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace pasta::fwd {

absl::Status AddForwards(const config::PortSpec& spec, const char* option,
                         bool enabled4, bool enabled6, const Limits& limits,
                         AddListenerFn add) {
  using Mode = config::PortSpec::Mode;
  if (spec.mode() != Mode::kExplicit && spec.mode() != Mode::kAll)
    return absl::OkStatus();
  const bool every = spec.mode() == Mode::kAll;
  // The ports it listens on: ExplicitPorts() holds the rule (an
  // exclusion-only list leaves the ephemeral range out).
  const PortSet ports = ExplicitPorts(spec, limits.ephemeral);
  // Calls f(port, family) for each listener wanted.
  auto for_each = [&](auto f) {
    for (size_t port = ports._Find_first(); port < ports.size();
         port = ports._Find_next(port)) {
      const uint16_t p = static_cast<uint16_t>(port);
      const config::PortSpec::Bind& bind = spec.BindFor(p);
      for (int family : {AF_INET, AF_INET6}) {
        if (family == AF_INET ? !enabled4 : !enabled6) continue;
        if (bind.addr && bind.addr->family != family) continue;
        if (!f(p, family, bind)) return false;
      }
    }
    return true;
  };
  if (every) {
    // Tens of thousands of listeners: all of them, with descriptors to
    // spare for the flows, or a clear error (never a pasta that forwards
    // some of them and then can't accept a connection).
    size_t wanted = 0;
    for_each([&](uint16_t, int, const config::PortSpec::Bind&) {
      ++wanted;
      return true;
    });
    const size_t free_fds = limits.free_descriptors;
    if (wanted + kSpareDescriptors > free_fds) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: every port but the excluded ones takes %u listening sockets, "
          "and only %u descriptors are free under the limit (ulimit -n), "
          "%u of them kept for connections: raise the limit, or give ranges",
          option, wanted, free_fds, kSpareDescriptors));
    }
  }
  size_t bound = 0, skipped = 0;
  absl::Status error;
  for_each([&](uint16_t p, int family, const config::PortSpec::Bind& bind) {
    absl::Status st = add(family, bind.addr ? &*bind.addr : nullptr, p,
                          spec.Target(p), spec.TargetAddr(p));
    if (st.ok()) {
      ++bound;
    } else if (every) {
      ++skipped;
      LOG_TRACE("%s: port %u skipped: %s", option, p, st.message());
    } else {
      error = absl::Status(st.code(), std::string(option) + " " +
                                          std::to_string(p) + ": " +
                                          std::string(st.message()));
      return false;
    }
    return true;
  });
  if (!error.ok()) return error;
  if (every) {
    if (bound == 0) {
      return absl::UnavailableError(absl::StrFormat(
          "%s: no port could be forwarded (%u refused)", option, skipped));
    }
    LOG_INFO(
        "%s: %u listeners for every port but the excluded ones and the "
        "ephemeral range %u-%u; %u refused (port in use or not "
        "permitted)",
        option, bound, limits.ephemeral.first, limits.ephemeral.second,
        skipped);
  }
  return absl::OkStatus();
}

PortSet ExplicitPorts(const config::PortSpec& spec,
                      std::pair<uint16_t, uint16_t> ephemeral) {
  PortSet ports;
  if (spec.mode() != config::PortSpec::Mode::kExplicit &&
      spec.mode() != config::PortSpec::Mode::kAll)
    return ports;
  const bool every = spec.mode() == config::PortSpec::Mode::kAll;
  const auto [eph_lo, eph_hi] =
      every ? ephemeral : std::pair<uint16_t, uint16_t>{1, 0};
  for (uint32_t p = 1; p <= 65535; ++p) {
    if (every && p >= eph_lo && p <= eph_hi) continue;
    if (spec.Forwarded(static_cast<uint16_t>(p))) ports.set(p);
  }
  return ports;
}

PortSet AutoPorts(const config::PortSpec& spec) {
  return spec.AutoForwardedSet();
}

}  // namespace pasta::fwd
