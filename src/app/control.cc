#include "app/control.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "app/listeners.h"
#include "common/log.h"
#include "common/status.h"
#include "control/spec.h"
#include "fwd/limits.h"
#include "loop/epoll_ref.h"

namespace pasta::app {
namespace {

using control::ListenKey;
using control::ListenTarget;
using control::Pif;
using control::WireAddr;

IpAddr FromWire(const WireAddr& w) {
  IpAddr a;
  if (control::IsMappedV4(w)) {
    a.family = AF_INET;
    std::memcpy(a.bytes.data(), w.data() + 12, 4);
  } else {
    a.family = AF_INET6;
    std::memcpy(a.bytes.data(), w.data(), 16);
  }
  return a;
}

bool IsLoopback(const WireAddr& w) {
  const IpAddr a = FromWire(w);
  if (a.IsV4()) return a.bytes[0] == 127;
  static constexpr uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                         0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(a.bytes.data(), kLoop6, 16) == 0;
}

// The handlers' listeners, as the live rule set asks for them. A handle is
// the listener's index in its handler (the key says which handler).
class RunListeners : public control::ListenerOps {
 public:
  // Reads the descriptor limit and what is in use now: the sandbox will
  // hide /proc and refuse getrlimit later.
  explicit RunListeners(Run& run) : run_(run) {
    rlimit rl{};
    limit_ = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 0;
    const size_t free = fwd::FreeDescriptors();
    in_use_at_start_ = limit_ > free ? limit_ - free : 0;
  }

  absl::StatusOr<uint32_t> Open(const ListenKey& key,
                                const ListenTarget& target) override {
    const std::string ifname(
        reinterpret_cast<const char*>(key.ifname.data()),
        strnlen(reinterpret_cast<const char*>(key.ifname.data()),
                key.ifname.size()));
    uint32_t index = 0;
    absl::Status st;
    if (key.pif == Pif::kHost) {
      const IpAddr bind = FromWire(key.addr);
      const IpAddr to = FromWire(target.addr);
      const bool any = control::IsUnspecified(key.addr);
      const bool default_target = control::IsUnspecified(target.addr);
      if (run_.cfg.splice_only && !default_target) {
        return absl::FailedPreconditionError(
            "--splice-only: a target address is reached over the tap, and "
            "there is none");
      }
      if (key.proto == control::kProtoTcp && run_.tcp) {
        st = run_.tcp->AddListener(key.family, any ? nullptr : &bind, key.port,
                                   target.port, default_target ? nullptr : &to,
                                   ifname, &index);
      } else if (key.proto == control::kProtoUdp && run_.udp) {
        st = run_.udp->AddListener(key.family, any ? nullptr : &bind, key.port,
                                   target.port, default_target ? nullptr : &to,
                                   ifname, &index);
      } else {
        return absl::FailedPreconditionError("that protocol is turned off");
      }
    } else {
      // The namespace's loopback: on `lo`, or at 127.0.0.1 or ::1. A target
      // address has no meaning here (the host's loopback is the target), as
      // upstream.
      const bool on_lo = ifname == "lo" && control::IsUnspecified(key.addr);
      const bool at_lo = ifname.empty() && IsLoopback(key.addr);
      if (!on_lo && !at_lo) {
        return absl::UnimplementedError(
            "SPLICE rules listen on the namespace's loopback only (lo, "
            "127.0.0.1 or ::1)");
      }
      if (key.proto == control::kProtoTcp && run_.splice) {
        st = AddNamespaceListener(run_, key.family, key.port, target.port,
                                  &index);
      } else if (key.proto == control::kProtoUdp && run_.udp_relay) {
        st = AddRelayListener(run_, key.family, key.port, target.port, &index);
      } else {
        return absl::FailedPreconditionError(
            "forwarding from the namespace's loopback is off (--no-splice)");
      }
    }
    if (!st.ok()) return st;
    return index;
  }

  void Close(const ListenKey& key, uint32_t handle) override {
    if (key.pif == Pif::kHost) {
      if (key.proto == control::kProtoTcp) {
        run_.tcp->CloseListener(handle);
      } else {
        run_.udp->CloseListener(handle);
      }
    } else if (key.proto == control::kProtoTcp) {
      run_.splice->CloseNamespaceListener(handle);
    } else {
      run_.udp_relay->CloseListener(handle);
    }
  }

  void Retarget(const ListenKey& key, uint32_t handle,
                const ListenTarget& target) override {
    const IpAddr to = FromWire(target.addr);
    const IpAddr* to_ptr = control::IsUnspecified(target.addr) ? nullptr : &to;
    if (key.pif == Pif::kHost) {
      if (key.proto == control::kProtoTcp) {
        run_.tcp->RetargetListener(handle, target.port, to_ptr);
      } else {
        run_.udp->RetargetListener(handle, target.port, to_ptr);
      }
    } else if (key.proto == control::kProtoTcp) {
      run_.splice->RetargetNamespaceListener(handle, target.port);
    } else {
      run_.udp_relay->RetargetListener(handle, target.port);
    }
  }

  // An estimate, without /proc: what was in use at start, the rules'
  // listeners, and the flows' descriptors (a spliced flow holds two
  // sockets and two pipes).
  size_t FreeDescriptors() override {
    const flow::FlowTable& t = run_.flows;
    using flow::FlowKind;
    size_t used = in_use_at_start_ + run_.rules->listeners() +
                  t.count(FlowKind::kTcp) + 6 * t.count(FlowKind::kSplice) +
                  t.count(FlowKind::kUdp) + t.count(FlowKind::kIcmp) +
                  t.count(FlowKind::kRelay) + t.count(FlowKind::kRelayIn);
    return limit_ > used ? limit_ - used : 0;
  }

