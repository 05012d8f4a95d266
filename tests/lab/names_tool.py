#!/usr/bin/env python3
"""Small clients and a fake resolver for tests/lab/names.sh.

  dhcp6 IFACE         SOLICIT with a Client FQDN option (flags S, name "pc")
                      on IFACE; prints "fqdn=NAME flags=N" from the
                      ADVERTISE's OPTION_CLIENT_FQDN (39), or "fqdn=none".
  dns-serve ADDR IP   answers every A query sent to ADDR port 53 with IP.
  dns-query SERVER NAME
                      asks SERVER port 53 for NAME's A record; prints the
                      address of the first answer.
"""
import os
import socket
import struct
import sys
import time


def decode_name(data):
    labels, i = [], 0
    while i < len(data) and data[i]:
        n = data[i]
        labels.append(data[i + 1:i + 1 + n].decode())
        i += 1 + n
    return ".".join(labels)


def options(data):
    i = 0
    while i + 4 <= len(data):
        code, length = struct.unpack("!HH", data[i:i + 4])
        yield code, data[i + 4:i + 4 + length]
        i += 4 + length


def dhcp6(iface):
    ifindex = socket.if_nametoindex(iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", 546))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    s.settimeout(1.0)
    xid = os.urandom(3)
    duid = struct.pack("!HH", 3, 1) + bytes.fromhex("525400123456")
    msg = bytes([1]) + xid
    msg += struct.pack("!HH", 1, len(duid)) + duid  # Client Identifier
    msg += struct.pack("!HHIII", 3, 12, 1, 0, 0)  # IA_NA
    msg += struct.pack("!HHH", 6, 2, 39)  # Option Request: 39
    msg += struct.pack("!HHB", 39, 5, 0x01) + b"\x02pc\x00"  # S, "pc"
    msg += struct.pack("!HHH", 8, 2, 0)  # Elapsed Time
    for _ in range(15):
        try:
            s.sendto(msg, ("ff02::1:2", 547, 0, ifindex))
        except OSError:  # link-local address still tentative
            time.sleep(1)
            continue
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            try:
                reply = s.recv(2048)
            except socket.timeout:
                break
            if len(reply) < 4 or reply[0] != 2 or reply[1:4] != xid:
                continue
            for code, body in options(reply[4:]):
                if code == 39:
                    print("fqdn=%s flags=%d" % (decode_name(body[1:]),
                                               body[0]))
                    return 0
            print("fqdn=none")
            return 0
    print("no ADVERTISE", file=sys.stderr)
    return 1


def dns_serve(addr, answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        query, peer = s.recvfrom(512)
        if len(query) < 12:
            continue
        end = 12
        while end < len(query) and query[end]:
            end += 1 + query[end]
        question = query[12:end + 5]
        header = query[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0)
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4)
        s.sendto(header + question + rr + socket.inet_aton(answer), peer)


def dns_query(server, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    query = os.urandom(2) + b"\x01\x00" + struct.pack("!HHHH", 1, 0, 0, 0)
    query += qname + b"\x00" + struct.pack("!HH", 1, 1)
    for _ in range(5):
        s.sendto(query, (server, 53))
        try:
            reply = s.recv(512)
        except socket.timeout:
            continue
        if reply[:2] == query[:2] and struct.unpack("!H", reply[6:8])[0]:
            print(socket.inet_ntoa(reply[-4:]))
            return 0
    print("no answer", file=sys.stderr)
    return 1


def main(argv):
    if len(argv) == 3 and argv[1] == "dhcp6":
        return dhcp6(argv[2])
    if len(argv) == 4 and argv[1] == "dns-serve":
        return dns_serve(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "dns-query":
        return dns_query(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
