#!/usr/bin/env bash
# Boots the emulated arm64 machine once: qemu-system-aarch64 -M virt with a
# Cortex-A57 (TCG, no KVM), no network device at all (-nic none, and
# -nodefaults: nothing reaches the host's network), the root image and an
# optional payload image as namespaces 1 and 2 of one NVMe controller
# (/dev/nvme0n1, /dev/nvme0n2: built into the kernel, no initramfs needed),
# and the PL011 serial console on our stdout and in the log.
#
# Usage: boot.sh --kernel VMLINUZ --root IMG [--payload IMG] [--writable]
#                [--init PATH] [--timeout SECONDS] [--log FILE]
#                [--mem MIB] [--smp N]
# The root image is used with snapshot=on (writes vanish) unless
# --writable. Exits with QEMU's status: 0 after the guest powered off, 124
# if it had to be killed at the timeout (default 900 s).
set -euo pipefail
kernel= root= payload= writable=0 init=/sbin/pasta-vm-init timeout=900 log=/dev/null
# One vCPU: measured twice as fast as two on this 2-core shared machine, and
# with two, one run of four lost the guest's timer interrupts for 12 minutes
# (an RCU stall report: "timer wakeup didn't happen") under host load.
mem=${ARM64_VM_MEM:-2048} smp=${ARM64_VM_SMP:-1}
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --payload) payload=$2; shift 2 ;;
    --writable) writable=1; shift ;;
    --init) init=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    *) echo "boot.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$kernel" ] && [ -n "$root" ] || { echo "boot.sh: --kernel and --root are required" >&2; exit 2; }

snapshot=",snapshot=on"
((writable)) && snapshot=""
args=(
  -M virt -cpu cortex-a57 -smp "$smp" -m "$mem"
  -nodefaults -nic none -display none -monitor none -no-reboot
  -chardev stdio,id=console,signal=off -serial chardev:console
  -kernel "$kernel"
  -append "console=ttyAMA0 root=/dev/nvme0n1 rw rootwait init=$init panic=-1 quiet"
  -device nvme,id=nvme0,serial=pasta-arm64
  -drive "if=none,id=root,file=$root,format=raw$snapshot"
  -device nvme-ns,bus=nvme0,drive=root,nsid=1
)
if [ -n "$payload" ]; then
  args+=(-drive "if=none,id=payload,file=$payload,format=raw,readonly=on"
    -device nvme-ns,bus=nvme0,drive=payload,nsid=2)
fi
# nice: the machine's two cores are shared. The console goes through tee so
# that a caller sees progress and keeps the log.
set +e
nice -n 10 timeout --kill-after=10 "$timeout" qemu-system-aarch64 "${args[@]}" </dev/null 2>&1 |
  tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "boot.sh: the machine did not power off within $timeout s; killed" >&2
  exit 124
fi
exit "$status"
