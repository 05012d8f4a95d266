#!/usr/bin/env bash
# ICMP echo round-trip time from a namespace to a server one veth hop away:
# a plain veth (the host netns pinging the server directly: the floor),
# ours, and Debian's pasta, in one run. Every pasta runs as an unprivileged
# user (see startup.sh for why) with a private tun node, `--config-net --
# sleep`; the host's ping (the same binary for every row) runs as root,
# nsenter'ed into that namespace's network only. The server is the server
# netns's loopback address, 203.0.113.1 (IPv6: 2001:db8:2::1).
# Usage: bench/ping.sh [COUNT] (default 500). Needs root to build the lab.
#   ROWS="veth ours deb12"  rows: also B ($PASTA_B, a second build of ours,
#                           the default when set) and deb13 (Debian 13's
#                           pasta from the root of bench/trixie-root.sh at
#                           $TRIXIE_ROOT, default /srv/trixie)
#   FAMS="4" (or "4 6")     IP versions         PASTA=path to our binary
#   BENCH_TSV=file          bench_tsv lines (paths icmp4, icmp6: average RTT
#                           in us; icmp4:lost, icmp6:lost in %)
set -u
cd "$(dirname "$0")/.." || exit 1
count=${1:-500}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
if [ -n "$ours_b" ]; then rows=${ROWS:-veth ours B deb12}; else rows=${ROWS:-veth ours deb12}; fi
fams=${FAMS:-4}
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/pasta
[[ $count =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/ping.sh [COUNT] (ROWS, FAMS, PASTA in the environment)" >&2
  exit 2
}
[ -x "$ours" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }
# shellcheck source=scripts/lab-env.sh
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
h=pasta-bping-h-$$ s=pasta-bping-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
# For bench/lib.sh: no pasta outlives $life seconds; the state.
# shellcheck disable=SC2034
life=600 art='' wpid='' cpid='' ppid='' ipid='' clpid='' rc='' res=''
bench_lab
ip -n $s addr add 203.0.113.1/32 dev lo
ip -n $h route add 203.0.113.0/24 via 198.51.100.1
ip -n $s addr add 2001:db8:2::1/128 dev lo
ip -n $h -6 route add 2001:db8:2::/64 via 2001:db8:1::1

# rtt KIND FAM LABEL CMD...: pings from where CMD... (a netns prefix) puts
# ping and prints the loss and min/avg/max/mdev from ping's summary.
rtt() {
  local kind=$1 fam=$2 label=$3 dst=203.0.113.1 out avg lost
  shift 3
  [ "$fam" = 6 ] && dst=2001:db8:2::1 label="$label v6"
  out=$(timeout $((count / 100 + 30)) "$@" ping -"$fam" -q -c "$count" -i 0.002 -W 1 $dst 2>&1 |
    tail -n 2)
  printf '%-28s %s | %s\n' "$label" "$(head -n1 <<<"$out" | sed 's/.*transmitted, //')" "$(tail -n1 <<<"$out")"
  # "rtt min/avg/max/mdev = 0.012/0.018/0.09/0.003 ms"; "..., 0% packet loss, ..."
  avg=$(awk -F/ '/^rtt / { printf "%.1f", $5 * 1000 }' <<<"$out")
  lost=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$out")
  bench_tsv "icmp$fam" "$kind" "${avg:-fail}" us
  bench_tsv "icmp$fam:lost" "$kind" "${lost:-fail}" %
}

# row KIND LABEL: KIND's pings, every IP version.
row() {
  local kind=$1 label=$2 f
  if [ "$kind" = veth ]; then
    for f in $fams; do rtt veth "$f" "$label" ip netns exec $h; done
    return
  fi
  if ! pasta_launch "$kind" "$label" "$tmp/pasta-$kind.log" --config-net; then
    for f in $fams; do
      printf '%-28s %s\n' "$label$([ "$f" = 6 ] && echo ' v6')" "fail (did not come up)"
      bench_tsv "icmp$f" "$kind" fail us
    done
    return
  fi
  for f in $fams; do rtt "$kind" "$f" "$label" nsenter -t "$cpid" -n; done
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
      if [ -x "$deb12" ]; then
        row deb12 "debian pasta"
      else
        echo "Debian's pasta not installed (apt-get install passt) - skipped"
      fi
      ;;
    *) echo "unknown row $kind (veth ours B deb13 deb12)" >&2; exit 2 ;;
  esac
done
