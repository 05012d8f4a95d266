#!/usr/bin/env bash
# --splice-only: no tap in the namespace (only its loopback, brought up),
# and forwarding between the loopbacks only: -t from the host's loopback
# reaches the namespace's loopback (IPv4 and IPv6, bytes intact both ways),
# -T from the namespace's loopback reaches the host's, -u datagrams from
# the host's loopback are echoed; a connection to the -t port from another
# address (the server netns) reaches nothing; what needs a tap is refused
# with one line.
#
# pasta runs in the host netns attached (--netns) to a third namespace, the
# "target", as in forward.sh (with --config-net, which has nothing to do).
. "$(dirname "$0")/lib.sh"
lab_up
MIB=20
. "$(dirname "$0")/forward_lib.sh"

# listening NETNS tcp|udp PORT: something listens on PORT in NETNS.
listening() {
  local flag=-Hltn
  [ "$2" = udp ] && flag=-Hlun
  [ -n "$(at "$1" ss "$flag" "sport = :$3")" ]
}

# splice_up [OPTION]...: a fresh target netns, pasta --splice-only attached
# to it; waits (at most 5 s) for its -t 8080 listener on the host and its
# -T 5432 listener in the target.
splice_up() {
  local i
  PASTA_OPTS="--splice-only $*"
  ip netns add "$TARGET" || return 1
  ip netns exec "$HOST_NS" timeout "$(limit 150)" "$PASTA" --config-net -f -e --splice-only \
    --netns "$TARGET" "$@" >"$LAB_TMP/pasta.log" 2>&1 &
  PASTA_PID=$!
  LAB_PIDS+=("$PASTA_PID")
  for ((i = 0; i < 50; i++)); do
    if listening host tcp 8080 && listening target tcp 5432; then return 0; fi
    kill -0 "$PASTA_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "  pasta --splice-only $* did not come up; it said:" >&2
  sed 's/^/    /' "$LAB_TMP/pasta.log" >&2
  return 1
}

# only_loopback: the target has one link, lo, and it is up.
only_loopback() {
  local links
  links=$(ip -n "$TARGET" -o link show | awk -F': ' '{print $2}')
  equals "$links" lo || return 1
  ip -n "$TARGET" -o link show dev lo | grep -q "[<,]UP[,>]" || {
    echo "  lo is not up: $(ip -n "$TARGET" -o link show dev lo)" >&2
    return 1
  }
  echo "   links: $links (up)"
}

# udp_echoed ADDR: datagrams from the host's loopback to ADDR port 5353
# come back (udp_tool.py client checks each one).
udp_echoed() {
  local out
  out=$(at host timeout "$(limit 30)" "${UDP_TOOL[@]}" client "$1" 5353 100 2>&1) || {
    echo "  $out" >&2
    return 1
  }
  echo "   $out"
}

if splice_up -t 8080 -T 5432 -u 5353 &&
  serve target 0.0.0.0,:: 8080 && serve host 127.0.0.1,::1 5432; then
  check "--splice-only: no tap, only the namespace's loopback, up" only_loopback
  check "--splice-only -t 8080, IPv4: the host's loopback reaches the namespace's loopback" \
    came_via spliced-lo host 127.0.0.1 8080
  check "--splice-only -t 8080, IPv6: the host's loopback reaches the namespace's loopback" \
    came_via spliced-lo host ::1 8080
  check "--splice-only -t 8080, IPv4: $MIB MiB from the namespace intact" \
    moved get host 127.0.0.1 8080
  check "--splice-only -t 8080, IPv6: $MIB MiB to the namespace intact" \
    moved put host ::1 8080
  check "--splice-only -t 8080: from the server netns (not a loopback), nothing is reached" \
    not_reached server 198.51.100.2 8080
  check "--splice-only -t 8080: IPv6 from the server netns, nothing is reached" \
    not_reached server 2001:db8:1::2 8080
  check "--splice-only -T 5432, IPv4: the namespace's loopback reaches the host's" \
    answers target 127.0.0.1 5432:5432
  check "--splice-only -T 5432, IPv6: $MIB MiB from the host's loopback intact" \
    moved get target ::1 5432
  ip netns exec "$TARGET" timeout "$(limit 60)" "${UDP_TOOL[@]}" echo 127.0.0.1 5353 50 >/dev/null &
  LAB_PIDS+=("$!")
  ip netns exec "$TARGET" timeout "$(limit 60)" "${UDP_TOOL[@]}" echo ::1 5353 50 >/dev/null &
  LAB_PIDS+=("$!")
  sleep 0.3
  check "--splice-only -u 5353, IPv4: datagrams from the host's loopback echoed by the namespace's loopback" \
    udp_echoed 127.0.0.1
  check "--splice-only -u 5353, IPv6: datagrams from the host's loopback echoed by the namespace's loopback" \
    udp_echoed ::1
else
  check "--splice-only: pasta and the servers came up" false
fi
unserve_all
pasta_down

# Refused with one line: what only the tap could carry.
refused() {
  local out rc
  out=$(in_host timeout 10 "$PASTA" -f --splice-only --netns "$HOST_NS" "$@" 2>&1)
  rc=$?
  if [ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -qF -- "$EXPECT" <<<"$out"; then
    echo "   $out"
    return 0
  fi
  echo "  exit status $rc; expected one line with '$EXPECT'; got: $out" >&2
  return 1
}
EXPECT="--splice-only conflicts with --no-splice"
check "--splice-only --no-splice: refused in one line" refused --no-splice
EXPECT="a target address (PORT:ADDR) needs the tap"
check "--splice-only with a target address: refused in one line" \
  refused -t 0.0.0.0/5000:192.0.2.5/6000
EXPECT="--splice-only conflicts with --fd"
check "--splice-only -F: refused in one line" refused -F 5

lab_finish
