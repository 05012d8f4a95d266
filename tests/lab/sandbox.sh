#!/usr/bin/env bash
# The sandbox after setup (src/sandbox/sandbox.h), three ways: as root
# attached to a netns, as root with --runas 65534, and unprivileged with a
# namespace of its own. Each time /proc/PID/status shows only the kept
# capabilities (sys_admin, net_bind_service, net_admin), no_new_privs and a seccomp
# filter, and the process has an empty root in a mount namespace of its own;
# traffic still flows: a TCP download over the tap, checksummed, and (when
# attached) -t auto picking up a listener started afterwards and reached
# from the host's loopback through splice, which needs the namespace helper
# (clone + setns) under the filter. Then gdb makes pasta call chroot(), which
# is outside the allow-list: pasta exits with status 1 and one line naming it.
. "$(dirname "$0")/lib.sh"
lab_up
DIR="$(cd "$(dirname "$0")" && pwd)"
PY=/usr/bin/python3
TOOL=("$PY" "$DIR/forward_tool.py")
TARGET="${LAB_ID}t"
LAB_EXTRA_NS+=("$TARGET")
# CAP_SYS_ADMIN (21), CAP_NET_BIND_SERVICE (10) and, since every pasta here
# follows the host's network with --config-net, CAP_NET_ADMIN (12).
KEPT=0000000000201400
# Sanitizer builds keep the file system and skip the filter by design
# (ASan/LSan read /proc and use ptrace): only the other layers are checked.
# ($PASTA_BINARY: the binary itself where $PASTA is a wrapper script, as in
# old_kernel.sh.)
FULL=1
if ldd "${PASTA_BINARY:-$PASTA}" 2>/dev/null | grep -q libasan; then
  FULL=0
  echo "sanitizer build: no mount namespace or system call filter to check"
fi

server() { ip netns exec "$SERVER_NS" "$@"; }
target() { ip netns exec "$TARGET" "$@"; }
# status_field PID FIELD: the value of FIELD in /proc/PID/status (tabs kept).
status_field() { grep -m1 "^$2:" /proc/"$1"/status | cut -f2-; }

# A file server in the server netns for the whole test (GET sends DATA).
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
head -c $((4 << 20)) /dev/urandom >"$LAB_TMP/data"
want="$(stat -c %s "$LAB_TMP/data") $(sha256sum "$LAB_TMP/data" | cut -d' ' -f1)"
server timeout 150 "${TOOL[@]}" serve 203.0.113.1 7001 140 "$LAB_TMP/data" "$LAB_TMP/ready" &
LAB_PIDS+=($!)
server "${TOOL[@]}" wait 203.0.113.1 7001 open 5 >/dev/null

# isolated PID WHAT: the checks every sandboxed pasta passes.
isolated() {
  local pid=$1 what=$2
  check "$what: capabilities reduced to the kept set" \
    test "$(status_field "$pid" CapEff) $(status_field "$pid" CapPrm) $(status_field "$pid" CapBnd)" = "$KEPT $KEPT $KEPT"
  check "$what: no inheritable or ambient capabilities" \
    test "$(status_field "$pid" CapInh) $(status_field "$pid" CapAmb)" = "0000000000000000 0000000000000000"
  ((FULL)) || return 0
  check "$what: no_new_privs and a seccomp filter" \
    test "$(status_field "$pid" NoNewPrivs) $(status_field "$pid" Seccomp)" = "1 2"
  check "$what: a mount namespace of its own" \
    test "$(readlink /proc/"$pid"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)"
  check "$what: an empty root" test -z "$(ls -A /proc/"$pid"/root/ 2>&1)"
}

# attached [OPTION]...: pasta attached to a fresh target netns in the
# foreground; sets PID (pasta's own, from -P).
PID=
attached() {
  local i
  ip netns add "$TARGET" || return 1
  rm -f "$LAB_TMP/pid"
  in_host timeout 100 "$PASTA" --config-net -f -d -l "$LAB_TMP/pasta.log" \
    -P "$LAB_TMP/pid" --netns "$TARGET" "$@" &
  LAB_PIDS+=($!)
  for ((i = 0; i < 50; i++)); do
    [ -s "$LAB_TMP/pid" ] && grep -q "sandbox:" "$LAB_TMP/pasta.log" 2>/dev/null && break
    sleep 0.1
  done
  PID=$(cat "$LAB_TMP/pid" 2>/dev/null || echo "$LAB_NO_PID")
  LAB_PIDS+=("$PID")
}

detach() {
  kill "$PID" 2>/dev/null
  wait_gone "$PID" 5
  ip netns del "$TARGET" 2>/dev/null
}

