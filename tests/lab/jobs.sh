# Shared by soak.sh and faults.sh (source it after lib.sh): bounded runs of
# stress_tool.py in the lab's namespaces. The caller sets TOOL (the tool's
# command line) and BUDGET_END (in $SECONDS) first: every command gets at
# most what is left of that budget, so a hang costs its own checks, not the
# report.

# limit SECONDS: SECONDS, or what is left of the budget (at least 5).
limit() {
  local left=$((BUDGET_END - SECONDS))
  if ((left < 5)); then left=5; fi
  if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

# at NETNS COMMAND...: COMMAND in NETNS.
at() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# job NAME NETNS SECONDS ARGS...: stress_tool.py ARGS in NETNS in the
# background, bounded to SECONDS; output in $LAB_TMP/NAME.out.
declare -A JOB
job() {
  local name=$1 ns=$2 t
  t=$(limit "$3")
  shift 3
  # Not through at(): $! must be timeout itself (ip netns exec execs it).
  ip netns exec "$ns" timeout "$t" "${TOOL[@]}" "$@" >"$LAB_TMP/$name.out" 2>&1 &
  JOB[$name]=$!
  LAB_PIDS+=($!)
}
# finished NAME: waits for job NAME; true if it exited 0. Prints its output.
finished() {
  local rc
  wait "${JOB[$1]}"
  rc=$?
  sed 's/^/   /' "$LAB_TMP/$1.out"
  [ $rc = 0 ] && return 0
  echo "  $1: exit status $rc" >&2
  return 1
}
# tool NETNS SECONDS ARGS...: stress_tool.py ARGS in NETNS, in the
# foreground; prints its output; its status.
tool() {
  local ns=$1 t out rc
  t=$(limit "$2")
  shift 2
  out=$(ip netns exec "$ns" timeout "$t" "${TOOL[@]}" "$@" 2>&1)
  rc=$?
  sed 's/^/   /' <<<"$out"
  return $rc
}

