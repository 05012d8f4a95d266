#!/usr/bin/env bash
# passt mode, TCP through each passt in one run: iperf3 bulk throughput from
# a guest to a server one veth hop away (up) and back (down, -R), and the
# CPU the passt process spends per GB moved, for
#   ours   $PASTA (default build/src/pasta) started as `passt`
#   deb13  Debian 13's passt, from the root bench/trixie-root.sh makes at
#          $TRIXIE_ROOT (default /srv/trixie)
#   deb12  Debian 12's passt, /usr/bin/passt (2023)
#   B      a second build of ours ($PASTA_B: before/after), when set
# The guest is a network namespace whose eth0 is a tap that
# bench/passt_guest.c (built here with cc) bridges to passt's socket in
# QEMU's stream format: the guest's TCP is the kernel's at full speed,
# where a QEMU guest under TCG (no KVM on these machines) would measure the
# emulator. The bridge is the same for every row, and costs its own CPU
# (not counted): the throughput is that of passt plus the bridge; the CPU
# per GB is passt's alone. Each passt runs as nobody in the lab's host
# netns, in the foreground (-f) on its own socket; the guest's address and
# route are the host's, set statically (as DHCP would give them), MTU
# 65520. The server sits on 203.0.113.1, the server netns's loopback.
#
# Usage: bench/passt.sh [RUNS]   (default 3 runs per cell, median shown)
#   ROWS="ours deb13 deb12" (B too with PASTA_B)  SECS=4 seconds per run
#   BENCH_TSV=file (bench_tsv lines: paths passt-up, passt-down)
# Needs root (the lab); installs iperf3 with apt-get if missing.
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${1:-3}
secs=${SECS:-4}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
rows=${ROWS:-ours deb13 deb12}
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/passt
[[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/passt.sh [RUNS] (SECS, ROWS, PASTA in the environment)" >&2
  exit 2
}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need iperf3 cc

h=pasta-bpasst-h-$$ s=pasta-bpasst-s-$$ gns=pasta-bpasst-g-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
chmod 755 "$tmp"
# For bench/lib.sh: the state; the iperf3 server runs in the server netns,
# the client in the guest.
# shellcheck disable=SC2034
life=3600 hz=$(getconf CLK_TCK) wpid='' cpid='' ppid='' ipid='' clpid='' rc='' res='' \
  srv_in=(ip netns exec "$s") srv_addr=203.0.113.1 srv_bind='' iperf_port=5201 \
  in_ns=(ip netns exec "$gns")
gpid=''

guest_stop() {
  if [ -n "$gpid" ]; then
    kill "$gpid" 2>/dev/null
    wait "$gpid" 2>/dev/null
  fi
  gpid=''
  ip netns del "$gns" 2>/dev/null
}
cleanup() {
  guest_stop
  bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
lab_private_tun "$tmp" || exit 1
lab_create "$h" "$s" || exit 1
ip -n "$s" addr add 203.0.113.1/32 dev lo
cc -O2 -pthread -o "$tmp/passt_guest" bench/passt_guest.c || exit 1
mkdir -p "$tmp/bin" "$tmp/bin-B" "$tmp/sock"
chmod 1777 "$tmp/sock"
# Ours started as `passt`.
ln -s "$(readlink -f "$ours")" "$tmp/bin/passt"
[ -n "$ours_b" ] && ln -s "$(readlink -f "$ours_b")" "$tmp/bin-B/passt"

# passt_start KIND: starts KIND's passt, then the guest on its socket;
# sets wpid, ppid (passt), gpid (the bridge). Fails, saying why, if either
# does not come up.
passt_start() {
  local kind=$1 sock i log=$tmp/passt-$1.log
  case $kind in
    ours | B | deb12)
      sock=$tmp/sock/$kind.socket
      local bin=$tmp/bin/passt
      [ "$kind" = B ] && bin=$tmp/bin-B/passt
      [ "$kind" = deb12 ] && bin=$deb12
      ip netns exec "$h" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
        timeout "$life" "$bin" -f -s "$sock" </dev/null >"$log" 2>&1 &
      ;;
    deb13)
      # In the trixie root ($bench_pivot); the socket in its /tmp.
      sock=$trixie/tmp/pasta-bench-$$.socket
      mkdir -p "$trixie/dev/net" "$trixie/mnt"
      ip netns exec "$h" sh -c "$bench_pivot" sh "$trixie" "$tmp/tun" \
        timeout "$life" passt -f -s "/tmp/pasta-bench-$$.socket" </dev/null >"$log" 2>&1 &
      ;;
  esac
  wpid=$!
  for ((i = 0; i < 100; i++)); do
    [ -S "$sock" ] && break
    sleep 0.1
  done
  ppid=$(descend "$wpid" '^(pasta|passt)')
  if [ ! -S "$sock" ] || [ -z "$ppid" ]; then
    echo "  $kind did not come up; its log:" >&2
    sed 's/^/    /' "$log" | tail -n 5 >&2
    pasta_stop
    return 1
  fi
  ip netns add "$gns" || return 1
  ip netns exec "$gns" "$tmp/passt_guest" "$sock" eth0 2>"$tmp/guest.log" &
  gpid=$!
  for ((i = 0; i < 50; i++)); do
    ip -n "$gns" link show eth0 >/dev/null 2>&1 && break
    sleep 0.1
  done
  ip -n "$gns" link set lo up &&
    ip -n "$gns" link set eth0 mtu 65520 up &&
    ip -n "$gns" addr add 198.51.100.2/24 dev eth0 &&
    ip -n "$gns" route add default via 198.51.100.1 || {
    echo "  $kind: the guest did not come up: $(cat "$tmp/guest.log")" >&2
    guest_stop
    pasta_stop
    return 1
  }
}

fmt='%-6s %14s %16s %14s %16s\n'
printf "$fmt" passt "guest->server" "CPU-s/GB passt" "server->guest" "CPU-s/GB passt"
for kind in $rows; do
  case $kind in
    ours | deb12 | deb13) ;;
    B) [ -n "$ours_b" ] || { echo "row B needs PASTA_B" >&2; exit 2; } ;;
    *) echo "unknown row $kind (ours B deb13 deb12)" >&2; exit 2 ;;
  esac
  if [ "$kind" = deb13 ] && [ ! -x "$trixie/usr/bin/passt" ]; then
    printf "$fmt" "$kind" absent - absent -
    bench_tsv passt-up "$kind" absent Gbit/s
    bench_tsv passt-down "$kind" absent Gbit/s
    continue
  fi
  echo "  $kind: ..." >&2
  if ! passt_start "$kind"; then
    printf "$fmt" "$kind" fail fail fail fail
    bench_tsv passt-up "$kind" fail Gbit/s
    bench_tsv passt-down "$kind" fail Gbit/s
    continue
  fi
  cell_iperf ""
  up=$gbit upcpu=$cpu
  cell_iperf -R
  down=$gbit downcpu=$cpu
  guest_stop
  pasta_stop
  printf "$fmt" "$kind" "$(fmt_gbit "$up") Gbit/s" "$upcpu" "$(fmt_gbit "$down") Gbit/s" "$downcpu"
  bench_tsv passt-up "$kind" "$up" Gbit/s "$upcpu"
  bench_tsv passt-down "$kind" "$down" Gbit/s "$downcpu"
done
echo "versions: ours $(version_of ours); deb13 $(version_of deb13); deb12 $(version_of deb12)"
