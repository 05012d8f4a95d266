#include "netlink/messages.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace pasta::netlink {

namespace {

// Fixed headers are copied out with memcpy rather than read through a cast
// pointer: the bytes may come from anywhere (tests, captures).
template <typename T>
bool ReadFixedHeader(const nlmsghdr* nlh, T* out) {
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(T))) return false;
  std::memcpy(out, mnl_nlmsg_get_payload(nlh), sizeof(T));
  return true;
}

// Calls fn(attr) for every well-formed attribute in [start, start + len).
// Stops at the first attribute whose length runs past the end.
template <typename Fn>
void ForEachAttr(const void* start, size_t len, Fn fn) {
  const auto* attr = static_cast<const nlattr*>(start);
  long rem = static_cast<long>(len);
  while (rem >= static_cast<long>(sizeof(nlattr)) &&
         mnl_attr_ok(attr, static_cast<int>(rem))) {
    fn(attr);
    rem -= MNL_ALIGN(attr->nla_len);
    attr = mnl_attr_next(attr);
  }
}

// Attributes of a message after its fixed header of size `hdr_size`.
template <typename Fn>
void ForEachMsgAttr(const nlmsghdr* nlh, size_t hdr_size, Fn fn) {
  const size_t offset = MNL_ALIGN(hdr_size);
  if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + offset) return;
  ForEachAttr(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) + offset,
              nlh->nlmsg_len - MNL_NLMSG_HDRLEN - offset, fn);
}

bool GetU32(const nlattr* attr, uint32_t* out) {
  if (mnl_attr_get_payload_len(attr) != sizeof(uint32_t)) return false;
  std::memcpy(out, mnl_attr_get_payload(attr), sizeof(uint32_t));
  return true;
}

bool GetU8(const nlattr* attr, uint8_t* out) {
  if (mnl_attr_get_payload_len(attr) < 1) return false;
  std::memcpy(out, mnl_attr_get_payload(attr), 1);
  return true;
}

size_t AddrLen(int family) {
  switch (family) {
    case AF_INET:
      return 4;
    case AF_INET6:
      return 16;
    default:
      return 0;
  }
}

// An address attribute of `family`: its payload must be exactly that size.
bool GetIp(const nlattr* attr, int family, IpAddr* out) {
  const size_t len = AddrLen(family);
  if (len == 0 || mnl_attr_get_payload_len(attr) != len) return false;
  IpAddr a;
  a.family = family;
  std::memcpy(a.bytes.data(), mnl_attr_get_payload(attr), len);
  *out = a;
  return true;
}

// RTA_VIA: struct rtvia (a 2-byte family) followed by the address.
bool GetVia(const nlattr* attr, IpAddr* out) {
  const size_t payload = mnl_attr_get_payload_len(attr);
  if (payload < sizeof(rtvia)) return false;
  rtvia via;
  std::memcpy(&via, mnl_attr_get_payload(attr), sizeof(via));
  const size_t len = AddrLen(via.rtvia_family);
  if (len == 0 || payload != sizeof(rtvia) + len) return false;
  IpAddr a;
  a.family = via.rtvia_family;
  std::memcpy(
      a.bytes.data(),
      static_cast<const uint8_t*>(mnl_attr_get_payload(attr)) + sizeof(rtvia),
      len);
  *out = a;
  return true;
}

// The errno an ack, error or DONE message carries: the kernel sends
// -errno; either sign is taken. INT_MIN, which has no positive counterpart
// (negating it overflows), is no errno at all: EBADMSG.
int WireErrno(int v) {
  if (v == INT_MIN) return EBADMSG;
  return v < 0 ? -v : v;
}

IpAddr AnyAddr(int family) {
  IpAddr a;
  a.family = family;
  return a;
}

