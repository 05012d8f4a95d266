#!/usr/bin/env bash
# One run of every end-to-end benchmark, side by side: for each path, the
# limit (a plain veth or loopback, or a bare `unshare -Urn true` for
# start-up), ours, optionally a second build of ours (column B: before and
# after from the same command), Debian 13's pasta and Debian 12's, with
# each pasta's ratio to the limit and the CPU its process spends per GB
# moved, printed as one Markdown table (dated, with the commit of ours and
# the versions of the others) on stdout, ready for README.md's Benchmarks
# section. The scripts it runs (their own output goes to stderr and to
# OUT/NAME.log; their bench_tsv lines to OUT/results.tsv; the table to
# OUT/table.md too):
#   tcp     bench/tcp.sh: TCP namespace -> server and back, IPv4 and IPv6, at
#           MTU 65520 and -m 1500 (iperf3); TCP and UDP request-response
#           round trips (sockperf ping-pong, IPv4)
#   splice  bench/splice.sh: -t and -T between the loopbacks, both ways
#   ping    bench/ping.sh: ICMP echo, IPv4 and IPv6 (SECS x 500 pings)
#   udp     bench/udp.sh: UDP namespace -> server, iperf3 and iperf 2, at
#           full rate and offered at the rate the veth received
#   startup bench/startup.sh: `pasta --config-net -- true`, RUNS x 15 runs
#   idle    bench/idle.sh: an idle pasta's wake-ups per second and RSS
#   passt   bench/passt.sh: passt mode, TCP guest -> server and back
#           (iperf3; the guest a netns on a tap bridged to passt's socket)
# Each pasta runs as nobody inside the lab's namespaces only (the scripts
# say how). A pasta that is not there (Debian 13's: no root from
# bench/trixie-root.sh; Debian 12's: no package passt) is "absent" in its
# column; a cell whose run failed says fail (stall: ran into its timeout);
# "-": not measured (sockperf 3.7 has no IPv6, so no IPv6 round trips).
#
# Usage: bench/compare.sh   (about half an hour at the defaults; 4 minutes
#   at RUNS=1 SECS=1, which checks the machinery, not the numbers)
#   RUNS=3   runs per cell (median)      SECS=4  seconds per run
#   ONLY="tcp splice ping udp startup idle passt"  the scripts to run
#   PASTA=our binary (default build/src/pasta)
#   PASTA_B=a second binary of ours, shown as column B
#   TRIXIE_ROOT=Debian 13's root (default /srv/trixie; if it has no pasta,
#     the root of scripts/podman-root.sh, which has the same one)
#   OUT=directory for the logs and results.tsv (default: a new one in /tmp)
# Needs root (the labs).
set -u
cd "$(dirname "$0")/.." || exit 1
runs=${RUNS:-3}
secs=${SECS:-4}
only=${ONLY:-tcp splice ping udp startup idle passt}
ours=${PASTA:-$PWD/${BUILD_DIR:-build}/src/pasta}
ours_b=${PASTA_B:-}
cache=${PASTA_CACHE:-/srv}
trixie=${TRIXIE_ROOT:-$cache/trixie}
if [ -z "${TRIXIE_ROOT:-}" ] && [ ! -x "$trixie/usr/bin/pasta" ] &&
  [ -x "$cache/podman-root/usr/bin/pasta" ]; then
  trixie=$cache/podman-root
fi
deb12=/usr/bin/pasta
[[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/compare.sh (RUNS, SECS, ONLY, PASTA, PASTA_B, TRIXIE_ROOT, OUT in the environment)" >&2
  exit 2
}
for g in $only; do
  case $g in
    tcp | splice | ping | udp | startup | idle | passt) ;;
    *) echo "unknown ONLY entry $g (tcp splice ping udp startup idle passt)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -x "$ours" ] || { echo "no pasta of ours at $ours: build first (scripts/build.sh) or set PASTA" >&2; exit 1; }
