// Netlink (rtnetlink) for --config-net: read the host's template interface
// and give the namespace's tap the same view.
//
// Theory of operation
// -------------------
// * Reading (ReadHostTemplate, in the host's namespace): per family, the
//   template interface is the one named by the caller (-i, --outbound-if4/6)
//   or the output interface of the best (lowest metric) usable default route
//   in the main table; without one, as upstream, the interface of the first
//   usable route (not loopback's, not to a link-local prefix), whose
//   template then has no gateway. We then read its link (index, name, MTU,
//   MAC, flags), its addresses and the routes that go through it. A family
//   with no template runs in local mode (LocalTemplate, chosen by the
//   caller).
// * Filtering is ours, on every dumped message. Dump filters in the request
//   are only honoured by kernels with NETLINK_GET_STRICT_CHK (>= 4.20); older
//   ones (4.18/4.19) return every route of every table, including local-table
//   broadcast routes and routes on link-down interfaces, which the kernel then
//   refuses to re-add (EINVAL). A route is kept only if it is in RT_TABLE_MAIN
//   (rtm_table and RTA_TABLE), of type RTN_UNICAST, not a cached clone, not
//   RTNH_F_DEAD/RTNH_F_LINKDOWN, of the requested family and leaves through the
//   template. Multipath routes keep only the nexthops on the template that are
//   alive; a route left with no nexthop is dropped, one left with a single
//   nexthop becomes an ordinary route. Strict checking is still requested
//   where it exists (less to read), and TemplateRequest::strict_check /
//   TapConfig::strict_check turn it off so a new kernel answers like 4.19.
// * Writing (ConfigureTap, in the target namespace): MAC and MTU, link up,
//   addresses (IPv6 with IFA_F_NODAD so they are usable at once), then routes
//   with their output interface rewritten to the tap, retried in passes since
//   a route via a gateway needs the route to the gateway first. EEXIST counts
//   as success. Every request carries NLM_F_ACK; errors carry the kernel's
//   extended ack message (NETLINK_EXT_ACK).
// * Everything here is start-up control plane: functions allocate and block
//   on the netlink socket (the kernel always answers).
//
// libmnl is an implementation detail of this module: no libmnl type appears
// in this header. Pure message parsers, filters and builders live in
// netlink/messages.h; the socket in netlink/socket.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/net_types.h"

namespace pasta::netlink {

struct LinkInfo {
  int index = 0;
  std::string name;
  uint32_t mtu = 0;
  MacAddr mac;         // zero if the link has no 6-byte hardware address
  uint32_t flags = 0;  // IFF_*
};

struct Address {
  IpAddr addr;  // IFA_LOCAL if present, else IFA_ADDRESS
  uint8_t prefix_len = 0;
  uint8_t scope = 0;   // RT_SCOPE_*
  uint32_t flags = 0;  // IFA_F_* (IFA_FLAGS if present, else ifa_flags)
  int ifindex = 0;     // set by parsing; ignored by ConfigureTap
};

struct Nexthop {
  IpAddr gateway;  // family AF_UNSPEC if none (RTA_VIA may give an
                   // IPv6 gateway to an IPv4 route)
  int ifindex = 0;
  uint8_t weight = 0;  // rtnh_hops (weight - 1, as the kernel stores it)
  uint8_t flags = 0;   // RTNH_F_*
};

struct Route {
  int family = 0;
  IpAddr dst;  // family set even for a default route
  uint8_t dst_len = 0;
  IpAddr gateway;  // AF_UNSPEC if none
  int oif = 0;
  uint32_t priority = 0;  // metric
  uint8_t scope = 0;      // RT_SCOPE_*
  uint8_t protocol = 0;   // RTPROT_*
  uint32_t table = 0;     // RTA_TABLE if present, else rtm_table
  uint8_t type = 0;       // RTN_*
  uint32_t flags = 0;     // rtm_flags (RTNH_F_* in the low byte, RTM_F_*)
  std::vector<Nexthop> multipath;  // non-empty for RTA_MULTIPATH
  // Less common attributes, carried so that a copy means the same thing.
  IpAddr src;  // RTA_SRC (source-specific routes), with src_len
  uint8_t src_len = 0;
  uint8_t tos = 0;
  IpAddr prefsrc;               // RTA_PREFSRC, AF_UNSPEC if none
  uint32_t mtu = 0;             // RTAX_MTU metric, 0 if none
  std::optional<uint8_t> pref;  // RTA_PREF (IPv6 router preference)
};

// One entry of the kernel's neighbour table (ARP for IPv4, NDP for IPv6),
// from RTM_NEWNEIGH or RTM_DELNEIGH.
struct Neighbour {
  IpAddr addr;           // NDA_DST
  MacAddr mac;           // NDA_LLADDR when has_mac
  bool has_mac = false;  // NDA_LLADDR present and 6 bytes long
  int ifindex = 0;       // ndm_ifindex
  uint16_t state = 0;    // NUD_*
  uint8_t flags = 0;     // NTF_*
  bool deleted = false;  // RTM_DELNEIGH
  // Whether the entry names a usable link-layer address: not deleted, a
  // valid state (NUD_VALID: PERMANENT, NOARP, REACHABLE, PROBE, STALE,
  // DELAY), a 6-byte address, not a proxy entry (NTF_PROXY).
  bool Usable() const;
};

struct FamilyTemplate {
  LinkInfo link;
  std::vector<Address> addrs;  // all addresses of the family on the link
  std::vector<Route> routes;   // filtered as described above
  IpAddr gateway;              // of the best default route, AF_UNSPEC if none
  // Local mode (LocalTemplate): no host interface behind it; `link` is empty.
  bool local = false;
};

// Local mode, upstream's set-up for a family the host has no template
// interface for (a laptop offline, a sandbox with only loopback): the
// namespace still reaches the host (the gateway stands for its loopback)
// and forwarded ports. IPv4: address 169.254.2.1/16, default route via
// 169.254.2.2. IPv6: no address of ours (the namespace keeps its kernel's
// link-local one), default route via fe80::1 on the tap.
inline constexpr uint8_t kLocalAddr4[4] = {169, 254, 2, 1};
inline constexpr uint8_t kLocalGateway4[4] = {169, 254, 2, 2};
inline constexpr uint8_t kLocalPrefixLen4 = 16;
inline constexpr uint8_t kLocalGateway6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                                               0,    0,    0, 0, 0, 0, 0, 1};

