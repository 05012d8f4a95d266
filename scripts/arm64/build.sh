#!/usr/bin/env bash
# Cross-builds pasta and the unit test binaries for arm64 (aarch64) into
# ./build-arm64 (or $ARM64_BUILD_DIR) with Debian's cross compiler and the
# sysroot of scripts/arm64/sysroot.sh (made the first time, cached in
# /srv/arm64/sysroot). Installs the cross compiler with apt-get if missing;
# nothing else of the machine changes. Extra arguments go to cmake's
# configure step.
#
# Flags: -O2 -DNDEBUG as the amd64 build, without -g (a third less compile
# time; the binaries only run in the emulated machine). ARM64_CXXFLAGS
# replaces them; ARM64_BENCH=ON builds the benchmarks too. Compiled objects
# are cached with ccache in /srv/arm64/ccache (2 GB at most).
set -eu
cd "$(dirname "$0")/../.."
. scripts/arm64/apt.sh
arm64_host_packages g++-aarch64-linux-gnu ccache
# ccache keeps the objects across builds and fresh checkouts (CI clones
# anew each time): paths under the checkout are hashed relative to it.
export CCACHE_DIR="$ARM64_CACHE/ccache" CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
ccache --max-size=2G >/dev/null
sysroot=$(scripts/arm64/sysroot.sh)
if [ ! -d "$sysroot/usr/include" ]; then
  echo "arm64-build: scripts/arm64/sysroot.sh printed '$sysroot', which is no sysroot" >&2
  exit 1
fi
build=${ARM64_BUILD_DIR:-build-arm64}
cmake -S . -B "$build" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DPASTA_ARM64_SYSROOT="$sysroot" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPASTA_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="${ARM64_CXXFLAGS:--O2 -DNDEBUG}" \
  -DPASTA_BUILD_BENCH="${ARM64_BENCH:-OFF}" "$@" >/dev/null
nice cmake --build "$build" -j"$(nproc)"
