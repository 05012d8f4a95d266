// The listeners of forwarded ports, as every protocol handler keeps them
// (TCP and UDP on the host for -t/-u, splice's and the relay's on a
// loopback for -T/-U): one entry type and, over a std::vector of them,
// finding a free entry, freeing one and pointing one elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <netinet/in.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/net_types.h"

namespace pasta::flow {

// A listening socket of a forwarded port: where it listens and where what
// it takes goes. An entry with fd < 0 is free.
struct Listener {
  int fd = -1;
  int family = 0;
  uint16_t port = 0;    // the port it listens on, on its own side
  uint16_t target = 0;  // the port on the other side it forwards to
  // The address on the other side it forwards to (-t PORT:ADDR); family
  // AF_UNSPEC: the other side's own address.
  IpAddr to_addr{};
};

// What every AddListener checks before it opens a socket: the family, that
// the bind and target addresses (each optional) are of it, and that the
// list of `count` listeners has room under `max`. `proto` names the
// handler in the error ("TCP", "UDP").
inline absl::Status CheckNewListener(const char* proto, int family,
                                     const IpAddr* bind_addr,
                                     const IpAddr* to_addr, size_t count,
                                     size_t max) {
  if (family != AF_INET && family != AF_INET6)
    return absl::InvalidArgumentError(
        absl::StrCat(proto, " listener: bad address family"));
  if (bind_addr != nullptr && bind_addr->family != family)
    return absl::InvalidArgumentError(
        absl::StrCat(proto, " listener: bind address of another family"));
  if (to_addr != nullptr && to_addr->family != family)
    return absl::InvalidArgumentError(
        absl::StrCat(proto, " listener: target address of another family"));
  if (count >= max)
    return absl::ResourceExhaustedError(
        absl::StrCat(proto, " listener: too many"));
  return absl::OkStatus();
}

// For the listener lists (a std::vector<L> whose free entries have fd < 0):
// the index of the lowest free entry, appended if there is none; the caller
// fills it. `*lowest_free` is a lower bound of that index: this keeps it, and
// a caller freeing entry i lowers it to i. So opening n listeners (an
// exclusion-only spec opens tens of thousands) costs O(n), not O(n^2).
// The open listener at `index` of `list`, or null where the index is out
// of range or the entry free: any index an epoll reference carries is safe
// to ask about.
inline const Listener* OpenListener(const std::vector<Listener>& list,
                                    uint32_t index) {
  if (index >= list.size()) return nullptr;
  const Listener& l = list[index];
  return l.fd >= 0 ? &l : nullptr;
}

template <typename L>
uint32_t TakeListenerEntry(std::vector<L>& list, size_t* lowest_free) {
  size_t i = *lowest_free;
  while (i < list.size() && list[i].fd >= 0) ++i;
  if (i == list.size()) list.push_back(L{});
  *lowest_free = i + 1;
  return static_cast<uint32_t>(i);
}

// Entry `index` of `list`, whose socket the caller closed, is free again:
// `*lowest_free` (TakeListenerEntry's bound) comes down to it. `what`
// ("tcp", "udp", "splice", "udp relay") names the handler in the debug line.
inline void FreeListenerEntry(std::vector<Listener>& list, size_t index,
                              size_t* lowest_free, const char* what) {
  Listener& l = list[index];
  l.fd = -1;
  if (index < *lowest_free) *lowest_free = index;
  LOG_DEBUG("%s: no longer forwarding port %u (%s)", what, l.port,
            l.family == AF_INET ? "IPv4" : "IPv6");
}

// Puts `l` (its socket open and listening) into the lowest free entry of
// `list` (see TakeListenerEntry), registers it with `watch(fd, index)`,
// gives its index to `*index_out` where given, and says in a debug line
// that `what` ("tcp", "udp") forwards host port l.port to namespace port
// l.target. Control plane: may allocate.
template <typename WatchFn>
void AddListenerEntry(std::vector<Listener>& list, size_t* lowest_free,
                      const Listener& l, WatchFn watch, uint32_t* index_out,
                      const char* what) {
  const uint32_t index = TakeListenerEntry(list, lowest_free);
  list[index] = l;
  watch(l.fd, index);
  if (index_out != nullptr) *index_out = index;
  const bool to = l.to_addr.family != AF_UNSPEC;
  LOG_DEBUG("%s: forwarding host port %u to namespace port %u%s%s (%s)", what,
            l.port, l.target, to ? " at " : "", to ? FormatIp(l.to_addr) : "",
            l.family == AF_INET ? "IPv4" : "IPv6");
}

// Points `l` at port `target` on the other side, at `to_addr` (null: the
// other side's own address), from its next connection or datagram on.
inline void RetargetListener(Listener& l, uint16_t target,
                             const IpAddr* to_addr, const char* what) {
  l.target = target;
  l.to_addr = to_addr != nullptr ? *to_addr : IpAddr{};
  LOG_DEBUG("%s: port %u now forwards to port %u%s%s", what, l.port, target,
            to_addr != nullptr ? " at " : "",
            to_addr != nullptr ? FormatIp(*to_addr) : "");
}

}  // namespace pasta::flow
