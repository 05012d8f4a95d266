#!/usr/bin/env bash
# pasta --config-net --netns NAME and pasta PID: attach to an existing
# namespace, configure the tap, go to the background; quit when the
# namespace file goes away.
. "$(dirname "$0")/lib.sh"
lab_up

target="${LAB_ID}t"
LAB_EXTRA_NS+=("$target")
ip netns add "$target"
pidfile="$LAB_TMP/pasta.pid"

start=$(date +%s%N)
# Options layered as podman does (containers.conf's pasta_options, then
# --network pasta:...): the last --ns-mac-addr wins.
in_host timeout 20 "$PASTA" --config-net --ns-mac-addr 9a:dd:31:ea:92:98 \
  --netns "$target" -P "$pidfile" --ns-mac-addr aa:bb:cc:dd:ee:ff
rc=$?
check "attach by name returns 0" test $rc = 0
check "pid file written" test -s "$pidfile"
pid=$(cat "$pidfile" 2>/dev/null || echo "$LAB_NO_PID")
LAB_PIDS+=("$pid")
check "background pasta is running" kill -0 "$pid"
out=$(ip -n "$target" -br addr show eth0)
check "tap configured in the target (IPv4)" contains "$out" "198.51.100.2/24"
check "tap configured in the target (IPv6)" contains "$out" "2001:db8:1::2/64"
out=$(ip -n "$target" route)
check "default route in the target" contains "$out" "default via 198.51.100.1 dev eth0"
out=$(ip -n "$target" -br link show eth0)
check "the last of two --ns-mac-addr is the tap's MAC" contains "$out" "aa:bb:cc:dd:ee:ff"
# By device (1:3 is /dev/null): the sandbox's mount namespace hides paths.
out=$(stat -L -c %t:%T /proc/"$pid"/fd/0 /proc/"$pid"/fd/1 /proc/"$pid"/fd/2 2>&1)
check "daemon holds no inherited stdio" test "$(grep -c '^1:3$' <<<"$out")" = 3

ip netns del "$target"
check "pasta quits when the netns is deleted" wait_gone "$pid" 5
# As upstream: the file stays, and podman reads it after the fact.
check "pid file kept after exit, with pasta's PID" equals "$(cat "$pidfile" 2>&1)" "$pid"

# --no-netns-quit keeps it running; SIGTERM ends it with status 0.
ip netns add "$target"
in_host timeout 20 "$PASTA" --netns "$target" --no-netns-quit -P "$pidfile"
pid=$(cat "$pidfile" 2>/dev/null || echo "$LAB_NO_PID")
LAB_PIDS+=("$pid")
ip netns del "$target"
sleep 0.5
check "--no-netns-quit: still running after deletion" kill -0 "$pid"
kill -TERM "$pid"
check "SIGTERM ends it" wait_gone "$pid" 5

# Attach by PID (its netns and user namespace), in the foreground with -f.
in_host unshare --user --map-root-user --net sleep 30 &
holder=$!
LAB_PIDS+=("$holder")
sleep 0.3
child=$(pgrep -P "$holder" sleep || echo "$holder")
in_host timeout 20 "$PASTA" --config-net -f "$child" &
fg=$!
LAB_PIDS+=("$fg")
ok=1
for _ in $(seq 50); do
  out=$(nsenter -t "$child" -n ip -br addr show eth0 2>/dev/null) && contains "$out" 198.51.100.2 2>/dev/null && break
  sleep 0.1
done
out=$(nsenter -t "$child" -n ip -br addr show eth0 2>&1)
check "attach by PID configures its netns" contains "$out" "198.51.100.2/24"
check "-f stays in the foreground" kill -0 "$fg"
kill "$holder" "$child" 2>/dev/null
check "pasta quits when the target PID exits" wait_gone "$fg" 5
lab_finish
