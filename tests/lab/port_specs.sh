#!/usr/bin/env bash
# The port specification forms of upstream's 2026-05/07 releases, end to end
# with real clients: `*/PORT` listens on both families; `ADDR/PORT:TOADDR/TO`
# delivers to a server that listens only on TOADDR in the namespace (bytes
# intact, TCP both ways and UDP echoes), also from the host's loopback, where
# a rule without it does not reach that server; `RANGE,auto` (-t and -T)
# forwards a port a server opens inside the range, not one outside or
# excluded; `-a ADDR/PREFIX` sets the prefix. Each refused form exits 1 with
# one line naming it.
#
# As forward.sh: pasta runs in the host netns attached (--netns) to a third
# namespace, the "target", where the servers run.
. "$(dirname "$0")/lib.sh"
lab_up
MIB=8
# The target-address rules send to extra addresses on the target's loopback
# (the namespace takes them as its own).
target_setup() {
  ip -n "$TARGET" link set lo up &&
    ip -n "$TARGET" addr add 192.0.2.5/32 dev lo &&
    ip -n "$TARGET" addr add 2001:db8:5::5/128 dev lo nodad
}
. "$(dirname "$0")/forward_lib.sh"

# udp_echoed NETNS ADDR PORT: 100 datagrams from NETNS to ADDR:PORT come
# back intact.
udp_echoed() {
  local out
  out=$(at "$1" timeout "$(limit 30)" "${UDP_TOOL[@]}" client "$2" "$3" 100 2>&1) || {
    echo "  $out" >&2
    return 1
  }
  echo "   $out"
}

# 1. -t '*/8080': the wildcard address, IPv4 and IPv6.
if pasta_up -t '*/8080' && serve target 0.0.0.0,:: 8080; then
  want=(8080:8080)
  check "-t */8080, IPv4: answers from the host's loopback" answers host 127.0.0.1 "${want[@]}"
  check "-t */8080, IPv6: answers from the host's loopback" answers host ::1 "${want[@]}"
  check "-t */8080, IPv4: answers from the server netns" answers server 198.51.100.2 "${want[@]}"
  check "-t */8080, IPv6: answers from the server netns" answers server 2001:db8:1::2 "${want[@]}"
else
  check "-t */8080: pasta and the namespace's server came up" false
fi
unserve_all
pasta_down

# 2. Target addresses: servers listen only on 192.0.2.5 and 2001:db8:5::5
# in the namespace (not its interface address); -t 5002:6000 has none and
# does not reach them.
t4='0.0.0.0/5000:192.0.2.5/6000'
t6='[::]/5001:[2001:db8:5::5]/6001'
u4='0.0.0.0/5353:192.0.2.5/5354'
if pasta_up -t "$t4" -t "$t6" -t 5002:6000 -u "$u4" &&
  serve target 192.0.2.5 6000 && serve target 2001:db8:5::5 6001; then
  at target timeout "$(limit 60)" "${UDP_TOOL[@]}" echo 192.0.2.5 5354 50 >/dev/null &
  echo_pid=$!
  LAB_PIDS+=("$echo_pid")
  check "-t $t4: from the server netns, lands on 192.0.2.5 port 6000" \
    answers server 198.51.100.2 5000:6000
  check "-t $t4: 8 MiB from 192.0.2.5 to the server netns intact" \
    moved get server 198.51.100.2 5000
  check "-t $t4: 8 MiB from the server netns to 192.0.2.5 intact" \
    moved put server 198.51.100.2 5000
  check "-t $t4: from the host's loopback too (over the tap, not spliced)" \
    answers host 127.0.0.1 5000:6000
  check "-t $t4: 8 MiB from the host's loopback to 192.0.2.5 intact" \
    moved put host 127.0.0.1 5000
  check "-t $t4: listens on IPv4 only (::1 refused)" answers host ::1 5000:refused
  check "-t $t6: from the server netns, lands on 2001:db8:5::5 port 6001" \
    answers server 2001:db8:1::2 5001:6001
  check "-t $t6: 8 MiB from 2001:db8:5::5 to the server netns intact" \
    moved get server 2001:db8:1::2 5001
  check "-t $t6: from the host's loopback too" answers host ::1 5001:6001
  check "-t 5002:6000 (no target address): the server on 192.0.2.5 is not reached" \
    not_reached server 198.51.100.2 5002
  check "-u $u4: 100 datagrams from the server netns echoed by 192.0.2.5" \
    udp_echoed server 198.51.100.2 5353
  check "-u $u4: 100 datagrams from the host's loopback echoed too" \
    udp_echoed host 127.0.0.1 5353
  kill "$echo_pid" 2>/dev/null
  wait "$echo_pid" 2>/dev/null
