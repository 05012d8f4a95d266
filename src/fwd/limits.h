// What the system allows port forwarding: the kernel's ephemeral port range
// (left out of an exclusion-only list) and the descriptors this process may
// still open (an exclusion-only list needs tens of thousands of listeners).
// Read from /proc and getrlimit(); control plane, called at start-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace pasta::fwd {

// The kernel's default ephemeral port range, used when it can't be read.
inline constexpr std::pair<uint16_t, uint16_t> kDefaultEphemeralPorts{32768,
                                                                      60999};

// The kernel's ephemeral port range (net.ipv4.ip_local_port_range, which
// applies to IPv6 too), read from the calling thread's namespace;
// kDefaultEphemeralPorts if it can't be read. Costs one small file read.
std::pair<uint16_t, uint16_t> EphemeralPorts();

// Returns how many descriptors this process may still open under its soft
// limit (RLIMIT_NOFILE minus the entries of /proc/self/fd), 0 if the limit
// can't be read. Costs a pass over /proc/self/fd.
size_t FreeDescriptors();

// Both of the above, as AddForwards() takes them.
struct Limits {
  std::pair<uint16_t, uint16_t> ephemeral = kDefaultEphemeralPorts;
  size_t free_descriptors = 0;
};

// Returns {EphemeralPorts(), FreeDescriptors()}, read now: call it right
// before each AddForwards(), as the listeners opened by the previous one
// hold descriptors.
Limits ReadLimits();

}  // namespace pasta::fwd
