#!/usr/bin/env bash
# TCP over pasta's loopback splice paths, in one run: iperf3 bulk throughput
# both ways (c->s: the client sends, iperf3's default; s->c: it receives,
# -R) and the CPU the pasta process spends per GB moved (utime+stime from
# /proc, before and after each transfer), for the paths
#   -t  pasta -t 5201: the client, in the lab's host netns, connects to
#       127.0.0.1:5201; pasta splices the connection into its namespace,
#       where the server listens on 5201 (any address: Debian 13's pasta,
#       like upstream since 2024, delivers it to the namespace's own address
#       rather than 127.0.0.1 unless --host-lo-to-ns-lo)
#   -T  pasta -T 5301: the client, in the namespace, connects to
#       127.0.0.1:5301; pasta splices it to the server on the host netns's
#       127.0.0.1:5301
# and the rows
#   loopback  client and server both on the host netns's 127.0.0.1: the limit
#   ours      $PASTA (default build/src/pasta)
#   B         a second build of ours ($PASTA_B: before/after), when set
#   deb13     Debian 13's pasta (passt 2025), from the root bench/trixie-root.sh
#             makes at $TRIXIE_ROOT (default /srv/trixie)
#   deb12     Debian 12's pasta, /usr/bin/pasta (passt 2023)
# "x lo" is each direction's throughput over loopback's (c->s/s->c).
# Each path gets a fresh pasta, as nobody with a private tun node (as in
# bench/tcp.sh): `--config-net -t 5201 -T none -u none -U none -- sleep`
# or `--config-net -t none -T 5301 -u none -U none -- sleep` ("none": the
# default, auto, would also forward the benchmark's own servers). The
# iperf3 clients and servers (the same binary for every row) run as root,
# nsenter'ed into the namespace's network only where they run inside it.
# A pasta that does not come up gives a row of "fail"; a transfer that ends
# in an error gives "fail", one that runs into its timeout "stall" (the
# cell's remaining runs are then skipped).
#
# Usage: bench/splice.sh [RUNS]   (default 3 runs per cell, median shown)
#   ROWS="loopback ours deb13 deb12"  rows to run    SECS=4  seconds per run
#   PATHS="-t -T"                     paths to run   PASTA=path to our binary
#   PASTA_B=second binary (row B)     BENCH_TSV=file (bench_tsv lines, paths
#   splice-t-cs, splice-t-sc, splice-T-cs, splice-T-sc)
# Needs root (the lab); installs iperf3 with apt-get if missing.
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${1:-3}
secs=${SECS:-4}
paths=${PATHS:-"-t -T"}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
if [ -n "$ours_b" ]; then rows=${ROWS:-loopback ours B deb13 deb12}; else rows=${ROWS:-loopback ours deb13 deb12}; fi
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/pasta
[[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/splice.sh [RUNS] (SECS, ROWS, PATHS, PASTA in the environment)" >&2
  exit 2
}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need iperf3

h=pasta-bspl-h-$$ s=pasta-bspl-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
t_port=5201 T_port=5301
# shellcheck disable=SC2034  # life, hz, the state: read by bench/lib.sh
life=3600 hz=$(getconf CLK_TCK) wpid='' cpid='' ppid='' ipid='' clpid='' rc='' res=''
srv_in=() srv_addr=127.0.0.1 srv_bind='' iperf_port='' in_ns=()
lo_up='' lo_down=''

# The server netns is only there because pasta copies its addresses and
# routes from the host netns' uplink; no traffic of ours goes to it.
bench_lab

# listening CMD... PORT: waits (5 s at most) for a TCP listener on PORT
# where CMD... (a netns prefix) runs.
listening() {
  local port=${*: -1} i
  for ((i = 0; i < 50; i++)); do
    [ -n "$(timeout 2 "${@:1:$#-1}" ss -Hltn "sport = :$port")" ] && return 0
    sleep 0.1
  done
  return 1
}

# path_set PATH: where the current row's client and server run and where
# the client connects, for PATH (-t, -T, or lo: loopback).
path_set() {
  case $1 in
    lo) srv_in=(ip netns exec "$h") in_ns=(ip netns exec "$h") iperf_port=$t_port srv_bind='' ;;
    -t) srv_in=(nsenter -t "$cpid" -n) in_ns=(ip netns exec "$h") iperf_port=$t_port srv_bind=0.0.0.0 ;;
    -T) srv_in=(ip netns exec "$h") in_ns=(nsenter -t "$cpid" -n) iperf_port=$T_port srv_bind='' ;;
  esac
}

