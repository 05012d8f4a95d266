#!/usr/bin/env bash
# UDP through the tap: every datagram of mixed sizes echoed intact (IPv4 and
# IPv6), two clients to one destination never see each other's replies, a
# closed port gives ECONNREFUSED at once (ICMP errors relayed), DNS through
# --dns-forward reaches the host's resolver, and -u forwards a host port into
# the namespace.
. "$(dirname "$0")/lib.sh"
lab_up
TOOL="$(cd "$(dirname "$0")" && pwd)/udp_tool.py"

ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$SERVER_NS" addr add 2001:db8:2::1/128 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$HOST_NS" -6 route add 2001:db8:2::/64 via 2001:db8:1::1
server() { ip netns exec "$SERVER_NS" "$@"; }

server timeout 60 "$TOOL" echo 203.0.113.1 7777 50 >/dev/null &
LAB_PIDS+=($!)
server timeout 60 "$TOOL" echo 2001:db8:2::1 7777 50 >/dev/null &
LAB_PIDS+=($!)
sleep 0.5
run() { in_host timeout 90 "$PASTA" --config-net "$@"; }

out=$(run -- "$TOOL" client 203.0.113.1 7777 10000 2>&1)
check "IPv4: 10000 datagrams echoed intact" test $? = 0
echo "   $out"
out=$(run -- "$TOOL" client 2001:db8:2::1 7777 10000 2>&1)
check "IPv6: 10000 datagrams echoed intact" test $? = 0
echo "   $out"
out=$(run -- "$TOOL" pair 203.0.113.1 7777 500 2>&1)
check "two clients, one destination: replies never cross" test $? = 0
echo "   $out"
out=$(run -- "$TOOL" refused 203.0.113.1 9 2>&1)
check "closed port: ECONNREFUSED (IPv4)" test $? = 0
echo "   $out"
out=$(run -- "$TOOL" refused 2001:db8:2::1 9 2>&1)
check "closed port: ECONNREFUSED (IPv6)" test $? = 0
echo "   $out"

# --map-guest-addr: datagrams to the mapped address reach a server bound to
# the host's own address (198.51.100.2, which the namespace's copies).
in_host timeout 30 "$TOOL" echo 198.51.100.2 7778 20 >/dev/null &
LAB_PIDS+=($!)
sleep 0.5
out=$(run --map-guest-addr 169.254.1.2 -- "$TOOL" client 169.254.1.2 7778 100 2>&1)
check "--map-guest-addr: the host's own address answers" test $? = 0
echo "   $out"

# DNS: dnsmasq in the server netns is the host netns' resolver; the
# namespace asks the --dns-forward address.
server dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
  --listen-address=198.51.100.1 --port=53 --pid-file="$LAB_TMP/dnsmasq.pid" \
  --address=/pasta.test/203.0.113.99 --log-facility=- 2>/dev/null &
LAB_PIDS+=($!)
echo "nameserver 198.51.100.1" >"$LAB_TMP/resolv.conf"
sleep 0.5
# pasta reads the host's resolv.conf: give the host netns its own, as
# `ip netns exec` does with /etc/netns/NAME, in a private mount namespace.
out=$(in_host unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$LAB_TMP/resolv.conf" \
  timeout 30 "$PASTA" --config-net --dns-forward 169.254.1.1 -- busybox nslookup pasta.test 169.254.1.1 2>&1)
check "--dns-forward: the name resolves through the host's resolver" contains "$out" "203.0.113.99"
echo "$out" | sed 's/^/   /' | head -6

# -u: a host port forwarded into the namespace, replies back to the sender.
in_host timeout 30 "$PASTA" --config-net -u 5353 -- "$TOOL" echo 198.51.100.2 5353 6 >/dev/null &
LAB_PIDS+=($!)
sleep 1
out=$(server timeout 20 "$TOOL" client 198.51.100.2 5353 200 2>&1)
check "-u 5353: datagrams to the host reach the namespace and come back" test $? = 0
echo "   $out"
lab_finish
