// Listeners for the ports a -t/-u/-T/-U list names (an explicit list, or
// an exclusion-only one: every port but those), opened at start-up. The
// rules live here, the sockets with the caller: AddForwards() decides which
// (port, family) pairs get a listener and what a failure means, and calls
// back to open each one. `auto` lists are the automatic forwarding's
// (auto_forward.h, auto_scan.h).
//
// An explicit list fails on the first port that can't be forwarded, and the
// error names the option and port. An exclusion-only list leaves out the
// ephemeral range, which the host's own connections need, refuses up front
// to take more descriptors than the limit leaves (with kSpareDescriptors
// kept for connections), and skips ports that can't be bound (in use,
// privileged): like upstream, it fails only if no port at all could be.
// Control plane: a pass over the 65535 ports; may allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "common/net_types.h"
#include "config/port_spec.h"
#include "fwd/limits.h"
#include "fwd/proc_net.h"

namespace pasta::fwd {

// Descriptors an exclusion-only list leaves free for the flows.
inline constexpr size_t kSpareDescriptors = 1024;

// Opens one listener: for `family` (AF_INET or AF_INET6), on `bind` (null:
// the wildcard address), at `port`, forwarding to `target` on the other
// side, at `to_addr` (null: the other side's own address; else of
// `family`). Returns its error, if any.
using AddListenerFn = absl::FunctionRef<absl::Status(
    int family, const IpAddr* bind, uint16_t port, uint16_t target,
    const IpAddr* to_addr)>;

// Opens a listener through `add` for every port `spec` forwards, per
// enabled family (a port bound to an address gets only that address's
// family), ports in ascending order, IPv4 before IPv6. `option` ("-t")
// names the list in errors and log lines; `limits` is read by the caller
// (ReadLimits()) and only used for an exclusion-only list. Does nothing for
// `auto` and `none`. Returns:
// - an explicit list: the first failure, as "OPT PORT: message" with its
//   code (the listeners opened before it stay open);
// - an exclusion-only list: ResourceExhausted, before opening any, if the
//   listeners wanted and kSpareDescriptors don't fit in
//   limits.free_descriptors; Unavailable if no listener could be opened;
//   else OK, logging at info how many were opened and refused.
absl::Status AddForwards(const config::PortSpec& spec, const char* option,
                         bool enabled4, bool enabled6, const Limits& limits,
                         AddListenerFn add);

// Returns the ports a list `spec` listens on (on its side), as
// AddForwards() opens them: an exclusion-only list's but the `ephemeral`
// range; none for `auto` and `none`. Costs a pass over the ports.
PortSet ExplicitPorts(const config::PortSpec& spec,
                      std::pair<uint16_t, uint16_t> ephemeral);

// Returns the ports automatic forwarding may take for an `auto` list
// (PortSpec::AutoForwarded: all but port 0, or those `8000-8010,auto` or
// `~22,auto` leave); none for the other modes. Costs a pass over the ports.
PortSet AutoPorts(const config::PortSpec& spec);

}  // namespace pasta::fwd
