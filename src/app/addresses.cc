#include "app/addresses.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "dhcp/resolv_conf.h"

namespace pasta::app {

namespace {

// The first address of `family` in `addrs`.
const netlink::Address* FirstAddress(const std::vector<netlink::Address>& addrs,
                                     int family) {
  for (const netlink::Address& a : addrs)
    if (a.addr.family == family) return &a;
  return nullptr;
}

// Our IPv6 address on the tap, the source of NDP and of host peers shown
// as us: the gateway where it is link-local, else the link-local address
// of our MAC.
IpAddr OurLinkLocal6(const netlink::TapConfig& net, const MacAddr& our_mac) {
  const IpAddr gw6 = netlink::DefaultGateway(net.routes, AF_INET6);
  const bool link_local =
      gw6.IsV6() && gw6.bytes[0] == 0xfe && (gw6.bytes[1] & 0xc0) == 0x80;
  return link_local ? gw6 : ndp::LinkLocalFromMac(our_mac);
}

// The address that stands for the host itself (its loopback) in the
// namespace: --map-host-loopback, else the gateway unless --no-map-gw.
IpAddr MapHostAddress(const config::Config& cfg, const netlink::TapConfig& net,
                      int family) {
  const std::optional<IpAddr>& given =
      family == AF_INET ? cfg.map_host_loopback4 : cfg.map_host_loopback6;
  if (given) return *given;
  if (cfg.no_map_gw || cfg.map_host_loopback_none) return IpAddr{};
  return netlink::DefaultGateway(net.routes, family);
}

bool IsLoopbackAddr(const IpAddr& a) {
  return (a.IsV4() && a.bytes[0] == 127) ||
         (a.IsV6() && a == IpAddr::V6(in6addr_loopback));
}

// The namespace's IPv6 address for inbound flows: its first address, else
// the link-local one the tap got (local mode).
IpAddr NamespaceAddress6(const netlink::TapConfig& net) {
  const netlink::Address* a = FirstAddress(net.addrs, AF_INET6);
  return a != nullptr ? a->addr : net.ns_link_local6;
}

// The host's resolver that the namespace reaches at the address standing
// for the host's loopback, as upstream: the first nameserver of `family` in
// `resolv` that is on the host's loopback (127.0.0.53 of systemd-resolved,
// a dnsmasq on 127.0.0.1) or is that very address (the gateway is the
// host's resolver, and mapping it to the host's loopback would hide it).
// That address is handed out as the namespace's DNS server, and DNS to it
// goes to this resolver. AF_UNSPEC if there is none to use: -D or -D none
// given, --dns-forward given (it says where DNS goes), no address for the
// host's loopback (--no-map-gw, no gateway), or no such nameserver.
IpAddr ShadowedResolver(const config::Config& cfg,
                        const netlink::TapConfig& net,
                        const dhcp::ResolvConf& resolv, int family) {
  if (!cfg.dns.empty() || cfg.dns_disabled || cfg.dns_forward4 ||
      cfg.dns_forward6)
    return IpAddr{};
  const IpAddr map = MapHostAddress(cfg, net, family);
  if (map.family != family) return IpAddr{};
  for (const IpAddr& a : resolv.nameservers)
    if (a.family == family && (IsLoopbackAddr(a) || a == map)) return a;
  return IpAddr{};
}

// The host's resolver for --dns-forward: --dns-host of the family, else
// the first -D address of the family, else the first nameserver of the
// family in /etc/resolv.conf (upstream: --dns-host, else resolv.conf).
IpAddr DnsTarget(const config::Config& cfg, const dhcp::ResolvConf& resolv,
                 int family) {
  const std::optional<IpAddr>& host =
      family == AF_INET ? cfg.dns_host4 : cfg.dns_host6;
  if (host) return *host;
  for (const IpAddr& a : cfg.dns)
    if (a.family == family) return a;
  for (const IpAddr& a : resolv.nameservers)
    if (a.family == family) return a;
  return IpAddr{};
}

// The host's own address that the namespace's address copies: the first
// global address of the template interface of `family` (--map-guest-addr).
IpAddr GuestHostAddress(const netlink::HostTemplate& tmpl, int family) {
  const std::optional<netlink::FamilyTemplate>& t =
      family == AF_INET ? tmpl.v4 : tmpl.v6;
  if (!t || t->local) return IpAddr{};
  for (const netlink::Address& a : t->addrs)
    if (a.addr.family == family && a.scope == RT_SCOPE_UNIVERSE) return a.addr;
  return IpAddr{};
}

}  // namespace

absl::Status UseLocalMode(const config::Config& cfg,
                          netlink::HostTemplate* tmpl, bool quiet) {
  struct Family {
    bool wanted;
    std::optional<netlink::FamilyTemplate>* t;
    const std::string& why;
    const std::string& outbound_if;
    const char* name;
    const char* opt;
    int af;
    const char* setup;
  };
  const Family families[] = {
      {!cfg.ipv6_only, &tmpl->v4, tmpl->why_no_v4, cfg.outbound_if4, "IPv4",
       "--outbound-if4", AF_INET,
       "address 169.254.2.1/16, gateway 169.254.2.2"},
      {!cfg.ipv4_only, &tmpl->v6, tmpl->why_no_v6, cfg.outbound_if6, "IPv6",
       "--outbound-if6", AF_INET6,
       "the namespace's link-local address, gateway fe80::1"}};
  for (const Family& f : families) {
    if (!f.wanted || f.t->has_value()) continue;
    if (!f.outbound_if.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(f.opt, " ", f.outbound_if, ": not usable for ", f.name,
                       " (", f.why, ")"));
    }
    if (!quiet)
      LOG_INFO("%s: %s, using local mode: %s", f.name, f.why, f.setup);
    *f.t = netlink::LocalTemplate(f.af);
  }
  return absl::OkStatus();
}

