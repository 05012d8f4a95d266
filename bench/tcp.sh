#!/usr/bin/env bash
# TCP from a namespace to a server one veth hop away, in one run: iperf3
# bulk throughput both ways (namespace -> server, and server -> namespace
# with -R), the CPU the pasta process spends per GB moved (utime+stime from
# /proc, before and after each transfer), and request/response round trips
# per second (sockperf ping-pong, TCP, 64-byte messages), for
#   veth   the host netns talking straight to the server: the limit
#   ours   $PASTA (default build/src/pasta)
#   deb13  Debian 13's pasta (passt 2025), from the root bench/trixie-root.sh
#          makes at $TRIXIE_ROOT (default /srv/trixie)
#   deb12  Debian 12's pasta, /usr/bin/pasta (passt 2023)
# each pasta at its default MTU (65520) and at -m 1500 (MTUS="65520 1500").
# Every pasta runs as nobody with a private tun node, `--config-net --
# sleep`; the clients (the host's iperf3 and sockperf, the same binaries for
# every row) run as root, nsenter'ed into that namespace's network only.
# The servers sit on 203.0.113.1 (the server netns's loopback, routed via
# 198.51.100.1): 198.51.100.1 itself is pasta's gateway address, which
# pasta maps to the host's own loopback.
# A pasta that does not come up gives a row of "fail"; a transfer that ends
# in an error gives "fail", one that runs into its timeout "stall" (the
# cell's remaining runs are then skipped).
#
# Usage: bench/tcp.sh [RUNS]   (default 3 runs per cell, median shown)
#   ROWS="veth ours deb13 deb12"  rows to run       SECS=4  seconds per run
#   MTUS="65520 1500"             pasta MTUs        PASTA=path to our binary
# Needs root (the lab); installs iperf3 and sockperf with apt-get if missing.
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${1:-3}
secs=${SECS:-4}
rows=${ROWS:-veth ours deb13 deb12}
mtus=${MTUS:-65520 1500}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
trixie=${TRIXIE_ROOT:-/srv/trixie}
deb12=/usr/bin/pasta
[[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/tcp.sh [RUNS] (SECS, ROWS, MTUS, PASTA in the environment)" >&2
  exit 2
}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
for c in iperf3 sockperf; do
  command -v $c >/dev/null && continue
  timeout 300 apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q iperf3 sockperf >/dev/null
  command -v $c >/dev/null || { echo "$c missing and not installable" >&2; exit 1; }
done
. scripts/lab-env.sh

h=pasta-btcp-h-$$ s=pasta-btcp-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
srv_addr=203.0.113.1 iperf_port=5201 sp_port=11111
life=3600            # no pasta or server of ours outlives this (seconds)
hz=$(getconf CLK_TCK)
wpid='' cpid='' ppid='' ipid='' spid='' clpid='' rc='' res=''

# pasta_stop: ends the current row's pasta: its command first (pasta then
# exits by itself with the command's status), then pasta and its timeout(1)
# wrapper if they linger.
pasta_stop() {
  local i left
  [ -n "$cpid" ] && kill -KILL "$cpid" 2>/dev/null
  if [ -n "$wpid" ]; then
    for ((i = 0; i < 30; i++)); do
      kill -0 "$wpid" 2>/dev/null || break
      sleep 0.1
    done
    # Still there (a stopped or wedged pasta): kill what runs under the
    # wrapper first, so the wrapper reaps it, then the wrapper.
    left=$(descendants "$wpid")
    [ -n "$left" ] && kill -KILL $left 2>/dev/null
    for ((i = 0; i < 10; i++)); do
      kill -0 "$wpid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$wpid" 2>/dev/null
    wait "$wpid" 2>/dev/null
  fi
  wpid='' cpid='' ppid=''
}
cleanup() {
  pasta_stop
  local p
  # A client still running when we were stopped: KILL, as iperf3 takes its
  # time over SIGTERM (it tries to tell the server).
  if [ -n "$clpid" ]; then
    p=$(descendants $clpid)
    kill -KILL $clpid $p 2>/dev/null
    wait $clpid 2>/dev/null
  fi
  for p in $ipid $spid; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  ip netns del $h 2>/dev/null
  ip netns del $s 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_private_tun "$tmp" || exit 1
lab_create $h $s || exit 1
ip -n $s addr add $srv_addr/32 dev lo
ip -n $h route add 203.0.113.0/24 via 198.51.100.1

# One sockperf server for the whole run (it serves clients one after the
# other); a fresh one-shot iperf3 server per transfer (-1), so a client that
# stalled cannot leave it wedged for the next one.
ip netns exec $s timeout $life sockperf server --tcp -i $srv_addr -p $sp_port \
  >"$tmp/sockperf-server.log" 2>&1 &
spid=$!

# descendants PID: every descendant of PID, one a line.
descendants() {
  local p
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$p"
    descendants "$p"
  done
}

# descend PID REGEX: prints the first descendant of PID whose comm matches.
descend() {
  local p c
  while read -r p c; do
    [[ $c =~ $2 ]] && { echo "$p"; return 0; }
    descend "$p" "$2" && return 0
  done < <(ps -o pid=,comm= --ppid "$1" 2>/dev/null)
  return 1
}

# cpu_ticks PID: utime+stime of PID in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name).
cpu_ticks() {
  local st
  st=$(cat /proc/"$1"/stat 2>/dev/null) || { echo 0; return; }
  st=${st##*) }
  set -- $st
  echo $((${12} + ${13}))
}

# pasta_start KIND MTU: starts KIND's pasta as nobody in the host netns with
# `--config-net [-m MTU] -- sleep`, and waits (10 s at most) for its
# namespace to have its default route. Sets wpid (the wrapper we started),
# ppid (pasta) and cpid (its command). Fails if it does not come up.
pasta_start() {
  local kind=$1 mtu=$2 log=$tmp/pasta-$1-$2.log i
  local -a opt=(--config-net)
  [ "$mtu" = 65520 ] || opt+=(-m "$mtu")
  case $kind in
    ours | deb12)
      local bin=$ours
      [ "$kind" = deb12 ] && bin=$deb12
      # lab_as_nobody, spelled out: a shell function started with & runs in
      # a subshell, and $! would be that subshell, not the pasta chain.
      ip netns exec $h sh -c 'mount --bind "$0" /dev/net/tun &&
        exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' \
        "$tmp/tun" timeout $life "$bin" "${opt[@]}" -- sleep $life \
        </dev/null >"$log" 2>&1 &
      ;;
    deb13)
      # The kernel refuses CLONE_NEWUSER to a chrooted process (EPERM:
      # "Couldn't create user namespace"), so the trixie root becomes the
      # root of `ip netns exec`'s private mount namespace with pivot_root
      # instead, after the tun node is bind-mounted at its /dev/net/tun (on
      # a tmpfs: nothing is left in the root) and a /proc is mounted (pasta
      # re-executes itself through /proc/self/exe and opens namespaces there).
      mkdir -p "$trixie/dev/net" "$trixie/mnt"
      ip netns exec $h sh -c '
        r=$1 tun=$2
        shift 2
        mount --rbind "$r" "$r" &&
          mount -t tmpfs -o mode=755 none "$r/dev/net" &&
          : >"$r/dev/net/tun" && mount --bind "$tun" "$r/dev/net/tun" &&
          mount -t proc proc "$r/proc" &&
          cd "$r" && pivot_root . mnt && umount -l /mnt &&
          exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' \
        sh "$trixie" "$tmp/tun" timeout $life pasta "${opt[@]}" -- sleep $life \
        </dev/null >"$log" 2>&1 &
      ;;
  esac
  wpid=$!
  for ((i = 0; i < 100; i++)); do
    kill -0 "$wpid" 2>/dev/null || break
    # comm: pasta, or passt.avx2 (Debian 12's pasta is a link to passt and
    # re-executes itself as passt.avx2 where the CPU has AVX2).
    [ -n "$ppid" ] || ppid=$(descend "$wpid" '^(pasta|passt)')
    [ -n "$ppid" ] && [ -z "$cpid" ] && cpid=$(descend "$ppid" '^sleep$')
    if [ -n "$cpid" ] &&
      [ -n "$(timeout 2 nsenter -t "$cpid" -n ip -4 route show default 2>/dev/null)" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "  $kind -m $mtu did not come up; its log:" >&2
  sed 's/^/    /' "$log" | tail -n 5 >&2
  pasta_stop
  return 1
}

# in_ns: the command prefix that puts a client where the current row's
# clients run (an array, not a function: timeout(1) runs it).
in_ns=()
set_in_ns() {
  if [ -n "$cpid" ]; then in_ns=(nsenter -t "$cpid" -n); else in_ns=(ip netns exec "$h"); fi
}

# client LIMIT CMD...: runs CMD where the current row's clients run, for at
# most LIMIT seconds, output in $tmp/client.out; sets rc (124: timed out).
# In the background plus `wait`, not in $(...): bash runs a TERM/INT trap
# at once during `wait`, but not while it reads a command substitution
# (there the trap was seen to run in a later subshell, and the script went
# on).
client() {
  local limit=$1
  shift
  timeout "$limit" "${in_ns[@]}" "$@" >"$tmp/client.out" 2>&1 &
  clpid=$!
  wait $clpid
  rc=$?
  clpid=
}

# iperf_once REV: one iperf3 transfer (REV: "" or -R); sets res to
# "GBITS CPU_S_PER_GB" (CPU "-" without a pasta), or to fail / stall.
iperf_once() {
  local rev=$1 c0='' c1='' i
  ip netns exec $s timeout $((secs + 30)) iperf3 -s -1 -B $srv_addr -p $iperf_port \
    >/dev/null 2>&1 &
  ipid=$!
  for ((i = 0; i < 50; i++)); do
    [ -n "$(timeout 2 ip netns exec $s ss -Hltn "sport = :$iperf_port")" ] && break
    sleep 0.05
  done
  [ -n "$ppid" ] && c0=$(cpu_ticks "$ppid")
  client $((secs + 15)) iperf3 -c $srv_addr -p $iperf_port -t "$secs" \
    --connect-timeout 3000 $rev -J
  [ -n "$ppid" ] && c1=$(cpu_ticks "$ppid")
  kill $ipid 2>/dev/null
  wait $ipid 2>/dev/null
  ipid=
  if [ $rc = 124 ]; then
    res=stall
    return
  fi
  res=$(awk -v c0="$c0" -v c1="$c1" -v hz="$hz" -v rc=$rc '
    /"error"/ { err = 1 }
    /"sum_received"/ { in_sum = 1 }
    in_sum && /"bytes"/ { gsub(/[^0-9.]/, "", $2); bytes = $2 }
    in_sum && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); bps = $2; in_sum = 0 }
    END {
      if (rc != 0 || err || bps == "") { print "fail"; exit }
      cpu = "-"
      if (c0 != "" && bytes > 0) cpu = sprintf("%.2f", (c1 - c0) / hz / (bytes / 1e9))
      printf "%.4f %s\n", bps / 1e9, cpu
    }' "$tmp/client.out")
}

# sockperf_once: sets res to the round trips per second of one sockperf
# ping-pong run, or to fail / stall.
sockperf_once() {
  client $((secs + 10)) sockperf ping-pong --tcp -i $srv_addr -p $sp_port -t "$secs" -m 64
  [ $rc = 124 ] && { res=stall; return; }
  # "[Valid Duration] RunTime=3.990 sec; SentMessages=N; ReceivedMessages=M"
  res=$(awk -v rc=$rc '
    /Valid Duration/ {
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^RunTime=/) { t = $i; sub(/RunTime=/, "", t) }
        if ($i ~ /^ReceivedMessages=/) { m = $i; sub(/ReceivedMessages=/, "", m); sub(/;/, "", m) }
      }
    }
    END { if (rc != 0 || t == "" || t + 0 == 0) print "fail"; else printf "%.0f\n", m / t }' \
    "$tmp/client.out")
}

