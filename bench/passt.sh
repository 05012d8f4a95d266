#!/usr/bin/env bash
# TCP through passt, in one run: iperf3 bulk throughput from a guest to a
# server one veth hop away and back (-R), and the CPU the passt process
# spends per GB moved, for
#   veth   the host netns talking straight to the server: the limit
#   ours   $PASTA (default build/src/pasta) started as passt (a link)
#   B      a second build of ours ($PASTA_B: before/after), when set
#   deb13  Debian 13's passt (2025), from the root bench/trixie-root.sh
#          makes at $TRIXIE_ROOT (default /srv/trixie)
#   deb12  Debian 12's passt, /usr/bin/passt (2023)
# The guest is a network namespace, not a virtual machine: stream_relay
# (tests/tools/) makes a tap there and carries its frames over passt's UNIX
# socket as QEMU's `-netdev stream` does (a 32-bit length, then the frame),
# so the guest's network stack is a real kernel's and the client the same
# iperf3 binary for every row. An emulated guest (no KVM here: TCG) would
# measure the emulator. The relay costs a tap read or write per frame, as
# QEMU's own network back-end would; its CPU is shown beside passt's (a
# relay near 100 % is the ceiling of that row, for every passt alike).
# The guest uses the host's addresses (198.51.100.2/24, 2001:db8:1::2/64),
# as passt's DHCP would give them, at the tap MTU of MTUS (default 65520,
# passt's; "65520 1500" adds a guest at 1500).
# Every passt runs as nobody with `-f -s SOCKET` in the lab's host netns.
#
# Usage: bench/passt.sh [RUNS]   (default 3 runs per cell, median shown)
#   ROWS="veth ours deb13 deb12"   SECS=4   MTUS="65520"   FAMS="4" ("4 6")
#   PASTA=our binary   PASTA_B=second binary (row B)
#   STREAM_RELAY=the relay (default build/tests/tools/stream_relay)
#   BENCH_TSV=file (bench_tsv lines: passtFAM-up-MTU, passtFAM-down-MTU)
# Needs root (the lab); installs iperf3 with apt-get if missing.
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${1:-3}
secs=${SECS:-4}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
if [ -n "$ours_b" ]; then rows=${ROWS:-veth ours B deb13 deb12}; else rows=${ROWS:-veth ours deb13 deb12}; fi
mtus=${MTUS:-65520}
fams=${FAMS:-4}
relay=${STREAM_RELAY:-$PWD/${BUILD_DIR:-build}/tests/tools/stream_relay}
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/passt
[[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/passt.sh [RUNS] (SECS, ROWS, MTUS, FAMS, PASTA in the environment)" >&2
  exit 2
}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -x "$relay" ] || { echo "no $relay: build first (scripts/build.sh)" >&2; exit 1; }
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need iperf3

h=pasta-bpst-h-$$ s=pasta-bpst-s-$$ g=pasta-bpst-g-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
sock_name=passt-bench-$$.sock
srv_addr4=203.0.113.1 srv_addr6=2001:db8:2::1
# For bench/lib.sh: no passt, relay or server outlives $life seconds; the
# state; the iperf3 server runs in the server netns, the client in the guest.
# shellcheck disable=SC2034
life=3600 hz=$(getconf CLK_TCK) wpid='' cpid='' ppid='' ipid='' clpid='' rc='' res='' \
  srv_in=(ip netns exec "$s") srv_bind='' iperf_port=5201 in_ns=() srv_addr=$srv_addr4
rpid=''

