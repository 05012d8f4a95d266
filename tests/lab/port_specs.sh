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
DIR="$(cd "$(dirname "$0")" && pwd)"
PY=/usr/bin/python3
TOOL=("$PY" "$DIR/forward_tool.py")
UDP_TOOL=("$PY" "$DIR/udp_tool.py")
TARGET="${LAB_ID}t"
LAB_EXTRA_NS+=("$TARGET")

# Every command gets at most what is left of a budget that ends before
# ctest's TIMEOUT (180 s).
BUDGET_END=$((SECONDS + 160))
limit() {
  local left=$((BUDGET_END - SECONDS))
  if ((left < 5)); then left=5; fi
  if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

netns() {
  case $1 in
    host) echo "$HOST_NS" ;;
    server) echo "$SERVER_NS" ;;
    target) echo "$TARGET" ;;
  esac
}
# at host|server|target COMMAND...: COMMAND in that namespace.
at() {
  local ns
  ns=$(netns "$1")
  shift
  ip netns exec "$ns" "$@"
}

# pasta_up [OPTION]...: a fresh target netns with the extra addresses the
# target-address rules send to (on its loopback: the namespace takes them
# from its interface as its own), pasta attached to it; waits (at most 5 s)
# until the namespace's addresses are usable.
PASTA_PID=
PASTA_OPTS=
pasta_up() {
  local i out
  PASTA_OPTS=$*
  ip netns add "$TARGET" || return 1
  ip -n "$TARGET" link set lo up
  ip -n "$TARGET" addr add 192.0.2.5/32 dev lo
  ip -n "$TARGET" addr add 2001:db8:5::5/128 dev lo nodad
  ip netns exec "$HOST_NS" timeout "$(limit 150)" "$PASTA" --config-net -f -e --netns "$TARGET" "$@" \
    >"$LAB_TMP/pasta.log" 2>&1 &
  PASTA_PID=$!
  LAB_PIDS+=("$PASTA_PID")
  for ((i = 0; i < 50; i++)); do
    out=$(ip -n "$TARGET" addr show dev eth0 2>/dev/null)
    if grep -q "inet 198.51.100.2/" <<<"$out" && grep "inet6 2001:db8:1::2/" <<<"$out" |
      grep -qv tentative; then
      return 0
    fi
    kill -0 "$PASTA_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "  pasta $* did not set up the namespace; it said:" >&2
  sed 's/^/    /' "$LAB_TMP/pasta.log" >&2
  return 1
}

# pasta_down: SIGTERM ends pasta with status 0 (a check); the target and
# what runs in it go.
pasta_down() {
  local rc
  if [ -n "$PASTA_PID" ]; then
    kill "$PASTA_PID" 2>/dev/null
    wait_gone "$PASTA_PID" 5
    wait "$PASTA_PID" 2>/dev/null
    rc=$?
    check "pasta $PASTA_OPTS: SIGTERM ends it cleanly" clean_exit "$rc"
  fi
  ip netns pids "$TARGET" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$TARGET" 2>/dev/null
  PASTA_PID=
}

clean_exit() {
  if [ "$1" = 0 ] && ! grep -qE "Sanitizer|runtime error" "$LAB_TMP/pasta.log"; then
    return 0
  fi
  echo "  exit status $1; pasta said:" >&2
  tail -n 30 "$LAB_TMP/pasta.log" | sed 's/^/    /' >&2
  return 1
}

# serve NETNS ADDRS PORTS: forward_tool.py serve in NETNS; waits (at most
# 5 s) until it listens. Adds its PID to SERVE_PIDS.
SERVE_PIDS=()
serve() {
  local ready i
  ready="$LAB_TMP/ready.$RANDOM$RANDOM"
  ip netns exec "$(netns "$1")" timeout "$(limit 150)" "${TOOL[@]}" serve "$2" "$3" 150 "$BIG" "$ready" &
  SERVE_PIDS+=($!)
  LAB_PIDS+=($!)
  for ((i = 0; i < 50; i++)); do
    [ -e "$ready" ] && return 0
    sleep 0.1
  done
  echo "  the server on $2 port(s) $3 in $1 did not come up" >&2
  return 1
}
# unserve: stops the servers started.
unserve() {
  local pid
  for pid in "${SERVE_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait_gone "$pid" 5
    wait "$pid" 2>/dev/null
  done
  SERVE_PIDS=()
}

# 8 MiB of random bytes, moved both ways.
BIG="$LAB_TMP/big"
head -c 8M /dev/urandom >"$BIG"
BIG_EXPECT="$(stat -c %s "$BIG") $(sha256sum <"$BIG" | cut -d' ' -f1)"
# moved get|put NETNS ADDR PORT: the file downloaded from (get) or uploaded
# to (put) ADDR:PORT from NETNS; true if byte count and SHA-256 match.
moved() {
  local out rc
  if [ "$1" = get ]; then
    out=$(at "$2" timeout "$(limit 30)" "${TOOL[@]}" get "$3" "$4" 2>&1)
  else
    out=$(at "$2" timeout "$(limit 30)" "${TOOL[@]}" put "$3" "$4" "$BIG" 2>&1)
  fi
  rc=$?
  if [ $rc = 0 ] && [ "$out" = "$BIG_EXPECT" ]; then
    echo "   $out"
    return 0
  fi
  printf '  exit status %s; got "%s", expected "%s"\n' "$rc" "$(tail -c 300 <<<"$out")" \
    "$BIG_EXPECT" >&2
  return 1
}

# answers NETNS ADDR HOSTPORT:WANT...: each HOSTPORT, probed from NETNS at
# ADDR, answers WANT (the port the server was reached on), or "refused".
answers() {
  local ns=$1 addr=$2 pair hp want got bad=0 seen=()
  shift 2
  for pair in "$@"; do
    hp=${pair%%:*}
    want=${pair#*:}
    got=$(at "$ns" timeout 10 "${TOOL[@]}" port "$addr" "$hp" 2>&1)
    seen+=("$hp->$got")
    [ "$got" = "$want" ] || bad=1
  done
  if [ $bad = 0 ]; then
    echo "   ${seen[*]}"
    return 0
  fi
  echo "  expected $*; got ${seen[*]}" >&2
  return 1
}

# not_reached NETNS ADDR PORT: a connection from NETNS to ADDR:PORT is
# refused or reset, and reaches no server.
not_reached() {
  local got
  got=$(at "$1" timeout 10 "${TOOL[@]}" port "$2" "$3" 2>&1)
  case $got in
    refused* | reset* | *ConnectionResetError* | closed*)
      echo "   $got"
      return 0
      ;;
  esac
  echo "  expected no server; got $got" >&2
  return 1
}

# waits NETNS ADDR PORT STATE SECONDS: PORT at ADDR, probed from NETNS,
# reaches STATE ("open" or "refused") within SECONDS.
waits() {
  local out rc
  out=$(at "$1" timeout 20 "${TOOL[@]}" wait "$2" "$3" "$4" "$5" 2>&1)
  rc=$?
  if [ $rc = 0 ]; then
    echo "   $out"
    return 0
  fi
  echo "  $out" >&2
  return 1
}

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
unserve
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
unserve
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
unserve
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
