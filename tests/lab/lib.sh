# Shared set-up for lab tests: the hermetic two-namespace lab of
# scripts/lab-env.sh. Every test sources this file, calls lab_up, and gets lab_down on exit (also on
# failure), which deletes the namespaces and kills what the test started.
# Tests need root: without it they fail (CI must not skip them).

set -u
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lab-env.sh"
LAB_ID="pl$$"
HOST_NS="${LAB_ID}h"
SERVER_NS="${LAB_ID}s"
LAB_EXTRA_NS=()
LAB_PIDS=()
# A PID no process can have (above the kernel's largest pid_max): stands in
# for one a test could not read, so `kill -0` fails instead of signalling
# the test's own process group as `kill -0 0` would.
LAB_NO_PID=2147483647
LAB_TMP=""
FAILS=0
CHECKS=0

: "${PASTA:?PASTA must point to the pasta binary under test}"

lab_down() {
  local pid ns
  for pid in "${LAB_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  # Whatever still runs in the lab's namespaces (servers started through
  # `ip netns exec`, pasta itself) goes with them.
  for ns in "${LAB_EXTRA_NS[@]}" "$HOST_NS" "$SERVER_NS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  done
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
  lab_create "$HOST_NS" "$SERVER_NS" || exit 1
}

# wait_carrier NETNS IFNAME: exits the test if the link gets no carrier.
wait_carrier() { lab_wait_carrier "$@" || exit 1; }

# Runs a command in the host netns.
in_host() { ip netns exec "$HOST_NS" "$@"; }

# check DESCRIPTION COMMAND...: runs COMMAND, counts a failure (and returns
# 1) if it fails.
check() {
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAIL: $what" >&2
    FAILS=$((FAILS + 1))
    return 1
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

# equals GOT WANT: true if the two strings are equal; both shown otherwise.
equals() {
  [ "$1" = "$2" ] && return 0
  printf '  got:  %s\n  want: %s\n' "$1" "$2" >&2
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
