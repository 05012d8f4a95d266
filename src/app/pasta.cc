#include "app/pasta.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "app/addresses.h"
#include "app/control.h"
#include "app/counters.h"
#include "app/listeners.h"
#include "app/loop.h"
#include "app/neighbours.h"
#include "app/passt.h"
#include "app/process.h"
#include "app/run.h"
#include "common/fd.h"
#include "common/kernel.h"
#include "common/log.h"
#include "common/net_types.h"
#include "common/sockaddr.h"
#include "common/status.h"
#include "common/time.h"
#include "config/config.h"
#include "device/null_device.h"
#include "device/tap_device.h"
#include "dhcp/resolv_conf.h"
#include "flow/siphash.h"
#include "fwd/auto_forward.h"
#include "fwd/auto_scan.h"
#include "fwd/forwards.h"
#include "fwd/limits.h"
#include "fwd/proc_net.h"
#include "icmp/icmp.h"
#include "loop/epoll_ref.h"
#include "netlink/netlink.h"
#include "ns/namespace.h"
#include "pcap/pcap_writer.h"
#include "sandbox/sandbox.h"
#include "sock/system_sys.h"
#include "tap/tap.h"
#include "tcp/tcp.h"
#include "udp/relay.h"
#include "udp/udp.h"
#include "version.h"

