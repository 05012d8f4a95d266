#!/usr/bin/env bash
# libvirt starts our passt: libvirtd in session mode, run by the user
# nobody inside the lab's host netns with private XDG directories, defines
# and starts a domain (TCG) whose interface is <interface type='user'>
# <backend type='passt'/> with a TCP port forward, booting lab_passt_qemu's
# cached guest (tests/lab/passt_vm/). Debian 12's libvirt 9.0 cannot: its
# package has passt disabled (debian/patches/debian/Disable-passt-support
# .patch; it refuses <backend type='passt'/>), so libvirtd, virsh and QEMU
# are Debian 13's (libvirt 11, QEMU 10) from the cached trixie root of
# scripts/podman-root.sh, chrooted, with the machine's / bound at /.oldroot
# inside. libvirt execs `passt` from its PATH: the first one there is a
# wrapper that records the arguments in this test's log, then runs our
# binary with the machine's dynamic loader and libraries, as argv[0]
# "passt". Checks: libvirt's arguments (--one-off, --socket, --pid,
# --log-file, --tcp-ports); the PID file names our passt, running in the
# lab's host netns, not the machine's; inside the guest: DHCP
# gives it the host's address, it pings its gateway, 4 MB downloaded from
# the server netns and a UDP echo arrive intact; the port forward reaches
# the guest's listener from the server netns; the --log-file has passt's
# lines; passt exits once the domain is destroyed. No virtlogd (qemu.conf:
# stdio_handler = "file"). Everything runs in the lab's netns, each
# command in a private mount namespace: lab_down ends it all.
. "$(dirname "$0")/lib.sh"
lab_up
ROOT=${PODMAN_ROOT:-${PASTA_CACHE:-/srv}/podman-root}
"$(dirname "$0")/../../scripts/podman-root.sh" >/dev/null || {
  echo "FAIL: no Debian 13 root at $ROOT (scripts/podman-root.sh)" >&2
  exit 1
}
for tool in libvirtd virsh qemu-system-x86_64; do
  chroot "$ROOT" sh -c "command -v $tool" >/dev/null || {
    echo "FAIL: no $tool in $ROOT (scripts/podman-root.sh installs it)" >&2
    exit 1
  }
done
vm=$("$(dirname "$0")/passt_vm/image.sh") || { echo "FAIL: passt_vm/image.sh" >&2; exit 1; }
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
NOBODY=65534
# nobody reaches its directories under the test's (mode 0700) directory.
chmod 755 "$LAB_TMP"
H=$LAB_TMP/home
mkdir -p "$H/.config/libvirt" "$H/run" "$LAB_TMP/bin" "$LAB_TMP/www"
chmod 700 "$H/run"
cp "$vm/vmlinuz" "$vm/initrd.gz" "$H/"
printf 'stdio_handler = "file"\n' >"$H/.config/libvirt/qemu.conf"
# The machine's loader by its real path (/lib64's link is absolute: inside
# the root it would name trixie's), its libraries only.
lib=/.oldroot/usr/lib/x86_64-linux-gnu
{
  echo '#!/bin/sh'
  echo "echo \"passt \$*\" >>'$H/argv'"
  echo "exec $lib/ld-linux-x86-64.so.2 --inhibit-cache --library-path $lib --argv0 passt \\"
  echo "  '/.oldroot$(readlink -f "$PASTA")' \"\$@\""
} >"$LAB_TMP/bin/passt"
chmod 755 "$LAB_TMP/bin/passt"
chown -R "$NOBODY:$NOBODY" "$H"
# in_root COMMAND...: as nobody in the trixie root, in the lab's host netns
# (in a private mount namespace, as ip netns exec makes each time).
in_root() {
  ip netns exec "$HOST_NS" sh -c '
    r=$1
    shift
    mount --rbind / "$r/.oldroot" && mount --rbind /dev "$r/dev" &&
      mount --rbind /sys "$r/sys" && mount -t proc proc "$r/proc" &&
      mount --rbind /tmp "$r/tmp" &&
      exec chroot --userspec=65534:65534 --groups=65534 "$r" "$@"' sh "$ROOT" \
    env -i HOME="$H" XDG_RUNTIME_DIR="$H/run" XDG_CONFIG_HOME="$H/.config" \
    XDG_CACHE_HOME="$H/.cache" PATH="$LAB_TMP/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    LIBVIRT_DEFAULT_URI=qemu:///session "$@"
}

head -c 4000000 /dev/urandom >"$LAB_TMP/www/blob"
blob=$(sha256sum <"$LAB_TMP/www/blob" | cut -c1-64)
(cd "$LAB_TMP/www" && exec ip netns exec "$SERVER_NS" python3 -m http.server \
  -b 203.0.113.1 8000 >/dev/null 2>&1) &
LAB_PIDS+=("$!")
ip netns exec "$SERVER_NS" timeout 150 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.1", 7007))
while True:
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)' >/dev/null 2>&1 &
LAB_PIDS+=("$!")

