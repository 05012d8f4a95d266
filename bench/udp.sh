#!/usr/bin/env bash
# UDP throughput and loss from a namespace to a server one veth hop away,
# iperf (2: pure UDP, no TCP control connection) with 1400-byte datagrams at
# the highest rate the sender reaches: a plain veth (the host netns sending
# directly: the limit), ours, and Debian's pasta, in one run. Every pasta
# runs as an unprivileged user with a private tun node, `--config-net --
# sleep`; the clients (the host's iperf and iperf3, the same binaries for
# every row) run as root, nsenter'ed into that namespace's network only.
# The server is on the server netns's loopback, 203.0.113.1; a fresh one
# per run (iperf 2.1.8's UDP server does not always survive a client going
# away). Received rate and loss are the server's; the CPU the pasta process
# spends per GB received is utime+stime from /proc around each run.
# Usage: bench/udp.sh [SECONDS] (default 5). Needs root to build the lab.
#   ROWS="veth ours deb12"  rows: also B ($PASTA_B, a second build of ours,
#                           the default when set) and deb13 (Debian 13's
#                           pasta from the root of bench/trixie-root.sh at
#                           $TRIXIE_ROOT, default /srv/trixie)
#   TOOLS="iperf"           or "iperf iperf3" (iperf3 -u -b 0, JSON)
#   RATES="full"            or "full veth": also offered at the rate the
#                           veth received at full rate (with each tool; needs
#                           the veth row first)
#   RUNS=1                  runs per cell (the run of median received rate)
#   PASTA=path to our binary   BENCH_TSV=file (bench_tsv lines, paths
#                           udp-TOOL-RATE in Gbit/s received, udp-TOOL-RATE:lost
#                           in %, udp-TOOL-veth:offered)
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${1:-5}
runs=${RUNS:-1}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
if [ -n "$ours_b" ]; then rows=${ROWS:-veth ours B deb12}; else rows=${ROWS:-veth ours deb12}; fi
tools=${TOOLS:-iperf}
rates=${RATES:-full}
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/pasta
[[ $secs =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/udp.sh [SECONDS] (ROWS, TOOLS, RATES, RUNS, PASTA in the environment)" >&2
  exit 2
}
[ -x "$ours" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }
for t in $tools; do
  case $t in
    iperf | iperf3) command -v "$t" >/dev/null || { echo "$t missing (scripts/deps.sh)" >&2; exit 1; } ;;
    *) echo "unknown tool $t (iperf iperf3)" >&2; exit 2 ;;
  esac
done
for r in $rates; do
  case $r in
    full | veth) ;;
    *) echo "unknown rate $r (full veth)" >&2; exit 2 ;;
  esac
done
# shellcheck source=scripts/lab-env.sh
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
h=pasta-budp-h-$$ s=pasta-budp-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
# For bench/lib.sh: no pasta or server outlives $life seconds; the state.
# shellcheck disable=SC2034
life=3600 hz=$(getconf CLK_TCK) art='' wpid='' cpid='' ppid='' ipid='' clpid='' rc='' res='' \
  in_ns=()
bench_lab
ip -n $s addr add 203.0.113.1/32 dev lo
ip -n $h route add 203.0.113.0/24 via 198.51.100.1
# The veth's received rate at full rate, bit/s, per tool (RATES=veth).
declare -A veth_bps=()
# One group (tool and rate) only, the default: the lines as they always were.
groups=$(($(wc -w <<<"$tools") * $(wc -w <<<"$rates")))

