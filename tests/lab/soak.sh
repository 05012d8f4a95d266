#!/usr/bin/env bash
# Soak: thousands of short TCP connections (out of the namespace over the
# tap, into it through -t over the tap, and spliced from the host's
# loopback) and thousands of UDP flows churn through one pasta while six
# long paced transfers (three ways, both directions) run alongside, for
# SOAK_SECONDS (default 50). Then:
#  - every connection, datagram and long transfer arrived intact (SHA-256
#    of each stream, datagrams compared byte for byte);
#  - pasta's descriptors are back to the baseline: no connected TCP socket
#    on either side (the tap and splice flow tables are empty), the same
#    listeners, pipes and other descriptors, at most the 64 unbound sockets
#    of its namespace socket pool, and exactly one UDP socket per UDP flow
#    of the last 180 s (UDP flows only
#    expire after 180 s idle, longer than this test may take: with
#    SOAK_UDP_EXPIRY=1 the test waits for that too, about 3.5 minutes more);
#  - its RSS is within RSS_SLACK_KIB of the baseline taken after a warm-up
#    of the same traffic (see below for why that figure);
#  - SIGTERM ends it with status 0 within 5 s; its --debug counters at exit
#    account for every connection made over the tap.
# Prints the figures. Bounded: about 70 s on 2 cores (150 s at most).
# Needs python3 (/usr/bin/python3), iproute2.
. "$(dirname "$0")/lib.sh"
# Names of our own, so that other lab tests running at the same time never
# collide with ours.
LAB_ID="pt_soak$$"
HOST_NS="${LAB_ID}_h"
SERVER_NS="${LAB_ID}_s"
TARGET="${LAB_ID}_t"
LAB_EXTRA_NS+=("$TARGET")
lab_up
PY=/usr/bin/python3
TOOL=("$PY" "$(cd "$(dirname "$0")" && pwd)/stress_tool.py")
SOAK_SECONDS=${SOAK_SECONDS:-50}
# Pace of each long transfer (KiB/s): six of them move about 1.6 GiB in 50 s,
# leaving the two cores enough for the churn.
LONG_KIBPS=${LONG_KIBPS:-6144}
# RSS tolerance. After the warm-up (the same kinds of traffic, so the
# frame buffers, the first pages of the flow tables, the splice pipes and
# the allocator's arenas are all touched) nothing on the data path
# allocates (house rule 5): what may still grow is pages of the fixed
# tables reached for the first time (TCP: 8192 flows of about 200 bytes,
# UDP: 4096 of about 100) and buffers of the TCP pool (512 KiB each, 64 of
# them, touched only when a socket refuses data). Measured: 0 KiB with the
# release build, about 1.1 MiB with ASan (its quarantine holds on to memory
# freed since, such as the strings of the --debug line of each new UDP
# flow). 4 MiB covers that, while a
# leak of 60 bytes per connection (about 70 000 of them) or of 1.2 KiB per
# UDP flow (about 3 400) would exceed it.
RSS_SLACK_KIB=${RSS_SLACK_KIB:-4096}

ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$SERVER_NS" addr add 2001:db8:2::1/128 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$HOST_NS" -6 route add 2001:db8:2::/64 via 2001:db8:1::1

# Every command gets at most what is left of a budget that ends before
# ctest's TIMEOUT, so a hang costs its own checks, not the report.
BUDGET_END=$((SECONDS + 150 + (SOAK_SECONDS > 50 ? SOAK_SECONDS - 50 : 0)))
[ "${SOAK_UDP_EXPIRY:-0}" = 1 ] && BUDGET_END=$((BUDGET_END + 220))
. "$(dirname "$0")/jobs.sh"

# Servers: TCP (stress_tool.py serve) and UDP echo behind the server netns;
# the UDP echo on 9002 is for the warm-up only, so that its flows are
# not those of the soak.
job srv_tcp "$SERVER_NS" 300 serve 203.0.113.1,2001:db8:2::1 9000 280
job srv_udp "$SERVER_NS" 300 echo 203.0.113.1,2001:db8:2::1 9001 280
job srv_udp_warm "$SERVER_NS" 300 echo 203.0.113.1,2001:db8:2::1 9002 280