# pasta_start KIND PATH: starts KIND's pasta for PATH (pasta_launch in
# bench/lib.sh) and waits for its listener: on the host side for -t, in the
# namespace for -T.
pasta_start() {
  local kind=$1 path=$2 log=$tmp/pasta-$1$2.log
  local -a opt=(--config-net -t none -T none -u none -U none)
  if [ "$path" = -t ]; then opt[2]=$t_port; else opt[4]=$T_port; fi
  pasta_launch "$kind" "$kind $path" "$log" "${opt[@]}" || return 1
  if [ "$path" = -t ] && listening ip netns exec "$h" $t_port; then return 0; fi
  if [ "$path" = -T ] && listening nsenter -t "$cpid" -n $T_port; then return 0; fi
  echo "  $kind ${path}: no listener on the forwarded port; pasta's log:" >&2
  sed 's/^/    /' "$log" | tail -n 5 >&2
  pasta_stop
  return 1
}

# ratio X LO: X / LO, or "-".
ratio() {
  awk -v x="$1" -v l="$2" 'BEGIN {
    if (x ~ /^[0-9.]+$/ && l ~ /^[0-9.]+$/ && l > 0) printf "%.2f", x / l; else printf "-" }'
}

fmt='%-8s %-4s %10s %10s %14s %14s %11s\n'
row_out() { printf "$fmt" "$@"; }

# row KIND PATH: measures one row (KIND loopback: PATH lo) and prints it.
row() {
  local kind=$1 path=$2 gbit cpu up upcpu down downcpu
  echo "  $kind ${path}: ..." >&2
  if [ "$kind" != loopback ] && ! pasta_start "$kind" "$path"; then
    row_out "$kind" "$path" fail fail fail fail -
    bench_tsv "splice$path-cs" "$kind" fail Gbit/s
    bench_tsv "splice$path-sc" "$kind" fail Gbit/s
    return
  fi
  path_set "$path"
  cell_iperf ""
  up=$gbit upcpu=$cpu
  cell_iperf -R
  down=$gbit downcpu=$cpu
  if [ "$kind" = loopback ]; then
    lo_up=$up lo_down=$down
  elif ! kill -0 "$ppid" 2>/dev/null; then
    echo "  $kind ${path}: pasta exited during the row; its log:" >&2
    sed 's/^/    /' "$tmp/pasta-$kind$path.log" | tail -n 5 >&2
  fi
  pasta_stop
  row_out "$kind" "$path" "$(fmt_gbit "$up")" "$(fmt_gbit "$down")" "$upcpu" "$downcpu" \
    "$(ratio "$up" "$lo_up")/$(ratio "$down" "$lo_down")"
  # The loopback's under each path, as the limit of each.
  local p
  [ "$kind" = loopback ] && path=$paths
  for p in $path; do
    bench_tsv "splice$p-cs" "$kind" "$up" Gbit/s "$upcpu"
    bench_tsv "splice$p-sc" "$kind" "$down" Gbit/s "$downcpu"
  done
}

start=$SECONDS
echo "TCP over pasta's loopback splice, $runs run(s) of ${secs}s per cell, median;" \
  "-t: host 127.0.0.1:$t_port -> namespace, -T: namespace 127.0.0.1:$T_port -> host"
for kind in $rows; do
  case $kind in
    loopback) ;;
    ours | B | deb12 | deb13) echo "$kind: $(version_of "$kind")" ;;
    *) echo "unknown row $kind (loopback ours B deb13 deb12)" >&2; exit 2 ;;
  esac
done
for p in $paths; do
  case $p in
    -t | -T) ;;
    *) echo "unknown path $p (-t -T)" >&2; exit 2 ;;
  esac
done
echo
row_out row path "c->s Gb/s" "s->c Gb/s" "CPU s/GB c->s" "CPU s/GB s->c" "x lo"
for kind in $rows; do
  case $kind in
    loopback)
      row loopback lo
      ;;
    ours)
      if [ ! -x "$ours" ]; then
        row_out ours - "fail (not built: $ours)" "" "" "" ""
        continue
      fi
      for p in $paths; do row ours "$p"; done
      ;;
    B)
      if [ ! -x "$ours_b" ]; then
        row_out B - "fail (not built: PASTA_B=$ours_b)" "" "" "" ""
        continue
      fi
      for p in $paths; do row B "$p"; done
      ;;
    deb13)
      if [ ! -x "$trixie/usr/bin/pasta" ]; then
        row_out deb13 - "skipped: no $trixie (bench/trixie-root.sh)" "" "" "" ""
        continue
      fi
      for p in $paths; do row deb13 "$p"; done
      ;;
    deb12)
      if [ ! -x "$deb12" ]; then
        row_out deb12 - "skipped: no $deb12 (apt-get install passt)" "" "" "" ""
        continue
      fi
      for p in $paths; do row deb12 "$p"; done
      ;;
  esac
done
echo
echo "took $((SECONDS - start)) s"