# udp_once TOOL BPS: one run of TOOL offering BPS bit/s (0: as fast as the
# sender goes) from where in_ns puts the client; sets res to "GBIT LOST%
# CPU-S/GB REPORT..." (REPORT: the server's summary, for people), or fail.
udp_once() {
  local tool=$1 bps=$2 c0='' c1='' out i
  if [ "$tool" = iperf ]; then
    ip netns exec $s timeout $((secs + 30)) iperf -s -u -B 203.0.113.1 -l 1400 >/dev/null 2>&1 &
  else
    ip netns exec $s timeout $((secs + 30)) iperf3 -s -1 -B 203.0.113.1 >/dev/null 2>&1 &
  fi
  # ipid: bench_stop's to end if we are stopped.
  ipid=$!
  for ((i = 0; i < 50; i++)); do
    [ -n "$(timeout 2 ip netns exec $s ss -Hlnut "sport = :5001 or sport = :5201")" ] && break
    sleep 0.05
  done
  [ -n "$ppid" ] && c0=$(cpu_ticks "$ppid")
  if [ "$tool" = iperf ]; then
    [ "$bps" = 0 ] && bps=100G
    client $((secs + 15)) iperf -u -c 203.0.113.1 -b "$bps" -l 1400 -t "$secs"
  else
    client $((secs + 15)) iperf3 -u -c 203.0.113.1 -b "$bps" -l 1400 -t "$secs" -J
  fi
  [ -n "$ppid" ] && c1=$(cpu_ticks "$ppid")
  kill "$ipid" 2>/dev/null
  wait "$ipid" 2>/dev/null
  ipid=
  if [ "$tool" = iperf ]; then
    # "[  1] 0.0000-5.0012 sec  1.00 GBytes  1.72 Gbits/sec   0.005 ms 1234/567890 (0.22%)"
    out=$(grep -A2 "Server Report" "$tmp/client.out" | tail -n 1 | sed 's/^\[ *[0-9]*\] //')
    res=$(awk -v c0="$c0" -v c1="$c1" -v hz="$hz" -v rep="$out" 'BEGIN {
      n = split(rep, f, " ")
      for (i = 2; i <= n; i++) if (f[i] ~ /bits\/sec$/) {
        m = substr(f[i], 1, 1)
        g = f[i - 1] * (m == "G" ? 1 : m == "M" ? 1e-3 : m == "K" ? 1e-6 : 1e-9)
      }
      if (match(rep, /\([0-9.e+-]+%\)/)) lost = substr(rep, RSTART + 1, RLENGTH - 3)
      for (i = 2; i <= n; i++) if (f[i] ~ /^[0-9]+\/[1-9][0-9]*$/) {
        split(f[i], lt, "/")
        lost = 100 * lt[1] / lt[2]
      }
      if (split(f[1], t, "-") == 2) dur = t[2] - t[1]
      if (g == "" || lost == "") { print "fail"; exit }
      cpu = "-"
      if (c0 != "" && g > 0 && dur > 0) cpu = sprintf("%.2f", (c1 - c0) / hz / (g * dur / 8))
      printf "%.4f %.2f %s %s\n", g, lost, cpu, rep }')
  else
    res=$(awk -v c0="$c0" -v c1="$c1" -v hz="$hz" -v rc="$rc" '
      /"error"/ { err = 1 }
      /"sum_received"/ { in_sum = 1 }
      in_sum && /"bytes"/ { gsub(/[^0-9.]/, "", $2); bytes = $2 }
      in_sum && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); bps = $2 }
      in_sum && /"lost_packets"/ { gsub(/[^0-9]/, "", $2); lp = $2 }
      in_sum && /"packets"/ && !/lost/ { gsub(/[^0-9]/, "", $2); pk = $2 }
      in_sum && /"lost_percent"/ { gsub(/[^0-9.e+-]/, "", $2); lost = $2; in_sum = 0 }
      END {
        if (rc != 0 || err || bps == "" || lost == "") { print "fail"; exit }
        cpu = "-"
        if (c0 != "" && bytes > 0) cpu = sprintf("%.2f", (c1 - c0) / hz / (bytes / 1e9))
        printf "%.4f %.2f %s %.3g Gbits/sec %s/%s (%.2g%%)\n", bps / 1e9, lost, cpu, bps / 1e9, lp, pk, lost
      }' "$tmp/client.out")
  fi
  [ "$rc" = 124 ] && res=fail
  [ -n "$res" ] || res=fail
}

