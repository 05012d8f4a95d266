#!/usr/bin/env bash
# Forwarding that changes while pasta runs: pasta attached with --config-net,
# -t none -u none and a control socket (-c); our pesto adds TCP and UDP
# ports (a server in the namespace answers from the host's loopback and
# from the server netns, which it sees at its real address), deletes one
# while a download over it goes on (new connections refused, the download
# intact), clears a table, shows the tables in upstream's format; a
# conflicting rule, a port the host already uses, malformed messages and a
# stalled client each leave the tables and the forwarding as they were;
# auto rules are cleared and added while it runs.
# The socket is mode 0600. 1,000 ports are added and deleted in one request
# each (times printed) while a connection keeps answering.
# Where upstream's 2026-07-16 pesto and pasta are built (UPSTREAM_PASST_DIR,
# default /srv/upstream-passt; built from upstream's source, outside this
# tree), the roles are crossed too: upstream's pesto against our pasta, ours
# against upstream's pasta.
. "$(dirname "$0")/lib.sh"
lab_up
MIB=100
. "$(dirname "$0")/forward_lib.sh"
PESTO=${PESTO:-$(dirname "$PASTA")/pesto}
SOCK="$LAB_TMP/pasta.sock"
UPSTREAM=${UPSTREAM_PASST_DIR:-/srv/upstream-passt}

# pesto_run BINARY [PESTO-ARGS...]: runs that pesto (30 s at most) on
# $SOCK; its stdout in $OUT, stderr in $ERR, status in $RC. ours: the one
# the scenario runs with ($CUR).
pesto_run() {
  local bin=$1
  shift
  OUT=$(timeout 30 "$bin" "$@" "$SOCK" 2>"$LAB_TMP/pesto.err")
  RC=$?
  ERR=$(cat "$LAB_TMP/pesto.err")
}
ours() { pesto_run "$CUR" "$@"; }

