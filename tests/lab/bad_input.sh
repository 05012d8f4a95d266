#!/usr/bin/env bash
# Bad input: one clear line on stderr, a non-zero exit, nothing left behind.
. "$(dirname "$0")/lib.sh"
lab_up

# Only what this test made counts (other lab tests may run alongside).
before_ns=$(ip netns list | grep -F "$LAB_ID" | sort)
# bad WHAT EXPECTED ARGS...: pasta ARGS fails with one line containing
# EXPECTED.
bad() {
  local what=$1 expected=$2
  shift 2
  local err rc
  err=$(in_host timeout 20 "$PASTA" "$@" 2>&1 >/dev/null)
  rc=$?
  check "$what: non-zero exit" test $rc != 0 -a $rc != 124
  check "$what: exactly one line" test "$(printf '%s\n' "$err" | grep -c .)" = 1
  check "$what: says what is wrong" contains "$err" "$expected"
  echo "   [$what] $err"
}
bad "--bogus" "unrecognized option '--bogus'" --bogus
bad "-m abc" "-m abc: invalid MTU" -m abc
bad "-m 40" "-m 40: invalid MTU" -m 40
bad "-m 70000" "-m 70000: invalid MTU" -m 70000
bad "--netns /nonexistent" "--netns /nonexistent: No such file or directory" --netns /nonexistent
bad "--netns NAME missing" "/run/netns/${LAB_ID}nosuch" --netns "${LAB_ID}nosuch"
bad "no such PID" "no such process: 999999999" 999999999
bad "-i nosuchif" "-i nosuchif: no such interface" --config-net -i nosuchif -- true
bad "-a of the wrong family" "-a" -4 --config-net -a 2001:db8::5 -- true
bad "-t reversed range" "-t 80-22" -t 80-22 -- true
bad "a regular file as --netns" "not a network namespace" --netns /etc/hostname
bad "conflicting -4 and -6" "mutually exclusive" -4 -6 -- true
bad "-P in a missing directory" "-P /nonexistent/dir/pid: No such file or directory" \
  --config-net -P /nonexistent/dir/pid -- true

check "no process left behind" test -z "$(ip netns pids "$HOST_NS")"
check "no netns left behind" test "$(ip netns list | grep -F "$LAB_ID" | sort)" = "$before_ns"
out=$(in_host ip -br link)
check "no tap left in the host netns" test "$(grep -c . <<<"$out")" = 2
lab_finish
