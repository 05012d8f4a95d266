#!/usr/bin/env bash
# Makes (once) and caches the emulated arm64 machine the arm64 tests run on
# (scripts/arm64/test.sh), in $ARM64_CACHE/vm (default /srv/arm64/vm):
#
#   vmlinuz      Debian 12's arm64 cloud kernel (linux-image-*-cloud-arm64,
#                6.1: namespaces, NVMe, ext4 and the PL011 console built
#                in; tun, veth and netem as modules)
#   rootfs.img   a 2 GiB sparse ext4 image: Debian 12 arm64 minbase and
#                pasta's runtime libraries (libmnl0, libpcap0.8,
#                libabsl20220623, libstdc++6), what the lab tests use
#                (iproute2, procps, kmod, python3, gdb, busybox, ping,
#                dnsmasq, socat, tcpdump, tini), the
#                kernel's net modules, and /sbin/pasta-vm-init (below).
#                No documentation, manuals or locales.
#
# How: debootstrap --foreign unpacks the packages here (no emulation), the
# image is made from that tree with mke2fs -d (no loop mount), and the
# first boot of the machine (qemu-system-aarch64, no network device) runs
# debootstrap's second stage inside it and powers off. The image is only
# ever used with snapshot=on afterwards.
#
# Idempotent: a cache whose marker .ready matches this script's format,
# package list and vm-init is reused (offline); anything else is made
# again from scratch. Needs root and Debian's mirror the first time:
# 13-17 minutes measured on 2 shared cores (the packages' download 1-5,
# the second stage under emulation 11-12), 520 MB (the .deb files are kept
# in $ARM64_CACHE/debootstrap-debs for the next time).
# Usage: scripts/arm64/image.sh   (prints the cache directory)
#
# Standard output carries the cache directory and nothing else (callers
# take it with $(...)): everything this script and the tools it runs print
# goes to standard error (mke2fs says "Creating regular file" on standard
# output when the image does not exist yet: the cold-run failure).
set -euo pipefail
exec 3>&1 1>&2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt.sh"
vm="$ARM64_CACHE/vm"
# pasta's runtime libraries, as a Debian arm64 machine installs them; the
# tools of the lab tests; tini as PID 1. (libboost-regex1.74.0 provides the
# virtual package gdb needs through libsource-highlight4v5: debootstrap
# does not resolve virtual packages.)
pkgs=libmnl0,libpcap0.8,libabsl20220623,libstdc++6
pkgs+=,iproute2,procps,kmod,python3,gdb,libboost-regex1.74.0,busybox,iputils-ping,dnsmasq-base,socat,tcpdump,tini
format=1

if [ "$(id -u)" != 0 ]; then
  echo "arm64-image: needs root (debootstrap, $ARM64_CACHE)" >&2
  exit 1
fi
mkdir -p "$ARM64_CACHE"
# One maker at a time (ctest -j, two checkouts); the others wait for it.
exec 9>"$ARM64_CACHE/.image.lock"
flock -w 3600 9

# The image carries vm-init: a new one makes a new image. The kernel is
# whichever linux-image-*-cloud-arm64 was current when the image was made
# (it is not checked again: no network needed once cached, and no 15
# minutes for each kernel update); ARM64_IMAGE_REFRESH=1 makes a new one.
init_sum=$(sha256sum "$here/vm-init" | cut -c1-16)
want="format=$format init=$init_sum packages=$pkgs"
if [ -e "$vm/.ready" ] && [ "${ARM64_IMAGE_REFRESH:-0}" != 1 ] &&
  [ "$(sed 's/ kernel=[^ ]*//' "$vm/.ready")" = "$want" ]; then
  echo "$vm" >&3
  exit 0
fi

arm64_apt_update >/dev/null
# The kernel package the cloud metapackage points at today.
kpkg=$(APT_CONFIG="$ARM64_CACHE/apt/apt.conf" apt-cache depends linux-image-cloud-arm64 |
  sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-arm64\)$/\1/p' | head -n1)
if [ -z "$kpkg" ]; then
  echo "arm64-image: no linux-image-*-cloud-arm64 in the arm64 lists" >&2
  exit 1