# median: of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "fail") }'; }

# fmt_gbit X: 13.2 / 1.23 / 0.041.
fmt_gbit() {
  case $1 in
    fail | stall | -) echo "$1" ;;
    *) awk -v v="$1" 'BEGIN { printf(v >= 10 ? "%.1f" : v >= 1 ? "%.2f" : "%.3f", v) }' ;;
  esac
}

# cell_iperf REV: runs the transfer RUNS times; sets gbit and cpu to the
# medians (or to fail/stall at the first run that fails or stalls).
cell_iperf() {
  local i r g=() c=()
  for ((i = 0; i < runs; i++)); do
    iperf_once "$1"
    r=$res
    case $r in
      fail | stall) gbit=$r cpu=$r; return ;;
    esac
    g+=("${r% *}") c+=("${r#* }")
  done
  gbit=$(printf '%s\n' "${g[@]}" | median)
  if [ "${c[0]}" = - ]; then cpu=-; else cpu=$(printf '%s\n' "${c[@]}" | median); fi
}

cell_rr() {
  local i r v=()
  for ((i = 0; i < runs; i++)); do
    sockperf_once
    r=$res
    case $r in
      fail | stall) rr=$r; return ;;
    esac
    v+=("$r")
  done
  rr=$(printf '%s\n' "${v[@]}" | median)
}