if [ -n "$ours_b" ] && [ ! -x "$ours_b" ]; then
  echo "PASTA_B=$ours_b is not an executable" >&2
  exit 1
fi
ours=$(realpath "$ours")
[ -n "$ours_b" ] && ours_b=$(realpath "$ours_b")
out=${OUT:-$(mktemp -d /tmp/pasta-compare.XXXXXX)}
mkdir -p "$out" || exit 1
tsv=$out/results.tsv
: >"$tsv"
# Stop at ^C (each script cleans up its lab on the way out), rather than go
# on with the next script.
trap 'exit 130' INT TERM

# The columns: kinds of pasta, and whether each is there.
kinds="ours"
[ -n "$ours_b" ] && kinds+=" B"
kinds+=" deb13 deb12"
absent=''
[ -x "$trixie/usr/bin/pasta" ] || absent+=" deb13"
[ -x "$deb12" ] || absent+=" deb12"

# describe BIN: "`BIN` at COMMIT" (the commit checked out in the git work
# tree BIN sits in, "+ uncommitted changes" if it has some: the build's
# own only if it was built from that), or "`BIN`" outside one.
describe() {
  local d top c
  d=$(dirname "$1")
  if top=$(git -C "$d" rev-parse --show-toplevel 2>/dev/null); then
    c=$(git -C "$top" rev-parse --short HEAD)
    git -C "$top" diff --quiet HEAD -- 2>/dev/null || c+=" + uncommitted changes"
    echo "\`${1#"$PWD"/}\` at $c"
  else
    echo "\`$1\` (commit unknown: not in a git work tree)"
  fi
}

# run NAME SCRIPT ARGS...: runs one script with the shared settings; its
# output to stderr and OUT/NAME.log.
run() {
  local name=$1
  shift
  echo "== $name: $*" >&2
  env BENCH_TSV="$tsv" PASTA="$ours" PASTA_B="$ours_b" TRIXIE_ROOT="$trixie" "$@" 2>&1 |
    tee "$out/$name.log" >&2
  [ "${PIPESTATUS[0]}" = 0 ] || echo "== $name: exited with ${PIPESTATUS[0]} (its cells are missing)" >&2
}

start=$SECONDS
date=$(date -u '+%Y-%m-%d %H:%M UTC')
rows_p="ours"
[ -n "$ours_b" ] && rows_p+=" B"
rows_p+=" deb13 deb12"
ping_count=$((secs * 500))
startup_runs=$((runs * 15))
idle_secs=$((secs >= 4 ? 10 : secs))
for g in $only; do
  case $g in
    tcp) run tcp env ROWS="veth $rows_p" FAMS="4 6" RR="tcp udp" MTUS="65520 1500" SECS="$secs" \
      bench/tcp.sh "$runs" ;;
    splice) run splice env ROWS="loopback $rows_p" PATHS="-t -T" SECS="$secs" bench/splice.sh "$runs" ;;
    ping) run ping env ROWS="veth $rows_p" FAMS="4 6" bench/ping.sh "$ping_count" ;;
    udp) run udp env ROWS="veth $rows_p" TOOLS="iperf3 iperf" RATES="full veth" RUNS="$runs" \
      bench/udp.sh "$secs" ;;
    startup) run startup env ROWS="unshare $rows_p" bench/startup.sh "$startup_runs" ;;
    idle) run idle env ROWS="$rows_p" SECS="$idle_secs" bench/idle.sh 1 ;;
    passt) run passt env ROWS="$rows_p" SECS="$secs" bench/passt.sh "$runs" ;;
  esac
done
took=$((SECONDS - start))