// Parses the rtnexthop list of RTA_MULTIPATH. Malformed entries end the list.
void ParseMultipath(const nlattr* attr, int family, Route* route) {
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
  size_t rem = mnl_attr_get_payload_len(attr);
  while (rem >= sizeof(rtnexthop)) {
    rtnexthop rtnh;
    std::memcpy(&rtnh, p, sizeof(rtnh));
    if (rtnh.rtnh_len < sizeof(rtnexthop) || rtnh.rtnh_len > rem) break;
    Nexthop nh;
    nh.ifindex = rtnh.rtnh_ifindex;
    nh.weight = rtnh.rtnh_hops;
    nh.flags = rtnh.rtnh_flags;
    ForEachAttr(p + RTNH_ALIGN(sizeof(rtnexthop)),
                rtnh.rtnh_len - RTNH_ALIGN(sizeof(rtnexthop)),
                [&](const nlattr* a) {
                  switch (mnl_attr_get_type(a)) {
                    case RTA_GATEWAY:
                      GetIp(a, family, &nh.gateway);
                      break;
                    case RTA_VIA:
                      GetVia(a, &nh.gateway);
                      break;
                    default:
                      break;
                  }
                });
    route->multipath.push_back(nh);
    const size_t step = RTNH_ALIGN(rtnh.rtnh_len);
    if (step >= rem) break;
    p += step;
    rem -= step;
  }
}

// Writes the netlink header and fixed header T; returns the header or nullptr
// if the buffer is too small. Zeroes the buffer so padding is deterministic.
template <typename T>
nlmsghdr* PutHeader(absl::Span<uint8_t> buf, uint16_t type, uint16_t flags,
                    const T& fixed) {
  if (buf.size() < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(T))) return nullptr;
  std::memset(buf.data(), 0, buf.size());
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  void* extra = mnl_nlmsg_put_extra_header(nlh, sizeof(T));
  std::memcpy(extra, &fixed, sizeof(T));
  return nlh;
}

bool PutIp(nlmsghdr* nlh, size_t buflen, uint16_t type, const IpAddr& ip) {
  return mnl_attr_put_check(nlh, buflen, type, ip.size(), ip.bytes.data());
}

bool PutVia(nlmsghdr* nlh, size_t buflen, const IpAddr& ip) {
  uint8_t via[sizeof(rtvia) + 16] = {};
  const auto fam = static_cast<__kernel_sa_family_t>(ip.family);
  std::memcpy(via, &fam, sizeof(fam));
  std::memcpy(via + sizeof(rtvia), ip.bytes.data(), ip.size());
  return mnl_attr_put_check(nlh, buflen, RTA_VIA, sizeof(rtvia) + ip.size(),
                            via);
}

// RTA_GATEWAY for a gateway of the route's family, RTA_VIA otherwise.
bool PutGateway(nlmsghdr* nlh, size_t buflen, int family, const IpAddr& gw) {
  if (gw.family != AF_INET && gw.family != AF_INET6) return true;
  if (gw.family == family) return PutIp(nlh, buflen, RTA_GATEWAY, gw);
  return PutVia(nlh, buflen, gw);
}

}  // namespace