fmt='%-6s %-11s %14s %14s %16s %16s %10s\n'
row_out() { printf "$fmt" "$@"; }

# row KIND MTU: measures one row and prints it.
row() {
  local kind=$1 mtu=$2 gbit cpu up upcpu down downcpu rr
  echo "  $kind ${mtu}: ..." >&2
  if [ "$kind" != veth ] && ! pasta_start "$kind" "$mtu"; then
    row_out "$kind" "$mtu" fail fail fail fail fail
    return
  fi
  set_in_ns
  cell_iperf ""
  up=$gbit upcpu=$cpu
  cell_iperf -R
  down=$gbit downcpu=$cpu
  cell_rr
  if [ "$kind" != veth ] && ! kill -0 "$ppid" 2>/dev/null; then
    echo "  $kind ${mtu}: pasta exited during the row; its log:" >&2
    sed 's/^/    /' "$tmp/pasta-$kind-$mtu.log" | tail -n 5 >&2
  fi
  pasta_stop
  row_out "$kind" "$mtu" "$(fmt_gbit "$up")" "$(fmt_gbit "$down")" "$upcpu" "$downcpu" "$rr"
}

version_of() {
  case $1 in
    ours) echo "$ours, $(timeout 5 "$ours" --version 2>&1 | head -n 1)" ;;
    deb12) dpkg-query -W -f='${Version}' passt 2>/dev/null ;;
    deb13) chroot "$trixie" dpkg-query -W -f='${Version}' passt 2>/dev/null ;;
  esac
}

