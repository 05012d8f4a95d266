// Reading from the kernel: the named operations of ops.h, the host template
// and the public read-back helpers.
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "netlink/messages.h"
#include "netlink/netlink.h"
#include "netlink/ops.h"
#include "netlink/socket.h"

namespace pasta::netlink {

namespace {

// A dump that changed under us (NLM_F_DUMP_INTR) is redone this many times
// before giving up with EINTR.
constexpr int kDumpAttempts = 5;

const char* FamilyName(int family) {
  return family == AF_INET ? "IPv4" : "IPv6";
}

// Runs a dump built by `build` into `buf`, collecting with `collect`; `reset`
// clears what a previous, interrupted attempt collected.
template <typename Build, typename Collect, typename Reset>
absl::Status RunDump(NlSocket& sock, const std::string& what, Build build,
                     Collect collect, Reset reset) {
  alignas(nlmsghdr) uint8_t buf[kMsgBufSize];
  ReplyState st;
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    reset();
    const size_t len = build(absl::MakeSpan(buf));
    if (len == 0) return absl::InternalError(absl::StrCat(what, ": request"));
    st = sock.Transact(absl::MakeSpan(buf, len), collect);
    if (st.error != 0) return ReplyStatus(st, what);
    if (!st.interrupted) return absl::OkStatus();
    LOG_DEBUG("netlink: %s interrupted by a change, retrying", what);
  }
  return ErrnoToStatus(EINTR, what);
}

absl::StatusOr<LinkInfo> GetLinkWith(NlSocket& sock, absl::Span<uint8_t> msg,
                                     const std::string& what) {
  std::optional<LinkInfo> link;
  ReplyState st = sock.Transact(msg, [&](const nlmsghdr* nlh) {
    if (!link) link = ParseLink(nlh);
  });
  if (st.error == ENODEV)
    return absl::NotFoundError(absl::StrCat(what, ": no such interface"));
  if (st.error != 0) return ReplyStatus(st, what);
  if (!link) return absl::NotFoundError(absl::StrCat(what, ": no reply"));
  return *link;
}

}  // namespace

absl::StatusOr<std::vector<Route>> DumpRoutesOn(NlSocket& sock, int family,
                                                int ifindex) {
  std::vector<Route> routes;
  RETURN_IF_ERROR(RunDump(
      sock, absl::StrCat("dumping ", FamilyName(family), " routes"),
      [&](absl::Span<uint8_t> b) { return BuildGetRoutes(family, ifindex, b); },
      [&](const nlmsghdr* nlh) {
        std::optional<Route> r = ParseRoute(nlh);
        if (r) routes.push_back(std::move(*r));
      },
      [&] { routes.clear(); }));
  return routes;
}

absl::StatusOr<std::vector<Address>> DumpAddrsOn(NlSocket& sock, int family,
                                                 int ifindex) {
  std::vector<Address> addrs;
  RETURN_IF_ERROR(RunDump(
      sock, "dumping addresses",
      [&](absl::Span<uint8_t> b) { return BuildGetAddrs(family, ifindex, b); },
      [&](const nlmsghdr* nlh) {
        std::optional<Address> a = ParseAddress(nlh);
        if (!a) return;
        if (family != AF_UNSPEC && a->addr.family != family) return;
        if (ifindex > 0 && a->ifindex != ifindex) return;
        addrs.push_back(*a);
      },
      [&] { addrs.clear(); }));
  return addrs;
}

absl::StatusOr<std::vector<Neighbour>> DumpNeighbours(int family, int ifindex,
                                                      bool strict_check) {
  ASSIGN_OR_RETURN(NlSocket sock, NlSocket::Open(strict_check));
  std::vector<Neighbour> out;
  RETURN_IF_ERROR(RunDump(
      sock, absl::StrCat("dumping ", FamilyName(family), " neighbours"),
      [&](absl::Span<uint8_t> b) {
        return BuildGetNeighbours(family, ifindex, b);
      },
      [&](const nlmsghdr* nlh) {
        std::optional<Neighbour> n = ParseNeighbour(nlh);
        if (!n || n->addr.family != family) return;
        if (ifindex > 0 && n->ifindex != ifindex) return;
        out.push_back(*n);
      },
      [&] { out.clear(); }));
  return out;
}

absl::StatusOr<LinkInfo> GetLinkOn(NlSocket& sock, const std::string& ifname) {
  const std::string what = absl::StrCat("interface ", ifname);
  if (ifname.empty() || ifname.size() >= IFNAMSIZ)
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": invalid interface name"));
  alignas(nlmsghdr) uint8_t buf[kMsgBufSize];
  const size_t len = BuildGetLinkByName(ifname, absl::MakeSpan(buf));
  if (len == 0) return absl::InternalError(absl::StrCat(what, ": request"));
  return GetLinkWith(sock, absl::MakeSpan(buf, len), what);
}

absl::StatusOr<LinkInfo> GetLinkOn(NlSocket& sock, int ifindex) {
  const std::string what = absl::StrCat("interface index ", ifindex);
  alignas(nlmsghdr) uint8_t buf[kMsgBufSize];
  const size_t len = BuildGetLinkByIndex(ifindex, absl::MakeSpan(buf));
  if (len == 0) return absl::InternalError(absl::StrCat(what, ": request"));
  return GetLinkWith(sock, absl::MakeSpan(buf, len), what);
}

