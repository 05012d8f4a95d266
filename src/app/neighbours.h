// Following the host's LAN neighbours: the namespace sees a neighbour of
// the host's template interface with that neighbour's real MAC, and learns
// when it changes (as upstream since 2025-12).
//
// Theory of operation: at start-up (before the sandbox) a netlink event
// socket joins RTNLGRP_NEIGH, then the neighbour tables of the template
// interfaces are dumped into an ndp::NeighbourTable that the ARP and NDP
// responders consult (ndp/neighbours.h). The socket is registered in the
// loop as Kind::kNetlinkEvents; each notification goes through
// ApplyNeighbour(): an entry on the template interface of its family,
// usable (a valid NUD state with a MAC), at an address the namespace sees
// as it is, is recorded; an entry that is deleted or no longer usable is
// forgotten. A new entry or a changed MAC is announced to the namespace (a
// gratuitous ARP, or an unsolicited NA with the override flag). Lost
// notifications (ENOBUFS) are made up for with a fresh dump, after
// dropping what was still queued (older than the dump).
//
// Addresses the namespace does not see as they are stay ours: its own
// address, the address standing for the host's loopback (--map-host-
// loopback, by default the gateway) and --map-guest-addr, as well as
// loopback, unspecified and multicast addresses.
//
// Following the host (app/follow.h), a re-sync hands the filter of the new
// template interfaces and addresses to SetFilter(), which reads the tables
// again: the namespace then sees the new interface's neighbours. With
// following on, the socket is opened even when no family has a host
// interface at start-up (local mode), so that going online later finds it.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/net_types.h"
#include "flow/addr_map.h"
#include "ndp/neighbours.h"
#include "netlink/events.h"
#include "netlink/netlink.h"

namespace pasta::tap {
class Tap;
}

namespace pasta::app {

struct Run;

// Which of the host's neighbours the namespace sees at their own address.
struct NeighbourFilter {
  int ifindex4 = 0;  // template interface for IPv4; 0: IPv4 not followed
  int ifindex6 = 0;
  std::vector<IpAddr> excluded;  // addresses that stay ours (see above)
  bool operator==(const NeighbourFilter&) const = default;
};

// The filter for the template `tmpl` (families with a host interface, not
// local mode, where `arp` or `ndp` is answered), the tap's set-up `net` and
// the address mapping `map` (its addresses that stay ours). Pure;
// allocates.
NeighbourFilter NeighbourFilterFor(bool arp, bool ndp,
                                   const netlink::HostTemplate& tmpl,
                                   const netlink::TapConfig& net,
                                   const flow::AddressMap& map);

// Applies one neighbour message to `table`. Returns the change: kAdded or
// kChanged when the namespace should be told (the MAC is then the entry's,
// `n.mac`), kNone otherwise (also for a filtered or removed entry). Pure.
ndp::NeighbourTable::Change ApplyNeighbour(const NeighbourFilter& filter,
                                           const netlink::Neighbour& n,
                                           ndp::NeighbourTable& table);

class Neighbours {
 public:
  // Joins RTNLGRP_NEIGH, then dumps the families `filter` follows. Fails
  // if the socket cannot be opened or a dump fails. Allocates; blocks on
  // netlink.
  static absl::StatusOr<std::unique_ptr<Neighbours>> Start(
      NeighbourFilter filter, bool strict_check);

  int fd() const { return events_.fd(); }
  const ndp::NeighbourTable& table() const { return *table_; }
  const NeighbourFilter& filter() const { return filter_; }

  // Follows `filter` from now on: the tables are read again (a new or
  // changed entry is announced through `tap`); nothing happens if it is
  // the same. On a failed dump the table stays empty until the next
  // notification. Allocates; blocks on netlink.
  void SetFilter(NeighbourFilter filter, tap::Tap& tap);

  // Reads the pending notifications, updates the table and announces
  // changes through `tap`. Does not allocate (unless a lost notification
  // forces a dump).
  void OnReadable(tap::Tap& tap);

 private:
  Neighbours(NeighbourFilter filter, netlink::EventSocket events,
             bool strict_check);
  // Dumps both followed families into the table; `tap`, if set, hears
  // about every change.
  absl::Status Dump(tap::Tap* tap);

  NeighbourFilter filter_;
  netlink::EventSocket events_;
  bool strict_check_;
  std::unique_ptr<ndp::NeighbourTable> table_;
};

// Start-up: follows the neighbours of the host's template interfaces
// (families with a host interface, not local mode) if ARP or NDP is
// answered (with following on, also with none: see above), registers the
// socket in the loop and points the responders at the table. A failure is
// one warning line: pasta then answers every address with its own MAC, as
// before.
void StartNeighbours(Run& run, const netlink::HostTemplate& tmpl,
                     const netlink::TapConfig& net, bool strict_check);

}  // namespace pasta::app
