#!/usr/bin/env bash
# Port forwarding, IPv4 and IPv6: -t from the host's loopback (spliced) and
# from the server netns (over the tap), 100 MiB each way intact; -T from the
# namespace's loopback to the host's, with half-close; -t auto follows the
# namespace's listeners within 2.5 s both ways, -T auto the host's; remapped
# ranges, exclusions, a bind address and `none`; -u echoes datagrams; -U 53
# is accepted; bad specs fail at once with one line naming them.
#
# pasta runs in the host netns attached (--netns) to a third namespace, the
# "target", where the test starts and stops servers at will.
. "$(dirname "$0")/lib.sh"
lab_up
# The file: $MIB MiB of random bytes ($FORWARD_MIB MiB where given: the
# old-kernel run on the emulated arm64 machine moves less).
MIB=${FORWARD_MIB:-100}
. "$(dirname "$0")/forward_lib.sh"

# 1. -t 8080: a server in the namespace; the host's loopback reaches it
# spliced, the server netns through the tap.
if pasta_up -t 8080 && serve target 0.0.0.0,:: 8080; then
  check "-t 8080, IPv4: from the host's loopback, spliced to the namespace's address" \
    came_via spliced host 127.0.0.1 8080
  check "-t 8080, IPv6: from the host's loopback, spliced to the namespace's address" \
    came_via spliced host ::1 8080
  check "-t 8080, IPv4: from the server netns, through the tap" \
    came_via tap server 198.51.100.2 8080
  check "-t 8080, IPv6: from the server netns, through the tap" \
    came_via tap server 2001:db8:1::2 8080
  # From the host netns to its own address, which the namespace's address
  # copies: through the tap, shown as the gateway (IPv4) and as our
  # link-local address (IPv6; the gateway here is global, so the one of
  # the host interface's MAC), as upstream; the namespace would drop its
  # own address as a source.
  ll=$(ip -n "$HOST_NS" -6 -o addr show dev eth0 scope link | awk '{print $4}')
  check "-t 8080, IPv4: from the host netns to its own address, shown as the gateway" \
    came_from host 198.51.100.2 8080 198.51.100.1
  check "-t 8080, IPv6: from the host netns to its own address, shown as our link-local address" \
    came_from host 2001:db8:1::2 8080 "${ll%/*}"
  check "-t 8080, IPv4: $MIB MiB from the namespace to the host netns at its own address intact" \
    moved get host 198.51.100.2 8080
  check "-t 8080, IPv6: $MIB MiB from the host netns at its own address to the namespace intact" \
    moved put host 2001:db8:1::2 8080
  check "-t 8080, IPv4, spliced: $MIB MiB from the namespace to the host's loopback intact" \
    moved get host 127.0.0.1 8080
  check "-t 8080, IPv4, spliced: $MIB MiB from the host's loopback to the namespace intact" \
    moved put host 127.0.0.1 8080
  check "-t 8080, IPv6, spliced: $MIB MiB from the namespace to the host's loopback intact" \
    moved get host ::1 8080
  check "-t 8080, IPv6, spliced: $MIB MiB from the host's loopback to the namespace intact" \
    moved put host ::1 8080
  check "-t 8080, IPv4, tap: $MIB MiB from the namespace to the server netns intact" \
    moved get server 198.51.100.2 8080
  check "-t 8080, IPv4, tap: $MIB MiB from the server netns to the namespace intact" \
    moved put server 198.51.100.2 8080
  check "-t 8080, IPv6, tap: $MIB MiB from the namespace to the server netns intact" \
    moved get server 2001:db8:1::2 8080
  check "-t 8080, IPv6, tap: $MIB MiB from the server netns to the namespace intact" \
    moved put server 2001:db8:1::2 8080
else
  check "-t 8080: pasta and the namespace's server came up" false
fi
unserve
pasta_down

# 1b. A server on the namespace's loopback only is not published by -t
# (as upstream since 2024), unless --host-lo-to-ns-lo.
if pasta_up -t 8090 && serve target 127.0.0.1 8090; then
  # pasta accepts, then its connect in the namespace is refused: a reset
  # (seen by the client while connecting or right after).
  check "-t 8090: a server on the namespace's loopback only is not reached" \
    not_reached host 127.0.0.1 8090
else
  check "-t 8090: pasta and the namespace's server came up" false
