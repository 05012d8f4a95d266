#!/usr/bin/python3
"""Opens a device on /dev/net/tun and runs a command that inherits it (-F).

  tap_fd_tool.py KIND NAME NETNS NEWNAME -- COMMAND...
        KIND: "tap" (IFF_TAP | IFF_NO_PI), "vnet" (tap with IFF_VNET_HDR)
        or "tun" (IFF_TUN | IFF_NO_PI). Creates device NAME in this network
        namespace, moves it to NETNS renamed NEWNAME ("-" leaves it here),
        then execs COMMAND with the descriptor inherited; "{fd}" in
        COMMAND becomes its number.
Exits non-zero (before the exec) if anything fails.
"""
import fcntl
import os
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
KINDS = {
    "tap": IFF_TAP | IFF_NO_PI,
    "vnet": IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
    "tun": IFF_TUN | IFF_NO_PI,
}


def main():
    if len(sys.argv) < 7 or sys.argv[5] != "--" or sys.argv[1] not in KINDS:
        sys.exit(__doc__)
    kind, name, netns, newname = sys.argv[1:5]
    command = sys.argv[6:]
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), KINDS[kind]))
    if netns != "-":
        subprocess.run(["ip", "link", "set", "dev", name, "netns", netns,
                        "name", newname], check=True, timeout=10)
    os.set_inheritable(fd, True)
    command = [a.replace("{fd}", str(fd)) for a in command]
    os.execvp(command[0], command)


main()