std::optional<Route> ParseRoute(const nlmsghdr* nlh) {
  rtmsg rtm;
  if (nlh->nlmsg_type != RTM_NEWROUTE || !ReadFixedHeader(nlh, &rtm))
    return std::nullopt;
  Route r;
  r.family = rtm.rtm_family;
  r.dst = AnyAddr(r.family);
  r.dst_len = rtm.rtm_dst_len;
  r.src_len = rtm.rtm_src_len;
  if (r.src_len > 0) r.src = AnyAddr(r.family);
  r.tos = rtm.rtm_tos;
  r.table = rtm.rtm_table;
  r.protocol = rtm.rtm_protocol;
  r.scope = rtm.rtm_scope;
  r.type = rtm.rtm_type;
  r.flags = rtm.rtm_flags;
  ForEachMsgAttr(nlh, sizeof(rtmsg), [&](const nlattr* attr) {
    uint32_t u32 = 0;
    switch (mnl_attr_get_type(attr)) {
      case RTA_DST:
        GetIp(attr, r.family, &r.dst);
        break;
      case RTA_SRC:
        GetIp(attr, r.family, &r.src);
        break;
      case RTA_GATEWAY:
        GetIp(attr, r.family, &r.gateway);
        break;
      case RTA_VIA:
        GetVia(attr, &r.gateway);
        break;
      case RTA_PREFSRC:
        GetIp(attr, r.family, &r.prefsrc);
        break;
      case RTA_OIF:
        if (GetU32(attr, &u32)) r.oif = static_cast<int>(u32);
        break;
      case RTA_PRIORITY:
        GetU32(attr, &r.priority);
        break;
      case RTA_TABLE:
        GetU32(attr, &r.table);
        break;
      case RTA_PREF: {
        uint8_t pref = 0;
        if (GetU8(attr, &pref)) r.pref = pref;
        break;
      }
      case RTA_MULTIPATH:
        ParseMultipath(attr, r.family, &r);
        break;
      case RTA_METRICS:
        ForEachAttr(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr),
                    [&](const nlattr* m) {
                      if (mnl_attr_get_type(m) == RTAX_MTU) GetU32(m, &r.mtu);
                    });
        break;
      default:
        break;
    }
  });
  return r;
}

std::optional<Address> ParseAddress(const nlmsghdr* nlh) {
  ifaddrmsg ifa;
  if (nlh->nlmsg_type != RTM_NEWADDR || !ReadFixedHeader(nlh, &ifa))
    return std::nullopt;
  Address a;
  a.prefix_len = ifa.ifa_prefixlen;
  a.scope = ifa.ifa_scope;
  a.flags = ifa.ifa_flags;
  a.ifindex = static_cast<int>(ifa.ifa_index);
  IpAddr local, address;
  ForEachMsgAttr(nlh, sizeof(ifaddrmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFA_LOCAL:
        GetIp(attr, ifa.ifa_family, &local);
        break;
      case IFA_ADDRESS:
        GetIp(attr, ifa.ifa_family, &address);
        break;
      case IFA_FLAGS:
        GetU32(attr, &a.flags);
        break;
      default:
        break;
    }
  });
  a.addr = local.family != AF_UNSPEC ? local : address;
  if (a.addr.family == AF_UNSPEC) return std::nullopt;
  return a;
}

std::optional<LinkInfo> ParseLink(const nlmsghdr* nlh) {
  ifinfomsg ifi;
  if (nlh->nlmsg_type != RTM_NEWLINK || !ReadFixedHeader(nlh, &ifi))
    return std::nullopt;
  LinkInfo link;
  link.index = ifi.ifi_index;
  link.flags = ifi.ifi_flags;
  ForEachMsgAttr(nlh, sizeof(ifinfomsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFLA_IFNAME: {
        const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
        const size_t len = mnl_attr_get_payload_len(attr);
        link.name.assign(s, strnlen(s, len));
        break;
      }
      case IFLA_MTU:
        GetU32(attr, &link.mtu);
        break;
      case IFLA_ADDRESS:
        if (mnl_attr_get_payload_len(attr) == link.mac.bytes.size())
          std::memcpy(link.mac.bytes.data(), mnl_attr_get_payload(attr),
                      link.mac.bytes.size());
        break;
      default:
        break;
    }
  });
  return link;
}

bool Neighbour::Usable() const {
  // The kernel's NUD_VALID (include/net/neighbour.h, not in the UAPI).
  constexpr uint16_t kValid = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE |
                              NUD_PROBE | NUD_STALE | NUD_DELAY;
  return !deleted && has_mac && (state & kValid) != 0 &&
         (flags & NTF_PROXY) == 0;
}

