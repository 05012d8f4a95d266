#!/usr/bin/env bash
# --config-net copies the template's addresses and routes, and only those:
# routes of other interfaces (one without carrier, whose routes are flagged
# link-down, and one that is up), local-table routes and foreign multipath
# next hops stay out. Run with NETLINK_GET_STRICT_CHK on and off: off, this
# kernel answers route dumps like a pre-4.20 one (every route of every table
# and interface), and only our own filtering keeps the result right.
. "$(dirname "$0")/lib.sh"
lab_up

H() { ip -n "$HOST_NS" "$@"; }
# A link with no carrier: a veth whose peer stays down (no dummy driver here).
H link add nc0 type veth peer name nc1
H addr add 203.0.113.13/25 dev nc0
H addr add 2001:db8:3::13/64 dev nc0 nodad
H link set nc0 up
# A second link, up, with its own subnet.
H link add sv0 type veth peer name sv1
H addr add 203.0.113.130/25 dev sv0
H addr add 2001:db8:4::130/64 dev sv0 nodad
H link set sv0 up
H link set sv1 up
wait_carrier "$HOST_NS" sv0
# Template routes: a default via a gateway reachable only through a more
# specific route (so the copy needs two passes), a route via that gateway, a
# multipath route with one next hop on the template and one elsewhere, an
# IPv6 route via the IPv6 gateway.
H route del default
H route add 192.0.2.254/32 dev eth0
H route add default via 192.0.2.254 dev eth0
H route add 192.0.2.128/25 via 192.0.2.254 dev eth0
H route add 198.51.100.128/25 nexthop via 198.51.100.1 dev eth0 nexthop via 203.0.113.129 dev sv0
H -6 route add 2001:db8:2::/64 via 2001:db8:1::1 dev eth0
# Routes on the other links.
H route add 192.0.2.64/26 via 203.0.113.129 dev sv0

host_routes=$(H route show table all)
check "lab: host has link-down routes" contains "$host_routes" "linkdown"
check "lab: host has local-table broadcast routes" contains "$host_routes" "broadcast 203.0.113.127 dev nc0 table local"

for mode in strict legacy; do
  if [ $mode = legacy ]; then export PASTA_NETLINK_NO_STRICT_CHK=1; else unset PASTA_NETLINK_NO_STRICT_CHK; fi
  run() { in_host timeout 20 "$PASTA" --config-net "$@"; }
  out=$(run -- sh -c 'ip route show table main; echo ==; ip -6 route show table main; echo ==; ip route show table all')
  rc=$?
  check "$mode: --config-net succeeds" test $rc = 0
  v4=$(awk 'BEGIN{RS="=="} NR==1' <<<"$out")
  v6=$(awk 'BEGIN{RS="=="} NR==2' <<<"$out")
  all=$(awk 'BEGIN{RS="=="} NR==3' <<<"$out")
  check "$mode: default via the dependent gateway" contains "$v4" "default via 192.0.2.254 dev eth0"
  check "$mode: host route to the gateway" contains "$v4" "192.0.2.254 dev eth0"
  check "$mode: route via the gateway" contains "$v4" "192.0.2.128/25 via 192.0.2.254 dev eth0"
  check "$mode: multipath reduced to the template's next hop" contains "$v4" "198.51.100.128/25 via 198.51.100.1 dev eth0"
  check "$mode: no next hop of another interface" lacks "$v4" "203.0.113.129"
  check "$mode: no route of the no-carrier link" lacks "$all" "203.0.113.0/25"
  check "$mode: no route of the second link" lacks "$all" "203.0.113.128/25"
  check "$mode: no route via the second link" lacks "$all" "192.0.2.64/26"
  check "$mode: no foreign local-table routes" lacks "$all" "203.0.113"
  check "$mode: nothing link-down" lacks "$all" "linkdown"
  check "$mode: IPv6 route via the gateway" contains "$v6" "2001:db8:2::/64 via 2001:db8:1::1 dev eth0"
  check "$mode: IPv6 default" contains "$v6" "default via 2001:db8:1::1 dev eth0"
  check "$mode: no IPv6 route of the no-carrier link" lacks "$v6" "2001:db8:3::"
  check "$mode: no IPv6 route of the second link" lacks "$v6" "2001:db8:4::"

  out=$(run -- ip -br addr show eth0)
  check "$mode: template addresses only" contains "$out" "198.51.100.2/24"
  check "$mode: no address of other links" lacks "$out" "203.0.113"

  out=$(run -4 -- sh -c 'ip -br addr show eth0; ip -6 route')
  check "$mode: -4: IPv4 address" contains "$out" "198.51.100.2/24"
  check "$mode: -4: no IPv6 address" lacks "$out" "2001:db8:1::2"
  check "$mode: -4: no IPv6 default" lacks "$out" "default"
  out=$(run -6 -- sh -c 'ip -br addr show eth0; ip -4 route')
  check "$mode: -6: IPv6 address" contains "$out" "2001:db8:1::2/64"
  check "$mode: -6: no IPv4 address" lacks "$out" "198.51.100.2"
  check "$mode: -6: no IPv4 routes" lacks "$out" "default"
