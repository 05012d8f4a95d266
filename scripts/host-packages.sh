# Sourced by scripts that need more of the machine's own packages than
# scripts/deps.sh installs up front (the arm64 and release scripts run on
# their own too).
#
#   host_packages TAG PKG...   installs the missing ones with the machine's
#                              own apt (not a private APT_CONFIG); TAG
#                              prefixes the messages

host_packages() {
  local tag=$1 p missing=()
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "$tag: missing ${missing[*]}; run as root to install them" >&2
    return 1
  fi
  echo "$tag: installing ${missing[*]}" >&2
  env -u APT_CONFIG DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
    { env -u APT_CONFIG apt-get update -q >&2 &&
      env -u APT_CONFIG DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
}
