#!/usr/bin/env bash
# TCP from a namespace to a server one veth hop away, in one run: iperf3
# bulk throughput both ways (namespace -> server, and server -> namespace
# with -R), the CPU the pasta process spends per GB moved (utime+stime from
# /proc, before and after each transfer), and request/response round trips
# per second (sockperf ping-pong, TCP, 64-byte messages; UDP too with
# RR="tcp udp"), for
#   veth   the host netns talking straight to the server: the limit
#   ours   $PASTA (default build/src/pasta)
#   deb13  Debian 13's pasta (passt 2025), from the root bench/trixie-root.sh
#          makes at $TRIXIE_ROOT (default /srv/trixie)
#   deb12  Debian 12's pasta, /usr/bin/pasta (passt 2023)
#   B      a second build of ours ($PASTA_B: before/after), when set
#   art    the release artifact's bin/pasta ($PASTA_ART, an unpacked
#          scripts/release.sh tarball), only when named in ROWS
# each pasta at its default MTU (65520) and at -m 1500 (MTUS="65520 1500"),
# over IPv4 (FAMS="4"; "4 6" adds IPv6 rows: the server at 2001:db8:2::1,
# no round trips there: sockperf 3.7 has no IPv6).
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
#   FAMS="4" (or "4 6")           IP versions       PASTA_B=second binary (row B)
#   RR="tcp" (or "tcp udp")       sockperf runs     BENCH_TSV=file (bench_tsv lines)
# Needs root (the lab); installs iperf3 and sockperf with apt-get if missing.
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${1:-3}
secs=${SECS:-4}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
if [ -n "$ours_b" ]; then rows=${ROWS:-veth ours B deb13 deb12}; else rows=${ROWS:-veth ours deb13 deb12}; fi
mtus=${MTUS:-65520 1500}
fams=${FAMS:-4}
rr_protos=${RR:-tcp}
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
srv_addr=203.0.113.1 srv_addr4=203.0.113.1 srv_addr6=2001:db8:2::1 sp_port=11111
# For bench/lib.sh: no pasta or server of ours outlives $life seconds; the
# state; the iperf3 server runs in the server netns.
# shellcheck disable=SC2034
life=3600 hz=$(getconf CLK_TCK) wpid='' cpid='' ppid='' ipid='' spid='' uspid='' clpid='' rc='' res='' \
  srv_in=(ip netns exec "$s") srv_bind='' iperf_port=5201 in_ns=()

cleanup() {
  bench_stop
  local p
  for p in $spid $uspid; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
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
ip -n $s addr add $srv_addr6/128 dev lo
ip -n $h -6 route add 2001:db8:2::/64 via 2001:db8:1::1

# One sockperf server for the whole run (it serves clients one after the
# other); a fresh one-shot iperf3 server per transfer (bench/lib.sh).
ip netns exec $s timeout $life sockperf server --tcp -i $srv_addr -p $sp_port \
  >"$tmp/sockperf-server.log" 2>&1 &
spid=$!
if [[ " $rr_protos " == *" udp "* ]]; then
  ip netns exec $s timeout $life sockperf server -i $srv_addr -p $sp_port \
    >"$tmp/sockperf-udp-server.log" 2>&1 &
  uspid=$!
fi

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

# sockperf_once PROTO: sets res to "RR/s RTT-us", the round trips per
# second and the average round trip (sockperf --full-rtt) of one sockperf
# ping-pong run over PROTO (tcp, udp), or to fail / stall.
sockperf_once() {
  local -a p=()
  [ "$1" = tcp ] && p=(--tcp)
  client $((secs + 10)) sockperf ping-pong "${p[@]}" -i $srv_addr -p $sp_port -t "$secs" -m 64 \
    --full-rtt
  [ $rc = 124 ] && { res=stall; return; }
  # "[Valid Duration] RunTime=3.990 sec; SentMessages=N; ReceivedMessages=M"
  # "====> avg-rtt=27.312 (std-dev=...)", with colour escapes around it.
  res=$(awk -v rc=$rc '
    /Valid Duration/ {
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^RunTime=/) { t = $i; sub(/RunTime=/, "", t) }
        if ($i ~ /^ReceivedMessages=/) { m = $i; sub(/ReceivedMessages=/, "", m); sub(/;/, "", m) }
      }
    }
    match($0, /avg-rtt=[0-9.]+/) { a = substr($0, RSTART + 8, RLENGTH - 8) }
    END {
      if (rc != 0 || t == "" || t + 0 == 0 || a == "") print "fail"
      else printf "%.0f %.1f\n", m / t, a
    }' "$tmp/client.out")
}

# cell_rr PROTO: runs sockperf_once RUNS times; sets rr and rtt to the
# medians (or to fail/stall at the first run that fails or stalls).
cell_rr() {
  local i r v=() w=()
  for ((i = 0; i < runs; i++)); do
    sockperf_once "$1"
    r=$res
    case $r in
      fail | stall) rr=$r rtt=$r; return ;;
    esac
    v+=("${r% *}") w+=("${r#* }")
  done
  rr=$(printf '%s\n' "${v[@]}" | median)
  rtt=$(printf '%s\n' "${w[@]}" | median)
}

