#!/usr/bin/env bash
# Following the host's network while running (ours: upstream copies it once
# at start-up). pasta attached with --config-net -t 8080 to a target
# namespace, from the lab's host netns:
# (a) the host starts with no address and no route on its veth (the
#     namespace in local mode); an address and a default route of each
#     family are added: within 2 s the namespace has them and downloads
#     4 MiB intact from the server netns; they are removed: within 2 s it is
#     back in local mode and -t 8080 still answers from the host's loopback;
# (b) the host's addresses change (198.51.100.2 -> .3, 2001:db8:1::2 ->
#     ::3): the namespace follows, --map-guest-addr reaches the host at its
#     new address, an IPv4 download paused across the IPv6 change
#     finishes intact, and one paused across the IPv4 change (its host
#     address gone) is reset at once rather than left to time out;
# (c) a burst of 1,000 address changes in about a second costs a few
#     re-syncs (counted from the --debug lines), not hundreds, a download
#     in the middle of it is intact, and the namespace ends where the host
#     ends;
# (d) with --no-follow-host, the namespace keeps what it had;
# (e) with PASTA_NETLINK_NO_STRICT_CHK=1 (dumps as a pre-4.20 kernel
#     gives them): a more specific route through the template is copied,
#     a route in another table and routes on another interface are not;
#     the default route moves to another interface: the namespace follows,
#     and sees that interface's neighbours with their own MACs;
# (f) without --config-net: a DHCP client gets the host's new address
#     after a renumbering, and a new IPv6 prefix comes in an RA at once
#     (SLAAC in the namespace); the host's resolv.conf (pasta's own, bind-
#     mounted in a private mount namespace), rewritten before the
#     renumbering, is read again: DHCP hands out the new nameserver; so
#     it is when resolv.conf alone changes (its inotify watch);
# (g) with the namespace's address fixed (-a), a UDP flow whose host
#     address goes away is closed, so that the namespace's next datagram
#     (same socket, same flow) goes out from the host's new address.
. "$(dirname "$0")/lib.sh"
lab_up
DIR="$(cd "$(dirname "$0")" && pwd)"
PY=/usr/bin/python3
TOOL=("$PY" "$DIR/forward_tool.py")
BUDGET_END=$((SECONDS + 100))
limit() {
  local left=$((BUDGET_END - SECONDS))
  if ((left < 5)); then left=5; fi
  if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

head -c 4194304 /dev/urandom >"$LAB_TMP/data"
want="4194304 $(sha256sum "$LAB_TMP/data" | cut -d' ' -f1)"
TGT="${LAB_ID}t"
LAB_EXTRA_NS+=("$TGT")
H() { ip -n "$HOST_NS" "$@"; }

# serve NS ADDRS PORT [FILE]: the forward tool's server in NS (sending
# FILE, by default the 4 MiB of data), ready when it says.
serve() {
  local ns=$1 ready="$LAB_TMP/ready.$RANDOM" i
  ip netns exec "$ns" timeout "$(limit 60)" "${TOOL[@]}" serve "$2" "$3" 60 \
    "${4:-$LAB_TMP/data}" "$ready" >/dev/null 2>&1 &
  LAB_PIDS+=($!)
  for ((i = 0; i < 50; i++)); do
    [ -e "$ready" ] && return 0
    sleep 0.1
  done
  return 1
}
get() { ip netns exec "$1" timeout "$(limit 20)" "${TOOL[@]}" get "$2" "$3" 2>&1; }

# within MS COMMAND...: runs COMMAND every 20 ms until it succeeds, for MS
# milliseconds at most; prints how long it took (ms) and succeeds, or
# fails.
within() {
  local ms=$1 start now
  shift
  start=$(date +%s%N)
  while :; do
    if "$@" >/dev/null 2>&1; then
      now=$(date +%s%N)
      echo $(((now - start) / 1000000))
      return 0
    fi
    now=$(date +%s%N)
    (((now - start) / 1000000 > ms)) && return 1
    sleep 0.02
  done
}
# The tap: tap0 when pasta starts in local mode, else the host's eth0.
TAP=tap0
# quietly COMMAND...: COMMAND with its output dropped (within's ms).
quietly() { "$@" >/dev/null; }
tap_has() { ip -n "$TGT" addr show dev "$TAP" | grep -qF -- "$1"; }
tap_lacks() { ! tap_has "$1"; }
route4_is() { ip -n "$TGT" route show default | grep -qF -- "via $1 dev $TAP"; }
route6_is() { ip -n "$TGT" -6 route show default | grep -qF -- "via $1 dev $TAP"; }
host_up() {
  tap_has "inet 198.51.100.2/24" && tap_has "inet6 2001:db8:1::2/64" &&
    route4_is 198.51.100.1 && route6_is 2001:db8:1::1 && tap_lacks 169.254.2.1
}
local_mode() {
  tap_has "inet 169.254.2.1/16" && tap_lacks "inet 198.51.100.2/" &&
    tap_lacks "inet6 2001:db8:1::2/" && route4_is 169.254.2.2 && route6_is fe80::1
}
resyncs() { grep -c "host: re-sync" "$LAB_TMP/pasta.log"; }

# --- the host without a network: local mode ---------------------------------
H -6 route del default
H route del default
H addr flush dev eth0 scope global
H -6 addr flush dev eth0 scope global
check "the host has no IPv4 route" test -z "$(H -4 route show table main)"
ip netns add "$TGT"
ip netns exec "$HOST_NS" timeout "$(limit 100)" "$PASTA" --config-net -f -e -d \
  --netns "$TGT" -t 8080 --map-guest-addr 203.0.113.77 >"$LAB_TMP/pasta.log" 2>&1 &
PASTA_PID=$!
LAB_PIDS+=("$PASTA_PID")
if ! check "pasta starts in local mode (169.254.2.1, fe80::1)" quietly within 5000 local_mode; then
  sed 's/^/    /' "$LAB_TMP/pasta.log" >&2
  lab_finish
fi
check "pasta says it follows the host" contains "$(cat "$LAB_TMP/pasta.log")" \
  "host: following its links, addresses, routes and resolv.conf"
check "a server in the namespace on 8080" serve "$TGT" "0.0.0.0,::" 8080
# The server netns's gateway address stands for the host's loopback in the
# namespace: the server listens on addresses of its own beyond it.
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$SERVER_NS" addr add 2001:db8:9::1/128 dev lo
check "a server in the server netns on 9000" serve "$SERVER_NS" "203.0.113.1,2001:db8:9::1" 9000
check "a server on the host's loopback on 9092" serve "$HOST_NS" "127.0.0.1,::1" 9092

# --- (a) the host goes online, then offline ----------------------------------
H addr add 198.51.100.2/24 dev eth0
H addr add 2001:db8:1::2/64 dev eth0 nodad
H route add default via 198.51.100.1
H -6 route add default via 2001:db8:1::1
if ms=$(within 2000 host_up); then
  check "(a) online: the namespace has the host's addresses and routes within 2 s ($ms ms)" true
else
  check "(a) online: the namespace has the host's addresses and routes within 2 s" false
  ip -n "$TGT" addr show dev tap0 >&2
  ip -n "$TGT" route >&2
fi
check "(a) online: 4 MiB intact from the server's 203.0.113.1" \
  equals "$(get "$TGT" 203.0.113.1 9000)" "$want"
check "(a) online: 4 MiB intact from the server's 2001:db8:9::1" \
  equals "$(get "$TGT" 2001:db8:9::1 9000)" "$want"
check "(a) online: the gateway 198.51.100.1 stands for the host's 127.0.0.1 now" \
  equals "$(get "$TGT" 198.51.100.1 9092)" "$want"
check "(a) online: --debug says what changed" contains "$(cat "$LAB_TMP/pasta.log")" \
  "host: IPv4 default route via 198.51.100.1 on eth0 added"

H -6 route del default
H route del default
H addr del 198.51.100.2/24 dev eth0
H addr del 2001:db8:1::2/64 dev eth0
if ms=$(within 2000 local_mode); then
  check "(a) offline: back in local mode within 2 s ($ms ms)" true
else
  check "(a) offline: back in local mode within 2 s" false
  ip -n "$TGT" addr show dev tap0 >&2
  ip -n "$TGT" route >&2
fi
check "(a) offline: --debug says the default route went" contains "$(cat "$LAB_TMP/pasta.log")" \
  "host: IPv4 default route via 198.51.100.1 on eth0 removed"
check "(a) offline: --debug says the namespace is in local mode" contains "$(cat "$LAB_TMP/pasta.log")" \
  "on eth0 removed; namespace: local mode"
check "(a) offline: -t 8080 from the host's 127.0.0.1, 4 MiB intact" \
  equals "$(get "$HOST_NS" 127.0.0.1 8080)" "$want"
check "(a) offline: -t 8080 from the host's ::1, 4 MiB intact" \
  equals "$(get "$HOST_NS" ::1 8080)" "$want"

# --- (b) the host is renumbered ----------------------------------------------
H addr add 198.51.100.2/24 dev eth0
H addr add 2001:db8:1::2/64 dev eth0 nodad
H route add default via 198.51.100.1
H -6 route add default via 2001:db8:1::1
check "(b) online again" quietly within 2000 host_up
# A download over IPv4 (from 203.0.113.1), paused after its first MiB while IPv6 changes.
ip netns exec "$TGT" timeout "$(limit 30)" "${TOOL[@]}" get 203.0.113.1 9000 \
  "$LAB_TMP/started" "$LAB_TMP/go" >"$LAB_TMP/long" 2>&1 &
LONG=$!
LAB_PIDS+=("$LONG")
check "(b) a download from 203.0.113.1 is under way" quietly within 5000 test -e "$LAB_TMP/started"
H addr add 2001:db8:1::3/64 dev eth0 nodad
H addr del 2001:db8:1::2/64 dev eth0
H -6 route replace default via 2001:db8:1::1
v6_moved() { tap_has "inet6 2001:db8:1::3/64" && tap_lacks "inet6 2001:db8:1::2/" && route6_is 2001:db8:1::1; }
if ms=$(within 2000 v6_moved); then
  check "(b) 2001:db8:1::2 -> ::3: the namespace follows within 2 s ($ms ms)" true
else
  check "(b) 2001:db8:1::2 -> ::3: the namespace follows within 2 s" false
fi
touch "$LAB_TMP/go"
wait "$LONG"
check "(b) the IPv4 download across the change: 4 MiB intact" equals "$(cat "$LAB_TMP/long")" "$want"

# A download from 198.51.100.2, paused: its host address goes away. 64 MiB,
# more than the sockets and pasta can hold, so that it can't be over before.
head -c $((64 << 20)) /dev/zero >"$LAB_TMP/big"
check "(b) a server of 64 MiB in the server netns on 9001" serve "$SERVER_NS" 203.0.113.1 9001 "$LAB_TMP/big"
rm -f "$LAB_TMP/started" "$LAB_TMP/go"
ip netns exec "$TGT" timeout "$(limit 30)" "${TOOL[@]}" get 203.0.113.1 9001 \
  "$LAB_TMP/started" "$LAB_TMP/go" >"$LAB_TMP/cut" 2>&1 &
CUT=$!
LAB_PIDS+=("$CUT")
check "(b) a download from the host's 198.51.100.2 is under way" quietly within 5000 test -e "$LAB_TMP/started"
H addr del 198.51.100.2/24 dev eth0
H addr add 198.51.100.3/24 dev eth0
H route replace default via 198.51.100.1
v4_moved() { tap_has "inet 198.51.100.3/24" && tap_lacks "inet 198.51.100.2/" && route4_is 198.51.100.1; }
if ms=$(within 2000 v4_moved); then
  check "(b) 198.51.100.2 -> .3: the namespace follows within 2 s ($ms ms)" true
else
  check "(b) 198.51.100.2 -> .3: the namespace follows within 2 s" false
  ip -n "$TGT" addr show dev tap0 >&2
  ip -n "$TGT" route >&2
  grep "host:" "$LAB_TMP/pasta.log" | tail -20 >&2
fi
touch "$LAB_TMP/go"
cut_done() { ! kill -0 "$CUT" 2>/dev/null; }
check "(b) the download from the vanished address ends within 3 s" quietly within 3000 cut_done
check "(b) ... reset, not left to time out" contains "$(cat "$LAB_TMP/cut")" "ConnectionResetError" || grep -E "host:|tcp" "$LAB_TMP/pasta.log" | tail -20 >&2
check "(b) renumbered: 4 MiB intact from the server" \
  equals "$(get "$TGT" 203.0.113.1 9000)" "$want"
# --map-guest-addr stands for the host's own address: now .3, where only
# this server listens.
check "(b) a server on the host's new 198.51.100.3 only" serve "$HOST_NS" 198.51.100.3 9091
check "(b) --map-guest-addr 203.0.113.77 reaches it" \
  equals "$(get "$TGT" 203.0.113.77 9091)" "$want"

# --- (c) a burst -------------------------------------------------------------
before=$(resyncs)
for ((round = 0; round < 10; round++)); do
  for ((i = 1; i <= 50; i++)); do echo "addr add 203.0.113.$i/32 dev eth0"; done >"$LAB_TMP/batch"
  for ((i = 1; i <= 50; i++)); do echo "addr del 203.0.113.$i/32 dev eth0"; done >>"$LAB_TMP/batch"
  H -batch "$LAB_TMP/batch"
  # Halfway: the loop forwards meanwhile.
  ((round == 5)) && during=$(get "$TGT" 203.0.113.1 9000)
  sleep 0.1
done
sleep 1.5
after=$(resyncs)
n=$((after - before))
echo "   1000 address changes: $n re-syncs"
check "(c) during the burst: 4 MiB intact from the server" equals "$during" "$want"
check "(c) 1000 changes: at least one re-sync" test "$n" -ge 1
check "(c) 1000 changes: a few re-syncs, not hundreds ($n)" test "$n" -le 5
check "(c) the namespace ends as the host: .3, none of the burst's" \
  sh -c "ip -n $TGT addr show dev tap0 | grep -q 'inet 198.51.100.3/24' && ! ip -n $TGT addr show dev tap0 | grep -q 203.0.113"
check "(c) after the burst: 4 MiB intact from the server" \
  equals "$(get "$TGT" 203.0.113.1 9000)" "$want"
kill "$PASTA_PID" 2>/dev/null
wait_gone "$PASTA_PID" 5
ip netns del "$TGT"

# --- (d) --no-follow-host ----------------------------------------------------
ip netns add "$TGT"
TAP=eth0
ip netns exec "$HOST_NS" timeout "$(limit 30)" "$PASTA" --config-net -f -e -d \
  --no-follow-host --netns "$TGT" >"$LAB_TMP/pasta.log" 2>&1 &
PASTA_PID=$!
LAB_PIDS+=("$PASTA_PID")
check "(d) --no-follow-host: the namespace has .3" quietly within 5000 tap_has "inet 198.51.100.3/24"
H addr add 198.51.100.4/24 dev eth0
sleep 1
check "(d) --no-follow-host: the host's new address is not copied" tap_lacks "inet 198.51.100.4/"
check "(d) --no-follow-host: no re-sync" equals "$(resyncs)" 0
kill "$PASTA_PID" 2>/dev/null
wait_gone "$PASTA_PID" 5
ip netns del "$TGT"

# --- (e) the start-up filters, as a pre-4.20 kernel answers ------------------
ip netns add "$TGT"
PASTA_NETLINK_NO_STRICT_CHK=1 ip netns exec "$HOST_NS" timeout "$(limit 30)" \
  "$PASTA" --config-net -f -e -d --netns "$TGT" >"$LAB_TMP/pasta.log" 2>&1 &
PASTA_PID=$!
LAB_PIDS+=("$PASTA_PID")
check "(e) no strict checking: the namespace has .3" quietly within 5000 tap_has "inet 198.51.100.3/24"
# A more specific route through the template (copied), one in another
# table and one on another interface (neither copied).
H link add vx0 type veth peer name vx1
H addr add 192.0.2.1/24 dev vx0
H link set vx0 up
H link set vx1 up
H route add 203.0.113.128/25 via 198.51.100.1 dev eth0
H route add 203.0.113.64/26 via 198.51.100.1 dev eth0 table 100
H route add 192.0.2.128/25 via 192.0.2.2 dev vx0
specific() { ip -n "$TGT" route | grep -qF "203.0.113.128/25 via 198.51.100.1 dev $TAP"; }
if ms=$(within 2000 specific); then
  check "(e) the more specific route is copied within 2 s ($ms ms)" true
else
  check "(e) the more specific route is copied within 2 s" false
fi
sleep 0.5
out=$(ip -n "$TGT" route show table all)
check "(e) not the other table's route" lacks "$out" "203.0.113.64/26"
check "(e) not the other interface's routes" lacks "$out" "192.0.2."
check "(e) the default route stays" contains "$out" "default via 198.51.100.1 dev $TAP"
# The IPv4 default route moves to vx0: the neighbours followed are vx0's
# now (an entry of eth0's would have been answered before; one of vx0's
# only now).
H neigh replace 192.0.2.9 lladdr 02:00:5e:00:53:09 dev vx0 nud reachable
H route replace default via 192.0.2.2 dev vx0
on_vx0() { tap_has "inet 192.0.2.1/24" && route4_is 192.0.2.2; }
check "(e) the default route moves to vx0: the namespace follows" quietly within 2000 on_vx0
vx0_neighbour() {
  ip netns exec "$TGT" ping -c1 -W1 192.0.2.9 >/dev/null 2>&1
  ip -n "$TGT" neigh show 192.0.2.9 | grep -qF "lladdr 02:00:5e:00:53:09"
}
check "(e) vx0's neighbour 192.0.2.9 has its own MAC in the namespace" quietly within 3000 vx0_neighbour
H route replace default via 198.51.100.1 dev eth0
kill "$PASTA_PID" 2>/dev/null
wait_gone "$PASTA_PID" 5
ip netns del "$TGT"

# --- (f) without --config-net: DHCP and router advertisements --------------
cat >"$LAB_TMP/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] && echo "ip=$ip mask=$mask router=$router dns=$dns" > "$UDHCPC_OUT"
exit 0
SCRIPT
chmod +x "$LAB_TMP/udhcpc.sh"
lease() {
  rm -f "$LAB_TMP/lease"
  UDHCPC_OUT="$LAB_TMP/lease" ip netns exec "$TGT" timeout "$(limit 10)" \
    busybox udhcpc -i "$TAP" -f -q -n -t 5 -T 1 -s "$LAB_TMP/udhcpc.sh" >/dev/null 2>&1
  cat "$LAB_TMP/lease" 2>/dev/null
}
ip netns add "$TGT"
# No router solicitations from the namespace: an RA it gets is one pasta
# sent on its own (at start, a minute later, or on a change).
ip netns exec "$TGT" sysctl -qw net.ipv6.conf.all.accept_ra=1 net.ipv6.conf.default.accept_ra=1 \
  net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
# pasta's resolv.conf: the lab's own file over /etc/resolv.conf, in a
# private mount namespace (the machine's file is not touched).
echo "nameserver 192.0.2.53" >"$LAB_TMP/resolv.conf"
ip netns exec "$HOST_NS" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
  "$LAB_TMP/resolv.conf" timeout "$(limit 30)" "$PASTA" -f -e -d --netns "$TGT" \
  >"$LAB_TMP/pasta.log" 2>&1 &
PASTA_PID=$!
LAB_PIDS+=("$PASTA_PID")
tap_exists() { ip -n "$TGT" link show dev "$TAP"; }
check "(f) pasta without --config-net: the tap is there" quietly within 5000 tap_exists
ip -n "$TGT" link set "$TAP" up
check "(f) DHCP: the host's 198.51.100.3, DNS from resolv.conf" contains "$(lease)" \
  "ip=198.51.100.3 mask=24 router=198.51.100.1 dns=192.0.2.53"
# Rewritten in place (the bind mount's file), as a DHCP client on the host
# would write it with its new lease.
echo "nameserver 192.0.2.54" >"$LAB_TMP/resolv.conf"
slaac() { ip -n "$TGT" -6 addr show dev "$TAP" | grep -q "inet6 $1"; }
H addr del 198.51.100.3/24 dev eth0
H addr add 198.51.100.5/24 dev eth0
H route replace default via 198.51.100.1
H -6 addr add 2001:db8:7::3/64 dev eth0 nodad
H -6 addr del 2001:db8:1::3/64 dev eth0
H -6 route replace default via 2001:db8:7::1
# The next unsolicited RA is a minute away: this one comes from the change.
if ms=$(within 2000 slaac 2001:db8:7:0:); then
  check "(f) a new IPv6 prefix: an RA at once, SLAAC in 2001:db8:7::/64 ($ms ms)" true
else
  check "(f) a new IPv6 prefix: an RA at once, SLAAC in 2001:db8:7::/64" false
  ip -n "$TGT" -6 addr >&2
fi
check "(f) DHCP from then on: the host's new 198.51.100.5 and nameserver" contains "$(lease)" \
  "ip=198.51.100.5 mask=24 router=198.51.100.1 dns=192.0.2.54"
check "(f) --debug says the resolvers changed" contains "$(cat "$LAB_TMP/pasta.log")" \
  "host: resolv.conf: nameservers 192.0.2.54 (were 192.0.2.53)"
check "(f) ... rewritten in place, not taken for a replaced file" lacks "$(cat "$LAB_TMP/pasta.log")" \
  "resolv.conf was replaced"
# resolv.conf alone changes (nothing else on the host): its watch tells.
echo "nameserver 192.0.2.55" >"$LAB_TMP/resolv.conf"
said_55() { grep -qF "nameservers 192.0.2.55 (were 192.0.2.54)" "$LAB_TMP/pasta.log"; }
if ms=$(within 2000 said_55); then
  check "(f) resolv.conf alone rewritten: read again within 2 s ($ms ms)" true
else
  check "(f) resolv.conf alone rewritten: read again within 2 s" false
fi
check "(f) ... and DHCP hands out 192.0.2.55" contains "$(lease)" "dns=192.0.2.55"
kill "$PASTA_PID" 2>/dev/null
wait_gone "$PASTA_PID" 5
ip netns del "$TGT"

# --- (g) a UDP flow from a host address that goes away -----------------------
# The namespace's address is fixed (-a), so its flow keeps its key across
# the host's renumbering: its host socket, connected from .5, must be
# closed for the next datagram to go out from .6.
ip netns add "$TGT"
TAP=eth0
ip netns exec "$HOST_NS" timeout "$(limit 30)" "$PASTA" --config-net -f -e -d \
  -a 198.51.100.50 --netns "$TGT" >"$LAB_TMP/pasta.log" 2>&1 &
PASTA_PID=$!
LAB_PIDS+=("$PASTA_PID")
check "(g) -a 198.51.100.50: the namespace has it" quietly within 5000 tap_has "inet 198.51.100.50/24"
ip netns exec "$SERVER_NS" timeout "$(limit 30)" "$PY" "$DIR/udp_tool.py" echo 203.0.113.1 9003 25 >/dev/null 2>&1 &
LAB_PIDS+=($!)
cat >"$LAB_TMP/udp_client.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("203.0.113.1", 9003))
s.settimeout(0.2)
def roundtrip(tag, budget):
    end = time.monotonic() + budget
    while time.monotonic() < end:
        try:
            s.send(tag)
            if s.recv(100) == tag:
                return True
        except OSError:
            pass
    return False
first = roundtrip(b"one", 5)
open(sys.argv[1], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
t = time.monotonic()
second = roundtrip(b"two", 2)
print("before: %s; after: %s (%d ms)" % (first, second, (time.monotonic() - t) * 1000))
PY
rm -f "$LAB_TMP/started" "$LAB_TMP/go"
ip netns exec "$TGT" timeout "$(limit 20)" "$PY" "$LAB_TMP/udp_client.py" \
  "$LAB_TMP/started" "$LAB_TMP/go" >"$LAB_TMP/udp_out" 2>&1 &
UDPC=$!
LAB_PIDS+=("$UDPC")
check "(g) a UDP exchange with the server is under way" quietly within 6000 test -e "$LAB_TMP/started"
before=$(resyncs)
H addr del 198.51.100.5/24 dev eth0
H addr add 198.51.100.6/24 dev eth0
H route replace default via 198.51.100.1
resynced_g() { (($(resyncs) > before)); }
check "(g) the host renumbered (.5 -> .6): pasta re-syncs" quietly within 2000 resynced_g
sleep 0.3  # the debounce of a second notification, if any
touch "$LAB_TMP/go"
wait "$UDPC"
out=$(cat "$LAB_TMP/udp_out")
echo "   $out"
check "(g) the same UDP socket gets its echo after the renumbering" \
  contains "$out" "before: True; after: True"
kill "$PASTA_PID" 2>/dev/null
wait_gone "$PASTA_PID" 5
lab_finish
