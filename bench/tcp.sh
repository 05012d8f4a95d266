#!/usr/bin/env bash
# TCP from a namespace to a server one veth hop away, in one run: iperf3
# bulk throughput both ways (namespace -> server, and server -> namespace
# with -R), the CPU the pasta process spends per GB moved (utime+stime from
# /proc, before and after each transfer), and request/response round trips
# per second (sockperf ping-pong, TCP, 64-byte messages), for
#   veth   the host netns talking straight to the server: the limit
#   ours   $PASTA (default build/src/pasta)
#   deb13  Debian 13's pasta (passt 2025), from the root bench/trixie-root.sh
#          makes at $TRIXIE_ROOT (default /srv/trixie)
#   deb12  Debian 12's pasta, /usr/bin/pasta (passt 2023)
#   art    the release artifact's bin/pasta ($PASTA_ART, an unpacked
#          scripts/release.sh tarball), only when named in ROWS
# each pasta at its default MTU (65520) and at -m 1500 (MTUS="65520 1500").
# Every pasta runs as nobody with a private tun node, `--config-net --
# sleep`; the clients (the host's iperf3 and sockperf, the same binaries for
# every row) run as root, nsenter'ed into that namespace's network only.
# The servers sit on 203.0.113.1 (the server netns's loopback, routed via
# 198.51.100.1): 198.51.100.1 itself is pasta's gateway address, which
# pasta maps to the host's own loopback.
# A pasta that does not come up gives a row of "fail"; a transfer that ends
# in an error gives "fail", one that runs into its timeout "stall" (the
# cell's remaining runs are then skipped).
#
# Usage: bench/tcp.sh [RUNS]   (default 3 runs per cell, median shown)
#   ROWS="veth ours deb13 deb12"  rows to run       SECS=4  seconds per run
#   MTUS="65520 1500"             pasta MTUs        PASTA=path to our binary
# Needs root (the lab); installs iperf3 and sockperf with apt-get if missing.
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${1:-3}
secs=${SECS:-4}
rows=${ROWS:-veth ours deb13 deb12}
mtus=${MTUS:-65520 1500}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/pasta
art=${PASTA_ART:-}
[[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/tcp.sh [RUNS] (SECS, ROWS, MTUS, PASTA in the environment)" >&2
  exit 2
}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need iperf3 sockperf

h=pasta-btcp-h-$$ s=pasta-btcp-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
srv_addr=203.0.113.1 sp_port=11111
# For bench/lib.sh: no pasta or server of ours outlives $life seconds; the
# state; the iperf3 server runs in the server netns.
# shellcheck disable=SC2034
life=3600 hz=$(getconf CLK_TCK) wpid='' cpid='' ppid='' ipid='' spid='' clpid='' rc='' res='' \
  srv_in=(ip netns exec "$s") srv_bind='' iperf_port=5201 in_ns=()

cleanup() {
  bench_stop
  if [ -n "$spid" ]; then
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
  fi
  ip netns del $h 2>/dev/null
  ip netns del $s 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_private_tun "$tmp" || exit 1
lab_create $h $s || exit 1
ip -n $s addr add $srv_addr/32 dev lo
ip -n $h route add 203.0.113.0/24 via 198.51.100.1

# One sockperf server for the whole run (it serves clients one after the
# other); a fresh one-shot iperf3 server per transfer (bench/lib.sh).
ip netns exec $s timeout $life sockperf server --tcp -i $srv_addr -p $sp_port \
  >"$tmp/sockperf-server.log" 2>&1 &
spid=$!

# pasta_start KIND MTU: starts KIND's pasta with `--config-net [-m MTU]`
# (pasta_launch in bench/lib.sh).
pasta_start() {
  local -a opt=(--config-net)
  [ "$2" = 65520 ] || opt+=(-m "$2")
  pasta_launch "$1" "$1 -m $2" "$tmp/pasta-$1-$2.log" "${opt[@]}"
}

# in_ns: the command prefix that puts a client where the current row's
# clients run (an array, not a function: timeout(1) runs it).
set_in_ns() {
  # shellcheck disable=SC2034  # read by bench/lib.sh (client)
  if [ -n "$cpid" ]; then in_ns=(nsenter -t "$cpid" -n); else in_ns=(ip netns exec "$h"); fi
}

# sockperf_once: sets res to the round trips per second of one sockperf
# ping-pong run, or to fail / stall.
sockperf_once() {
  client $((secs + 10)) sockperf ping-pong --tcp -i $srv_addr -p $sp_port -t "$secs" -m 64
  [ $rc = 124 ] && { res=stall; return; }
  # "[Valid Duration] RunTime=3.990 sec; SentMessages=N; ReceivedMessages=M"
  res=$(awk -v rc=$rc '
    /Valid Duration/ {
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^RunTime=/) { t = $i; sub(/RunTime=/, "", t) }
        if ($i ~ /^ReceivedMessages=/) { m = $i; sub(/ReceivedMessages=/, "", m); sub(/;/, "", m) }
      }
    }
    END { if (rc != 0 || t == "" || t + 0 == 0) print "fail"; else printf "%.0f\n", m / t }' \
    "$tmp/client.out")
}

cell_rr() {
  local i r v=()
  for ((i = 0; i < runs; i++)); do
    sockperf_once
    r=$res
    case $r in
      fail | stall) rr=$r; return ;;
    esac
    v+=("$r")
  done
  rr=$(printf '%s\n' "${v[@]}" | median)
}

