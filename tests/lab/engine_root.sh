# The Debian 13 root (scripts/podman-root.sh) that tests/lab/podman.sh and
# tests/lab/rootlesskit.sh run their engine in, as the rootless user
# USER_ID, in the lab host netns. Sourced after lib.sh and lab_up; the
# caller sets ROOT, USER_ID and, before calling in_root, USER_ENV (the
# `env -i ...` the user's commands run with).
#
# How an engine runs here (each fact was a failure first):
# - rootless podman cannot run under plain chroot (the kernel refuses user
#   namespaces to a chrooted process): a private mount namespace and
#   pivot_root into the root instead;
# - `ip netns exec` remounts /sys and hides the cgroup mounts: the lab netns
#   is entered with `nsenter --net` inside that private mount namespace, and
#   sysfs is mounted afterwards, so it shows the lab netns' devices;
# - crun rejects this machine's mixed cgroup v1/v2 layout: with
#   ENGINE_CGROUPS=1 only the v1 hierarchies are bind-mounted into the
#   root's /sys/fs/cgroup;
# - /dev/net/tun is 0600: the user gets its own 0666 node, bind-mounted over
#   /dev/net/tun in the private mount namespace.

# engine_root_up: makes sure the root exists (builds it the first time),
# then S, the user's persistent state that in_root bind-mounts into the
# root: home (the engine's storage and configuration), /run
# (XDG_RUNTIME_DIR), /tmp, /opt/pasta-cpp (bin, libexec, lib), resolv.conf
# (the lab's resolver, 198.51.100.1) and the tun node.
engine_root_up() {
  "$HERE/../../scripts/podman-root.sh" >/dev/null || {
    echo "FAIL: no Debian 13 root at $ROOT (scripts/podman-root.sh)" >&2
    exit 1
  }
  S=$LAB_TMP
  mkdir -p "$S/home" "$S/run/user/$USER_ID" "$S/tmp" "$S/opt/bin" "$S/opt/libexec" "$S/opt/lib" "$S/www"
  chmod 1777 "$S/tmp"
  chmod 700 "$S/run/user/$USER_ID"
  chown "$USER_ID:$USER_ID" "$S/home" "$S/run/user/$USER_ID"
  lab_private_tun "$S"
  echo "nameserver 198.51.100.1" >"$S/resolv.conf"
}

# The script that enters the root: ROOT STATE CMD...
ENGINE_ENTER='
set -e
R=$1; S=$2; shift 2
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
if [ "${ENGINE_CGROUPS:-0}" = 1 ]; then
  mount -t tmpfs -o mode=755 cgroup "$R/sys/fs/cgroup"
  for h in /sys/fs/cgroup/*; do
    [ "$(stat -f -c %T "$h")" = cgroupfs ] || continue
    mkdir "$R$h"
    mount --bind "$h" "$R$h"
  done
fi
mount --rbind /dev "$R/dev"
mount --bind "$S/tun" "$R/dev/net/tun"
mount --bind "$S/run" "$R/run"
mount --bind "$S/tmp" "$R/tmp"
mount --bind "$S/tmp" "$R/var/tmp"
mount --bind "$S/home" "$R/home/podtest"
mount --bind -o ro "$S/opt" "$R/opt/pasta-cpp"
mount --bind "$S/resolv.conf" "$R/etc/resolv.conf"
cd "$R"
pivot_root . .oldroot
umount -l /.oldroot
cd /
exec "$@"
'

# in_root_as_root CMD: the shell command CMD as root in the root, in the
# lab host netns, in a private mount namespace with the mounts above.
# in_root CMD: the same as the rootless user.
in_root_as_root() {
  ENGINE_CGROUPS=${ENGINE_CGROUPS:-0} \
    unshare -m --propagation private -- nsenter --net="/run/netns/$HOST_NS" -- \
    bash -c "$ENGINE_ENTER" enter "$ROOT" "$S" "${USER_ENV[@]}" bash -c "$1"
}
in_root() {
  ENGINE_CGROUPS=${ENGINE_CGROUPS:-0} \
    unshare -m --propagation private -- nsenter --net="/run/netns/$HOST_NS" -- \
    bash -c "$ENGINE_ENTER" enter "$ROOT" "$S" \
    setpriv --reuid="$USER_ID" --regid="$USER_ID" --init-groups -- "${USER_ENV[@]}" bash -c "$1"
}
