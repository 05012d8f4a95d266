#!/usr/bin/env bash
# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer:
# builds ./build-asan (-DPASTA_SANITIZE=ON), runs the unit tests there, then
# every lab test against the sanitized binary (lab tests need root). Any
# sanitizer report fails the run (ASan aborts; UBSan is made fatal).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ASAN_BUILD_DIR:-build-asan}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
cmake -S . -B "$build" -DPASTA_SANITIZE=ON -DPASTA_WERROR=ON -DPASTA_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
ctest --test-dir "$build" -L unit --output-on-failure -j2 | tail -n 3
failed=0
for t in tests/lab/*.sh; do
  case $(basename "$t") in lib.sh | jobs.sh | forward_lib.sh | engine_root.sh) continue ;; esac  # sourced, not tests
  # release.sh checks the release artifact, not the binary built here.
  # old_kernel.sh replays other lab scripts (routes, spawn_config_net,
  # neighbours, ...) under an old kernel's netlink rules: the same code of
  # ours that those scripts already run here under the sanitizers, so it
  # runs only unsanitized (lab_old_kernel, and on the arm64 machine).
  case $(basename "$t") in release.sh | old_kernel.sh) continue ;; esac
  # Upstream's binaries (pesto.sh's crossed roles) are not what the
  # sanitizers check: run only ours, as on a fresh machine.
  if UPSTREAM_PASST_DIR=/nonexistent PASTA="$PWD/$build/src/pasta" OLD_KERNEL="$PWD/$build/tests/tools/old_kernel" bash "$t" >"/tmp/sanitize-$(basename "$t").log" 2>&1; then
    echo "sanitize: $(basename "$t") passed"
  else
    echo "sanitize: $(basename "$t") FAILED" >&2
    tail -n 30 "/tmp/sanitize-$(basename "$t").log" >&2
    failed=1
  fi
done
exit $failed
