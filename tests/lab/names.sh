#!/usr/bin/env bash
# Names and the resolver: -H and --fqdn reach a DHCP client (busybox
# udhcpc: options 12 and 81) and a DHCPv6 client (names_tool.py: option
# 39), -H names the spawned command's UTS namespace (without it, "pasta-"
# and the host's name, as upstream); --dns-host picks the resolver that
# --dns-forward queries go to; --stats prints the counters while traffic
# flows, at most once a second here.
. "$(dirname "$0")/lib.sh"
lab_up
DIR="$(cd "$(dirname "$0")" && pwd)"
PY=/usr/bin/python3
TOOL=("$PY" "$DIR/names_tool.py")

# --- DHCPv4: options 12 and 81 -------------------------------------------------
cat >"$LAB_TMP/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] && echo "ip=$ip hostname=$hostname opt81=$opt81" > "$UDHCPC_OUT"
exit 0
SCRIPT
chmod +x "$LAB_TMP/udhcpc.sh"
# udhcpc -F sends its own option 81 with flag S (please update my A record):
# we answer with O set (we override that), E and N, RCODEs 255.
UDHCPC_OUT="$LAB_TMP/lease" in_host timeout 20 "$PASTA" -H labbox --fqdn labbox.example.test -- \
  sh -c 'ip link set eth0 up && busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 -O hostname -O 81 -F pc -s "$0"' \
  "$LAB_TMP/udhcpc.sh" >"$LAB_TMP/udhcpc.log" 2>&1
rc=$?
lease=$(cat "$LAB_TMP/lease" 2>/dev/null)
echo "   lease: $lease"
check "udhcpc gets a lease" test $rc = 0
check "DHCP option 12: the -H name" contains "$lease" "hostname=labbox "
check "DHCP option 81: flags O|E|N, RCODEs 255, the --fqdn name in DNS wire format" \
  contains "$lease" "opt81=0effff066c6162626f78076578616d706c65047465737400"
# -H alone: option 12 only, no option 81 made up from it.
UDHCPC_OUT="$LAB_TMP/lease2" in_host timeout 20 "$PASTA" -H labbox -- \
  sh -c 'ip link set eth0 up && busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 -O hostname -O 81 -s "$0"' \
  "$LAB_TMP/udhcpc.sh" >>"$LAB_TMP/udhcpc.log" 2>&1
lease=$(cat "$LAB_TMP/lease2" 2>/dev/null)
check "-H alone: option 12, no option 81" equals "$lease" "ip=198.51.100.2 hostname=labbox opt81="

# --- DHCPv6: option 39 ---------------------------------------------------------
out=$(in_host timeout 30 "$PASTA" --fqdn labbox.example.test -- \
  sh -c 'ip link set eth0 up && "$0" "$1" dhcp6 eth0' "${TOOL[@]}" 2>&1)
echo "   dhcpv6: $out"
# The client's option has S: flags O|N (6).
check "DHCPv6 option 39: the --fqdn name, flags O|N" contains "$out" "fqdn=labbox.example.test flags=6"
out=$(in_host timeout 30 "$PASTA" -H labbox -- \
  sh -c 'ip link set eth0 up && "$0" "$1" dhcp6 eth0' "${TOOL[@]}" 2>&1)
check "DHCPv6 without --fqdn: no option 39" contains "$out" "fqdn=none"

# --- The spawned command's host name -------------------------------------------
out=$(in_host timeout 10 "$PASTA" -q -H labbox -- uname -n)
check "-H names the command's UTS namespace" equals "$out" "labbox"
host_name=$(in_host uname -n)
out=$(in_host timeout 10 "$PASTA" -q -- uname -n)
check "without -H: pasta- and the host's name" equals "$out" "$(printf 'pasta-%s' "$host_name" | cut -c1-64)"
check "the host's own name is unchanged" equals "$(in_host uname -n)" "$host_name"
long=$(printf 'h%.0s' $(seq 70))
out=$(in_host timeout 10 "$PASTA" -H "$long" -- uname -n 2>&1)
check "-H too long for the kernel: a warning, the command still runs" \
  contains "$out" "cannot set the host name '$long'"

# --- --dns-host ----------------------------------------------------------------
# Two resolvers beyond the gateway, telling their answers apart.
ip -n "$SERVER_NS" addr add 203.0.113.53/32 dev lo
ip -n "$SERVER_NS" addr add 203.0.113.54/32 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
ip netns exec "$SERVER_NS" "${TOOL[@]}" dns-serve 203.0.113.53 203.0.113.10 &
LAB_PIDS+=($!)
ip netns exec "$SERVER_NS" "${TOOL[@]}" dns-serve 203.0.113.54 203.0.113.11 &
LAB_PIDS+=($!)
sleep 0.5
query=("${TOOL[@]}" dns-query 203.0.113.99 name.example.test)
out=$(in_host timeout 20 "$PASTA" --config-net -D 203.0.113.54 --dns-forward 203.0.113.99 \
  --dns-host 203.0.113.53 -- "${query[@]}" 2>"$LAB_TMP/dns.err")
check "--dns-host: forwarded queries go to that resolver" equals "$out" "203.0.113.10"
out=$(in_host timeout 20 "$PASTA" --config-net -D 203.0.113.54 --dns-forward 203.0.113.99 \
  -- "${query[@]}" 2>>"$LAB_TMP/dns.err")
check "without --dns-host: to the first -D address" equals "$out" "203.0.113.11"

# --- --stats -------------------------------------------------------------------
# 4 s of pings, five a second: a line at the first event, then one a second
# while the counters change (not a tight timing check).
err=$(in_host timeout 20 "$PASTA" -f --stats 1 --config-net -- \
  ping -c 20 -i 0.2 -W 1 198.51.100.1 2>&1 >/dev/null)
lines=$(grep -c '^stats: tap: ' <<<"$err")
echo "   $lines stats lines; the last: $(grep '^stats: ' <<<"$err" | tail -1 | cut -c1-150)..."
check "--stats 1: 3 to 7 lines over 4 s of traffic" test "$lines" -ge 3 -a "$lines" -le 7
check "--stats: the counters of every part" grep -q '^stats: tap: .* | udp: .* | tcp: ' <<<"$err"
err=$(in_host timeout 20 "$PASTA" -f --config-net -- ping -c 5 -i 0.2 -W 1 198.51.100.1 2>&1 >/dev/null)
check "without --stats: no lines" lacks "$err" "stats:"
lab_finish
