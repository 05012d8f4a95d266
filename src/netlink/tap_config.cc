// From template to tap: BuildTapConfig (pure) and ConfigureTap (netlink in
// the target namespace).
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "netlink/messages.h"
#include "netlink/netlink.h"
#include "netlink/ops.h"
#include "netlink/socket.h"

namespace pasta::netlink {

namespace {

const char* FamilyName(int family) {
  return family == AF_INET ? "IPv4" : "IPv6";
}

IpAddr AnyAddr(int family) {
  IpAddr a;
  a.family = family;
  return a;
}

// The prefix of the classful block an IPv4 address falls in, as upstream
// derives a netmask when nothing better is known (8/16/24, else 32).
uint8_t ClassfulPrefix(const IpAddr& addr) {
  const uint32_t a = ntohl(addr.v4().s_addr);
  if (IN_CLASSA(a)) return 8;
  if (IN_CLASSB(a)) return 16;
  if (IN_CLASSC(a)) return 24;
  return 32;
}

bool IsLinkLocal6(const IpAddr& a) {
  return a.family == AF_INET6 && a.bytes[0] == 0xfe &&
         (a.bytes[1] & 0xc0) == 0x80;
}

bool IsDefault(const Route& r) { return r.dst_len == 0 && r.src_len == 0; }

// The best (lowest metric, first on a tie) default route, or nullptr.
const Route* BestDefault(const std::vector<Route>& routes) {
  const Route* best = nullptr;
  for (const Route& r : routes)
    if (IsDefault(r) && (!best || r.priority < best->priority)) best = &r;
  return best;
}

Route MakeDefault(int family, const IpAddr& gw, const Route* like) {
  Route r;
  r.family = family;
  r.dst = AnyAddr(family);
  r.gateway = gw;
  r.table = RT_TABLE_MAIN;
  r.type = RTN_UNICAST;
  r.scope = RT_SCOPE_UNIVERSE;
  r.protocol = RTPROT_BOOT;
  if (like != nullptr) {
    r.priority = like->priority;
    r.protocol = like->protocol;
    r.pref = like->pref;
  }
  return r;
}

// Whether the tap will be able to reach `gw` directly: on-link flag, IPv6
// link-local, another family (RTA_VIA, not ours to judge), one of its
// subnets, or a route without gateway that covers it.
bool GatewayReachable(const IpAddr& gw, int family, bool onlink,
                      const std::vector<Address>& addrs,
                      const std::vector<Route>& routes) {
  if (onlink || IsLinkLocal6(gw) || gw.family != family) return true;
  for (const Address& a : addrs)
    if (SamePrefix(gw, a.addr, a.prefix_len)) return true;
  for (const Route& r : routes) {
    if (r.family != family || r.gateway.family != AF_UNSPEC ||
        !r.multipath.empty() || r.src_len != 0)
      continue;
    if (SamePrefix(gw, r.dst, r.dst_len)) return true;
  }
  return false;
}

absl::Status CheckFamily(const std::optional<IpAddr>& a, int family,
                         const char* what) {
  if (!a || a->family == family) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      what, " ", FormatIp(*a), " is not an ", FamilyName(family), " address"));
}

struct FamilyOverrides {
  const std::optional<IpAddr>& addr;
  int prefix_len;  // -1: none
  const std::optional<IpAddr>& gw;
  bool no_copy_routes;
  bool no_copy_addrs;
};