# The heading and the table, on stdout and in OUT/table.md.
{
  # The heading: when, what, which versions.
  v_ours=$(describe "$ours")
  v_b=''
  [ -n "$ours_b" ] && v_b="; B: $(describe "$ours_b")"
  if [[ " $absent " == *" deb13 "* ]]; then
    v13="absent (no $trixie/usr/bin/pasta: bench/trixie-root.sh)"
  else
    # shellcheck disable=SC2016  # dpkg-query's format, not ours
    v13="passt $(chroot "$trixie" dpkg-query -W -f='${Version}' passt 2>/dev/null) (root $trixie)"
  fi
  if [[ " $absent " == *" deb12 "* ]]; then
    v12="absent (no $deb12: apt-get install passt)"
  else
    # shellcheck disable=SC2016  # dpkg-query's format, not ours
    v12="passt $(dpkg-query -W -f='${Version}' passt 2>/dev/null)"
  fi
  echo
  cmd="RUNS=$runs SECS=$secs"
  [ -n "${ONLY:-}" ] && cmd+=" ONLY=\"$only\""
  [ -n "$ours_b" ] && cmd+=" PASTA_B=..."
  echo "$date, \`$cmd bench/compare.sh\` ($(nproc) cores, ${took} s)." \
    "Ours: $v_ours$v_b; Debian 13's pasta: $v13; Debian 12's: $v12." \
    "Medians of $runs run(s) of ${secs} s (start-up: of $startup_runs runs; ICMP: $ping_count pings" \
    "at 2 ms); (0.69x): the pasta's figure over the limit's, in the same run; CPU-s/GB:" \
    "user+system CPU time of the pasta process per GB received."
  echo

  # The table, from results.tsv.
  awk -F'\t' -v kinds="$kinds" -v absent="$absent" -v secs="$secs" -v srun="$startup_runs" '
  function gfmt(v) {
    if (v !~ /^[0-9.e+-]+$/) return v
    return sprintf(v >= 10 ? "%.1f" : v >= 1 ? "%.2f" : "%.3f", v)
  }
  function num(v, unit) {
    if (v !~ /^[0-9.e+-]+$/) return v
    if (unit == "Gbit/s") return gfmt(v) " Gbit/s"
    if (unit == "us" || unit == "ms" || unit == "MB") return sprintf("%.1f %s", v, unit)
    if (unit == "%") return sprintf(v < 10 ? "%.1f %%" : "%.0f %%", v)
    if (unit == "/s") return sprintf("%.1f/s", v)
    return v " " unit
  }
  function ratio(v, l) {
    if (v !~ /^[0-9.e+-]+$/ || l !~ /^[0-9.e+-]+$/ || l + 0 == 0) return ""
    return sprintf(v / l >= 10 ? " (%.1fx)" : v / l >= 0.1 ? " (%.2fx)" : " (%.3fx)", v / l)
  }
  function cpu(p, k) {
    c = C[p, k]
    return (c != "" && c != "-" && c ~ /^[0-9.]+$/) ? ", " c " CPU-s/GB" : ""
  }
  # cell P K LIM: one cell of path P for kind K against kind LIM ("" for none).
  function cell(p, k, lim,   v, s) {
    if ((p, k) in V) {
      v = V[p, k]
      s = num(v, U[p])
      # Loss: always for UDP, for ICMP only where there was some.
      if ((p ":lost", k) in V && (p !~ /^icmp/ || V[p ":lost", k] + 0 > 0))
        s = s ", " num(V[p ":lost", k], "%") " lost"
      if (k != lim && lim != "") s = s ratio(v, V[p, lim])
      return s cpu(p, k)
    }
    if (index(" " absent " ", " " k " ")) return "absent"
    return "-"
  }
  # row LABEL P LIM: one table row.
  function row(label, p, lim,   line, n, i) {
    for (i = 1; i <= nk; i++) if ((p, K[i]) in V) break
    if (i > nk && !((p, lim) in V)) return
    line = "| " label " | " (lim == "" ? "" : cell(p, lim, "") (limname[lim] ? " (" limname[lim] ")" : ""))
    for (i = 1; i <= nk; i++) line = line " | " cell(p, K[i], lim)
    print line " |"
  }
  # idle LABEL WHAT: wake-ups and RSS in one cell.
  function idle(label, w,   line, i, k) {
    for (i = 1; i <= nk; i++) if (("idle-" w "-wake", K[i]) in V) break
    if (i > nk) return
    line = "| " label " | "
    for (i = 1; i <= nk; i++) {
      k = K[i]
      if (("idle-" w "-wake", k) in V)
        line = line " | " num(V["idle-" w "-wake", k], "/s") ", " num(V["idle-" w "-rss", k], "MB")
      else
        line = line " | " (index(" " absent " ", " " k " ") ? "absent" : "-")
    }
    print line " |"
  }
  { V[$1, $2] = $3; U[$1] = $4; C[$1, $2] = $5 }
  END {
    nk = split(kinds, K, " ")
    limname["veth"] = ""; limname["loopback"] = "loopback"; limname["unshare"] = "`unshare -Urn true`"
    head = "| path | limit"
    sep = "|---|---"
    for (i = 1; i <= nk; i++) {
      head = head " | " (K[i] == "ours" ? "ours" : K[i] == "B" ? "B" : K[i] == "deb13" ? "Debian 13 pasta" : "Debian 12 pasta")
      sep = sep "|---"
    }
    print head " |"
    print sep "|"
    row("TCP namespace -> server, IPv4", "tcp4-up-65520", "veth")
    row("TCP namespace -> server, IPv6", "tcp6-up-65520", "veth")
    row("TCP namespace -> server, IPv4, `-m 1500`", "tcp4-up-1500", "veth")
    row("TCP namespace -> server, IPv6, `-m 1500`", "tcp6-up-1500", "veth")
    row("TCP server -> namespace, IPv4", "tcp4-down-65520", "veth")
    row("TCP server -> namespace, IPv6", "tcp6-down-65520", "veth")
    row("TCP server -> namespace, IPv4, `-m 1500`", "tcp4-down-1500", "veth")
    row("TCP server -> namespace, IPv6, `-m 1500`", "tcp6-down-1500", "veth")
    row("`-t` splice, host loopback -> namespace", "splice-t-cs", "loopback")
    row("`-t` splice, namespace -> host loopback (iperf3 -R)", "splice-t-sc", "loopback")
    row("`-T` splice, namespace loopback -> host", "splice-T-cs", "loopback")
    row("`-T` splice, host -> namespace loopback (iperf3 -R)", "splice-T-sc", "loopback")
    row("TCP request-response, average round trip (sockperf, 64 B)", "rr-tcp-65520", "veth")
    row("UDP request-response, average round trip (sockperf, 64 B)", "rr-udp-65520", "veth")
    row("ICMP echo, IPv4, average round trip", "icmp4", "veth")
    row("ICMP echo, IPv6, average round trip", "icmp6", "veth")
    row("UDP namespace -> server at full rate, iperf3, received", "udp-iperf3-full", "veth")
    row("UDP namespace -> server at full rate, iperf 2, received", "udp-iperf-full", "veth")
    o = V["udp-iperf3-veth:offered", "veth"]
    row("UDP offered at the veth'"'"'s received rate" (o != "" ? " (" gfmt(o) " Gbit/s)" : "") ", iperf3", "udp-iperf3-veth", "veth")
    o = V["udp-iperf-veth:offered", "veth"]
    row("UDP offered at the veth'"'"'s received rate" (o != "" ? " (" gfmt(o) " Gbit/s)" : "") ", iperf 2", "udp-iperf-veth", "veth")
    row("start-up, `--config-net -- true`, median of " srun, "startup", "unshare")
    idle("idle: wake-ups, RSS; podman'"'"'s `-t none -u none -T none -U none`", "podman")
    idle("idle: wake-ups, RSS; defaults (`auto` forwarding)", "auto")
    row("passt mode: TCP guest -> server (a netns on a tap bridged to the socket)", "passt-up", "")
    row("passt mode: TCP server -> guest (iperf3 -R)", "passt-down", "")
  }' "$tsv"
} | tee "$out/table.md"
echo
echo "logs, results.tsv and table.md: $out" >&2
