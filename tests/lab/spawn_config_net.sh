#!/usr/bin/env bash
# pasta --config-net -- CMD: a new user+net namespace whose tap looks like
# the host's template interface (name, addresses, default routes, MTU), and
# the command's exit status is ours.
. "$(dirname "$0")/lib.sh"
lab_up

out=$(in_host timeout 20 "$PASTA" --config-net -- ip -br addr show eth0)
check "tap named like the template, up" contains "$out" "eth0"
check "tap has the IPv4 address" contains "$out" "198.51.100.2/24"
check "tap has the IPv6 address" contains "$out" "2001:db8:1::2/64"
check "tap is up" grep -qE "eth0 +(UP|UNKNOWN)" <<<"$out"

out=$(in_host timeout 20 "$PASTA" --config-net -- ip route)
check "IPv4 default route copied" contains "$out" "default via 198.51.100.1 dev eth0"
out=$(in_host timeout 20 "$PASTA" --config-net -- ip -6 route)
check "IPv6 default route copied" contains "$out" "default via 2001:db8:1::1 dev eth0"
out=$(in_host timeout 20 "$PASTA" --config-net -- ip link show eth0)
check "MTU 65520 by default" contains "$out" "mtu 65520"
out=$(in_host timeout 20 "$PASTA" --config-net -m 1500 -- ip link show eth0)
check "-m 1500 sets the MTU" contains "$out" "mtu 1500"
out=$(in_host timeout 20 "$PASTA" --config-net -- ip link show lo)
check "loopback is up" contains "$out" "UP"
out=$(in_host timeout 20 "$PASTA" --config-net -I tap7 -- ip -br link)
check "-I names the tap" contains "$out" "tap7"
out=$(in_host timeout 20 "$PASTA" --config-net --ns-mac-addr 02:11:22:33:44:55 -- ip link show eth0)
check "--ns-mac-addr sets the tap MAC" contains "$out" "02:11:22:33:44:55"
out=$(in_host timeout 20 "$PASTA" --config-net -- id -u)
check "the command runs as root inside" test "$out" = 0

in_host timeout 20 "$PASTA" --config-net -- sh -c 'exit 7'
check "exit status of the command (7)" test $? = 7
in_host timeout 20 "$PASTA" --config-net -- true
check "exit status of the command (0)" test $? = 0
# --outbound-if4: probed at start-up (SO_BINDTODEVICE), then used.
out=$(in_host timeout 20 "$PASTA" --config-net --outbound-if4 eth0 -- ip -br addr show eth0 2>&1)
check "--outbound-if4 eth0: set up and configured" contains "$out" "198.51.100.2/24"
# The command is PID 1 of a new PID namespace (as upstream), which ignores
# signals it has no handler for; a child of it is killed as usual.
out=$(in_host timeout 20 "$PASTA" -- sh -c 'echo $$; readlink /proc/self/ns/pid')
check "the command is PID 1 of a new PID namespace" test "$(head -n1 <<<"$out")" = 1
check "... not the host's PID namespace" test "$(tail -n1 <<<"$out")" != "$(in_host readlink /proc/self/ns/pid)"
# The command killed by a signal (from outside its PID namespace): 128+N.
in_host timeout 20 "$PASTA" -P "$LAB_TMP/k.pid" -- sleep 30 &
spawner=$!
for _ in $(seq 50); do [ -s "$LAB_TMP/k.pid" ] && break; sleep 0.1; done
sleep 0.3
# The command is pasta's child (as upstream's).
inner=$(pgrep -P "$(cat "$LAB_TMP/k.pid")")
kill -KILL "$inner"
wait "$spawner"
check "a command killed by SIGKILL gives 137" test $? = 137
in_host timeout 20 "$PASTA" -- sh -c 'sh -c "kill -TERM \$\$"; exit $?'
check "exit status of a command whose child got SIGTERM (143)" test $? = 143
# Signals to pasta reach the command (here a shell that traps SIGTERM).
in_host timeout 20 "$PASTA" -P "$LAB_TMP/sp.pid" -- sh -c 'trap "exit 42" TERM; while :; do sleep 0.05; done' &
spawner=$!
for _ in $(seq 50); do [ -s "$LAB_TMP/sp.pid" ] && break; sleep 0.1; done
sleep 0.3
kill -TERM "$(cat "$LAB_TMP/sp.pid")"
wait "$spawner"
check "SIGTERM to pasta is passed to the command (exit 42)" test $? = 42
# Inherited descriptors are not passed on.
out=$(in_host timeout 20 "$PASTA" -- sh -c 'ls /proc/self/fd' 7</dev/null)
check "descriptors beyond stdio are closed" lacks "$out" "7"
in_host timeout 20 "$PASTA" -- /nonexistent/cmd 2>/dev/null
check "a command that cannot run gives 127" test $? = 127