# ok_status: the last pesto exited 0 and said nothing on stderr.
ok_status() {
  if [ "$RC" = 0 ] && [ -z "$ERR" ]; then return 0; fi
  echo "  pesto exited $RC; stderr: $ERR" >&2
  return 1
}
# fails_with TEXT: the last pesto exited 1 with one line containing TEXT.
fails_with() {
  if [ "$RC" = 1 ] && [ "$(wc -l <<<"$ERR")" = 1 ] && grep -qF -- "$1" <<<"$ERR"; then
    echo "   $ERR"
    return 0
  fi
  echo "  expected exit 1 and one line with '$1'; got $RC: $ERR" >&2
  return 1
}
# host_table_is LINE...: `pesto SOCK` lists exactly these rules under HOST.
host_table_is() {
  local got want
  ours
  got=$(sed -n '/^  HOST$/,/^  SPLICE$/p' <<<"$OUT" | sed '1d;$d')
  want=$(printf '    %s\n' "$@")
  [ $# = 0 ] && want=""
  if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then
    echo "   HOST: ${*:-(empty)}"
    return 0
  fi
  printf '  HOST table:\n%s\n  expected:\n%s\n' "$got" "$want" >&2
  return 1
}
# raw_client BYTES-HEX [HOLD-SECONDS]: connects, reads the greeting, sends
# BYTES, holds the connection HOLD seconds, prints what came after the
# greeting and tables (our status record, hex) or "eof".
raw_client() {
  at host timeout 30 "$PY" - "$SOCK" "$1" "${2:-0}" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(5)
s.sendall(bytes.fromhex(sys.argv[2]))
time.sleep(float(sys.argv[3]))
data = b""
try:
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
except OSError:
    pass
i = data.find(b"basil:r\0")
print(data[i:].hex() if i >= 0 else "eof")
EOF
}

# refused_by_pesto TEXT: the last pesto refused the change itself (exit 1;
# ours in one line with TEXT).
refused_by_pesto() {
  if [ "$UP" = 1 ]; then
    [ "$RC" = 1 ] && return 0
    echo "  upstream's pesto exited $RC: $ERR" >&2
    return 1
  fi
  fails_with "$1"
}
# refused_by_pasta TEXT: pasta refused the change: ours exits 1 with its
# reason (TEXT); upstream's pesto exits 0, knowing nothing.
refused_by_pasta() {
  if [ "$UP" = 1 ]; then
    [ "$RC" = 0 ] && return 0
    echo "  upstream's pesto exited $RC: $ERR" >&2
    return 1
  fi
  fails_with "$1"
}

# scenario PESTO UPSTREAM: the whole exchange with that pesto (UPSTREAM 1:
# upstream's, which can't learn that pasta refused an update: there the
# tables that follow show it).
scenario() {
  CUR=$1
  UP=$2
  pasta_up -t none -u none -c "$SOCK" || return 1
  check "the control socket is mode 0600, owned by the user pasta runs as" \
    test "$(stat -c '%a %u' "$SOCK")" = "600 0"
  ours
  check "pesto with no change lists both tables, HOST empty" \
    test "$OUT" = "$(printf 'passt/pasta configuration (%s)\n  HOST\n  SPLICE\n    TCP [*]%%lo:1-32767  =>  1-32767  (best effort) (auto-scan)\n    TCP [*]%%lo:61000-65535  =>  61000-65535  (best effort) (auto-scan)\n    UDP [*]%%lo:1-32767  =>  1-32767  (best effort) (auto-scan)\n    UDP [*]%%lo:61000-65535  =>  61000-65535  (best effort) (auto-scan)' "$SOCK")"
  [ "$RC" = 0 ] || echo "  $OUT $ERR" >&2

  # Add TCP 8080 and UDP 5353; the server answers at once.
  serve target 0.0.0.0,:: 8080
  at target timeout "$(limit 150)" "${UDP_TOOL[@]}" echo 0.0.0.0 5353 150 &
  LAB_PIDS+=($!)
  ours -A -t 8080 -u 5353
  check "pesto -A -t 8080 -u 5353: exit 0" ok_status
  check "-t 8080 added: answers from the host's loopback, IPv4 and IPv6" \
    answers host 127.0.0.1 8080:8080
  check "  ... IPv6" answers host ::1 8080:8080
  check "  ... from the server netns over the tap, IPv4" answers server 198.51.100.2 8080:8080
  check "  ... IPv6" answers server 2001:db8:1::2 8080:8080
  check "  ... and the server sees the client's real address" \
    came_from server 198.51.100.2 8080 198.51.100.1
  check "-u 5353 added: datagrams echoed from the server netns" \
    bash -c "ip netns exec $SERVER_NS timeout 20 ${UDP_TOOL[*]} client 198.51.100.2 5353 50"
  check "  ... and from the host's loopback" \
    bash -c "ip netns exec $HOST_NS timeout 20 ${UDP_TOOL[*]} client 127.0.0.1 5353 50"
  check "the table shows both rules" host_table_is \
    "TCP [*]:8080  =>  8080 " "UDP [*]:5353  =>  5353 "

  # A conflicting rule is refused by pesto itself; nothing changes.
  ours -A -t 0.0.0.0/8080
  check "a conflicting rule: pesto exits 1" refused_by_pesto "conflicting rules"
  # A port the host already uses: the server refuses the whole update.
  serve host 0.0.0.0 9999
  host_server=$SERVE_PID
  ours -A -t 7000 -t 9999
  check "a port in use on the host: pasta refuses (ours says why)" \
    refused_by_pasta "Address already in use"
  check "  ... and the update's other port was not opened" not_reached host 127.0.0.1 7000
  SERVE_PID=$host_server
  unserve
  check "the table is unchanged after both" host_table_is \
    "TCP [*]:8080  =>  8080 " "UDP [*]:5353  =>  5353 "

  # Malformed updates from a hand-made client: refused, nothing changes.
  got=$(raw_client "0900000000")
  check "an update for a table pasta has not: refused with a status ($got)" \
    bash -c "[[ '$got' == 626173696c3a720000000001* ]]"
  got=$(raw_client "01ffffffff")
  check "an update with 4294967295 rules: refused ($got)" \
    bash -c "[[ '$got' == 626173696c3a720000000001* ]]"
  check "the table is unchanged after malformed updates" host_table_is \
    "TCP [*]:8080  =>  8080 " "UDP [*]:5353  =>  5353 "

  # A stalled client: forwarding goes on; the next client is served once
  # the stalled one's 10 s are up.
  raw_client "010000" 15 >/dev/null &
  stalled=$!
  sleep 0.5
  check "while a client stalls in an update, forwarding goes on" answers host 127.0.0.1 8080:8080
  t0=$SECONDS
  ours -A -t 8081
  check "the next client is served after the stalled one times out (took $((SECONDS - t0)) s)" \
    bash -c "[ $RC = 0 ] && [ $((SECONDS - t0)) -le 14 ]"
  wait "$stalled" 2>/dev/null

  # Delete 8080 while a download over it goes on.
  rm -f "$LAB_TMP/started" "$LAB_TMP/go"
  at server timeout "$(limit 60)" "${TOOL[@]}" get 198.51.100.2 8080 "$LAB_TMP/started" "$LAB_TMP/go" \
    >"$LAB_TMP/download" 2>&1 &
  download=$!
  for ((i = 0; i < 100; i++)); do [ -e "$LAB_TMP/started" ] && break; sleep 0.05; done
  ours -D -t 8080
  check "pesto -D -t 8080 during a download: exit 0" ok_status
  check "  ... new connections to 8080 are refused" not_reached server 198.51.100.2 8080
  touch "$LAB_TMP/go"
  wait "$download"
  check "  ... and the download finishes intact" test "$(cat "$LAB_TMP/download")" = "$BIG_EXPECT"

  # --show, --clear.
  ours -s -A -t 0.0.0.0/5000:192.0.2.5/6000
  check "pesto -s shows the tables before and after" \
    bash -c "grep -qxF 'Previous configuration ($SOCK)' <<<'$OUT' && grep -qxF 'Updated configuration ($SOCK)' <<<'$OUT' && grep -qxF '    TCP [0.0.0.0]:5000  =>  192.0.2.5:6000 ' <<<'$OUT'"
  ours -C HOST
  check "pesto -C HOST: exit 0" ok_status
  check "  ... the HOST table is empty" host_table_is
  check "  ... and 8081 no longer answers" not_reached host 127.0.0.1 8081

  # auto rules change at run time too: with SPLICE cleared the host's
  # loopback port 5432 is not forwarded into the namespace; -T 5432,auto
  # forwards it once a server binds it.
  ours -C SPLICE
  serve host 127.0.0.1 5432
  check "SPLICE cleared: the host's port 5432 gets no listener in the namespace" \
    unbound target 5432 2
  ours -A -T 5432,auto
  check "pesto -A -T 5432,auto: exit 0" ok_status
  check "  ... the namespace's loopback port 5432 reaches the host's server" \
    waits target 127.0.0.1 5432 open 3
  unserve

  # 1,000 ports in one request, and back, while an existing flow plays
  # ping-pong: its worst round trip says how long the loop was held up.
  ours -A -u 5353
  at server timeout 60 "$PY" - <<'EOF' >"$LAB_TMP/rtt" 2>&1 &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("198.51.100.2", 5353))
rtts = []
end = time.monotonic() + 4
while time.monotonic() < end:
    t = time.monotonic()
    s.send(b"x" * 64)
    s.recv(2048)
    rtts.append(time.monotonic() - t)
rtts.sort()
print(f"{len(rtts)} round trips, median {rtts[len(rtts) // 2] * 1e6:.0f} us, "
      f"worst {rtts[-1] * 1e3:.1f} ms")
EOF
  rtt=$!
  sleep 1
  t0=$(date +%s%N)
  ours -A -t 20000-20999
  add_ms=$((($(date +%s%N) - t0) / 1000000))
  check "1,000 ports added in one request (${add_ms} ms)" ok_status
  check "  ... the last of them listens" \
    bash -c "[ -n \"\$(ip netns exec $HOST_NS ss -Hltn 'sport = :20999')\" ]"
  t0=$(date +%s%N)
  ours -D -t 20000-20999
  del_ms=$((($(date +%s%N) - t0) / 1000000))
  check "  ... and deleted in one (${del_ms} ms)" ok_status
  wait "$rtt"
  check "a UDP flow kept answering meanwhile: $(cat "$LAB_TMP/rtt")" \
    grep -q "round trips, median" "$LAB_TMP/rtt"

  # No descriptor is left behind by the sessions above.
  pid=$(pgrep -nf -- "-c $SOCK")
  fds0=$(ls "/proc/$pid/fd" | wc -l)
  raw_client "0900000000" >/dev/null
  raw_client "01000000" >/dev/null
  for ((i = 0; i < 20; i++)); do ours; done
  check "20 sessions and 2 refused updates leave pasta's descriptors as they were ($fds0)" \
    test "$(ls "/proc/$pid/fd" | wc -l)" = "$fds0"
  ours -A -t 192.0.2.99/7001
  check "an address the host doesn't have: refused (ours says why)" \
    refused_by_pasta "Cannot assign requested address"
  check "  ... and the table is as it was" host_table_is "UDP [*]:5353  =>  5353 "
  pasta_down
}

