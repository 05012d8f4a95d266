#!/usr/bin/env bash
# A real guest on our passt: QEMU (x86_64, TCG) boots Debian 12's cloud
# kernel with a busybox initramfs (tests/lab/passt_vm/, cached by its
# image.sh) whose only network device is a virtio-net on `-netdev stream`
# to passt -1 in the lab's host netns. Checks: the guest has lo and eth0
# only; DHCP gives it the host's address and default route; a 20 MB
# download from the server netns arrives intact; a 4 MB file the guest
# serves on 8080 reaches the server netns through -t 2222:8080 intact;
# 100 MB each way (downloaded, and sent to the server netns) intact;
# SLAAC gives it an IPv6 address in the host's prefix; it pings the
# server netns and its gateway; 64 kB of UDP datagrams come back from an
# echo server in the server netns intact; a name resolves through
# --dns-forward to dnsmasq in the server netns; passt exits 0 when QEMU
# does (-1). Then the same guest
# on a socketpair given to passt with -F and to QEMU as addr.type=fd.
. "$(dirname "$0")/lib.sh"
lab_up
command -v qemu-system-x86_64 >/dev/null || {
  echo "FAIL: qemu-system-x86_64 not installed (scripts/deps.sh installs qemu-system-x86)" >&2
  exit 1
}
vm=$("$(dirname "$0")/passt_vm/image.sh") || { echo "FAIL: passt_vm/image.sh" >&2; exit 1; }
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
# passt's ping sockets, for root too.
ip netns exec "$HOST_NS" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
mkdir -p "$LAB_TMP/bin" "$LAB_TMP/www"
PASST=$LAB_TMP/bin/passt
ln -s "$(readlink -f "$PASTA")" "$PASST"
SOCK=$LAB_TMP/passt.socket
head -c 20000000 /dev/urandom >"$LAB_TMP/www/blob"
blob=$(sha256sum <"$LAB_TMP/www/blob" | cut -c1-64)
head -c 100000000 /dev/urandom >"$LAB_TMP/www/big"
big=$(sha256sum <"$LAB_TMP/www/big" | cut -c1-64)
ip netns exec "$SERVER_NS" timeout 150 python3 "$(dirname "$0")/passt_tool.py" \
  sink 203.0.113.1 8001 >"$LAB_TMP/sink.log" 2>&1 &
LAB_PIDS+=("$!")
(cd "$LAB_TMP/www" && exec ip netns exec "$SERVER_NS" python3 -m http.server \
  -b 203.0.113.1 8000 >/dev/null 2>&1) &
LAB_PIDS+=("$!")
# A UDP echo server, and a resolver that knows name.test, for --dns-forward.
ip netns exec "$SERVER_NS" timeout 150 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.1", 7007))
while True:
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)' >/dev/null 2>&1 &
LAB_PIDS+=("$!")
ip -n "$SERVER_NS" addr add 203.0.113.53/32 dev lo
ip netns exec "$SERVER_NS" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv \
  --no-hosts --bind-interfaces --listen-address=203.0.113.53 --pid-file= \
  --address=/name.test/203.0.113.7 >"$LAB_TMP/dnsmasq.log" 2>&1 &
LAB_PIDS+=("$!")

ip netns exec "$HOST_NS" "$PASST" -f -e -1 -s "$SOCK" -t 2222:8080 \
  --dns-forward 198.51.100.53 --dns-host 203.0.113.53 \
  >"$LAB_TMP/passt.log" 2>&1 &
PASST_PID=$!
LAB_PIDS+=("$PASST_PID")
for ((i = 0; i < 50; i++)); do [ -S "$SOCK" ] && break; sleep 0.1; done
start=$SECONDS
ip netns exec "$HOST_NS" timeout 150 qemu-system-x86_64 -accel tcg -m 512 \
  -nodefaults -display none -serial stdio -no-reboot \
  -kernel "$vm/vmlinuz" -initrd "$vm/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 passt_big passt_dns" \
  -device virtio-net-pci,netdev=s \
  -netdev stream,id=s,server=off,addr.type=unix,addr.path="$SOCK" \
  >"$LAB_TMP/console" 2>&1 &
