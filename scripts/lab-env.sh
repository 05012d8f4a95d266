# Shared by the lab tests, the demo and the benchmarks (source it; needs
# root): the hermetic two-namespace lab and the unprivileged-user helpers.
#
#   server netns  eth0 198.51.100.1/24 2001:db8:1::1/64
#        | veth
#   host netns    eth0 198.51.100.2/24 2001:db8:1::2/64, default routes via the
#                 server: pasta runs here, never in the machine's own netns.
#
# Only documentation prefixes; nothing is sent beyond these namespaces.

# lab_create HOST_NS SERVER_NS: makes both namespaces and the veth between
# them, addresses, default routes; waits for carrier (routes of a link
# without it are flagged link-down); allows ping sockets in the host netns
# as systemd does on Debian hosts (a new netns starts with "1 0": nobody).
lab_create() {
  local h=$1 s=$2 n
  ip netns add "$s" || return 1
  ip netns add "$h" || return 1
  ip -n "$h" link add eth0 type veth peer name eth0 netns "$s" || return 1
  ip -n "$s" addr add 198.51.100.1/24 dev eth0
  ip -n "$s" addr add 2001:db8:1::1/64 dev eth0 nodad
  ip -n "$h" addr add 198.51.100.2/24 dev eth0
  ip -n "$h" addr add 2001:db8:1::2/64 dev eth0 nodad
  for n in "$s" "$h"; do
    ip -n "$n" link set lo up
    ip -n "$n" link set eth0 up
  done
  ip netns exec "$h" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
  ip -n "$h" route add default via 198.51.100.1
  ip -n "$h" -6 route add default via 2001:db8:1::1
  lab_wait_carrier "$h" eth0
}

# lab_wait_carrier NETNS IFNAME: waits (at most 5 s) for carrier.
lab_wait_carrier() {
  local i
  for ((i = 0; i < 50; i++)); do
    [ "$(ip netns exec "$1" cat /sys/class/net/"$2"/carrier 2>/dev/null)" = 1 ] && return 0
    sleep 0.1
  done
  echo "lab: no carrier on $2 in $1" >&2
  return 1
}

# lab_private_tun DIR: a tun node of mode 0666 at DIR/tun. /dev/net/tun is
# 0600 here, so an unprivileged user needs its own.
lab_private_tun() {
  chmod 755 "$1"
  mknod "$1/tun" c 10 200 && chmod 666 "$1/tun"
}

# lab_as_nobody NETNS TUN CMD...: runs CMD in NETNS as nobody, with TUN
# bind-mounted over /dev/net/tun in `ip netns exec`'s private mount
# namespace (so the machine's /dev is untouched).
lab_as_nobody() {
  local ns=$1 tun=$2
  shift 2
  ip netns exec "$ns" sh -c 'mount --bind "$0" /dev/net/tun && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' \
    "$tun" "$@"
}
