// Automatic forwarding's scan: the four directions (-t and -u auto forward
// the ports bound in the namespace to the host, -T and -U auto the host's
// to the namespace), and which ports each one is given at each scan so that
// no port is forwarded back the way it came.
//
// The caller reads the tables (ProcNetTables, opened in each namespace) and
// makes the directions it wants (MakeAutoForward()); ScanOnce() holds the
// rules, over port sets only. Control plane: a scan costs a few passes over
// port sets (8 KiB each, on the stack) and the callbacks of the ports that
// changed.
#pragma once

#include <memory>

#include "fwd/auto_forward.h"
#include "fwd/proc_net.h"

namespace pasta::fwd {

// The ports bound now, as one scan read them.
struct ScanTables {
  PortSet ns_tcp{}, ns_udp{};      // in the namespace
  PortSet host_tcp{}, host_udp{};  // on the host
};

// The ports each list gives as numbers (ExplicitPorts()): they have
// listeners of their own, opened at start-up.
struct ExplicitSets {
  PortSet tcp_in, udp_in;    // -t, -u: listening on the host
  PortSet tcp_out, udp_out;  // -T, -U: listening in the namespace
};

// The directions set up; null where the list is not `auto`.
struct AutoDirections {
  std::unique_ptr<AutoForward> tcp_in, udp_in;    // -t, -u auto
  std::unique_ptr<AutoForward> tcp_out, udp_out;  // -T, -U auto
};

// One scan: updates each direction present, the inward ones (-t, -u) first,
// from `now`. The rules:
// - A port our own listeners hold on the scanned side (forwarded the other
//   way, by a number or by auto) is never forwarded back: that would loop.
// - As upstream, UDP auto forwarding also takes the ports where TCP listens
//   (tools like iperf3 use both), except TCP ports that are ours.
// - Each direction sees the other's state as just updated, so the first
//   direction to take a port keeps it.
// - The tables are read before any update, so the outward directions also
//   count as ours what the inward ones held then: a listener -t auto closes
//   in this scan is still in the host's table, and taking its port for -T
//   would bind it in the namespace, for a scan, under the feet of the server
//   that just left it.
void ScanOnce(const ScanTables& now, const ExplicitSets& explicit_ports,
              AutoDirections& dirs);

// Everything automatic forwarding holds: the tables it reads (left closed
// where no direction needs them), the directions and the explicit ports.
struct AutoForwarding {
  ProcNetTables ns_tcp, ns_udp, host_tcp, host_udp;
  AutoDirections dirs;
  ExplicitSets explicit_ports;

  // Reads each table once and runs ScanOnce().
  void Scan();
  // Whether any direction is set up and may forward a port: then the loop
  // scans once a second.
  bool on() const {
    for (const auto* d : {&dirs.tcp_in, &dirs.udp_in, &dirs.tcp_out,
                          &dirs.udp_out}) {
      if (*d && (*d)->enabled()) return true;
    }
    return false;
  }
};

}  // namespace pasta::fwd
