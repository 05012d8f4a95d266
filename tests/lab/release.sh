#!/usr/bin/env bash
# The release artifact (scripts/release.sh) needs nothing from the host's
# userland: unpacked into an otherwise empty directory that holds only
# /etc/passwd, /etc/group and bind mounts of /dev, /proc and /run/netns (no
# library, no shell), its pasta prints --version and --help, refuses an
# unknown --runas user with one line (a static glibc's NSS would crash
# there), attaches to a lab namespace with --config-net -f --netns and
# carries checksummed TCP both ways between that namespace and the server
# netns. Also: every ELF file's NEEDED entries are inside the artifact, the
# artifact's own SHA256SUMS hold, and the .deb and .rpm beside it carry the
# same tree in /usr/libexec/pasta-cpp.
#
# PASTA_ARTIFACT: the x86_64 (or the machine's) tarball; ctest sets it
# (test "release" makes it).
. "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
ART=${PASTA_ARTIFACT:?PASTA_ARTIFACT names the release tarball (scripts/release.sh)}
PY=/usr/bin/python3
TOOL=("$PY" "$HERE/forward_tool.py")
lab_up

R="$LAB_TMP/root"
mkdir -p "$R"
tar -C "$R" --strip-components=1 -xzf "$ART"
check "the artifact unpacks" test -x "$R/bin/pasta"
out=$(cd "$R" && sha256sum -c --quiet SHA256SUMS 2>&1)
check "its SHA256SUMS hold" test $? = 0 -a -z "$out"

# No NEEDED entry outside the artifact; the launcher has no loader at all.
missing=
while read -r f; do
  for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -e "$R/lib/pasta-cpp/$lib" ] || missing+=" $(basename "$f"):$lib"
  done
done < <(find "$R" -type f -perm -u+x)
check "every NEEDED library is in the artifact${missing:+ (missing:$missing)}" test -z "$missing"
out=$(readelf -lW "$R/bin/pasta" | grep -c 'INTERP')
check "bin/pasta is static (no program interpreter)" test "$out" = 0

# The root: the artifact, the two files, mount points; nothing else.
mkdir -p "$R/etc" "$R/dev" "$R/proc" "$R/run/netns" "$R/tmp"
echo 'root:x:0:0:root:/:/nonexistent' >"$R/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/nonexistent' >>"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
others=$(find "$R" -name '*.so*' ! -path "$R/lib/pasta-cpp/*" | head -n 3)
check "no library outside lib/pasta-cpp" test -z "$others"

# in_root CMD...: CMD in the root, in the lab host netns, with the mounts.
# The root is bind-mounted onto itself: pasta's sandbox needs / to be a
# mount point (pivot_root), as upstream's does.
ENTER='R=$1; shift
mount --bind "$R" "$R" &&
mount --rbind /dev "$R/dev" && mount --rbind /proc "$R/proc" &&
mount --rbind /run/netns "$R/run/netns" && exec chroot "$R" "$@"'
in_root() {
  ip netns exec "$HOST_NS" unshare -m --propagation private bash -c "$ENTER" enter "$R" "$@"
}

out=$(in_root /bin/pasta --version 2>&1)
check "pasta --version in the empty root: $out" contains "$out" "pasta (pasta-cpp)"
out=$(in_root /bin/pesto --version 2>&1)
check "pesto --version in the empty root: $out" contains "$out" "pesto (pasta-cpp)"
out=$(in_root /bin/pasta --help 2>&1)
check "pasta --help in the empty root" contains "$out" "--config-net"
out=$(in_root /bin/pasta --runas nosuchuser 2>&1)
rc=$?
check "--runas nosuchuser: one line, exit 1 (was $rc: $out)" \
  test "$rc" = 1 -a "$(wc -l <<<"$out")" = 1
out=$(in_root /bin/pasta --runas nobody --version 2>&1)
check "--runas nobody is found in the root's /etc/passwd" contains "$out" "pasta (pasta-cpp)"