absl::Status BuildFamily(const FamilyTemplate& t, int family,
                         const FamilyOverrides& ov, TapConfig* cfg) {
  // Addresses.
  std::vector<Address> addrs;
  if (ov.addr) {
    Address a;
    a.addr = *ov.addr;
    a.scope = RT_SCOPE_UNIVERSE;
    if (ov.prefix_len >= 0) {
      a.prefix_len = static_cast<uint8_t>(ov.prefix_len);
    } else {
      a.prefix_len = family == AF_INET ? ClassfulPrefix(a.addr) : 64;
      for (const Address& h : t.addrs) {
        if (SamePrefix(h.addr, a.addr, h.prefix_len)) {
          a.prefix_len = h.prefix_len;
          break;
        }
      }
    }
    addrs.push_back(a);
  } else {
    for (const Address& h : t.addrs) {
      if (!IsCopyableAddress(h)) continue;
      Address a = h;
      a.ifindex = 0;
      addrs.push_back(a);
      if (ov.no_copy_addrs) break;
    }
    if (ov.prefix_len >= 0 && !addrs.empty())
      addrs[0].prefix_len = static_cast<uint8_t>(ov.prefix_len);
  }

  // Routes.
  const Route* tdef = BestDefault(t.routes);
  const IpAddr gw = ov.gw ? *ov.gw : t.gateway;
  std::vector<Route> routes;
  if (ov.no_copy_routes) {
    if (gw.family != AF_UNSPEC) {
      Route d = MakeDefault(family, gw, tdef);
      if (!ov.gw && tdef != nullptr) {
        const uint32_t onlink =
            tdef->multipath.empty() ? tdef->flags : tdef->multipath[0].flags;
        d.flags |= onlink & RTNH_F_ONLINK;
      }
      routes.push_back(d);
    }
  } else {
    for (const Route& r : t.routes) {
      if (ov.gw && IsDefault(r)) continue;  // replaced below
      routes.push_back(r);
    }
    if (ov.gw) routes.push_back(MakeDefault(family, *ov.gw, tdef));
  }
  for (Route& r : routes) {
    r.table = RT_TABLE_MAIN;
    if (r.prefsrc.family == AF_UNSPEC) continue;
    bool ours = false;
    for (const Address& a : addrs) ours |= a.addr == r.prefsrc;
    if (!ours) r.prefsrc = IpAddr{};
  }

  // Validation, when the overrides changed what the host had proven to work.
  const bool changed = ov.addr || ov.gw || ov.prefix_len >= 0 ||
                       ov.no_copy_routes || ov.no_copy_addrs;
  if (changed) {
    for (const Route& r : routes) {
      if (r.multipath.empty()) {
        if (r.gateway.family == AF_UNSPEC) continue;
        if (!GatewayReachable(r.gateway, family, r.flags & RTNH_F_ONLINK, addrs,
                              routes))
          return absl::InvalidArgumentError(
              absl::StrCat("gateway ", FormatIp(r.gateway), " of route ",
                           FormatRoute(r), " is not reachable on any ",
                           FamilyName(family), " subnet or route of the tap"));
        continue;
      }
      for (const Nexthop& nh : r.multipath) {
        if (nh.gateway.family == AF_UNSPEC) continue;
        if (!GatewayReachable(nh.gateway, family, nh.flags & RTNH_F_ONLINK,
                              addrs, routes))
          return absl::InvalidArgumentError(
              absl::StrCat("gateway ", FormatIp(nh.gateway), " of route ",
                           FormatRoute(r), " is not reachable on any ",
                           FamilyName(family), " subnet or route of the tap"));
      }
    }
  }

  cfg->addrs.insert(cfg->addrs.end(), addrs.begin(), addrs.end());
  cfg->routes.insert(cfg->routes.end(), routes.begin(), routes.end());
  return absl::OkStatus();
}

IpAddr FromBytes(int family, const uint8_t* bytes) {
  IpAddr a;
  a.family = family;
  std::copy_n(bytes, family == AF_INET ? 4 : 16, a.bytes.begin());
  return a;
}

}  // namespace

FamilyTemplate LocalTemplate(int family) {
  FamilyTemplate t;
  t.local = true;
  t.gateway = family == AF_INET ? FromBytes(AF_INET, kLocalGateway4)
                                : FromBytes(AF_INET6, kLocalGateway6);
  if (family == AF_INET) {
    Address a;
    a.addr = FromBytes(AF_INET, kLocalAddr4);
    a.prefix_len = kLocalPrefixLen4;
    a.scope = RT_SCOPE_UNIVERSE;
    t.addrs.push_back(a);
  }
  t.routes.push_back(MakeDefault(family, t.gateway, nullptr));
  return t;
}

absl::StatusOr<TapConfig> BuildTapConfig(const HostTemplate& tmpl,
                                         const Overrides& ov, bool want4,
                                         bool want6) {
  RETURN_IF_ERROR(CheckFamily(ov.addr4, AF_INET, "address"));
  RETURN_IF_ERROR(CheckFamily(ov.addr6, AF_INET6, "address"));
  RETURN_IF_ERROR(CheckFamily(ov.gw4, AF_INET, "gateway"));
  RETURN_IF_ERROR(CheckFamily(ov.gw6, AF_INET6, "gateway"));
  if (ov.prefix_len4 < -1 || ov.prefix_len4 > 32)
    return absl::InvalidArgumentError(
        absl::StrCat("IPv4 prefix length ", ov.prefix_len4, " out of range"));

  TapConfig cfg;
  if (want4 && tmpl.v4) {
    RETURN_IF_ERROR(
        BuildFamily(*tmpl.v4, AF_INET,
                    FamilyOverrides{ov.addr4, ov.prefix_len4, ov.gw4,
                                    ov.no_copy_routes, ov.no_copy_addrs},
                    &cfg));
  }
  if (want6 && tmpl.v6) {
    RETURN_IF_ERROR(
        BuildFamily(*tmpl.v6, AF_INET6,
                    FamilyOverrides{ov.addr6, -1, ov.gw6, ov.no_copy_routes,
                                    ov.no_copy_addrs},
                    &cfg));
  }
  return cfg;
}

namespace {

// The IPv6 link-local addresses on `ifindex`.
absl::StatusOr<std::vector<Address>> LinkLocals(NlSocket& sock, int ifindex) {
  ASSIGN_OR_RETURN(std::vector<Address> addrs,
                   DumpAddrsOn(sock, AF_INET6, ifindex));
  std::erase_if(addrs, [](const Address& a) { return !IsLinkLocal6(a.addr); });
  return addrs;
}

}  // namespace

