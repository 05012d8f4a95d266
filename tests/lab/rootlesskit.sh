#!/usr/bin/env bash
# The real engine, second kind: rootlesskit 2.0 (Debian 13; rootless Docker
# and nerdctl run on it) with `--net=pasta --port-driver=implicit`, as a
# rootless user in the lab host netns, finding OUR pasta first in PATH.
# Twice: as dockerd-rootless.sh runs it (--disable-host-loopback,
# --copy-up=/etc --copy-up=/run; rootlesskit passes pasta the child's PID),
# and with --detach-netns (rootlesskit passes --userns=/proc/PID/ns/user
# --netns=PATH; the child enters that netns with nsenter).
# Checks, from the child: outbound TCP (a page and a checksummed 4 MiB
# download from 203.0.113.1 behind the server netns), UDP echo, a name
# resolved through 10.0.2.3 over UDP and TCP (rootlesskit's --dns-forward
# address; without --detach-netns also through the resolv.conf rootlesskit
# writes for the child; dnsmasq in the server netns is the host netns'
# resolver); and ports the child listens on (TCP 8080, UDP 5353),
# published by pasta's -t/-u auto (the only way ports get published with
# the implicit port driver), reached from the host netns' loopback and from
# the server netns; rootlesskit exits 0 when the child does, and no pasta is
# left.
#
# Needs the Debian 13 root of scripts/podman-root.sh (the same root as
# tests/lab/podman.sh; made, or topped up with rootlesskit, if missing).
# A run takes about 10 s. Not to be run alongside tests/lab/podman.sh: its
# clean-up kills every process of the test user (uid 2000), ours included.
# rootlesskit 2.0.2 does not wait for pasta (it starts it and goes on), so
# the child's first packets may go out before pasta reads the tap: TCP and
# ARP retransmit, which is what real users get too.
# PASTA_IMPL=upstream runs trixie's own /usr/bin/pasta instead of $PASTA
# (through the same wrapper), to compare. PASTA_TRACE=1 adds
# `--trace -l /tmp/pasta-trace-PID.log` to every pasta; RLK_KEEP=DIR copies
# those logs, rootlesskit's --debug logs and pasta-argv.log (what rootlesskit
# passed, one quoted argument a line) there at the end. By hand:
#   PASTA=build/src/pasta tests/lab/rootlesskit.sh
#
# How it runs: in the root as tests/lab/engine_root.sh enters it (see
# there why), with our binary as /opt/pasta-cpp/libexec/pasta and the
# Debian 12 libraries trixie lacks in /opt/pasta-cpp/lib, behind
# /opt/pasta-cpp/bin/pasta (first in PATH), which records its arguments and
# execs it with LD_LIBRARY_PATH set.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_root.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${PODMAN_ROOT:-${PASTA_CACHE:-/srv}/podman-root}
IMPL=${PASTA_IMPL:-ours}
PY=/usr/bin/python3
USER_ID=2000
lab_up

engine_root_up
if [ ! -x "$ROOT/usr/bin/rootlesskit" ]; then
  echo "FAIL: no rootlesskit in $ROOT" >&2
  exit 1
fi

# The wrapper rootlesskit finds first in PATH: it records the arguments
# (one start a block, one quoted argument a line) and runs our pasta, or
# trixie's with PASTA_IMPL=upstream.
if [ "$IMPL" = ours ]; then
  cp "$PASTA" "$S/opt/libexec/pasta"
  chmod 755 "$S/opt/libexec/pasta"
  target='LD_LIBRARY_PATH=/opt/pasta-cpp/lib exec /opt/pasta-cpp/libexec/pasta'
else
  target='exec /usr/bin/pasta'
fi
cat >"$S/opt/bin/pasta" <<WRAP
#!/bin/sh
{
  echo "start \$\$ (parent \$PPID) at \$(date +%T.%N)"
  for a in "\$@"; do printf '  %s\n' "'\$a'"; done
} >>/tmp/pasta-argv.log
if [ "\${PASTA_TRACE:-0}" = 1 ]; then
  set -- --trace -l "/tmp/pasta-trace-\$\$.log" "\$@"
fi
$target "\$@"
WRAP
chmod 755 "$S/opt/bin/pasta"

