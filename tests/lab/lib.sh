# Shared set-up for lab tests: a hermetic two-namespace lab.
#
#   server netns  eth0 198.51.100.1/24 2001:db8:1::1/64
#        | veth
#   host netns    eth0 198.51.100.2/24 2001:db8:1::2/64, default routes via the
#                 server: pasta runs here, never in the machine's own netns.
#
# Only documentation prefixes; nothing is sent beyond these namespaces. Every
# test sources this file, calls lab_up, and gets lab_down on exit (also on
# failure), which deletes the namespaces and kills what the test started.
# Tests need root: without it they fail (CI must not skip them).

set -u
LAB_ID="pl$$"
HOST_NS="${LAB_ID}h"
SERVER_NS="${LAB_ID}s"
LAB_EXTRA_NS=()
LAB_PIDS=()
LAB_TMP=""
FAILS=0
CHECKS=0

: "${PASTA:?PASTA must point to the pasta binary under test}"

lab_down() {
  local pid ns
  for pid in "${LAB_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for ns in "${LAB_EXTRA_NS[@]}" "$HOST_NS" "$SERVER_NS"; do
    ip netns del "$ns" 2>/dev/null
  done
  [ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
  return 0
}

lab_up() {
  if [ "$(id -u)" != 0 ]; then
    echo "FAIL: lab tests need root (network namespaces, veth)" >&2
    exit 1
  fi
  trap lab_down EXIT
  LAB_TMP=$(mktemp -d /tmp/pasta-lab.XXXXXX)
  ip netns add "$SERVER_NS" || exit 1
  ip netns add "$HOST_NS" || exit 1
  ip -n "$HOST_NS" link add eth0 type veth peer name eth0 netns "$SERVER_NS" || exit 1
  ip -n "$SERVER_NS" addr add 198.51.100.1/24 dev eth0
  ip -n "$SERVER_NS" addr add 2001:db8:1::1/64 dev eth0 nodad
  ip -n "$HOST_NS" addr add 198.51.100.2/24 dev eth0
  ip -n "$HOST_NS" addr add 2001:db8:1::2/64 dev eth0 nodad
  for ns in "$SERVER_NS" "$HOST_NS"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
  # Ping sockets for everyone, as systemd sets it on Debian hosts (a new
  # netns starts with "1 0": nobody).
  ip netns exec "$HOST_NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
  ip -n "$HOST_NS" route add default via 198.51.100.1
  ip -n "$HOST_NS" -6 route add default via 2001:db8:1::1
  wait_carrier "$HOST_NS" eth0
}

# wait_carrier NETNS IFNAME: waits (at most 5 s) until the link has carrier,
# so that its routes are not flagged link-down when pasta reads them.
wait_carrier() {
  local i
  for ((i = 0; i < 50; i++)); do
    [ "$(ip netns exec "$1" cat /sys/class/net/"$2"/carrier 2>/dev/null)" = 1 ] && return 0
    sleep 0.1
  done
  echo "FAIL: no carrier on $2 in $1" >&2
  exit 1
}

# Runs a command in the host netns.
in_host() { ip netns exec "$HOST_NS" "$@"; }

# check DESCRIPTION COMMAND...: runs COMMAND, counts a failure if it fails.
check() {
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAIL: $what" >&2
    FAILS=$((FAILS + 1))
  fi
}

# contains HAYSTACK NEEDLE / lacks HAYSTACK NEEDLE (fixed strings, with a
# message showing the haystack on failure).
contains() {
  if grep -qF -- "$2" <<<"$1"; then return 0; fi
  printf '  expected to find: %s\n  in:\n%s\n' "$2" "$1" >&2
  return 1
}
lacks() {
  if ! grep -qF -- "$2" <<<"$1"; then return 0; fi
  printf '  expected not to find: %s\n  in:\n%s\n' "$2" "$1" >&2
  return 1
}

# wait_gone PID SECONDS: true once PID has exited (bounded).
wait_gone() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

lab_finish() {
  echo "$((CHECKS - FAILS)) of $CHECKS checks passed"
  [ "$FAILS" = 0 ]
}
