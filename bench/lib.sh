# shellcheck shell=bash
# Shared by bench/tcp.sh, splice.sh and idle.sh (source it after
# scripts/lab-env.sh; needs root): each row's pasta started as nobody in the
# lab's host netns and stopped again, one-shot iperf3 transfers with the CPU
# the pasta process spends per GB, medians and number formatting.
#
# The caller sets, before calling these: runs and secs (runs per cell,
# seconds per run), tmp (scratch directory, the private tun node at
# $tmp/tun), h (the lab's host netns), life (no pasta or server outlives
# it, seconds), hz (clock ticks per second), ours / trixie / deb12 (the
# three pastas; ours_b, art: more of ours, where a script runs them), the state wpid cpid ppid ipid clpid rc res (empty), and
# for iperf_once: srv_in (the command prefix that puts the iperf3 server
# where it runs, an array), srv_addr (where the client connects), srv_bind
# (the server's -B; empty: srv_addr), iperf_port, in_ns (the command prefix
# that puts the client where it runs, an array).
# shellcheck disable=SC2034,SC2154  # globals of the caller (see above)

# bench_need CMD...: installs CMD... (package name = command name) with
# apt-get if any is missing.
bench_need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null && continue
    timeout 300 apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q "$@" >/dev/null
    command -v "$c" >/dev/null || { echo "$c missing and not installable" >&2; exit 1; }
  done
}

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

# bench_stop: the first half of a benchmark's cleanup: the pasta, a client
# still running when we were stopped (KILL, as iperf3 takes its time over
# SIGTERM: it tries to tell the server), the iperf3 server.
bench_stop() {
  pasta_stop
  local p
  if [ -n "$clpid" ]; then
    p=$(descendants $clpid)
    kill -KILL $clpid $p 2>/dev/null
    wait $clpid 2>/dev/null
  fi
  if [ -n "$ipid" ]; then
    kill "$ipid" 2>/dev/null
    wait "$ipid" 2>/dev/null
  fi
}

# bench_tsv PATH ROW VALUE UNIT [CPU]: with BENCH_TSV set (a file name),
# appends the line "PATH<TAB>ROW<TAB>VALUE<TAB>UNIT<TAB>CPU" to it (CPU:
# CPU-s/GB of the pasta process, "-" where not measured), the
# machine-readable output bench/compare.sh collects; nothing otherwise.
bench_tsv() {
  [ -n "${BENCH_TSV:-}" ] || return 0
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:--}" >>"$BENCH_TSV"
}

# The script that puts a command as nobody into the trixie root (sh -c
# "$bench_pivot" sh ROOT TUN CMD..., in `ip netns exec`'s private mount
# namespace): the kernel refuses CLONE_NEWUSER to a chrooted process
# (EPERM: "Couldn't create user namespace"), so the root becomes the root of
# that mount namespace with pivot_root instead, after the tun node is
# bind-mounted at its /dev/net/tun (on a tmpfs: nothing is left in the root)
# and a /proc is mounted (pasta re-executes itself through /proc/self/exe
# and opens namespaces there).
# shellcheck disable=SC2016  # expanded by that sh, not here
bench_pivot='
  r=$1 tun=$2
  shift 2
  mount --rbind "$r" "$r" &&
    mount -t tmpfs -o mode=755 none "$r/dev/net" &&
    : >"$r/dev/net/tun" && mount --bind "$tun" "$r/dev/net/tun" &&
    mount -t proc proc "$r/proc" &&
    cd "$r" && pivot_root . mnt && umount -l /mnt &&
    exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"'

# bench_bin KIND: the pasta binary of KIND (ours, B, art, deb12; deb13: the
# name inside the trixie root).
bench_bin() {
  case $1 in
    ours) echo "$ours" ;;
    B) echo "$ours_b" ;;
    art) echo "$art" ;;
    deb12) echo "$deb12" ;;
    deb13) echo pasta ;;
  esac
}

# bench_present KIND: whether KIND's pasta is there to run.
bench_present() {
  case $1 in
    deb13) [ -x "$trixie/usr/bin/pasta" ] ;;
    *) local b
      b=$(bench_bin "$1")
      [ -n "$b" ] && [ -x "$b" ] ;;
  esac
}

