// Pure rtnetlink message code: parsers, the template filter and request
// builders, all working on bytes with no socket, so that they can be tested
// on literal and captured messages.
//
// Parsers take a message whose nlmsg_len bytes are readable (the reply
// iterator checks that before handing a message out) and validate everything
// inside it: the fixed header's size and every attribute's length and payload
// size. A malformed attribute is ignored; a message too short for its fixed
// header, or of the wrong type, gives nullopt.
//
// Builders write one complete request into a caller buffer (at least 4-byte
// aligned; kMsgBufSize is always enough for one route or address), leave
// nlmsg_seq at 0 for the socket to fill, and return the message length, or 0
// if it does not fit. They never allocate.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/net_types.h"
#include "netlink/netlink.h"

namespace pasta::netlink {

inline constexpr size_t kMsgBufSize = 8192;

// --- Parsers ---------------------------------------------------------------

// RTM_NEWROUTE -> Route. Table from RTA_TABLE when present.
std::optional<Route> ParseRoute(const nlmsghdr* nlh);
// RTM_NEWADDR -> Address (with ifindex). IFA_LOCAL wins over IFA_ADDRESS
// (they differ on point-to-point links, where IFA_ADDRESS is the peer).
std::optional<Address> ParseAddress(const nlmsghdr* nlh);
// RTM_NEWLINK -> LinkInfo.
std::optional<LinkInfo> ParseLink(const nlmsghdr* nlh);

// RTM_NEWNEIGH or RTM_DELNEIGH -> Neighbour. nullopt for other types, a
// family other than AF_INET/AF_INET6 or a message without a well-sized
// NDA_DST.
std::optional<Neighbour> ParseNeighbour(const nlmsghdr* nlh);

// The outcome of an NLMSG_ERROR (ack when error == 0) or NLMSG_DONE message.
struct AckInfo {
  int error = 0;        // positive errno, 0 for success
  std::string message;  // NLMSGERR_ATTR_MSG (extended ack), may be empty
};
// Parses NLMSG_ERROR or NLMSG_DONE; nullopt for other types or a message too
// short for its payload. Handles both capped (NETLINK_CAP_ACK) and full
// echoes of the request before the extended ack attributes.
std::optional<AckInfo> ParseAck(const nlmsghdr* nlh);

// --- Filters ---------------------------------------------------------------

// The template filter (see netlink.h). Returns nullptr and trims `route` if it
// is kept (multipath: only the alive nexthops on `ifindex` stay, a single
// survivor becomes an ordinary route), else a short reason for trace output
// ("table 255", "type 3", "other interface", ...). `family` AF_UNSPEC accepts
// both families.
const char* FilterRoute(Route& route, int ifindex, int family);
inline bool KeepRoute(Route& route, int ifindex, int family) {
  return FilterRoute(route, ifindex, family) == nullptr;
}

// The output interface of the best usable default route of `family` among
// unfiltered `routes` (main table, unicast, 0/0 with no source prefix, alive;
// lowest metric, first on a tie; multipath: its first alive nexthop), or
// nullopt.
std::optional<int> PickDefaultInterface(const std::vector<Route>& routes,
                                        int family);

// Upstream's choice where no default route exists: the output interface of
// the first usable route of `family` in dump order (main table, unicast,
// alive; not through loopback, index 1 as in upstream, nor to a link-local
// prefix: 169.254.0.0/16 or fe80::/10), or nullopt.
std::optional<int> PickRouteInterface(const std::vector<Route>& routes,
                                      int family);


// Whether an address of the template is copied to the tap: not host scope or
// beyond, not IPv6 link-local (the tap has its own), not a failed DAD.
bool IsCopyableAddress(const Address& addr);

// --- Request builders ------------------------------------------------------

// RTM_GETROUTE dump of `family`. The header asks for the main table and, if
// ifindex > 0, RTA_OIF: honoured only under NETLINK_GET_STRICT_CHK.
size_t BuildGetRoutes(int family, int ifindex, absl::Span<uint8_t> buf);
// RTM_GETADDR dump of `family` (ifa_index filter under strict checking).
size_t BuildGetAddrs(int family, int ifindex, absl::Span<uint8_t> buf);
// RTM_GETNEIGH dump of `family`, with an NDA_IFINDEX filter if ifindex > 0
// (honoured only by kernels with strict checking).
size_t BuildGetNeighbours(int family, int ifindex, absl::Span<uint8_t> buf);
// RTM_GETLINK (not a dump) by name or by index, with NLM_F_ACK.
size_t BuildGetLinkByName(const std::string& ifname, absl::Span<uint8_t> buf);
size_t BuildGetLinkByIndex(int ifindex, absl::Span<uint8_t> buf);
// RTM_NEWLINK changing MTU (if mtu > 0) and MAC (if given), with NLM_F_ACK.
size_t BuildSetLink(int ifindex, int mtu, const std::optional<MacAddr>& mac,
                    absl::Span<uint8_t> buf);
// RTM_NEWLINK setting IFF_UP, with NLM_F_ACK.
size_t BuildLinkUp(int ifindex, absl::Span<uint8_t> buf);
// RTM_NEWADDR (NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK) of `addr` on `ifindex`.
// IFA_LOCAL and IFA_ADDRESS, IFA_BROADCAST for IPv4 prefixes below 31, and
// IFA_FLAGS: IFA_F_NODAD always for IPv6, IFA_F_NOPREFIXROUTE if the source
// had it; other flags are the kernel's business.
size_t BuildNewAddr(int ifindex, const Address& addr, absl::Span<uint8_t> buf);
// RTM_DELADDR (NLM_F_ACK) of `addr` (address and prefix length) on
// `ifindex`: IFA_LOCAL and IFA_ADDRESS.
size_t BuildDelAddr(int ifindex, const Address& addr, absl::Span<uint8_t> buf);
// RTM_NEWROUTE (NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK) for `route` exactly as
// given (oif and nexthop indexes included). Only RTNH_F_ONLINK of the flags
// is sent. RTA_VIA is used for a gateway of the other family.
size_t BuildNewRoute(const Route& route, absl::Span<uint8_t> buf);
// RTM_DELROUTE (NLM_F_ACK) for `route`: the same attributes as
// BuildNewRoute, which the kernel matches against its routes.
size_t BuildDelRoute(const Route& route, absl::Span<uint8_t> buf);

}  // namespace pasta::netlink
