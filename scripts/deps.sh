#!/usr/bin/env bash
# Installs what building, testing and the demo need, on Debian 12, with
# apt-get. Installs only what is missing, so a prepared machine needs no
# network. Must run as root.
set -eu
packages=(
  # build
  build-essential cmake pkg-config
  libmnl-dev libabsl-dev libgtest-dev libgmock-dev libpcap-dev libbenchmark-dev
  # benchmarks (iperf: UDP; iperf3 and sockperf: TCP; debootstrap: the
  # Debian 13 roots with upstream's pasta and podman)
  iperf iperf3 sockperf debootstrap
  # fuzzing (libFuzzer)
  clang libclang-rt-14-dev
  # lint (scripts/tidy.sh: clang-tidy and run-clang-tidy)
  clang-tidy
  # lab tests and demo
  iproute2 util-linux procps busybox iputils-ping tcpdump python3 dnsmasq-base
  socat curl
  # lab_sandbox (gdb injects a forbidden system call), docs tests (groff)
  gdb groff-base
  # the arm64 test: cross compiler, emulated machine, its disk images
  # (scripts/arm64/; the arm64 libraries go to a private sysroot, not dpkg)
  g++-aarch64-linux-gnu qemu-system-arm e2fsprogs ccache
  # lab_passt_qemu: an x86_64 guest on our passt (tests/lab/passt_vm/)
  qemu-system-x86
  # the release artifacts (scripts/release.sh): libpcap from Debian's
  # source package (bison, flex, dpkg-source), the .deb and the .rpm
  bison flex dpkg-dev rpm cpio
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