relay_stop() {
  if [ -n "$rpid" ]; then
    kill "$rpid" 2>/dev/null
    wait "$rpid" 2>/dev/null
  fi
  rpid=''
}
cleanup() {
  relay_stop
  bench_stop
  rm -f "$trixie/tmp/$sock_name"
  ip netns del "$g" 2>/dev/null
  bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
lab_private_tun "$tmp" || exit 1
lab_create "$h" "$s" || exit 1
ip netns add "$g" || exit 1
ip -n "$g" link set lo up
ip -n "$s" addr add $srv_addr4/32 dev lo
ip -n "$h" route add 203.0.113.0/24 via 198.51.100.1
ip -n "$s" addr add $srv_addr6/128 dev lo
ip -n "$h" -6 route add 2001:db8:2::/64 via 2001:db8:1::1
chmod 755 "$tmp"
mkdir -m 777 "$tmp/sock"

# passt_start KIND MTU: KIND's passt as nobody in the host netns, listening
# on a socket, and the relay in the guest netns connected to it, with the
# guest's addresses and routes on the relay's tap. Sets wpid and ppid
# (passt) and rpid (the relay).
passt_start() {
  local kind=$1 mtu=$2 bin sock log=$tmp/passt-$1-$2.log i
  case $kind in
    ours | B)
      # Our binary is passt when called so: a link named passt.
      mkdir -p "$tmp/$kind"
      ln -sf "$(bench_bin "$kind")" "$tmp/$kind/passt"
      bin=$tmp/$kind/passt sock=$tmp/sock/$sock_name
      ;;
    deb12) bin=$deb12 sock=$tmp/sock/$sock_name ;;
    deb13) sock=$trixie/tmp/$sock_name ;;
  esac
  rm -f "$sock"
  if [ "$kind" = deb13 ]; then
    mkdir -p "$trixie/dev/net" "$trixie/mnt"
    ip netns exec "$h" sh -c "$bench_pivot" sh "$trixie" "$tmp/tun" \
      timeout "$life" passt -f -s "/tmp/$sock_name" </dev/null >"$log" 2>&1 &
  else
    ip netns exec "$h" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
      timeout "$life" "$bin" -f -s "$sock" </dev/null >"$log" 2>&1 &
  fi
  wpid=$!
  for ((i = 0; i < 100; i++)); do
    [ -n "$ppid" ] || ppid=$(descend "$wpid" '^passt')
    [ -n "$ppid" ] && [ -S "$sock" ] && break
    kill -0 "$wpid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$ppid" ] || [ ! -S "$sock" ]; then
    echo "  $kind did not listen; its log:" >&2
    sed 's/^/    /' "$log" | tail -n 5 >&2
    pasta_stop
    return 1
  fi
  ip netns exec "$g" timeout "$life" "$relay" "$sock" eth0 "$mtu" >"$tmp/relay.log" 2>&1 &
  rpid=$!
  # Up: an IPv6 route wants the link up, and the relay sets it up after
  # making it.
  for ((i = 0; i < 100; i++)); do
    [ -n "$(ip -n "$g" link show dev eth0 up 2>/dev/null)" ] && break
    sleep 0.05
  done
  # replace: passt's router advertisement may have given the guest an
  # IPv6 default route already.
  ip -n "$g" addr replace 198.51.100.2/24 dev eth0 &&
    ip -n "$g" addr replace 2001:db8:1::2/64 dev eth0 nodad &&
    ip -n "$g" route replace default via 198.51.100.1 &&
    ip -n "$g" -6 route replace default via 2001:db8:1::1 || {
    echo "  $kind: no tap from the relay; it said:" >&2
    sed 's/^/    /' "$tmp/relay.log" >&2
    return 1
  }
  # The first frames teach passt the guest's MAC and addresses.
  for ((i = 0; i < 25; i++)); do
    timeout 1 ip netns exec "$g" ping -c 1 -W 1 -q 198.51.100.1 >/dev/null 2>&1 && break
  done
  return 0
}
# passt_stop: the relay, then passt (SIGTERM: it has no command to end, as
# a pasta has), then whatever is left (pasta_stop).
passt_stop() {
  local i
  relay_stop
  [ -n "$ppid" ] && kill -TERM "$ppid" 2>/dev/null
  for ((i = 0; i < 30; i++)); do
    kill -0 "$wpid" 2>/dev/null || break
    sleep 0.1
  done
  { wait "$wpid"; } 2>/dev/null
  pasta_stop
}

fmt='%-6s %-9s %15s %15s %14s %14s %9s %9s\n'

# relay_busy T0: the relay's CPU since ticks T0 over the cell's wall time
# (runs x secs), in per cent.
relay_busy() {
  [ -n "$rpid" ] || { echo -; return; }
  awk -v c0="$1" -v c1="$(cpu_ticks "$(descend "$rpid" '^stream_relay' || echo "$rpid")")" \
    -v hz="$hz" -v t=$((runs * secs)) 'BEGIN { printf "%.0f%%", 100 * (c1 - c0) / hz / t }'
}