# Attached to a lab namespace: a download and an upload through the tap,
# between the namespace and the server netns (203.0.113.1 behind it).
target="${LAB_ID}t"
LAB_EXTRA_NS+=("$target")
ip netns add "$target"
ip -n "$SERVER_NS" addr add 203.0.113.1/32 dev lo
ip -n "$HOST_NS" route add 203.0.113.0/24 via 198.51.100.1
head -c 16M /dev/urandom >"$LAB_TMP/data"
expect="$(stat -c %s "$LAB_TMP/data") $(sha256sum <"$LAB_TMP/data" | cut -d' ' -f1)"
ip netns exec "$SERVER_NS" timeout 60 "${TOOL[@]}" serve 203.0.113.1 7001 55 "$LAB_TMP/data" "$LAB_TMP/ready" &
LAB_PIDS+=($!)
in_root /bin/pasta --config-net -f --netns "$target" -t none -u none -T none -U none \
  >"$LAB_TMP/pasta.log" 2>&1 &
LAB_PIDS+=($!)
for _ in $(seq 100); do
  ip -n "$target" -br addr show 2>/dev/null | grep -q '198.51.100.2/' && [ -e "$LAB_TMP/ready" ] && break
  sleep 0.1
done
out=$(ip -n "$target" -br addr 2>&1)
check "attached from the empty root: the namespace has the host's address" contains "$out" "198.51.100.2/24"
out=$(ip netns exec "$target" timeout 30 "${TOOL[@]}" get 203.0.113.1 7001 2>&1)
check "16 MiB download from the server netns intact" equals "$out" "$expect"
out=$(ip netns exec "$target" timeout 30 "${TOOL[@]}" put 203.0.113.1 7001 "$LAB_TMP/data" 2>&1)
check "16 MiB upload to the server netns intact" equals "$out" "$expect"
ip netns del "$target"
for _ in $(seq 50); do
  pgrep -f "^pasta --config-net -f --netns $target" >/dev/null || break
  sleep 0.1
done
check "pasta from the empty root quits when the namespace goes" \
  test -z "$(pgrep -f "^pasta --config-net -f --netns $target")"
tail -n 5 "$LAB_TMP/pasta.log" | sed 's/^/   pasta: /'

# The packages carry the same tree.
dir=$(dirname "$ART")
base=$(basename "$ART" .tar.gz)       # pasta-cpp-VERSION-ARCH
version=${base#pasta-cpp-}
arch=${version##*-}
version=${version%-*}
debarch=$([ "$arch" = aarch64 ] && echo arm64 || echo amd64)
deb="$dir/pasta-cpp_${version}_$debarch.deb"
rpm="$dir/pasta-cpp-$version-1.$arch.rpm"
mkdir -p "$LAB_TMP/deb" "$LAB_TMP/rpm"
dpkg-deb -x "$deb" "$LAB_TMP/deb" 2>/dev/null
out=$(diff -r "$R/bin" "$LAB_TMP/deb/usr/libexec/pasta-cpp/bin" && diff -r "$R/lib" "$LAB_TMP/deb/usr/libexec/pasta-cpp/lib" && echo same)
check "the .deb installs the same tree in /usr/libexec/pasta-cpp" equals "$out" same
out=$(dpkg-deb -f "$deb" Architecture Depends)
check "the .deb: architecture $debarch, no dependencies" equals "$out" "Architecture: $debarch"
(cd "$LAB_TMP/rpm" && rpm2cpio "$rpm" | cpio -idm --quiet)
out=$(diff -r "$R/lib" "$LAB_TMP/rpm/usr/libexec/pasta-cpp/lib" && echo same)
check "the .rpm installs the same tree in /usr/libexec/pasta-cpp" equals "$out" same
out=$(rpm -qp --requires "$rpm" 2>/dev/null | grep -v '^rpmlib(')
check "the .rpm requires nothing of the system" test -z "$out"
lab_finish
