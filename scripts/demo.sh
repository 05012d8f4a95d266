#!/usr/bin/env bash
# The main job, hermetically: builds pasta, makes a lab "host" network
# namespace joined by a veth to a "server" namespace (documentation prefixes
# only), and runs `pasta --config-net` there, showing the new namespace's
# addresses and routes, a ping to a server beyond the gateway, and the
# command's exit status coming back as pasta's. Removes the lab after.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
PASTA=$PWD/${BUILD_DIR:-build}/src/pasta
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it makes network namespaces)" >&2; exit 1; }
. scripts/lab-env.sh
h=pasta-demo-host-$$ s=pasta-demo-server-$$
trap 'ip netns del $h 2>/dev/null; ip netns del $s 2>/dev/null' EXIT
lab_create $h $s
ip -n $s addr add 203.0.113.1/32 dev lo
ip -n $h route add 203.0.113.0/24 via 198.51.100.1
echo "== host namespace (where pasta runs):"
ip -n $h -br addr
echo
cmd='ip -br addr; ip route; ip -6 route; ping -c 2 -W 2 203.0.113.1 && exit 3'
echo "== pasta --config-net -- sh -c '$cmd'"
set +e
ip netns exec $h "$PASTA" --config-net -- sh -c "$cmd"
rc=$?
set -e
echo "== pasta exited with the command's status: $rc"
[ "$rc" = 3 ]