# pasta, attached to the target namespace, in the foreground, with a -t
# port for inbound connections (spliced from the host's loopback, over the
# tap from the server netns). No automatic forwarding: its scans read the
# namespaces' /proc/net tables into a buffer that keeps the size of the
# largest table seen (src/app/pasta.cc, ProcNetTables), and thousands of
# TIME-WAIT sockets left by the churn would grow it by megabytes, which is
# not what the RSS check is after.
ip netns add "$TARGET" || exit 1
PIDFILE="$LAB_TMP/pasta.pid"
LOG="$LAB_TMP/pasta.log"
ip netns exec "$HOST_NS" timeout "$(limit 290)" "$PASTA" --config-net -f -d \
  -P "$PIDFILE" -t 9100 -u none -T none -U none --netns "$TARGET" >"$LOG" 2>&1 &
PASTA_JOB=$!
LAB_PIDS+=("$PASTA_JOB")
up=0
for ((i = 0; i < 50; i++)); do
  out=$(ip -n "$TARGET" addr show dev eth0 2>/dev/null)
  if [ -s "$PIDFILE" ] && grep -q "inet 198.51.100.2/" <<<"$out" &&
    grep "inet6 2001:db8:1::2/" <<<"$out" | grep -qv tentative; then
    up=1
    break
  fi
  kill -0 "$PASTA_JOB" 2>/dev/null || break
  sleep 0.1
done
if [ $up = 0 ]; then
  echo "FAIL: pasta did not set up the namespace; it said:" >&2
  sed 's/^/  /' "$LOG" >&2
  exit 1
fi
PASTA_PID=$(cat "$PIDFILE")
job srv_in "$TARGET" 300 serve 0.0.0.0,:: 9100 280
# A process in the target namespace, for its socket tables.
NS_PID=${JOB[srv_in]}

# stat: pasta's descriptors and RSS, as variables S_fds, S_tcp_conn, ...
stat() {
  local line k v
  line=$("${TOOL[@]}" fdstat "$PASTA_PID" "$NS_PID") || return 1
  set -- $line
  while [ $# -ge 2 ]; do
    k=$1 v=$2
    shift 2
    printf -v "S_$k" %s "$v"
  done
}
# drained SECONDS: waits until pasta holds no connected TCP socket, on the
# host or in the namespace, and no more pipes than when idle: the flows of
# both tables (tap and splice) are gone.
drained() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    stat || return 1
    [ "$S_tcp_conn" = 0 ] && [ "$S_ns_tcp_conn" = 0 ] && [ "$S_pipe" -le "$IDLE_pipe" ] &&
      return 0
    sleep 0.1
  done
  echo "  after $1 s pasta still holds $S_tcp_conn TCP sockets on the host, $S_ns_tcp_conn" \
    "in the namespace, $S_pipe pipes (idle: $IDLE_pipe)" >&2
  return 1
}
show() {
  echo "   $1: fds $S_fds (host: TCP listeners $S_tcp_listen, TCP $S_tcp_conn, UDP $S_udp;" \
    "namespace: TCP $S_ns_tcp_conn, UDP $S_ns_udp; unbound sockets $S_unlisted, pipes $S_pipe," \
    "other $S_other), RSS $S_rss_kib KiB"
}
# pasta keeps up to 16 unbound sockets per family and protocol made in the
# namespace for the splice path (src/app/pasta.cc, NsSocketPool): 64 at most.
POOL_MAX=64

OUT4=203.0.113.1:9000
OUT6="[2001:db8:2::1]:9000"
IN4=198.51.100.2:9100
IN6="[2001:db8:1::2]:9100"
LO4=127.0.0.1:9100
LO6="[::1]:9100"
sleep 1
stat && show "idle"
IDLE_pipe=$S_pipe

# Warm-up: a few seconds of every kind of traffic (unpaced bulk too, so
# that the TCP buffer pool is used).
job w_out "$TARGET" 30 churn 4 2000 4 65536 "$OUT4" "$OUT6"
job w_in "$SERVER_NS" 30 churn 4 1000 2 65536 "$IN4" "$IN6"
job w_lo "$HOST_NS" 30 churn 4 1000 2 65536 "$LO4" "$LO6"
job w_udp "$TARGET" 30 udp 4 200 2 203.0.113.1:9002 "[2001:db8:2::1]:9002"
job w_up "$TARGET" 30 put "$OUT4" $((64 << 20))
job w_down "$TARGET" 30 get "$OUT6" $((64 << 20))
job w_splice "$HOST_NS" 30 put "$LO4" $((64 << 20))
warm_ok=1
for j in w_out w_in w_lo w_udp w_up w_down w_splice; do
  wait "${JOB[$j]}" || { warm_ok=0; sed 's/^/   /' "$LAB_TMP/$j.out" >&2; }
