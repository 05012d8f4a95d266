#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into ./build-fuzz
# and runs each for SECONDS (default 15), one target per core at a time,
# starting from the seed corpora in fuzz/corpus/. New inputs go to a
# temporary directory, so the tree is not changed. Fails on any crash, sanitizer report or leak.
#   scripts/fuzz.sh 10        # what the test suite runs
#   scripts/fuzz.sh 3600      # a longer run
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-15}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=(tap_fuzz stream_device_fuzz ndp_fuzz dhcp_fuzz tcp_fuzz proc_net_fuzz wire_fuzz udp_fuzz
  icmp_fuzz netlink_fuzz config_fuzz port_spec_fuzz resolv_conf_fuzz control_fuzz)
CC=clang CXX=clang++ cmake -S . -B "$build" -DPASTA_FUZZ=ON -DPASTA_WERROR=ON -DPASTA_BUILD_TESTS=OFF \
  -DPASTA_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
work=$(mktemp -d /tmp/pasta-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
# One target per core at a time: each libFuzzer run is single-threaded.
jobs=$(nproc)
run_one() {
  local t=$1 seeds=fuzz/corpus/${1%_fuzz}
  mkdir -p "$work/$t"
  local args=("$work/$t")
  [ -d "$seeds" ] && args+=("$seeds")
  if "$build/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/$t-" "${args[@]}" 2>"$work/$t.log"; then
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/$t.log" | sed "s/^/fuzz: $t /"
  else
    tail -n 40 "$work/$t.log" >&2
    echo "fuzz: $t FAILED" >&2
    return 1
  fi
}
failed=0
pids=()
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds}s"
  run_one "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
