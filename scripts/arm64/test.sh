#!/usr/bin/env bash
# The arm64 suite in one command: cross-builds pasta and the unit test
# binaries for arm64 (scripts/arm64/build.sh, into ./build-arm64), makes
# the emulated arm64 machine once (scripts/arm64/image.sh, cached in
# /srv/arm64), boots it (scripts/arm64/boot.sh: TCG, Cortex-A57, no network
# device) with a payload disk holding the binaries and the lab tests, and
# runs there every unit test binary and the lab tests of $ARM64_LAB_TESTS
# against the arm64 pasta (scripts/arm64/vm-run.sh). Exits 0 only if the
# machine reported "result ok"; non-zero on any failure or at the time
# limit ($ARM64_TIMEOUT seconds for the machine, default 900). The
# console log is kept in build-arm64/arm64-test.log. Needs root.
#
# Usage: scripts/arm64/test.sh
#   ARM64_LAB_TESTS="spawn_config_net attach"   other lab tests (names of
#                                               tests/lab/*.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${ARM64_BUILD_DIR:-build-arm64}
lab_tests=${ARM64_LAB_TESTS:-spawn_config_net attach bad_input unprivileged routes sandbox old_kernel}
timeout=${ARM64_TIMEOUT:-900}
if [ "$(id -u)" != 0 ]; then
  echo "arm64-test: needs root (the cached machine in /srv/arm64)" >&2
  exit 1
fi
t0=$(date +%s)
scripts/arm64/build.sh
t1=$(date +%s)
vm=$(scripts/arm64/image.sh)
if [ ! -f "$vm/vmlinuz" ] || [ ! -f "$vm/rootfs.img" ]; then
  echo "arm64-test: scripts/arm64/image.sh printed '$vm', which is no machine directory" >&2
  exit 1
fi
t2=$(date +%s)

work=$(mktemp -d /tmp/pasta-arm64.XXXXXX)
trap 'rm -rf "$work"' EXIT
p="$work/payload"
mkdir -p "$p/bin" "$p/unit" "$p/src/tests/lab" "$p/src/scripts"
aarch64-linux-gnu-strip -o "$p/bin/pasta" "$build/src/pasta"
aarch64-linux-gnu-strip -o "$p/bin/old_kernel" "$build/tests/tools/old_kernel"
# With $ARM64_ARTIFACT (ctest sets it), the lab tests run the aarch64
# release artifact itself (scripts/release.sh), unpacked in the payload.
if [ -n "${ARM64_ARTIFACT:-}" ]; then
  mkdir -p "$p/artifact"
  tar -C "$p/artifact" --strip-components=1 -xzf "$ARM64_ARTIFACT"
  echo "arm64-test: the lab tests run the release artifact $(basename "$ARM64_ARTIFACT")"
fi
while read -r t; do
  aarch64-linux-gnu-strip -o "$p/unit/$(basename "$t")" "$t"
done < <(find "$build/tests" -name '*_test' -type f -perm -u+x | sort)
cp tests/lab/*.sh tests/lab/*.py "$p/src/tests/lab/"
cp scripts/lab-env.sh "$p/src/scripts/"
install -m 755 scripts/arm64/vm-run.sh "$p/run.sh"
printf '%s\n' $lab_tests >"$p/lab-tests"
mke2fs -q -t ext4 -L payload -d "$p" "$work/payload.img" "$(($(du -sm "$p" | cut -f1) + 32))M"

log="$build/arm64-test.log"
echo "arm64-test: booting the arm64 machine: $(ls "$p/unit" | wc -l) unit test binaries, lab tests: $lab_tests"
status=0
scripts/arm64/boot.sh --kernel "$vm/vmlinuz" --root "$vm/rootfs.img" --payload "$work/payload.img" \
  --timeout "$timeout" --log "$log" || status=$?
t3=$(date +%s)
echo "arm64-test: cross-build $((t1 - t0)) s, machine ready $((t2 - t1)) s, boot and tests $((t3 - t2)) s; log in $log"
if [ "$status" != 0 ]; then
  echo "arm64-test: FAILED: the machine ended with status $status (124: time limit)" >&2
  exit 1
fi
if ! grep -q '^pasta-arm64: result ok' "$log"; then
  grep '^pasta-arm64: \(FAIL\|failed\|result\)' "$log" >&2 || echo "arm64-test: no result from the machine" >&2
  # Each failure's own output last, where a CI excerpt (the log's tail)
  # shows it: the "  |" lines after its FAIL line, at most 60 of them.
  awk '/^pasta-arm64: FAIL /{show=1; n=0; print; next}
       show && /^  \|/{if (++n <= 60) print; next} {show=0}' "$log" | tr -d '\r' >&2
  echo "arm64-test: FAILED" >&2
  exit 1
fi
echo "arm64-test: all passed on arm64"