start=$SECONDS
echo "TCP via pasta, $runs run(s) of ${secs}s per cell, median; server $srv_addr one veth hop away"
for kind in $rows; do
  case $kind in
    veth) ;;
    ours | deb12 | deb13) echo "$kind: $(version_of $kind)" ;;
    *) echo "unknown row $kind (veth ours deb13 deb12)" >&2; exit 2 ;;
  esac
done
echo
row_out row mtu "ns->srv Gb/s" "srv->ns Gb/s" "CPU s/GB ns->srv" "CPU s/GB srv->ns" "TCP RR/s"
for kind in $rows; do
  case $kind in
    veth)
      row veth "1500(veth)"
      ;;
    ours)
      if [ ! -x "$ours" ]; then
        row_out ours - "fail (not built: $ours)" "" "" "" ""
        continue
      fi
      for m in $mtus; do row ours "$m"; done
      ;;
    deb13)
      if [ ! -x "$trixie/usr/bin/pasta" ]; then
        row_out deb13 - "skipped: no $trixie (bench/trixie-root.sh)" "" "" "" ""
        continue
      fi
      for m in $mtus; do row deb13 "$m"; done
      ;;
    deb12)
      if [ ! -x "$deb12" ]; then
        row_out deb12 - "skipped: no $deb12 (apt-get install passt)" "" "" "" ""
        continue
      fi
      for m in $mtus; do row deb12 "$m"; done
      ;;
  esac
done
echo
echo "took $((SECONDS - start)) s"
