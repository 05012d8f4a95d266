#!/usr/bin/env python3
"""A tiny guest for passt mode, without QEMU: it speaks QEMU's -netdev stream
framing (each Ethernet frame preceded by its length, 32-bit big endian) on
passt's UNIX socket, and carries just enough of a network stack in Python to
check what a guest sees: DHCP, ARP, and TCP both ways (built by hand with
struct, every received IPv4 and TCP checksum verified).

  passt_tool.py guest PATH|fd:N [--dhcp-only] [--expect-addr A]
                [--expect-router R] [--ipv6] [--udp IP:PORT]
                [--connect IP:PORT --up N]
                [--listen PORT --down N --inbound-cmd CMD]
                [--abandon IP:PORT]
      DHCP (DISCOVER/OFFER/REQUEST/ACK), checks the offer against
      --expect-addr/--expect-router; ARP for the router; with --ipv6, a
      router solicitation and a DHCPv6 SOLICIT (rapid commit); then, with
      --connect, a TCP connection through passt: N random bytes up, and the
      peer's reply (see `server`) checked; with --listen, starts CMD (a
      shell command: the client in the server netns, through passt's -t
      port), answers its SYN on PORT and serves it like `server`.
      With --abandon (instead): a TCP connection that sends 1000 bytes
      and is left open as the guest goes.
      Prints one "ok: ..." line per step; exits 1 with "error: ..." on any
      mismatch or a 10 s silence.
  passt_tool.py server PORT N M
      Accepts one TCP connection (IPv4 any), reads N bytes, replies with
      sha256(those bytes) + M random bytes + sha256(the M bytes), closes.
  passt_tool.py sink IP PORT
      Reads one connection to EOF, answers with its SHA-256 in hex.
  passt_tool.py hold PORT
      Accepts one connection and reads it to its end; exits 0 if that end
      is a reset (prints "hold: reset after N bytes").
  passt_tool.py udp-echo IP PORT
      Sends one datagram to IP:PORT back to where it came from.
  passt_tool.py client IP PORT N
      Connects (retrying for 10 s), sends N random bytes, reads to EOF and
      checks the reply as above.
"""
import hashlib
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

GUEST_MAC = bytes.fromhex("525400123456")
BROADCAST = b"\xff" * 6
MSS = 1400
TIMEOUT = 10.0


def die(msg):
    print("error: " + msg, flush=True)
    sys.exit(1)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return socket.inet_aton(a)


def reply_for(data, m):
    payload = random.randbytes(m)
    return (hashlib.sha256(data).digest() + payload +
            hashlib.sha256(payload).digest())


def check_reply(sent, got, what):
    if len(got) < 64:
        die("%s: reply of %d bytes only" % (what, len(got)))
    if got[:32] != hashlib.sha256(sent).digest():
        die("%s: the peer's digest of our %d bytes differs" % (what, len(sent)))
    payload, digest = got[32:-32], got[-32:]
    if hashlib.sha256(payload).digest() != digest:
        die("%s: %d bytes from the peer arrived changed" % (what, len(payload)))
    return len(payload)


class Link:
    """Ethernet frames over the length-prefixed stream."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.peer_mac = BROADCAST

    def send(self, ethertype, payload, dst=None):
        frame = (dst or self.peer_mac) + GUEST_MAC + \
            struct.pack("!H", ethertype) + payload
        self.sock.sendall(struct.pack("!I", len(frame)) + frame)

    def recv(self, deadline):
        """The next frame, or None at the deadline."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack("!I", self.buf[:4])[0]
                if n < 14 or n > 65549:
                    die("frame length %d from passt" % n)
                if len(self.buf) >= 4 + n:
                    frame = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            chunk = self.sock.recv(262144)
            if not chunk:
                die("passt closed the connection")
            self.buf += chunk


