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
h=pasta-bench-h-$$ s=pasta-bench-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
trap 'ip netns del $h 2>/dev/null; ip netns del $s 2>/dev/null; rm -rf $tmp' EXIT
chmod 755 "$tmp"
mknod "$tmp/tun" c 10 200
chmod 666 "$tmp/tun"
ip netns add $s
ip netns add $h
ip -n $h link add eth0 type veth peer name eth0 netns $s
ip -n $h addr add 198.51.100.2/24 dev eth0
ip -n $h addr add 2001:db8:1::2/64 dev eth0 nodad
ip -n $s addr add 198.51.100.1/24 dev eth0
for n in $s $h; do ip -n $n link set lo up; ip -n $n link set eth0 up; done
ip -n $h route add default via 198.51.100.1
ip -n $h -6 route add default via 2001:db8:1::1
# Wait for carrier: routes of a link without it are flagged link-down.
for _ in $(seq 50); do
  [ "$(ip netns exec $h cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] && break
  sleep 0.1
done

# time_runs LABEL CMD...: prints the median and mean wall time in ms.
time_runs() {
  local label=$1
  shift
  local i t0 t1 times=()
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    ip netns exec $h sh -c 'mount --bind "$0" /dev/net/tun && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- timeout 10 "$@"' \
      "$tmp/tun" "$@" >/dev/null 2>&1 || { echo "$label: failed" >&2; return 1; }
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
