#!/usr/bin/env bash
# Makes the release artifacts, one set per architecture, into ./dist (or
# $DIST_DIR):
#
#   pasta-cpp-VERSION-ARCH.tar.gz   a tree that needs nothing from the
#                                   host's userland (README "Install"):
#     bin/pasta                     a static launcher
#     lib/pasta-cpp/pasta           pasta itself: Abseil, libstdc++, libgcc
#                                   and libpcap linked in statically
#     lib/pasta-cpp/*.so*           what stays dynamic, with its loader:
#                                   glibc (libc, libm, ld-linux) and libmnl
#     bin/passt                     a link to bin/pasta: passt mode
#     bin/pesto, lib/pasta-cpp/pesto  the control socket's client, started
#                                   through the same launcher
#     share/man/man1/pasta.1, pesto.1, share/doc/pasta-cpp/README
#   pasta-cpp_VERSION_DEBARCH.deb   the same tree in /usr/libexec/pasta-cpp
#   pasta-cpp-VERSION-1.ARCH.rpm    likewise (built with Debian's rpmbuild)
#   SHA256SUMS                      of the files above
#
# Usage: scripts/release.sh [x86_64] [aarch64]   (default: both)
# Builds in ./build-release-ARCH; aarch64 with Debian's cross compiler and
# the sysroot of scripts/arm64/ (made once, cached). Needs root the first
# time (packages; the static libpcap of scripts/release/pcap.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
archs=("$@")
[ "${#archs[@]}" -gt 0 ] || archs=(x86_64 aarch64)
dist=${DIST_DIR:-dist}
version=$(sed -n 's/^project(pasta-cpp VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
. scripts/release/apt-src.sh
release_host_packages rpm cpio dpkg-dev
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)