# row KIND MTU FAM: measures one row and prints it.
row() {
  local kind=$1 mtu=$2 fam=$3 label=$2 up upcpu down downcpu r0 rup rdn rp
  [ "$fam" = 6 ] && label=$mtu/v6
  echo "  $kind ${label}: ..." >&2
  if [ "$fam" = 6 ]; then srv_addr=$srv_addr6; else srv_addr=$srv_addr4; fi
  if [ "$kind" = veth ]; then
    in_ns=(ip netns exec "$h")
  else
    in_ns=(ip netns exec "$g")
    if ! passt_start "$kind" "$mtu"; then
      passt_stop
      # shellcheck disable=SC2059
      printf "$fmt" "$kind" "$label" fail fail fail fail - -
      bench_tsv "passt$fam-up-$mtu" "$kind" fail Gbit/s
      bench_tsv "passt$fam-down-$mtu" "$kind" fail Gbit/s
      return
    fi
  fi
  rp=''
  [ -n "$rpid" ] && rp=$(descend "$rpid" '^stream_relay' || echo "$rpid")
  r0=$([ -n "$rp" ] && cpu_ticks "$rp")
  cell_iperf ""
  up=$gbit upcpu=$cpu
  rup=$(relay_busy "${r0:-0}")
  r0=$([ -n "$rp" ] && cpu_ticks "$rp")
  cell_iperf -R
  down=$gbit downcpu=$cpu
  rdn=$(relay_busy "${r0:-0}")
  if [ "$kind" != veth ] && ! kill -0 "$ppid" 2>/dev/null; then
    echo "  $kind ${label}: passt exited during the row; its log:" >&2
    sed 's/^/    /' "$tmp/passt-$kind-$mtu.log" | tail -n 5 >&2
  fi
  passt_stop
  # shellcheck disable=SC2059
  printf "$fmt" "$kind" "$label" "$(fmt_gbit "$up")" "$(fmt_gbit "$down")" "$upcpu" "$downcpu" "$rup" "$rdn"
  local m
  local -a ms=("$mtu")
  [ "$kind" = veth ] && read -r -a ms <<<"$mtus"
  for m in "${ms[@]}"; do
    bench_tsv "passt$fam-up-$m" "$kind" "$up" Gbit/s "$upcpu"
    bench_tsv "passt$fam-down-$m" "$kind" "$down" Gbit/s "$downcpu"
  done
}

start=$SECONDS
echo "TCP through passt, $runs run(s) of ${secs}s per cell, median; guest: a namespace on stream_relay"
for kind in $rows; do
  case $kind in
    veth) ;;
    ours | B) bench_present "$kind" && echo "$kind: $(version_of "$kind")" ;;
    deb12) [ -x "$deb12" ] && echo "deb12: passt $(version_of deb12)" ;;
    deb13) [ -x "$trixie/usr/bin/passt" ] && echo "deb13: passt $(version_of deb13)" ;;
    *) echo "unknown row $kind (veth ours B deb13 deb12)" >&2; exit 2 ;;
  esac
done
echo
# shellcheck disable=SC2059  # the format is ours
printf "$fmt" row mtu "guest->srv Gb/s" "srv->guest Gb/s" "CPU s/GB up" "CPU s/GB down" "relay up" "relay dn"
for kind in $rows; do
  for f in $fams; do
    case $kind in
      veth) row veth "-" "$f" ;;
      ours | B)
        if ! bench_present "$kind"; then
          printf "$fmt" "$kind" - "fail (not built)" "" "" "" "" ""
          continue
        fi
        for m in $mtus; do row "$kind" "$m" "$f"; done
        ;;
      deb12)
        [ -x "$deb12" ] || { printf "$fmt" deb12 - "skipped: no $deb12" "" "" "" "" ""; continue; }
        for m in $mtus; do row deb12 "$m" "$f"; done
        ;;
      deb13)
        [ -x "$trixie/usr/bin/passt" ] || {
          printf "$fmt" deb13 - "skipped: no $trixie/usr/bin/passt" "" "" "" "" ""
          continue
        }
        for m in $mtus; do row deb13 "$m" "$f"; done
        ;;
    esac
  done
done
echo
echo "took $((SECONDS - start)) s"
