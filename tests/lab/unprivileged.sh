#!/usr/bin/env bash
# Started by an unprivileged user, pasta works the same. /dev/net/tun is mode
# 0600 here, so the test gives the user a tun node of its own, bind-mounted
# over /dev/net/tun inside `ip netns exec`'s private mount namespace. The
# control socket (-c) and pesto work for the user too.
. "$(dirname "$0")/lib.sh"
lab_up

lab_private_tun "$LAB_TMP"
as_nobody() { lab_as_nobody "$HOST_NS" "$LAB_TMP/tun" "$@"; }
out=$(as_nobody timeout 20 "$PASTA" --config-net -- sh -c 'id -u; ip -br addr show eth0; ip route')
rc=$?
check "unprivileged run succeeds" test $rc = 0
check "root inside" test "$(head -n1 <<<"$out")" = 0
check "tap has the IPv4 address" contains "$out" "198.51.100.2/24"
check "tap has the IPv6 address" contains "$out" "2001:db8:1::2/64"
check "default route" contains "$out" "default via 198.51.100.1 dev eth0"
out=$(as_nobody timeout 20 "$PASTA" -q -H labbox -- uname -n)
check "-H names the command's UTS namespace" equals "$out" "labbox"
as_nobody timeout 20 "$PASTA" --config-net -- sh -c 'exit 5'
check "exit status passes through" test $? = 5

# The control socket, for a user: created mode 0600 and the user's own;
# the user's pesto adds a port, and a server in the namespace answers on it
# from the host's loopback.
PESTO=${PESTO:-$(dirname "$PASTA")/pesto}
ctl="$LAB_TMP/ctl"
mkdir "$ctl" && chown 65534:65534 "$ctl"
as_nobody timeout 40 "$PASTA" --config-net -t none -u none -c "$ctl/sock" -- \
  /usr/bin/python3 "$(dirname "$0")/forward_tool.py" serve 0.0.0.0 8080 30 /dev/null "$ctl/ready" &
LAB_PIDS+=($!)
for ((i = 0; i < 50; i++)); do [ -e "$ctl/ready" ] && [ -S "$ctl/sock" ] && break; sleep 0.1; done
check "-c as a user: the socket is mode 0600 and the user's" \
  equals "$(stat -c '%a %u' "$ctl/sock" 2>&1)" "600 65534"
out=$(as_nobody timeout 10 "$PESTO" -A -t 8080 "$ctl/sock" 2>&1)
check "the user's pesto adds -t 8080 ($out)" test $? = 0
out=$(in_host timeout 10 /usr/bin/python3 "$(dirname "$0")/forward_tool.py" port 127.0.0.1 8080 2>&1)
check "  ... and the namespace's server answers on it" equals "$out" "8080"
lab_finish
