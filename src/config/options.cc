// The table of every option (config::Options()) and the canonical names of
// option codes.
#include <getopt.h>

#include "absl/types/span.h"
#include "config/config.h"
#include "config/option_codes.h"

namespace pasta::config {

using namespace internal;  // NOLINT: this module's own option codes

namespace {

using R = Repeat;

// Every option of upstream pasta (and passt's, so that those get a precise
// message). The first entry for a value is its canonical long name.
constexpr OptionDef kOptionDefs[] = {
    {"debug", no_argument, 'd', R::kFlag},
    {"trace", no_argument, kOptTrace, R::kFlag},
    {"quiet", no_argument, 'q', R::kFlag},
    {"foreground", no_argument, 'f', R::kFlag},
    {"stderr", no_argument, 'e', R::kFlag},
    {"log-file", required_argument, 'l', R::kLastWins},
    {"log-size", required_argument, kOptLogSize, R::kLastWins},
    {"runas", required_argument, kOptRunas, R::kLastWins},
    {"help", no_argument, 'h', R::kFlag},
    {"version", no_argument, kOptVersion, R::kFlag},
    {"ns-ifname", required_argument, 'I', R::kLastWins},
    {"fd", required_argument, 'F', R::kLastWins},
    {"pcap", required_argument, 'p', R::kLastWins},
    {"pid", required_argument, 'P', R::kLastWins},
    {"mtu", required_argument, 'm', R::kLastWins},
    {"address", required_argument, 'a', R::kLastWinsPerFamily},
    {"netmask", required_argument, 'n', R::kLastWins},
    {"mac-addr", required_argument, 'M', R::kLastWins},
    {"gateway", required_argument, 'g', R::kLastWinsPerFamily},
    {"interface", required_argument, 'i', R::kLastWins},
    {"outbound", required_argument, 'o', R::kLastWinsPerFamily},
    {"outbound-if4", required_argument, kOptOutboundIf4, R::kLastWins},
    {"outbound-if6", required_argument, kOptOutboundIf6, R::kLastWins},
    {"dns", required_argument, 'D', R::kAccumulates},
    {"search", required_argument, 'S', R::kAccumulates},
    {"hostname", required_argument, 'H', R::kLastWins},
    {"fqdn", required_argument, kOptFqdn, R::kLastWins},
    {"dhcp-dns", no_argument, kOptDhcpDns, R::kFlag},
    {"dhcp-search", no_argument, kOptDhcpSearch, R::kFlag},
    {"no-dhcp-dns", no_argument, kOptNoDhcpDns, R::kFlag},
    {"no-dhcp-search", no_argument, kOptNoDhcpSearch, R::kFlag},
    {"dns-forward", required_argument, kOptDnsForward, R::kLastWinsPerFamily},
    {"dns-host", required_argument, kOptDnsHost, R::kLastWinsPerFamily},
    {"no-tcp", no_argument, kOptNoTcp, R::kFlag},
    {"no-udp", no_argument, kOptNoUdp, R::kFlag},
    {"no-icmp", no_argument, kOptNoIcmp, R::kFlag},
    {"no-dhcp", no_argument, kOptNoDhcp, R::kFlag},
    {"no-ndp", no_argument, kOptNoNdp, R::kFlag},
    {"no-dhcpv6", no_argument, kOptNoDhcpv6, R::kFlag},
    {"no-ra", no_argument, kOptNoRa, R::kFlag},
    {"no-map-gw", no_argument, kOptNoMapGw, R::kFlag},
    {"map-host-loopback", required_argument, kOptMapHostLoopback,
     R::kLastWinsPerFamily},
    {"map-guest-addr", required_argument, kOptMapGuestAddr,
     R::kLastWinsPerFamily},
    {"no-splice", no_argument, kOptNoSplice, R::kFlag},
    {"splice-only", no_argument, kOptSpliceOnly, R::kFlag},
    {"host-lo-to-ns-lo", no_argument, kOptHostLoToNsLo, R::kFlag},
    {"freebind", no_argument, kOptFreebind, R::kFlag},
    {"ipv4-only", no_argument, '4', R::kFlag},
    {"ipv6-only", no_argument, '6', R::kFlag},
    {"tcp-ports", required_argument, 't', R::kAccumulates},
    {"udp-ports", required_argument, 'u', R::kAccumulates},
    {"tcp-ns", required_argument, 'T', R::kAccumulates},
    {"udp-ns", required_argument, 'U', R::kAccumulates},
    {"userns", required_argument, kOptUserns, R::kLastWins},
    {"netns", required_argument, kOptNetns, R::kLastWins},
    {"netns-only", no_argument, kOptNetnsOnly, R::kFlag},
    {"no-netns-quit", no_argument, kOptNoNetnsQuit, R::kFlag},
    {"config-net", no_argument, kOptConfigNet, R::kFlag},
    {"no-follow-host", no_argument, kOptNoFollowHost, R::kFlag},
    {"ns-mac-addr", required_argument, kOptNsMacAddr, R::kLastWins},
    {"no-copy-routes", no_argument, kOptNoCopyRoutes, R::kFlag},
    {"no-copy-addrs", no_argument, kOptNoCopyAddrs, R::kFlag},
    {"stats", required_argument, kOptStats, R::kLastWins},
    {"conf-path", required_argument, 'c', R::kLastWins},
    {"chroot-fallback", no_argument, kOptChrootFallback, R::kFlag},
    {"repair-path", required_argument, kOptRepairPath, R::kLastWins},
    // passt (VM) mode only: recognised so we can say so.
    {"socket", required_argument, 's', R::kPasstOnly},
    {"socket-path", required_argument, 's', R::kPasstOnly},
    {"one-off", no_argument, '1', R::kPasstOnly},
    {"vhost-user", no_argument, kOptVhostUser, R::kPasstOnly},
    {"print-capabilities", no_argument, kOptPrintCapabilities, R::kPasstOnly},
    {"migrate-exit", no_argument, kOptMigrateExit, R::kPasstOnly},
    {"migrate-no-linger", no_argument, kOptMigrateNoLinger, R::kPasstOnly},
};

}  // namespace

absl::Span<const OptionDef> Options() { return kOptionDefs; }

namespace internal {

const char* CanonicalName(int val) {
  for (const OptionDef& def : kOptionDefs) {
    if (def.val == val) return def.name;
  }
  return "?";
}

}  // namespace internal
}  // namespace pasta::config