fi
unserve
pasta_down
if pasta_up -t 8090 --host-lo-to-ns-lo && serve target 127.0.0.1,::1 8090; then
  check "--host-lo-to-ns-lo, IPv4: spliced to the namespace's loopback" \
    came_via spliced-lo host 127.0.0.1 8090
  check "--host-lo-to-ns-lo, IPv6: spliced to the namespace's loopback" \
    came_via spliced-lo host ::1 8090
else
  check "--host-lo-to-ns-lo: pasta and the namespace's server came up" false
fi
unserve
pasta_down

# 2. -T 5432: a server on the host netns' loopback, reached from the
# namespace's loopback; uploads are half-closed before the answer comes.
if serve host 127.0.0.1,::1 5432 && pasta_up -T 5432; then
  check "-T 5432, IPv4: $MIB MiB from the host's loopback to the namespace intact" \
    moved get target 127.0.0.1 5432
  check "-T 5432, IPv4: $MIB MiB to the host's loopback intact, half-closed, answer after EOF" \
    moved put target 127.0.0.1 5432
  check "-T 5432, IPv6: $MIB MiB from the host's loopback to the namespace intact" \
    moved get target ::1 5432
  check "-T 5432, IPv6: $MIB MiB to the host's loopback intact, half-closed, answer after EOF" \
    moved put target ::1 5432
else
  check "-T 5432: pasta and the host's server came up" false
fi
pasta_down
unserve

# 3. -t auto: a server started in the namespace after pasta becomes
# reachable within 2.5 s, and is refused within 2.5 s after it stops.
if pasta_up -t auto && serve target 0.0.0.0,:: 8300; then
  check "-t auto, IPv4, spliced: a new server in the namespace reachable within 2.5 s" \
    waits host 127.0.0.1 8300 open 2.5
  check "-t auto, IPv6, spliced: reachable too" waits host ::1 8300 open 1
  check "-t auto, IPv4, tap: reachable from the server netns" waits server 198.51.100.2 8300 open 1
  check "-t auto, IPv6, tap: reachable from the server netns" waits server 2001:db8:1::2 8300 open 1
  unserve
  check "-t auto, IPv4: refused within 2.5 s after the server stopped" \
    waits host 127.0.0.1 8300 refused 2.5
  check "-t auto, IPv6: refused too" waits host ::1 8300 refused 1
else
  check "-t auto: pasta and the namespace's server came up" false
fi
unserve
pasta_down

# 4. -T auto (the default, as is -t auto): a server on the host netns'
# loopback started before pasta is reachable from the namespace's loopback.
if serve host 127.0.0.1,::1 5500 && pasta_up; then
  check "-T auto (default), IPv4: the host's server reachable from the namespace's loopback" \
    waits target 127.0.0.1 5500 open 2.5
  check "-T auto (default), IPv6: the host's server reachable from the namespace's loopback" \
    waits target ::1 5500 open 1
  host_server=$SERVE_PID
  if serve target 0.0.0.0,:: 8310; then
    check "-t auto is the default: a new server in the namespace reachable within 2.5 s" \
      waits host 127.0.0.1 8310 open 2.5
    unserve
    # The scan that closes -t's listener must not hand the port to -T
    # (its table was read with our listener still in it): the namespace's
    # port stays free for the server to come back.
    check "-t auto (default): refused within 2.5 s after the server stopped" \
      waits host 127.0.0.1 8310 refused 2.5
    check "... and -T auto does not take the port in the namespace (2 s)" \
      unbound target 8310 2
  else
    check "-t auto (default): the namespace's server came up" false
    unserve
  fi
  SERVE_PID=$host_server
else
  check "-T auto: pasta and the host's server came up" false
fi
pasta_down
unserve

# -t none: nothing is forwarded, whatever the namespace binds.
if pasta_up -t none && serve target 0.0.0.0,:: 8320; then
  sleep 2.5
  check "-t none: a server in the namespace stays unreachable (refused) after 2.5 s" \
    answers host 127.0.0.1 8320:refused
else
  check "-t none: pasta and the namespace's server came up" false
fi
unserve
pasta_down

