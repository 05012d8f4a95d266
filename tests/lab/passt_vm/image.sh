#!/usr/bin/env bash
# Makes (once) and caches what lab_passt_qemu boots, in $PASST_VM_CACHE
# (default /srv/passt-vm; $PASTA_CACHE/passt-vm where PASTA_CACHE is set):
#
#   vmlinuz      Debian 12's x86_64 cloud kernel (linux-image-*-cloud-amd64)
#   initrd.gz    busybox (Debian 12's busybox-static), the kernel's virtio
#                and virtio-net modules, init + dhcp.script from this
#                directory, and udpecho.c from it built static (cc)
#
# The .deb files come from Debian's mirror through apt-get download the
# first time (about 28 MB); the initramfs is made again whenever init or
# dhcp.script change. Needs root for apt-get only. Prints the cache
# directory on standard output and nothing else.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${PASST_VM_CACHE:-${PASTA_CACHE:+$PASTA_CACHE/passt-vm}}
cache=${cache:-/srv/passt-vm}
mkdir -p "$cache/debs"
exec 3>&1 1>&2
cd "$cache/debs"
if ! ls linux-image-*-cloud-amd64_*.deb >/dev/null 2>&1; then
  kernel=$(apt-cache depends linux-image-cloud-amd64 |
    awk '/Depends: linux-image-/ { print $2; exit }')
  [ -n "$kernel" ] || { echo "passt_vm: no linux-image-cloud-amd64 (apt-get update?)"; exit 1; }
  apt-get download "$kernel"
fi
ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static
cd "$cache"
stamp=$(cat "$here/init" "$here/dhcp.script" "$here/udpecho.c" "$here/image.sh" debs/*.deb | sha256sum | cut -c1-16)
if [ "$(cat .ready 2>/dev/null)" != "$stamp" ]; then
  rm -rf unpack root vmlinuz initrd.gz .ready
  mkdir -p unpack root/bin root/lib root/proc root/sys root/dev root/tmp
  for deb in debs/*.deb; do dpkg-deb -x "$deb" unpack; done
  cp unpack/boot/vmlinuz-* vmlinuz
  modules=$(echo unpack/lib/modules/*/kernel)
  for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
    drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev \
    drivers/virtio/virtio_pci net/core/failover drivers/net/net_failover \
    drivers/net/virtio_net; do
    cp "$modules/$m.ko" root/lib/
  done
  cp unpack/bin/busybox root/bin/busybox
  cp "$here/init" root/init
  cp "$here/dhcp.script" root/bin/dhcp.script
  cc -static -Os -o root/bin/udpecho "$here/udpecho.c"
  chmod 755 root/init root/bin/dhcp.script root/bin/busybox
  (cd root && find . | cpio -o -H newc --quiet | gzip -1) >initrd.gz
  rm -rf unpack root
  echo "$stamp" >.ready
fi
echo "$cache" >&3
