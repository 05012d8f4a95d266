#!/usr/bin/env bash
# `cmake --install` of a build tree into a scratch prefix: the binary and the
# manual page land where a system tool's go, the installed binary runs and
# names itself, and it needs only libraries that Debian packages provide.
#
#   install.sh CMAKE BUILD_DIR MAN_PAGE
#
# Runs the installed pasta with --version only (no namespace). Removes the
# scratch prefix on exit.
set -u

cmake=${1:?usage: $0 CMAKE BUILD_DIR MAN_PAGE}
build_dir=${2:?usage: $0 CMAKE BUILD_DIR MAN_PAGE}
man_page=${3:?usage: $0 CMAKE BUILD_DIR MAN_PAGE}

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

if ! out=$("$cmake" --install "$build_dir" --prefix "$prefix" 2>&1); then
  echo "$out" >&2
  echo "FAIL: $cmake --install $build_dir --prefix $prefix" >&2
  exit 1
fi

bin=$prefix/bin/pasta
man=$prefix/share/man/man1/pasta.1

if [ ! -x "$bin" ]; then
  fail "no executable $bin after install; installed: $(cd "$prefix" && find . -type f | tr '\n' ' ')"
else
  version=$("$bin" --version 2>&1)
  if ! [[ $version =~ ^pasta\ \(pasta-cpp\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    fail "installed pasta --version printed '$version', not 'pasta (pasta-cpp) X.Y.Z'"
  fi
  # Every shared library resolves, and to a file a Debian package owns (no
  # /usr/local or build-tree leftovers).
  ldd_out=$(ldd "$bin" 2>&1)
  if grep -q 'not found' <<<"$ldd_out"; then
    fail "installed pasta has unresolved libraries: $(grep 'not found' <<<"$ldd_out" | tr '\n' ' ')"
  fi
  if command -v dpkg >/dev/null; then
    # One dpkg -S for all (it is slow); a library counts as packaged if
    # dpkg knows it by the path ldd gives or by its real path (merged /usr).
    mapfile -t libs < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$ldd_out")
    paths=()
    for lib in "${libs[@]}"; do paths+=("$lib" "$(readlink -f "$lib")"); done
    owned=$(dpkg -S "${paths[@]}" 2>/dev/null | sed 's/.*: //')
    for lib in "${libs[@]}"; do
      real=$(readlink -f "$lib")
      if ! grep -qxF -e "$lib" -e "$real" <<<"$owned"; then
        fail "installed pasta uses $lib ($real), which no Debian package provides"
      fi
    done
  fi
fi

if [ ! -f "$man" ]; then
  fail "no manual page $man after install"
elif ! cmp -s "$man" "$man_page"; then
  fail "$man differs from $man_page"
fi

# pesto, the control socket's client, and its page, beside pasta's.
pesto=$prefix/bin/pesto
if [ ! -x "$pesto" ]; then
  fail "no executable $pesto after install"
elif ! [[ $("$pesto" --version 2>&1) =~ ^pesto\ \(pasta-cpp\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  fail "installed pesto --version printed '$("$pesto" --version 2>&1)'"
fi
if ! cmp -s "$prefix/share/man/man1/pesto.1" "$(dirname "$man_page")/pesto.1"; then
  fail "no pesto.1, or not the tree's, after install"
fi

# passt: a link to pasta (the name picks the mode), and its page.
passt=$prefix/bin/passt
if [ "$(readlink "$passt")" != pasta ]; then
  fail "$passt is not a link to pasta after install"
elif ! [[ $("$passt" --version 2>&1) =~ ^passt\ \(pasta-cpp\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  fail "installed passt --version printed '$("$passt" --version 2>&1)'"
fi
if ! cmp -s "$prefix/share/man/man1/passt.1" "$(dirname "$man_page")/passt.1"; then
  fail "no passt.1, or not the tree's, after install"
fi

if [ "$failures" -gt 0 ]; then
  exit 1
fi
echo "ok: $bin ($version), $passt, $pesto, $man, passt.1 and pesto.1"
