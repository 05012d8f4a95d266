# Sourced by the release scripts: Debian 12's source packages through a
# private apt (its own lists and configuration under $RELEASE_CACHE/apt;
# nothing of the machine's apt changes).
#
#   release_source PKG          unpacks Debian's source package PKG once
#                               (dpkg-source -x, Debian's patches applied)
#                               and prints the directory
#   release_host_packages P...  installs the machine's missing packages

RELEASE_CACHE=${RELEASE_CACHE:-${PASTA_CACHE:-/srv}/release}
_release_apt="$RELEASE_CACHE/apt"
_release_mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

_release_apt_setup() {
  local d=$_release_apt key=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/src" "$d/none.d"
  : >>"$d/status"
  echo "deb-src [signed-by=$key] $_release_mirror bookworm main" >"$d/sources.list"
  cat >"$d/apt.conf" <<APT
Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "$d/none.d";
Dir::Etc::SourceList "$d/sources.list";
Dir::Etc::SourceParts "$d/none.d";
Dir::State "$d";
Dir::State::Lists "$d/lists";
Dir::State::status "$d/status";
Dir::Cache "$d";
Acquire::Languages "none";
Acquire::Retries "3";
APT::Sandbox::User "root";
APT
}

release_source() {
  local pkg=$1 d=$_release_apt dir
  mkdir -p "$d/src"
  dir=$(find "$d/src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -n 1)
  if [ -z "$dir" ]; then
    _release_apt_setup
    APT_CONFIG="$d/apt.conf" timeout 600 apt-get -q update >&2
    (cd "$d/src" && APT_CONFIG="$d/apt.conf" timeout 600 apt-get -q source "$pkg" >&2)
    dir=$(find "$d/src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -n 1)
  fi
  [ -n "$dir" ] || { echo "release: no source of $pkg" >&2; return 1; }
  echo "$dir"
}

. "$(dirname "${BASH_SOURCE[0]}")/../host-packages.sh"
release_host_packages() { host_packages release "$@"; }
