#!/usr/bin/env bash
# The host's LAN neighbours seen from the namespace with their real MACs,
# as upstream since 2025-12: pasta answers ARP and neighbour solicitations
# for a neighbour of the host's template interface with the MAC the host's
# neighbour table has for it, and when that MAC changes it tells the
# namespace (a gratuitous ARP, an unsolicited neighbour advertisement).
# Other addresses, and the gateway while it stands for the host's loopback
# (the default --map-host-loopback), keep pasta's MAC.
. "$(dirname "$0")/lib.sh"
lab_up

target="${LAB_ID}t"
LAB_EXTRA_NS+=("$target")
ip netns add "$target"
pidfile="$LAB_TMP/pasta.pid"

# A second address of the server, a neighbour that is not the gateway.
ip -n "$SERVER_NS" addr add 198.51.100.3/24 dev eth0
ip -n "$SERVER_NS" addr add 2001:db8:1::3/64 dev eth0 nodad
mac_of() { ip -n "$1" link show eth0 | awk '/link\/ether/ { print $2 }'; }
server_mac=$(mac_of "$SERVER_NS")
# The host learns its neighbours (before pasta starts: the start-up dump).
in_host ping -c1 -W2 198.51.100.3 >/dev/null
in_host ping -c1 -W2 198.51.100.1 >/dev/null
in_host ping -6 -c1 -W2 2001:db8:1::3 >/dev/null
out=$(ip -n "$HOST_NS" neigh show 198.51.100.3)
check "the host knows 198.51.100.3 at the server's MAC" contains "$out" "$server_mac"

# neigh_of NS ADDR: the namespace's neighbour entry for ADDR, after a ping
# that makes it resolve the address (the ping's own answer does not matter).
neigh_of() {
  ip netns exec "$1" ping -c1 -W1 "$2" >/dev/null 2>&1
  ip -n "$1" neigh show "$2"
}
# wait_neigh NS ADDR MAC: true once the namespace's entry for ADDR has MAC
# (at most 5 s), without sending anything from the namespace.
wait_neigh() {
  local i
  for ((i = 0; i < 50; i++)); do
    grep -qF "lladdr $3" <<<"$(ip -n "$1" neigh show "$2")" && return 0
    sleep 0.1
  done
  ip -n "$1" neigh show "$2" >&2
  return 1
}

in_host timeout 20 "$PASTA" --config-net --netns "$target" -P "$pidfile"
check "pasta attached" test $? = 0
pid=$(cat "$pidfile" 2>/dev/null || echo "$LAB_NO_PID")
LAB_PIDS+=("$pid")
wait_carrier "$target" eth0
ns_mac=$(mac_of "$target")
pasta_mac=$(neigh_of "$target" 198.51.100.1 | awk '/lladdr/ { print $5; exit }')

out=$(neigh_of "$target" 198.51.100.3)
check "IPv4: the neighbour is seen with the server's MAC ($server_mac)" \
  contains "$out" "lladdr $server_mac"
check "IPv4: the gateway (standing for the host's loopback) keeps pasta's MAC" \
  test -n "$pasta_mac" -a "$pasta_mac" != "$server_mac"
out=$(neigh_of "$target" 198.51.100.77)
check "IPv4: an address the host has no entry for gets pasta's MAC" \
  contains "$out" "lladdr $pasta_mac"
out=$(neigh_of "$target" 2001:db8:1::3)
check "IPv6: the neighbour is seen with the server's MAC" \
  contains "$out" "lladdr $server_mac"

# The server's MAC changes; the host learns it (as from the server's own
# gratuitous ARP / unsolicited NA); the namespace hears of it from pasta.
new_mac=02:00:5e:00:53:99
ip -n "$SERVER_NS" link set eth0 address "$new_mac"
ip -n "$HOST_NS" neigh replace 198.51.100.3 lladdr "$new_mac" dev eth0 nud reachable
ip -n "$HOST_NS" neigh replace 198.51.100.1 lladdr "$new_mac" dev eth0 nud reachable
check "IPv4: the namespace's entry changes to the new MAC" \
  wait_neigh "$target" 198.51.100.3 "$new_mac"
ip -n "$HOST_NS" -6 neigh replace 2001:db8:1::3 lladdr "$new_mac" dev eth0 nud reachable
check "IPv6: the namespace's entry changes to the new MAC" \
  wait_neigh "$target" 2001:db8:1::3 "$new_mac"
# And traffic still flows to it.
check "IPv4: the neighbour answers a ping through pasta" \
  ip netns exec "$target" ping -c1 -W2 198.51.100.3
# A neighbour the host learns while pasta runs: announced too.
ip -n "$SERVER_NS" addr add 198.51.100.4/24 dev eth0
in_host ping -c1 -W2 198.51.100.4 >/dev/null
out=$(neigh_of "$target" 198.51.100.4)
check "IPv4: a neighbour learnt later is seen with its MAC" \
  contains "$out" "lladdr $new_mac"
check "the namespace's own MAC is untouched" equals "$(mac_of "$target")" "$ns_mac"
kill "$pid"
check "pasta ends" wait_gone "$pid" 5

# With --no-map-gw the gateway is an ordinary neighbour: its real MAC.
ip netns del "$target"
ip netns add "$target"
in_host timeout 20 "$PASTA" --config-net --no-map-gw --netns "$target" -P "$pidfile" \
  --debug -l "$LAB_TMP/pasta.log"
pid=$(cat "$pidfile" 2>/dev/null || echo "$LAB_NO_PID")
LAB_PIDS+=("$pid")
wait_carrier "$target" eth0
in_host ping -c1 -W2 198.51.100.1 >/dev/null
out=$(neigh_of "$target" 198.51.100.1)
check "--no-map-gw: the gateway is seen with its own MAC" \
  contains "$out" "lladdr $new_mac"

# A burst of 2000 changes, more than the event socket's buffer holds (the
# kernel then drops notifications and pasta reads the tables again): the
# namespace still ends up with the last MAC of each neighbour.
for i in 0 1 2 3 4 5 6 7; do
  for j in $(seq 10 259); do
    printf 'neigh replace 198.51.100.%d lladdr 02:00:00:00:0%d:%02x dev eth0 nud permanent\n' \
      $((j % 250 + 3)) "$i" $((j % 250 + 3))
  done
done >"$LAB_TMP/burst"
ip -n "$HOST_NS" -batch "$LAB_TMP/burst"
sleep 1
grep -q "notifications lost" "$LAB_TMP/pasta.log" &&
  echo "(the burst overflowed the event socket: tables read again)"
out=$(neigh_of "$target" 198.51.100.77)
check "after a burst of changes, the last MAC is the one seen" \
  contains "$out" "lladdr 02:00:00:00:07:4d"
check "pasta still runs" kill -0 "$pid"
lab_finish