fi
kver=${kpkg#linux-image-}
arm64_host_packages debootstrap e2fsprogs qemu-system-arm
start=$(date +%s)
work="$ARM64_CACHE/vm.new"
rm -rf --one-file-system "$work"
mkdir -p "$work"
root="$work/root"

# 1. The kernel and its modules.
(cd "$work" && arm64_apt download "$kpkg" >/dev/null)
dpkg-deb -x "$work"/"$kpkg"_*.deb "$work/kernel"
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"

# 2. The root, unpacked but not configured (no arm64 code runs here).
echo "arm64-image: debootstrap --foreign (downloads about 60 MB)" >&2
# The downloaded .deb files are kept for the next time (--cache-dir).
mkdir -p "$ARM64_CACHE/debootstrap-debs"
timeout 1800 debootstrap --arch=arm64 --foreign --variant=minbase --include="$pkgs" \
  --cache-dir="$ARM64_CACHE/debootstrap-debs" \
  bookworm "$root" "$ARM64_MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
}
# dpkg leaves out documentation, manuals and translations when the second
# stage installs the packages.
cat >"$root/etc/dpkg/dpkg.cfg.d/01-pasta-minimal" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
# Only the network, crypto and library modules (tun, veth, netem and what
# they need); depmod runs in the second stage.
kmods="$work/kernel/lib/modules/$kver"
mkdir -p "$root/lib/modules/$kver/kernel/drivers"
cp -a "$kmods"/modules.order "$kmods"/modules.builtin* "$root/lib/modules/$kver/"
cp -a "$kmods/kernel/net" "$kmods/kernel/lib" "$kmods/kernel/crypto" "$root/lib/modules/$kver/kernel/"
cp -a "$kmods/kernel/drivers/net" "$root/lib/modules/$kver/kernel/drivers/"
echo pasta-arm64 >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

# The first boot's PID 1: the second stage, then power off.
cat >"$root/sbin/pasta-stage2" <<EOF
#!/bin/sh
# First boot of the arm64 test image (scripts/arm64/image.sh).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive
mount -t devtmpfs devtmpfs /dev
if /debootstrap/debootstrap --second-stage >/var/log/stage2.log 2>&1 &&
  depmod -a "$kver" && apt-get clean && rm -rf /var/lib/apt/lists/* &&
  rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* &&
  find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
then
  echo "pasta-arm64-stage2: ok"
else
  tail -n 40 /var/log/stage2.log /debootstrap/debootstrap.log 2>/dev/null
  echo "pasta-arm64-stage2: FAILED"
fi
rm -f /sbin/pasta-stage2
sync
busybox poweroff -f || echo o >/proc/sysrq-trigger
sleep 30
EOF
chmod 755 "$root/sbin/pasta-stage2"
install -m 755 "$here/vm-init" "$root/sbin/pasta-vm-init"

# 3. The image, and the second stage in the machine itself.
mke2fs -q -t ext4 -L pasta-arm64 -d "$root" "$work/rootfs.img" 2G
echo "arm64-image: second stage under emulation (about 12 minutes)" >&2
if ! "$here/boot.sh" --kernel "$work/vmlinuz" --root "$work/rootfs.img" --writable \
  --init /sbin/pasta-stage2 --timeout 2400 --log "$work/stage2-console.log" >&2 ||
  ! grep -q '^pasta-arm64-stage2: ok' "$work/stage2-console.log"; then
  tail -n 50 "$work/stage2-console.log" >&2
  echo "arm64-image: second stage failed; console log in $work/stage2-console.log" >&2
  exit 1
fi
e2fsck -fy "$work/rootfs.img" >/dev/null 2>&1 || true

# 4. Into place.
rm -rf --one-file-system "$vm"
mkdir -p "$vm"
mv "$work/vmlinuz" "$work/rootfs.img" "$vm/"
cp "$work/stage2-console.log" "$vm/"
rm -rf --one-file-system "$work"
echo "format=$format init=$init_sum kernel=$kver packages=$pkgs" >"$vm/.ready"
echo "arm64-image: made in $(($(date +%s) - start)) s, $(du -sh "$vm" | cut -f1)" >&2
echo "$vm" >&3
