// What the namespace is told and how its addresses map to the host's:
// the answers of DHCP, DHCPv6 and NDP (tap::Services), the address mapping
// every handler applies (flow::AddressMap), the outbound sockets' binding,
// and the settings the handlers share. Pure functions of the configuration
// and the template interface (plus /etc/resolv.conf for DNS); control
// plane, they allocate.
#pragma once

#include <sys/socket.h>

#include "absl/status/status.h"
#include "common/net_types.h"
#include "config/config.h"
#include "dhcp/resolv_conf.h"
#include "flow/addr_map.h"
#include "flow/outbound.h"
#include "netlink/netlink.h"
#include "tap/tap.h"

namespace pasta::app {

// Local mode: every wanted family of `tmpl` without a template interface
// gets netlink::LocalTemplate (upstream's, per family since 2025-12), with
// one info line each ("IPv4: no IPv4 route on any interface, using local
// mode: ..."). An error (one line) if --outbound-if4/6 named the missing
// interface of that family: sockets bound to it could not reach anything
// (upstream refuses too). Pure apart from the log line (none with `quiet`:
// a re-sync while following the host says it its own way).
absl::Status UseLocalMode(const config::Config& cfg,
                          netlink::HostTemplate* tmpl, bool quiet = false);

// IPv6 turned off when the host cannot open IPv6 sockets (a kernel booted
// with ipv6.disable=1, a security policy), as upstream since 2026-06: sets
// cfg->ipv4_only with one info line, or fails with -6. `ipv6_sockets` is
// the result of Ipv6SocketsWork(). Pure apart from the log line.
absl::Status ApplyIpv6Probe(bool ipv6_sockets, config::Config* cfg);

// Whether socket(AF_INET6, SOCK_STREAM) succeeds here (the socket is
// closed again).
bool Ipv6SocketsWork();

// What start-up asks of the host's template: families, -i or
// --outbound-if4/6, strict checking. Pure.
netlink::TemplateRequest TemplateRequestFor(const config::Config& cfg,
                                            bool strict_check);

// -a, -n, -g, --no-copy-routes and --no-copy-addrs for BuildTapConfig.
// Pure.
netlink::Overrides OverridesFor(const config::Config& cfg);

// What the namespace's services hand out: the addresses and routes the tap
// gets (or would get, without --config-net), DNS from -D/-S or the host's
// resolv.conf, as upstream. A nameserver on the host's loopback (or at the
// gateway's address) is handed out as the address standing for the host's
// loopback, where DNS reaches it (see AddressMapFor). `resolv`: the host's
// resolv.conf, read once by the caller (start-up, a re-sync).
tap::Services BuildServices(const config::Config& cfg,
                            const netlink::HostTemplate& tmpl,
                            const netlink::TapConfig& net,
                            const dhcp::ResolvConf& resolv);

// The destination mapping TCP uses (the same fields as SetCommonFlowConfig
// fills for ICMP and UDP, and DNS forwarding): --dns-forward, else DNS to
// the address standing for the host's loopback goes to the host's resolver
// that BuildServices handed out there. `resolv` as for BuildServices.
flow::AddressMap AddressMapFor(const config::Config& cfg,
                               const netlink::HostTemplate& tmpl,
                               const netlink::TapConfig& net,
                               const MacAddr& our_mac,
                               const dhcp::ResolvConf& resolv);

// The outbound sockets' source address and device (-o, --outbound-if4/6).
flow::Outbound OutboundFor(const config::Config& cfg);

// What ICMP, UDP and TCP flows share: families, our MAC, the address
// mapping (`resolv` as for BuildServices).
template <typename FlowConfig>
void SetCommonFlowConfig(const config::Config& cfg,
                         const netlink::HostTemplate& tmpl,
                         const netlink::TapConfig& net, const MacAddr& our_mac,
                         const dhcp::ResolvConf& resolv, FlowConfig& out) {
  out.enabled4 = !cfg.ipv6_only;
  out.enabled6 = !cfg.ipv4_only;
  out.our_mac = our_mac;
  out.map = AddressMapFor(cfg, tmpl, net, our_mac, resolv);
}

}  // namespace pasta::app
