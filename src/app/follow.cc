#include "app/follow.h"

#include <linux/rtnetlink.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "app/addresses.h"
#include "app/neighbours.h"
#include "app/run.h"
#include "common/log.h"
#include "common/status.h"
#include "loop/epoll_ref.h"
#include "ns/namespace.h"

namespace pasta::app {

namespace {

const char* FamilyName(int family) {
  return family == AF_INET ? "IPv4" : "IPv6";
}

std::string FormatAddress(const netlink::Address& a) {
  return absl::StrCat(FormatIp(a.addr), "/", a.prefix_len);
}

bool HasAddress(const std::vector<netlink::Address>& list,
                const netlink::Address& a) {
  for (const netlink::Address& b : list)
    if (b.addr == a.addr && b.prefix_len == a.prefix_len) return true;
  return false;
}

// The template of `family`, null if the family is off.
const netlink::FamilyTemplate* Of(const netlink::HostTemplate& t, int family) {
  const std::optional<netlink::FamilyTemplate>& f =
      family == AF_INET ? t.v4 : t.v6;
  return f ? &*f : nullptr;
}

// What the namespace gets of `family`, in a few words.
std::string DescribeNamespace(const netlink::FamilyTemplate* t) {
  if (t == nullptr) return "off";
  if (t->local) return "local mode";
  return absl::StrCat("the host's ", t->link.name);
}

}  // namespace

std::string DescribeHostChange(int family, const netlink::FamilyTemplate* was,
                               const netlink::FamilyTemplate* now) {
  const netlink::FamilyTemplate kNone;
  const netlink::FamilyTemplate& a = was != nullptr ? *was : kNone;
  const netlink::FamilyTemplate& b = now != nullptr ? *now : kNone;
  std::vector<std::string> parts;
  // Local mode has no host interface: its gateway and address are ours.
  const bool host_a = was != nullptr && !a.local;
  const bool host_b = now != nullptr && !b.local;
  const IpAddr gw_a = host_a ? a.gateway : IpAddr{};
  const IpAddr gw_b = host_b ? b.gateway : IpAddr{};
  const std::string if_a = host_a ? a.link.name : "";
  const std::string if_b = host_b ? b.link.name : "";
  if (!(gw_a == gw_b) || if_a != if_b) {
    if (gw_a.family != AF_UNSPEC)
      parts.push_back(absl::StrCat("default route via ", FormatIp(gw_a), " on ",
                                   if_a, " removed"));
    if (gw_b.family != AF_UNSPEC)
      parts.push_back(absl::StrCat("default route via ", FormatIp(gw_b), " on ",
                                   if_b, " added"));
  }
  static const std::vector<netlink::Address> kEmpty;
  const std::vector<netlink::Address>& addrs_a = host_a ? a.addrs : kEmpty;
  const std::vector<netlink::Address>& addrs_b = host_b ? b.addrs : kEmpty;
  // Link-local addresses come and go with the link: not worth a word.
  for (const netlink::Address& x : addrs_a) {
    if (x.scope == RT_SCOPE_UNIVERSE && !HasAddress(addrs_b, x))
      parts.push_back(
          absl::StrCat("address ", FormatAddress(x), " on ", if_a, " removed"));
  }
  for (const netlink::Address& x : addrs_b) {
    if (x.scope == RT_SCOPE_UNIVERSE && !HasAddress(addrs_a, x))
      parts.push_back(
          absl::StrCat("address ", FormatAddress(x), " on ", if_b, " added"));
  }
  if (if_a != if_b && parts.empty())
    parts.push_back(absl::StrCat("template interface ",
                                 if_a.empty() ? "none" : if_a, " -> ",
                                 if_b.empty() ? "none" : if_b));
  const std::string ns_a = DescribeNamespace(was);
  const std::string ns_b = DescribeNamespace(now);
  if (parts.empty() && ns_a == ns_b) return "";
  return absl::StrCat(FamilyName(family), " ",
                      parts.empty() ? "unchanged" : absl::StrJoin(parts, ", "),
                      "; namespace: ", ns_b);
}

std::string DescribeResolvChange(const dhcp::ResolvConf& was,
                                 const dhcp::ResolvConf& now) {
  if (was == now) return "";
  auto servers = [](const std::vector<IpAddr>& list) {
    if (list.empty()) return std::string("none");
    return absl::StrJoin(list, ", ", [](std::string* out, const IpAddr& a) {
      out->append(FormatIp(a));
    });
  };
  auto domains = [](const std::vector<std::string>& list) {
    return list.empty() ? std::string("none") : absl::StrJoin(list, " ");
  };
  std::vector<std::string> parts;
  if (was.nameservers != now.nameservers)
    parts.push_back(absl::StrCat("nameservers ", servers(now.nameservers),
                                 " (were ", servers(was.nameservers), ")"));
  if (was.search != now.search)
    parts.push_back(absl::StrCat("search ", domains(now.search), " (was ",
                                 domains(was.search), ")"));
  return absl::StrCat("resolv.conf: ", absl::StrJoin(parts, ", "));
}

Follow::Follow(netlink::HostTemplate tmpl, netlink::TapConfig net,
               std::string tap_name, bool strict_check,
               netlink::EventSocket events)
    : tmpl_(std::move(tmpl)),
      net_(std::move(net)),
      tap_name_(std::move(tap_name)),
      strict_check_(strict_check),
      events_(std::move(events)) {}

absl::StatusOr<std::unique_ptr<Follow>> Follow::Start(
    netlink::HostTemplate tmpl, netlink::TapConfig net, std::string tap_name,
    bool strict_check) {
  ASSIGN_OR_RETURN(netlink::EventSocket events,
                   netlink::EventSocket::Open(
                       {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                        RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE}));
  return std::unique_ptr<Follow>(new Follow(std::move(tmpl), std::move(net),
                                            std::move(tap_name), strict_check,
                                            std::move(events)));
}

void Follow::OnReadable(Instant now) {
  size_t seen = 0;
  int err = events_.Drain([&](const nlmsghdr*) { ++seen; });
  if (err == ENOBUFS) {
    // Lost some: the re-sync reads everything anyway.
    events_.Discard();
    seen = 1;
    err = 0;
  }
  if (err != 0) {
    LOG_DEBUG("host: reading notifications: %s", std::strerror(err));
    return;
  }
  if (seen == 0) return;
  Arm(now);
}

void Follow::Arm(Instant now) {
  if (first_.is_never()) first_ = now;
  deadline_ = Earlier(now + kSettle, first_ + kMaxDelay);
}

void Follow::OnResolvChanged(Instant now) {
  // What changed is read again as a whole: the events only say when.
  alignas(inotify_event) char buf[4096];
  bool seen = false;
  for (;;) {
    const ssize_t n = read(resolv_watch_.get(), buf, sizeof(buf));
    if (n > 0) {
      seen = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  if (seen) Arm(now);
}

void Follow::Resync(Run& run) {
  first_ = deadline_ = Instant::Never();
  ++resyncs_;
  const config::Config& cfg = run.cfg;
  absl::StatusOr<netlink::HostTemplate> read =
      netlink::ReadHostTemplate(TemplateRequestFor(cfg, strict_check_));
  absl::Status st = read.status();
  if (st.ok()) st = UseLocalMode(cfg, &*read, /*quiet=*/true);
  absl::StatusOr<netlink::TapConfig> built =
      st.ok()
          ? netlink::BuildTapConfig(*read, OverridesFor(cfg),
                                    read->v4.has_value(), read->v6.has_value())
          : absl::StatusOr<netlink::TapConfig>(st);
  if (!built.ok()) {
    LOG_DEBUG("host: re-sync %u: %s; the namespace keeps what it has", resyncs_,
              std::string(built.status().message()));
    return;
  }
  const netlink::HostTemplate& tmpl = *read;
  netlink::TapConfig want = std::move(*built);
  want.ifname = net_.ifname;
  want.mtu = net_.mtu;
  want.mac = net_.mac;
  want.strict_check = net_.strict_check;
  want.ll_nodad = net_.ll_nodad;
  want.ns_link_local6 = net_.ns_link_local6;
  const std::vector<netlink::TapChange> changes =
      netlink::DiffTapConfig(net_, want);
  LOG_DEBUG("host: re-sync %u, %zu changes for the namespace", resyncs_,
            changes.size());
  for (const int family : {AF_INET, AF_INET6}) {
    const std::string line =
        DescribeHostChange(family, Of(tmpl_, family), Of(tmpl, family));
    if (!line.empty()) LOG_DEBUG("host: %s", line);
  }
  for (const netlink::TapChange& c : changes)
    LOG_TRACE("host: namespace: %s", netlink::FormatTapChange(c));
  // The resolvers, as the file kept open says now.
  dhcp::ResolvConf resolv = run.resolv_file.Read();
  if (!said_replaced_ && run.resolv_file.replaced()) {
    said_replaced_ = true;
    LOG_DEBUG(
        "host: resolv.conf was replaced by another file, which the sandbox "
        "cannot open: DNS stays as last read");
  }
  const std::string resolv_line = DescribeResolvChange(run.resolv, resolv);
  if (!resolv_line.empty()) LOG_DEBUG("host: %s", resolv_line);
  run.resolv = std::move(resolv);

  // Connections from an address the host no longer has would hang until
  // their timeout: reset them now, before the namespace loses its copy of
  // the address (the RST must still reach its socket). UDP flows from it
  // are closed: the next datagram opens a flow from an address it has.
  if (run.tcp || run.udp) {
    std::vector<IpAddr> gone;
    for (const int family : {AF_INET, AF_INET6}) {
      const netlink::FamilyTemplate* was = Of(tmpl_, family);
      const netlink::FamilyTemplate* now = Of(tmpl, family);
      if (was == nullptr || was->local) continue;
      for (const netlink::Address& a : was->addrs) {
        const bool kept = now != nullptr && !now->local &&
                          std::any_of(now->addrs.begin(), now->addrs.end(),
                                      [&](const netlink::Address& b) {
                                        return b.addr == a.addr;
                                      });
        if (!kept) gone.push_back(a.addr);
      }
    }
    const size_t reset = run.tcp ? run.tcp->ResetFlowsFrom(gone) : 0;
    if (reset > 0)
      LOG_DEBUG("host: %zu connections from addresses it no longer has reset",
                reset);
    const size_t closed = run.udp ? run.udp->CloseFlowsFrom(gone) : 0;
    if (closed > 0)
      LOG_DEBUG("host: %zu UDP flows from addresses it no longer has closed",
                closed);
  }
  if (cfg.config_net && !changes.empty() && !cfg.splice_only) {
    const std::string ifname = tap_name_;
    const bool strict = strict_check_;
    absl::Status applied = ns::RunInNamespace(run.target.fds(), [&] {
      return netlink::ApplyTapChanges(ifname, changes, strict);
    });
    if (!applied.ok())
      LOG_WARN("host: configuring the namespace: %s",
               std::string(applied.message()));
  }

  // What the services and flows read from now on.
  tap::Services services = BuildServices(cfg, tmpl, want, run.resolv);
  services.our_mac = run.services.our_mac;
  const ndp::NeighbourTable* table =
      run.neighbours ? &run.neighbours->table() : nullptr;
  if (services.arp) services.arp->neighbours = table;
  if (services.ndp) services.ndp->neighbours = table;
  bool prefixes_changed = false;
  bool ra_dns_changed = false;
  if (services.ndp && run.services.ndp) {
    const std::vector<ndp::Prefix>& p = services.ndp->prefixes;
    const std::vector<ndp::Prefix>& q = run.services.ndp->prefixes;
    prefixes_changed = p.size() != q.size();
    for (size_t i = 0; !prefixes_changed && i < p.size(); ++i)
      prefixes_changed = !(p[i].prefix == q[i].prefix) || p[i].len != q[i].len;
    ra_dns_changed = services.ndp->rdnss != run.services.ndp->rdnss ||
                     services.ndp->dnssl != run.services.ndp->dnssl;
  }
  run.services = std::move(services);
  const flow::AddressMap map =
      AddressMapFor(cfg, tmpl, want, run.services.our_mac, run.resolv);
  const IpAddr ns4 = cfg.splice_only ? IpAddr{} : map.ns4;
  const IpAddr ns6 = cfg.splice_only ? IpAddr{} : map.ns6;
  if (run.tcp) run.tcp->set_addresses(map, ns4, ns6);
  if (run.udp) run.udp->set_addresses(map, ns4, ns6);
  if (run.icmp) run.icmp->set_map(map);
  // The neighbours of the new template interfaces, and the addresses that
  // stay ours now.
  if (run.neighbours && run.tap) {
    NeighbourFilter filter = NeighbourFilterFor(
        run.services.arp.has_value() && !cfg.ipv6_only,
        run.services.ndp.has_value() && !cfg.ipv4_only, tmpl, want, map);
    if (!(filter == run.neighbours->filter())) {
      LOG_DEBUG(
          "host: following the neighbours of interface %d (IPv4), %d "
          "(IPv6)",
          filter.ifindex4, filter.ifindex6);
      run.neighbours->SetFilter(std::move(filter), *run.tap);
    }
  }
  if ((prefixes_changed || ra_dns_changed) && run.tap &&
      run.tap->sends_router_adverts()) {
    LOG_DEBUG("host: IPv6 %s changed, sending a router advertisement",
              prefixes_changed ? "prefix" : "DNS");
    run.tap->SendRouterAdvert();
  }
  tmpl_ = tmpl;
  net_ = std::move(want);
}

void StartFollowing(Run& run, const netlink::HostTemplate& tmpl,
                    const netlink::TapConfig& net, const std::string& tap_name,
                    bool strict_check) {
  absl::StatusOr<std::unique_ptr<Follow>> f =
      Follow::Start(tmpl, net, tap_name, strict_check);
  if (!f.ok()) {
    LOG_WARN("host: %s: the namespace keeps the host's network of start-up",
             std::string(f.status().message()));
    return;
  }
  const int err = loop::EpollAdd(
      run.epoll.get(),
      loop::Ref{loop::Kind::kNetlinkEvents, kFollowIndex, (*f)->fd()}, EPOLLIN);
  if (err != 0) {
    LOG_WARN(
        "host: epoll_ctl: %s: the namespace keeps the host's network "
        "of start-up",
        std::strerror(err));
    return;
  }
  // resolv.conf: the file its links lead to now, the one kept open.
  UniqueFd watch(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  int watch_err = watch.valid() ? 0 : errno;
  if (watch_err == 0 &&
      inotify_add_watch(watch.get(), "/etc/resolv.conf",
                        IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVE_SELF |
                            IN_DELETE_SELF) < 0)
    watch_err = errno;
  if (watch_err == 0)
    watch_err = loop::EpollAdd(
        run.epoll.get(),
        loop::Ref{loop::Kind::kNetlinkEvents, kFollowResolvIndex, watch.get()},
        EPOLLIN);
  if (watch_err == 0) {
    (*f)->set_resolv_watch(std::move(watch));
  } else {
    LOG_DEBUG(
        "host: no watch on resolv.conf (%s): read again when the network "
        "changes",
        std::strerror(watch_err));
  }
  run.follow = std::move(*f);
  LOG_DEBUG("host: following its links, addresses, routes and resolv.conf");
}

}  // namespace pasta::app