# cell TOOL BPS: RUNS runs; sets res to the one of median received rate.
cell() {
  local i r v=()
  for ((i = 0; i < runs; i++)); do
    udp_once "$1" "$2"
    [ "$res" = fail ] && return
    v+=("$res")
  done
  res=$(printf '%s\n' "${v[@]}" | sort -g -k1,1 | sed -n "$(((${#v[@]} + 1) / 2))p")
}

# measure KIND LABEL TOOL RATE: one cell: prints it and its bench_tsv lines.
measure() {
  local kind=$1 label=$2 tool=$3 rate=$4 bps=0 pre='' gbit lost cpu rep
  if [ "$rate" = veth ]; then
    bps=${veth_bps[$tool]:-}
    if [ -z "$bps" ]; then
      printf '%-20s %s\n' "$label" "[$tool, at the veth's rate] no veth rate (ROWS needs veth first)"
      return
    fi
    pre="[$tool, offered $(awk -v b="$bps" 'BEGIN { printf "%.3g", b / 1e9 }') Gbit/s] "
  elif [ "$groups" != 1 ]; then
    pre="[$tool, full rate] "
  fi
  cell "$tool" "$bps"
  if [ "$res" = fail ]; then
    printf '%-20s %s\n' "$label" "${pre}no server report (failed)"
    bench_tsv "udp-$tool-$rate" "$kind" fail Gbit/s
    bench_tsv "udp-$tool-$rate:lost" "$kind" fail %
    return
  fi
  read -r gbit lost cpu rep <<<"$res"
  printf '%-20s %s\n' "$label" "$pre$rep"
  [ "$kind" = veth ] && [ "$rate" = full ] &&
    veth_bps[$tool]=$(awk -v g="$gbit" 'BEGIN { printf "%.0f", g * 1e9 }')
  bench_tsv "udp-$tool-$rate" "$kind" "$gbit" Gbit/s "$cpu"
  bench_tsv "udp-$tool-$rate:lost" "$kind" "$lost" %
  [ "$kind" = veth ] && [ "$rate" = veth ] &&
    bench_tsv "udp-$tool-veth:offered" veth "$(awk -v b="$bps" 'BEGIN { printf "%.4f", b / 1e9 }')" Gbit/s
}

# row KIND LABEL: KIND's cells: every tool at full rate, then at the veth's.
row() {
  local kind=$1 label=$2 t r
  # shellcheck disable=SC2034  # in_ns: read by bench/lib.sh (client)
  if [ "$kind" = veth ]; then
    in_ns=(ip netns exec "$h")
  elif pasta_launch "$kind" "$label" "$tmp/pasta-$kind.log" --config-net; then
    in_ns=(nsenter -t "$cpid" -n)
  else
    for r in $rates; do
      for t in $tools; do
        printf '%-20s %s\n' "$label" "no server report (failed: did not come up)"
        bench_tsv "udp-$t-$r" "$kind" fail Gbit/s
      done
    done
    return
  fi
  for r in $rates; do
    for t in $tools; do measure "$kind" "$label" "$t" "$r"; done
  done
  pasta_stop
}

for kind in $rows; do
  case $kind in
    veth) row veth "veth (host netns)" ;;
    ours) row ours ours ;;
    B)
      if [ -x "$ours_b" ]; then row B B; else echo "B: no PASTA_B=$ours_b - skipped"; fi
      ;;
    deb13)
      if [ -x "$trixie/usr/bin/pasta" ]; then
        row deb13 "debian 13 pasta"
      else
        echo "Debian 13's pasta: no $trixie (bench/trixie-root.sh) - skipped"
      fi
      ;;
    deb12)
      # As before: no line at all without Debian's pasta.
      [ -x "$deb12" ] && row deb12 "debian pasta"
      ;;
    *) echo "unknown row $kind (veth ours B deb13 deb12)" >&2; exit 2 ;;
  esac
done
