#!/usr/bin/env bash
# --freebind: -t and -u listen on addresses the host doesn't have yet.
# Without it pasta refuses to start (one line: EADDRNOTAVAIL); with it
# pasta starts with its listener on that address, and once the address is
# added to the host netns a client in the server netns reaches the
# namespace's server through it (TCP, IPv4 and IPv6, bytes intact) and its
# datagrams are echoed (UDP).
#
# pasta runs in the host netns attached (--netns) to a third namespace, the
# "target", as in forward.sh.
. "$(dirname "$0")/lib.sh"
lab_up
MIB=10
. "$(dirname "$0")/forward_lib.sh"

SPECS=(-t 198.51.100.77/8080 -t 2001:db8:1::77/8081 -u 198.51.100.77/5353)

# refused_without: pasta without --freebind exits with status 1 and one
# line saying why it could not bind (the first listener it opens).
refused_without() {
  local out rc
  ip netns add "$TARGET" || return 1
  out=$(in_host timeout 10 "$PASTA" --config-net -f --netns "$TARGET" "${SPECS[@]}" 2>&1)
  rc=$?
  ip netns del "$TARGET"
  if [ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "Cannot assign requested address" <<<"$out"; then
    echo "   $out"
    return 0
  fi
  echo "  exit status $rc; expected one line with EADDRNOTAVAIL; got: $out" >&2
  return 1
}
check "without --freebind: an address the host lacks is refused in one line" refused_without

# echoed ADDR: UDP datagrams from the server netns to ADDR port 5353 come back.
echoed() {
  local out
  out=$(server timeout "$(limit 30)" "${UDP_TOOL[@]}" client "$1" 5353 50 2>&1) || {
    echo "  $out" >&2
    return 1
  }
  echo "   $out"
}

if pasta_up --freebind "${SPECS[@]}" && serve target 0.0.0.0,:: 8080,8081; then
  ip netns exec "$TARGET" timeout "$(limit 60)" "${UDP_TOOL[@]}" echo 198.51.100.2 5353 50 >/dev/null &
  LAB_PIDS+=("$!")
  check "--freebind: pasta listens on 198.51.100.77:8080, which the host lacks" \
    contains "$(in_host ss -Hltn 'sport = :8080')" "198.51.100.77:8080"
  ip -n "$HOST_NS" addr add 198.51.100.77/24 dev eth0
  ip -n "$HOST_NS" addr add 2001:db8:1::77/64 dev eth0 nodad
  check "--freebind, IPv4: once added, 198.51.100.77:8080 reaches the namespace's server" \
    answers server 198.51.100.77 8080:8080
  check "--freebind, IPv4: $MIB MiB through the added address intact" \
    moved get server 198.51.100.77 8080
  check "--freebind, IPv6: once added, [2001:db8:1::77]:8081 reaches the namespace's server" \
    answers server 2001:db8:1::77 8081:8081
  check "--freebind, IPv6: $MIB MiB through the added address intact" \
    moved put server 2001:db8:1::77 8081
  check "--freebind, UDP: datagrams to the added address are echoed by the namespace" \
    echoed 198.51.100.77
else
  check "--freebind: pasta and the namespace's server came up" false
fi
unserve_all
pasta_down

lab_finish
