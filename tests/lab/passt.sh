#!/usr/bin/env bash
# passt mode without QEMU: our binary started as `passt` in the lab's host
# netns, and passt_tool.py as the guest on its UNIX socket, speaking QEMU's
# -netdev stream framing. Checks: DHCP offers the host's template address
# and gateway; ARP answers for the gateway; a TCP connection from the guest
# to a server in the server netns moves data both ways intact (every frame's
# IPv4 and TCP checksums verified by the guest); a -t port on the host
# reaches a listener the guest answers, both ways intact; a guest that
# goes with a connection open has its host socket reset; the daemon
# contract (the parent exits 0 once the socket listens, the PID file names
# the background process); without -1 a second client is served after the
# first leaves, with -1 passt exits 0 when its client closes; -F takes a
# connected socket; the first free /tmp/passt_N.socket (in a private /tmp);
# options that need a namespace are refused with one line; following the
# host, the next guest's DHCP has the host's new address after a
# renumbering.
. "$(dirname "$0")/lib.sh"
lab_up
# A far address in the server netns (beyond the host's gateway, which
# passt maps to the host itself).
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
TOOL=("$PY" "$DIR/passt_tool.py")
mkdir -p "$LAB_TMP/bin"
PASST=$LAB_TMP/bin/passt
ln -s "$(readlink -f "$PASTA")" "$PASST"
SOCK=$LAB_TMP/passt.socket

wait_for_socket() {
  local i
  for ((i = 0; i < 50; i++)); do
    [ -S "$1" ] && return 0
    sleep 0.1
  done
  echo "  no socket at $1" >&2
  return 1
}