# What the user's commands run with (in_root, engine_root.sh).
USER_ENV=(env -i HOME=/home/podtest USER=podtest LOGNAME=podtest
  "XDG_RUNTIME_DIR=/run/user/$USER_ID"
  PATH=/opt/pasta-cpp/bin:/usr/sbin:/usr/bin:/sbin:/bin
  "PASTA_TRACE=${PASTA_TRACE:-0}")

# descendants PID: PID's descendants, deepest first.
descendants() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    descendants "$c"
    echo "$c"
  done
}
RLK_JOBS=()
rlk_down() {
  local j p killed=()
  if [ -n "${RLK_KEEP:-}" ]; then
    mkdir -p "$RLK_KEEP" && cp "$S"/tmp/*.log "$S"/rlk-*.log "$RLK_KEEP/" 2>/dev/null
  fi
  # Only what this test started: the process trees of its rootlesskit runs
  # (their children live in namespaces of their own, not the lab's).
  for j in "${RLK_JOBS[@]}"; do
    for p in $(descendants "$j") "$j"; do
      kill -KILL "$p" 2>/dev/null && killed+=("$p")
    done
  done
  for p in "${killed[@]}"; do wait_gone "$p" 2; done
  lab_down
}
trap rlk_down EXIT

# The servers, as in tests/lab/podman.sh: HTTP and UDP echo on 203.0.113.1
# (the server netns' lo, routed there from the host netns), dnsmasq on
# 198.51.100.1, the host netns' resolver.
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
server() { ip netns exec "$SERVER_NS" "$@"; }
head -c 4194304 /dev/urandom >"$S/www/blob"
SUM=$(sha256sum <"$S/www/blob" | cut -d' ' -f1)
echo "lab-server-203" >"$S/www/whoami"
server timeout 200 $PY -m http.server -d "$S/www" -b 203.0.113.1 8000 >/dev/null 2>&1 &
LAB_PIDS+=($!)
server timeout 200 "$HERE/udp_tool.py" echo 203.0.113.1 7777 190 >/dev/null &
LAB_PIDS+=($!)
server timeout 200 dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
  --listen-address=198.51.100.1 --port=53 --pid-file="$S/dnsmasq.pid" \
  --address=/pasta.test/203.0.113.99 --log-facility=- >/dev/null 2>&1 &
LAB_PIDS+=($!)

# listening NETNS PROTO PORT SECONDS: true once something listens on PORT.
listening() {
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    ip netns exec "$1" ss -Hln"$2" | awk '{print $4}' | grep -q -- ":$3\$" && return 0
    sleep 0.1
  done
  echo "  nothing listens on $2 port $3 in $1: $(ip netns exec "$1" ss -Hln"$2" | tr -s " " | tr "\n" ";")" >&2
  return 1
}
servers_ok=1
for a in "t 203.0.113.1:8000" "u 203.0.113.1:7777" "u 198.51.100.1:53" "t 198.51.100.1:53"; do
  # shellcheck disable=SC2086 # two words: protocol, address
  set -- $a
  listening "$SERVER_NS" "$1" "${2##*:}" 20 || servers_ok=0
done
check "the lab's servers listen" test "$servers_ok" = 1

if [ "$IMPL" = ours ]; then
  # The libraries (host's ldd: the whole closure) that the root lacks.
  ldd "$PASTA" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' |
    while read -r name path; do
      [ -e "$ROOT/usr/lib/x86_64-linux-gnu/$name" ] || cp -L "$path" "$S/opt/lib/$name"
    done
fi
out=$(in_root "command -v pasta; pasta --version" 2>&1)
rc=$?
check "the wrapper is first in PATH and pasta runs: $(echo "$out" | head -n 2 | tr '\n' ' ')" \
  test "$rc" = 0 -a "$(head -n 1 <<<"$out")" = /opt/pasta-cpp/bin/pasta
echo "   $(in_root 'rootlesskit --version' 2>&1)"

# The child: listeners on TCP 8080 and UDP 5353, then the outbound checks,
# each into a file of its own under /tmp/rlk-MODE (the user's /tmp, which
# the child shares), then it waits for /tmp/rlk-MODE/stop (at most 120 s).
cat >"$S/tmp/child.sh" <<'CHILD'
#!/bin/sh
M=$1
O=/tmp/rlk-$M
if [ "$M" = detach ] && [ -z "${RLK_IN_NETNS:-}" ]; then
  # --detach-netns: the child runs in the parent's netns; the network is
  # the detached one.
  env | grep ROOTLESSKIT >"$O/env-outer"
  RLK_IN_NETNS=1 exec nsenter --net="$ROOTLESSKIT_STATE_DIR/netns" -- sh "$0" "$@"
fi
{
  id
  ip -br link
  ip -br addr
  ip route
  echo "resolv.conf: $(grep -v '^#' /etc/resolv.conf | tr '\n' ' ')"
  env | grep ROOTLESSKIT
} >"$O/addr" 2>&1
socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo hello-rlk-tcp" 2>"$O/socat-tcp.err" &
tcp_pid=$!
socat UDP-RECVFROM:5353,fork EXEC:cat 2>"$O/socat-udp.err" &
udp_pid=$!
echo ready >"$O/ready"
timeout 20 busybox wget -q -O- http://203.0.113.1:8000/whoami >"$O/tcp" 2>&1
timeout 60 busybox wget -q -O- http://203.0.113.1:8000/blob 2>"$O/sum.err" | sha256sum >"$O/sum"
echo hello-rlk-udp | timeout 10 socat -T 3 - UDP:203.0.113.1:7777 >"$O/udp" 2>&1
timeout 10 busybox nslookup pasta.test 10.0.2.3 >"$O/dns" 2>&1
timeout 10 busybox nslookup pasta.test >"$O/dns-resolv" 2>&1
# The same query over TCP (length-prefixed; busybox nslookup has no TCP):
# the answer carries 203.0.113.99, cb 00 71 63.
printf '\000\034\022\064\001\000\000\001\000\000\000\000\000\000\005pasta\004test\000\000\001\000\001' |
  timeout 10 socat -T 3 - TCP:10.0.2.3:53 2>&1 | od -An -v -tx1 | tr -d ' \n' >"$O/dns-tcp"
echo done >"$O/outbound-done"
i=0
while [ ! -e "$O/stop" ] && [ $i -lt 1200 ]; do
  sleep 0.1
  i=$((i + 1))
done
kill $tcp_pid $udp_pid 2>/dev/null
exit 0
CHILD
chmod 755 "$S/tmp/child.sh"

# wait_file FILE SECONDS [PID]: true once FILE exists; false after SECONDS
# or once PID has exited.
wait_file() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ -e "$1" ] && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
      [ -e "$1" ]
      return
    fi
    sleep 0.1
  done
  return 1
}
# pasta_pids: PIDs of pasta processes in the lab host netns.
pasta_pids() {
  local p c
  for p in $(ip netns pids "$HOST_NS"); do
    c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $c in pasta*) echo "$p" ;; esac
  done
}

# rlk MODE EXTRA-OPTIONS...: one rootlesskit run and its checks.
rlk() {
  local m=$1 o="$S/tmp/rlk-$1" job rc p pids out
  shift
  mkdir -p "$o"
  chmod 777 "$o"
  echo "--- rootlesskit --net=pasta --port-driver=implicit $* ($m)"
  in_root "$(printf '%q ' timeout 150 rootlesskit --debug --net=pasta --port-driver=implicit \
    --state-dir="/run/user/$USER_ID/rlk-$m" "$@" sh /tmp/child.sh "$m")" \
    >"$S/rlk-$m.log" 2>&1 &
  job=$!
  RLK_JOBS+=("$job")
  if ! wait_file "$o/ready" 30 "$job"; then
    check "rootlesskit ($m) starts the child" false
    sed 's/^/   rootlesskit: /' "$S/rlk-$m.log" | tail -n 30
    return
  fi
  check "rootlesskit ($m) starts the child" true
  sed 's/^/   child: /' "$o/addr"
  [ -e "$o/env-outer" ] && sed 's/^/   child (outside the netns): /' "$o/env-outer"
  pids=$(pasta_pids)
  for p in $pids; do
    echo "   pasta $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"
  done
  wait_file "$o/outbound-done" 90 "$job"
  out=$(cat "$o/tcp" 2>&1)
  check "($m) outbound TCP: wget http://203.0.113.1:8000/whoami" contains "$out" lab-server-203
  echo "$out" | head -n 3 | sed 's/^/   /'
  out=$(cat "$o/sum" "$o/sum.err" 2>&1)
  check "($m) outbound TCP: 4 MiB download, checksum intact" contains "$out" "$SUM"
  echo "$out" | head -n 3 | sed 's/^/   /'
  out=$(cat "$o/udp" 2>&1)
  check "($m) outbound UDP: echo from 203.0.113.1:7777" contains "$out" hello-rlk-udp
  echo "$out" | head -n 3 | sed 's/^/   /'
  out=$(cat "$o/dns" 2>&1)
  check "($m) DNS over UDP: pasta.test resolves through 10.0.2.3" contains "$out" "203.0.113.99"
  echo "$out" | grep -E 'Server|Address' | sed 's/^/   /'
  out=$(cat "$o/dns-tcp" 2>&1)
  check "($m) DNS over TCP: pasta.test resolves through 10.0.2.3" contains "$out" "cb007163"
  echo "   $out"
  # rootlesskit writes the child's resolv.conf only without --detach-netns
  # (a detached netns is for containers, which get theirs from the engine).
  if [ "$m" != detach ]; then
    out=$(cat "$o/addr" 2>&1)
    check "($m) the child's resolv.conf names 10.0.2.3" contains "$out" "nameserver 10.0.2.3"
    out=$(cat "$o/dns-resolv" 2>&1)
    check "($m) DNS through resolv.conf: pasta.test resolves" contains "$out" "203.0.113.99"
    echo "$out" | grep -E 'Server|Address' | sed 's/^/   /'
  fi

  # Ports the child listens on, published by -t auto / -u auto.
  listening "$HOST_NS" t 8080 10
  check "($m) -t auto: pasta listens on TCP 8080 in the host netns" test $? = 0
  out=$(in_host timeout 10 socat -T 3 - TCP:127.0.0.1:8080 </dev/null 2>&1)
  check "($m) the child's TCP 8080 from the host netns' loopback" contains "$out" hello-rlk-tcp
  out=$(server timeout 10 socat -T 3 - TCP:198.51.100.2:8080 </dev/null 2>&1)
  check "($m) the child's TCP 8080 from the server netns" contains "$out" hello-rlk-tcp
  listening "$HOST_NS" u 5353 10
  check "($m) -u auto: pasta binds UDP 5353 in the host netns" test $? = 0
  out=$(echo hello-rlk-udp-lo | in_host timeout 10 socat -T 3 - UDP:127.0.0.1:5353 2>&1)
  check "($m) the child's UDP 5353 from the host netns' loopback" contains "$out" hello-rlk-udp-lo
  out=$(echo hello-rlk-udp-srv | server timeout 10 socat -T 3 - UDP:198.51.100.2:5353 2>&1)
  check "($m) the child's UDP 5353 from the server netns" contains "$out" hello-rlk-udp-srv
  echo "   host netns listeners: $(ip netns exec "$HOST_NS" ss -Hlntu | awk '{print $1, $5}' | tr '\n' ';')"

  # The child ends: rootlesskit exits with its status and pasta goes.
  touch "$o/stop"
  rc=timeout
  for ((p = 0; p < 200; p++)); do
    if ! kill -0 "$job" 2>/dev/null; then
      wait "$job"
      rc=$?
      break
    fi
    sleep 0.1
  done
  check "($m) rootlesskit exits 0 once the child does (status: $rc)" test "$rc" = 0
  for p in $pids; do wait_gone "$p" 5; done
  out=$(pasta_pids)
  check "($m) no pasta left in the host netns (was: ${pids:-none})" test -n "$pids" -a -z "$out"
  grep -iE 'pasta|error|warn' "$S/rlk-$m.log" | head -n 20 | sed 's/^/   rootlesskit: /'
}

# As dockerd-rootless.sh runs it with --net=pasta (rootlesskit warns that
# it cannot make the child's mounts rslave in this lab's mount namespace:
# harmless here).
rlk docker --disable-host-loopback --copy-up=/etc --copy-up=/run --propagation=rslave
rlk detach --disable-host-loopback --copy-up=/etc --copy-up=/run --propagation=rslave --detach-netns

if [ -s "$S/tmp/pasta-argv.log" ]; then
  echo "   what was passed to pasta (the first start is this test's --version):"
  sed 's/^/     /' "$S/tmp/pasta-argv.log"
fi
if [ "$FAILS" != 0 ]; then
  for f in "$S"/tmp/pasta-trace-*.log; do
    [ -e "$f" ] || continue
    echo "   last lines of $(basename "$f"):"
    tail -n 40 "$f" | sed 's/^/     /'
  done
fi
lab_finish