def ipv4_packet(src, dst, proto, payload, ident=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                      0x4000, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def parse_ipv4(frame):
    """(src, dst, proto, payload) of an IPv4 frame with a valid header
    checksum, else None for other frames; dies on a bad checksum."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 15) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    hdr = frame[14:14 + ihl]
    if csum(hdr) != 0:
        die("IPv4 header checksum wrong in a frame from passt")
    return hdr[12:16], hdr[16:20], hdr[9], frame[14 + ihl:14 + total]


# --- DHCP and ARP -----------------------------------------------------------

def dhcp_options(opts):
    out, i = {}, 0
    while i < len(opts) and opts[i] != 255:
        if opts[i] == 0:
            i += 1
            continue
        out[opts[i]] = opts[i + 2:i + 2 + opts[i + 1]]
        i += 2 + opts[i + 1]
    return out


def dhcp_exchange(link, msg_type, extra, xid):
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0,
                        0x8000, b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4,
                        GUEST_MAC, b"", b"")
    opts = bytes([53, 1, msg_type]) + extra + bytes([55, 4, 1, 3, 6, 26, 255])
    udp_payload = bootp + b"\x63\x82\x53\x63" + opts
    udp = struct.pack("!HHHH", 68, 67, 8 + len(udp_payload), 0) + udp_payload
    link.send(0x0800, ipv4_packet(b"\0" * 4, b"\xff" * 4, 17, udp), BROADCAST)
    deadline = time.monotonic() + TIMEOUT
    while True:
        frame = link.recv(deadline)
        if frame is None:
            die("no DHCP answer to message type %d" % msg_type)
        p = parse_ipv4(frame)
        if p is None or p[2] != 17:
            continue
        udp = p[3]
        if struct.unpack("!H", udp[2:4])[0] != 68 or len(udp) < 8 + 240:
            continue
        bootp = udp[8:]
        if struct.unpack("!I", bootp[4:8])[0] != xid:
            continue
        link.peer_mac = frame[6:12]
        return bootp[16:20], dhcp_options(bootp[240:])


def dhcp(link, expect_addr, expect_router):
    xid = random.getrandbits(32)
    yiaddr, o = dhcp_exchange(link, 1, b"", xid)
    if o.get(53) != b"\x02":
        die("DHCP: no OFFER (type %r)" % o.get(53))
    server = o.get(54, b"")
    _, o2 = dhcp_exchange(link, 3, bytes([50, 4]) + yiaddr +
                          bytes([54, len(server)]) + server, xid)
    if o2.get(53) != b"\x05":
        die("DHCP: no ACK (type %r)" % o2.get(53))
    addr = socket.inet_ntoa(yiaddr)
    router = socket.inet_ntoa(o.get(3, b"\0" * 4)[:4])
    mask = socket.inet_ntoa(o.get(1, b"\0" * 4))
    dns = [socket.inet_ntoa(o[6][i:i + 4]) for i in range(0, len(o.get(6, b"")), 4)]
    print("ok: DHCP address %s mask %s router %s dns %s mtu %s" %
          (addr, mask, router, ",".join(dns) or "-",
           struct.unpack("!H", o[26])[0] if 26 in o else "-"), flush=True)
    if expect_addr and addr != expect_addr:
        die("DHCP offered %s, expected %s" % (addr, expect_addr))
    if expect_router and router != expect_router:
        die("DHCP router %s, expected %s" % (router, expect_router))
    return yiaddr, o.get(3, b"\0" * 4)[:4]


def arp(link, my_ip, target):
    req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, GUEST_MAC, my_ip,
                      b"\0" * 6, target)
    link.send(0x0806, req, BROADCAST)
    deadline = time.monotonic() + TIMEOUT
    while True:
        frame = link.recv(deadline)
        if frame is None:
            die("no ARP reply for %s" % socket.inet_ntoa(target))
        if frame[12:14] != b"\x08\x06" or len(frame) < 42:
            continue
        op, sha, spa = struct.unpack("!H6s4s", frame[20:32])
        if op == 2 and spa == target:
            print("ok: ARP %s is at %s" % (socket.inet_ntoa(target), sha.hex(":")),
                  flush=True)
            link.peer_mac = sha
            return


# --- IPv6: NDP and DHCPv6 --------------------------------------------------------

GUEST_LL = bytes.fromhex("fe80000000000000505400fffe123456")


def ipv6_send(link, dst, dst_mac, nh, payload, hops=255):
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, hops,
                      GUEST_LL, dst)
    link.send(0x86DD, hdr + payload, dst_mac)


def l4_csum6(src, dst, nh, data):
    return csum(src + dst + struct.pack("!IxxxB", len(data), nh) + data)


def ipv6_recv(link, nh, deadline, what):
    """(src, payload) of the next IPv6 frame with next header `nh` whose
    checksum (ICMPv6 or UDP) is right; dies on a wrong one."""
    while True:
        frame = link.recv(deadline)
        if frame is None:
            die("no %s" % what)
        if frame[12:14] != b"\x86\xdd" or len(frame) < 54 or frame[20] != nh:
            continue
        plen = struct.unpack("!H", frame[18:20])[0]
        src, dst = frame[22:38], frame[38:54]
        payload = frame[54:54 + plen]
        if l4_csum6(src, dst, nh, payload) != 0:
            die("checksum wrong in an IPv6 frame from passt (%s)" % what)
        return src, payload


def ndp(link):
    rs = struct.pack("!BBHI", 133, 0, 0, 0) + bytes([1, 1]) + GUEST_MAC
    dst = bytes.fromhex("ff020000000000000000000000000002")
    rs = rs[:2] + struct.pack("!H", l4_csum6(GUEST_LL, dst, 58, rs)) + rs[4:]
    ipv6_send(link, dst, bytes.fromhex("333300000002"), 58, rs)
    deadline = time.monotonic() + TIMEOUT
    while True:
        _, icmp = ipv6_recv(link, 58, deadline, "router advertisement")
        if icmp[0] == 134:
            break
    prefixes, i = [], 16
    while i + 2 <= len(icmp) and icmp[i + 1]:
        if icmp[i] == 3:
            prefixes.append("%s/%d" % (socket.inet_ntop(
                socket.AF_INET6, icmp[i + 16:i + 32]), icmp[i + 2]))
        i += icmp[i + 1] * 8
    print("ok: NDP router advertisement, prefixes %s, managed %s" %
          (",".join(prefixes) or "-", "yes" if icmp[5] & 0x80 else "no"),
          flush=True)


def dhcpv6(link):
    def opt(code, data):
        return struct.pack("!HH", code, len(data)) + data
    xid = random.getrandbits(24)
    msg = struct.pack("!I", (1 << 24) | xid) + \
        opt(1, b"\x00\x03\x00\x01" + GUEST_MAC) + opt(14, b"") + \
        opt(3, struct.pack("!III", 1, 0, 0))
    dst = bytes.fromhex("ff020000000000000000000000010002")
    udp = struct.pack("!HHHH", 546, 547, 8 + len(msg), 0) + msg
    udp = udp[:6] + struct.pack("!H", l4_csum6(GUEST_LL, dst, 17, udp)) + udp[8:]
    ipv6_send(link, dst, bytes.fromhex("333300010002"), 17, udp, hops=1)
    deadline = time.monotonic() + TIMEOUT
    while True:
        _, udp = ipv6_recv(link, 17, deadline, "DHCPv6 reply")
        msg = udp[8:]
        if len(msg) >= 4 and struct.unpack("!I", msg[:4])[0] & 0xFFFFFF == xid:
            break
    addr, i = None, 4
    while i + 4 <= len(msg):
        code, n = struct.unpack("!HH", msg[i:i + 4])
        if code == 3:  # IA_NA: IAID, T1, T2, then options
            j = i + 16
            while j + 4 <= i + 4 + n:
                c, m = struct.unpack("!HH", msg[j:j + 4])
                if c == 5:
                    addr = socket.inet_ntop(socket.AF_INET6, msg[j + 4:j + 20])
                j += 4 + m
        i += 4 + n
    print("ok: DHCPv6 %s, address %s" %
          ("REPLY" if msg[0] == 7 else "type %d" % msg[0], addr or "-"),
          flush=True)


# --- TCP ----------------------------------------------------------------------

SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08


class Tcp:
    """One connection of the guest's, over `link`."""

    def __init__(self, link, me, peer, sport, dport):
        self.link, self.me, self.peer = link, me, peer
        self.sport, self.dport = sport, dport
        self.snd_nxt = random.getrandbits(32)
        self.snd_una = self.snd_nxt
        self.rcv_nxt = 0
        self.peer_win = 0
        self.data = bytearray()
        self.fin = False

    def segment(self, flags, payload=b"", seq=None, opts=b""):
        seq = self.snd_nxt if seq is None else seq
        off = (20 + len(opts)) // 4
        hdr = struct.pack("!HHIIBBHHH", self.sport, self.dport, seq & 0xFFFFFFFF,
                          self.rcv_nxt if flags & ACK else 0, off << 4, flags,
                          65535, 0, 0) + opts
        seg = hdr + payload
        pseudo = self.me + self.peer + struct.pack("!BBH", 0, 6, len(seg))
        seg = seg[:16] + struct.pack("!H", csum(pseudo + seg)) + seg[18:]
        self.link.send(0x0800, ipv4_packet(self.me, self.peer, 6, seg))

    def take(self, frame, want_syn=False):
        """Handles `frame` if it belongs to us; returns its TCP flags or None."""
        p = parse_ipv4(frame)
        if p is None or p[2] != 6 or p[0] != self.peer or p[1] != self.me:
            return None
        seg = p[3]
        sport, dport, seq, ack, off, flags, win = struct.unpack(
            "!HHIIBBH", seg[:16])
        if sport != self.dport or dport != self.sport:
            return None
        pseudo = self.peer + self.me + struct.pack("!BBH", 0, 6, len(seg))
        if csum(pseudo + seg) != 0:
            die("TCP checksum wrong in a segment from passt")
        if flags & RST:
            die("connection reset by passt")
        self.peer_win = win
        if flags & SYN:
            self.rcv_nxt = (seq + 1) & 0xFFFFFFFF
            if flags & ACK:
                self.snd_una = ack
            return flags
        if flags & ACK:
            self.snd_una = ack
        payload = seg[(off >> 4) * 4:]
        if payload or flags & FIN:
            if seq == self.rcv_nxt:
                self.data += payload
                self.rcv_nxt = (self.rcv_nxt + len(payload)) & 0xFFFFFFFF
                if flags & FIN:
                    self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
                    self.fin = True
            self.segment(ACK)  # also re-acknowledges a duplicate
        return flags

    def pump(self, deadline, what):
        frame = self.link.recv(deadline)
        if frame is None:
            die("TCP: timed out %s" % what)
        return self.take(frame)

    def connect(self):
        self.segment(SYN, opts=struct.pack("!BBH", 2, 4, MSS))
        self.snd_nxt += 1
        deadline = time.monotonic() + TIMEOUT
        while True:
            flags = self.pump(deadline, "waiting for SYN-ACK")
            if flags is not None and flags & SYN and flags & ACK:
                break
        self.segment(ACK)

    def accept(self, deadline):
        while True:
            frame = self.link.recv(deadline)
            if frame is None:
                die("TCP: no SYN on port %d" % self.sport)
            p = parse_ipv4(frame)
            if p is None or p[2] != 6 or p[1] != self.me:
                continue
            sport, dport = struct.unpack("!HH", p[3][:4])
            if dport != self.sport:
                continue
            self.peer, self.dport = p[0], sport
            flags = self.take(frame)
            if flags is not None and flags & SYN:
                break
        self.segment(SYN | ACK, opts=struct.pack("!BBH", 2, 4, MSS))
        self.snd_nxt += 1
        while ((self.snd_una - self.snd_nxt) & 0xFFFFFFFF) != 0:
            self.pump(deadline, "waiting for the handshake's ACK")

    def send(self, data):
        deadline = time.monotonic() + TIMEOUT
        sent = 0
        while sent < len(data):
            in_flight = (self.snd_nxt - self.snd_una) & 0xFFFFFFFF
            room = self.peer_win - in_flight
            if room <= 0:
                self.pump(deadline, "waiting for the peer's window")
                continue
            chunk = data[sent:sent + min(MSS, room)]
            self.segment(ACK | PSH, chunk)
            self.snd_nxt = (self.snd_nxt + len(chunk)) & 0xFFFFFFFF
            sent += len(chunk)
        while self.snd_una != self.snd_nxt:
            self.pump(deadline, "waiting for our data to be acknowledged")

    def recv(self, n=None):
        """n bytes, or (None) everything up to the peer's FIN."""
        deadline = time.monotonic() + TIMEOUT
        while (len(self.data) < n) if n is not None else not self.fin:
            self.pump(deadline, "receiving")
        return bytes(self.data)

    def close(self):
        self.segment(FIN | ACK)
        self.snd_nxt = (self.snd_nxt + 1) & 0xFFFFFFFF
        deadline = time.monotonic() + TIMEOUT
        while self.snd_una != self.snd_nxt or not self.fin:
            self.pump(deadline, "closing")


def udp_exchange(link, me, ip, port):
    """A datagram to ip:port, and its echo (checksums verified)."""
    sport = random.randint(40000, 60000)
    data = random.randbytes(1000)
    dst = ip4(ip)
    udp = struct.pack("!HHHH", sport, port, 8 + len(data), 0) + data
    pseudo = me + dst + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    link.send(0x0800, ipv4_packet(me, dst, 17, udp))
    deadline = time.monotonic() + TIMEOUT
    while True:
        frame = link.recv(deadline)
        if frame is None:
            die("no UDP echo from %s:%d" % (ip, port))
        p = parse_ipv4(frame)
        if p is None or p[2] != 17 or p[0] != dst:
            continue
        seg = p[3]
        if struct.unpack("!HH", seg[:4]) != (port, sport):
            continue
        pseudo = dst + me + struct.pack("!BBH", 0, 17, len(seg))
        if struct.unpack("!H", seg[6:8])[0] != 0 and csum(pseudo + seg) != 0:
            die("UDP checksum wrong in a datagram from passt")
        if seg[8:] != data:
            die("the UDP echo differs")
        print("ok: UDP echo from %s:%d, %d bytes" % (ip, port, len(data)),
              flush=True)
        return


def udp_echo(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))  # replies from the address asked
    s.settimeout(30)
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)


