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
# dependency.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-50}
ours=$PWD/${BUILD_DIR:-build}/src/pasta
[ -x "$ours" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }
. scripts/lab-env.sh
h=pasta-bench-h-$$ s=pasta-bench-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
trap 'ip netns del $h 2>/dev/null; ip netns del $s 2>/dev/null; rm -rf $tmp' EXIT
lab_private_tun "$tmp"
lab_create $h $s

# time_runs LABEL CMD...: prints the median and mean wall time in ms.
time_runs() {
  local label=$1
  shift
  local i t0 t1 times=()
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    lab_as_nobody $h "$tmp/tun" timeout 10 "$@" >/dev/null 2>&1 ||
      { echo "$label: failed" >&2; return 1; }
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { v[NR] = $1; s += $1 }
    END { printf "%-40s median %7.2f ms  mean %7.2f ms  (%d runs)\n", label, v[int((NR + 1) / 2)] / 1000, s / NR / 1000, NR }'
}

time_runs "unshare -Urn true (floor)" unshare -Urn true
time_runs "ours: pasta --config-net -- true" "$ours" --config-net -- true
if command -v pasta >/dev/null && [ "$(command -v pasta)" != "$ours" ]; then
  time_runs "debian: pasta --config-net -- true" "$(command -v pasta)" --config-net -- true
else
  echo "Debian's pasta not installed (apt-get install passt) - skipped"
fi