scenario "$PESTO" 0
if [ -x "$UPSTREAM/pesto" ]; then
  echo "== the same with upstream's pesto ($UPSTREAM/pesto) against our pasta"
  scenario "$UPSTREAM/pesto" 1
  # Its listing of our tables is ours, byte for byte.
  if pasta_up -t 22 -u none -c "$SOCK"; then
    pesto_run "$UPSTREAM/pesto"
    up_out=$OUT
    pesto_run "$PESTO"
    check "upstream's pesto lists our tables as ours does" test "$up_out" = "$OUT"
    pasta_down
  fi
else
  echo "skipped: no upstream pesto at $UPSTREAM (build upstream passt's 2026-07-16 source there to cross the roles)"
fi


if [ -x "$UPSTREAM/pasta" ]; then
  # Our pesto against upstream's pasta.
  ip netns add "$TARGET"
  ip netns exec "$HOST_NS" timeout "$(limit 60)" "$UPSTREAM/pasta" --runas 0 --config-net -f \
    --netns "$TARGET" -t none -u none -c "$SOCK.up" >"$LAB_TMP/upstream.log" 2>&1 &
  up=$!
  LAB_PIDS+=("$up")
  for ((i = 0; i < 50; i++)); do [ -S "$SOCK.up" ] && break; sleep 0.1; done
  sleep 1
  serve target 0.0.0.0,:: 8083
  OUT=$(timeout 10 "$PESTO" -A -t 8083 "$SOCK.up" 2>&1)
  check "our pesto adds a port to upstream's pasta ($OUT)" test $? = 0
  check "  ... and it answers" answers server 198.51.100.2 8083:8083
  kill "$up" 2>/dev/null
  wait_gone "$up" 5
  ip netns pids "$TARGET" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$TARGET" 2>/dev/null
else
  echo "skipped: no upstream pasta at $UPSTREAM"
fi

lab_finish
