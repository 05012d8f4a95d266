#include "fwd/auto_scan.h"

namespace pasta::fwd {

void ScanOnce(const ScanTables& now, const ExplicitSets& explicit_ports,
              AutoDirections& dirs) {
  const PortSet none;
  const auto active =
      [&none](const std::unique_ptr<AutoForward>& f) -> const PortSet& {
    return f ? f->active() : none;
  };
  const PortSet tcp_in_before = active(dirs.tcp_in);
  const PortSet udp_in_before = active(dirs.udp_in);
  if (dirs.tcp_in) {
    dirs.tcp_in->Update(now.ns_tcp,
                        explicit_ports.tcp_out | active(dirs.tcp_out));
  }
  if (dirs.udp_in) {
    const PortSet ours = explicit_ports.udp_out | active(dirs.udp_out);
    const PortSet tcp =
        now.ns_tcp & ~(explicit_ports.tcp_out | active(dirs.tcp_out));
    dirs.udp_in->Update(now.ns_udp | tcp, ours);
  }
  const PortSet tcp_in = active(dirs.tcp_in) | tcp_in_before;
  const PortSet udp_in = active(dirs.udp_in) | udp_in_before;
  if (dirs.tcp_out)
    dirs.tcp_out->Update(now.host_tcp, explicit_ports.tcp_in | tcp_in);
  if (dirs.udp_out) {
    const PortSet ours = explicit_ports.udp_in | udp_in;
    const PortSet tcp = now.host_tcp & ~(explicit_ports.tcp_in | tcp_in);
    dirs.udp_out->Update(now.host_udp | tcp, ours);
  }
}

void AutoForwarding::Scan() {
  // Each table is read once per scan, in this order.
  const ScanTables now{ns_tcp.Read(), ns_udp.Read(), host_tcp.Read(),
                       host_udp.Read()};
  ScanOnce(now, explicit_ports, dirs);
}

}  // namespace pasta::fwd
