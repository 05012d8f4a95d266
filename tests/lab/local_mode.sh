#!/usr/bin/env bash
# Local mode: a host with no usable interface (no route of a family on any
# interface but loopback) still gives the namespace a network, as upstream
# pasta does: 169.254.2.1/16 with a default route via 169.254.2.2 (IPv4),
# the namespace's own link-local address with a default route via fe80::1
# (IPv6). Two hosts: (a) a veth whose addresses add no route (noprefixroute)
# and no default route, (b) nothing but loopback. (And (a'): the veth of (a)
# with its subnet routes, which pasta, as upstream, takes as its template
# although it has no default route: no local mode.) In (a) and (b), pasta
# attached with --config-net -t 8080 to a target namespace:
# - the target shows the local-mode addresses and routes, and pasta says
#   it uses local mode;
# - a server in the target on port 8080 sends 4 MiB intact to clients on
#   the host's loopback (spliced), IPv4 and IPv6, and, in (a), to clients
#   at the host's veth addresses (through the tap);
# - a server on the host's 127.0.0.1 and ::1 answers a client in the
#   target at 169.254.2.2 and fe80::1%tap0 (--map-host-loopback's default);
# - (b) with a target whose kernel refuses IPv6: IPv4 only, with a warning;
# - (b) with a resolver on the host's loopback in its resolv.conf: DHCP
#   tells the namespace 169.254.2.2 as its DNS server, and a name resolves
#   there through the host's resolver.
. "$(dirname "$0")/lib.sh"
lab_up
DIR="$(cd "$(dirname "$0")" && pwd)"
PY=/usr/bin/python3
TOOL=("$PY" "$DIR/forward_tool.py")
BUDGET_END=$((SECONDS + 160))
limit() {
  local left=$((BUDGET_END - SECONDS))
  if ((left < 5)); then left=5; fi
  if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

head -c 4194304 /dev/urandom >"$LAB_TMP/data"
want=$(sha256sum "$LAB_TMP/data" | cut -d' ' -f1)
want="4194304 $want"

# --- the two hosts -----------------------------------------------------------
HA="${LAB_ID}a" HB="${LAB_ID}b" TGT="${LAB_ID}t"
LAB_EXTRA_NS+=("$HA" "$HB" "$TGT")
ip netns add "$HA" && ip netns add "$HB" || exit 1
for ns in "$HA" "$HB"; do
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
done
# (a): a link with addresses but no route of either family (the server
# netns holds the other end, unconfigured).
ip -n "$HA" link add eth0 type veth peer name la0 netns "$SERVER_NS"
ip -n "$HA" addr add 203.0.113.2/24 dev eth0 noprefixroute
ip -n "$HA" addr add 2001:db8:2::2/64 dev eth0 nodad noprefixroute
ip -n "$HA" link set eth0 up
ip -n "$SERVER_NS" link set la0 up
wait_carrier "$HA" eth0
check "(a) the host has no IPv4 route but loopback's" \
  test -z "$(ip -n "$HA" -4 route show table main)"
check "(a) no IPv6 default route" lacks "$(ip -n "$HA" -6 route)" "default"

# pasta_up HOSTNS [OPTION]...: pasta attached to a fresh target from
# HOSTNS, in the foreground, log in $LAB_TMP/pasta.log; waits (at most 5 s)
# for 169.254.2.1 and a usable link-local address on tap0.
PASTA_PID=
pasta_up() {
  local host=$1 i out
  shift
  ip netns add "$TGT" || return 1
  ip netns exec "$host" timeout "$(limit 100)" "$PASTA" --config-net -f -e -d \
    --netns "$TGT" "$@" >"$LAB_TMP/pasta.log" 2>&1 &
  PASTA_PID=$!
  LAB_PIDS+=("$PASTA_PID")
  for ((i = 0; i < 50; i++)); do
    out=$(ip -n "$TGT" addr show dev tap0 2>/dev/null)
    if grep -q "inet 169.254.2.1/16" <<<"$out" && grep "inet6 fe80::" <<<"$out" |
      grep -qv tentative; then
      return 0
    fi
    kill -0 "$PASTA_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "  pasta did not set up the namespace; it said:" >&2
  sed 's/^/    /' "$LAB_TMP/pasta.log" >&2
  return 1
}
pasta_down() {
  kill "$PASTA_PID" 2>/dev/null
  wait_gone "$PASTA_PID" 5
  ip netns pids "$TGT" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$TGT" 2>/dev/null
}

# serve NS ADDRS PORT: the forward tool's server in NS, ready when it says.
serve() {
  local ns=$1 ready="$LAB_TMP/ready.$RANDOM" i
  ip netns exec "$ns" timeout "$(limit 60)" "${TOOL[@]}" serve "$2" "$3" 50 \
    "$LAB_TMP/data" "$ready" >/dev/null 2>&1 &
  LAB_PIDS+=($!)
  for ((i = 0; i < 50; i++)); do
    [ -e "$ready" ] && return 0
    sleep 0.1
  done
  return 1
}
get() { ip netns exec "$1" timeout "$(limit 20)" "${TOOL[@]}" get "$2" "$3" 2>&1; }

# local_mode_checks NAME HOSTNS: what both hosts must show.
local_mode_checks() {
  local name=$1 host=$2 out
  out=$(ip -n "$TGT" -br addr show tap0)
  check "$name: the tap is tap0 with 169.254.2.1/16" contains "$out" "169.254.2.1/16"
  check "$name: no other IPv6 address than link-local" \
    test -z "$(ip -n "$TGT" -6 addr show dev tap0 scope global)"
  out=$(ip -n "$TGT" route)
  check "$name: IPv4 default route via 169.254.2.2" contains "$out" "default via 169.254.2.2 dev tap0"
  out=$(ip -n "$TGT" -6 route)
  check "$name: IPv6 default route via fe80::1" contains "$out" "default via fe80::1 dev tap0"
  out=$(cat "$LAB_TMP/pasta.log")
  check "$name: pasta says IPv4 uses local mode" contains "$out" "IPv4: no IPv4 route on any interface, using local mode"
  check "$name: pasta says IPv6 uses local mode" contains "$out" "IPv6: no IPv6 route on any interface, using local mode"

  check "$name: a server in the namespace on 8080" serve "$TGT" "0.0.0.0,::" 8080
  check "$name: -t 8080 from the host's 127.0.0.1, 4 MiB intact" \
    equals "$(get "$host" 127.0.0.1 8080)" "$want"
  check "$name: -t 8080 from the host's ::1, 4 MiB intact" \
    equals "$(get "$host" ::1 8080)" "$want"

  check "$name: a server on the host's loopback on 9090" serve "$host" "127.0.0.1,::1" 9090
  check "$name: the namespace reaches the host's 127.0.0.1 at 169.254.2.2" \
    equals "$(get "$TGT" 169.254.2.2 9090)" "$want"
  check "$name: the namespace reaches the host's ::1 at fe80::1%tap0" \
    equals "$(get "$TGT" fe80::1%tap0 9090)" "$want"
}

# --- (a) a veth without routes -----------------------------------------------
if check "(a) pasta sets up the namespace" pasta_up "$HA" -t 8080; then
  local_mode_checks "(a)" "$HA"
  # Through the tap: a peer that is not the host's loopback.
  check "(a) -t 8080 from the host's 203.0.113.2 (tap), 4 MiB intact" \
    equals "$(get "$HA" 203.0.113.2 8080)" "$want"
  check "(a) -t 8080 from the host's 2001:db8:2::2 (tap), 4 MiB intact" \
    equals "$(get "$HA" 2001:db8:2::2 8080)" "$want"
  pasta_down
fi

# --- (a') the same link with its subnet routes: as upstream, the first
# interface with a route is the template (no default route, so no gateway):
# its addresses and routes are copied, no local mode.
ip -n "$HA" route add 203.0.113.0/24 dev eth0
ip -n "$HA" -6 route add 2001:db8:2::/64 dev eth0
ip netns add "$TGT"
ip netns exec "$HA" timeout "$(limit 20)" "$PASTA" --config-net -d -l "$LAB_TMP/pasta-c.log" \
  --netns "$TGT" -P "$LAB_TMP/pasta-c.pid" -t 8080
check "(a') pasta attaches" test $? = 0
LAB_PIDS+=("$(cat "$LAB_TMP/pasta-c.pid" 2>/dev/null || echo "$LAB_NO_PID")")
out=$(ip -n "$TGT" -br addr show eth0 2>&1)
check "(a') the tap is eth0 with the host's IPv4 address" contains "$out" "203.0.113.2/24"
check "(a') and its IPv6 address" contains "$out" "2001:db8:2::2/64"
out=$(ip -n "$TGT" route; ip -n "$TGT" -6 route)
check "(a') the subnet routes are copied" contains "$out" "203.0.113.0/24 dev eth0"
check "(a') no default route" lacks "$out" "default"
check "(a') pasta does not use local mode" lacks "$(cat "$LAB_TMP/pasta-c.log")" "local mode"
check "(a') a server in the namespace on 8080" serve "$TGT" "0.0.0.0,::" 8080
check "(a') -t 8080 from the host's 127.0.0.1, 4 MiB intact" \
  equals "$(get "$HA" 127.0.0.1 8080)" "$want"
ip netns del "$TGT"
ip netns pids "$HA" 2>/dev/null | xargs -r kill 2>/dev/null
sleep 0.3

# --- (b) nothing but loopback, a resolver on it ------------------------------
ip netns exec "$HB" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
  --bind-interfaces --listen-address=127.0.0.1 --port=53 \
  --pid-file="$LAB_TMP/dnsmasq.pid" --address=/pasta.test/203.0.113.99 \
  --log-facility=- 2>/dev/null &
LAB_PIDS+=($!)
echo "nameserver 127.0.0.1" >"$LAB_TMP/resolv.conf"
# pasta reads the host's resolv.conf: give host (b) its own, in a private
# mount namespace, as `ip netns exec` does with /etc/netns/NAME.
in_b() {
  ip netns exec "$HB" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
    "$LAB_TMP/resolv.conf" "$@"
}
sleep 0.3
if check "(b) pasta sets up the namespace" pasta_up "$HB" -t 8080; then
  local_mode_checks "(b)" "$HB"
  pasta_down
fi
# A target whose kernel refuses IPv6 (disable_ipv6 before the tap exists):
# as upstream in local mode, pasta warns, goes on with IPv4 only.
ip netns add "$TGT"
ip netns exec "$TGT" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$HB" timeout "$(limit 20)" "$PASTA" --config-net -l "$LAB_TMP/pasta-n.log" \
  --netns "$TGT" -P "$LAB_TMP/pasta-n.pid" -t 8080
check "(b) IPv6 refused in the namespace: pasta still starts" test $? = 0
LAB_PIDS+=("$(cat "$LAB_TMP/pasta-n.pid" 2>/dev/null || echo "$LAB_NO_PID")")
check "(b) IPv6 refused: pasta says it disables IPv6" \
  contains "$(cat "$LAB_TMP/pasta-n.log")" "IPv6: the namespace refuses it"
check "(b) IPv6 refused: 169.254.2.1/16 all the same" \
  contains "$(ip -n "$TGT" -br addr show tap0 2>&1)" "169.254.2.1/16"
check "(b) IPv6 refused: a server in the namespace on 8080" serve "$TGT" "0.0.0.0" 8080
check "(b) IPv6 refused: -t 8080 from the host's 127.0.0.1, 4 MiB intact" \
  equals "$(get "$HB" 127.0.0.1 8080)" "$want"
ip netns del "$TGT"

# pasta_up runs pasta through `ip netns exec "$HB"`: this time with the
# resolv.conf above (the checks above don't depend on it).
out=$(in_b timeout "$(limit 20)" "$PASTA" --config-net -- \
  busybox nslookup pasta.test 169.254.2.2 2>&1)
check "(b) DNS to 169.254.2.2 reaches the host's loopback resolver" contains "$out" "203.0.113.99"
echo "$out" | sed 's/^/   /' | head -4

cat >"$LAB_TMP/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] && echo "ip=$ip mask=$mask router=$router dns=$dns" > "$UDHCPC_OUT"
exit 0
SCRIPT
chmod +x "$LAB_TMP/udhcpc.sh"
UDHCPC_OUT="$LAB_TMP/lease" in_b timeout "$(limit 20)" "$PASTA" -- \
  sh -c 'ip link set tap0 up && busybox udhcpc -i tap0 -f -q -n -t 5 -T 1 -s "$0"' \
  "$LAB_TMP/udhcpc.sh" >"$LAB_TMP/udhcpc.log" 2>&1
lease=$(cat "$LAB_TMP/lease" 2>/dev/null)
echo "   lease: $lease"
check "(b) DHCP: 169.254.2.1/16" contains "$lease" "ip=169.254.2.1 mask=16 "
check "(b) DHCP: router 169.254.2.2" contains "$lease" "router=169.254.2.2 "
check "(b) DHCP: DNS 169.254.2.2, the host's loopback resolver" contains "$lease" "dns=169.254.2.2"
lab_finish
