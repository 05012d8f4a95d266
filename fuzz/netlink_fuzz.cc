// libFuzzer target for the rtnetlink reply code: arbitrary bytes as one
// recv()'s worth of replies to a dump. The reply walker hands each message
// of our sequence number to the link, address and route parsers (and acks
// and errors to ParseAck); what parses goes through the template filter,
// the default route and gateway pickers, BuildTapConfig, and back into
// requests with BuildNewAddr/BuildNewRoute, which must parse back to the
// same address or route.
//
// The same bytes are also read as one notification datagram, as the
// event socket sees it (WalkNotifications), each message through the
// neighbour, link, address and route parsers (following the host,
// app/follow.h). The tap configuration built at the end is diffed
// (DiffTapConfig) against itself (no request) and against local mode,
// each request built as ApplyTapChanges would.
//
// The first input byte steers: its bits choose the template interface
// index (0..7), and whether -a/-g style overrides are given. The sequence
// number we wait for is the first message's, so that a real dump's
// messages are all ours.
#include <linux/rtnetlink.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "netlink/events.h"
#include "netlink/messages.h"
#include "netlink/netlink.h"
#include "netlink/socket.h"

namespace {

using namespace pasta::netlink;

void Require(bool ok) {
  if (!ok) std::abort();
}

bool SameIp(const pasta::IpAddr& a, const pasta::IpAddr& b) {
  return a.family == b.family &&
         std::memcmp(a.bytes.data(), b.bytes.data(), a.size()) == 0;
}

alignas(nlmsghdr) uint8_t g_msg[kMsgBufSize];

const nlmsghdr* Msg() { return reinterpret_cast<const nlmsghdr*>(g_msg); }

void RoundTripRoute(const Route& r) {
  const size_t len = BuildNewRoute(r, absl::MakeSpan(g_msg));
  if (len == 0) return;  // not AF_INET/AF_INET6, or too big
  Require(Msg()->nlmsg_len == len);
  const std::optional<Route> back = ParseRoute(Msg());
  Require(back.has_value());
  Require(back->family == r.family && back->dst_len == r.dst_len &&
          back->src_len == r.src_len && back->table == r.table &&
          back->priority == r.priority && back->mtu == r.mtu &&
          back->pref == r.pref && back->type == r.type);
  if (r.dst_len > 0 && r.dst.family == r.family)
    Require(SameIp(back->dst, r.dst));
  Require(back->multipath.size() == r.multipath.size());
  for (size_t i = 0; i < r.multipath.size(); ++i) {
    Require(back->multipath[i].ifindex == r.multipath[i].ifindex);
    Require(back->multipath[i].weight == r.multipath[i].weight);
    if (r.multipath[i].gateway.family == AF_INET ||
        r.multipath[i].gateway.family == AF_INET6)
      Require(SameIp(back->multipath[i].gateway, r.multipath[i].gateway));
  }
  if (r.multipath.empty()) {
    if (r.oif > 0) Require(back->oif == r.oif);
    if (r.gateway.family == AF_INET || r.gateway.family == AF_INET6)
      Require(SameIp(back->gateway, r.gateway));
  }
}

void RoundTripAddress(const Address& a) {
  const size_t len = BuildNewAddr(a.ifindex, a, absl::MakeSpan(g_msg));
  if (len == 0) return;
  const std::optional<Address> back = ParseAddress(Msg());
  Require(back.has_value());
  Require(SameIp(back->addr, a.addr) && back->prefix_len == a.prefix_len &&
          back->ifindex == a.ifindex && back->scope == a.scope);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 65536) return 0;
  const uint8_t flags = data[0];
  // What recv() gives is aligned; so is this copy.
  static std::vector<uint32_t> buf;
  buf.assign((size - 1 + 3) / 4, 0);
  if (size > 1) std::memcpy(buf.data(), data + 1, size - 1);
  const auto bytes = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(buf.data()), size - 1);
  uint32_t seq = 0;
  if (bytes.size() >= sizeof(nlmsghdr))
    std::memcpy(&seq, bytes.data() + offsetof(nlmsghdr, nlmsg_seq), 4);

  WalkNotifications(bytes, [&](const nlmsghdr* nlh) {
    const std::optional<Neighbour> n = ParseNeighbour(nlh);
    if (!n) return;
    Require(n->addr.family == AF_INET || n->addr.family == AF_INET6);
    Require(!n->Usable() || (n->has_mac && !n->deleted));
    Require(n->has_mac || n->mac.IsZero());
  });
  WalkNotifications(bytes, [&](const nlmsghdr* nlh) {
    (void)ParseLink(nlh);
    if (auto a = ParseAddress(nlh))
      Require(a->addr.family == AF_INET || a->addr.family == AF_INET6);
    if (auto r = ParseRoute(nlh)) (void)FormatRoute(*r);
  });

  std::vector<LinkInfo> links;
  std::vector<Address> addrs;
  std::vector<Route> routes;
  ReplyState state;
  ProcessReplies(
      bytes, seq,
      [&](const nlmsghdr* nlh) {
        if (auto l = ParseLink(nlh)) links.push_back(*l);
        if (auto a = ParseAddress(nlh)) addrs.push_back(*a);
        if (auto r = ParseRoute(nlh)) routes.push_back(*r);
        (void)ParseAck(nlh);
      },
      &state);
  (void)ReplyStatus(state, "dump");
  if (state.error == 0) Require(state.ext_msg.empty() || state.done);

  for (const Route& r : routes) {
    (void)FormatRoute(r);
    RoundTripRoute(r);
  }
  for (const Address& a : addrs) {
    (void)IsCopyableAddress(a);
    RoundTripAddress(a);
  }

  // The template as ReadHostTemplate would make it, for interface `ifindex`.
  const int ifindex = flags & 7;
  HostTemplate tmpl;
  for (int family : {AF_INET, AF_INET6}) {
    (void)PickDefaultInterface(routes, family);
    FamilyTemplate t;
    t.link.index = ifindex;
    for (const LinkInfo& l : links)
      if (l.index == ifindex) t.link = l;
    bool copyable = false;
    for (const Address& a : addrs) {
      if (a.addr.family != family || a.ifindex != ifindex) continue;
      t.addrs.push_back(a);
      copyable |= IsCopyableAddress(a);
    }
    for (Route r : routes) {
      if (FilterRoute(r, ifindex, family) != nullptr) continue;
      Require(r.family == family);
      Require(r.multipath.empty() ? r.oif == ifindex : r.multipath.size() >= 2);
      RoundTripRoute(r);
      t.routes.push_back(r);
    }
    t.gateway = DefaultGateway(t.routes, family);
    if (!copyable) continue;
    (family == AF_INET ? tmpl.v4 : tmpl.v6) = std::move(t);
  }
  Overrides ov;
  if (flags & 8) ov.addr4 = *pasta::ParseIp("192.0.2.77");
  if (flags & 16) ov.gw4 = *pasta::ParseIp("192.0.2.1");
  if (flags & 32) ov.addr6 = *pasta::ParseIp("2001:db8::77");
  if (flags & 64) ov.prefix_len4 = 24;
  ov.no_copy_routes = flags & 128;
  const auto tap = BuildTapConfig(tmpl, ov, true, true);
  if (tap.ok()) {
    for (const Address& a : tap->addrs) RoundTripAddress(a);
    for (const Route& r : tap->routes) RoundTripRoute(r);
    Require(DiffTapConfig(*tap, *tap).empty());
    HostTemplate local;
    local.v4 = LocalTemplate(AF_INET);
    local.v6 = LocalTemplate(AF_INET6);
    const auto to = BuildTapConfig(local, Overrides{}, true, true);
    Require(to.ok());
    for (const TapChange& c : DiffTapConfig(*tap, *to)) {
      (void)FormatTapChange(c);
      switch (c.kind) {
        case TapChange::Kind::kDelRoute:
          (void)BuildDelRoute(c.route, absl::MakeSpan(g_msg));
          break;
        case TapChange::Kind::kAddRoute:
          RoundTripRoute(c.route);
          break;
        case TapChange::Kind::kDelAddr:
          (void)BuildDelAddr(1, c.addr, absl::MakeSpan(g_msg));
          break;
        case TapChange::Kind::kAddAddr:
          (void)BuildNewAddr(1, c.addr, absl::MakeSpan(g_msg));
          break;
        case TapChange::Kind::kSetMtu:
          break;
      }
    }
  }
  return 0;
}