fmt='%-6s %-11s %14s %14s %16s %16s %10s\n'
row_out() { printf "$fmt" "$@"; }

# row KIND MTU: measures one row and prints it.
row() {
  local kind=$1 mtu=$2 gbit cpu up upcpu down downcpu rr
  echo "  $kind ${mtu}: ..." >&2
  if [ "$kind" != veth ] && ! pasta_start "$kind" "$mtu"; then
    row_out "$kind" "$mtu" fail fail fail fail fail
    return
  fi
  set_in_ns
  cell_iperf ""
  up=$gbit upcpu=$cpu
  cell_iperf -R
  down=$gbit downcpu=$cpu
  cell_rr
  if [ "$kind" != veth ] && ! kill -0 "$ppid" 2>/dev/null; then
    echo "  $kind ${mtu}: pasta exited during the row; its log:" >&2
    sed 's/^/    /' "$tmp/pasta-$kind-$mtu.log" | tail -n 5 >&2
  fi
  pasta_stop
  row_out "$kind" "$mtu" "$(fmt_gbit "$up")" "$(fmt_gbit "$down")" "$upcpu" "$downcpu" "$rr"
}

start=$SECONDS
echo "TCP via pasta, $runs run(s) of ${secs}s per cell, median; server $srv_addr one veth hop away"
for kind in $rows; do
  case $kind in
    veth) ;;
    ours | deb12 | deb13 | art) echo "$kind: $(version_of $kind)" ;;
    *) echo "unknown row $kind (veth ours deb13 deb12 art)" >&2; exit 2 ;;
  esac
done
echo
row_out row mtu "ns->srv Gb/s" "srv->ns Gb/s" "CPU s/GB ns->srv" "CPU s/GB srv->ns" "TCP RR/s"
for kind in $rows; do
  case $kind in
    veth)
      row veth "1500(veth)"
      ;;
    ours)
      if [ ! -x "$ours" ]; then
        row_out ours - "fail (not built: $ours)" "" "" "" ""
        continue
      fi
      for m in $mtus; do row ours "$m"; done
      ;;
    art)
      if [ ! -x "$art" ]; then
        row_out art - "fail (no artifact: PASTA_ART=$art)" "" "" "" ""
        continue
      fi
      for m in $mtus; do row art "$m"; done
      ;;
    deb13)
      if [ ! -x "$trixie/usr/bin/pasta" ]; then
        row_out deb13 - "skipped: no $trixie (bench/trixie-root.sh)" "" "" "" ""
        continue
      fi
      for m in $mtus; do row deb13 "$m"; done
      ;;
    deb12)
      if [ ! -x "$deb12" ]; then
        row_out deb12 - "skipped: no $deb12 (apt-get install passt)" "" "" "" ""
        continue
      fi
      for m in $mtus; do row deb12 "$m"; done
      ;;
  esac
done
echo
echo "took $((SECONDS - start)) s"
