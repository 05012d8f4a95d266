#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into ./build-fuzz
# and runs each for SECONDS (default 15), starting from the seed corpora in
# fuzz/corpus/. New inputs go to a temporary directory, so the tree is not
# changed. Fails on any crash, sanitizer report or leak.
#   scripts/fuzz.sh 15        # what the test suite runs
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
for t in "${targets[@]}"; do
  seeds=fuzz/corpus/${t%_fuzz}
  mkdir -p "$work/$t"
  args=("$work/$t")
  [ -d "$seeds" ] && args+=("$seeds")
  echo "fuzz: $t for ${seconds}s"
  "$build/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/" "${args[@]}" 2>"$work/$t.log" || {
    tail -n 40 "$work/$t.log" >&2
    echo "fuzz: $t FAILED" >&2
    exit 1
  }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/$t.log" | sed "s/^/fuzz: $t /"
done