namespace pasta::app {

namespace {

using loop::Kind;
using loop::Ref;

// Hidden switch for tests: leave NETLINK_GET_STRICT_CHK unset so that a new
// kernel answers route dumps like a pre-4.20 one (every route, unfiltered).
// Deliberately not in --help; see tests/lab/.
constexpr const char* kNoStrictEnv = "PASTA_NETLINK_NO_STRICT_CHK";

bool StrictCheck() {
  const char* v = getenv(kNoStrictEnv);
  return v == nullptr || *v == '\0' || strcmp(v, "0") == 0;
}

void SetUpLogging(const config::Config& cfg) {
  log::SetLevel(cfg.log_level);
  log::SetTimestamps(cfg.log_level >= log::Level::kDebug);
  if (!cfg.log_file.empty()) {
    const int err = log::OpenFile(cfg.log_file, cfg.log_size);
    if (err != 0) {
      LOG_ERROR("-l %s: %s", cfg.log_file, strerror(err));
    } else if (!cfg.log_stderr) {
      log::SetStderr(false);  // -l logs only to the file, as upstream
    }
  }
}

absl::Status AddToEpoll(Run& run, Ref ref, uint32_t events) {
  const int err = loop::EpollAdd(run.epoll.get(), ref, events);
  return err == 0 ? absl::OkStatus() : ErrnoToStatus(err, "epoll_ctl");
}

std::string TapName(const config::Config& cfg,
                    const netlink::HostTemplate& tmpl) {
  if (!cfg.ns_ifname.empty()) return cfg.ns_ifname;
  if (tmpl.v4 && !tmpl.v4->local) return tmpl.v4->link.name;
  if (tmpl.v6 && !tmpl.v6->local) return tmpl.v6->link.name;
  return "tap0";  // local mode in both families, as upstream
}

absl::StatusOr<netlink::HostTemplate> ReadTemplate(const config::Config& cfg) {
  const netlink::TemplateRequest req = TemplateRequestFor(cfg, StrictCheck());
  absl::StatusOr<netlink::HostTemplate> read = netlink::ReadHostTemplate(req);
  if (!read.ok() && read.status().code() == absl::StatusCode::kNotFound) {
    // Name the option that named the missing interface.
    const std::pair<const char*, const std::string*> named[] = {
        {"-i", &cfg.template_if},
        {"--outbound-if4", &cfg.outbound_if4},
        {"--outbound-if6", &cfg.outbound_if6}};
    for (const auto& [opt, name] : named) {
      if (!name->empty() && std::string(read.status().message()).find(*name) !=
                                std::string::npos) {
        return absl::NotFoundError(std::string(opt) + " " + *name +
                                   ": no such interface");
      }
    }
  }
  if (!read.ok()) return read.status();
  // Binding sockets to a device needs CAP_NET_RAW before Linux 5.7 (and
  // where it is not held): say so now, not with every flow that fails.
  for (const auto& [opt, name] : {std::pair<const char*, const std::string*>{
                                      "--outbound-if4", &cfg.outbound_if4},
                                  {"--outbound-if6", &cfg.outbound_if6}}) {
    if (name->empty()) continue;
    UniqueFd probe(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (probe.valid() && BindToDevice(probe.get(), *name) != 0) {
      return ErrnoToStatus(
          errno, std::string(opt) + " " + *name +
                     ": binding sockets to it (SO_BINDTODEVICE; before Linux "
                     "5.7 it needs CAP_NET_RAW)");
    }
  }
  netlink::HostTemplate tmpl = std::move(*read);
  // A family without a template interface runs in local mode.
  RETURN_IF_ERROR(UseLocalMode(cfg, &tmpl));
  return tmpl;
}

absl::StatusOr<ns::Target> OpenTarget(const config::Config& cfg) {
  if (cfg.mode == config::Mode::kPasst) return ns::Target{};  // no namespace
  switch (cfg.target) {
    case config::Target::kSpawn:
      return ns::Spawn(cfg.command, cfg.hostname);
    case config::Target::kNetns:
      return ns::OpenPath(cfg.netns_path,
                          cfg.netns_only ? "" : cfg.userns_path);
    case config::Target::kPid:
      return ns::OpenPid(cfg.target_pid, cfg.netns_only, cfg.userns_path);
  }
  return absl::InternalError("bad target");
}

// Every TCP flow holds a socket (a spliced one two sockets and two pipes),
// every forwarded port one listener per family: raise our soft limit on
// descriptors to the hard one. Done after the command was forked, so that
// it keeps the limit it was started with.
void RaiseFileLimit() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == lim.rlim_max)
    return;
  const rlim_t was = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
    LOG_DEBUG("descriptor limit raised from %u to %u",
              static_cast<uint64_t>(was), static_cast<uint64_t>(lim.rlim_cur));
}

// Whether the tap carries virtio-net headers, for partial checksums and
// TSO frames. On unless PASTA_NO_OFFLOAD=1 (a hidden switch for
// benchmarks and bisecting).
bool Offloads() {
  const char* v = getenv("PASTA_NO_OFFLOAD");
  return v == nullptr || std::string_view(v) != "1";
}

// The part of `cfg` of `family` only (addresses and routes; the link's
// settings stay in both).
netlink::TapConfig FamilyPart(const netlink::TapConfig& cfg, int family) {
  netlink::TapConfig part = cfg;
  std::erase_if(part.addrs, [family](const netlink::Address& a) {
    return a.addr.family != family;
  });
  std::erase_if(part.routes, [family](const netlink::Route& r) {
    return r.family != family;
  });
  if (family != AF_INET6) part.ll_nodad = false;
  return part;
}

// Runs inside the target namespace (clone helper): opens the tap (or takes
// -F's, or none with --splice-only), brings loopback up and, with
// --config-net, configures the tap and reads back its IPv6 link-local
// address into `*link_local6`. With `v6_optional` (IPv6 in local mode) the
// IPv6 part goes last, and its failure (a namespace whose kernel refuses
// IPv6) goes to `*v6_error` instead of failing the set-up.
absl::Status SetUpInNamespace(Run& run, const std::string& name,
                              const std::optional<netlink::TapConfig>& tap_cfg,
                              std::string* actual_name, IpAddr* link_local6,
                              bool v6_optional, absl::Status* v6_error) {
  const config::Config& cfg = run.cfg;
  UniqueFd fd;
  bool vnet = false;
  if (cfg.fd >= 0) {
    // Upstream's pasta reads -F's tap as its own; a tap opened without a
    // virtio-net header means no offloads.
    ASSIGN_OR_RETURN(fd, device::AdoptTap(cfg.fd, actual_name, &vnet));
  } else if (!cfg.splice_only) {
    vnet = Offloads();
    ASSIGN_OR_RETURN(fd, device::OpenTap(name, actual_name, vnet));
  }
  netlink::TapConfig lo;
  lo.ifname = "lo";
  lo.strict_check = StrictCheck();
  RETURN_IF_ERROR(netlink::ConfigureTap(lo));
  if (cfg.splice_only) {
    // No tap, so nothing to configure, answer or record.
    run.tap.emplace(std::make_unique<device::NullDevice>(), nullptr, nullptr,
                    nullptr);
    return absl::OkStatus();
  }
  if (tap_cfg) {
    netlink::TapConfig c = *tap_cfg;
    c.ifname = *actual_name;
    if (v6_optional) {
      RETURN_IF_ERROR(netlink::ConfigureTap(FamilyPart(c, AF_INET)));
      *v6_error = netlink::ConfigureTap(FamilyPart(c, AF_INET6), link_local6);
    } else {
      RETURN_IF_ERROR(netlink::ConfigureTap(c, link_local6));
    }
  }
  run.tap.emplace(std::make_unique<device::TapDevice>(std::move(fd), vnet),
                  &run.services, nullptr, run.pcap.get());
  return absl::OkStatus();
}

// The pool of sockets made in the target namespace (splice, -u relay),
// made on first need and handed to the seam as its Netns::kTarget.
void UseNamespaceSockets(Run& run) {
  if (run.ns_sockets) return;
  run.ns_sockets = std::make_unique<NsSocketPool>(&run.target);
  run.sys->set_namespace_sockets(
      [pool = run.ns_sockets.get()](int family, int type) {
        const int fd = pool->Take(family, type);
        return fd < 0 ? sock::Fail(errno) : sock::Ok(fd);
      });
}

// UDP flows, and listeners for the -u ports (explicit specs; `auto` is not
// implemented yet and forwards nothing).
absl::Status SetUpUdp(Run& run, const netlink::HostTemplate& tmpl,
                      const netlink::TapConfig& net) {
  const config::Config& cfg = run.cfg;
  udp::UdpConfig uc;
  SetCommonFlowConfig(cfg, tmpl, net, run.services.our_mac, run.resolv, uc);
  uc.out = OutboundFor(cfg);
  // The namespace's first address per family, as the address map has it.
  uc.ns_addr4 = uc.map.ns4;
  uc.ns_addr6 = uc.map.ns6;
  if (cfg.splice_only) {
    // No tap to reach an address on: datagrams from outside the host's
    // loopback are dropped (the relay takes the rest).
    uc.ns_addr4 = uc.ns_addr6 = IpAddr{};
  }
  uc.mtu = net.mtu;
  uc.freebind = cfg.freebind;
  uc.coalesce = true;
  run.udp = std::make_unique<udp::UdpFlows>(uc, run.sys.get(), &*run.tap,
                                            flow::RandomSipKey(), &run.flows);
  run.tap->set_udp(run.udp.get());
  if (!cfg.no_splice) {
    UseNamespaceSockets(run);
    run.udp_relay_in =
        std::make_unique<udp::UdpRelay>(run.sys.get(), flow::RandomSipKey(),
                                        udp::UdpRelay::kInbound, &run.flows);
    run.udp->set_loopback_relay(run.udp_relay_in.get());
  }
  // With -c, the live rule set opens the lists' explicit ports
  // (app/control.h), and -U rules may come at run time.
  const bool by_rules = !cfg.conf_path.empty();
  if (cfg.udp_ns.mode() != config::PortSpec::Mode::kNone || by_rules) {
    if (cfg.no_splice && (cfg.udp_ns.mode() == config::PortSpec::Mode::kAuto ||
                          cfg.udp_ns.mode() == config::PortSpec::Mode::kNone)) {
      // -U auto is the default: nothing to say.
    } else if (cfg.no_splice) {
      LOG_WARN("-U: the namespace's ports are relayed between the loopbacks, "
               "which --no-splice turns off: not forwarded");
    } else {
      run.udp_relay =
          std::make_unique<udp::UdpRelay>(run.sys.get(), flow::RandomSipKey(),
                                          udp::UdpRelay::kOutbound, &run.flows);
      if (!by_rules) {
        RETURN_IF_ERROR(fwd::AddForwards(
            cfg.udp_ns, "-U", uc.enabled4, uc.enabled6, fwd::ReadLimits(),
            [&](int family, const IpAddr*, uint16_t ns_port,
                uint16_t host_port, const IpAddr*) {
              return AddRelayListener(run, family, ns_port, host_port);
            }));
      }
    }
  }
  if (by_rules) return absl::OkStatus();
  return fwd::AddForwards(
      cfg.udp_ports, "-u", uc.enabled4, uc.enabled6, fwd::ReadLimits(),
      [&](int family, const IpAddr* bind, uint16_t host_port, uint16_t ns_port,
          const IpAddr* to_addr) {
        return run.udp->AddListener(family, bind, host_port, ns_port, to_addr);
      });
}

// TCP flows, and listeners for the -t ports (explicit specs, as for UDP).
absl::Status SetUpTcp(Run& run, const netlink::HostTemplate& tmpl,
                      const netlink::TapConfig& net) {
  const config::Config& cfg = run.cfg;
  tcp::TcpConfig tc;
  SetCommonFlowConfig(cfg, tmpl, net, run.services.our_mac, run.resolv, tc);
  // The namespace's first address per family, as the address map has it.
  tc.ns_addr4 = tc.map.ns4;
  tc.ns_addr6 = tc.map.ns6;
  if (cfg.splice_only) {
    // No tap to reach an address on: connections from outside the host's
    // loopback are closed at once, as upstream's (splicing goes to the
    // namespace's loopback).
    tc.ns_addr4 = tc.ns_addr6 = IpAddr{};
  }
  tc.freebind = cfg.freebind;
  tc.out = OutboundFor(cfg);
  tc.mtu = net.mtu;
  run.tcp = std::make_unique<tcp::TcpFlows>(tc, run.sys.get(), &*run.tap,
                                            flow::RandomSipKey(), &run.flows);
  run.tap->set_tcp(run.tcp.get());
  if (!cfg.no_splice) {
    UseNamespaceSockets(run);
    // A link-local address (local mode) needs a scope a splice connect()
    // does not carry: those go to the namespace's loopback.
    const bool ll6 = tc.ns_addr6.IsV6() && tc.ns_addr6.bytes[0] == 0xfe &&
                     (tc.ns_addr6.bytes[1] & 0xc0) == 0x80;
    run.splice = std::make_unique<tcp::SpliceFlows>(
        run.sys.get(), tc.ns_addr4, ll6 ? IpAddr{} : tc.ns_addr6,
        cfg.host_lo_to_ns_lo,
        &run.flows);
    run.tcp->set_splice(run.splice.get());
    if (cfg.conf_path.empty()) {
      RETURN_IF_ERROR(fwd::AddForwards(
          cfg.tcp_ns, "-T", tc.enabled4, tc.enabled6, fwd::ReadLimits(),
          [&](int family, const IpAddr*, uint16_t ns_port, uint16_t host_port,
              const IpAddr*) {
            return AddNamespaceListener(run, family, ns_port, host_port);
          }));
    }
  } else if (cfg.tcp_ns.mode() == config::PortSpec::Mode::kExplicit ||
             cfg.tcp_ns.mode() == config::PortSpec::Mode::kAll) {
    LOG_WARN("-T: the namespace's ports are reached by splicing, which "
             "--no-splice turns off: not forwarded");
  }
  // With -c, the live rule set opens the explicit ports (app/control.h).
  if (!cfg.conf_path.empty()) return absl::OkStatus();
  return fwd::AddForwards(
      cfg.tcp_ports, "-t", tc.enabled4, tc.enabled6, fwd::ReadLimits(),
      [&](int family, const IpAddr* bind, uint16_t host_port, uint16_t ns_port,
          const IpAddr* to_addr) {
        return run.tcp->AddListener(family, bind, host_port, ns_port, to_addr);
      });
}

// Sets up automatic forwarding for the specs that say `auto` (the default
// of each): -t and -u watch the namespace's bound ports, -T and -U the
// host's.
absl::Status SetUpAutoForwarding(Run& run) {
  const config::Config& cfg = run.cfg;
  fwd::AutoForwarding& a = run.autofwd;
  const bool v4 = !cfg.ipv6_only, v6 = !cfg.ipv4_only;
  const std::pair<uint16_t, uint16_t> ephemeral = fwd::EphemeralPorts();
  a.explicit_ports.tcp_in = fwd::ExplicitPorts(cfg.tcp_ports, ephemeral);
  a.explicit_ports.tcp_out = fwd::ExplicitPorts(cfg.tcp_ns, ephemeral);
  a.explicit_ports.udp_in = fwd::ExplicitPorts(cfg.udp_ports, ephemeral);
  a.explicit_ports.udp_out = fwd::ExplicitPorts(cfg.udp_ns, ephemeral);
  // With -c every direction is made, forwarding nothing until the control
  // socket's rules allow it ports (app/control.cc), since auto rules may
  // come at run time, and the tables can't be opened after the sandbox.
  const bool by_rules = !cfg.conf_path.empty();
  const auto is_auto = [by_rules](const config::PortSpec& spec) {
    return by_rules || spec.mode() == config::PortSpec::Mode::kAuto;
  };
  const auto allowed = [by_rules](const config::PortSpec& spec) {
    return by_rules ? fwd::PortSet{} : fwd::AutoPorts(spec);
  };
  const bool want_t = run.tcp && is_auto(cfg.tcp_ports);
  const bool want_u = run.udp && is_auto(cfg.udp_ports);
  const bool want_T = run.splice && is_auto(cfg.tcp_ns);
  const bool want_U = run.udp_relay && is_auto(cfg.udp_ns);
  if (want_t || want_u) {
    RETURN_IF_ERROR(ns::RunInNamespace(run.target.fds(), [&] {
      a.ns_tcp = fwd::OpenProcNet(fwd::Table::kTcp);
      if (want_u) a.ns_udp = fwd::OpenProcNet(fwd::Table::kUdp);
      return absl::OkStatus();
    }));
  }
  if (want_T || want_U) a.host_tcp = fwd::OpenProcNet(fwd::Table::kTcp);
  if (want_U) a.host_udp = fwd::OpenProcNet(fwd::Table::kUdp);
  if (want_t) {
    a.dirs.tcp_in = fwd::MakeAutoForward(
        "-t auto", "TCP", v4, v6,
        [&run](int family, uint16_t port) {
          return run.tcp->AddListener(family, nullptr, port, port);
        },
        [&run](uint16_t port) { run.tcp->RemoveListeners(port); });
    a.dirs.tcp_in->set_allowed(allowed(cfg.tcp_ports));
  }
  if (want_u) {
    a.dirs.udp_in = fwd::MakeAutoForward(
        "-u auto", "UDP", v4, v6,
        [&run](int family, uint16_t port) {
          return run.udp->AddListener(family, nullptr, port, port);
        },
        [&run](uint16_t port) { run.udp->RemoveListeners(port); });
    a.dirs.udp_in->set_allowed(allowed(cfg.udp_ports));
  }
  if (want_U) {
    a.dirs.udp_out = fwd::MakeAutoForward(
        "-U auto", "UDP", v4, v6,
        [&run](int family, uint16_t port) {
          return AddRelayListener(run, family, port, port);
        },
        [&run](uint16_t port) { run.udp_relay->RemoveListeners(port); });
    a.dirs.udp_out->set_allowed(allowed(cfg.udp_ns));
  }
  if (want_T) {
    a.dirs.tcp_out = fwd::MakeAutoForward(
        "-T auto", "TCP", v4, v6,
        [&run](int family, uint16_t port) {
          return AddNamespaceListener(run, family, port, port);
        },
        [&run](uint16_t port) { run.splice->RemoveNamespaceListeners(port); });
    a.dirs.tcp_out->set_allowed(allowed(cfg.tcp_ns));
  }
  return absl::OkStatus();
}

// "pasta" or "passt", for messages.
const char* program_name = "pasta";

int Fail(const absl::Status& status) {
  LOG_ERROR("%s: %s", program_name, std::string(status.message()));
  return 1;
}

}  // namespace