// The local-mode template of `family` (AF_INET or AF_INET6), as above, for
// BuildTapConfig to treat like a host's: -a, -n and -g override it the same
// way. Pure; allocates.
FamilyTemplate LocalTemplate(int family);

struct TemplateRequest {
  bool want4 = true;
  bool want6 = true;
  // "" = interface of the best default route of that family (else of the
  // first route).
  std::string ifname4;
  std::string ifname6;
  bool strict_check = true;  // false: don't set NETLINK_GET_STRICT_CHK
};

struct HostTemplate {
  std::optional<FamilyTemplate> v4, v6;
  // One line each when the family is missing, e.g. "no IPv4 route on any
  // interface", "interface eth0 has no global IPv6 address", "IPv4
  // disabled".
  std::string why_no_v4, why_no_v6;
};

// Reads the template(s) in the calling thread's current network namespace.
// A family is present only if it is wanted, has a template interface and
// that interface has at least one address worth copying (IPv4: any scope
// below host; IPv6: not link-local), as upstream disables a family without
// one. Returns an error only for hard failures: the netlink socket, a dump
// that fails, or an explicitly named interface that does not exist
// (NotFound, "interface NAME: no such interface"). Allocates; blocks on
// netlink.
absl::StatusOr<HostTemplate> ReadHostTemplate(const TemplateRequest& req);

struct TapConfig {
  std::string ifname;          // the tap, already created, in the current netns
  int mtu = 0;                 // 0 = leave
  std::optional<MacAddr> mac;  // set if given
  std::vector<Address> addrs;  // both families
  std::vector<Route> routes;   // oif is rewritten to the tap's index
  bool strict_check = true;
  // IPv6 is on: the kernel's link-local address on the tap, tentative for
  // a second or two after the link comes up, is removed and added again
  // with IFA_F_NODAD, so that the namespace can use it at once (upstream
  // marks it IFA_F_NODAD, which takes effect only when the kernel's
  // detection starts).
  bool ll_nodad = false;
  // Not used by ConfigureTap: the namespace's link-local address on the tap
  // once known (ConfigureTap's `link_local6`), its IPv6 address for inbound
  // flows where it has no other (local mode).
  IpAddr ns_link_local6;
};

// Configures the tap named in `cfg` in the current network namespace: MAC and
// MTU, link up, addresses (IPv6 with IFA_F_NODAD), then routes with the output
// interface (and every multipath nexthop's) rewritten to the tap, in passes
// until a pass adds nothing. EEXIST counts as success, so running it twice is
// harmless. The first failure is returned naming the object, e.g.
// "route 0.0.0.0/0 via 198.51.100.1: Network is unreachable: Nexthop has
// invalid gateway". If `link_local6` is given, it receives the tap's IPv6
// link-local address (AF_UNSPEC if it has none). Allocates; blocks on
// netlink.
absl::Status ConfigureTap(const TapConfig& cfg, IpAddr* link_local6 = nullptr);

// Command-line overrides for BuildTapConfig.
struct Overrides {
  std::optional<IpAddr> addr4, addr6;  // -a (one per family)
  int prefix_len4 = -1;                // -n, -1 if not given
  std::optional<IpAddr> gw4, gw6;      // -g (one per family)
  bool no_copy_routes = false, no_copy_addrs = false;
};

