#!/usr/bin/env bash
# What an idle pasta costs the machine, which runs one per container: the
# times it wakes up per second (its voluntary context switches over SECS
# seconds, from /proc/PID/status: each is a sleep in epoll_wait, so one
# wakeup), the times per second the kernel preempted it (involuntary
# switches: reading /proc/net/tcp of a namespace yields the CPU on the way,
# so each automatic-forwarding scan adds one or two), and its RSS, for
#   ours   $PASTA (default build/src/pasta)
#   B      a second build of ours ($PASTA_B: before/after), when set
#   deb13  Debian 13's pasta (passt 2025), from the root at $TRIXIE_ROOT
#          (default /srv/trixie; bench/trixie-root.sh makes it, and the
#          podman root of scripts/podman-root.sh has the same pasta)
#   deb12  Debian 12's pasta, /usr/bin/pasta (passt 2023), if installed
# each with podman's options (`-t none -u none -T none -U none`: nothing
# forwarded, so nothing to scan) and with the defaults (`auto` forwarding
# both ways, which scans the bound ports once a second). Every pasta runs
# as nobody with a private tun node, `--config-net -- sleep`, in a lab host
# namespace; nothing talks to it while it is measured (the namespace's own
# kernel may: IPv6 router solicitations and DAD right after start-up, so
# the measurement starts WARM seconds after the namespace is up).
#
# Usage: bench/idle.sh [RUNS]   (default 1 run per cell, median shown)
#   ROWS="ours deb13 deb12"  SECS=10  WARM=3  PASTA=path to our binary
#   PASTA_B=second binary (row B)  BENCH_TSV=file (bench_tsv lines, paths
#   idle-podman-wake, idle-podman-rss, idle-auto-wake, idle-auto-rss)
# Needs root (the lab).
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${1:-1}
secs=${SECS:-10}
warm=${WARM:-3}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
if [ -n "$ours_b" ]; then rows=${ROWS:-ours B deb13 deb12}; else rows=${ROWS:-ours deb13 deb12}; fi
trixie=${TRIXIE_ROOT:-${PASTA_CACHE:-/srv}/trixie}
deb12=/usr/bin/pasta
art=''
[[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ && $warm =~ ^[0-9]+$ ]] || {
  echo "usage: bench/idle.sh [RUNS] (SECS, WARM, ROWS, PASTA in the environment)" >&2
  exit 2
}
[ -x "$ours" ] || { echo "build first (scripts/build.sh)" >&2; exit 1; }
# shellcheck source=scripts/lab-env.sh
. scripts/lab-env.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

h=pasta-bidle-h-$$ s=pasta-bidle-s-$$
tmp=$(mktemp -d /tmp/pasta-bench.XXXXXX)
# For bench/lib.sh: no pasta outlives $life seconds; the state.
# shellcheck disable=SC2034
life=600 wpid='' cpid='' ppid='' ipid='' clpid='' rc='' res=''

bench_lab

# switches PID: voluntary plus involuntary context switches of PID so far.
switches() {
  awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }' \
    /proc/"$1"/status 2>/dev/null
}

# cell KIND OPTIONS...: one cell (runs measurements, median): prints
# "wakeups/s preempted/s RSS-MB", or "fail".
cell() {
  local kind=$1 i a b rss w=() p=() r=()
  shift
  for ((i = 0; i < runs; i++)); do
    pasta_launch "$kind" "$kind" "$tmp/pasta.log" --config-net "$@" || {
      echo fail
      return
    }
    sleep "$warm"
    a=$(switches "$ppid")
    sleep "$secs"
    b=$(switches "$ppid")
    rss=$(awk '/^VmRSS:/ { print $2 }' /proc/"$ppid"/status 2>/dev/null)
    pasta_stop
    [ -n "$a" ] && [ -n "$b" ] && [ -n "$rss" ] || {
      echo fail
      return
    }
    read -r av an <<<"$a"
    read -r bv bn <<<"$b"
    w+=("$(awk -v a="$av" -v b="$bv" -v s="$secs" 'BEGIN { printf "%.1f", (b - a) / s }')")
    p+=("$(awk -v a="$an" -v b="$bn" -v s="$secs" 'BEGIN { printf "%.1f", (b - a) / s }')")
    r+=("$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')")
  done
  echo "$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${p[@]}" | median)" \
    "$(printf '%s\n' "${r[@]}" | median)"
}

printf '%-6s %-34s %10s %12s %7s\n' row options wakeups/s preempted/s RSS-MB
for kind in $rows; do
  case $kind in
    ours) ;;
    B) [ -x "$ours_b" ] || { printf '%-6s skipped: no %s\n' B "PASTA_B=$ours_b"; continue; } ;;
    deb13) [ -x "$trixie/usr/bin/pasta" ] || { printf '%-6s skipped: no %s/usr/bin/pasta\n' deb13 "$trixie"; continue; } ;;
    deb12) [ -x "$deb12" ] || { printf '%-6s skipped: no %s\n' deb12 "$deb12"; continue; } ;;
    *) echo "unknown row $kind (ours B deb13 deb12)" >&2; exit 2 ;;
  esac
  for opts in "-t none -u none -T none -U none" ""; do
    # shellcheck disable=SC2086  # the options are words
    read -r wake pre rss < <(cell "$kind" $opts)
    printf '%-6s %-34s %10s %12s %7s\n' "$kind" "${opts:-(defaults: auto forwarding)}" \
      "$wake" "${pre:-}" "${rss:-}"
    what=auto
    [ -n "$opts" ] && what=podman
    bench_tsv "idle-$what-wake" "$kind" "$wake" /s
    bench_tsv "idle-$what-rss" "$kind" "${rss:-fail}" MB
  done
done