std::optional<Neighbour> ParseNeighbour(const nlmsghdr* nlh) {
  ndmsg ndm;
  if ((nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH) ||
      !ReadFixedHeader(nlh, &ndm))
    return std::nullopt;
  if (ndm.ndm_family != AF_INET && ndm.ndm_family != AF_INET6)
    return std::nullopt;
  Neighbour n;
  n.ifindex = ndm.ndm_ifindex;
  n.state = ndm.ndm_state;
  n.flags = ndm.ndm_flags;
  n.deleted = nlh->nlmsg_type == RTM_DELNEIGH;
  ForEachMsgAttr(nlh, sizeof(ndmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case NDA_DST:
        GetIp(attr, ndm.ndm_family, &n.addr);
        break;
      case NDA_LLADDR:
        if (mnl_attr_get_payload_len(attr) == n.mac.bytes.size()) {
          std::memcpy(n.mac.bytes.data(), mnl_attr_get_payload(attr),
                      n.mac.bytes.size());
          n.has_mac = true;
        }
        break;
      default:
        break;
    }
  });
  if (n.addr.family == AF_UNSPEC) return std::nullopt;
  return n;
}

std::optional<AckInfo> ParseAck(const nlmsghdr* nlh) {
  const size_t len = nlh->nlmsg_len;
  const auto* base = reinterpret_cast<const uint8_t*>(nlh);
  AckInfo info;
  size_t tlv_offset = 0;
  if (nlh->nlmsg_type == NLMSG_ERROR) {
    if (len < NLMSG_LENGTH(sizeof(nlmsgerr))) return std::nullopt;
    nlmsgerr err;
    std::memcpy(&err, base + NLMSG_HDRLEN, sizeof(err));
    info.error = WireErrno(err.error);
    tlv_offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
    // Without NETLINK_CAP_ACK (or on an error) the request's payload follows.
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err.msg.nlmsg_len > NLMSG_HDRLEN)
      tlv_offset += NLMSG_ALIGN(err.msg.nlmsg_len - NLMSG_HDRLEN);
  } else if (nlh->nlmsg_type == NLMSG_DONE) {
    // Old kernels may send DONE with no payload at all.
    if (len >= NLMSG_LENGTH(sizeof(int))) {
      int error = 0;
      std::memcpy(&error, base + NLMSG_HDRLEN, sizeof(error));
      info.error = WireErrno(error);
      tlv_offset = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int));
    }
  } else {
    return std::nullopt;
  }
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && tlv_offset > 0 &&
      tlv_offset < len) {
    ForEachAttr(base + tlv_offset, len - tlv_offset, [&](const nlattr* attr) {
      if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG) return;
      const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
      info.message.assign(s, strnlen(s, mnl_attr_get_payload_len(attr)));
    });
  }
  return info;
}

const char* FilterRoute(Route& route, int ifindex, int family) {
  if (family != AF_UNSPEC && route.family != family) return "other family";
  if (route.table != RT_TABLE_MAIN) return "not main table";
  if (route.type != RTN_UNICAST) return "not unicast";
  if (route.flags & RTM_F_CLONED) return "cached clone";
  if (route.flags & RTNH_F_DEAD) return "dead";
  if (route.flags & RTNH_F_LINKDOWN) return "link down";
  if (route.multipath.empty()) {
    if (route.oif != ifindex) return "other interface";
    return nullptr;
  }
  std::vector<Nexthop> kept;
  for (const Nexthop& nh : route.multipath) {
    if (nh.ifindex != ifindex) continue;
    if (nh.flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)) continue;
    kept.push_back(nh);
  }
  if (kept.empty()) return "no usable nexthop on the interface";
  if (kept.size() == 1) {
    route.gateway = kept[0].gateway;
    route.oif = kept[0].ifindex;
    route.flags |= kept[0].flags & RTNH_F_ONLINK;
    route.multipath.clear();
    return nullptr;
  }
  route.oif = 0;
  route.multipath = std::move(kept);
  return nullptr;
}

