#!/usr/bin/env bash
# Runs clang-tidy with the root's .clang-tidy over src/*.cc (and the src/
# headers they include), one job per core, in ./build-tidy (or
# $TIDY_BUILD_DIR), which it configures with compile commands if missing.
# Prints the findings and fails if there is any (WarningsAsErrors: '*').
# ctest runs it as "tidy" (label lint). Needs clang-tidy (Debian 12: the
# clang-tidy package, version 14; scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TIDY_BUILD_DIR:-build-tidy}
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DPASTA_BUILD_TESTS=OFF -DPASTA_BUILD_BENCH=OFF >/dev/null
fi
# The one generated file a src/ source includes: sandbox's syscall_names.inc
# (version.h is written at configure time). Building also refreshes
# compile_commands.json after a CMakeLists.txt change.
cmake --build "$build" --target pasta_sandbox -j"$(nproc)" >/dev/null

runner=$(command -v run-clang-tidy || command -v run-clang-tidy-14) || {
  echo "tidy: run-clang-tidy not found (Debian: apt-get install clang-tidy)" >&2
  exit 1
}
# Every src/ file in the compilation database.
root_re=$(printf '%s' "$PWD" | sed 's/[][\.*^$+?(){}|]/\\&/g')
files="^$root_re/src/.*\.cc\$"
log=$(mktemp /tmp/pasta-tidy.XXXXXX)
trap 'rm -f "$log"' EXIT
if "$runner" -p "$build" -j"$(nproc)" -quiet "$files" >"$log" 2>&1; then
  echo "tidy: no findings"
  exit 0
fi
# run-clang-tidy colours its output and echoes each command; keep the
# findings and errors.
sed -e 's/\x1b\[[0-9;]*m//g' "$log" |
  grep -v -e '^[0-9]* warnings\? generated\.$' -e '^[^ ]*clang-tidy[^ ]* ' >&2 || true
echo "tidy: findings above (.clang-tidy says which checks are on and why)" >&2
exit 1
