#!/usr/bin/env bash
# UDP throughput and loss from a namespace to a server one veth hop away,
# iperf (2: pure UDP, no TCP control connection) with 1400-byte datagrams at
# the highest rate the sender reaches: a plain veth (the host netns sending directly: the limit), ours,
# and Debian's pasta, in one run. Both pastas run as an unprivileged user.
# Usage: bench/udp.sh [SECONDS] (default 5). Needs root to build the lab.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-5}
ours=$PWD/${BUILD_DIR:-build}/src/pasta
[ -x "$ours" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }
command -v iperf >/dev/null || { echo "iperf missing (scripts/deps.sh)" >&2; exit 1; }
. scripts/lab-env.sh
h=pasta-budp-h-$$ s=pasta-budp-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
trap 'ip netns del $h 2>/dev/null; ip netns del $s 2>/dev/null; rm -rf $tmp' EXIT
lab_private_tun "$tmp"
lab_create $h $s
ip -n $s addr add 203.0.113.1/32 dev lo
ip -n $h route add 203.0.113.0/24 via 198.51.100.1

# udp LABEL CMD...: runs the iperf client under CMD and prints the server's
# report: what it received and the loss it saw.
udp() {
  local label=$1
  shift
  local report srv
  # A fresh server per run: iperf 2.1.8's UDP server does not always
  # survive a client going away.
  ip netns exec $s timeout $((secs + 20)) iperf -s -u -B 203.0.113.1 -l 1400 >/dev/null 2>&1 &
  srv=$!
  sleep 0.5
  report=$("$@" iperf -u -c 203.0.113.1 -b 100G -l 1400 -t "$secs" 2>&1 |
    grep -A2 "Server Report" | tail -n 1)
  kill $srv 2>/dev/null
  wait $srv 2>/dev/null
  [ -n "$report" ] || report="no server report (failed)"
  printf '%-20s %s\n' "$label" "$(sed 's/^\[ *[0-9]*\] //' <<<"$report")"
}
as_nobody() { lab_as_nobody $h "$tmp/tun" "$@"; }
udp "veth (host netns)" ip netns exec $h
udp "ours" as_nobody timeout 60 "$ours" --config-net --
if command -v pasta >/dev/null && [ "$(command -v pasta)" != "$ours" ]; then
  udp "debian pasta" as_nobody timeout 60 "$(command -v pasta)" --config-net --
fi
