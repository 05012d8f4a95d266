#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "netlink/messages.h"
#include "netlink/netlink.h"
#include "netlink/ops.h"
#include "netlink/socket.h"

namespace pasta::netlink {

namespace {

bool SameAddress(const Address& a, const Address& b) {
  return a.addr == b.addr && a.prefix_len == b.prefix_len;
}

bool SameNexthops(const std::vector<Nexthop>& a,
                  const std::vector<Nexthop>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i].gateway == b[i].gateway) || a[i].weight != b[i].weight ||
        (a[i].flags & RTNH_F_ONLINK) != (b[i].flags & RTNH_F_ONLINK))
      return false;
  }
  return true;
}

// What BuildNewRoute sends, the output interface aside (both sides are on
// the tap).
bool SameRoute(const Route& a, const Route& b) {
  return a.family == b.family && a.dst == b.dst && a.dst_len == b.dst_len &&
         a.gateway == b.gateway && a.priority == b.priority &&
         a.scope == b.scope && a.protocol == b.protocol && a.table == b.table &&
         a.type == b.type &&
         (a.flags & RTNH_F_ONLINK) == (b.flags & RTNH_F_ONLINK) &&
         a.src == b.src && a.src_len == b.src_len && a.tos == b.tos &&
         a.prefsrc == b.prefsrc && a.mtu == b.mtu && a.pref == b.pref &&
         SameNexthops(a.multipath, b.multipath);
}

bool HasGateway(const Route& r) {
  if (r.gateway.family != AF_UNSPEC) return true;
  for (const Nexthop& nh : r.multipath)
    if (nh.gateway.family != AF_UNSPEC) return true;
  return false;
}

template <typename T, typename Same>
bool Contains(const std::vector<T>& list, const T& x, Same same) {
  return std::any_of(list.begin(), list.end(),
                     [&](const T& y) { return same(x, y); });
}

}  // namespace

std::vector<TapChange> DiffTapConfig(const TapConfig& have,
                                     const TapConfig& want) {
  using Kind = TapChange::Kind;
  std::vector<TapChange> out;
  for (const Route& r : have.routes) {
    if (!Contains(want.routes, r, SameRoute))
      out.push_back(TapChange{Kind::kDelRoute, {}, r, 0});
  }
  for (const Address& a : have.addrs) {
    if (!Contains(want.addrs, a, SameAddress))
      out.push_back(TapChange{Kind::kDelAddr, a, {}, 0});
  }
  if (want.mtu > 0 && want.mtu != have.mtu)
    out.push_back(TapChange{Kind::kSetMtu, {}, {}, want.mtu});
  for (const Address& a : want.addrs) {
    if (!Contains(have.addrs, a, SameAddress))
      out.push_back(TapChange{Kind::kAddAddr, a, {}, 0});
  }
  // Removing an address can make the kernel drop the routes whose gateway
  // it no longer reaches (IPv4: the subnet route goes with the last
  // address in it, and the routes via a gateway there with it): the
  // family's routes are then all added again (EEXIST where they survived).
  bool removed4 = false, removed6 = false;
  for (const TapChange& c : out) {
    if (c.kind != Kind::kDelAddr) continue;
    (c.addr.addr.family == AF_INET ? removed4 : removed6) = true;
  }
  const size_t first_route = out.size();
  for (const Route& r : want.routes) {
    const bool again = r.family == AF_INET ? removed4 : removed6;
    if (again || !Contains(have.routes, r, SameRoute))
      out.push_back(TapChange{Kind::kAddRoute, {}, r, 0});
  }
  std::stable_partition(
      out.begin() + static_cast<std::ptrdiff_t>(first_route), out.end(),
      [](const TapChange& c) { return !HasGateway(c.route); });
  return out;
}

