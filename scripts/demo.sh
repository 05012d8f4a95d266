#!/usr/bin/env bash
# The main job, hermetically: builds pasta, makes a lab "host" network
# namespace joined by a veth to a "server" namespace (documentation prefixes
# only), and runs `pasta --config-net` there, showing the new namespace's
# addresses and routes and a command's exit status. Removes the lab after.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
PASTA=$PWD/${BUILD_DIR:-build}/src/pasta
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it makes network namespaces)" >&2; exit 1; }
h=pasta-demo-host-$$ s=pasta-demo-server-$$
trap 'ip netns del $h 2>/dev/null; ip netns del $s 2>/dev/null' EXIT
ip netns add $s
ip netns add $h
ip -n $h link add eth0 type veth peer name eth0 netns $s
ip -n $s addr add 198.51.100.1/24 dev eth0
ip -n $s addr add 2001:db8:1::1/64 dev eth0 nodad
ip -n $h addr add 198.51.100.2/24 dev eth0
ip -n $h addr add 2001:db8:1::2/64 dev eth0 nodad
for n in $s $h; do ip -n $n link set lo up; ip -n $n link set eth0 up; done
ip -n $h route add default via 198.51.100.1
ip -n $h -6 route add default via 2001:db8:1::1
# Wait for carrier: routes of a link without it are flagged link-down.
for _ in $(seq 50); do
  [ "$(ip netns exec $h cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
echo "== host namespace (where pasta runs):"
ip -n $h -br addr
echo
echo "== pasta --config-net -- sh -c 'ip -br addr; ip route; ip -6 route; exit 3'"
set +e
ip netns exec $h "$PASTA" --config-net -- sh -c 'ip -br addr; ip route; ip -6 route; exit 3'
rc=$?
set -e
echo "== pasta exited with the command's status: $rc"
[ "$rc" = 3 ]
