// The --help text. Our own wording; option names and defaults follow
// upstream pasta. Keep it in step with kOptionDefs in config.cc (a unit test
// checks that every long option appears here).
#include "config/config.h"

namespace pasta::config {

const char* UsageText() {
  return R"(Usage: pasta [OPTION]... [COMMAND [ARG]...]
       pasta [OPTION]... PID
       pasta [OPTION]... --netns [PATH|NAME]

Give a network namespace a tap interface whose traffic is carried by ordinary
sockets on the host. With no PID and no --netns, start COMMAND (default: your
login shell) in new user and network namespaces.

Logging and process:
  -d, --debug              log debugging messages too
      --trace              log every packet-level event (implies --debug)
  -q, --quiet              log warnings and errors only
  -f, --foreground         stay in the foreground (default: with PID or
                           --netns, go to the background once connected)
  -e, --stderr             log to standard error, with -l too
  -l, --log-file PATH      log to PATH, not to standard error or syslog
      --log-size BYTES     cap the log file at BYTES (default: 1 MiB)
      --runas UID|UID:GID  user (and group) to run as once set up, numbers
                           or names (default: stay the user we started as;
                           as root, keep only the capabilities we need)
  -P, --pid FILE           write our process ID to FILE
  -p, --pcap FILE          record every frame on the tap to FILE (pcap format)
  -F, --fd FD              use FD, an already opened tap device, as the tap
  -c, --conf-path PATH     path of the run-time configuration socket
      --stats DELAY        print the counters to stderr at most every
                           DELAY seconds while they change (needs
                           --foreground)
      --chroot-fallback    if pivot_root() fails, chroot() into the empty
                           file system instead
      --repair-path PATH   accepted for compatibility (only 'none')
  -h, --help               print this text and exit
      --version            print the version and exit

Namespace:
      --netns PATH|NAME    connect an existing network namespace: a path, or
                           a NAME under /run/netns
      --userns NSPATH      user namespace to join with --netns or PID
                           (default: none for --netns, the PID's for PID)
      --netns-only         join the network namespace only, no user namespace
      --no-netns-quit      keep running when the namespace goes away
                           (default: quit when its file is deleted)
  -I, --ns-ifname NAME     name of the tap interface in the namespace
                           (default: the name of the host's template interface,
                           tap0 in local mode)
      --ns-mac-addr ADDR   MAC address of the tap interface in the namespace
                           (default: chosen by the kernel)
      --config-net         set up the tap in the namespace: link up, MTU,
                           addresses, routes (default: leave it down)
      --no-copy-routes     with --config-net, don't copy the host's routes
      --no-copy-addrs      with --config-net, don't copy the host's addresses
      --no-follow-host     keep the host's addresses and routes as they were
                           at start-up (default: follow their changes)

Addresses and routes:
  -m, --mtu MTU            MTU of the tap, 0 to not advertise one
                           (default: 65520)
  -a, --address ADDR       address to give the namespace, IPv4 and/or IPv6,
                           optionally ADDR/PREFIX (default: the host's; in
                           local mode 169.254.2.1/16, see the manual)
  -n, --netmask MASK       IPv4 netmask, dot-decimal or prefix length
                           (default: the host's)
  -M, --mac-addr ADDR      MAC address we use on the tap side (default:
                           the host interface's, else 9a:55:9a:55:9a:55)
  -g, --gateway ADDR       gateway address, IPv4 and/or IPv6
                           (default: the host's default gateway; in local
                           mode 169.254.2.2 and fe80::1)
  -i, --interface NAME     host interface to copy addresses and routes from
                           (default: the one with the default route, else the
                           first with a route)
  -o, --outbound ADDR      source address for outbound connections, one per
                           family (default: chosen by the host)
      --outbound-if4 NAME  bind outbound IPv4 sockets to interface NAME
      --outbound-if6 NAME  bind outbound IPv6 sockets to interface NAME
  -4, --ipv4-only          use IPv4 only (default: both where available)
  -6, --ipv6-only          use IPv6 only
      --map-host-loopback ADDR|none
                           address by which the namespace reaches the host's
                           loopback (default: the gateway, unless --no-map-gw)
      --map-guest-addr ADDR|none
                           address by which the namespace reaches the host's
                           own address (default: none)
      --no-map-gw          don't map the gateway address to the host
      --no-splice          don't shortcut loopback connections with splice
      --splice-only        no tap: only forward between the loopbacks
      --host-lo-to-ns-lo   deliver host loopback connections to the
                           namespace's loopback
      --freebind           let -t/-u bind addresses the host doesn't have
                           (yet)

DNS and DHCP:
  -D, --dns ADDR           DNS server to advertise, repeatable; 'none' or ''
                           advertises none (default: from /etc/resolv.conf)
  -S, --search LIST        space-separated search domains; 'none' or ''
                           advertises none (default: from /etc/resolv.conf)
  -H, --hostname NAME      host name to hand out by DHCP, and of the command's
                           namespace (default: pasta- and the host's name)
      --fqdn NAME          fully qualified name to hand out by DHCP/DHCPv6
      --dhcp-dns           advertise DNS servers in router advertisements
                           too; DHCP/DHCPv6 always do (default: off)
      --dhcp-search        advertise the search list in router
                           advertisements too; DHCP/DHCPv6 always do
                           (default: off)
      --no-dhcp-dns        undo --dhcp-dns (the default)
      --no-dhcp-search     undo --dhcp-search (the default)
      --dns-forward ADDR   forward DNS queries to ADDR to the host's resolver,
                           one per family (default: none)
      --dns-host ADDR      host resolver to send forwarded queries to, one
                           per family (default: the first -D address, else
                           the first in /etc/resolv.conf)

Protocols:
      --no-tcp             don't handle TCP
      --no-udp             don't handle UDP
      --no-icmp            don't handle ICMP/ICMPv6 echo
      --no-dhcp            don't answer DHCP
      --no-ndp             don't answer NDP
      --no-dhcpv6          don't answer DHCPv6
      --no-ra              don't send router advertisements

Port forwarding (default: auto for all four):
  -t, --tcp-ports SPEC     TCP ports on the host to forward to the namespace
  -u, --udp-ports SPEC     UDP ports on the host to forward to the namespace
  -T, --tcp-ns SPEC        TCP ports in the namespace to forward to the host
  -U, --udp-ns SPEC        UDP ports in the namespace to forward to the host
  SPEC is 'none', 'auto' (follow what is bound on the other side), 'all', or
  a comma-separated list of PORT, FIRST-LAST, PORT:TO, FIRST-LAST:TO-TOLAST and
  exclusions ~PORT, ~FIRST-LAST, optionally after ADDR/, %IFNAME/ or
  ADDR%IFNAME/ (-t and -u only; ADDR '*' is every address, as none).
  Options repeat: -t 22 -t 80.
  A list of exclusions only, like ~25, means every port except those.
  PORT:TOADDR/TO or FIRST-LAST:TOADDR (-t and -u, after an ADDR/ of the same
  family) forwards to TOADDR in the namespace: -t 0.0.0.0/5000:192.0.2.5/6000
  'auto' among the items limits auto to their ports: -t 8000-8010,auto
)";
}

const char* PasstUsageText() {
  return R"(Usage: passt [OPTION]...

Give a virtual machine networking through a UNIX stream socket: QEMU (7.2 and
later, -netdev stream) or libvirt connects and exchanges Ethernet frames, each
preceded by its length as a 32-bit big-endian number; the guest's traffic is
carried by ordinary sockets on the host. The guest gets the host's addresses,
routes and DNS servers by DHCP, DHCPv6 and NDP.

Socket and process:
  -s, --socket-path PATH   listen on PATH (default: the first free
                           /tmp/passt_N.socket, N from 1)
  -F, --fd FD              use FD, an already connected stream socket, and
                           exit when it closes
  -1, --one-off            exit when the first client disconnects (default:
                           wait for the next one)
  -f, --foreground         stay in the foreground (default: go to the
                           background once the socket listens)
  -P, --pid FILE           write our process ID to FILE
  -d, --debug              log debugging messages too
      --trace              log every frame (implies --debug)
  -q, --quiet              log warnings and errors only
  -e, --stderr             log to standard error, with -l too
  -l, --log-file PATH      log to PATH, not to standard error or syslog
      --log-size BYTES     cap the log file at BYTES (default: 1 MiB)
      --runas UID|UID:GID  user (and group) to run as once set up
  -p, --pcap FILE          record every frame to FILE (pcap format)
  -h, --help               print this text and exit
      --version            print the version and exit

Addresses and DNS (as pasta's; see passt(1) and pasta(1)):
  -m, --mtu MTU            MTU to advertise, 0 for none (default: 65520)
  -a, --address ADDR       address to give the guest (default: the host's)
  -n, --netmask MASK       IPv4 netmask (default: the host's)
  -M, --mac-addr ADDR      our MAC address on the guest's link
  -g, --gateway ADDR       gateway address (default: the host's gateway)
  -i, --interface NAME     host interface to copy addresses and routes from
  -o, --outbound ADDR      source address for outbound connections
      --outbound-if4 NAME, --outbound-if6 NAME
                           bind outbound sockets to interface NAME
  -4, --ipv4-only          use IPv4 only
  -6, --ipv6-only          use IPv6 only
      --map-host-loopback ADDR|none, --map-guest-addr ADDR|none,
      --no-map-gw          as in pasta
      --freebind           let -t/-u bind addresses the host doesn't have
  -D, --dns ADDR           DNS server to hand out, repeatable
  -S, --search LIST        search domains to hand out
  -H, --hostname NAME      host name to hand out by DHCP
      --fqdn NAME          fully qualified name to hand out by DHCP/DHCPv6
      --no-dhcp-dns        no DNS servers in router advertisements
      --no-dhcp-search     no search list in router advertisements
      --dns-forward ADDR   forward DNS queries to ADDR to the host's resolver
      --dns-host ADDR      host resolver to send forwarded queries to
      --no-tcp, --no-udp, --no-icmp, --no-dhcp, --no-ndp, --no-dhcpv6,
      --no-ra              turn that protocol or service off

Port forwarding (default: none):
  -t, --tcp-ports SPEC     TCP ports on the host to forward to the guest
  -u, --udp-ports SPEC     UDP ports on the host to forward to the guest
  SPEC is 'none', 'all' (every port but the exclusions), or a list as in
  pasta: PORT, FIRST-LAST, PORT:TO, ~PORT, optionally after ADDR/ or %IFNAME/.
)";
}

}  // namespace pasta::config
