// Listeners on the namespace's loopback, for -T and -U (and the control
// socket's SPLICE table): a socket made there through a namespace helper,
// handed to the splice path or the UDP relay.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "app/run.h"

namespace pasta::app {

// -T: a listener on the namespace's loopback port `ns_port`, spliced to the
// host's loopback `host_port`. Its index in the splice path goes to
// `*index` where given.
absl::Status AddNamespaceListener(Run& run, int family, uint16_t ns_port,
                                  uint16_t host_port,
                                  uint32_t* index = nullptr);

// -U: a UDP socket on the namespace's loopback port `ns_port`, relayed to
// the host's loopback `host_port`. Its index in the relay goes to `*index`
// where given.
absl::Status AddRelayListener(Run& run, int family, uint16_t ns_port,
                              uint16_t host_port, uint32_t* index = nullptr);

}  // namespace pasta::app