# 5. Ranges with offsets: each server answers with the port it was reached on.
if pasta_up -t 9000-9002:9100-9102 && serve target 0.0.0.0,:: 9100,9101,9102; then
  want=(9000:9100 9001:9101 9002:9102 9100:refused)
  check "-t 9000-9002:9100-9102, IPv4, spliced: each port lands on its target" \
    answers host 127.0.0.1 "${want[@]}"
  check "-t 9000-9002:9100-9102, IPv6, spliced: each port lands on its target" \
    answers host ::1 "${want[@]}"
  check "-t 9000-9002:9100-9102, IPv4, tap: each port lands on its target" \
    answers server 198.51.100.2 "${want[@]}"
  check "-t 9000-9002:9100-9102, IPv6, tap: each port lands on its target" \
    answers server 2001:db8:1::2 "${want[@]}"
else
  check "-t 9000-9002:9100-9102: pasta and the namespace's servers came up" false
fi
unserve
pasta_down

# 6. Exclusions: 9202 is not forwarded (refused on the host).
if pasta_up -t 9200-9203,~9202 && serve target 0.0.0.0,:: 9200,9201,9202,9203; then
  want=(9200:9200 9201:9201 9202:refused 9203:9203)
  check "-t 9200-9203,~9202, IPv4, spliced: 9200, 9201, 9203 forwarded, 9202 refused" \
    answers host 127.0.0.1 "${want[@]}"
  check "-t 9200-9203,~9202, IPv6, spliced: 9200, 9201, 9203 forwarded, 9202 refused" \
    answers host ::1 "${want[@]}"
  check "-t 9200-9203,~9202, IPv4, tap: 9200, 9201, 9203 forwarded, 9202 refused" \
    answers server 198.51.100.2 "${want[@]}"
  check "-t 9200-9203,~9202, IPv6, tap: 9200, 9201, 9203 forwarded, 9202 refused" \
    answers server 2001:db8:1::2 "${want[@]}"
else
  check "-t 9200-9203,~9202: pasta and the namespace's servers came up" false
fi
unserve
pasta_down

# An exclusion-only list: every port but those, and but the ephemeral range
# (set here to 1024-65000 in the host netns, so that 1 456 ports are left:
# the default range leaves 37 000, whose 74 000 listeners this machine's
# descriptor limit of 20 000 would refuse).
listening() { # listening t|u NETNS: how many TCP or UDP sockets listen there
  ip netns exec "$(netns "$2")" ss -H -l -n -"$1" | wc -l
}
ip netns exec "$HOST_NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
spec='~900,~65100-65200'
# log_says PATTERN: waits (at most 10 s) for PATTERN in pasta's messages:
# the listeners are opened after the namespace's addresses are set.
log_says() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q -- "$1" "$LAB_TMP/pasta.log" && return 0
    sleep 0.1
  done
  return 1
}
if pasta_up -t "$spec" -u "$spec" && serve target 0.0.0.0,:: 80,900,2000,65150,65300; then
  check "-t $spec: pasta says it opened 2 912 listeners" log_says "-t: 2912 listeners"
  want=(80:80 900:refused 2000:refused 65150:refused 65300:65300)
  check "-t $spec, IPv4, tap: 80 and 65300 forwarded; 900, 65150 (excluded), 2000 (ephemeral) refused" \
    answers server 198.51.100.2 "${want[@]}"
  check "-t $spec, IPv6, spliced: the same" answers host ::1 "${want[@]}"
  check "-t $spec: 2 912 TCP listeners on the host (1 456 ports, 2 families)" \
    test "$(listening t host)" = 2912
  check "-u $spec: 2 912 UDP sockets on the host" test "$(listening u host)" = 2912
else
  check "-t $spec: pasta and the namespace's servers came up" false
fi
unserve
pasta_down
# The same the other way: -T and -U listen in the namespace (1 557 ports).
if pasta_up -t none -u none -T "~900" -U "~900"; then
  # (A helper per listener; UDP's are opened first, then TCP's.)
  check "-T ~900: pasta says it opened 3 114 listeners" log_says "-T: 3114 listeners"
  check "-T ~900: 3 114 TCP listeners in the namespace" test "$(listening t target)" = 3114
  check "-U ~900: 3 114 UDP sockets in the namespace" test "$(listening u target)" = 3114
else
  check "-T ~900 -U ~900: pasta came up" false
