#!/usr/bin/env bash
# --chroot-fallback, where pivot_root(2) fails (refuse_pivot_root.py makes
# it fail with EINVAL, as on an initramfs root): without the option pasta
# stops with one line naming pivot_root and the option; with it pasta runs
# in an empty root all the same (a mount namespace of its own, nothing
# under /proc/PID/root), its --debug line says it fell back, and traffic
# crosses it (a download over the tap from the server netns, checksummed).
. "$(dirname "$0")/lib.sh"
lab_up
MIB=10
. "$(dirname "$0")/forward_lib.sh"
REFUSE=("$PY" "$DIR/refuse_pivot_root.py")

if ldd "${PASTA_BINARY:-$PASTA}" 2>/dev/null | grep -q libasan; then
  # Sanitizer builds keep the file system by design (sandbox.h).
  echo "sanitizer build: no mount namespace to check"
  exit 0
fi

# Without the option: one line, status 1.
without() {
  local out rc
  ip netns add "$TARGET" || return 1
  out=$(in_host timeout 20 "${REFUSE[@]}" "$PASTA" --config-net -f --netns "$TARGET" 2>&1)
  rc=$?
  ip netns del "$TARGET"
  if [ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "pivot_root.*--chroot-fallback" <<<"$out"; then
    echo "   $out"
    return 0
  fi
  echo "  exit status $rc; expected one line naming pivot_root and --chroot-fallback; got: $out" >&2
  return 1
}
check "pivot_root refused, no --chroot-fallback: pasta stops with one line" without

# With it: pasta_up's pasta, started through refuse_pivot_root.py.
PASTA_REAL=$PASTA
PASTA_WRAP="$LAB_TMP/pasta-refusing"
printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$PY" "$DIR/refuse_pivot_root.py" "$PASTA_REAL" >"$PASTA_WRAP"
chmod +x "$PASTA_WRAP"
PASTA=$PASTA_WRAP
if pasta_up --chroot-fallback --debug -t 8080 && serve target 0.0.0.0,:: 8080; then
  pid=$(pgrep -P "$PASTA_PID" -f "$PASTA_REAL" | head -1)
  # timeout's child is pasta itself (the wrapper and the tool exec it).
  [ -n "$pid" ] || pid=$(pgrep -f "^$PASTA_REAL .*--chroot-fallback" | head -1)
  check "--chroot-fallback: the --debug line says it fell back to chroot()" \
    contains "$(cat "$LAB_TMP/pasta.log")" "sandbox: empty file system (chroot);"
  check "--chroot-fallback: a mount namespace of its own" \
    test "$(readlink /proc/"${pid:-$LAB_NO_PID}"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)"
  check "--chroot-fallback: an empty root" test -z "$(ls -A /proc/"${pid:-$LAB_NO_PID}"/root/ 2>&1)"
  check "--chroot-fallback: $MIB MiB over the tap intact" \
    moved get server 198.51.100.2 8080
else
  check "--chroot-fallback: pasta and the namespace's server came up" false
fi
unserve
pasta_down

lab_finish