start=$SECONDS
in_root libvirtd >"$LAB_TMP/libvirtd.log" 2>&1 &
LAB_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do [ -S "$H/run/libvirt/libvirt-sock" ] && break; sleep 0.1; done
cat >"$H/domain.xml" <<EOF
<domain type='qemu'>
  <name>passtlab</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$H/vmlinuz</kernel>
    <initrd>$H/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='user'>
      <mac address='52:54:00:0a:0b:0c'/>
      <backend type='passt' logFile='$H/passt.log'/>
      <model type='virtio'/>
      <portForward proto='tcp'>
        <range start='2222' to='8080'/>
      </portForward>
    </interface>
    <serial type='file'>
      <source path='$H/console'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
out=$(in_root timeout 60 virsh define "$H/domain.xml" 2>&1 &&
  in_root timeout 60 virsh start passtlab 2>&1)
check "libvirt defines and starts the domain ($(tr '\n' ' ' <<<"$out"))" \
  contains "$out" "Domain 'passtlab' started"
for ((i = 0; i < 1200; i++)); do
  grep -q "GUEST: serving" "$H/console" 2>/dev/null && break
  [ -z "$(in_root timeout 10 virsh list --name 2>/dev/null | tr -d '[:space:]')" ] && break
  sleep 0.1
done
echo "  libvirtd started, the guest booted and ran its part in $((SECONDS - start)) s"
argv=$(cat "$H/argv" 2>/dev/null)
echo "  libvirt ran: $argv"
pidfile=$(sed -n 's/.*--pid \([^ ]*\).*/\1/p' <<<"$argv")
check "libvirt passes --one-off and --socket in its state directory" \
  contains "$argv" "--one-off --socket $H/run/libvirt/qemu/run/passt/"
check "  ... --pid, a file there too" contains "$pidfile" "$H/run/libvirt/qemu/run/passt/"
check "  ... --log-file and the port forward as --tcp-ports 2222:8080" \
  contains "$argv" "--log-file $H/passt.log --tcp-ports 2222:8080"
# The loader runs our binary: its command line names both.
pid=$(cat "${pidfile:-/nonexistent}" 2>/dev/null)
check "the PID file libvirt asked for names our passt, running (pid ${pid:-none})" \
  bash -c "[ -n '$pid' ] && tr '\0' ' ' </proc/$pid/cmdline | grep -qF -- ' /.oldroot$(readlink -f "$PASTA") --one-off'"
check "  ... in the lab's host netns" \
  bash -c "[ -n '$pid' ] && [ \"\$(readlink /proc/$pid/ns/net)\" = \"\$(ip netns exec '$HOST_NS' readlink /proc/self/ns/net)\" ]"
check "  ... not in the machine's" \
  bash -c "[ -n '$pid' ] && [ \"\$(readlink /proc/$pid/ns/net)\" != \"\$(readlink /proc/1/ns/net)\" ]"
check "  ... as the session's user" equals "$(stat -c %u "/proc/${pid:-$LAB_NO_PID}" 2>&1)" "$NOBODY"
console=$(grep "GUEST:" "$H/console" 2>/dev/null)
sed 's/^/  /' <<<"$console"
check "DHCP gives the guest the host's address" contains "$console" "GUEST: addr 198.51.100.2/24"
check "the guest pings its gateway" contains "$console" "GUEST: ping gateway 198.51.100.1 ok"
check "4 MB from the server netns reach the guest intact" contains "$console" "GUEST: down $blob"
sent=$(sed -n 's/^GUEST: udp sent //p' <<<"$console" | tr -d '\r')
check "64 kB in UDP datagrams come back from the server netns' echo server intact" \
  bash -c "[ -n '$sent' ] && grep -q 'GUEST: udp echoed $sent' '$H/console'"
up=$(ip netns exec "$SERVER_NS" timeout 60 curl -s http://198.51.100.2:2222/up | sha256sum | cut -c1-64)
check "the port forward: 4 MB the guest serves on 8080 reach the server netns intact" \
  contains "$console" "GUEST: up $up"
check "passt logs to libvirt's --log-file" \
  contains "$(cat "$H/passt.log" 2>&1)" "accepted a client"
out=$(in_root timeout 60 virsh destroy passtlab 2>&1)
check "libvirt destroys the domain ($(tr '\n' ' ' <<<"$out"))" contains "$out" "destroyed"
check "passt exits once QEMU is gone" wait_gone "${pid:-$LAB_NO_PID}" 5
in_root timeout 30 virsh undefine passtlab >/dev/null 2>&1
if [ "$FAILS" != 0 ]; then
  for f in "$LAB_TMP/libvirtd.log" "$H/.cache/libvirt/qemu/log/passtlab.log" "$H/passt.log"; do
    echo "--- $f" && tail -n 30 "$f"
  done 2>&1 | sed 's/^/  /'
fi
lab_finish