# Without --config-net the tap exists but is left down and unaddressed.
out=$(in_host timeout 20 "$PASTA" -- ip -br addr show eth0)
check "without --config-net: tap exists" contains "$out" "eth0"
check "without --config-net: no address" lacks "$out" "198.51.100.2"

# The command's stdin/stdout work (a pipeline through the namespace).
out=$(echo hello | in_host timeout 20 "$PASTA" --config-net -- cat)
check "stdin and stdout pass through" test "$out" = hello

# --trace describes the frames the namespace sends and what became of them.
# The gateway stands for the host's loopback, where nothing listens on port
# 9: the connection is refused. (Timeouts of seconds, not tenths: on the
# emulated arm64 machine, starting bash alone can take longer than 0.3 s.)
err=$(in_host timeout 20 "$PASTA" --config-net --trace -- bash -c 'echo x > /dev/udp/198.51.100.1/9; timeout 3 bash -c "echo > /dev/tcp/198.51.100.1/9"; sleep 0.5' 2>&1 >/dev/null)
check "--trace: answered frames are described" contains "$err" "tap: sent ARP, 42 bytes"
check "--trace: new flows are described" contains "$err" "udp: new flow 198.51.100.2:"
check "--trace: TCP flows name both ends" grep -qE "tcp 198.51.100.2:[0-9]+ -> 198.51.100.1:9: tap SYN, socket connecting to 127.0.0.1:9" <<<"$err"
check "--trace: a refused connect says so" grep -qE "tcp 198.51.100.2:[0-9]+ -> 198.51.100.1:9 .*connect: Connection refused, reset" <<<"$err"
# With --no-tcp, the SYN is dropped on the tap, and says why.
err=$(in_host timeout 20 "$PASTA" --config-net --no-tcp --trace -- bash -c 'timeout 1.5 bash -c "echo > /dev/tcp/198.51.100.1/9"; sleep 0.3' 2>&1 >/dev/null)
check "--trace: dropped frames say why" grep -qE "tap: IPv4 198.51.100.2 -> 198.51.100.1 proto 6, [0-9]+ bytes: no handler: TCP, dropped" <<<"$err"
check "--trace: lines carry timestamps" grep -qE '^[0-9]+\.[0-9]{4}: ' <<<"$err"
# The last four options accepted without effect now have one: --debug
# calls none of them unimplemented.
err=$(in_host timeout 20 "$PASTA" -d --freebind --chroot-fallback -- true 2>&1)
check "--debug calls no option accepted-but-unimplemented" lacks "$err" "not implemented"
# (A sanitizer build keeps the file system by design: it says so instead.)
if ldd "${PASTA_BINARY:-$PASTA}" 2>/dev/null | grep -q libasan; then
  check "--chroot-fallback: a sanitizer build keeps the file system" \
    contains "$err" "sandbox: file system visible: sanitizer build"
else
  check "--chroot-fallback: pivot_root works here, so the usual empty root" \
    contains "$err" "sandbox: empty file system;"
fi
err=$(in_host timeout 20 "$PASTA" --config-net -- true 2>&1)
# As root, one line says what it keeps instead of dropping to nobody.
check "quiet by default: only the root notice on stderr" test "$err" = "running as root without --runas: keeping only the capabilities net_bind_service,net_admin,sys_admin"

# Nothing is left behind in the host netns.
out=$(in_host ip -br link)
check "no tap left in the host netns" lacks "$out" "tap7"
lab_finish