def guest(args):
    target = args[0]
    opts = {}
    i = 1
    while i < len(args):
        if args[i] in ("--dhcp-only", "--ipv6"):
            opts[args[i][2:].replace("-", "_")] = True
            i += 1
        else:
            opts[args[i][2:]] = args[i + 1]
            i += 2
    if target.startswith("fd:"):
        sock = socket.socket(fileno=int(target[3:]))
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(target)
    link = Link(sock)
    me, router = dhcp(link, opts.get("expect-addr"), opts.get("expect-router"))
    if opts.get("dhcp_only"):
        sock.close()
        return
    arp(link, me, router)
    if "ipv6" in opts:
        ndp(link)
        dhcpv6(link)
    if "abandon" in opts:
        ip, port = opts["abandon"].rsplit(":", 1)
        conn = Tcp(link, me, ip4(ip), random.randint(40000, 60000), int(port))
        conn.connect()
        conn.send(random.randbytes(1000))
        print("ok: TCP to %s open, leaving without closing it" % opts["abandon"],
              flush=True)
        sock.close()
        return
    if "udp" in opts:
        ip, port = opts["udp"].rsplit(":", 1)
        udp_exchange(link, me, ip, int(port))
    if "connect" in opts:
        ip, port = opts["connect"].rsplit(":", 1)
        conn = Tcp(link, me, ip4(ip), random.randint(40000, 60000), int(port))
        conn.connect()
        data = random.randbytes(int(opts["up"]))
        conn.send(data)
        got = conn.recv()
        m = check_reply(data, got, "outbound")
        conn.close()
        print("ok: TCP to %s: %d bytes up, %d bytes down, both checksums match"
              % (opts["connect"], len(data), m), flush=True)
    if "listen" in opts:
        proc = subprocess.Popen(opts["inbound-cmd"], shell=True)
        conn = Tcp(link, me, b"\0" * 4, int(opts["listen"]), 0)
        conn.accept(time.monotonic() + TIMEOUT)
        n = int(opts["down"])
        data = conn.recv(n)[:n]
        conn.send(reply_for(data, n))
        conn.close()
        if proc.wait(timeout=TIMEOUT) != 0:
            die("the inbound client failed")
        print("ok: TCP from %s to port %s: %d bytes in, reply checked by the "
              "client" % (socket.inet_ntoa(conn.peer), opts["listen"], n),
              flush=True)
    sock.close()


