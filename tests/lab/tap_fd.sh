#!/usr/bin/env bash
# -F FD: pasta uses a tap device its caller opened instead of creating one.
# tap_fd_tool.py opens the tap in the host netns, moves it into the target
# as eth0 and execs pasta with the descriptor inherited. With and without
# a virtio-net header (offloads on and off): pasta comes up without making
# a tap of its own (the target keeps lo and that eth0 only),
# --config-net configures the tap it was given, and traffic crosses it
# both ways (-t from the server netns, bytes intact; a connection the
# namespace opens to the server netns). Refused with one line: a
# descriptor that is not a tap (a file, a tun device), one not open.
. "$(dirname "$0")/lib.sh"
lab_up
MIB=20
. "$(dirname "$0")/forward_lib.sh"
FD_TOOL=("$PY" "$DIR/tap_fd_tool.py")

# fd_up KIND [OPTION]...: a fresh target netns, a tap of KIND ("tap" or
# "vnet") moved into it as eth0, pasta -F with that tap attached to it in
# the foreground; waits (at most 5 s) until eth0 has both addresses.
fd_up() {
  local kind=$1
  shift
  PASTA_OPTS="-F ($kind) $*"
  ip netns add "$TARGET" || return 1
  ip netns exec "$HOST_NS" timeout "$(limit 150)" "${FD_TOOL[@]}" "$kind" "${LAB_ID}f" "$TARGET" eth0 -- \
    "$PASTA" --config-net -f -e --debug -F '{fd}' --netns "$TARGET" "$@" >"$LAB_TMP/pasta.log" 2>&1 &
  PASTA_PID=$!
  LAB_PIDS+=("$PASTA_PID")
  configured "pasta -F ($kind)"
}

# own_tap_only KIND: the target has lo and our eth0 (a tap, by its
# driver's name), nothing pasta made; the log says the tap came from -F,
# with offloads for KIND vnet only.
own_tap_only() {
  local links
  links=$(ip -n "$TARGET" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
  equals "$links" "lo eth0 " || return 1
  ip -n "$TARGET" -d -o link show dev eth0 | grep -q "tun type tap" || {
    echo "  eth0 is no tap: $(ip -n "$TARGET" -d -o link show dev eth0)" >&2
    return 1
  }
  # Offloads only with the virtio-net header.
  if [ "$1" = vnet ]; then
    contains "$(cat "$LAB_TMP/pasta.log")" "tap eth0 ready in the target namespace (from --fd), configured"
  else
    contains "$(cat "$LAB_TMP/pasta.log")" "tap eth0 ready in the target namespace (from --fd), no offloads, configured"
  fi
}

for kind in vnet tap; do
  # --no-map-gw: the server netns is the gateway, which maps to the host.
  if fd_up "$kind" -t 8080 --no-map-gw && serve target 0.0.0.0,:: 8080 && serve server 198.51.100.1,2001:db8:1::1 9000; then
    check "-F ($kind): the given tap is the namespace's, none made" own_tap_only "$kind"
    check "-F ($kind), IPv4: from the server netns through the tap" \
      came_via tap server 198.51.100.2 8080
    check "-F ($kind), IPv4: $MIB MiB from the namespace to the server netns intact" \
      moved get server 198.51.100.2 8080
    check "-F ($kind), IPv6: $MIB MiB from the server netns to the namespace intact" \
      moved put server 2001:db8:1::2 8080
    check "-F ($kind), IPv4: $MIB MiB the namespace fetches from the server netns intact" \
      moved get target 198.51.100.1 9000
    check "-F ($kind), IPv6: $MIB MiB the namespace sends to the server netns intact" \
      moved put target 2001:db8:1::1 9000
  else
    check "-F ($kind): pasta and the servers came up" false
  fi
  unserve_all
  pasta_down
done

# refused WANT COMMAND...: COMMAND (pasta, in the host netns) exits with
# status 1 and one line containing WANT.
refused() {
  local want=$1 out rc
  shift
  ip netns add "$TARGET" || return 1
  out=$(in_host timeout 10 "$@" 2>&1)
  rc=$?
  ip netns del "$TARGET"
  if [ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -qF -- "$want" <<<"$out"; then
    echo "   $out"
    return 0
  fi
  echo "  exit status $rc; expected one line with '$want'; got: $out" >&2
  return 1
}
check "-F: a file is not a tap, refused in one line" \
  refused "--fd 7: not a tap device" bash -c "exec 7</dev/null; exec \"\$0\" -f -F 7 --netns $TARGET" "$PASTA"
check "-F: a descriptor that is not open, refused in one line" \
  refused "--fd 9: " "$PASTA" -f -F 9 --netns "$TARGET"
check "-F: a tun device is not a tap, refused in one line" \
  refused "a tun device, not a tap" "${FD_TOOL[@]}" tun "${LAB_ID}u" - - -- "$PASTA" -f -F '{fd}' --netns "$TARGET"

lab_finish