fmt='%-6s %-11s %14s %14s %16s %16s %10s\n'
row_out() {
  if [[ " $rr_protos " == *" udp "* ]]; then
    printf "${fmt%\\n} %10s\n" "$@"
  else
    printf "$fmt" "${@:1:7}"
  fi
}

# tsv_row KIND FAM MTU UP UPCPU DOWN DOWNCPU [RR-RTT UDP-RTT]: the row's
# bench_tsv lines (paths tcpFAM-up-MTU, tcpFAM-down-MTU, rr-tcp-MTU,
# rr-udp-MTU); the veth's under every pasta MTU, as the limit of each.
tsv_row() {
  local kind=$1 fam=$2 m
  local -a ms=("$3")
  [ "$kind" = veth ] && read -r -a ms <<<"$mtus"
  for m in "${ms[@]}"; do
    bench_tsv "tcp$fam-up-$m" "$kind" "$4" Gbit/s "$5"
    bench_tsv "tcp$fam-down-$m" "$kind" "$6" Gbit/s "$7"
    [ -n "${8:-}" ] && bench_tsv "rr-tcp-$m" "$kind" "$8" us
    [ -n "${9:-}" ] && bench_tsv "rr-udp-$m" "$kind" "$9" us
  done
}

# row KIND MTU FAM: measures one row and prints it.
row() {
  local kind=$1 mtu=$2 fam=${3:-4} gbit cpu up upcpu down downcpu rr rtt label=$2
  local trr=- urr=- trtt='' urtt=''
  [ "$fam" = 6 ] && label=$mtu/v6
  echo "  $kind ${label}: ..." >&2
  if [ "$kind" != veth ] && ! pasta_start "$kind" "$mtu"; then
    row_out "$kind" "$label" fail fail fail fail fail fail
    tsv_row "$kind" "$fam" "$mtu" fail - fail - \
      "$([ "$fam" = 4 ] && echo fail)" "$([ "$fam" = 4 ] && [[ " $rr_protos " == *" udp "* ]] && echo fail)"
    return
  fi
  set_in_ns
  if [ "$fam" = 6 ]; then srv_addr=$srv_addr6; else srv_addr=$srv_addr4; fi
  cell_iperf ""
  up=$gbit upcpu=$cpu
  cell_iperf -R
  down=$gbit downcpu=$cpu
  if [ "$fam" = 4 ]; then
    cell_rr tcp
    trr=$rr trtt=$rtt
    if [[ " $rr_protos " == *" udp "* ]]; then
      cell_rr udp
      urr=$rr urtt=$rtt
    fi
  fi
  if [ "$kind" != veth ] && ! kill -0 "$ppid" 2>/dev/null; then
    echo "  $kind ${label}: pasta exited during the row; its log:" >&2
    sed 's/^/    /' "$tmp/pasta-$kind-$mtu.log" | tail -n 5 >&2
  fi
  pasta_stop
  row_out "$kind" "$label" "$(fmt_gbit "$up")" "$(fmt_gbit "$down")" "$upcpu" "$downcpu" "$trr" "$urr"
  tsv_row "$kind" "$fam" "$mtu" "$up" "$upcpu" "$down" "$downcpu" "$trtt" "$urtt"
}

# rows KIND: KIND's rows, every MTU and IP version.
rows_of() {
  local m f
  for f in $fams; do
    for m in $mtus; do row "$1" "$m" "$f"; done
  done
}

start=$SECONDS
echo "TCP via pasta, $runs run(s) of ${secs}s per cell, median; server $srv_addr one veth hop away"
for kind in $rows; do
  case $kind in
    veth) ;;
    ours | B | deb12 | deb13 | art) echo "$kind: $(version_of $kind)" ;;
    *) echo "unknown row $kind (veth ours B deb13 deb12 art)" >&2; exit 2 ;;
  esac
done
echo
row_out row mtu "ns->srv Gb/s" "srv->ns Gb/s" "CPU s/GB ns->srv" "CPU s/GB srv->ns" "TCP RR/s" \
  "UDP RR/s"
for kind in $rows; do
  case $kind in
    veth)
      for f in $fams; do row veth "1500(veth)" "$f"; done
      ;;
    ours)
      if [ ! -x "$ours" ]; then
        row_out ours - "fail (not built: $ours)" "" "" "" ""
        continue
      fi
      rows_of ours
      ;;
    B)
      if [ ! -x "$ours_b" ]; then
        row_out B - "fail (not built: PASTA_B=$ours_b)" "" "" "" ""
        continue
      fi
      rows_of B
      ;;
    art)
      if [ ! -x "$art" ]; then
        row_out art - "fail (no artifact: PASTA_ART=$art)" "" "" "" ""
        continue
      fi
      rows_of art
      ;;
    deb13)
      if [ ! -x "$trixie/usr/bin/pasta" ]; then
        row_out deb13 - "skipped: no $trixie (bench/trixie-root.sh)" "" "" "" ""
        continue
      fi
      rows_of deb13
      ;;
    deb12)
      if [ ! -x "$deb12" ]; then
        row_out deb12 - "skipped: no $deb12 (apt-get install passt)" "" "" "" ""
        continue
      fi
      rows_of deb12
      ;;
  esac
done
echo
echo "took $((SECONDS - start)) s"
