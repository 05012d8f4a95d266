#!/usr/bin/env bash
# Makes (once) and caches a static libpcap for the release artifact, in
# $RELEASE_CACHE/pcap-ARCH (default $PASTA_CACHE/release, /srv/release):
# Debian 12's own source package of libpcap (with Debian's patches, as
# `dpkg-source -x` applies them), configured for what pasta uses of it,
# writing capture files: no D-Bus, RDMA, Bluetooth, USB, netmap, DPDK,
# libnl or remote capture. Debian's libpcap.a is built with all of those
# and would pull D-Bus and systemd into a static link.
#
# Usage: scripts/release/pcap.sh x86_64|aarch64   (prints the prefix)
# Standard output carries the prefix and nothing else. Needs root the
# first time (apt-get for bison and flex; Debian's mirror for the source).
set -euo pipefail
exec 3>&1 1>&2
here=$(cd "$(dirname "$0")" && pwd)
arch=${1:?usage: $0 x86_64|aarch64}
case $arch in
  x86_64) host=x86_64-linux-gnu cc=gcc ;;
  aarch64) host=aarch64-linux-gnu cc=aarch64-linux-gnu-gcc ;;
  *) echo "release-pcap: unknown architecture $arch" >&2; exit 1 ;;
esac
cache=${RELEASE_CACHE:-${PASTA_CACHE:-/srv}/release}
prefix="$cache/pcap-$arch"
flags=(--disable-shared --disable-usb --disable-netmap --disable-bluetooth
  --disable-dbus --disable-rdma --disable-remote --without-dpdk --without-libnl
  --with-pcap=linux)
want="${flags[*]}"
if [ -f "$prefix/.ready" ] && [ "$(cat "$prefix/.ready")" = "$want" ]; then
  echo "$prefix" >&3
  exit 0
fi
. "$here/apt-src.sh"
release_host_packages bison flex dpkg-dev
mkdir -p "$cache"
exec 9>"$cache/.pcap.lock"
flock -w 1800 9
src=$(release_source libpcap)
work=$(mktemp -d "$cache/pcap-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -a "$src/." "$work/"
(
  cd "$work"
  CC=$cc CFLAGS="-O2 -fPIC" ./configure --host="$host" --prefix="$prefix" "${flags[@]}" \
    >configure.log 2>&1 || { tail -n 30 configure.log; exit 1; }
  make -j"$(nproc)" libpcap.a >make.log 2>&1 || { tail -n 30 make.log; exit 1; }
  rm -rf "$prefix"
  mkdir -p "$prefix/lib" "$prefix/include"
  cp libpcap.a "$prefix/lib/"
  make install-headers prefix="$prefix" includedir="$prefix/include" >/dev/null 2>&1 ||
    cp -a pcap pcap.h "$prefix/include/"
)
echo "$want" >"$prefix/.ready"
echo "release-pcap: static libpcap for $arch in $prefix" >&2
echo "$prefix" >&3