else
  check "target addresses: pasta and the namespace's servers came up" false
fi
unserve_all
pasta_down

# 3. RANGE,auto: -t follows the namespace's servers inside 8000-8010 but
# 8003; -T the host's inside 5600-5601.
if serve host 127.0.0.1 5600,5700 && pasta_up -t 8000-8010,~8003,auto -T 5600-5601,auto &&
  serve target 0.0.0.0,:: 8003,8005,9005; then
  check "-t 8000-8010,~8003,auto: a new server on 8005 reachable within 2.5 s" \
    waits host 127.0.0.1 8005 open 2.5
  check "-t 8000-8010,~8003,auto: from the server netns too" \
    answers server 198.51.100.2 8005:8005
  sleep 1.5
  check "-t 8000-8010,~8003,auto: 9005 (outside) and 8003 (excluded) refused after 2.5 s" \
    answers host 127.0.0.1 9005:refused 8003:refused
  check "-T 5600-5601,auto: the host's server on 5600 reachable from the namespace" \
    waits target 127.0.0.1 5600 open 2.5
  check "-T 5600-5601,auto: 5700 (outside) refused" answers target 127.0.0.1 5700:refused
else
  check "RANGE,auto: pasta and the servers came up" false
fi
unserve_all
pasta_down

# 4. -a ADDR/PREFIX sets the prefix too.
out=$(at host timeout 20 "$PASTA" --config-net -a 198.51.100.77/28 -- ip -br -4 addr show eth0 2>&1)
check "-a 198.51.100.77/28: the namespace has 198.51.100.77/28" contains "$out" "198.51.100.77/28"

# 5. Refused forms: exit 1 at once, one line naming the spec.
refused() {
  local what=$1 err rc
  shift
  err=$(at host timeout 10 "$PASTA" --config-net "$@" -- true 2>&1 >/dev/null)
  rc=$?
  if [ $rc = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -qF -- "$what" <<<"$err"; then
    echo "   $err"
    return 0
  fi
  printf '  exit status %s (expected 1), stderr:\n%s\n' "$rc" "$err" >&2
  return 1
}
for spec in '5000:192.0.2.5/6000' '*/5000:192.0.2.5' '::1/5000:192.0.2.5' \
  '0.0.0.0/5000:127.0.0.1' '8000:9000,auto' '127.0.0.1/8000,auto' '**/80'; do
  check "-t $spec: exit 1, one line naming the spec" refused "$spec" -t "$spec"
done
check "-T */8080: exit 1, one line naming the spec" refused "*/8080" -T '*/8080'
check "-U 5000:192.0.2.5/6000: exit 1, one line naming the spec" \
  refused "5000:192.0.2.5/6000" -U 5000:192.0.2.5/6000
check "-a 198.51.100.77/28 -n 24: exit 1, one line" \
  refused "prefix length already given" -a 198.51.100.77/28 -n 24
check "-a 2001:db8:1::77/64 -n 24: exit 1, one line" \
  refused "prefix length already given" -a 2001:db8:1::77/64 -n 24

lab_finish
