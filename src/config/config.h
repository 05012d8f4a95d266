// The run's configuration: built once from the command line, validated, and
// read-only afterwards.
//
// Option names, spellings and defaults follow upstream pasta (the 2023 set in
// Debian 12's passt, plus the newer options engines pass). Options that are
// accepted but not implemented yet are listed in `unimplemented` so that main
// can say so at --debug level.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/log.h"
#include "common/net_types.h"
#include "config/port_spec.h"

namespace pasta::config {

// How the target network namespace is found.
enum class Target {
  kSpawn,  // no PID or --netns: new user+net namespace running a command
  kNetns,  // --netns PATH|NAME (NAME means /run/netns/NAME)
  kPid,    // PID given as the only non-option argument
};

// Which program we are: chosen by the name we were started as (argv[0]'s
// last component: "passt" in it, and no "pasta", means passt).
enum class Mode {
  kPasta,  // a network namespace behind a tap device
  kPasst,  // a virtual machine behind a UNIX stream socket (QEMU's
           // `-netdev stream`, libvirt's passt backend)
};

// passt without -s: the first of /tmp/passt_1.socket ... that is free, as
// upstream (which tries numbers 1 to 99).
inline constexpr const char* kPasstSocketPattern = "/tmp/passt_%d.socket";
inline constexpr int kPasstSocketMax = 99;

inline constexpr int kDefaultMtu = 65520;
inline constexpr int kMinMtu = 68;
inline constexpr int kMaxMtu = 65520;
inline constexpr size_t kDefaultLogSize = 1 << 20;

struct Config {
  Mode mode = Mode::kPasta;  // from argv[0], see Mode

  // --- What to do instead of running -----------------------------------
  bool help = false;     // -h/--help: print usage to stdout, exit 0
  bool version = false;  // --version: print version to stdout, exit 0

  // --- Logging ----------------------------------------------------------
  log::Level log_level = log::Level::kInfo;  // -q: kWarn (no info lines),
                                             // -d: kDebug, --trace: kTrace
  bool quiet = false;                        // -q/--quiet
  bool log_stderr = false;                   // -e/--stderr
  std::string log_file;                      // -l/--log-file PATH
  size_t log_size = kDefaultLogSize;         // --log-size BYTES

  // --- Process ----------------------------------------------------------
  bool foreground = false;  // -f/--foreground
  std::string pid_file;     // -P/--pid FILE
  bool runas_set = false;   // --runas UID|UID:GID (numeric or names)
  uid_t runas_uid = 0;
  gid_t runas_gid = 0;
  int fd = -1;            // -F/--fd FD: a pre-opened tap device (pasta),
                          // a connected stream socket (passt)
  std::string socket_path;  // passt: -s/--socket-path PATH ("": the first
                            // free kPasstSocketPattern)
  bool one_off = false;     // passt: -1/--one-off, or -F: exit when the
                            // client disconnects
  std::string pcap_file;  // -p/--pcap FILE
  std::string conf_path;  // -c/--conf-path PATH: the control socket
  int stats_delay = -1;   // --stats DELAY seconds (needs -f; 0: off)
  bool chroot_fallback = false;  // --chroot-fallback

  // --- Target namespace -------------------------------------------------
  Target target = Target::kSpawn;
  std::vector<std::string> command;  // kSpawn: COMMAND [ARG]... (may be empty:
                                     // run the user's shell)
  pid_t target_pid = 0;              // kPid
  std::string netns_path;   // kNetns: a path; a bare NAME is already resolved
                            // to /run/netns/NAME
  std::string userns_path;  // --userns NSPATH
  bool netns_only = false;  // --netns-only, or implied by --netns without
                            // --userns (a PID target joins its user
                            // namespace unless --netns-only)
  bool no_netns_quit = false;  // --no-netns-quit

