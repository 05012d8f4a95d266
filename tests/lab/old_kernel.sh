#!/usr/bin/env bash
# pasta on a 4.18 kernel, as far as system calls go: the core lab tests run
# again with pasta started under tests/tools/old_kernel (a seccomp filter
# answering ENOSYS for every system call added after Linux 4.18: pidfd_open,
# clone3, close_range, openat2, faccessat2, epoll_pwait2...) and with
# PASTA_NETLINK_NO_STRICT_CHK=1 (route dumps answered as before 4.20). Those
# tests check spawning with --config-net, attaching by --netns and by PID
# (quitting when the PID exits: the pidfd_open fallback), UDP and TCP
# transfers checksummed both ways, -t/-T forwarding, the sandbox and the
# host's neighbours (dumped without a kernel-side filter).
#
# OLD_KERNEL: the old_kernel binary (ctest sets it); OLD_KERNEL_TESTS: which
# tests (default "spawn_config_net attach udp forward sandbox neighbours");
# FORWARD_MIB is passed on (forward.sh's transfer size).
. "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
OLD_KERNEL=${OLD_KERNEL:?OLD_KERNEL names the old_kernel binary}
tests=${OLD_KERNEL_TESTS:-spawn_config_net attach udp forward sandbox neighbours}
lab_up

out=$("$OLD_KERNEL" --check 2>&1)
check "the filter answers ENOSYS for calls after 4.18: $out" test $? = 0

# The wrapper the tests run as pasta: readable by any user (sandbox.sh
# runs pasta unprivileged too).
wrap=$(mktemp -d /tmp/pasta-oldk.XXXXXX)
chmod 755 "$wrap"
trap 'rm -rf "$wrap"; lab_down' EXIT
cat >"$wrap/pasta" <<WRAP
#!/bin/sh
PASTA_NETLINK_NO_STRICT_CHK=1 exec "$OLD_KERNEL" "$PASTA" "\$@"
WRAP
chmod 755 "$wrap/pasta"

# --debug says what the probes found.
out=$(in_host timeout 20 "$wrap/pasta" --debug --config-net -- true 2>&1)
check "--debug: the probes found no close_range and no pidfd_open" \
  contains "$out" "close_range no (closing what /proc/self/fd lists), pidfd_open no"

for t in $tests; do
  start=$SECONDS
  PASTA_BINARY="$PASTA" PASTA="$wrap/pasta" bash "$HERE/$t.sh" >"$LAB_TMP/$t.log" 2>&1
  rc=$?
  summary=$(tail -n 1 "$LAB_TMP/$t.log")
  if ! check "$t under the old-kernel filter ($summary, $((SECONDS - start)) s)" test $rc = 0; then
    # Each failed check and its own explanation (indented by two spaces;
    # the tests' progress lines have three).
    grep -E '^FAIL|^  [^ ]' "$LAB_TMP/$t.log" | head -n 60 | sed 's/^/   /' >&2
  fi
done
lab_finish