std::string FormatTapChange(const TapChange& c) {
  switch (c.kind) {
    case TapChange::Kind::kDelRoute:
      return absl::StrCat("remove route ", FormatRoute(c.route));
    case TapChange::Kind::kDelAddr:
      return absl::StrCat("remove address ", FormatIp(c.addr.addr), "/",
                          c.addr.prefix_len);
    case TapChange::Kind::kSetMtu:
      return absl::StrCat("MTU ", c.mtu);
    case TapChange::Kind::kAddAddr:
      return absl::StrCat("add address ", FormatIp(c.addr.addr), "/",
                          c.addr.prefix_len);
    case TapChange::Kind::kAddRoute:
      return absl::StrCat("add route ", FormatRoute(c.route));
  }
  return "?";
}

absl::Status ApplyTapChanges(const std::string& ifname,
                             const std::vector<TapChange>& changes,
                             bool strict_check) {
  ASSIGN_OR_RETURN(NlSocket sock, NlSocket::Open(strict_check));
  ASSIGN_OR_RETURN(LinkInfo link, GetLinkOn(sock, ifname));
  const int ifindex = link.index;
  const auto ignore = [](const nlmsghdr*) {};
  alignas(nlmsghdr) uint8_t buf[kMsgBufSize];
  std::optional<absl::Status> first_error;
  const auto fail = [&](const absl::Status& st) {
    LOG_DEBUG("netlink: %s", std::string(st.message()));
    if (!first_error) first_error = st;
  };
  const auto on_tap = [ifindex](Route r) {
    if (r.multipath.empty()) {
      r.oif = ifindex;
    } else {
      r.oif = 0;
      for (Nexthop& nh : r.multipath) nh.ifindex = ifindex;
    }
    return r;
  };
  std::vector<Route> routes;  // additions, in passes below
  for (const TapChange& c : changes) {
    const std::string what = absl::StrCat(FormatTapChange(c), " on ", ifname);
    size_t len = 0;
    switch (c.kind) {
      case TapChange::Kind::kAddRoute:
        routes.push_back(on_tap(c.route));
        continue;
      case TapChange::Kind::kDelRoute:
        len = BuildDelRoute(on_tap(c.route), absl::MakeSpan(buf));
        break;
      case TapChange::Kind::kDelAddr:
        len = BuildDelAddr(ifindex, c.addr, absl::MakeSpan(buf));
        break;
      case TapChange::Kind::kSetMtu:
        len = BuildSetLink(ifindex, c.mtu, std::nullopt, absl::MakeSpan(buf));
        break;
      case TapChange::Kind::kAddAddr:
        len = BuildNewAddr(ifindex, c.addr, absl::MakeSpan(buf));
        break;
    }
    if (len == 0) {
      fail(absl::InvalidArgumentError(what + ": bad request"));
      continue;
    }
    const ReplyState st = sock.Transact(absl::MakeSpan(buf, len), ignore);
    // Gone already (an address's removal takes its routes along), or
    // there already.
    if (st.error == 0 || st.error == ESRCH || st.error == EADDRNOTAVAIL ||
        st.error == EEXIST) {
      LOG_DEBUG("netlink: %s", what);
      continue;
    }
    fail(ReplyStatus(st, what));
  }
  while (!routes.empty()) {
    std::vector<Route> failed;
    std::optional<absl::Status> pass_error;
    for (Route& r : routes) {
      const std::string what =
          absl::StrCat("add route ", FormatRoute(r), " on ", ifname);
      const size_t len = BuildNewRoute(r, absl::MakeSpan(buf));
      if (len == 0) {
        fail(absl::InvalidArgumentError(what + ": bad route"));
        continue;
      }
      const ReplyState st = sock.Transact(absl::MakeSpan(buf, len), ignore);
      if (st.error == 0 || st.error == EEXIST) {
        LOG_DEBUG("netlink: %s", what);
        continue;
      }
      if (!pass_error) pass_error = ReplyStatus(st, what);
      failed.push_back(std::move(r));
    }
    if (failed.size() == routes.size()) {
      fail(*pass_error);
      break;
    }
    routes = std::move(failed);
  }
  return first_error ? *first_error : absl::OkStatus();
}

}  // namespace pasta::netlink