  // --- Interface in the namespace ---------------------------------------
  bool config_net = false;         // --config-net
  bool follow_host = true;         // false: --no-follow-host (ours)
  std::string ns_ifname;           // -I/--ns-ifname NAME ("" = template's name)
  std::optional<MacAddr> ns_mac;   // --ns-mac-addr ADDR: the tap's own MAC
  std::optional<MacAddr> our_mac;  // -M/--mac-addr ADDR: our source MAC
  int mtu = kDefaultMtu;           // -m/--mtu (0 = don't assign via DHCP/NDP)
  bool mtu_set = false;

  // --- Addresses and routes (template and overrides) --------------------
  std::string template_if;          // -i/--interface NAME
  std::string outbound_if4;         // --outbound-if4 NAME
  std::string outbound_if6;         // --outbound-if6 NAME
  std::optional<IpAddr> addr4;      // -a (IPv4)
  std::optional<IpAddr> addr6;      // -a (IPv6)
  int prefix_len4 = -1;             // -n/--netmask (dot-decimal or bits), or
                                    // -a ADDR/LEN; -1 unset
  int prefix_len6 = -1;             // -a ADDR6/LEN; -1 unset
  std::optional<IpAddr> gw4;        // -g (IPv4)
  std::optional<IpAddr> gw6;        // -g (IPv6)
  std::optional<IpAddr> outbound4;  // -o/--outbound (IPv4)
  std::optional<IpAddr> outbound6;  // -o/--outbound (IPv6)
  bool ipv4_only = false;           // -4/--ipv4-only
  bool ipv6_only = false;           // -6/--ipv6-only
  bool no_copy_routes = false;      // --no-copy-routes
  bool no_copy_addrs = false;       // --no-copy-addrs

  // --- DNS ----------------------------------------------------------------
  std::vector<IpAddr> dns;             // -D/--dns ADDR, repeatable
  bool dns_disabled = false;           // a single empty -D ""
  std::vector<std::string> search;     // -S/--search LIST (space-separated)
  bool search_disabled = false;        // a single empty -S ""
  bool dhcp_dns = false;               // --dhcp-dns
  bool dhcp_search = false;            // --dhcp-search
  std::optional<IpAddr> dns_forward4;  // --dns-forward ADDR (IPv4)
  std::optional<IpAddr> dns_forward6;  // --dns-forward ADDR (IPv6)
  std::optional<IpAddr> dns_host4;     // --dns-host ADDR (IPv4)
  std::optional<IpAddr> dns_host6;     // --dns-host ADDR (IPv6)
  std::string hostname;  // -H/--hostname NAME: DHCP, the spawned UTS name
  std::string fqdn;      // --fqdn NAME for DHCP/DHCPv6

  // --- Protocol handlers and services -----------------------------------
  bool no_tcp = false;
  bool no_udp = false;
  bool no_icmp = false;
  bool no_dhcp = false;
  bool no_ndp = false;
  bool no_dhcpv6 = false;
  bool no_ra = false;
  bool no_map_gw = false;
  bool no_splice = false;                    // --no-splice
  bool splice_only = false;                  // --splice-only: no tap
  bool host_lo_to_ns_lo = false;             // --host-lo-to-ns-lo
  bool freebind = false;                     // --freebind
  std::optional<IpAddr> map_host_loopback4;  // --map-host-loopback ADDR
  std::optional<IpAddr> map_host_loopback6;
  bool map_host_loopback_none = false;    // --map-host-loopback none
                                          // (also sets no_map_gw)
  std::optional<IpAddr> map_guest_addr4;  // --map-guest-addr ADDR
  std::optional<IpAddr> map_guest_addr6;
  bool map_guest_addr_none = false;  // --map-guest-addr none

  // --- Port forwarding --------------------------------------------------
  PortSpec tcp_ports;  // -t/--tcp-ports  (host -> namespace), default auto
  PortSpec udp_ports;  // -u/--udp-ports  (host -> namespace), default auto
  PortSpec tcp_ns;     // -T/--tcp-ns     (namespace -> host), default auto
  PortSpec udp_ns;     // -U/--udp-ns     (namespace -> host), default auto
  // Each -t/-u/-T/-U given, in order: the option's letter and its
  // argument (the control socket's tables are built from them).
  std::vector<std::pair<char, std::string>> port_options;