# traffic WHAT: a checksummed download over the tap, and -t auto.
traffic() {
  local what=$1 got
  got=$(target timeout 30 "${TOOL[@]}" get 203.0.113.1 7001 2>&1)
  check "$what: TCP over the tap, 4 MiB intact" equals "$got" "$want"
  target timeout 30 "${TOOL[@]}" serve 0.0.0.0 8080 25 "$LAB_TMP/data" "$LAB_TMP/ready8080" &
  LAB_PIDS+=($!)
  got=$(in_host "${TOOL[@]}" wait 127.0.0.1 8080 open 5 2>&1)
  check "$what: -t auto forwards a port opened after setup" test $? = 0
  got=$(in_host timeout 30 "${TOOL[@]}" get 127.0.0.1 8080 2>&1)
  if ! check "$what: spliced from the host's loopback, 4 MiB intact" equals "$got" "$want"; then
    tail -n 30 "$LAB_TMP/pasta.log" | sed 's/^/  pasta: /' >&2
  fi
}

# 1. Root, attached.
attached
check "root: pasta runs" kill -0 "$PID"
isolated "$PID" root
if ((FULL)); then
  check "root: the log says what the sandbox did" grep -q "sandbox: empty file system; uid 0, gid 0; capabilities net_bind_service,net_admin,sys_admin; system calls filtered" "$LAB_TMP/pasta.log"
fi
traffic root
check "root: still running after the traffic" kill -0 "$PID"

# 2. A call outside the allow-list, made by pasta itself through gdb: the
# SIGSYS handler logs the call and exits 1. (gdb looks for libraries from
# our root: pasta's own is empty.)
if ((FULL)); then
  case $(uname -m) in
    aarch64) CHROOT=51 ;;
    *) CHROOT=161 ;;
  esac
  timeout 30 gdb -batch -nx -iex 'set sysroot /' -iex 'set auto-load off' -p "$PID" \
    -ex 'handle SIGSYS nostop noprint pass' -ex "call (long)syscall($CHROOT, 0)" \
    >"$LAB_TMP/gdb.log" 2>&1
  check "a forbidden call (chroot) ends pasta" wait_gone "$PID" 5
  check "... with status 1" grep -q "exited with code 01" "$LAB_TMP/gdb.log"
  check "... and one line naming the call" grep -q "sandbox: system call chroot ($CHROOT) is not allowed; exiting" "$LAB_TMP/pasta.log"
else
  detach
fi
ip netns del "$TARGET" 2>/dev/null

# 3. Root with --runas: a different user, the same kept capabilities.
attached --runas 65534:65534
isolated "$PID" runas
check "runas: user and group 65534" \
  test "$(status_field "$PID" Uid) / $(status_field "$PID" Gid)" = "$(printf '65534\t65534\t65534\t65534 / 65534\t65534\t65534\t65534')"
check "runas: no supplementary groups" test -z "$(status_field "$PID" Groups | tr -d " \t")"
traffic runas
detach

# 4. Unprivileged, in a namespace of its own: pasta joins the command's user
# namespace (it owns it) to get a mount namespace.
lab_private_tun "$LAB_TMP"
mkdir -m 1777 "$LAB_TMP/u"
lab_as_nobody "$HOST_NS" "$LAB_TMP/tun" timeout 60 "$PASTA" --config-net -P "$LAB_TMP/u/pid" -- \
  sh -c "'$PY' '$DIR/forward_tool.py' get 203.0.113.1 7001 >'$LAB_TMP/u/got' 2>&1; touch '$LAB_TMP/u/done'; sleep 10" &
LAB_PIDS+=($!)
for ((i = 0; i < 150; i++)); do
  [ -e "$LAB_TMP/u/done" ] && break
  sleep 0.1
done
PID=$(cat "$LAB_TMP/u/pid" 2>/dev/null || echo "$LAB_NO_PID")
LAB_PIDS+=("$PID")
check "unprivileged: TCP over the tap, 4 MiB intact" equals "$(cat "$LAB_TMP/u/got")" "$want"
check "unprivileged: runs as the user" test "$(status_field "$PID" Uid | cut -f1)" = 65534
# (A sanitizer build does not join, so it has no capabilities to check.)
((FULL)) && isolated "$PID" unprivileged
child=$(pgrep -P "$PID" | head -n1)
if ((FULL)); then
  check "unprivileged: joined the command's user namespace" \
    test "$(readlink /proc/"$PID"/ns/user)" = "$(readlink /proc/"$child"/ns/user)"
fi
kill "$PID" 2>/dev/null
wait_gone "$PID" 5

lab_finish