std::optional<int> PickDefaultInterface(const std::vector<Route>& routes,
                                        int family) {
  std::optional<int> best;
  uint32_t best_metric = 0;
  for (const Route& r : routes) {
    if (r.family != family || r.dst_len != 0 || r.src_len != 0) continue;
    if (r.table != RT_TABLE_MAIN || r.type != RTN_UNICAST) continue;
    if (r.flags & (RTM_F_CLONED | RTNH_F_DEAD | RTNH_F_LINKDOWN)) continue;
    int ifindex = r.oif;
    if (!r.multipath.empty()) {
      ifindex = 0;
      for (const Nexthop& nh : r.multipath) {
        if (nh.flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)) continue;
        ifindex = nh.ifindex;
        break;
      }
    }
    if (ifindex <= 0) continue;
    if (!best || r.priority < best_metric) {
      best = ifindex;
      best_metric = r.priority;
    }
  }
  return best;
}

std::optional<int> PickRouteInterface(const std::vector<Route>& routes,
                                      int family) {
  constexpr int kLoopbackIndex = 1;  // lo is the first link of a netns
  for (const Route& r : routes) {
    if (r.family != family) continue;
    if (r.table != RT_TABLE_MAIN || r.type != RTN_UNICAST) continue;
    if (r.flags & (RTM_F_CLONED | RTNH_F_DEAD | RTNH_F_LINKDOWN)) continue;
    const uint8_t* d = r.dst.bytes.data();
    if (family == AF_INET && r.dst_len >= 16 && d[0] == 169 && d[1] == 254)
      continue;
    if (family == AF_INET6 && r.dst_len >= 10 && d[0] == 0xfe &&
        (d[1] & 0xc0) == 0x80)
      continue;
    int ifindex = r.oif;
    if (!r.multipath.empty()) {
      ifindex = 0;
      for (const Nexthop& nh : r.multipath) {
        if (nh.flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)) continue;
        ifindex = nh.ifindex;
        break;
      }
    }
    if (ifindex <= 0 || ifindex == kLoopbackIndex) continue;
    return ifindex;
  }
  return std::nullopt;
}

IpAddr DefaultGateway(const std::vector<Route>& routes, int family) {
  const Route* best = nullptr;
  for (const Route& r : routes) {
    if (r.dst_len != 0 || r.src_len != 0) continue;
    if (family != AF_UNSPEC && r.family != family) continue;
    if (!best || r.priority < best->priority) best = &r;
  }
  if (best == nullptr) return IpAddr{};
  if (!best->multipath.empty()) return best->multipath[0].gateway;
  return best->gateway;
}

bool IsCopyableAddress(const Address& addr) {
  if (addr.scope >= RT_SCOPE_HOST) return false;
  if (addr.flags & IFA_F_DADFAILED) return false;
  if (addr.addr.family == AF_INET6 && addr.scope == RT_SCOPE_LINK) return false;
  return addr.addr.family == AF_INET || addr.addr.family == AF_INET6;
}

size_t BuildGetRoutes(int family, int ifindex, absl::Span<uint8_t> buf) {
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(family);
  rtm.rtm_table = RT_TABLE_MAIN;
  nlmsghdr* nlh = PutHeader(buf, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, rtm);
  if (nlh == nullptr) return 0;
  if (ifindex > 0 && !mnl_attr_put_u32_check(nlh, buf.size(), RTA_OIF,
                                             static_cast<uint32_t>(ifindex)))
    return 0;
  return nlh->nlmsg_len;
}

size_t BuildGetAddrs(int family, int ifindex, absl::Span<uint8_t> buf) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(family);
  ifa.ifa_index = static_cast<uint32_t>(ifindex > 0 ? ifindex : 0);
  nlmsghdr* nlh = PutHeader(buf, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, ifa);
  return nlh == nullptr ? 0 : nlh->nlmsg_len;
}

