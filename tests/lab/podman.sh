#!/usr/bin/env bash
# The real engine: rootless podman 5.4 (Debian 13) runs containers with
# `--network pasta` on OUR pasta, in the lab host netns, as a rootless user.
# Checks: outbound TCP over IPv4 and IPv6 (a checksummed download), UDP echo,
# a name resolved through 169.254.1.1 (podman's resolv.conf; dnsmasq in the
# server netns is the host's resolver), published TCP and UDP ports
# (-p 8080:80, -p 5353:5353/udp) reached from the host netns' loopback and
# from the server netns, host.containers.internal reaching a server on the
# host netns, and pasta gone after `podman rm -f`.
#
# Needs the Debian 13 root of scripts/podman-root.sh (made and cached at
# $PODMAN_ROOT, default $PASTA_CACHE/podman-root, if missing: about 5 minutes, once).
# A run takes 20-40 s.
# PASTA_IMPL=upstream runs trixie's own /usr/bin/pasta instead of $PASTA,
# to compare. PASTA_TRACE=1 runs every pasta with --trace into a log of its
# own; PODMAN_KEEP=DIR copies those logs (and pasta-argv.log, what podman
# passed to our pasta) there at the end. ctest runs it as lab_podman (the
# first run on a machine builds the root); by hand:
#   PASTA=build/src/pasta tests/lab/podman.sh
#
# How podman runs here: in the root as tests/lab/engine_root.sh enters it
# (see there why), with its cgroup v1 hierarchies; besides:
# - no registry is reachable: the image is imported from a tarball
#   (busybox-static, socat and the libraries socat needs);
# - with $PASTA_ARTIFACT (ctest sets it), the release artifact goes in
#   unpacked as it is, at /opt/pasta-cpp/artifact; otherwise $PASTA, which
#   links Debian 12 libraries (abseil 20220623) that trixie lacks, goes in
#   as /opt/pasta-cpp/libexec/pasta with those libraries in
#   /opt/pasta-cpp/lib. Either sits behind a small /opt/pasta-cpp/bin/pasta
#   that records its arguments (the test prints them); containers.conf has
#   helper_binaries_dir = ["/opt/pasta-cpp/bin", "/usr/lib/podman"].
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_root.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${PODMAN_ROOT:-${PASTA_CACHE:-/srv}/podman-root}
IMPL=${PASTA_IMPL:-ours}
PY=/usr/bin/python3
USER_ID=2000
IMG=localhost/pastalab
lab_up

engine_root_up
ENGINE_CGROUPS=1