// Builds the addresses and routes of a TapConfig from the template plus
// overrides (pure; allocates). `ifname`, `mtu` and `mac` are left for the
// caller (-I, -m, --ns-mac-addr). For each wanted family with a template:
// * Addresses: the template's copyable addresses (see ReadHostTemplate), or
//   only the first with no_copy_addrs. -a replaces them with that address;
//   its prefix is -n (IPv4), else the prefix of the template address whose
//   subnet contains it, else the classful prefix as upstream (RFC 4632
//   blocks: 8/16/24, 32 otherwise) for IPv4 and 64 for IPv6. -n without -a
//   sets the prefix of the first IPv4 address.
// * Routes: the template's filtered routes; with no_copy_routes only a
//   default route via the gateway (none without a gateway). -g replaces the
//   gateway of the default route (adding one if the template has none).
//   RTA_PREFSRC is dropped where it names an address the tap won't have.
// Errors (InvalidArgument, one line): an override of the wrong family, -n out
// of range, or, when overrides changed anything, a default gateway that no
// copied subnet or direct route reaches (IPv6 link-local and on-link
// gateways are always accepted).
absl::StatusOr<TapConfig> BuildTapConfig(const HostTemplate& tmpl,
                                         const Overrides& ov, bool want4,
                                         bool want6);

// --- Following the host at run time (see app/follow.h) --------------------

// One request that moves the tap from one TapConfig to another.
struct TapChange {
  enum class Kind : uint8_t {
    kDelRoute,
    kDelAddr,
    kSetMtu,
    kAddAddr,
    kAddRoute,
  };
  Kind kind = Kind::kAddAddr;
  Address addr;  // kAddAddr, kDelAddr
  Route route;   // kAddRoute, kDelRoute (oif as in the TapConfig)
  int mtu = 0;   // kSetMtu
};

// The requests that turn the tap configured as `have` into `want`, in the
// order they can be applied: routes that go away, then addresses that go
// away, the MTU, new addresses, new routes (those without a gateway first,
// since a route via a gateway needs the route to it). Addresses are the
// same when address and prefix length are; routes when every field
// BuildNewRoute sends is (a changed gateway or metric is a removal and an
// addition). Where an address of a family goes away, every wanted route of
// that family is added (again): the kernel drops the routes through the
// removed address's subnet, and ApplyTapChanges takes EEXIST as done.
// Empty when nothing differs. Pure; allocates.
std::vector<TapChange> DiffTapConfig(const TapConfig& have,
                                     const TapConfig& want);

// "add address 198.51.100.3/24", "remove route 0.0.0.0/0 via 198.51.100.1",
// "MTU 1500": how a change appears in the log.
std::string FormatTapChange(const TapChange& change);

// Applies `changes` to the tap named `ifname` in the current network
// namespace, in order, with output interfaces rewritten to the tap (as
// ConfigureTap). A removal of what is already gone (ESRCH, EADDRNOTAVAIL)
// and an addition of what exists (EEXIST) count as done; additions of
// routes are retried in passes as in ConfigureTap. Returns the first
// failure, after trying every change. Allocates; blocks on netlink.
absl::Status ApplyTapChanges(const std::string& ifname,
                             const std::vector<TapChange>& changes,
                             bool strict_check = true);

// --- Read-back helpers (tests, lab tools, debug output) --------------------

// Returns the link named `ifname` in the current namespace; NotFound if there
// is none.
absl::StatusOr<LinkInfo> GetLink(const std::string& ifname,
                                 bool strict_check = true);

// Dumps the routes of `family` (AF_INET or AF_INET6). With ifindex > 0 the
// template filter above is applied for that interface (main table, unicast,
// alive, on ifindex); with ifindex == 0 every route is returned unfiltered.
absl::StatusOr<std::vector<Route>> DumpRoutes(int family, int ifindex,
                                              bool strict_check = true);

// Dumps the addresses of `family` (AF_INET, AF_INET6 or AF_UNSPEC for both)
// on `ifindex` (0 = every interface).
absl::StatusOr<std::vector<Address>> DumpAddrs(int family, int ifindex,
                                               bool strict_check = true);

// Dumps the neighbour table of `family` (AF_INET or AF_INET6) on `ifindex`
// (0 = every interface), filtered in our code: older kernels ignore the
// request's filter. Every entry is returned, usable or not.
absl::StatusOr<std::vector<Neighbour>> DumpNeighbours(int family, int ifindex,
                                                      bool strict_check = true);

// The gateway of the best (lowest metric) default route of `family`
// (AF_UNSPEC: any) among already filtered `routes`, the first nexthop's for
// multipath; AF_UNSPEC if there is none. Pure.
IpAddr DefaultGateway(const std::vector<Route>& routes,
                      int family = AF_UNSPEC);

// "10.0.0.0/8 via 192.0.2.1", "192.0.2.0/24", "10.7.0.0/16 nexthop via
// 192.0.2.2 nexthop via 192.0.2.3": how routes appear in messages.
std::string FormatRoute(const Route& route);

}  // namespace pasta::netlink
