#!/usr/bin/env bash
# Start-up time of `pasta --config-net -- true` (namespace creation, tap,
# netlink configuration, command, exit), ours against Debian's pasta and
# against plain `unshare -Urn true`, measured in one run, inside a lab host
# namespace, each as an unprivileged user (nobody) as engines run it: a
# private tun node is bind-mounted over /dev/net/tun (mode 0600 here) in
# `ip netns exec`'s own mount namespace. Debian 12's pasta started as root
# drops to nobody and then cannot map ids (it spins until killed), so root
# runs would not compare like with like. Usage: bench/startup.sh [RUNS]
# (default 50). Needs root to build the lab.
# Debian's pasta (package passt) is optional: it is the yardstick, not a
# dependency. Debian 13's runs in the root of bench/trixie-root.sh, made the
# root of the private mount namespace (bench/lib.sh, bench_as_nobody).
# Each row's runs are timed inside that prepared place, by a bash loop
# there ($EPOCHREALTIME around `timeout 10 CMD`), so that neither `ip netns
# exec` and setpriv nor the mounts of Debian 13's root (tens of ms, and
# not the same for every row) are counted: each time is what starting the
# command itself costs, as an engine that runs pasta sees it.
#   ROWS="unshare ours deb12"  rows: also B ($PASTA_B, a second build of
#                              ours, the default when set) and deb13
#                              ($TRIXIE_ROOT, default /srv/trixie)
#   PASTA=path to our binary   BENCH_TSV=file (bench_tsv lines, path
#                              startup: the median in ms)
set -eu
cd "$(dirname "$0")/.."
runs=${1:-50}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
if [ -n "$ours_b" ]; then rows=${ROWS:-unshare ours B deb12}; else rows=${ROWS:-unshare ours deb12}; fi
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/pasta
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/startup.sh [RUNS]" >&2; exit 2; }
[ -x "$ours" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }
# shellcheck source=scripts/lab-env.sh
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
h=pasta-bench-h-$$ s=pasta-bench-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
trap 'ip netns del $h 2>/dev/null; ip netns del $s 2>/dev/null; rm -rf $tmp' EXIT
trap 'exit 130' INT TERM
lab_private_tun "$tmp"
lab_create $h $s

# The timing loop (bash LOOP N CMD...): N runs of CMD, each one's wall
# time in us on a line; exits 1 at the first run that fails.
# shellcheck disable=SC2016  # expanded by that bash
loop='n=$1
  shift
  for ((i = 0; i < n; i++)); do
    t0=${EPOCHREALTIME/./}
    timeout 10 "$@" </dev/null >/dev/null 2>&1 || exit 1
    t1=${EPOCHREALTIME/./}
    echo $((t1 - t0))
  done'

# time_runs KIND LABEL CMD...: prints the median and mean wall time in ms.
time_runs() {
  local kind=$1 label=$2 out
  shift 2
  local times=()
  out=$(bench_as_nobody "$kind" env LC_ALL=C bash -c "$loop" bash "$runs" "$@" 2>/dev/null) || {
    echo "$label: failed" >&2
    bench_tsv startup "$kind" fail ms
    return 0
  }
  mapfile -t times <<<"$out"
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { v[NR] = $1; s += $1 }
    END { printf "%-40s median %7.2f ms  mean %7.2f ms  (%d runs)\n", label, v[int((NR + 1) / 2)] / 1000, s / NR / 1000, NR }'
  bench_tsv startup "$kind" "$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')" ms
}

for kind in $rows; do
  case $kind in
    unshare) time_runs unshare "unshare -Urn true (floor)" unshare -Urn true ;;
    ours) time_runs ours "ours: pasta --config-net -- true" "$ours" --config-net -- true ;;
    B)
      if [ -x "$ours_b" ]; then
        time_runs B "B: pasta --config-net -- true" "$ours_b" --config-net -- true
      else
        echo "B: no PASTA_B=$ours_b - skipped"
      fi
      ;;
    deb13)
      if [ -x "$trixie/usr/bin/pasta" ]; then
        time_runs deb13 "debian 13: pasta --config-net -- true" pasta --config-net -- true
      else
        echo "Debian 13's pasta: no $trixie (bench/trixie-root.sh) - skipped"
      fi
      ;;
    deb12)
      if [ -x "$deb12" ]; then
        time_runs deb12 "debian: pasta --config-net -- true" "$deb12" --config-net -- true
      else
        echo "Debian's pasta not installed (apt-get install passt) - skipped"
      fi
      ;;
    *) echo "unknown row $kind (unshare ours B deb13 deb12)" >&2; exit 2 ;;
  esac
done
