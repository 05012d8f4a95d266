# Sourced by the arm64 scripts: a private apt for Debian 12 arm64 packages,
# its own configuration, lists and download cache under $ARM64_CACHE/apt,
# so that nothing of the machine's apt or dpkg changes (no
# `dpkg --add-architecture`: the machine keeps building for amd64 exactly
# as before). The packages are only downloaded and unpacked, never
# installed with dpkg here.
#
#   arm64_apt ARGS...   apt-get with the private configuration
#   arm64_apt_update    refreshes the lists (once a day at most)

ARM64_CACHE=${ARM64_CACHE:-${PASTA_CACHE:-/srv}/arm64}
ARM64_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ARM64_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
ARM64_SUITE=bookworm
_arm64_apt_dir="$ARM64_CACHE/apt"

_arm64_apt_setup() {
  local d=$_arm64_apt_dir
  mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/apt.conf.d" \
    "$d/preferences.d" "$d/trusted.gpg.d"
  : >>"$d/status"
  local key=/usr/share/keyrings/debian-archive-keyring.gpg
  cat >"$d/sources.list" <<EOF
deb [arch=arm64 signed-by=$key] $ARM64_MIRROR $ARM64_SUITE main
deb [arch=arm64 signed-by=$key] $ARM64_MIRROR $ARM64_SUITE-updates main
deb [arch=arm64 signed-by=$key] $ARM64_SECURITY_MIRROR $ARM64_SUITE-security main
EOF
  # Read instead of /etc/apt/apt.conf and apt.conf.d (APT_CONFIG): nothing
  # of the machine's own configuration applies.
  cat >"$d/apt.conf" <<EOF
Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "$d/apt.conf.d";
Dir::Etc::SourceList "$d/sources.list";
Dir::Etc::SourceParts "$d/no-sources.d";
Dir::Etc::Preferences "$d/preferences";
Dir::Etc::PreferencesParts "$d/preferences.d";
Dir::Etc::TrustedParts "$d/trusted.gpg.d";
Dir::State "$d";
Dir::State::Lists "$d/lists";
Dir::State::status "$d/status";
Dir::Cache "$d";
Dir::Cache::Archives "$d/archives";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::Retries "3";
EOF
  export APT_CONFIG="$d/apt.conf"
}

arm64_apt() {
  _arm64_apt_setup
  apt-get -q "$@"
}

# Its output goes to stderr: callers print paths on stdout.
arm64_apt_update() {
  _arm64_apt_setup
  local stamp="$_arm64_apt_dir/lists/.updated"
  if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
    timeout 600 apt-get -q update >&2 && touch "$stamp"
  fi
}

# arm64_host_packages PKG...: installs the machine's own (amd64) packages
# that are missing (scripts/host-packages.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../host-packages.sh"
arm64_host_packages() { host_packages arm64 "$@"; }