done
check "warm-up: every kind of traffic arrived intact" test $warm_ok = 1
check "warm-up: pasta's TCP flows drained within 20 s" drained 20
stat && show "baseline after the warm-up"
for k in fds tcp_listen tcp_conn udp ns_tcp_listen ns_tcp_conn ns_udp unlisted pipe other rss_kib; do
  v="S_$k"
  printf -v "BASE_$k" %s "${!v}"
done

# The soak.
echo "   soak: $SOAK_SECONDS s of churn, six long transfers at $LONG_KIBPS KiB/s each"
T0=$SECONDS
LONG_SIZE=$((LONG_KIBPS * 1024 * (SOAK_SECONDS - 5)))
job l_down4 "$TARGET" $((SOAK_SECONDS + 60)) get "$OUT4" $LONG_SIZE $LONG_KIBPS 1
job l_up6 "$TARGET" $((SOAK_SECONDS + 60)) put "$OUT6" $LONG_SIZE $LONG_KIBPS 2
job l_in_down "$SERVER_NS" $((SOAK_SECONDS + 60)) get "$IN4" $LONG_SIZE $LONG_KIBPS 3
job l_in_up "$SERVER_NS" $((SOAK_SECONDS + 60)) put "$IN6" $LONG_SIZE $LONG_KIBPS 4
job l_lo_down "$HOST_NS" $((SOAK_SECONDS + 60)) get "$LO6" $LONG_SIZE $LONG_KIBPS 5
job l_lo_up "$HOST_NS" $((SOAK_SECONDS + 60)) put "$LO4" $LONG_SIZE $LONG_KIBPS 6
job c_out "$TARGET" $((SOAK_SECONDS + 50)) churn "$SOAK_SECONDS" 50000 8 16384 "$OUT4" "$OUT6"
job c_in "$SERVER_NS" $((SOAK_SECONDS + 50)) churn "$SOAK_SECONDS" 20000 3 16384 "$IN4" "$IN6"
job c_lo "$HOST_NS" $((SOAK_SECONDS + 50)) churn "$SOAK_SECONDS" 20000 3 16384 "$LO4" "$LO6"
job c_udp "$TARGET" $((SOAK_SECONDS + 50)) udp "$SOAK_SECONDS" 3500 4 203.0.113.1:9001 "[2001:db8:2::1]:9001"
# Progress every 10 s: pasta's sockets and RSS under load.
for ((i = 10; i < SOAK_SECONDS; i += 10)); do
  sleep $((T0 + i - SECONDS > 0 ? T0 + i - SECONDS : 0))
  stat && show "after $i s"
done
check "short TCP connections out of the namespace (IPv4 + IPv6), all intact" finished c_out
check "short TCP connections into the namespace over the tap (-t), all intact" finished c_in
check "short TCP connections into the namespace spliced (-t, loopback), all intact" finished c_lo
check "UDP flows out of the namespace (IPv4 + IPv6), every datagram echoed intact" finished c_udp
check "long download into the namespace (IPv4, tap) intact" finished l_down4
check "long upload from the namespace (IPv6, tap) intact" finished l_up6
check "long download through -t (IPv4, tap) intact" finished l_in_down
check "long upload through -t (IPv6, tap) intact" finished l_in_up
check "long download through -t (IPv6, spliced) intact" finished l_lo_down
check "long upload through -t (IPv4, spliced) intact" finished l_lo_up
echo "   soak took $((SECONDS - T0)) s"

# Totals.
conns=0
for j in c_out c_in c_lo; do
  n=$(sed -n 's/^churn: \([0-9]*\) connections.*/\1/p' "$LAB_TMP/$j.out")
  conns=$((conns + ${n:-0}))
done
tap_conns=0
for j in c_out c_in; do
  n=$(sed -n 's/^churn: \([0-9]*\) connections.*/\1/p' "$LAB_TMP/$j.out")
  tap_conns=$((tap_conns + ${n:-0}))