 private:
  Run& run_;
  size_t limit_ = 0;
  size_t in_use_at_start_ = 0;
};

// The capability bits of both tables.
uint32_t Caps(const Run& run) {
  const config::Config& cfg = run.cfg;
  uint32_t caps = control::kCapScan | control::kCapIfname;
  if (!cfg.ipv6_only) caps |= control::kCapIpv4;
  if (!cfg.ipv4_only) caps |= control::kCapIpv6;
  if (run.tcp) caps |= control::kCapTcp;
  if (run.udp) caps |= control::kCapUdp;
  return caps;
}

// After the rules changed: the automatic forwarding takes the ports of the
// scanned rules (at once: a scan runs now), and leaves the explicit rules'
// ports alone.
void UpdateAutoForwarding(Run& run) {
  fwd::AutoForwarding& a = run.autofwd;
  const control::LiveRules& r = *run.rules;
  const auto allow = [&r](std::unique_ptr<fwd::AutoForward>& dir, Pif pif,
                          uint8_t proto) {
    if (dir) dir->set_allowed(r.ScanPorts(pif, proto));
  };
  allow(a.dirs.tcp_in, Pif::kHost, control::kProtoTcp);
  allow(a.dirs.udp_in, Pif::kHost, control::kProtoUdp);
  allow(a.dirs.tcp_out, Pif::kSplice, control::kProtoTcp);
  allow(a.dirs.udp_out, Pif::kSplice, control::kProtoUdp);
  a.explicit_ports.tcp_in = r.ExplicitPorts(Pif::kHost, control::kProtoTcp);
  a.explicit_ports.udp_in = r.ExplicitPorts(Pif::kHost, control::kProtoUdp);
  a.explicit_ports.tcp_out = r.ExplicitPorts(Pif::kSplice, control::kProtoTcp);
  a.explicit_ports.udp_out = r.ExplicitPorts(Pif::kSplice, control::kProtoUdp);
  // Also with every direction off: what they held goes now.
  a.Scan();
}

}  // namespace

absl::Status BindControl(Run& run) {
  const config::Config& cfg = run.cfg;
  ASSIGN_OR_RETURN(run.control, control::Server::Bind(cfg.conf_path));
  if (chmod(cfg.conf_path.c_str(), 0600) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("-c ", cfg.conf_path, ": chmod"));
  }
  if (cfg.runas_set &&
      chown(cfg.conf_path.c_str(), cfg.runas_uid, cfg.runas_gid) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("-c ", cfg.conf_path, ": chown"));
  }
  return absl::OkStatus();
}

absl::Status StartControl(Run& run) {
  const config::Config& cfg = run.cfg;
  const uint32_t caps = Caps(run);
  std::vector<control::Table> tables = {control::Table{Pif::kHost, caps, {}},
                                        control::Table{Pif::kSplice, caps, {}}};
  // The defaults where an option wasn't given: `auto`, as pasta's.
  std::vector<std::pair<char, std::string>> options = cfg.port_options;
  for (const char o : {'t', 'u', 'T', 'U'}) {
    bool given = false;
    for (const auto& [option, text] : options) given |= option == o;
    if (!given) options.emplace_back(o, "auto");
  }
  const std::pair<uint16_t, uint16_t> ephemeral = fwd::EphemeralPorts();
  uint64_t sockets[2] = {0, 0};
  for (const auto& [option, text] : options) {
    const bool outbound = option == 'T' || option == 'U';
    control::Table& table = tables[outbound ? 1 : 0];
    control::SpecResult spec;
    absl::Status st = control::ParseSpec(text, option, caps, ephemeral, &spec);
    if (!st.ok()) {
      // The command line took it: a form the rules can't carry (or a
      // protocol turned off). Listed without it; forwarding is as given.
      LOG_DEBUG("control: -%c %s has no rule in the tables: %s", option, text,
                std::string(st.message()));
      continue;
    }
    for (const control::Rule& rule : spec.rules) {
      st = control::AddRule(table, rule, sockets[outbound ? 1 : 0]);
      if (!st.ok()) {
        LOG_DEBUG("control: -%c %s: %s", option, text,
                  std::string(st.message()));
      }
    }
  }
  run.control_ops = std::make_unique<RunListeners>(run);
  const bool v4 = !cfg.ipv6_only, v6 = !cfg.ipv4_only;
  std::vector<control::Table> empty = tables;
  for (control::Table& t : empty) t.rules.clear();
  run.rules = std::make_unique<control::LiveRules>(
      std::move(empty), run.control_ops.get(), v4, v6);
  RETURN_IF_ERROR(run.rules->Apply(tables));
  UpdateAutoForwarding(run);
  LOG_DEBUG("control: %zu listeners from the command line's rules",
            run.rules->listeners());

  run.control->Start(control::ServerHooks{
      [&run] { return run.rules->tables(); },
      [&run](const std::vector<control::Table>& next) {
        RETURN_IF_ERROR(run.rules->Apply(next));
        UpdateAutoForwarding(run);
        return absl::OkStatus();
      },
      [&run](int fd, uint32_t events, bool add, bool listener) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = loop::Ref{listener ? loop::Kind::kControlListen
                                         : loop::Kind::kControlSession,
                                0, fd}
                          .Pack();
        if (epoll_ctl(run.epoll.get(), add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd,
                      &ev) != 0) {
          LOG_WARN("control: epoll_ctl: %s", std::strerror(errno));
        }
      }});
  return absl::OkStatus();
}

}  // namespace pasta::app