def server(port, n, m):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(30)
    conn, _ = srv.accept()
    conn.settimeout(TIMEOUT)
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            die("server: EOF after %d of %d bytes" % (len(data), n))
        data += chunk
    conn.sendall(reply_for(data, m))
    conn.close()


def hold(port):
    """Accepts one connection and reads until it ends: exit 0 only if it
    ends with a reset."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(30)
    conn, _ = srv.accept()
    conn.settimeout(TIMEOUT)
    total = 0
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                die("hold: EOF after %d bytes, not a reset" % total)
            total += len(chunk)
    except ConnectionResetError:
        print("hold: reset after %d bytes" % total, flush=True)
    except socket.timeout:
        die("hold: still open after %d bytes" % total)


def sink(ip, port):
    """Reads one connection to its EOF and answers with the SHA-256 (hex)
    of what came."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((ip, port))
    srv.listen(1)
    srv.settimeout(120)
    conn, _ = srv.accept()
    conn.settimeout(60)
    h, n = hashlib.sha256(), 0
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    conn.sendall(h.hexdigest().encode() + b"\n")
    conn.close()
    print("sink: %d bytes, sha256 %s" % (n, h.hexdigest()), flush=True)


def client(ip, port, n):
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            conn = socket.create_connection((ip, port), timeout=TIMEOUT)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    data = random.randbytes(n)
    conn.sendall(data)
    got = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    check_reply(data, got, "client")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "guest":
        guest(args)
    elif cmd == "server":
        server(int(args[0]), int(args[1]), int(args[2]))
    elif cmd == "sink":
        sink(args[0], int(args[1]))
    elif cmd == "hold":
        hold(int(args[0]))
    elif cmd == "udp-echo":
        udp_echo(args[0], int(args[1]))
    elif cmd == "client":
        client(args[0], int(args[1]), int(args[2]))
    else:
        die("unknown command " + cmd)


if __name__ == "__main__":
    main()
