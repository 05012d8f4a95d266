#!/bin/bash
# Runs inside the emulated arm64 machine as /payload/run.sh (started by
# /sbin/pasta-vm-init, as root, in the machine's own namespaces: this is
# its own kernel, with no network device but lo). scripts/arm64/test.sh
# puts it there with:
#   /payload/bin/pasta            the arm64 binary under test
#   /payload/bin/old_kernel       tests/tools/old_kernel (lab old_kernel)
#   /payload/artifact/            the aarch64 release artifact, if given:
#                                 the lab tests run its bin/pasta instead
#   /payload/unit/*_test          the unit test binaries
#   /payload/src/tests/lab/       the lab tests, as in the source tree
#   /payload/lab-tests            which lab tests to run, one name a line
# Every unit test binary runs, then each lab test against bin/pasta, each
# bounded in time. The host reads the result from the console: lines
# "pasta-arm64: PASS|FAIL KIND NAME (N s)" (then, indented with "  |", a
# unit test's summary or a lab test's checks, or a failure's whole
# output), then the count and
# "pasta-arm64: result ok" or "pasta-arm64: result FAILED".
set -u
cd /payload
echo "pasta-arm64: $(uname -m), kernel $(uname -r), $(nproc) CPUs, $(date -u +%FT%TZ)"
modprobe tun && modprobe veth || echo "pasta-arm64: modprobe tun/veth failed"
modprobe sch_netem 2>/dev/null
sysctl -qw net.ipv4.ping_group_range="0 2147483647"
# The descriptor limit of the CI machines (the machine's default is 4096:
# forward.sh's exclusion-only lists need about 6 000 listeners, and pasta
# rightly refuses them under 4096).
ulimit -n 20000
export PASTA=/payload/bin/pasta
# The release artifact, where the host put one in the payload.
if [ -x /payload/artifact/bin/pasta ]; then
  PASTA=/payload/artifact/bin/pasta
  echo "pasta-arm64: lab tests run the release artifact: $($PASTA --version)"
fi
# lab old_kernel: the core tests again as on a 4.18 kernel; under emulation
# forward.sh moves 8 MiB a transfer instead of 100.
export OLD_KERNEL=/payload/bin/old_kernel FORWARD_MIB=8
unit_timeout=${UNIT_TIMEOUT:-300}
lab_timeout=${LAB_TIMEOUT:-300}
passed=0
failed=0
failures=()

# result KIND NAME STATUS SECONDS LOG
result() {
  if [ "$3" = 0 ]; then
    passed=$((passed + 1))
    echo "pasta-arm64: PASS $1 $2 ($4 s)"
  else
    failed=$((failed + 1))
    failures+=("$1 $2")
    echo "pasta-arm64: FAIL $1 $2 ($4 s, status $3):"
    sed 's/^/  | /' "$5"
  fi
}

for t in unit/*; do
  name=$(basename "$t")
  start=$SECONDS
  timeout -k 5 "$unit_timeout" "$t" --gtest_brief=1 >/tmp/"$name".log 2>&1
  rc=$?
  result unit "$name" "$rc" $((SECONDS - start)) /tmp/"$name".log
  [ "$rc" = 0 ] && grep -m1 '^\[  PASSED  \]' /tmp/"$name".log | sed 's/^/  | /'
done

while read -r name; do
  [ -n "$name" ] || continue
  start=$SECONDS
  t=$lab_timeout
  [ "$name" = old_kernel ] && t=$((lab_timeout * 3))  # five tests in one
  timeout -k 5 "$t" bash src/tests/lab/"$name".sh >/tmp/lab_"$name".log 2>&1
  rc=$?
  result lab "$name" "$rc" $((SECONDS - start)) /tmp/lab_"$name".log
  # A passing lab test's checks are worth reading too (what ran on arm64).
  [ "$rc" = 0 ] && sed 's/^/  | /' /tmp/lab_"$name".log
done <lab-tests

echo "pasta-arm64: $passed passed, $failed failed"
for f in "${failures[@]}"; do echo "pasta-arm64: failed: $f"; done
if [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; then
  echo "pasta-arm64: result ok"
else
  echo "pasta-arm64: result FAILED"
fi