# bench_as_nobody KIND CMD...: runs CMD (in the foreground) as nobody in the
# lab's host netns $h with the private tun node, in the host's root, or for
# KIND deb13 in the trixie root (where CMD runs that root's programs).
bench_as_nobody() {
  local kind=$1
  shift
  if [ "$kind" = deb13 ]; then
    mkdir -p "$trixie/dev/net" "$trixie/mnt"
    ip netns exec "$h" sh -c "$bench_pivot" sh "$trixie" "$tmp/tun" "$@"
  else
    ip netns exec "$h" sh -c 'mount --bind "$0" /dev/net/tun &&
      exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' "$tmp/tun" "$@"
  fi
}

# pasta_launch KIND LABEL LOG OPT...: starts KIND's pasta (ours, B, art,
# deb12, deb13) as nobody in the host netns with `OPT... -- sleep`, output in LOG,
# and waits (10 s at most) for its namespace to have its default route.
# Sets wpid (the wrapper we started), ppid (pasta) and cpid (its command).
# Fails, saying so with LABEL and the end of LOG, if it does not come up.
pasta_launch() {
  local kind=$1 label=$2 log=$3 i
  shift 3
  case $kind in
    ours | B | deb12 | art)
      local bin
      bin=$(bench_bin "$kind")
      # lab_as_nobody, spelled out: a shell function started with & runs in
      # a subshell, and $! would be that subshell, not the pasta chain.
      ip netns exec "$h" sh -c 'mount --bind "$0" /dev/net/tun &&
        exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' \
        "$tmp/tun" timeout "$life" "$bin" "$@" -- sleep "$life" \
        </dev/null >"$log" 2>&1 &
      ;;
    deb13)
      # In the trixie root ($bench_pivot).
      mkdir -p "$trixie/dev/net" "$trixie/mnt"
      ip netns exec "$h" sh -c "$bench_pivot" \
        sh "$trixie" "$tmp/tun" timeout "$life" pasta "$@" -- sleep "$life" \
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
  echo "  $label did not come up; its log:" >&2
  sed 's/^/    /' "$log" | tail -n 5 >&2
  pasta_stop
  return 1
}

# client LIMIT CMD...: runs CMD where the current row's clients run (in_ns),
# for at most LIMIT seconds, output in $tmp/client.out; sets rc (124: timed
# out). In the background plus `wait`, not in $(...): bash runs a TERM/INT
# trap at once during `wait`, but not while it reads a command substitution
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

# iperf_once REV: one iperf3 transfer (REV: "" or -R) from a fresh one-shot
# server (-1, so a client that stalled cannot leave it wedged for the next
# one); sets res to "GBITS CPU_S_PER_GB" (CPU "-" without a pasta), or to
# fail / stall.
iperf_once() {
  local rev=$1 c0='' c1='' i
  "${srv_in[@]}" timeout $((secs + 30)) iperf3 -s -1 -B "${srv_bind:-$srv_addr}" -p $iperf_port \
    >/dev/null 2>&1 &
  ipid=$!
  for ((i = 0; i < 50; i++)); do
    [ -n "$(timeout 2 "${srv_in[@]}" ss -Hltn "sport = :$iperf_port")" ] && break
    sleep 0.05
  done
  [ -n "$ppid" ] && c0=$(cpu_ticks "$ppid")
  client $((secs + 15)) iperf3 -c "$srv_addr" -p $iperf_port -t "$secs" \
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

# version_of KIND: the version line of KIND's pasta.
version_of() {
  case $1 in
    ours) echo "$ours, $(timeout 5 "$ours" --version 2>&1 | head -n 1)" ;;
    art) echo "$art, $(timeout 5 "$art" --version 2>&1 | head -n 1)" ;;
    B) echo "$ours_b, $(timeout 5 "$ours_b" --version 2>&1 | head -n 1)" ;;
    deb12) dpkg-query -W -f='${Version}' passt 2>/dev/null ;;
    deb13) chroot "$trixie" dpkg-query -W -f='${Version}' passt 2>/dev/null ;;
  esac
}

# bench_cleanup: the pasta, clients and servers (bench_stop), the lab's
# two namespaces ($h, $s) and the scratch directory ($tmp).
bench_cleanup() {
  bench_stop
  ip netns del "$h" 2>/dev/null
  ip netns del "$s" 2>/dev/null
  rm -rf "$tmp"
}

# bench_lab: makes the lab (the private tun node in $tmp, host netns $h
# joined to server netns $s) with bench_cleanup to run at exit, or exits.
bench_lab() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  lab_private_tun "$tmp" || exit 1
  lab_create "$h" "$s" || exit 1
}