netlink::TemplateRequest TemplateRequestFor(const config::Config& cfg,
                                            bool strict_check) {
  netlink::TemplateRequest req;
  req.want4 = !cfg.ipv6_only;
  req.want6 = !cfg.ipv4_only;
  req.ifname4 = !cfg.template_if.empty() ? cfg.template_if : cfg.outbound_if4;
  req.ifname6 = !cfg.template_if.empty() ? cfg.template_if : cfg.outbound_if6;
  req.strict_check = strict_check;
  return req;
}

netlink::Overrides OverridesFor(const config::Config& cfg) {
  netlink::Overrides ov;
  ov.addr4 = cfg.addr4;
  ov.addr6 = cfg.addr6;
  ov.prefix_len4 = cfg.prefix_len4;
  ov.gw4 = cfg.gw4;
  ov.gw6 = cfg.gw6;
  ov.no_copy_routes = cfg.no_copy_routes;
  ov.no_copy_addrs = cfg.no_copy_addrs;
  return ov;
}

absl::Status ApplyIpv6Probe(bool ipv6_sockets, config::Config* cfg) {
  if (ipv6_sockets || cfg->ipv4_only) return absl::OkStatus();
  if (cfg->ipv6_only) {
    return absl::FailedPreconditionError(
        "-6: IPv6 is not available here (IPv6 sockets cannot be opened)");
  }
  LOG_INFO("IPv6: sockets cannot be opened here, disabling IPv6");
  cfg->ipv4_only = true;
  return absl::OkStatus();
}

