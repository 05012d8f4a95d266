#!/usr/bin/env bash
# Makes a Debian 13 (trixie) root at $TRIXIE_ROOT (default
# $PASTA_CACHE/trixie, /srv/trixie) holding the
# `passt` package (2025 upstream pasta) and iperf3, so bench/tcp.sh can run
# a newer upstream pasta beside Debian 12's. Idempotent: does nothing if the
# root already has usr/bin/pasta. Needs root and Debian's mirror (the one
# apt uses here); takes a few minutes. Usage: bench/trixie-root.sh
set -eu
root=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# version ROOT: pasta --version inside the root. It needs /proc there (it
# re-executes itself as pasta.avx2 through /proc/self/exe), mounted in a
# private mount namespace, and a terminal: the 2025 pasta prints its version
# into a buffered stdout and leaves with _exit(), so into a pipe it prints
# nothing at all, hence script(1).
version() {
  unshare -m sh -c 'mount -t proc proc "$0/proc" &&
    exec script -qec "chroot $0 pasta --version" /dev/null' "$1" </dev/null |
    head -n 1 | tr -d '\r'
}
if [ -x "$root/usr/bin/pasta" ]; then
  echo "$root: $(version "$root")"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -q
  apt-get install -y -q debootstrap
}
# Bookworm's debian-archive-keyring (2023.3+deb12u2) already carries the
# trixie keys, so the Release file is verified as usual. A half-made root
# from an interrupted run (debootstrap's own work folder still in it) is
# removed first; any other non-empty folder there is left alone.
if [ -d "$root/debootstrap" ]; then
  rm -rf --one-file-system "$root"
elif [ -d "$root" ] && [ -n "$(ls -A "$root")" ]; then
  echo "$root exists, is not empty and has no usr/bin/pasta: not touching it" >&2
  exit 1
fi
timeout 1800 debootstrap --variant=minbase --include=passt,iperf3 \
  trixie "$root" "$mirror"
# Where bench/tcp.sh bind-mounts its private tun node.
mkdir -p "$root/dev/net"
echo "$root: $(version "$root")"
chroot "$root" iperf3 --version | head -n 1