size_t BuildGetNeighbours(int family, int ifindex, absl::Span<uint8_t> buf) {
  // Under strict checking the kernel refuses a dump request whose header
  // names an interface: the filter is the NDA_IFINDEX attribute.
  ndmsg ndm{};
  ndm.ndm_family = static_cast<uint8_t>(family);
  nlmsghdr* nlh = PutHeader(buf, RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, ndm);
  if (nlh == nullptr) return 0;
  if (ifindex > 0 && !mnl_attr_put_u32_check(nlh, buf.size(), NDA_IFINDEX,
                                             static_cast<uint32_t>(ifindex)))
    return 0;
  return nlh->nlmsg_len;
}

size_t BuildGetLinkByName(const std::string& ifname, absl::Span<uint8_t> buf) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  nlmsghdr* nlh = PutHeader(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, ifi);
  if (nlh == nullptr ||
      !mnl_attr_put_strz_check(nlh, buf.size(), IFLA_IFNAME, ifname.c_str()))
    return 0;
  return nlh->nlmsg_len;
}

size_t BuildGetLinkByIndex(int ifindex, absl::Span<uint8_t> buf) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  nlmsghdr* nlh = PutHeader(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, ifi);
  return nlh == nullptr ? 0 : nlh->nlmsg_len;
}

size_t BuildSetLink(int ifindex, int mtu, const std::optional<MacAddr>& mac,
                    absl::Span<uint8_t> buf) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  nlmsghdr* nlh = PutHeader(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, ifi);
  if (nlh == nullptr) return 0;
  if (mtu > 0 && !mnl_attr_put_u32_check(nlh, buf.size(), IFLA_MTU,
                                         static_cast<uint32_t>(mtu)))
    return 0;
  if (mac && !mnl_attr_put_check(nlh, buf.size(), IFLA_ADDRESS,
                                 mac->bytes.size(), mac->bytes.data()))
    return 0;
  return nlh->nlmsg_len;
}

size_t BuildLinkUp(int ifindex, absl::Span<uint8_t> buf) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  nlmsghdr* nlh = PutHeader(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, ifi);
  return nlh == nullptr ? 0 : nlh->nlmsg_len;
}