fi
pasta_down
# With the default range, the listeners would not fit under the limit: one
# clear line, exit 1 (not a pasta forwarding some of the ports).
ip netns exec "$HOST_NS" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
err=$(in_host bash -c 'ulimit -n 4096; exec timeout 10 "$0" --config-net -t "~25" -- true' "$PASTA" 2>&1 >/dev/null)
rc=$?
check "-t ~25 under a limit of 4096 descriptors: exit 1" test "$rc" = 1
check "-t ~25 under a limit of 4096 descriptors: one line saying why" \
  test "$(wc -l <<<"$err")" = 1 -a -n "$(grep -F "ulimit -n" <<<"$err")"
echo "   $err"

# A bind address: -t 127.0.0.1/9300 listens on the host's 127.0.0.1 only.
if pasta_up -t 127.0.0.1/9300 && serve target 0.0.0.0,:: 9300; then
  check "-t 127.0.0.1/9300: reachable at 127.0.0.1" answers host 127.0.0.1 9300:9300
  check "-t 127.0.0.1/9300: not at ::1 (refused)" answers host ::1 9300:refused
  check "-t 127.0.0.1/9300: not from the server netns (refused)" \
    answers server 198.51.100.2 9300:refused
else
  check "-t 127.0.0.1/9300: pasta and the namespace's server came up" false
fi
unserve
pasta_down

# 7. -u 5353: datagrams from the server netns reach an echo server in the
# namespace and come back from the forwarded port.
if pasta_up -u 5353; then
  ip netns exec "$TARGET" timeout "$(limit 60)" "${UDP_TOOL[@]}" echo 198.51.100.2 5353 50 >/dev/null &
  echo4=$!
  ip netns exec "$TARGET" timeout "$(limit 60)" "${UDP_TOOL[@]}" echo 2001:db8:1::2 5353 50 >/dev/null &
  echo6=$!
  LAB_PIDS+=("$echo4" "$echo6")
  sleep 0.5
  out=$(server timeout "$(limit 30)" "${UDP_TOOL[@]}" client 198.51.100.2 5353 200 2>&1)
  check "-u 5353, IPv4: 200 datagrams from the server netns echoed from the namespace" test $? = 0
  echo "   $out"
  out=$(server timeout "$(limit 30)" "${UDP_TOOL[@]}" client 2001:db8:1::2 5353 200 2>&1)
  check "-u 5353, IPv6: 200 datagrams from the server netns echoed from the namespace" test $? = 0
  echo "   $out"
  # From the host netns to its own address (shown to the namespace as us).
  out=$(at host timeout "$(limit 30)" "${UDP_TOOL[@]}" client 198.51.100.2 5353 100 2>&1)
  check "-u 5353, IPv4: 100 datagrams from the host netns to its own address echoed" test $? = 0
  echo "   $out"
  out=$(at host timeout "$(limit 30)" "${UDP_TOOL[@]}" client 2001:db8:1::2 5353 100 2>&1)
  check "-u 5353, IPv6: 100 datagrams from the host netns to its own address echoed" test $? = 0
  echo "   $out"
  kill "$echo4" "$echo6" 2>/dev/null
  wait "$echo4" "$echo6" 2>/dev/null
else
  check "-u 5353: pasta came up" false
fi
pasta_down

# -U is not implemented: pasta still starts with it.
if pasta_up -U 53; then
  sleep 0.5
  check "-U 53: pasta starts and keeps running" kill -0 "$PASTA_PID"
else
  check "-U 53: pasta starts" false
fi
pasta_down

# 8. Bad specs: exit 1 at once, one line naming the spec.
bad_spec() {
  local opt=$1 spec=$2 err rc
  err=$(in_host timeout 10 "$PASTA" --config-net "$opt" "$spec" -- true 2>&1 >/dev/null)
  rc=$?
  if [ $rc = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -qF -- "$spec" <<<"$err"; then
    echo "   $err"
    return 0
  fi
  printf '  exit status %s (expected 1), stderr:\n%s\n' "$rc" "$err" >&2
  return 1
}
for spec in 80-22 0 70000 foo 22-80:32-40 all; do
  check "-t $spec: exit 1, one line naming the spec" bad_spec -t "$spec"
done
check "-u 80-22: exit 1, one line naming the spec" bad_spec -u 80-22
check "-T foo: exit 1, one line naming the spec" bad_spec -T foo

lab_finish
