#!/usr/bin/env bash
# Makes (once) and caches a Debian 13 (trixie) root at $PODMAN_ROOT
# (default $PASTA_CACHE/podman-root, /srv/podman-root) with rootless
# podman 5.4 and what it needs
# (crun, conmon, catatonit, uidmap, netavark, nftables), trixie's own pasta
# (package passt, to compare with ours), busybox-static and socat (the test
# image is built from these two), rootlesskit 2 (tests/lab/rootlesskit.sh),
# libvirt 11 with its QEMU driver and QEMU (tests/lab/passt_libvirt.sh),
# and a test user `podtest` (uid/gid 2000) with subordinate ids
# 200000-265535. tests/lab/podman.sh, tests/lab/rootlesskit.sh and
# tests/lab/passt_libvirt.sh use it.
#
# Idempotent: a root with the marker file .podman-root-ready is reused; if
# it lacks a package of the list below (a root cached before the list grew),
# that package is installed into it with apt-get in a chroot (seconds). A
# half-made root (interrupted run) is removed and made again. Needs root
# and Debian's mirror (the one apt uses here). About 5 minutes (285 s
# measured before libvirt and QEMU joined the list; adding them to a made
# root took 32 s), 460 MB.
# Usage: scripts/podman-root.sh   (prints the root's path and podman's version)
set -eu
root=${PODMAN_ROOT:-${PASTA_CACHE:-/srv}/podman-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
marker="$root/.podman-root-ready"
pkgs=podman,crun,conmon,catatonit,uidmap,netavark,nftables,busybox-static,socat,passt,iproute2,procps,rootlesskit
# tests/lab/passt_libvirt.sh: Debian 12's libvirt has passt disabled
# (debian/patches/debian/Disable-passt-support.patch), trixie's has it.
pkgs+=,libvirt-daemon,libvirt-daemon-driver-qemu,libvirt-clients,qemu-system-x86

if [ "$(id -u)" != 0 ]; then
  echo "podman-root: needs root (debootstrap)" >&2
  exit 1
fi
# Never change or delete a root through a mount left behind by an
# interrupted test.
has_mounts() { grep -q " $root/" /proc/self/mountinfo; }
if [ -e "$marker" ]; then
  missing=()
  for p in ${pkgs//,/ }; do
    chroot "$root" dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
      missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if has_mounts; then
      echo "podman-root: $root lacks ${missing[*]} and has mounts below it; unmount them first" >&2
      exit 1
    fi
    echo "podman-root: installing ${missing[*]} into $root"
    # The root's resolv.conf is a copy from debootstrap time: use today's.
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    timeout 600 chroot "$root" apt-get update -q
    DEBIAN_FRONTEND=noninteractive timeout 600 chroot "$root" \
      apt-get install -y -q --no-install-recommends "${missing[@]}"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/*
  fi
  # debootstrap writes no /etc/hosts; rootlesskit's child (--copy-up=/etc)
  # fails without one.
  [ -e "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$root/etc/hosts"
  echo "$root: $(chroot "$root" dpkg-query -W -f '${Package} ${Version}' podman)"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -q
  apt-get install -y -q debootstrap
}
# Bookworm's debian-archive-keyring already carries the trixie keys, so the
# Release file is verified as usual. debootstrap does not resume reliably
# into a half-made root: start again.
if [ -d "$root" ]; then
  if has_mounts; then
    echo "podman-root: $root has mounts below it; unmount them first" >&2
    exit 1
  fi
  rm -rf --one-file-system "$root"
fi
start=$(date +%s)
timeout 1800 debootstrap --variant=minbase --include="$pkgs" trixie "$root" "$mirror"

# The rootless test user, with subordinate ids for podman's user namespace.
chroot "$root" groupadd -g 2000 podtest
chroot "$root" useradd -u 2000 -g 2000 -m -d /home/podtest -s /bin/sh podtest
echo "podtest:200000:65536" >"$root/etc/subuid"
echo "podtest:200000:65536" >"$root/etc/subgid"
# debootstrap writes no /etc/hosts; rootlesskit's child (--copy-up=/etc)
# fails without one.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$root/etc/hosts"
# Mount points tests/lab/podman.sh uses inside its private mount namespace.
mkdir -p "$root/dev/net" "$root/opt/pasta-cpp" "$root/.oldroot" "$root/run/user"
# The apt lists are not needed any more.
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
touch "$marker"
echo "podman-root: made in $(($(date +%s) - start)) s, $(du -sh --one-file-system "$root" | cut -f1)"
# (podman --version needs /proc, which a plain chroot lacks.)
echo "$root: $(chroot "$root" dpkg-query -W -f '${Package} ${Version}' podman)"
