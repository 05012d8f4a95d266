// What the namespace is told and how its addresses map to the host's:
// the answers of DHCP, DHCPv6 and NDP (tap::Services), the address mapping
// every handler applies (flow::AddressMap), the outbound sockets' binding,
// and the settings the handlers share. Pure functions of the configuration
// and the template interface (plus /etc/resolv.conf for DNS); control
// plane, they allocate.
#pragma once

#include <sys/socket.h>

#include "common/net_types.h"
#include "config/config.h"
#include "flow/addr_map.h"
#include "flow/outbound.h"
#include "netlink/netlink.h"
#include "tap/tap.h"

namespace pasta::app {

// What the namespace's services hand out: the addresses and routes the tap
// gets (or would get, without --config-net), DNS from -D/-S or the host's
// resolv.conf, as upstream.
tap::Services BuildServices(const config::Config& cfg,
                            const netlink::HostTemplate& tmpl,
                            const netlink::TapConfig& net);

// The destination mapping TCP uses (the same fields as SetCommonFlowConfig
// fills for ICMP and UDP, and DNS forwarding).
flow::AddressMap AddressMapFor(const config::Config& cfg,
                               const netlink::HostTemplate& tmpl,
                               const netlink::TapConfig& net,
                               const MacAddr& our_mac);

// The outbound sockets' source address and device (-o, --outbound-if4/6).
flow::Outbound OutboundFor(const config::Config& cfg);

// What ICMP, UDP and TCP flows share: families, our MAC, the address
// mapping.
template <typename FlowConfig>
void SetCommonFlowConfig(const config::Config& cfg,
                         const netlink::HostTemplate& tmpl,
                         const netlink::TapConfig& net, const MacAddr& our_mac,
                         FlowConfig& out) {
  out.enabled4 = !cfg.ipv6_only;
  out.enabled6 = !cfg.ipv4_only;
  out.our_mac = our_mac;
  out.map = AddressMapFor(cfg, tmpl, net, our_mac);
}

}  // namespace pasta::app
