#!/usr/bin/env bash
# Started by an unprivileged user, pasta works the same. /dev/net/tun is mode
# 0600 here, so the test gives the user a tun node of its own, bind-mounted
# over /dev/net/tun inside `ip netns exec`'s private mount namespace.
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
lab_finish