namespace {

// Fills one family of the template, or says why there is none.
absl::Status ReadFamily(NlSocket& sock, int family, const std::string& ifname,
                        std::optional<FamilyTemplate>* out, std::string* why) {
  const char* fam = FamilyName(family);
  ASSIGN_OR_RETURN(std::vector<Route> routes, DumpRoutesOn(sock, family, 0));

  FamilyTemplate t;
  if (!ifname.empty()) {
    ASSIGN_OR_RETURN(t.link, GetLinkOn(sock, ifname));
  } else {
    std::optional<int> ifindex = PickDefaultInterface(routes, family);
    if (!ifindex) {
      // As upstream: the first interface with any route will do.
      ifindex = PickRouteInterface(routes, family);
      if (!ifindex) {
        *why = absl::StrCat("no ", fam, " route on any interface");
        return absl::OkStatus();
      }
      LOG_DEBUG(
          "netlink: no %s default route, template: interface %d, the "
          "first with a route",
          fam, *ifindex);
    }
    absl::StatusOr<LinkInfo> link = GetLinkOn(sock, *ifindex);
    if (!link.ok()) {  // it went away between the two requests
      *why = std::string(link.status().message());
      return absl::OkStatus();
    }
    t.link = std::move(*link);
  }

  ASSIGN_OR_RETURN(t.addrs, DumpAddrsOn(sock, family, t.link.index));
  bool copyable = false;
  for (const Address& a : t.addrs) copyable |= IsCopyableAddress(a);
  if (!copyable) {
    *why = absl::StrCat("interface ", t.link.name, " has no ",
                        family == AF_INET6 ? "global " : "", fam, " address");
    return absl::OkStatus();
  }

  for (Route& r : routes) {
    const char* reason = FilterRoute(r, t.link.index, family);
    if (reason != nullptr) {
      LOG_TRACE("netlink: not copying route %s (table %u, type %u, dev %d): %s",
                FormatRoute(r), r.table, r.type, r.oif, reason);
      continue;
    }
    t.routes.push_back(std::move(r));
  }
  t.gateway = DefaultGateway(t.routes);
  LOG_DEBUG(
      "netlink: %s template %s (index %d, mtu %u): %zu addresses, "
      "%zu routes, gateway %s",
      fam, t.link.name, t.link.index, t.link.mtu, t.addrs.size(),
      t.routes.size(), FormatIp(t.gateway));
  *out = std::move(t);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HostTemplate> ReadHostTemplate(const TemplateRequest& req) {
  ASSIGN_OR_RETURN(NlSocket sock, NlSocket::Open(req.strict_check));
  HostTemplate out;
  if (req.want4) {
    RETURN_IF_ERROR(
        ReadFamily(sock, AF_INET, req.ifname4, &out.v4, &out.why_no_v4));
  } else {
    out.why_no_v4 = "IPv4 disabled";
  }
  if (req.want6) {
    RETURN_IF_ERROR(
        ReadFamily(sock, AF_INET6, req.ifname6, &out.v6, &out.why_no_v6));
  } else {
    out.why_no_v6 = "IPv6 disabled";
  }
  return out;
}

absl::StatusOr<LinkInfo> GetLink(const std::string& ifname, bool strict_check) {
  ASSIGN_OR_RETURN(NlSocket sock, NlSocket::Open(strict_check));
  return GetLinkOn(sock, ifname);
}

absl::StatusOr<std::vector<Route>> DumpRoutes(int family, int ifindex,
                                              bool strict_check) {
  ASSIGN_OR_RETURN(NlSocket sock, NlSocket::Open(strict_check));
  ASSIGN_OR_RETURN(std::vector<Route> routes,
                   DumpRoutesOn(sock, family, ifindex));
  if (ifindex <= 0) return routes;
  std::vector<Route> kept;
  for (Route& r : routes)
    if (KeepRoute(r, ifindex, family)) kept.push_back(std::move(r));
  return kept;
}

absl::StatusOr<std::vector<Address>> DumpAddrs(int family, int ifindex,
                                               bool strict_check) {
  ASSIGN_OR_RETURN(NlSocket sock, NlSocket::Open(strict_check));
  return DumpAddrsOn(sock, family, ifindex);
}

std::string FormatRoute(const Route& route) {
  std::string s = absl::StrCat(FormatIp(route.dst), "/", route.dst_len);
  if (route.src_len > 0)
    absl::StrAppend(&s, " from ", FormatIp(route.src), "/", route.src_len);
  if (route.gateway.family != AF_UNSPEC)
    absl::StrAppend(&s, " via ", FormatIp(route.gateway));
  for (const Nexthop& nh : route.multipath) {
    absl::StrAppend(&s, " nexthop");
    if (nh.gateway.family != AF_UNSPEC)
      absl::StrAppend(&s, " via ", FormatIp(nh.gateway));
    else
      absl::StrAppend(&s, " dev ", nh.ifindex);
  }
  return s;
}

}  // namespace pasta::netlink
