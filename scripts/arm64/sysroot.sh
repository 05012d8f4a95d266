#!/usr/bin/env bash
# Makes (once) and caches the arm64 sysroot the cross-build links against:
# Debian 12's arm64 packages of our build dependencies (libmnl, Abseil,
# GoogleTest/GoogleMock, libpcap, Google Benchmark) with everything they
# depend on (libc6-dev, libstdc++-12-dev...), downloaded with a private apt
# (scripts/arm64/apt.sh) and unpacked with dpkg-deb -x into
# $ARM64_CACHE/sysroot (default /srv/arm64/sysroot). Nothing is installed
# into the machine's own dpkg database: its amd64 packages are untouched.
#
# Idempotent: a sysroot with the marker .arm64-sysroot-ready made from the
# same package list is reused. Needs root and Debian's mirror the first
# time: about 30 s, 300 MB (150 MB of it the .deb files, kept).
# Usage: scripts/arm64/sysroot.sh   (prints the sysroot's path)
#
# Standard output carries the path and nothing else (callers take it with
# $(...)): everything else goes to standard error.
set -eu
exec 3>&1 1>&2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt.sh"
root="$ARM64_CACHE/sysroot"
pkgs=(libmnl-dev libabsl-dev libgtest-dev libgmock-dev libpcap-dev libbenchmark-dev
  libc6-dev libstdc++-12-dev)
marker="$root/.arm64-sysroot-ready"
if [ -e "$marker" ] && [ "$(cat "$marker")" = "${pkgs[*]}" ]; then
  echo "$root" >&3
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "arm64-sysroot: needs root the first time (writes $ARM64_CACHE)" >&2
  exit 1
fi
start=$(date +%s)
arm64_apt_update
# With the private, empty dpkg status, "install" resolves the whole
# dependency closure; --download-only stops before dpkg.
arm64_apt install -y --download-only "${pkgs[@]}" >/dev/null
# The closure's file names (name_version_arch.deb, ':' of an epoch as %3a),
# from a simulated install: --print-uris names only what is not cached yet.
debs=$(arm64_apt install -s "${pkgs[@]}" 2>/dev/null |
  sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) [^[]*\[\([a-z0-9]*\)\]).*/\1_\2_\3.deb/p' |
  sed 's/:/%3a/')
rm -rf "$root"
mkdir -p "$root"
for deb in "$ARM64_CACHE"/apt/archives/*.deb; do
  # Only the packages of this closure (the cache may hold others).
  grep -qxF "$(basename "$deb")" <<<"$debs" || continue
  dpkg-deb -x "$deb" "$root"
done
# A handful of -dev symlinks are absolute (libm.so -> /lib/...): make them
# relative, inside the sysroot, so the linker finds their targets there.
find "$root" -type l -lname '/*' | while read -r link; do
  ln -sfnr "$root$(readlink "$link")" "$link"
done
echo "${pkgs[*]}" >"$marker"
echo "arm64-sysroot: made in $(($(date +%s) - start)) s, $(du -sh "$root" | cut -f1)" >&2
echo "$root" >&3