  // Long option names given that are accepted but have no effect yet, each
  // once, in order of first appearance. Empty at present: every option
  // accepted has its effect (the last four went in for upstream's
  // 2026-07-16 release); kept for options upstream adds next.
  std::vector<std::string> unimplemented;

  // One line for each single-valued option given more than once (the last
  // value is kept, as upstream), in order of first appearance, e.g.
  // "--ns-mac-addr given 2 times, kept the last: aa:bb:cc:dd:ee:ff". main
  // logs them at --debug level.
  std::vector<std::string> repeated;
};

// What giving an option more than once does.
enum class Repeat {
  kFlag,               // no argument: the same as giving it once
  kLastWins,           // the last value replaces the earlier ones
  kLastWinsPerFamily,  // the same, separately for IPv4 and IPv6 values;
                       // "none", where taken, resets both families
  kAccumulates,        // every value counts (-t, -u, -T, -U, -D, -S);
                       // "none" for -D and -S drops the earlier values
  kPasstOnly,          // passt (VM) mode only: refused by pasta
};

// One long option: its name, getopt_long's has_arg, the code it returns
// (its short option's character where it has one) and how repeats behave.
struct OptionDef {
  const char* name;
  int has_arg;
  int val;
  Repeat repeat;
};

// Every option the parser knows, in --help order; an option with two long
// names (--socket, --socket-path) has two entries. Static storage.
absl::Span<const OptionDef> Options();

// Seams for tests. The defaults look at the real file system.
struct ParseEnv {
  // Returns 0 if `path` exists (--netns, --userns, /proc/PID), else an errno
  // value. nullptr: stat(2).
  int (*path_exists)(const std::string& path) = nullptr;
  // Where --runas names are looked up (see config/passwd.h).
  std::string passwd_path = "/etc/passwd";
  std::string group_path = "/etc/group";
};

// Parses argv (as given to main) into a validated Config.
//
// argv[0] picks the mode (Config::mode). In passt mode the options that
// only make sense for a namespace (--netns, --userns, --netns-only,
// --no-netns-quit, --config-net, --no-copy-routes, --no-copy-addrs,
// --ns-mac-addr, -I, -T, -U, --splice-only, --host-lo-to-ns-lo,
// --dhcp-dns, --dhcp-search) and any PID or command are refused; -s, -1
// are taken; -F is a connected socket and implies -1; -t and -u take
// 'all' but not 'auto' and default to 'none'; splicing is off; DNS
// servers and search domains go into router advertisements (as
// --dhcp-dns --dhcp-search in pasta), as upstream.
//
// Options stop at the first non-option argument or at "--"; what follows is
// the command to spawn, or a lone PID (all digits). If -h/--help or --version
// is seen before any error, returns OK at once with `help`/`version` set
// (like upstream, which prints and exits there); later arguments are not
// checked.
//
// On a bad option or value, returns InvalidArgument (or NotFound etc. for a
// missing path or process) whose message is one line naming the option, the
// value and the reason, e.g. "-m abc: invalid MTU (0, or 68 to 65520)",
// "unrecognized option '--bogus'",
// "option '--mtu' requires an argument", "no such process: 999999999".
// Touches nothing but /etc/passwd and /etc/group for --runas and stat(2) for
// --netns/--userns paths and /proc/PID. Uses getopt_long's globals (resets
// optind), so it is not thread-safe. Allocates.
absl::StatusOr<Config> ParseCommandLine(int argc, char* const argv[]);
absl::StatusOr<Config> ParseCommandLine(int argc, char* const argv[],
                                        const ParseEnv& env);

// The usage text printed by --help: the three usage forms and every long
// option with a one-line description and its default. Our own wording.
// Static storage; does not allocate.
const char* UsageText();
// The same for passt mode.
const char* PasstUsageText();

}  // namespace pasta::config