# closure ROOT TRIPLE DIR: copies into DIR every shared library that the
# ELF files in DIR need, and what those need, from ROOT's library
# directories (the files, not their symlinks, under their sonames).
closure() {
  local root=$1 triple=$2 dir=$3 changed=1 f lib d found
  while [ "$changed" = 1 ]; do
    changed=0
    for f in "$dir"/*; do
      for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [ -e "$dir/$lib" ] && continue
        found=
        for d in "$root/lib/$triple" "$root/usr/lib/$triple" "$root/lib64" "$root/lib"; do
          if [ -e "$d/$lib" ]; then found="$d/$lib"; break; fi
        done
        if [ -z "$found" ]; then
          echo "release: $lib (needed by $(basename "$f")) not found under $root" >&2
          return 1
        fi
        cp -L "$found" "$dir/$lib"
        chmod 755 "$dir/$lib"
        changed=1
      done
    done
  done
}

for arch in "${archs[@]}"; do
  start=$(date +%s)
  case $arch in
    x86_64)
      triple=x86_64-linux-gnu debarch=amd64 root=/ strip=strip
      cross=()
      ;;
    aarch64)
      . scripts/arm64/apt.sh
      arm64_host_packages g++-aarch64-linux-gnu ccache
      root=$(scripts/arm64/sysroot.sh)
      triple=aarch64-linux-gnu debarch=arm64 strip=aarch64-linux-gnu-strip
      export CCACHE_DIR="$ARM64_CACHE/ccache" CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
      cross=(-DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake"
        -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DPASTA_ARM64_SYSROOT="$root")
      ;;
    *)
      echo "release: unknown architecture $arch (x86_64 or aarch64)" >&2
      exit 1
      ;;
  esac
  pcap=$(scripts/release/pcap.sh "$arch")
  build=build-release-$arch
  cmake -S . -B "$build" "${cross[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPASTA_PORTABLE=ON -DPASTA_PCAP_STATIC_DIR="$pcap" -DPASTA_WERROR=ON \
    -DPASTA_BUILD_TESTS=OFF -DPASTA_BUILD_BENCH=OFF >/dev/null
  nice cmake --build "$build" -j"$(nproc)" --target pasta pasta_launcher pesto >/dev/null

  name=pasta-cpp-$version-$arch
  stage=$(mktemp -d /tmp/pasta-release.XXXXXX)
  tree="$stage/$name"
  mkdir -p "$tree/bin" "$tree/lib/pasta-cpp" "$tree/share/man/man1" "$tree/share/doc/pasta-cpp"
  "$strip" -o "$tree/bin/pasta" "$build/src/launcher/pasta_launcher"
  # passt: the launcher runs lib/pasta-cpp/pasta (it picks pesto only by
  # name) with argv[0] as given, which picks passt mode.
  ln -s pasta "$tree/bin/passt"
  "$strip" -o "$tree/lib/pasta-cpp/pasta" "$build/src/pasta"
  "$strip" -o "$tree/bin/pesto" "$build/src/launcher/pasta_launcher"
  "$strip" -o "$tree/lib/pasta-cpp/pesto" "$build/src/pesto"
  closure "$root" "$triple" "$tree/lib/pasta-cpp"
  cp man/pasta.1 man/passt.1 man/pesto.1 "$tree/share/man/man1/"
  cat >"$tree/share/doc/pasta-cpp/README" <<DOC
pasta-cpp $version for $arch: a drop-in pasta that needs nothing from the
host's userland. bin/pasta starts lib/pasta-cpp/pasta with the C library
and loader in lib/pasta-cpp. Put bin/ on PATH, or name it in podman's
containers.conf: [engine] helper_binaries_dir = ["$(printf '%s' '/path/to')/bin"].
Built from Debian 12's packages (glibc 2.36, libmnl 1.0.4, Abseil
20220623, libpcap 1.10.3 built from Debian's source package).
DOC
  chmod -R u=rwX,go=rX "$tree"
  (cd "$tree" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum >SHA256SUMS)
  tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$dist/$name.tar.gz" "$name"

  # .deb: the tree in /usr/libexec/pasta-cpp (clear of the distribution's
  # passt package).
  deb="$stage/deb"
  mkdir -p "$deb/DEBIAN" "$deb/usr/libexec"
  cp -a "$tree" "$deb/usr/libexec/pasta-cpp"
  cat >"$deb/DEBIAN/control" <<CTL
Package: pasta-cpp
Version: $version
Architecture: $debarch
Maintainer: pasta-cpp developers <pasta-cpp@localhost>
Section: net
Priority: optional
Installed-Size: $(du -sk "$tree" | cut -f1)
Description: drop-in C++ reimplementation of pasta (user-mode networking)
 Gives network namespaces (rootless containers) working networking
 without privileges. Self-contained: carries its own C library in
 /usr/libexec/pasta-cpp/lib/pasta-cpp. Engines find it through
 helper_binaries_dir = ["/usr/libexec/pasta-cpp/bin"].
CTL
  dpkg-deb --root-owner-group -Zxz --build "$deb" "$dist/pasta-cpp_${version}_$debarch.deb" >/dev/null

  # .rpm, likewise; no automatic dependencies (it needs none) and no
  # stripping or debug packages (done above, for the other architecture too).
  rpmtop="$stage/rpm"
  mkdir -p "$rpmtop"/{SPECS,BUILD,RPMS,BUILDROOT}
  cat >"$rpmtop/SPECS/pasta-cpp.spec" <<SPEC
Name: pasta-cpp
Version: $version
Release: 1
Summary: Drop-in C++ reimplementation of pasta (user-mode networking)
License: see /usr/libexec/pasta-cpp/share/doc/pasta-cpp/README
AutoReqProv: no
%define debug_package %{nil}
%define __os_install_post %{nil}
%define _build_id_links none
%description
Gives network namespaces (rootless containers) working networking without
privileges. Self-contained: carries its own C library. Engines find it
through helper_binaries_dir = ["/usr/libexec/pasta-cpp/bin"].
%install
mkdir -p %{buildroot}/usr/libexec
cp -a $tree %{buildroot}/usr/libexec/pasta-cpp
%files
/usr/libexec/pasta-cpp
SPEC
  rpmbuild --quiet -bb --target "$arch-linux" --define "_topdir $rpmtop" \
    --define "_rpmdir $rpmtop/RPMS" "$rpmtop/SPECS/pasta-cpp.spec" >"$stage/rpmbuild.log" 2>&1 ||
    { tail -n 20 "$stage/rpmbuild.log" >&2; exit 1; }
  cp "$rpmtop"/RPMS/*/pasta-cpp-"$version"-1.*.rpm "$dist/"
  rm -rf "$stage"
  echo "release: $arch in $(($(date +%s) - start)) s: $(du -h "$dist/$name.tar.gz" | cut -f1) tarball"
done
(cd "$dist" && sha256sum -- *.tar.gz *.deb *.rpm >SHA256SUMS)
echo "release: $(ls "$dist" | tr '\n' ' ')"
