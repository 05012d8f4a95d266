#!/usr/bin/env bash
# ICMP echo round-trip time from a namespace to a server one veth hop away:
# a plain veth (the host netns pinging the server directly: the floor),
# ours, and Debian's pasta, in one run. Both pastas run as an unprivileged
# user (see startup.sh for why). Usage: bench/ping.sh [COUNT] (default 500).
# Needs root to build the lab.
set -eu
cd "$(dirname "$0")/.."
count=${1:-500}
ours=$PWD/${BUILD_DIR:-build}/src/pasta
[ -x "$ours" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }
. scripts/lab-env.sh
h=pasta-bping-h-$$ s=pasta-bping-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
trap 'ip netns del $h 2>/dev/null; ip netns del $s 2>/dev/null; rm -rf $tmp' EXIT
lab_private_tun "$tmp"
lab_create $h $s
ip -n $s addr add 203.0.113.1/32 dev lo
ip -n $h route add 203.0.113.0/24 via 198.51.100.1

# rtt LABEL CMD...: prints min/avg/max/mdev from ping's summary.
rtt() {
  local label=$1
  shift
  local out
  out=$("$@" ping -q -c "$count" -i 0.002 -W 1 203.0.113.1 2>&1 | tail -n 2)
  printf '%-28s %s | %s\n' "$label" "$(head -n1 <<<"$out" | sed 's/.*transmitted, //')" "$(tail -n1 <<<"$out")"
}
as_nobody() { lab_as_nobody $h "$tmp/tun" "$@"; }
rtt "veth (host netns)" ip netns exec $h
rtt "ours" as_nobody timeout 120 "$ours" --config-net --
if command -v pasta >/dev/null && [ "$(command -v pasta)" != "$ours" ]; then
  rtt "debian pasta" as_nobody timeout 120 "$(command -v pasta)" --config-net --
else
  echo "Debian's pasta not installed (apt-get install passt) - skipped"
fi