size_t BuildNewAddr(int ifindex, const Address& addr, absl::Span<uint8_t> buf) {
  const IpAddr& ip = addr.addr;
  if (ip.family != AF_INET && ip.family != AF_INET6) return 0;
  uint32_t flags = addr.flags & IFA_F_NOPREFIXROUTE;
  if (ip.family == AF_INET6) flags |= IFA_F_NODAD;
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(ip.family);
  ifa.ifa_prefixlen = addr.prefix_len;
  ifa.ifa_flags = static_cast<uint8_t>(flags & 0xff);
  ifa.ifa_scope = addr.scope;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  nlmsghdr* nlh =
      PutHeader(buf, RTM_NEWADDR,
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ifa);
  if (nlh == nullptr) return 0;
  if (!PutIp(nlh, buf.size(), IFA_LOCAL, ip) ||
      !PutIp(nlh, buf.size(), IFA_ADDRESS, ip))
    return 0;
  if (ip.family == AF_INET && addr.prefix_len < 31) {
    IpAddr brd = ip;
    for (int bit = addr.prefix_len; bit < 32; ++bit)
      brd.bytes[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    if (!PutIp(nlh, buf.size(), IFA_BROADCAST, brd)) return 0;
  }
  if (!mnl_attr_put_u32_check(nlh, buf.size(), IFA_FLAGS, flags)) return 0;
  return nlh->nlmsg_len;
}

size_t BuildDelAddr(int ifindex, const Address& addr, absl::Span<uint8_t> buf) {
  const IpAddr& ip = addr.addr;
  if (ip.family != AF_INET && ip.family != AF_INET6) return 0;
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(ip.family);
  ifa.ifa_prefixlen = addr.prefix_len;
  ifa.ifa_scope = addr.scope;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  nlmsghdr* nlh = PutHeader(buf, RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, ifa);
  if (nlh == nullptr) return 0;
  if (!PutIp(nlh, buf.size(), IFA_LOCAL, ip) ||
      !PutIp(nlh, buf.size(), IFA_ADDRESS, ip))
    return 0;
  return nlh->nlmsg_len;
}

size_t BuildNewRoute(const Route& r, absl::Span<uint8_t> buf) {
  if (r.family != AF_INET && r.family != AF_INET6) return 0;
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(r.family);
  rtm.rtm_dst_len = r.dst_len;
  rtm.rtm_src_len = r.src_len;
  rtm.rtm_tos = r.tos;
  rtm.rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table)
                                : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  rtm.rtm_protocol = r.protocol;
  rtm.rtm_scope = r.scope;
  rtm.rtm_type = r.type;
  rtm.rtm_flags = r.flags & RTNH_F_ONLINK;
  nlmsghdr* nlh =
      PutHeader(buf, RTM_NEWROUTE,
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, rtm);
  if (nlh == nullptr) return 0;
  const size_t cap = buf.size();
  if (!mnl_attr_put_u32_check(nlh, cap, RTA_TABLE, r.table)) return 0;
  if (r.dst_len > 0 && r.dst.family == r.family &&
      !PutIp(nlh, cap, RTA_DST, r.dst))
    return 0;
  if (r.src_len > 0 && r.src.family == r.family &&
      !PutIp(nlh, cap, RTA_SRC, r.src))
    return 0;
  if (r.priority != 0 &&
      !mnl_attr_put_u32_check(nlh, cap, RTA_PRIORITY, r.priority))
    return 0;
  if (r.prefsrc.family == r.family && !PutIp(nlh, cap, RTA_PREFSRC, r.prefsrc))
    return 0;
  if (r.pref && !mnl_attr_put_u8_check(nlh, cap, RTA_PREF, *r.pref)) return 0;
  if (r.mtu != 0) {
    nlattr* metrics = mnl_attr_nest_start_check(nlh, cap, RTA_METRICS);
    if (metrics == nullptr ||
        !mnl_attr_put_u32_check(nlh, cap, RTAX_MTU, r.mtu))
      return 0;
    mnl_attr_nest_end(nlh, metrics);
  }
  if (r.multipath.empty()) {
    if (r.oif > 0 && !mnl_attr_put_u32_check(nlh, cap, RTA_OIF,
                                             static_cast<uint32_t>(r.oif)))
      return 0;
    if (!PutGateway(nlh, cap, r.family, r.gateway)) return 0;
    return nlh->nlmsg_len;
  }
  nlattr* mp = mnl_attr_nest_start_check(nlh, cap, RTA_MULTIPATH);
  if (mp == nullptr) return 0;
  for (const Nexthop& nh : r.multipath) {
    const size_t rtnh_at = nlh->nlmsg_len;
    if (rtnh_at + RTNH_ALIGN(sizeof(rtnexthop)) > cap) return 0;
    nlh->nlmsg_len += RTNH_ALIGN(sizeof(rtnexthop));
    if (!PutGateway(nlh, cap, r.family, nh.gateway)) return 0;
    rtnexthop rtnh{};
    rtnh.rtnh_len = static_cast<unsigned short>(nlh->nlmsg_len - rtnh_at);
    rtnh.rtnh_flags = nh.flags & RTNH_F_ONLINK;
    rtnh.rtnh_hops = nh.weight;
    rtnh.rtnh_ifindex = nh.ifindex;
    std::memcpy(buf.data() + rtnh_at, &rtnh, sizeof(rtnh));
  }
  mnl_attr_nest_end(nlh, mp);
  return nlh->nlmsg_len;
}

size_t BuildDelRoute(const Route& r, absl::Span<uint8_t> buf) {
  const size_t len = BuildNewRoute(r, buf);
  if (len == 0) return 0;
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data());
  nlh->nlmsg_type = RTM_DELROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  return len;
}

}  // namespace pasta::netlink
