#!/usr/bin/env bash
# The namespace finds a complete little network on the tap: ARP and NDP
# answers, DHCP (busybox udhcpc) and router advertisements (SLAAC) hand out
# the copied configuration, ping works to a server and to the gateway (which
# is the host itself), and --pcap records it all.
. "$(dirname "$0")/lib.sh"
lab_up

# A server address beyond the gateway, per family.
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$SERVER_NS" addr add 2001:db8:2::1/128 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$HOST_NS" -6 route add 2001:db8:2::/64 via 2001:db8:1::1
host_mac=$(ip -n "$HOST_NS" -br link show eth0 | awk '{print $3}')

# --- DHCP: udhcpc on an unconfigured tap ------------------------------------
cat >"$LAB_TMP/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] && echo "ip=$ip mask=$mask subnet=$subnet router=$router dns=$dns mtu=$mtu search=$search domain=$domain lease=$lease" > "$UDHCPC_OUT"
exit 0
SCRIPT
chmod +x "$LAB_TMP/udhcpc.sh"
UDHCPC_OUT="$LAB_TMP/lease" in_host timeout 20 "$PASTA" -D 203.0.113.53 -S example.test -m 9000 -- \
  sh -c 'ip link set eth0 up && busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 -O mtu -O search -s "$0"' \
  "$LAB_TMP/udhcpc.sh" >"$LAB_TMP/udhcpc.log" 2>&1
rc=$?
lease=$(cat "$LAB_TMP/lease" 2>/dev/null)
echo "   lease: $lease"
check "udhcpc gets a lease" test $rc = 0
check "DHCP: the template's address" contains "$lease" "ip=198.51.100.2 "
check "DHCP: the prefix length" contains "$lease" "mask=24"
check "DHCP: the router" contains "$lease" "router=198.51.100.1 "
check "DHCP: the DNS server from -D" contains "$lease" "dns=203.0.113.53 "
check "DHCP: the MTU" contains "$lease" "mtu=9000 "
check "DHCP: the search list from -S" contains "$lease" "search=example.test"
out=$(in_host timeout 20 "$PASTA" --no-dhcp -- sh -c 'ip link set eth0 up && busybox udhcpc -i eth0 -f -q -n -t 2 -T 1 -s /bin/true' 2>&1)
check "--no-dhcp: no lease" test $? != 0

# --- NDP: router advertisements give SLAAC and a default route -------------
out=$(in_host timeout 20 "$PASTA" -- sh -c '
  ip link set eth0 up
  for i in $(seq 80); do
    ip -6 route show default | grep -q via && ip -6 addr show dev eth0 scope global | grep -q 2001:db8:1: && break
    sleep 0.1
  done
  ip -6 addr show dev eth0 scope global; ip -6 route show default')
check "RA: a SLAAC address in the copied prefix" grep -q "inet6 2001:db8:1:0:.*/64 scope global" <<<"$out"
check "RA: a default route via a link-local router" grep -q "default via fe80::.* dev eth0 proto ra" <<<"$out"
out=$(in_host timeout 20 "$PASTA" --no-ra -- sh -c 'ip link set eth0 up; sleep 2.5; ip -6 route show default')
check "--no-ra: no default route" lacks "$out" "default"

# --- ICMP echo ---------------------------------------------------------------
run_ping() { in_host timeout 30 "$PASTA" --config-net "$@"; }
out=$(run_ping -- ping -c 3 -i 0.2 -W 2 203.0.113.1 2>&1)
check "ping the server (IPv4)" contains "$out" "3 received"
out=$(run_ping -- ping -6 -c 3 -i 0.2 -W 2 2001:db8:2::1 2>&1)
check "ping the server (IPv6)" contains "$out" "3 received"
out=$(run_ping -- sh -c 'ping -c 1 -W 2 203.0.113.1 >/dev/null; ip neigh show 198.51.100.1')
check "ARP: the gateway resolves to our MAC" contains "$out" "lladdr $host_mac"
# The gateway is the host: with the server ignoring pings, only the host can
# answer for it; with --no-map-gw the ping goes to the real gateway, silent.
ip netns exec "$SERVER_NS" sysctl -qw net.ipv4.icmp_echo_ignore_all=1 net.ipv6.icmp.echo_ignore_all=1
out=$(run_ping -- ping -c 3 -i 0.2 -W 2 198.51.100.1 2>&1)
check "ping the gateway: answered by the host (IPv4)" contains "$out" "3 received"
out=$(run_ping -- ping -6 -c 3 -i 0.2 -W 2 2001:db8:1::1 2>&1)
check "ping the gateway: answered by the host (IPv6)" contains "$out" "3 received"
# --map-guest-addr: an address that reaches the host's own address (the one
# the namespace's address copies), as podman uses for host.containers.internal.
out=$(run_ping --map-guest-addr 169.254.1.2 -- ping -c 3 -i 0.2 -W 2 169.254.1.2 2>&1)
check "--map-guest-addr: ping reaches the host's own address" contains "$out" "3 received"
out=$(run_ping -- ping -c 2 -i 0.2 -W 1 169.254.1.2 2>&1)
check "without --map-guest-addr: nothing there" contains "$out" " 0 received"
out=$(run_ping --no-map-gw -- ping -c 2 -i 0.2 -W 1 198.51.100.1 2>&1)
check "--no-map-gw: the real gateway (silent here)" contains "$out" " 0 received"
out=$(run_ping --no-icmp -- ping -c 2 -i 0.2 -W 1 203.0.113.1 2>&1)
ip netns exec "$SERVER_NS" sysctl -qw net.ipv4.icmp_echo_ignore_all=0 net.ipv6.icmp.echo_ignore_all=0
check "--no-icmp: no echo" contains "$out" " 0 received"

# --- --pcap -----------------------------------------------------------------
run_ping --pcap "$LAB_TMP/cap.pcap" -- ping -c 2 -i 0.2 -W 2 203.0.113.1 >/dev/null 2>&1
dump=$(tcpdump -nn -r "$LAB_TMP/cap.pcap" 2>&1)
rc=$?
echo "$dump" | sed 's/^/   pcap: /' | head -8
check "pcap: tcpdump reads it" test $rc = 0
check "pcap: echo requests" contains "$dump" "198.51.100.2 > 203.0.113.1: ICMP echo request"
check "pcap: echo replies" contains "$dump" "203.0.113.1 > 198.51.100.2: ICMP echo reply"
check "pcap: ARP both ways" contains "$dump" "ARP, Reply 198.51.100.1 is-at"
lab_finish