# Every command gets at most what is left of a budget, so a hang costs its
# own checks, not the report.
BUDGET_END=$((SECONDS + 280))
limit() {
  local left=$((BUDGET_END - SECONDS))
  if ((left < 5)); then left=5; fi
  if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

# Our pasta: the release artifact as it is ($PASTA_ARTIFACT, unpacked in
# /opt/pasta-cpp/artifact: it carries its own libraries), or else $PASTA
# with the Debian 12 libraries it needs that the root does not have.
ARTIFACT=${PASTA_ARTIFACT:-}
if [ "$IMPL" = ours ]; then
  if [ -n "$ARTIFACT" ]; then
    mkdir -p "$S/opt/artifact"
    tar -C "$S/opt/artifact" --strip-components=1 -xzf "$ARTIFACT"
    run_pasta='exec /opt/pasta-cpp/artifact/bin/pasta "$@"'
  else
    cp "$PASTA" "$S/opt/libexec/pasta"
    chmod 755 "$S/opt/libexec/pasta"
    run_pasta='LD_LIBRARY_PATH=/opt/pasta-cpp/lib exec /opt/pasta-cpp/libexec/pasta "$@"'
  fi
  # The wrapper also records what podman passed, one line per start.
  printf '#!/bin/sh\necho "$*" >>/tmp/pasta-argv.log\n%s\n' "$run_pasta" >"$S/opt/bin/pasta"
  chmod 755 "$S/opt/bin/pasta"
fi
mkdir -p "$S/home/.config/containers"
{
  echo '[engine]'
  echo 'cgroup_manager = "cgroupfs"'
  echo 'events_logger = "file"'
  if [ "$IMPL" = ours ]; then
    echo 'helper_binaries_dir = ["/opt/pasta-cpp/bin", "/usr/lib/podman"]'
  fi
  echo '[network]'
  echo 'default_rootless_network_cmd = "pasta"'
} >"$S/home/.config/containers/containers.conf"
printf '[storage]\ndriver = "vfs"\n' >"$S/home/.config/containers/storage.conf"
chown -R "$USER_ID:$USER_ID" "$S/home"

# What the user's commands run with (in_root, engine_root.sh).
USER_ENV=(env -i HOME=/home/podtest USER=podtest LOGNAME=podtest
  "XDG_RUNTIME_DIR=/run/user/$USER_ID" PATH=/usr/sbin:/usr/bin:/sbin:/bin
  PODMAN_IGNORE_CGROUPSV1_WARNING=1)
# pm SECONDS ARGS...: podman ARGS as the user (stdout and stderr together).
pm() {
  local t
  t=$(limit "$1")
  shift
  in_root "$(printf '%q ' timeout "$t" podman "$@")" 2>&1
}

# Cleanup before lab_down: the containers live in namespaces of their own
# (not the lab's), so podman removes them; then whatever still runs as the
# user or its subordinate ids (conmon, podman's pause process), by PID.
podman_down() {
  local p u killed=()
  if [ -n "${PODMAN_KEEP:-}" ]; then
    mkdir -p "$PODMAN_KEEP" && cp "$S"/tmp/*.log "$PODMAN_KEEP/" 2>/dev/null
  fi
  in_root "timeout 30 podman rm -af -t 0" >/dev/null 2>&1
  for p in /proc/[0-9]*; do
    u=$(stat -c %u "$p" 2>/dev/null) || continue
    if [ "$u" = $USER_ID ] || { [ "$u" -ge 200000 ] && [ "$u" -lt 265536 ]; }; then
      kill -KILL "${p#/proc/}" 2>/dev/null && killed+=("${p#/proc/}")
    fi
  done
  for p in "${killed[@]}"; do wait_gone "$p" 2; done
  lab_down
}
trap podman_down EXIT

# The servers: HTTP and UDP echo on 203.0.113.1 and 2001:db8:2::1 behind
# the server netns (routed there from the host netns), dnsmasq on
# 198.51.100.1 (the host netns' resolver), and HTTP on the host netns
# itself, for host.containers.internal.
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$SERVER_NS" addr add 2001:db8:2::1/128 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$HOST_NS" -6 route add 2001:db8:2::/64 via 2001:db8:1::1
server() { ip netns exec "$SERVER_NS" "$@"; }
head -c 4194304 /dev/urandom >"$S/www/blob"
SUM=$(sha256sum <"$S/www/blob" | cut -d' ' -f1)
echo "host-netns-server" >"$S/www/whoami"
server timeout 300 $PY -m http.server -d "$S/www" -b 203.0.113.1 8000 >/dev/null 2>&1 &
LAB_PIDS+=($!)
server timeout 300 $PY -m http.server -d "$S/www" -b 2001:db8:2::1 8000 >/dev/null 2>&1 &
LAB_PIDS+=($!)
server timeout 300 "$HERE/udp_tool.py" echo 203.0.113.1 7777 290 >/dev/null &
LAB_PIDS+=($!)
server timeout 300 "$HERE/udp_tool.py" echo 2001:db8:2::1 7777 290 >/dev/null &
LAB_PIDS+=($!)
server timeout 300 dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
  --listen-address=198.51.100.1 --port=53 --pid-file="$S/dnsmasq.pid" \
  --address=/pasta.test/203.0.113.99 --log-facility=- >/dev/null 2>&1 &
LAB_PIDS+=($!)
in_host timeout 300 $PY -m http.server -d "$S/www" -b 198.51.100.2 9000 >"$S/host-http.log" 2>&1 &
LAB_PIDS+=($!)

# listening NETNS PROTO ADDR:PORT: true once a socket listens there (20 s:
# python takes seconds to start on a loaded 2-core machine).
listening() {
  local i
  for ((i = 0; i < 200; i++)); do
    ip netns exec "$1" ss -Hln"$2" | awk '{print $4}' | grep -qxF -- "$3" && return 0
    sleep 0.1
  done
  echo "  nothing listens on $2 $3 in $1: $(ip netns exec "$1" ss -Hln"$2" | tr -s " " | tr "\n" ";")" >&2
  return 1
}
servers_ok=1
for a in "$SERVER_NS t 203.0.113.1:8000" "$SERVER_NS t [2001:db8:2::1]:8000" \
  "$SERVER_NS u 203.0.113.1:7777" "$SERVER_NS u [2001:db8:2::1]:7777" \
  "$SERVER_NS u 198.51.100.1:53" "$SERVER_NS t 198.51.100.1:53" "$HOST_NS t 198.51.100.2:9000"; do
  # shellcheck disable=SC2086
  listening $a || servers_ok=0
done
check "the lab's servers listen" test "$servers_ok" = 1
[ "$servers_ok" = 1 ] || sed 's/^/   host netns http.server: /' "$S/host-http.log"

# The image: busybox-static, socat and socat's libraries, imported.
out=$(in_root_as_root '
set -e
d=$(mktemp -d /tmp/img.XXXXXX)
mkdir -p "$d/bin" "$d/usr/bin" "$d/etc" "$d/tmp"
cp /bin/busybox "$d/bin/busybox"
for a in $(/bin/busybox --list); do [ -e "$d/bin/$a" ] || ln -s busybox "$d/bin/$a"; done
cp /usr/bin/socat "$d/usr/bin/socat"
for l in $(ldd /usr/bin/socat | grep -o "/[^ ]*"); do
  mkdir -p "$d$(dirname "$l")"
  cp -L "$l" "$d$l"
done
tar -C "$d" -cf /tmp/image.tar .
chmod 644 /tmp/image.tar
rm -rf "$d"
' 2>&1)
check "the image's rootfs is built" test $? = 0
[ -n "$out" ] && echo "$out" | sed 's/^/   /'
if [ "$IMPL" = ours ] && [ -n "$ARTIFACT" ]; then
  echo "   our pasta: the release artifact $(basename "$ARTIFACT"), nothing of Debian 12 beside it"
  out=$(find "$S/opt/lib" "$S/opt/libexec" -type f | head -n 3)
  check "no Debian 12 library or binary beside the artifact" test -z "$out"
  out=$(in_root "/opt/pasta-cpp/bin/pasta --version" 2>&1)
  rc=$?
  check "the artifact runs in the Debian 13 root: $(head -n 1 <<<"$out")" test "$rc" = 0
elif [ "$IMPL" = ours ]; then
  # The libraries (host's ldd: the whole closure) that the root lacks.
  ldd "$PASTA" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' |
    while read -r name path; do
      [ -e "$ROOT/usr/lib/x86_64-linux-gnu/$name" ] || cp -L "$path" "$S/opt/lib/$name"
    done
  missing=$(in_root_as_root 'LD_LIBRARY_PATH=/opt/pasta-cpp/lib ldd /opt/pasta-cpp/libexec/pasta' |
    awk '/not found/ {print $1}')
  echo "   copied into /opt/pasta-cpp/lib: $(cd "$S/opt/lib" && echo *)"
  check "our pasta's libraries all resolve in the root" test -z "$missing"
  out=$(in_root "LD_LIBRARY_PATH=/opt/pasta-cpp/lib /opt/pasta-cpp/libexec/pasta --version" 2>&1)
  rc=$?
  check "our pasta runs in the root: $(head -n 1 <<<"$out")" test "$rc" = 0
fi

out=$(pm 120 import /tmp/image.tar $IMG)
check "podman import" test $? = 0
echo "$out" | tail -n 2 | sed 's/^/   /'
echo "   $(pm 20 --version)"

# NET NAME: the --network value; with PASTA_TRACE=1, --trace into a log.
net() {
  if [ "${PASTA_TRACE:-0}" = 1 ]; then
    echo "pasta:--trace,-l,/tmp/pasta-$1.log"
  else
    echo pasta
  fi
}
# pasta_pids: PIDs of pasta processes in the host netns (ours or upstream's).
pasta_pids() {
  local p c
  for p in $(ip netns pids "$HOST_NS"); do
    c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $c in pasta*) echo "$p" ;; esac
  done
}
# run NAME SECONDS CMD: a --rm container on pasta running the shell command.
run() {
  pm "$2" run --rm --network "$(net "$1")" $IMG sh -c "$3"
}

# First the smallest thing, end to end.
out=$(run wget4 60 'wget -q -O- http://203.0.113.1:8000/whoami')
check "IPv4 TCP: wget from the server netns" contains "$out" host-netns-server
echo "$out" | head -n 5 | sed 's/^/   /'

# What the container sees (for the record, not checked).
out=$(run addr 60 'ip addr; ip route; ip -6 route')
echo "$out" | grep -E 'inet|via|mtu' | sed 's/^/   container: /'

out=$(run sum4 90 'wget -q -O- http://203.0.113.1:8000/blob | sha256sum')
check "IPv4 TCP: 4 MiB download, checksum intact" contains "$out" "$SUM"
echo "$out" | head -n 3 | sed 's/^/   /'
out=$(run sum6 90 'wget -q -O- "http://[2001:db8:2::1]:8000/blob" | sha256sum')
check "IPv6 TCP: 4 MiB download, checksum intact" contains "$out" "$SUM"
echo "$out" | head -n 3 | sed 's/^/   /'

out=$(run udp4 60 'echo hello-udp4 | socat -T 3 - UDP:203.0.113.1:7777')
check "IPv4 UDP: echo" contains "$out" hello-udp4
echo "$out" | head -n 3 | sed 's/^/   /'
out=$(run udp6 60 'echo hello-udp6 | socat -T 3 - "UDP6:[2001:db8:2::1]:7777"')
check "IPv6 UDP: echo" contains "$out" hello-udp6
echo "$out" | head -n 3 | sed 's/^/   /'

out=$(run dns 60 'cat /etc/resolv.conf; nslookup pasta.test 169.254.1.1')
check "resolv.conf names 169.254.1.1" contains "$out" "nameserver 169.254.1.1"
check "DNS over UDP: pasta.test resolves through 169.254.1.1" contains "$out" "203.0.113.99"
echo "$out" | head -n 8 | sed 's/^/   /'
# The same query over TCP (length-prefixed; busybox nslookup has no TCP):
# the answer carries 203.0.113.99, cb 00 71 63.
out=$(run dnstcp 60 "printf '\\000\\034\\022\\064\\001\\000\\000\\001\\000\\000\\000\\000\\000\\000\\005pasta\\004test\\000\\000\\001\\000\\001' |
  socat -T 3 - TCP:169.254.1.1:53 | od -An -v -tx1 | tr -d ' \\n'")
check "DNS over TCP: pasta.test resolves through 169.254.1.1" contains "$out" "cb007163"
echo "   $out"

out=$(run hci 60 'grep host.containers.internal /etc/hosts; wget -q -O- http://host.containers.internal:9000/whoami')
check "host.containers.internal reaches the host netns' server" contains "$out" host-netns-server
echo "$out" | head -n 4 | sed 's/^/   /'

# Options layered as podman layers them: containers.conf's pasta_options
# first, then those of --network pasta:... (podman's "Use options from
# containers.conf" test). The last --ns-mac-addr wins, as upstream.
printf '[network]\npasta_options = ["-I", "myname", "--ns-mac-addr", "9a:dd:31:ea:92:98"]\n' \
  >"$S/tmp/layer.conf"
chmod 644 "$S/tmp/layer.conf"
out=$(in_root "CONTAINERS_CONF_OVERRIDE=/tmp/layer.conf timeout $(limit 60) podman run --rm \
  --network pasta:--ns-mac-addr,aa:bb:cc:dd:ee:ff $IMG ip link show myname" 2>&1)
check "containers.conf pasta_options then --network pasta: the last MAC wins" \
  contains "$out" "link/ether aa:bb:cc:dd:ee:ff"
echo "$out" | head -n 3 | sed 's/^/   /'
# podman's "pasta(1) quits when the namespace is gone": the PID file is
# read after the container (and pasta) ended.
out=$(pm 60 run --rm --network pasta:--pid,/tmp/pasta-run.pid $IMG true)
check "podman run --network pasta:--pid,FILE" test $? = 0
pid=$(cat "$S/tmp/pasta-run.pid" 2>/dev/null)
check "the PID file is still there after the container ended" test -n "$pid"
check "the PID it names is gone" wait_gone "${pid:-$LAB_NO_PID}" 5

# Published ports: a detached container with a TCP and a UDP server.
out=$(pm 60 run -d --name pub --network "$(net pub)" -p 8080:80 -p 5353:5353/udp $IMG \
  sh -c 'socat TCP6-LISTEN:80,ipv6only=0,fork,reuseaddr SYSTEM:"echo hello-published-tcp" &
         exec socat UDP6-RECVFROM:5353,ipv6only=0,fork EXEC:cat')
check "podman run -d -p 8080:80 -p 5353:5353/udp" test $? = 0
echo "$out" | tail -n 3 | sed 's/^/   /'
pids=$(pasta_pids)
for p in $pids; do
  echo "   pasta $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"
done
sleep 1
out=$(in_host timeout 10 socat -T 3 - TCP:127.0.0.1:8080 </dev/null 2>&1)
check "published TCP from the host netns' loopback" contains "$out" hello-published-tcp
out=$(server timeout 10 socat -T 3 - TCP:198.51.100.2:8080 </dev/null 2>&1)
check "published TCP from the server netns" contains "$out" hello-published-tcp
out=$(echo hello-pub-udp-lo | in_host timeout 10 socat -T 3 - UDP:127.0.0.1:5353 2>&1)
check "published UDP from the host netns' loopback" contains "$out" hello-pub-udp-lo
out=$(echo hello-pub-udp-srv | server timeout 10 socat -T 3 - UDP:198.51.100.2:5353 2>&1)
check "published UDP from the server netns" contains "$out" hello-pub-udp-srv

out=$(in_host timeout 10 socat -T 3 - "TCP6:[::1]:8080" </dev/null 2>&1)
check "published TCP from the host netns' loopback (IPv6)" contains "$out" hello-published-tcp
out=$(server timeout 10 socat -T 3 - "TCP6:[2001:db8:1::2]:8080" </dev/null 2>&1)
check "published TCP from the server netns (IPv6)" contains "$out" hello-published-tcp
out=$(echo hello-pub-udp6-lo | in_host timeout 10 socat -T 3 - "UDP6:[::1]:5353" 2>&1)
check "published UDP from the host netns' loopback (IPv6)" contains "$out" hello-pub-udp6-lo
out=$(echo hello-pub-udp6-srv | server timeout 10 socat -T 3 - "UDP6:[2001:db8:1::2]:5353" 2>&1)
check "published UDP from the server netns (IPv6)" contains "$out" hello-pub-udp6-srv

out=$(pm 60 rm -f -t 0 pub)
check "podman rm -f" test $? = 0
gone=1
for p in $pids; do wait_gone "$p" 5 || gone=0; done
check "pasta gone after podman rm -f (was: ${pids:-none})" test -n "$pids" -a "$gone" = 1
left=$(pasta_pids)
check "no pasta left in the host netns" test -z "$left"
if [ -s "$S/tmp/pasta-argv.log" ]; then
  echo "   what podman passed to pasta, one line per container:"
  sed 's/^/     pasta /' "$S/tmp/pasta-argv.log"
fi
lab_finish