bool Ipv6SocketsWork() {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// What the namespace's services hand out: the addresses and routes the tap
// gets (or would get, without --config-net), DNS from -D/-S or the host's
// resolv.conf, as upstream.
tap::Services BuildServices(const config::Config& cfg,
                            const netlink::HostTemplate& tmpl,
                            const netlink::TapConfig& net,
                            const dhcp::ResolvConf& resolv) {
  tap::Services s;
  if (cfg.our_mac) {
    s.our_mac = *cfg.our_mac;
  } else if (tmpl.v4 && !tmpl.v4->link.mac.IsZero()) {
    s.our_mac = tmpl.v4->link.mac;
  } else if (tmpl.v6 && !tmpl.v6->link.mac.IsZero()) {
    s.our_mac = tmpl.v6->link.mac;
  } else {
    s.our_mac = MacAddr{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
  }
  // The host's resolv.conf counts only without -D (nor -D none).
  const bool host_dns = cfg.dns.empty() && !cfg.dns_disabled;
  std::vector<IpAddr> dns = cfg.dns_disabled   ? std::vector<IpAddr>{}
                            : !cfg.dns.empty() ? cfg.dns
                                               : resolv.nameservers;
  // With --dns-forward (and no -D), the namespace is told to use the
  // forwarding address: queries to it reach the host's resolver.
  if (cfg.dns.empty() && !cfg.dns_disabled &&
      (cfg.dns_forward4 || cfg.dns_forward6)) {
    dns.clear();
    if (cfg.dns_forward4) dns.push_back(*cfg.dns_forward4);
    if (cfg.dns_forward6) dns.push_back(*cfg.dns_forward6);
  }
  // A loopback resolver of the host is handed out as the address that
  // stands for the host's loopback, where DNS reaches it (ShadowedResolver).
  for (IpAddr& a : dns) {
    if (IsLoopbackAddr(a) &&
        ShadowedResolver(cfg, net, resolv, a.family).family == a.family)
      a = MapHostAddress(cfg, net, a.family);
  }
  // Other loopback resolvers (127.0.0.53, ::1) mean nothing in the
  // namespace: leave them out rather than hand out a dead server; and each
  // server once.
  std::erase_if(dns, IsLoopbackAddr);
  std::vector<IpAddr> unique;
  for (const IpAddr& a : dns)
    if (std::find(unique.begin(), unique.end(), a) == unique.end())
      unique.push_back(a);
  dns = std::move(unique);
  std::vector<std::string> search;
  if (cfg.search_disabled) {
    // -S none: no search list.
  } else if (!cfg.search.empty()) {
    search = cfg.search;
  } else if (host_dns) {
    search = resolv.search;
  }
  const int mtu = cfg.mtu;

  const netlink::Address* a4 = FirstAddress(net.addrs, AF_INET);
  if (a4 != nullptr) {
    const IpAddr gw4 = netlink::DefaultGateway(net.routes, AF_INET);
    s.arp = ndp::ArpConfig{s.our_mac, a4->addr};
    if (!cfg.no_dhcp && gw4.IsV4()) {
      dhcp::Dhcp4Config d;
      d.addr = a4->addr;
      d.prefix_len = a4->prefix_len;
      d.router = gw4;
      d.server_id = gw4;
      for (const IpAddr& a : dns)
        if (a.IsV4()) d.dns.push_back(a);
      d.search = search;
      d.mtu = mtu;
      d.our_mac = s.our_mac;
      d.hostname = cfg.hostname;  // -H: option 12
      d.fqdn = cfg.fqdn;          // --fqdn: option 81
      dhcp::Prepare(d);
      s.dhcp4 = std::move(d);
    }
  } else {
    s.arp = ndp::ArpConfig{s.our_mac, IpAddr{}};
  }
  const netlink::Address* a6 = FirstAddress(net.addrs, AF_INET6);
  s.our_ll6 = OurLinkLocal6(net, s.our_mac);
  if (!cfg.no_ndp && !cfg.ipv4_only) {
    ndp::NdpConfig n;
    n.our_mac = s.our_mac;
    n.our_ll = s.our_ll6;
    for (const netlink::Address& a : net.addrs) {
      if (!a.addr.IsV6()) continue;
      n.ns_addrs.push_back(a.addr);
      n.prefixes.push_back(ndp::Prefix{a.addr, a.prefix_len});
    }
    n.mtu = mtu;
    if (cfg.dhcp_dns)
      for (const IpAddr& a : dns)
        if (a.IsV6()) n.rdnss.push_back(a);
    if (cfg.dhcp_search) n.dnssl = search;
    // With --config-net the namespace has its addresses and routes already:
    // a router advertisement would add a SLAAC address and a second default
    // route next to them (upstream sends none either).
    n.ra = !cfg.no_ra && !cfg.config_net;
    n.managed = n.other = !cfg.no_dhcpv6 && a6 != nullptr;
    const absl::Status valid = ndp::ValidateNdpConfig(n);
    if (valid.ok()) {
      s.ndp = std::move(n);
    } else {
      LOG_WARN("NDP disabled: %s", std::string(valid.message()));
    }
  }
  if (!cfg.no_dhcpv6 && a6 != nullptr) {
    dhcp::Dhcp6Config d;
    d.addr = a6->addr;
    for (const IpAddr& a : dns)
      if (a.IsV6()) d.dns.push_back(a);
    d.search = search;
    d.our_mac = s.our_mac;
    d.fqdn = cfg.fqdn;  // --fqdn: OPTION_CLIENT_FQDN
    dhcp::Prepare(d);
    s.dhcp6 = std::move(d);
  }
  return s;
}

// The destination mapping TCP uses (the same fields as SetCommonFlowConfig
// fills for ICMP and UDP, and DNS forwarding).
flow::AddressMap AddressMapFor(const config::Config& cfg,
                               const netlink::HostTemplate& tmpl,
                               const netlink::TapConfig& net,
                               const MacAddr& our_mac,
                               const dhcp::ResolvConf& resolv) {
  flow::AddressMap m;
  m.map_host4 = MapHostAddress(cfg, net, AF_INET);
  m.map_host6 = MapHostAddress(cfg, net, AF_INET6);
  // A host peer at the namespace's own address is shown as us.
  if (const netlink::Address* a = FirstAddress(net.addrs, AF_INET))
    m.ns4 = a->addr;
  m.ns6 = NamespaceAddress6(net);
  m.ours4 = netlink::DefaultGateway(net.routes, AF_INET);
  m.ours6 = OurLinkLocal6(net, our_mac);
  if (cfg.map_guest_addr4) {
    m.map_guest4 = *cfg.map_guest_addr4;
    m.guest_host4 = GuestHostAddress(tmpl, AF_INET);
  }
  if (cfg.map_guest_addr6) {
    m.map_guest6 = *cfg.map_guest_addr6;
    m.guest_host6 = GuestHostAddress(tmpl, AF_INET6);
  }
  if (cfg.dns_forward4) {
    m.dns_forward4 = *cfg.dns_forward4;
    m.dns_target4 = DnsTarget(cfg, resolv, AF_INET);
  }
  if (cfg.dns_forward6) {
    m.dns_forward6 = *cfg.dns_forward6;
    m.dns_target6 = DnsTarget(cfg, resolv, AF_INET6);
  }
  if (!cfg.dns_forward4 && !cfg.dns_forward6) {
    for (const auto& [fwd, target, family] :
         {std::tuple{&m.dns_forward4, &m.dns_target4, AF_INET},
          std::tuple{&m.dns_forward6, &m.dns_target6, AF_INET6}}) {
      const IpAddr r = ShadowedResolver(cfg, net, resolv, family);
      if (r.family != family) continue;
      *fwd = MapHostAddress(cfg, net, family);
      *target = r;
    }
  }
  return m;
}

// The outbound sockets' source address and device (-o, --outbound-if4/6).
flow::Outbound OutboundFor(const config::Config& cfg) {
  flow::Outbound out;
  if (cfg.outbound4) out.bind4 = *cfg.outbound4;
  if (cfg.outbound6) out.bind6 = *cfg.outbound6;
  out.bind_if4 = cfg.outbound_if4;
  out.bind_if6 = cfg.outbound_if6;
  return out;
}

}  // namespace pasta::app
