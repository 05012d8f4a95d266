// The option codes and tables of the command-line parser (config.cc):
// codes for options without a short form, the short-option string, and
// each code's canonical long name. Internal to src/config; the table itself
// is config::Options() (config.h).
#pragma once

namespace pasta::config::internal {

// Codes for options without a short form (above any char value).
enum LongOnly : int {
  kOptTrace = 256,
  kOptLogSize,
  kOptRunas,
  kOptVersion,
  kOptUserns,
  kOptNetns,
  kOptNetnsOnly,
  kOptNoNetnsQuit,
  kOptConfigNet,
  kOptNoFollowHost,
  kOptNsMacAddr,
  kOptDhcpDns,
  kOptDhcpSearch,
  kOptNoDhcpDns,
  kOptNoDhcpSearch,
  kOptDnsForward,
  kOptDnsHost,
  kOptNoTcp,
  kOptNoUdp,
  kOptNoIcmp,
  kOptNoDhcp,
  kOptNoNdp,
  kOptNoDhcpv6,
  kOptNoRa,
  kOptNoMapGw,
  kOptNoSplice,
  kOptSpliceOnly,
  kOptHostLoToNsLo,
  kOptFreebind,
  kOptMapGuestAddr,
  kOptMapHostLoopback,
  kOptOutboundIf4,
  kOptOutboundIf6,
  kOptNoCopyRoutes,
  kOptNoCopyAddrs,
  kOptFqdn,
  kOptStats,
  kOptChrootFallback,
  kOptRepairPath,
  kOptVhostUser,
  kOptPrintCapabilities,
  kOptMigrateExit,
  kOptMigrateNoLinger,
};

// '+': stop at the first non-option. ':': report a missing argument as ':'.
inline constexpr char kShortOptions[] =
    "+:dqfel:hF:I:p:P:m:a:n:M:g:i:o:D:S:H:46t:u:T:U:c:s:1";

// The canonical long name of option code `val` ("?" if none).
const char* CanonicalName(int val);

}  // namespace pasta::config::internal