absl::Status ConfigureTap(const TapConfig& cfg, IpAddr* link_local6) {
  ASSIGN_OR_RETURN(NlSocket sock, NlSocket::Open(cfg.strict_check));
  ASSIGN_OR_RETURN(LinkInfo link, GetLinkOn(sock, cfg.ifname));
  const int ifindex = link.index;
  const std::string dev = absl::StrCat("interface ", cfg.ifname);
  const auto ignore = [](const nlmsghdr*) {};
  alignas(nlmsghdr) uint8_t buf[kMsgBufSize];

  // MAC and MTU first (some drivers refuse a MAC change while up), then up.
  if (cfg.mtu > 0 || cfg.mac) {
    const size_t len =
        BuildSetLink(ifindex, cfg.mtu, cfg.mac, absl::MakeSpan(buf));
    if (len == 0) return absl::InternalError(dev + ": request");
    RETURN_IF_ERROR(
        ReplyStatus(sock.Transact(absl::MakeSpan(buf, len), ignore),
                    absl::StrCat(dev, ": setting", cfg.mtu > 0 ? " MTU" : "",
                                 cfg.mtu > 0 && cfg.mac ? " and" : "",
                                 cfg.mac ? " MAC" : "")));
  }
  {
    const size_t len = BuildLinkUp(ifindex, absl::MakeSpan(buf));
    if (len == 0) return absl::InternalError(dev + ": request");
    RETURN_IF_ERROR(ReplyStatus(sock.Transact(absl::MakeSpan(buf, len), ignore),
                                absl::StrCat(dev, ": bringing up")));
  }
  if (cfg.ll_nodad) {
    // The kernel's link-local address stays tentative until its duplicate
    // address detection ends (up to a second to start, one more to run):
    // the same address added again with IFA_F_NODAD is usable at once.
    ASSIGN_OR_RETURN(std::vector<Address> lls, LinkLocals(sock, ifindex));
    for (Address a : lls) {
      if ((a.flags & IFA_F_TENTATIVE) == 0) continue;
      const std::string what =
          absl::StrCat(dev, ": link-local address ", FormatIp(a.addr));
      size_t len = BuildDelAddr(ifindex, a, absl::MakeSpan(buf));
      if (len == 0) return absl::InternalError(what + ": request");
      ReplyState st = sock.Transact(absl::MakeSpan(buf, len), ignore);
      if (st.error != 0 && st.error != EADDRNOTAVAIL) {
        LOG_WARN("%s: %s", what, ReplyStatus(st, "removing").message());
        continue;
      }
      a.flags = 0;
      len = BuildNewAddr(ifindex, a, absl::MakeSpan(buf));
      if (len == 0) return absl::InternalError(what + ": request");
      RETURN_IF_ERROR(
          ReplyStatus(sock.Transact(absl::MakeSpan(buf, len), ignore),
                      what + ": adding it back without DAD"));
      LOG_DEBUG("netlink: %s is usable at once (no DAD)", what);
    }
  }

  for (const Address& a : cfg.addrs) {
    const std::string what = absl::StrCat("address ", FormatIp(a.addr), "/",
                                          a.prefix_len, " on ", cfg.ifname);
    const size_t len = BuildNewAddr(ifindex, a, absl::MakeSpan(buf));
    if (len == 0) return absl::InvalidArgumentError(what + ": bad address");
    ReplyState st = sock.Transact(absl::MakeSpan(buf, len), ignore);
    if (st.error == EEXIST) continue;
    RETURN_IF_ERROR(ReplyStatus(st, what));
    LOG_DEBUG("netlink: added %s", what);
  }

  // Routes, in passes: a route via a gateway fails until the route to the
  // gateway exists, so n routes need at most n passes. A pass that adds
  // nothing ends it with the first failure.
  std::vector<Route> pending;
  for (Route r : cfg.routes) {
    if (r.multipath.empty()) {
      r.oif = ifindex;
    } else {
      r.oif = 0;
      for (Nexthop& nh : r.multipath) nh.ifindex = ifindex;
    }
    pending.push_back(std::move(r));
  }
  while (!pending.empty()) {
    std::vector<Route> failed;
    std::optional<absl::Status> first_error;
    for (Route& r : pending) {
      const std::string what = absl::StrCat("route ", FormatRoute(r));
      const size_t len = BuildNewRoute(r, absl::MakeSpan(buf));
      if (len == 0) return absl::InvalidArgumentError(what + ": bad route");
      ReplyState st = sock.Transact(absl::MakeSpan(buf, len), ignore);
      if (st.error == 0 || st.error == EEXIST) {
        LOG_DEBUG("netlink: %s %s on %s", st.error ? "have" : "added", what,
                  cfg.ifname);
        continue;
      }
      absl::Status s = ReplyStatus(st, what);
      LOG_DEBUG("netlink: %s (will retry if others get in)", s.message());
      if (!first_error) first_error = s;
      failed.push_back(std::move(r));
    }
    if (failed.size() == pending.size()) return *first_error;
    pending = std::move(failed);
  }
  if (link_local6 != nullptr) {
    *link_local6 = IpAddr{};
    ASSIGN_OR_RETURN(std::vector<Address> lls, LinkLocals(sock, ifindex));
    if (!lls.empty()) *link_local6 = lls[0].addr;
  }
  return absl::OkStatus();
}

}  // namespace pasta::netlink
