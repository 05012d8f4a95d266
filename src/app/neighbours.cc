#include "app/neighbours.h"

#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "app/addresses.h"
#include "app/run.h"
#include "common/log.h"
#include "common/status.h"
#include "loop/epoll_ref.h"
#include "netlink/messages.h"

namespace pasta::app {

namespace {

using Change = ndp::NeighbourTable::Change;

bool SameAddress(const IpAddr& a, const IpAddr& b) {
  return a.family == b.family && std::memcmp(a.bytes.data(), b.bytes.data(),
                                             a.family == AF_INET ? 4 : 16) == 0;
}

// Seen by the namespace as it is: unicast, not loopback nor unspecified.
bool Shareable(const IpAddr& a) {
  const uint8_t* b = a.bytes.data();
  if (a.family == AF_INET) {
    const bool zero = (b[0] | b[1] | b[2] | b[3]) == 0;
    return !zero && b[0] != 127 && b[0] < 224;
  }
  if (b[0] == 0xff) return false;  // multicast
  static constexpr uint8_t kZero[15] = {};
  return std::memcmp(b, kZero, 15) != 0 || b[15] > 1;  // ::, ::1
}

}  // namespace

Change ApplyNeighbour(const NeighbourFilter& filter,
                      const netlink::Neighbour& n, ndp::NeighbourTable& table) {
  const int ifindex =
      n.addr.family == AF_INET ? filter.ifindex4 : filter.ifindex6;
  if (ifindex == 0 || n.ifindex != ifindex || !Shareable(n.addr))
    return Change::kNone;
  for (const IpAddr& a : filter.excluded) {
    if (SameAddress(a, n.addr)) return Change::kNone;
  }
  if (!n.Usable()) {
    table.Remove(n.addr);
    return Change::kNone;
  }
  return table.Set(n.addr, n.mac);
}

Neighbours::Neighbours(NeighbourFilter filter, netlink::EventSocket events,
                       bool strict_check)
    : filter_(std::move(filter)),
      events_(std::move(events)),
      strict_check_(strict_check),
      table_(std::make_unique<ndp::NeighbourTable>()) {}

absl::StatusOr<std::unique_ptr<Neighbours>> Neighbours::Start(
    NeighbourFilter filter, bool strict_check) {
  // Join first, dump second: a change between the two is then seen twice
  // rather than never.
  ASSIGN_OR_RETURN(netlink::EventSocket events,
                   netlink::EventSocket::Open({RTNLGRP_NEIGH}));
  std::unique_ptr<Neighbours> n(
      new Neighbours(std::move(filter), std::move(events), strict_check));
  RETURN_IF_ERROR(n->Dump(nullptr));
  return n;
}

absl::Status Neighbours::Dump(tap::Tap* tap) {
  // Into a fresh table, so that entries gone meanwhile go too; the
  // responders keep pointing at table_, which takes the result.
  auto fresh = std::make_unique<ndp::NeighbourTable>();
  for (const auto& [family, ifindex] :
       {std::pair{AF_INET, filter_.ifindex4},
        std::pair{AF_INET6, filter_.ifindex6}}) {
    if (ifindex == 0) continue;
    ASSIGN_OR_RETURN(std::vector<netlink::Neighbour> list,
                     netlink::DumpNeighbours(family, ifindex, strict_check_));
    for (const netlink::Neighbour& n : list) {
      if (ApplyNeighbour(filter_, n, *fresh) == Change::kFull)
        LOG_DEBUG("neighbours: table full, %s keeps our MAC", FormatIp(n.addr));
    }
  }
  if (tap != nullptr) {
    fresh->ForEach([&](const IpAddr& addr, const MacAddr& mac) {
      const MacAddr* old = table_->Find(addr);
      if (old == nullptr || !(*old == mac)) tap->AnnounceNeighbour(addr, mac);
    });
  }
  *table_ = *fresh;
  return absl::OkStatus();
}

void Neighbours::OnReadable(tap::Tap& tap) {
  const int err = events_.Drain([&](const nlmsghdr* nlh) {
    const std::optional<netlink::Neighbour> n = netlink::ParseNeighbour(nlh);
    if (!n) return;
    const Change c = ApplyNeighbour(filter_, *n, *table_);
    if (c == Change::kAdded || c == Change::kChanged) {
      LOG_TRACE("neighbours: %s is at %s", FormatIp(n->addr),
                FormatMac(n->mac));
      tap.AnnounceNeighbour(n->addr, n->mac);
    } else if (c == Change::kFull) {
      LOG_DEBUG("neighbours: table full, %s keeps our MAC", FormatIp(n->addr));
    }
  });
  if (err == 0) return;
  if (err != ENOBUFS) {
    LOG_DEBUG("neighbours: reading notifications: %s", std::strerror(err));
    return;
  }
  LOG_DEBUG("neighbours: notifications lost, reading the tables again");
  events_.Discard();
  if (absl::Status st = Dump(&tap); !st.ok())
    LOG_WARN("neighbours: %s", std::string(st.message()));
}

NeighbourFilter NeighbourFilterFor(bool arp, bool ndp,
                                   const netlink::HostTemplate& tmpl,
                                   const netlink::TapConfig& net,
                                   const flow::AddressMap& map) {
  NeighbourFilter filter;
  if (arp && tmpl.v4 && !tmpl.v4->local) filter.ifindex4 = tmpl.v4->link.index;
  if (ndp && tmpl.v6 && !tmpl.v6->local) filter.ifindex6 = tmpl.v6->link.index;
  if (filter.ifindex4 == 0 && filter.ifindex6 == 0) return filter;
  for (const IpAddr* a :
       {&map.ns4, &map.ns6, &map.map_host4, &map.map_host6, &map.map_guest4,
        &map.map_guest6, &map.guest_host4, &map.guest_host6}) {
    if (a->family != AF_UNSPEC) filter.excluded.push_back(*a);
  }
  for (const netlink::Address& a : net.addrs) filter.excluded.push_back(a.addr);
  return filter;
}

void Neighbours::SetFilter(NeighbourFilter filter, tap::Tap& tap) {
  if (filter == filter_) return;
  filter_ = std::move(filter);
  if (absl::Status st = Dump(&tap); !st.ok()) {
    LOG_WARN("neighbours: %s", std::string(st.message()));
    table_->Clear();
  }
}

void StartNeighbours(Run& run, const netlink::HostTemplate& tmpl,
                     const netlink::TapConfig& net, bool strict_check) {
  const bool arp = run.services.arp.has_value() && !run.cfg.ipv6_only;
  const bool ndp = run.services.ndp.has_value() && !run.cfg.ipv4_only;
  NeighbourFilter filter = NeighbourFilterFor(
      arp, ndp, tmpl, net,
      AddressMapFor(run.cfg, tmpl, net, run.services.our_mac, run.resolv));
  // Following the host, a template interface may come later.
  if (filter.ifindex4 == 0 && filter.ifindex6 == 0 &&
      !(run.cfg.follow_host && (arp || ndp)))
    return;

  absl::StatusOr<std::unique_ptr<Neighbours>> n =
      Neighbours::Start(std::move(filter), strict_check);
  if (!n.ok()) {
    LOG_WARN("neighbours: %s: every address gets our MAC",
             std::string(n.status().message()));
    return;
  }
  const int err = loop::EpollAdd(
      run.epoll.get(), loop::Ref{loop::Kind::kNetlinkEvents, 0, (*n)->fd()},
      EPOLLIN);
  if (err != 0) {
    LOG_WARN("neighbours: epoll_ctl: %s: every address gets our MAC",
             std::strerror(err));
    return;
  }
  run.neighbours = std::move(*n);
  const ndp::NeighbourTable* table = &run.neighbours->table();
  if (run.services.arp) run.services.arp->neighbours = table;
  if (run.services.ndp) run.services.ndp->neighbours = table;
  LOG_DEBUG("neighbours: following the host's, %zu known", table->size());
}

}  // namespace pasta::app