# --- Refused in passt mode, one line each -------------------------------------
# refused NEEDLE ARG...: passt (in the host netns) exits 1 with one line
# that contains NEEDLE.
refused() {
  local needle=$1 out status
  shift
  out=$(in_host "$PASST" "$@" 2>&1)
  status=$?
  equals "$status" 1 && equals "$(wc -l <<<"$out")" 1 && contains "$out" "$needle"
}
check "passt refuses -T with one line" refused "passt: -T is for pasta mode only" -T 80
check "passt refuses --netns with one line" refused "--netns is for pasta mode only" --netns x
check "passt refuses a command with one line" refused "passt takes no PID or command" true
check "passt refuses -t auto with one line" refused "'auto' is only allowed for pasta" -t auto
check "passt refuses a socket path in use" bash -c "
  ip netns exec '$HOST_NS' '$PY' -c 'import socket,time; s=socket.socket(socket.AF_UNIX); s.bind(\"$LAB_TMP/busy\"); s.listen(); time.sleep(5)' &
  p=\$!
  while [ ! -S '$LAB_TMP/busy' ]; do sleep 0.1; done
  out=\$(ip netns exec '$HOST_NS' '$PASST' -f -s '$LAB_TMP/busy' 2>&1); st=\$?
  kill \$p; [ \$st = 1 ] && [ \"\$out\" = 'passt: -s $LAB_TMP/busy: already in use' ]"
check "pasta refuses -s with one line" bash -c \
  "out=\$(ip netns exec '$HOST_NS' '$PASTA' -s /x 2>&1); [ \$? = 1 ] && [ \"\$out\" = 'pasta: -s is for passt (VM) mode only' ]"
check "passt --help describes passt" bash -c "ip netns exec '$HOST_NS' '$PASST' --help | grep -q '^Usage: passt'"

# --- The daemon: background once listening, PID file ---------------------------
in_host "$PASST" -s "$SOCK" -P "$LAB_TMP/passt.pid" -l "$LAB_TMP/passt.log" \
  -t 8080 --debug
status=$?
check "passt's parent exits 0 once the socket listens" equals "$status" 0
PID=$(cat "$LAB_TMP/passt.pid" 2>/dev/null)
[ -n "$PID" ] && LAB_PIDS+=("$PID")
check "the PID file names the running passt" bash -c "[ -n '$PID' ] && kill -0 '$PID'"
check "the socket is there at once" test -S "$SOCK"

# --- A guest: DHCP, ARP, TCP out, TCP in ---------------------------------------
ip netns exec "$SERVER_NS" timeout 40 "${TOOL[@]}" server 9000 30000 100000 &
SERVER=$!
LAB_PIDS+=("$SERVER")
ip netns exec "$SERVER_NS" timeout 40 "${TOOL[@]}" udp-echo 203.0.113.1 9001 &
LAB_PIDS+=("$!")
sleep 0.3
out=$(in_host timeout 60 "${TOOL[@]}" guest "$SOCK" \
  --expect-addr 198.51.100.2 --expect-router 198.51.100.1 \
  --ipv6 --udp 203.0.113.1:9001 --connect 203.0.113.1:9000 --up 30000 \
  --listen 8080 --down 50000 \
  --inbound-cmd "ip netns exec $SERVER_NS ${TOOL[*]} client 198.51.100.2 8080 50000" 2>&1)
echo "$out" | sed 's/^/  guest: /'
check "DHCP offers the host's address and gateway" contains "$out" "ok: DHCP address 198.51.100.2 mask 255.255.255.0 router 198.51.100.1"
check "ARP answers for the gateway" contains "$out" "ok: ARP 198.51.100.1 is at"
check "NDP: a router solicitation is answered with the host's prefix" \
  contains "$out" "ok: NDP router advertisement, prefixes 2001:db8:1::/64, managed yes"
check "DHCPv6 hands out the host's IPv6 address" contains "$out" "ok: DHCPv6 REPLY, address 2001:db8:1::2"
check "UDP from the guest to the server netns and back" contains "$out" "ok: UDP echo from 203.0.113.1:9001, 1000 bytes"
check "TCP from the guest to the server netns, 30000 bytes up and 100000 down intact" \
  contains "$out" "ok: TCP to 203.0.113.1:9000: 30000 bytes up, 100000 bytes down"
check "-t 8080 from the server netns reaches the guest, 50000 bytes each way intact" \
  contains "$out" "ok: TCP from 198.51.100.1 to port 8080: 50000 bytes in"
wait "$SERVER"
check "the server netns's server saw its exchange through" equals "$?" 0

# --- Without -1: the next client is served -------------------------------------
check "passt outlives its first client" kill -0 "$PID"
# It leaves with a connection open: passt resets its host socket.
ip netns exec "$SERVER_NS" timeout 40 "${TOOL[@]}" hold 9002 >"$LAB_TMP/hold.out" 2>&1 &
HOLD=$!
sleep 0.3
out=$(in_host timeout 20 "${TOOL[@]}" guest "$SOCK" --expect-addr 198.51.100.2 \
  --abandon 203.0.113.1:9002 2>&1)
check "a second client gets DHCP too" contains "$out" "ok: DHCP address 198.51.100.2"
check "its connection to the server netns opens" contains "$out" "ok: TCP to 203.0.113.1:9002 open"
wait "$HOLD"
check "when it goes, its connection's host socket is reset" \
  contains "$(cat "$LAB_TMP/hold.out")" "hold: reset after 1000 bytes"
log=$(cat "$LAB_TMP/passt.log")
check "passt logged both clients' disconnections" \
  equals "$(grep -c 'client connection closed' <<<"$log")" 2

# --- Following the host: the next guest's DHCP has the host's new address -------
H() { ip -n "$HOST_NS" "$@"; }
H addr del 198.51.100.2/24 dev eth0
H addr add 198.51.100.3/24 dev eth0
H route replace default via 198.51.100.1
resynced() { grep -q "host: re-sync" "$LAB_TMP/passt.log"; }
for ((i = 0; i < 30; i++)); do resynced && break; sleep 0.1; done
check "passt re-reads the host after its renumbering" resynced
out=$(in_host timeout 20 "${TOOL[@]}" guest "$SOCK" --dhcp-only --expect-addr 198.51.100.3 2>&1)
check "following the host: DHCP offers its new address 198.51.100.3" \
  contains "$out" "ok: DHCP address 198.51.100.3 mask 255.255.255.0 router 198.51.100.1"
check "--debug says what changed" contains "$(cat "$LAB_TMP/passt.log")" \
  "host: IPv4 address 198.51.100.2/24 on eth0 removed"
H addr del 198.51.100.3/24 dev eth0
H addr add 198.51.100.2/24 dev eth0
H route replace default via 198.51.100.1
kill "$PID"
check "passt exits on SIGTERM" wait_gone "$PID" 5

# --- -1: passt exits when its client closes --------------------------------------
SOCK1=$LAB_TMP/one.socket
ip netns exec "$HOST_NS" "$PASST" -1 -f -s "$SOCK1" -P "$LAB_TMP/one.pid" >"$LAB_TMP/one.log" 2>&1 &
ONE=$!
LAB_PIDS+=("$ONE")
if wait_for_socket "$SOCK1"; then
  out=$(in_host timeout 20 "${TOOL[@]}" guest "$SOCK1" --dhcp-only 2>&1)
  check "-1: the client is served" contains "$out" "ok: DHCP address 198.51.100.2"
  check "-1: passt exits when the client closes" wait_gone "$ONE" 5
  wait "$ONE"
  check "-1: with status 0" equals "$?" 0
  check "-1: foreground with -P writes our own PID" equals "$(cat "$LAB_TMP/one.pid")" "$ONE"
else
  check "-1: passt listened" false
fi

# --- -F: a connected socket from the caller -------------------------------------
out=$(in_host timeout 30 "$PY" - "$PASST" "${TOOL[@]}" <<'EOF' 2>&1
import os, socket, subprocess, sys
passt, tool = sys.argv[1], sys.argv[2:]
a, b = socket.socketpair()
p = subprocess.Popen([passt, "-f", "-F", str(b.fileno())], pass_fds=[b.fileno()])
b.close()
g = subprocess.run(tool + ["guest", "fd:%d" % a.fileno(), "--dhcp-only"],
                   pass_fds=[a.fileno()], capture_output=True, text=True)
print(g.stdout, end="")
a.close()
print("passt exit", p.wait(timeout=10))
EOF
)
check "-F: the guest on the caller's socket gets DHCP" contains "$out" "ok: DHCP address 198.51.100.2"
check "-F: passt exits 0 when that socket closes" contains "$out" "passt exit 0"

# --- Without -s: the first free /tmp/passt_N.socket, in a private /tmp ----------
# (The lab's files live under /tmp, and so may the tree and the build: the
# program and the tool are copied into the lab's files, which are bound to
# /mnt first, in the private mount namespace only.)
mkdir -p "$LAB_TMP/priv/bin"
cp "$(readlink -f "$PASTA")" "$LAB_TMP/priv/bin/passt"
cp "$DIR/passt_tool.py" "$LAB_TMP/priv/"
out=$(in_host unshare -m --propagation private bash -c '
  mount --bind '"$LAB_TMP"' /mnt && mount -t tmpfs none /tmp || exit 1
  '"$PY"' -c "import socket,time; s=socket.socket(socket.AF_UNIX); s.bind(\"/tmp/passt_1.socket\"); s.listen(); time.sleep(20)" &
  busy=$!
  for i in $(seq 50); do [ -S /tmp/passt_1.socket ] && break; sleep 0.1; done
  : > /tmp/passt_2.socket   # a stale file: taken over
  /mnt/priv/bin/passt -1 -f -e >/tmp/log 2>&1 &
  for i in $(seq 50); do [ -S /tmp/passt_2.socket ] && break; sleep 0.1; done
  timeout 20 '"$PY"' /mnt/priv/passt_tool.py guest /tmp/passt_2.socket --dhcp-only
  timeout 10 tail --pid=$! -f /dev/null
  cat /tmp/log
  kill $busy' 2>&1)
check "without -s: the first free /tmp/passt_N.socket, a busy one skipped" \
  contains "$out" "UNIX domain socket bound at /tmp/passt_2.socket"
check "without -s: the QEMU command line is printed" \
  contains "$out" "addr.type=unix,addr.path=/tmp/passt_2.socket"
check "without -s: the guest is served" contains "$out" "ok: DHCP address 198.51.100.2"

lab_finish