QEMU=$!
LAB_PIDS+=("$QEMU")
for ((i = 0; i < 1200; i++)); do
  grep -q "GUEST: serving" "$LAB_TMP/console" && break
  kill -0 "$QEMU" 2>/dev/null || break
  sleep 0.1
done
echo "  the guest booted and ran its part in $((SECONDS - start)) s"
console=$(grep "GUEST:" "$LAB_TMP/console")
sed 's/^/  /' <<<"$console"
check "the guest's network devices: lo and eth0 only" contains "$console" "GUEST: links lo eth0 "
check "DHCP gives the guest the host's address" contains "$console" "GUEST: addr 198.51.100.2/24"
check "and the host's default route" contains "$console" "GUEST: route default via 198.51.100.1 dev eth0"
check "SLAAC gives the guest an address in the host's prefix" contains "$console" "GUEST: addr6 2001:db8:1:"
check "the guest pings the server netns" contains "$console" "GUEST: ping 203.0.113.1 ok"
check "the guest pings its gateway" contains "$console" "GUEST: ping gateway 198.51.100.1 ok"
sent=$(sed -n 's/^GUEST: udp sent //p' <<<"$console" | tr -d '\r')
check "64 kB in UDP datagrams come back from the server netns' echo server intact" \
  bash -c "[ -n '$sent' ] && grep -q 'GUEST: udp echoed $sent' '$LAB_TMP/console'"
check "--dns-forward: the guest resolves name.test through the lab's resolver" \
  contains "$console" "GUEST: dns name.test 203.0.113.7"
check "20 MB from the server netns reach the guest intact" contains "$console" "GUEST: down $blob"
check "100 MB from the server netns reach the guest intact" contains "$console" "GUEST: big down $big"
posted=$(sed -n 's/^GUEST: big up //p' <<<"$console" | tr -d '\r')
check "100 MB the guest sends reach the server netns intact" \
  bash -c "[ -n '$posted' ] && grep -q 'GUEST: big sent $posted' '$LAB_TMP/console' && grep -q 'sink: 100000000 bytes, sha256 $posted' '$LAB_TMP/sink.log'"
up=$(ip netns exec "$SERVER_NS" timeout 60 curl -s http://198.51.100.2:2222/up | sha256sum | cut -c1-64)
check "-t 2222:8080: 4 MB the guest serves reach the server netns intact" \
  contains "$console" "GUEST: up $up"
kill "$QEMU"
check "-1: passt exits when QEMU goes" wait_gone "$PASST_PID" 5
wait "$PASST_PID"
check "-1: with status 0" equals "$?" 0
check "passt saw QEMU connect" contains "$(cat "$LAB_TMP/passt.log")" "accepted a client"

# -F: a socketpair, one end to passt, the other to QEMU (addr.type=fd).
out=$(ip netns exec "$HOST_NS" timeout 150 python3 - "$PASST" "$vm" <<'PY' 2>&1
import socket, subprocess, sys, time
passt, vm = sys.argv[1], sys.argv[2]
a, b = socket.socketpair()
p = subprocess.Popen([passt, "-f", "-e", "-F", str(a.fileno())], pass_fds=[a.fileno()])
q = subprocess.Popen(
    ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nodefaults",
     "-display", "none", "-serial", "stdio", "-no-reboot",
     "-kernel", vm + "/vmlinuz", "-initrd", vm + "/initrd.gz",
     "-append", "console=ttyS0 quiet panic=-1",
     "-device", "virtio-net-pci,netdev=s",
     "-netdev", "stream,id=s,addr.type=fd,addr.str=%d" % b.fileno()],
    pass_fds=[b.fileno()], stdout=subprocess.PIPE, text=True)
a.close()
b.close()
for line in q.stdout:
    if line.startswith("GUEST:"):
        print(line.strip(), flush=True)
    if "GUEST: serving" in line:
        break
q.kill()
q.wait()
print("passt exit", p.wait(timeout=10))
PY
)
sed 's/^/  -F: /' <<<"$out"
check "-F: DHCP gives the guest on the caller's socket the host's address" \
  contains "$out" "GUEST: addr 198.51.100.2/24"
check "-F: 20 MB from the server netns reach it intact" contains "$out" "GUEST: down $blob"
check "-F: passt exits 0 when QEMU goes" contains "$out" "passt exit 0"
lab_finish