done
unset PASTA_NETLINK_NO_STRICT_CHK

# The carrier comes on: the other link's subnet is still not copied.
H link set nc1 up
wait_carrier "$HOST_NS" nc0
out=$(in_host timeout 20 "$PASTA" --config-net -- ip route show table all)
check "carrier on: no route of the other link" lacks "$out" "203.0.113"

# Explicit values.
out=$(in_host timeout 20 "$PASTA" --config-net -a 198.51.100.77 -n 255.255.255.0 -g 198.51.100.254 -m 9000 \
  -- sh -c 'ip -br addr show eth0; ip route; ip link show eth0')
check "-a sets the address" contains "$out" "198.51.100.77/24"
check "-a replaces the template's address" lacks "$out" "198.51.100.2/"
check "-g sets the gateway" contains "$out" "default via 198.51.100.254 dev eth0"
check "-m sets the MTU" contains "$out" "mtu 9000"
out=$(in_host timeout 20 "$PASTA" --config-net -a 2001:db8:1::99 -g 2001:db8:1::fe -- ip -6 -br addr show eth0)
check "-a IPv6 sets the address" contains "$out" "2001:db8:1::99/64"
out=$(in_host timeout 20 "$PASTA" --config-net --no-copy-routes -g 198.51.100.1 -- ip route)
check "--no-copy-routes: the default" contains "$out" "default via 198.51.100.1 dev eth0"
check "--no-copy-routes: no other copied routes" lacks "$out" "192.0.2."
# Without the route that makes it reachable, the template's gateway is not
# on any subnet of the tap: that is an error naming it, not a half-set tap.
err=$(in_host timeout 20 "$PASTA" --config-net --no-copy-routes -- true 2>&1)
check "--no-copy-routes, gateway off-subnet: fails" test $? != 0
check "--no-copy-routes, gateway off-subnet: names it" contains "$err" "192.0.2.254"

# A gateway on no copied subnet: one line, non-zero, nothing left behind in
# a namespace we attached to.
target="${LAB_ID}t"
LAB_EXTRA_NS+=("$target")
ip netns add "$target"
err=$(in_host timeout 20 "$PASTA" --config-net -g 203.0.113.99 --netns "$target" 2>&1)
rc=$?
check "-g off-subnet: non-zero exit" test $rc != 0
check "-g off-subnet: one line" test "$(grep -c . <<<"$err")" = 1
check "-g off-subnet: names the gateway" contains "$err" "203.0.113.99"
echo "   [-g off-subnet] $err"
out=$(ip -n "$target" -br link)
check "-g off-subnet: no tap left in the target" lacks "$out" "eth0"
lab_finish