done
read -r udp_flows udp_distinct udp_dgrams < <(sed -n \
  's/^udp: \([0-9]*\) flows (\([0-9]*\) distinct), \([0-9]*\) of .*/\1 \2 \3/p' "$LAB_TMP/c_udp.out")
long_bytes=0
for j in l_down4 l_up6 l_in_down l_in_up l_lo_down l_lo_up; do
  n=$(sed -n 's/^ok \([0-9]*\) .*/\1/p' "$LAB_TMP/$j.out")
  long_bytes=$((long_bytes + ${n:-0}))
done
short_kib=0
for j in c_out c_in c_lo; do
  n=$(sed -n 's/.* up, \([0-9]*\) KiB).*/\1/p' "$LAB_TMP/$j.out")
  short_kib=$((short_kib + ${n:-0}))
done
echo "   totals: $conns short TCP connections ($((short_kib >> 10)) MiB), $udp_flows UDP flows" \
  "(${udp_distinct:-?} distinct) with ${udp_dgrams:-?} datagrams, $((long_bytes >> 20)) MiB in long transfers"

# Afterwards.
check "after the soak: pasta's TCP flows (tap and spliced) drained within 20 s" drained 20
stat && show "after the soak"
check "after the soak: pasta holds no TCP socket but its $BASE_tcp_listen listeners" \
  test "$S_tcp_conn" = 0 -a "$S_tcp_listen" = "$BASE_tcp_listen"
check "after the soak: no socket of a spliced flow left in the namespace" \
  test "$S_ns_tcp_conn" = 0 -a "$S_ns_tcp_listen" = "$BASE_ns_tcp_listen" -a "$S_ns_udp" = "$BASE_ns_udp"
check "after the soak: no pipe left over from splicing ($S_pipe, baseline $BASE_pipe)" \
  test "$S_pipe" = "$BASE_pipe"
check "after the soak: at most $POOL_MAX unbound sockets, pasta's pool ($S_unlisted)" \
  test "$S_unlisted" -le "$POOL_MAX"
check "after the soak: other descriptors as at the baseline ($S_other, baseline $BASE_other)" \
  test "$S_other" = "$BASE_other"
udp_held=$((S_udp - BASE_udp))
check "after the soak: one UDP socket per live UDP flow ($udp_held held, ${udp_distinct:-?} flows, all younger than 180 s)" \
  test "$udp_held" = "${udp_distinct:--1}"
rss_growth=$((S_rss_kib - BASE_rss_kib))
check "after the soak: RSS $S_rss_kib KiB, $rss_growth KiB over the baseline (at most $RSS_SLACK_KIB)" \
  test "$rss_growth" -le "$RSS_SLACK_KIB"

if [ "${SOAK_UDP_EXPIRY:-0}" = 1 ]; then
  # UDP flows expire after 180 s idle (src/udp/udp.h kIdleSeconds), checked
  # once a second: all of them must be gone within 200 s of the last.
  udp_gone() {
    local i
    for ((i = 0; i < 2000; i++)); do
      stat || return 1
      [ "$S_udp" = 0 ] && return 0
      sleep 0.1
    done
    echo "  pasta still holds $S_udp UDP sockets" >&2
    return 1
  }
  t=$SECONDS
  check "UDP flows expired: no UDP socket left within 200 s" udp_gone
  echo "   (waited $((SECONDS - t)) s)"
  stat && show "after UDP expiry"
fi

# SIGTERM: exit status 0 within 5 s, counters in the --debug log.
kill -TERM "$PASTA_PID"
wait_gone "$PASTA_JOB" 5
wait "$PASTA_JOB"
rc=$?
check "SIGTERM ends pasta with status 0 within 5 s (status $rc)" test "$rc" = 0
check "pasta's log has no sanitizer report" eval '! grep -qE "Sanitizer|runtime error" "$LOG"'
grep -E "^(.* )?(tap|udp|tcp|splice): " "$LOG" | tail -n 4 | sed 's/^/   pasta: /'
flows=$(sed -n 's/.*tcp: \([0-9]*\) flows,.*/\1/p' "$LOG" | tail -n 1)
# Over the tap: the soak's and the warm-up's connections and long
# transfers, and nothing the table refused.
check "pasta counted at least the $tap_conns connections of the soak over the tap (${flows:-no} flows)" \
  test "${flows:-0}" -ge "$tap_conns"
check "no connection refused for a full table" grep -q "0 refused (table full)" "$LOG"

lab_finish
