# Shared by the port forwarding lab tests (forward.sh, port_specs.sh,
# pesto.sh): pasta runs in the host netns attached (--netns) to a third
# namespace, the "target", where the tests start and stop servers at will;
# forward_tool.py is the client and server. Source after lib.sh's lab_up,
# with MIB (the test file's size) set; define target_setup to prepare the
# target before pasta attaches.
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
TOOL=("$PY" "$DIR/forward_tool.py")
UDP_TOOL=("$PY" "$DIR/udp_tool.py")
TARGET="${LAB_ID}t"
LAB_EXTRA_NS+=("$TARGET")

# Every command gets at most what is left of a budget that ends before
# ctest's TIMEOUT (180 s), so a hang costs its own checks, not the report.
BUDGET_END=$((SECONDS + 160))
limit() {
  local left=$((BUDGET_END - SECONDS))
  if ((left < 5)); then left=5; fi
  if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

server() { ip netns exec "$SERVER_NS" "$@"; }
# netns host|server|target: that namespace's name.
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

# pasta_up [OPTION]...: a fresh target netns, pasta attached to it in the
# foreground (messages in $LAB_TMP/pasta.log); waits (at most 5 s) until
# the namespace has both addresses usable.
PASTA_PID=
PASTA_OPTS=
pasta_up() {
  PASTA_OPTS=$*
  ip netns add "$TARGET" || return 1
  # A test may prepare the target first (addresses, say).
  if declare -F target_setup >/dev/null; then target_setup || return 1; fi
  # Not through in_host: $! must be pasta's own timeout.
  ip netns exec "$HOST_NS" timeout "$(limit 150)" "$PASTA" --config-net -f -e --netns "$TARGET" "$@" \
    >"$LAB_TMP/pasta.log" 2>&1 &
  PASTA_PID=$!
  LAB_PIDS+=("$PASTA_PID")
  configured "pasta $*"
}

# configured WHAT: waits up to 5 s for pasta ($PASTA_PID, logging to
# $LAB_TMP/pasta.log) to give the target's eth0 its IPv4 address and a
# usable (no longer tentative) IPv6 one; if it does not, or quits first,
# says so with what pasta said.
configured() {
  local i out
  for ((i = 0; i < 50; i++)); do
    out=$(ip -n "$TARGET" addr show dev eth0 2>/dev/null)
    if grep -q "inet 198.51.100.2/" <<<"$out" && grep "inet6 2001:db8:1::2/" <<<"$out" |
      grep -qv tentative; then
      return 0
    fi
    kill -0 "$PASTA_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "  $1 did not set up the namespace; it said:" >&2
  sed 's/^/    /' "$LAB_TMP/pasta.log" >&2
  return 1
}

# pasta_down: ends pasta (a check: SIGTERM ends it with status 0 and no
# sanitizer report) and whatever runs in the target, deletes it.
pasta_down() {
  local rc
  if [ -n "$PASTA_PID" ]; then
    kill "$PASTA_PID" 2>/dev/null
    wait_gone "$PASTA_PID" 5
    wait "$PASTA_PID" 2>/dev/null
    rc=$?
    check "pasta ${PASTA_OPTS:-(defaults)}: SIGTERM ends it cleanly" clean_exit "$rc"
  fi
  ip netns pids "$TARGET" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$TARGET" 2>/dev/null
  PASTA_PID=
}

# clean_exit STATUS: pasta's STATUS is 0 and its log has no sanitizer report.
clean_exit() {
  if [ "$1" = 0 ] && ! grep -qE "Sanitizer|runtime error" "$LAB_TMP/pasta.log"; then
    return 0
  fi
  echo "  exit status $1; pasta said:" >&2
  tail -n 30 "$LAB_TMP/pasta.log" | sed 's/^/    /' >&2
  return 1
}

# serve NETNS ADDRS PORTS: forward_tool.py serve in NETNS (sends $BIG on
# GET); waits (at most 5 s) until it listens. Its PID is in SERVE_PID, and
# added to SERVE_PIDS.
SERVE_PID=
SERVE_PIDS=()
serve() {
  local ready i
  ready="$LAB_TMP/ready.$RANDOM$RANDOM"
  # Not through a function: $! must be the server itself (ip netns exec
  # execs timeout, which passes SIGTERM on).
  ip netns exec "$(netns "$1")" timeout "$(limit 150)" "${TOOL[@]}" serve "$2" "$3" 150 "$BIG" "$ready" &
  SERVE_PID=$!
  SERVE_PIDS+=("$SERVE_PID")
  LAB_PIDS+=("$SERVE_PID")
  for ((i = 0; i < 50; i++)); do
    [ -e "$ready" ] && return 0
    sleep 0.1
  done
  echo "  the server on $2 port(s) $3 in $1 did not come up" >&2
  return 1
}

# stop_server PID: stops that server (bounded).
stop_server() {
  kill "$1" 2>/dev/null
  wait_gone "$1" 5
  wait "$1" 2>/dev/null
}

# unserve: stops the server in SERVE_PID (the last one started, unless the
# test set it); unserve_all: every server started.
unserve() {
  [ -n "$SERVE_PID" ] && stop_server "$SERVE_PID"
  SERVE_PID=
}
unserve_all() {
  local pid
  for pid in "${SERVE_PIDS[@]}"; do stop_server "$pid"; done
  SERVE_PIDS=()
  SERVE_PID=
}

# The file: $MIB MiB of random bytes.
BIG="$LAB_TMP/big"
head -c "${MIB}M" /dev/urandom >"$BIG"
BIG_EXPECT="$(stat -c %s "$BIG") $(sha256sum <"$BIG" | cut -d' ' -f1)"

# moved get|put NETNS ADDR PORT: the 100 MiB file downloaded from (get) or
# uploaded to (put, then half-closed: the server answers after our end of
# stream) ADDR:PORT from NETNS; true if byte count and SHA-256 match.
moved() {
  local how=$1 ns=$2 addr=$3 port=$4 out rc t0 ms
  t0=$(date +%s%N)
  if [ "$how" = get ]; then
    out=$(at "$ns" timeout "$(limit 60)" "${TOOL[@]}" get "$addr" "$port" 2>&1)
  else
    out=$(at "$ns" timeout "$(limit 60)" "${TOOL[@]}" put "$addr" "$port" "$BIG" 2>&1)
  fi
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  if [ $rc = 0 ] && [ "$out" = "$BIG_EXPECT" ]; then
    echo "   $MIB MiB in $ms ms"
    return 0
  fi
  printf '  exit status %s after %s ms; got "%s", expected "%s"\n' "$rc" "$ms" \
    "$(tail -c 300 <<<"$out")" "$BIG_EXPECT" >&2
  return 1
}

# answers NETNS ADDR HOSTPORT:WANT...: each HOSTPORT, probed from NETNS at
# ADDR, answers WANT (the port the server was reached on), or "refused"
# when WANT is "refused".
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

# came_via spliced|tap NETNS ADDR PORT: the namespace's server sees a
# connection from NETNS to ADDR:PORT come from its own loopback (spliced)
# or from an address that is not a loopback one (the tap).
came_via() {
  local got
  got=$(at "$2" timeout 10 "${TOOL[@]}" peer "$3" "$4" 2>&1)
  case $1:$got in
    # Spliced: from a socket pasta opened in the namespace, to (and so
    # from) the namespace's own address, as upstream since 2024 (its
    # loopback only with --host-lo-to-ns-lo); over the tap: from elsewhere.
    spliced:198.51.100.2 | spliced:2001:db8:1::2) ;;
    spliced-lo:127.0.0.1 | spliced-lo:::1) ;;
    tap:*.*.*.* | tap:*:*)
      case $got in 127.* | ::1 | ::ffff:127.* | 198.51.100.2 | 2001:db8:1::2) false ;; esac ;;
    *) false ;;
  esac || {
    echo "  expected a $1 connection; the server saw it come from: $got" >&2
    return 1
  }
  echo "   the server saw it come from $got"
}

# came_from NETNS ADDR PORT WANT: the namespace's server sees a connection
# from NETNS to ADDR:PORT come from WANT (a link-local one without %scope).
came_from() {
  local got
  got=$(at "$1" timeout 10 "${TOOL[@]}" peer "$2" "$3" 2>&1)
  got=${got%%%*}
  if [ "$got" = "$4" ]; then
    echo "   the server saw it come from $got"
    return 0
  fi
  echo "  expected the server to see $4; it saw: $got" >&2
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

# unbound NETNS PORT SECONDS: nothing listens on TCP PORT in NETNS at any
# time for SECONDS (polled every 0.1 s).
unbound() {
  local i out
  for ((i = 0; i < $3 * 10; i++)); do
    out=$(at "$1" ss -Hltn "sport = :$2")
    if [ -n "$out" ]; then
      printf '  a listener on port %s after %s ms:\n%s\n' "$2" $((i * 100)) "$out" >&2
      return 1
    fi
    sleep 0.1
  done
  return 0
}