int Main(int argc, char* argv[]) {
  absl::StatusOr<config::Config> parsed = config::ParseCommandLine(argc, argv);
  if (!parsed.ok()) {
    // The mode is argv[0]'s, as the parser decides it.
    const std::string_view arg0 = argc > 0 && argv[0] != nullptr ? argv[0] : "";
    const std::string_view base = arg0.substr(arg0.rfind('/') + 1);
    const bool passt = base.find("pasta") == std::string_view::npos &&
                       base.find("passt") != std::string_view::npos;
    fprintf(stderr, "%s: %s\n", passt ? "passt" : "pasta",
            std::string(parsed.status().message()).c_str());
    return 1;
  }
  const config::Config& cfg = *parsed;
  const bool passt = cfg.mode == config::Mode::kPasst;
  program_name = passt ? "passt" : "pasta";
  if (cfg.help) {
    fputs(passt ? config::PasstUsageText() : config::UsageText(), stdout);
    return 0;
  }
  if (cfg.version) {
    printf("%s (pasta-cpp) %s\n", program_name, PASTA_CPP_VERSION);
    return 0;
  }
  // Close what the caller left open beyond stdio (a daemon holding a
  // caller's pipe keeps it waiting for EOF), except a -F descriptor.
  CloseDescriptorsFrom(STDERR_FILENO + 1, cfg.fd > STDERR_FILENO ? cfg.fd : -1);
  SetUpLogging(cfg);
  if (log::Enabled(log::Level::kDebug)) {
    // The start of a --debug/--trace log says what was asked of us.
    std::string args;
    for (int i = 1; i < argc; ++i) {
      args += ' ';
      args += argv[i];
    }
    LOG_DEBUG("%s (pasta-cpp) %s, pid %d, uid %d:%s", program_name,
              PASTA_CPP_VERSION,
              static_cast<int>(getpid()), static_cast<int>(getuid()), args);
  }
  for (const std::string& opt : cfg.unimplemented) {
    LOG_DEBUG("option --%s is accepted but not implemented yet", opt);
  }
  for (const std::string& line : cfg.repeated) LOG_DEBUG("option %s", line);
  // The same object as cfg: IPv6 goes off before anything reads it.
  if (absl::Status st = ApplyIpv6Probe(Ipv6SocketsWork(), &*parsed); !st.ok())
    return Fail(st);
  LOG_DEBUG("kernel %s: %s", KernelRelease(), Kernel().Describe());

  // Signals are read from a signalfd; block them before any child exists so
  // none is lost. A spawned child clears the mask before exec.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT})
    sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<netlink::HostTemplate> tmpl = ReadTemplate(cfg);
  if (!tmpl.ok()) return Fail(tmpl.status());

  std::optional<netlink::TapConfig> tap_cfg;
  netlink::TapConfig net;  // what the namespace gets, by netlink or DHCP/NDP
  {
    absl::StatusOr<netlink::TapConfig> built = netlink::BuildTapConfig(
        *tmpl, OverridesFor(cfg), tmpl->v4.has_value(), tmpl->v6.has_value());
    if (!built.ok()) return Fail(built.status());
    net = std::move(*built);
    net.mtu = cfg.mtu != 0 ? cfg.mtu : config::kDefaultMtu;
    net.mac = cfg.ns_mac;
    net.strict_check = StrictCheck();
    net.ll_nodad = tmpl->v6.has_value();
    if (cfg.config_net) tap_cfg = net;
  }

  absl::StatusOr<ns::Target> target = OpenTarget(cfg);
  if (!target.ok()) {
    std::string what = std::string(target.status().message());
    if (cfg.target == config::Target::kNetns) what = "--netns: " + what;
    return Fail(absl::Status(target.status().code(), what));
  }
  Run run(cfg, std::move(*target));
  RaiseFileLimit();  // the command (if any) was forked with its own
  if (!cfg.conf_path.empty()) {
    // Before the sandbox closes the file system.
    if (absl::Status st = BindControl(run); !st.ok()) return Fail(st);
  }
  switch (passt ? config::Target::kNetns : cfg.target) {
    case config::Target::kSpawn:
      LOG_DEBUG("namespace: new, for command pid %d", run.target.child);
      break;
    case config::Target::kNetns:
      if (passt) {
        LOG_DEBUG("passt: no namespace, frames over a UNIX stream socket");
        break;
      }
      LOG_DEBUG("namespace: %s%s%s", cfg.netns_path,
                cfg.userns_path.empty() ? "" : ", user namespace ",
                cfg.userns_path);
      break;
    case config::Target::kPid:
      LOG_DEBUG("namespace: of pid %d%s", cfg.target_pid,
                cfg.netns_only ? " (network only)" : "");
      break;
  }
  // The host's resolv.conf: read once, kept open for re-syncs.
  run.resolv_file = dhcp::ResolvConfFile::Open();
  run.resolv = run.resolv_file.Read();
  run.services = BuildServices(cfg, *tmpl, net, run.resolv);
  if (!cfg.pcap_file.empty()) {
    absl::StatusOr<std::unique_ptr<pcap::PcapWriter>> w =
        pcap::PcapWriter::Open(cfg.pcap_file);
    if (!w.ok()) return Fail(w.status());
    run.pcap = std::move(*w);
  }

  const std::string wanted_name = TapName(cfg, *tmpl);
  std::string tap_name;
  const bool v6_optional = tmpl->v6 && tmpl->v6->local && !cfg.ipv6_only;
  absl::Status v6_error;
  absl::Status ns_status =
      passt ? SetUpPasstTap(run)
            : ns::RunInNamespace(run.target.fds(), [&] {
                return SetUpInNamespace(run, wanted_name, tap_cfg, &tap_name,
                                        &net.ns_link_local6, v6_optional,
                                        &v6_error);
              });
  if (ns_status.ok() && !v6_error.ok()) {
    // As upstream in local mode: go on without IPv6 (the same object as
    // cfg, read again below).
    LOG_WARN("IPv6: the namespace refuses it (%s), disabling IPv6",
             std::string(v6_error.message()));
    parsed->ipv4_only = true;
    tmpl->v6.reset();
    net = FamilyPart(net, AF_INET);
    run.services = BuildServices(cfg, *tmpl, net, run.resolv);
  }
  if (!ns_status.ok()) {
    // A spawned child sees its go pipe close and exits; the tap (not
    // persistent) vanishes with our descriptor.
    return Fail(ns_status);
  }
  if (passt && cfg.fd < 0) {
    // Listening before we go to the background: once the parent exits,
    // QEMU can connect.
    absl::StatusOr<UniqueFd> listener = ListenPasst(cfg, &run.passt_path);
    if (!listener.ok()) return Fail(listener.status());
    run.passt_listen = std::move(*listener);
    PrintPasstHints(run.passt_path);
  } else if (passt) {
    LOG_DEBUG("passt: client on descriptor %d (--fd)", cfg.fd);
  } else if (cfg.splice_only) {
    LOG_DEBUG("--splice-only: no tap, loopback forwarding only%s",
              cfg.config_net ? " (--config-net has nothing to configure)" : "");
  } else {
    LOG_DEBUG("tap %s ready in the target namespace%s%s%s", tap_name,
              cfg.fd >= 0 ? " (from --fd)" : "",
              run.tap->can_offload() ? "" : ", no offloads",
              cfg.config_net ? ", configured" : "");
  }

  run.epoll.reset(epoll_create1(EPOLL_CLOEXEC));
  run.signals.reset(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!run.epoll.valid() || !run.signals.valid())
    return Fail(ErrnoToStatus(errno, "setting up the event loop"));
  // One timer, armed by the loop for the next deadline only.
  run.timer.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!run.timer.valid()) return Fail(ErrnoToStatus(errno, "timerfd_create"));
  // The one socket seam every handler calls through.
  run.sys = std::make_unique<sock::SystemSys>(
      run.epoll.get(), tmpl->v6 ? tmpl->v6->link.index : 0);
  if (!cfg.no_icmp) {
    icmp::IcmpConfig ic;
    SetCommonFlowConfig(cfg, *tmpl, net, run.services.our_mac, run.resolv, ic);
    run.icmp = std::make_unique<icmp::IcmpFlows>(
        ic, run.sys.get(), &*run.tap, flow::RandomSipKey(), &run.flows);
    run.icmp->Probe();
    run.tap->set_icmp(run.icmp.get());
  }
  if (!cfg.no_udp) {
    absl::Status st = SetUpUdp(run, *tmpl, net);
    if (!st.ok()) return Fail(st);
  }
  if (!cfg.no_tcp) {
    absl::Status st = SetUpTcp(run, *tmpl, net);
    if (!st.ok()) return Fail(st);
  }
  if (absl::Status st = SetUpAutoForwarding(run); !st.ok()) return Fail(st);
  if (run.control) {
    if (absl::Status st = StartControl(run); !st.ok()) return Fail(st);
  }
  // --splice-only: no tap, so no neighbours to answer for and none to watch.
  if (!cfg.splice_only) StartNeighbours(run, *tmpl, net, StrictCheck());
  // Ours: upstream copies the host's network once. Not with --splice-only
  // (no tap to give it to).
  if (cfg.follow_host && !cfg.splice_only)
    StartFollowing(run, *tmpl, net, tap_name, StrictCheck());
  absl::Status st =
      passt ? SetUpPasstLoop(run)
      : run.tap->fd() < 0
          ? absl::OkStatus()
          : AddToEpoll(run, Ref{Kind::kTap, 0, run.tap->fd()}, EPOLLIN);
  if (st.ok())
    st = AddToEpoll(run, Ref{Kind::kTimer, 0, run.timer.get()}, EPOLLIN);
  if (st.ok())
    st = AddToEpoll(run, Ref{Kind::kSignal, 0, run.signals.get()}, EPOLLIN);
  if (st.ok() && !cfg.no_netns_quit && !passt) {
    if (cfg.target == config::Target::kNetns) {
      absl::StatusOr<UniqueFd> w = ns::WatchNetnsFile(cfg.netns_path);
      if (w.ok()) {
        run.netns_watch = std::move(*w);
        st = AddToEpoll(run, Ref{Kind::kNetnsWatch, 0, run.netns_watch.get()},
                        EPOLLIN);
      } else {
        // Without the watch we would outlive the namespace: refuse.
        st = absl::Status(w.status().code(),
                          "watching " + cfg.netns_path +
                              " (or use "
                              "--no-netns-quit): " +
                              std::string(w.status().message()));
      }
    } else if (cfg.target == config::Target::kPid && !Kernel().pidfd_open) {
      // Before 5.3: the timer looks for the process once a second.
      run.poll_target_pid = true;
    } else if (cfg.target == config::Target::kPid) {
      absl::StatusOr<UniqueFd> w = ns::WatchPid(cfg.target_pid);
      if (w.ok()) {
        run.pid_watch = std::move(*w);
        st = AddToEpoll(run, Ref{Kind::kPidWatch, 0, run.pid_watch.get()},
                        EPOLLIN);
      } else {
        st = absl::Status(w.status().code(),
                          "watching process " + std::to_string(cfg.target_pid) +
                              " (or use --no-netns-quit): " +
                              std::string(w.status().message()));
      }
    }
  }
  if (!st.ok()) return Fail(st);

  // Everything is set up: only now go to the background (the parent's exit
  // status tells an engine that the namespace is ready), or write the PID
  // file in the foreground.
  const bool attach = passt || cfg.target != config::Target::kSpawn;
  UniqueFd ready;
  if (attach && !cfg.foreground) {
    absl::StatusOr<UniqueFd> r = Daemonize(run);
    st = r.status();
    // A signalfd reports readiness for the process that registered it with
    // epoll: the background process needs its own.
    if (st.ok()) {
      ready = std::move(*r);
      epoll_ctl(run.epoll.get(), EPOLL_CTL_DEL, run.signals.get(), nullptr);
      run.signals.reset(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
      st = run.signals.valid()
               ? AddToEpoll(run, Ref{Kind::kSignal, 0, run.signals.get()},
                            EPOLLIN)
               : ErrnoToStatus(errno, "signalfd");
    }
  } else {
    st = WritePidFile(run);
  }
  if (!st.ok()) return Fail(st);

  if (run.target.child > 0) {
    st = ns::Release(run.target);
    if (!st.ok()) return Fail(st);
  }
  st = EnterSandbox(run);
  if (!st.ok()) return Fail(st);
  SignalReady(std::move(ready));
  const int status = Loop(run);
  if (run.command_exited && !passt && cfg.fd < 0 && !cfg.splice_only) {
    // The command was PID 1 of its PID namespace: with it went every
    // process in the namespaces we made, so nothing can use our tap any
    // more. Its removal is left to the network namespace's teardown,
    // after we exited, rather than paid for in our close() of it
    // (device::LeaveToNamespace).
    if (const int err = device::LeaveToNamespace(run.tap->fd()); err != 0)
      LOG_DEBUG("tap: TUNSETPERSIST: %s", strerror(err));
  }
  for (const std::string& line : CounterLines(run)) LOG_DEBUG("%s", line);
  return status;
}

}  // namespace pasta::app
