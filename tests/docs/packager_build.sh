#!/usr/bin/env bash
# A packager's build, as distributions build: from the source tree,
# `cmake -DCMAKE_BUILD_TYPE=Release` and nothing else (no PASTA_WERROR;
# tests and benchmarks on, as by default), `cmake --build`, then
# `cmake --install` into a scratch prefix, and the installed pasta runs.
# Newer compilers' warnings must not stop it (GCC 12 warns about tests at
# -O3); the count of warnings is printed. Objects are cached with ccache in
# $PASTA_CACHE/ccache-host (default /srv/ccache-host), so that repeated CI
# runs do not compile everything again; ccache changes no flag.
#
#   packager_build.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: $0 SOURCE_DIR}
build="$src/build-packager"
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${PASTA_CACHE:-/srv}/ccache-host CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1
  ccache --max-size=2G >/dev/null
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
rm -rf "$build"
start=$(date +%s)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
if ! nice cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1; then
  grep -E 'error' "$build/build.log" | head -n 20 >&2
  echo "FAIL: cmake --build of the plain Release configuration" >&2
  exit 1
fi
warnings=$(grep -c 'warning:' "$build/build.log" || true)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
out=$("$prefix/bin/pasta" --version)
echo "packager build: Release built in $(($(date +%s) - start)) s, $warnings compiler warnings; installed: $out"
test -f "$prefix/share/man/man1/pasta.1"
