#!/usr/bin/env bash
# TCP as a user sees it through pasta, IPv4 and IPv6: curl downloads and
# socat uploads of 100 MiB arrive intact (also when the command exits right
# after its upload), 200 connections at once each move 1 MiB intact, a
# closed port is refused at once, a half-closed connection still gets its
# answer, -t forwards host ports into the namespace (100 MiB both ways), and
# transfers survive 1% loss and reordering on the tap.
# Needs curl, socat, python3 (/usr/bin/python3), iproute2 (ip, ss, tc).
. "$(dirname "$0")/lib.sh"
lab_up
TOOL="$(cd "$(dirname "$0")" && pwd)/tcp_tool.py"
PY=/usr/bin/python3

# Servers live on addresses behind the server netns, as in udp.sh: to the
# namespace, the gateway address 198.51.100.1 is the host's loopback.
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$SERVER_NS" addr add 2001:db8:2::1/128 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$HOST_NS" -6 route add 2001:db8:2::/64 via 2001:db8:1::1
server() { ip netns exec "$SERVER_NS" "$@"; }

# Every command gets at most what is left of a budget that ends before
# ctest's TIMEOUT (300 s), so a hang costs its own checks, not the report.
BUDGET_END=$((SECONDS + 250))
limit() {
  local left=$((BUDGET_END - SECONDS))
  if ((left < 5)); then left=5; fi
  if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

# ns SECONDS [PASTA OPTION]... -- COMMAND...: COMMAND in a new namespace
# behind pasta.
ns() {
  local t
  t=$(limit "$1")
  shift
  in_host timeout "$t" "$PASTA" --config-net "$@"
}

# In the namespace: 1% loss and reordering on its tap (eth0) both ways,
# then COMMAND; what the impairment did is printed after it.
IMPAIRED=(sh -c '"$0" impair eth0 || exit 99; "$@"; rc=$?; "$0" impaired eth0; exit $rc' "$TOOL")

# listening NETNS PORT...: waits (at most 5 s) until something in NETNS
# listens on every PORT.
listening() {
  local ns=$1 i p missing
  shift
  for ((i = 0; i < 50; i++)); do
    missing=0
    for p in "$@"; do
      [ -n "$(ip netns exec "$ns" ss -Hltn "sport = :$p")" ] || missing=1
    done
    [ $missing = 0 ] && return 0
    sleep 0.1
  done
  echo "  nothing listens on port(s) $* in $ns" >&2
  return 1
}

# wait_file FILE SECONDS: true once FILE exists (bounded).
wait_file() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# arrived FILE SUM COMMAND...: runs COMMAND, which is to produce FILE; true
# if it succeeded and FILE has the SHA-256 SUM. Prints the time taken and
# what COMMAND said; on failure one line with what arrived.
arrived() {
  local file=$1 sum=$2 out rc got size ms t0
  shift 2
  rm -f "$file"
  t0=$(date +%s%N)
  out=$("$@" 2>&1)
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  got=$([ -f "$file" ] && sha256sum <"$file" | cut -d' ' -f1)
  size=$(stat -c %s "$file" 2>/dev/null || echo 0)
  rm -f "$file"
  [ -n "$out" ] && sed 's/^/   /' <<<"$out" | tail -n 4
  if [ "$rc" = 0 ] && [ "$got" = "$sum" ]; then
    echo "   $((size >> 20)) MiB in $ms ms"
    return 0
  fi
  local how="exit status $rc"
  [ "$rc" = 124 ] && how="timed out (status 124)"
  echo "  $how after $ms ms; $size bytes arrived, sha256 ${got:-none}, expected $sum" >&2
  return 1
}

# The files: 100 MiB and 20 MiB of random bytes.
WWW="$LAB_TMP/www"
mkdir -p "$WWW"
head -c 100M /dev/urandom >"$WWW/big"
head -c 20M /dev/urandom >"$WWW/mid"
BIG_SUM=$(sha256sum <"$WWW/big" | cut -d' ' -f1)
MID_SUM=$(sha256sum <"$WWW/mid" | cut -d' ' -f1)
RECV="$LAB_TMP/recv"

# Servers in the server netns, all bounded in time.
server timeout 290 "$PY" -m http.server --bind 203.0.113.1 --directory "$WWW" 8000 >/dev/null 2>&1 &
LAB_PIDS+=($!)
server timeout 290 "$PY" -m http.server --bind 2001:db8:2::1 --directory "$WWW" 8006 >/dev/null 2>&1 &
LAB_PIDS+=($!)
# Half-close: the answer (checksum, then a line a second later) comes only
# after the client's EOF.
half_server='sha256sum; sleep 1; echo after-eof'
server timeout 290 socat -t 20 TCP4-LISTEN:7100,bind=203.0.113.1,reuseaddr,fork SYSTEM:"$half_server" &
LAB_PIDS+=($!)
server timeout 290 socat -t 20 "TCP6-LISTEN:7106,bind=[2001:db8:2::1],reuseaddr,fork" SYSTEM:"$half_server" &
LAB_PIDS+=($!)
server timeout 290 "$TOOL" serve 203.0.113.1 9000 280 >/dev/null &
LAB_PIDS+=($!)
listening "$SERVER_NS" 8000 8006 7100 7106 9000 || exit 1

URL4=http://203.0.113.1:8000
URL6="http://[2001:db8:2::1]:8006"
# download URL SECONDS [PASTA OPTION]... -- [WRAPPER]...: curl in the
# namespace fetches URL into $RECV.
download() {
  local url=$1 t
  t=$(limit "$2")
  shift 2
  ns "$t" "$@" curl -sS -g --max-time "$t" -o "$RECV" "$url"
}
check "curl, IPv4: 100 MiB download intact" arrived "$RECV" "$BIG_SUM" download "$URL4/big" 90 --
check "curl, IPv6: 100 MiB download intact" arrived "$RECV" "$BIG_SUM" download "$URL6/big" 90 --

# upload LISTEN CONNECT FILE SECONDS [PASTA OPTION]... -- [WRAPPER]...:
# socat in the namespace sends FILE to CONNECT, with linger (its close
# waits until pasta has acknowledged everything); a one-shot socat in the
# server netns on LISTEN writes what it gets to $RECV. The command stays
# until that receiver has ended (pasta quits when its command does), unless
# UPLOAD_EXIT=now: then the command ends as soon as socat has closed.
UPLOAD_EXIT=stay
upload() {
  local listen=$1 connect=$2 file=$3 t spid npid rc src port
  t=$(limit "$4")
  shift 4
  port=${listen#*:}
  port=${port%%,*}
  rm -f "$RECV.done"
  # Not through server(): $! must be the process itself, for kill.
  ip netns exec "$SERVER_NS" timeout "$t" socat -u "$listen" "OPEN:$RECV,creat,trunc" &
  spid=$!
  if ! listening "$SERVER_NS" "$port"; then
    kill "$spid"
    return 1
  fi
  ns "$t" "$@" sh -c 'socat -u "OPEN:$1,rdonly" "$2"; rc=$?
    i=0
    while [ "$3" = stay ] && [ $i -lt 3000 ] && [ ! -e "$0" ]; do sleep 0.1; i=$((i + 1)); done
    exit $rc' "$RECV.done" "$file" "$connect,linger=$t" "$UPLOAD_EXIT" &
  npid=$!
  while kill -0 "$spid" 2>/dev/null && kill -0 "$npid" 2>/dev/null; do sleep 0.1; done
  # The receiver ends at the sender's EOF: give it 20 s at most after that.
  if kill -0 "$spid" 2>/dev/null && ! wait_gone "$spid" 20; then
    echo "  the receiving socat still waits 20 s after the namespace's command ended" >&2
    kill "$spid"
  fi
  touch "$RECV.done"
  wait "$npid"
  rc=$?
  wait "$spid"
  src=$?
  rm -f "$RECV.done"
  [ $rc = 0 ] || return $rc
  [ $src = 0 ] || echo "  the receiving socat failed (status $src)" >&2
  return $src
}
check "socat, IPv4: 100 MiB upload intact" \
  arrived "$RECV" "$BIG_SUM" upload TCP4-LISTEN:7200,bind=203.0.113.1,reuseaddr \
  TCP4:203.0.113.1:7200 "$WWW/big" 90 --
check "socat, IPv6: 100 MiB upload intact" \
  arrived "$RECV" "$BIG_SUM" upload "TCP6-LISTEN:7206,bind=[2001:db8:2::1],reuseaddr" \
  "TCP6:[2001:db8:2::1]:7206" "$WWW/big" 90 --

# The same with a command that ends as soon as its socat has closed: all
# was acknowledged by then, so pasta must still deliver it as it quits.
UPLOAD_EXIT=now
check "socat, IPv4: 100 MiB upload intact when the command exits at once" \
  arrived "$RECV" "$BIG_SUM" upload TCP4-LISTEN:7210,bind=203.0.113.1,reuseaddr \
  TCP4:203.0.113.1:7210 "$WWW/big" 90 --
UPLOAD_EXIT=stay

# 200 connections at once (half download, half upload), 1 MiB each.
out=$(ns 90 -- "$TOOL" many 203.0.113.1 9000 200 1048576 2>&1)
check "200 concurrent connections, 1 MiB each, all intact" test $? = 0
sed 's/^/   /' <<<"$out"

# A closed port: refused (curl exit 7, "Connection refused") within 2 s.
# refused OUT: OUT ends in "exit N after MS ms".
refused() {
  local rc ms
  read -r rc ms < <(sed -n 's/^exit \([0-9]*\) after \([0-9]*\) ms$/\1 \2/p' <<<"$1")
  if [ "$rc" = 7 ] && [ -n "$ms" ] && ((ms < 2000)) && grep -qF "Connection refused" <<<"$1"; then
    echo "   refused after $ms ms"
    return 0
  fi
  printf '  expected curl exit 7 and "Connection refused" within 2000 ms, got:\n%s\n' "$(grep -v '^[<>{}]' <<<"$1" | tail -n 5)" >&2
  return 1
}
try_closed='t0=$(date +%s%N); curl -sS -v -g --max-time 5 "$0" 2>&1; rc=$?; echo "exit $rc after $((($(date +%s%N) - t0) / 1000000)) ms"'
out=$(ns 20 -- sh -c "$try_closed" http://203.0.113.1:9/ 2>&1)
check "closed port, IPv4: connection refused within 2 s" refused "$out"
out=$(ns 20 -- sh -c "$try_closed" "http://[2001:db8:2::1]:9/" 2>&1)
check "closed port, IPv6: connection refused within 2 s" refused "$out"

# Half-close: the client's EOF goes through, the answer still comes back.
half_closed() {
  local out rc
  out=$(ns 60 -- sh -c 'socat -t 30 - "$0" <"$1"' "$1" "$WWW/mid" 2>&1)
  rc=$?
  if [ $rc = 0 ] && grep -qx "$MID_SUM  -" <<<"$out" && grep -qx "after-eof" <<<"$out"; then
    return 0
  fi
  printf '  exit status %s; expected "%s  -" then "after-eof", got:\n%s\n' "$rc" "$MID_SUM" "$(tail -c 400 <<<"$out")" >&2
  return 1
}
check "half-close, IPv4: 20 MiB sent, EOF, the answer still arrives" half_closed TCP4:203.0.113.1:7100
check "half-close, IPv6: 20 MiB sent, EOF, the answer still arrives" half_closed "TCP6:[2001:db8:2::1]:7106"

# Inbound: -t 8080 -t 8081. In the namespace, one-shot socat servers: on
# 8080 they write what they get to a file (then mark it done), on 8081
# they send the 100 MiB file; from the server netns, clients connect to the
# host netns' addresses.
IN="$LAB_TMP/in"
mkdir -p "$IN"
inside='
  (socat -u TCP4-LISTEN:8080,reuseaddr OPEN:"$0"/up4,creat,trunc; touch "$0"/up4.done) &
  (socat -u TCP6-LISTEN:8080,ipv6only=1,reuseaddr OPEN:"$0"/up6,creat,trunc; touch "$0"/up6.done) &
  socat -u OPEN:"$1",rdonly TCP4-LISTEN:8081,reuseaddr &
  socat -u OPEN:"$1",rdonly TCP6-LISTEN:8081,ipv6only=1,reuseaddr &
  i=0
  while [ $i -lt 50 ] && [ "$(ss -Hltn "( sport = :8080 or sport = :8081 )" | wc -l)" -lt 4 ]; do
    sleep 0.1; i=$((i + 1))
  done
  touch "$0"/ready
  i=0
  while [ $i -lt 2000 ] && [ ! -e "$0"/stop ]; do sleep 0.1; i=$((i + 1)); done'
ns 200 -t 8080 -t 8081 -- sh -c "$inside" "$IN" "$WWW/big" >"$LAB_TMP/inbound.log" 2>&1 &
inbound=$!
LAB_PIDS+=("$inbound")
if ! wait_file "$IN/ready" 10; then
  echo "  the namespace's servers did not come up; pasta said:" >&2
  sed 's/^/  /' "$LAB_TMP/inbound.log" >&2
fi
# sent_in FILE CONNECT: socat in the server netns sends the 100 MiB file to
# CONNECT; the namespace's server writes FILE (then FILE.done).
sent_in() {
  local rc
  server timeout "$(limit 60)" socat -u "OPEN:$WWW/big,rdonly" "$2"
  rc=$?
  [ $rc = 0 ] || return $rc
  wait_file "$1.done" "$(limit 10)" && return 0
  echo "  the namespace's server did not finish within 10 s of the sender's end" >&2
  return 1
}
check "-t 8080, IPv4: 100 MiB from the server netns into the namespace intact" \
  arrived "$IN/up4" "$BIG_SUM" sent_in "$IN/up4" TCP4:198.51.100.2:8080
check "-t 8080, IPv6: 100 MiB from the server netns into the namespace intact" \
  arrived "$IN/up6" "$BIG_SUM" sent_in "$IN/up6" "TCP6:[2001:db8:1::2]:8080"
check "-t 8081, IPv4: 100 MiB from the namespace to the server netns intact" \
  arrived "$RECV" "$BIG_SUM" server timeout "$(limit 60)" socat -u TCP4:198.51.100.2:8081 "OPEN:$RECV,creat,trunc"
check "-t 8081, IPv6: 100 MiB from the namespace to the server netns intact" \
  arrived "$RECV" "$BIG_SUM" server timeout "$(limit 60)" socat -u "TCP6:[2001:db8:1::2]:8081" "OPEN:$RECV,creat,trunc"
touch "$IN/stop"
wait_gone "$inbound" 5
rm -rf "$IN"

# 1% loss and reordering on the tap, both ways; 20 MiB. Last, so that a
# stalled transfer costs only these checks their time.
check "1% loss + reordering, curl, IPv4: 20 MiB download intact" \
  arrived "$RECV" "$MID_SUM" download "$URL4/mid" 60 -- "${IMPAIRED[@]}"
check "1% loss + reordering, curl, IPv6: 20 MiB download intact" \
  arrived "$RECV" "$MID_SUM" download "$URL6/mid" 60 -- "${IMPAIRED[@]}"
check "1% loss + reordering, socat, IPv4: 20 MiB upload intact" \
  arrived "$RECV" "$MID_SUM" upload TCP4-LISTEN:7300,bind=203.0.113.1,reuseaddr \
  TCP4:203.0.113.1:7300 "$WWW/mid" 60 -- "${IMPAIRED[@]}"
check "1% loss + reordering, socat, IPv6: 20 MiB upload intact" \
  arrived "$RECV" "$MID_SUM" upload "TCP6-LISTEN:7306,bind=[2001:db8:2::1],reuseaddr" \
  "TCP6:[2001:db8:2::1]:7306" "$WWW/mid" 60 -- "${IMPAIRED[@]}"

lab_finish
