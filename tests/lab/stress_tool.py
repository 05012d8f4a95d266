#!/usr/bin/python3
"""Load and fault helpers for the soak and fault lab tests (stdlib only;
every loop bounded in count and time).

TCP requests start with a 17-byte header: mode (1 byte), stream id (4),
size (8), pace in KiB/s (4, 0: as fast as possible). Modes:
  D  the server sends SIZE bytes, then the SHA-256 of what it sent
  U  the client sends SIZE bytes, the server answers with their SHA-256
  R  the server sends SIZE bytes, then resets the connection (SO_LINGER 0)
  Q  the server reads SIZE bytes, then resets the connection
  P  ping-pong until a zero length: 4-byte length, that many bytes, echoed
Servers:
  serve ADDRS PORT SECONDS [LOG]   the above on every address of ADDRS
                                   (comma-separated), a thread per
                                   connection; LOG gets one line per
                                   connection: "end ID MODE BYTES HOW"
                                   (HOW: ok, eof, reset, timeout, error)
  hold ADDRS PORT SECONDS          accept everything, echo, close at EOF (one
                                   thread, selectors: thousands of sockets)
  noaccept ADDR PORT SECONDS       listen (backlog 1), fill the accept queue
                                   with local connections, never accept
  echo ADDRS PORT SECONDS          UDP echo
Clients (TARGET is ADDR:PORT, [ADDR]:PORT for IPv6):
  get TARGET SIZE [KIBPS [ID [SECONDS]]]   a D request; prints "ok BYTES SHA"
  put TARGET SIZE [KIBPS [ID [SECONDS]]]   a U request; prints "ok BYTES SHA"
  reset TARGET R|Q SIZE            R or Q with 4 x SIZE expected: must end in
                                   a reset (ConnectionReset/BrokenPipe), not
                                   a clean end of stream
  connect TARGET SECONDS           one connect(); prints "connected", "refused"
                                   or "timeout", and the time it took
  pingpong TARGET STOPFILE SECONDS ping-pong (random sizes up to 256 KiB,
                                   every byte checked) until STOPFILE exists
  churn SECONDS MAX WORKERS MAXSIZE TARGET...
                                   short connections (D or U, 1..MAXSIZE bytes,
                                   checked) from WORKERS threads until
                                   SECONDS or MAX connections
  udp SECONDS MAXFLOWS DGRAMS TARGET...
                                   UDP flows: a new socket each, DGRAMS
                                   datagrams of random sizes, each echo
                                   checked (3 tries), then closed
  fill TARGET COUNT EXPECT         opens COUNT connections to a `hold` server;
                                   exactly EXPECT must connect and the rest be
                                   refused; all that connected must echo; one
                                   more is refused; then all close and new
                                   connections must work again within 30 s
Tools:
  fdstat PID [NSPID]               pasta's descriptors and RSS: "fds N
                                   tcp_listen L tcp_conn C udp U ns_tcp_listen
                                   L ns_tcp_conn C ns_udp U unlisted S pipe P
                                   other O rss_kib R": sockets in the tables
                                   of PID's netns, of NSPID's (the target's),
                                   in neither (unlisted), other descriptors
  impair DEV LOSS DUP REORDER      random loss, duplication and reordering of
                                   the frames on DEV, both ways (fractions;
                                   classic BPF + ifb + mirred: no netem)
  impaired DEV                     one line: what the impairment did
Clients print one summary line and exit non-zero on any mismatch or error.
"""
import errno
import hashlib
import os
import random
import resource
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

HEADER = struct.Struct("!cIQI")
CHUNK = 1 << 18
# Stream contents: slices of one random block, at offsets that change with
# the stream and the chunk (a misplaced, lost or repeated chunk changes the
# digest), without generating random bytes per chunk.
BLOCK = os.urandom(4 << 20)
BLOCK_VIEW = memoryview(BLOCK)


def chunk_of(stream, k, n):
    off = (k * 1048573 + stream * 7919) % (len(BLOCK) - n)
    return BLOCK_VIEW[off:off + n]


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def parse_target(t):
    addr, _, port = t.rpartition(":")
    return addr.strip("[]"), int(port)


def raise_nofile():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


class Pacer:
    """Sleeps so that `bytes` moved so far never run ahead of KIBPS."""

    def __init__(self, kibps):
        self.rate = kibps * 1024
        self.t0 = time.monotonic()

    def chunk(self):
        return CHUNK if not self.rate else max(1024, min(CHUNK, self.rate // 20))

    def wait(self, moved):
        if self.rate:
            ahead = self.t0 + moved / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


def send_stream(s, stream, size, kibps, progress=None):
    """Sends SIZE bytes of stream STREAM; returns their SHA-256."""
    h = hashlib.sha256()
    pacer = Pacer(kibps)
    sent = k = 0
    while sent < size:
        data = chunk_of(stream, k, min(pacer.chunk(), size - sent))
        s.sendall(data)
        h.update(data)
        sent += len(data)
        if progress is not None:
            progress[0] = sent
        k += 1
        pacer.wait(sent)
    return h.digest()


def recv_stream(s, size, progress=None):
    """Reads SIZE bytes; returns (bytes read, SHA-256)."""
    h = hashlib.sha256()
    got = 0
    while got < size:
        chunk = s.recv(min(size - got, 1 << 20))
        if not chunk:
            break
        h.update(chunk)
        got += len(chunk)
        if progress is not None:
            progress[0] = got
    return got, h.digest()


def reset_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


# ---------------------------------------------------------------- servers

class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else None
        self.lock = threading.Lock()

    def end(self, stream, mode, moved, how):
        if self.f:
            with self.lock:
                self.f.write(f"end {stream} {mode} {moved} {how}\n")


def serve_one(conn, log):
    stream, mode, moved, how = -1, "?", [0], "error"
    try:
        conn.settimeout(60)
        head = recv_exact(conn, HEADER.size)
        if len(head) != HEADER.size:
            how = "eof"
            return
        m, stream, size, kibps = HEADER.unpack(head)
        mode = m.decode(errors="replace")
        if mode == "D":
            conn.sendall(send_stream(conn, stream, size, kibps, moved))
        elif mode == "U":
            got, digest = recv_stream(conn, size, moved)
            if got != size:
                how = "eof"
                return
            conn.sendall(digest)
        elif mode == "R":
            send_stream(conn, stream, size, kibps, moved)
            reset_close(conn)
            how = "ok"
            return
        elif mode == "Q":
            recv_stream(conn, size, moved)
            reset_close(conn)
            how = "ok"
            return
        elif mode == "P":
            while True:
                n = int.from_bytes(recv_exact(conn, 4) or b"\0\0\0\0", "big")
                if n == 0:
                    break
                data = recv_exact(conn, n)
                if len(data) != n:
                    how = "eof"
                    return
                conn.sendall(data)
                moved[0] += n
        conn.shutdown(socket.SHUT_WR)
        # Our end of stream is out; close once the client has closed, so
        # that we never reset data it has not read yet.
        while conn.recv(1 << 16):
            pass
        how = "ok"
    except (ConnectionResetError, BrokenPipeError):
        how = "reset"
    except socket.timeout:
        how = "timeout"
    except OSError as e:
        how = f"error:{errno.errorcode.get(e.errno, e.errno)}"
    finally:
        log.end(stream, mode, moved[0], how)
        try:
            conn.close()
        except OSError:
            pass


def listeners(addrs, port, backlog=1024):
    out = []
    for addr in addrs.split(","):
        s = socket.socket(family_of(addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family_of(addr) == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        s.listen(backlog)
        s.setblocking(False)
        out.append(s)
    return out


def serve(addrs, port, seconds, logpath=None):
    log = Log(logpath)
    sel = selectors.DefaultSelector()
    for s in listeners(addrs, port):
        sel.register(s, selectors.EVENT_READ)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            try:
                conn, _ = key.fileobj.accept()
            except BlockingIOError:
                continue
            conn.setblocking(True)
            n += 1
            threading.Thread(target=serve_one, args=(conn, log), daemon=True).start()
    print(f"serve: {n} connections")
    return 0


def hold(addrs, port, seconds):
    raise_nofile()
    sel = selectors.DefaultSelector()
    for s in listeners(addrs, port, backlog=4096):
        sel.register(s, selectors.EVENT_READ, "listener")
    end = time.monotonic() + seconds
    n = peak = live = 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            if key.data == "listener":
                for _ in range(256):
                    try:
                        conn, _ = s.accept()
                    except (BlockingIOError, OSError):
                        break
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, "conn")
                    n += 1
                    live += 1
                    peak = max(peak, live)
                continue
            try:
                data = s.recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                try:
                    s.send(data)  # a few bytes: never more than the buffer
                except OSError:
                    pass
                continue
            sel.unregister(s)
            s.close()
            live -= 1
    print(f"hold: {n} connections, {peak} at most at once")
    return 0


def noaccept(addr, port, seconds):
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    # The accept queue holds backlog + 1: two local connections fill it;
    # from then on the kernel drops every SYN to this port.
    fillers = []
    for _ in range(2):
        c = socket.socket(family_of(addr), socket.SOCK_STREAM)
        c.settimeout(5)
        c.connect((addr, port))
        fillers.append(c)
    print("noaccept: accept queue full", flush=True)
    time.sleep(seconds)
    return 0


def echo(addrs, port, seconds):
    sel = selectors.DefaultSelector()
    for addr in addrs.split(","):
        s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
        if family_of(addr) == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((addr, port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            for _ in range(64):
                try:
                    data, peer = key.fileobj.recvfrom(65535)
                except BlockingIOError:
                    break
                try:
                    key.fileobj.sendto(data, peer)
                except OSError:
                    pass
                n += 1
    print(f"echo: {n} datagrams")
    return 0


# ---------------------------------------------------------------- clients

def connect_to(target, timeout):
    addr, port = parse_target(target)
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def request(target, mode, size, kibps=0, stream=0, timeout=60):
    """One D or U request; returns (ok, bytes, digest hex, what went wrong)."""
    with connect_to(target, timeout) as s:
        s.sendall(HEADER.pack(mode.encode(), stream, size, kibps))
        if mode == "D":
            got, mine = recv_stream(s, size)
            theirs = recv_exact(s, 32)
            if got != size:
                return False, got, "", f"download ended after {got} of {size} bytes"
        else:
            # No half-close: the server knows the size and ends first, as
            # in D, so that TIME-WAIT stays at the server (a client closing
            # first would leave thousands of TIME-WAIT sockets holding the
            # ephemeral ports of the namespace and of pasta's host side).
            mine = send_stream(s, stream, size, kibps)
            theirs = recv_exact(s, 32)
            got = size
        if theirs != mine:
            return False, got, mine.hex(), (
                "digest differs" if len(theirs) == 32 else "no digest from the server")
        # The server's end of stream, then ours: the flow ends with FINs.
        if s.recv(1):
            return False, got, mine.hex(), "data after the digest"
        return True, got, mine.hex(), ""


def one_transfer(mode, target, size, kibps=0, stream=0, seconds=60):
    t0 = time.monotonic()
    try:
        ok, got, hexd, why = request(target, mode, size, kibps, stream, seconds)
    except OSError as e:
        ok, got, hexd, why = False, 0, "", f"{type(e).__name__}: {e}"
    took = time.monotonic() - t0
    if ok:
        print(f"ok {got} {hexd} in {took:.1f} s")
        return 0
    print(f"FAILED {'download' if mode == 'D' else 'upload'} {target} after {took:.1f} s: {why}")
    return 1


def expect_reset(target, mode, size):
    t0 = time.monotonic()
    how = "?"
    moved = 0
    try:
        with connect_to(target, 30) as s:
            s.sendall(HEADER.pack(mode.encode(), 9, size, 0))
            if mode == "R":
                while True:
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        how = "clean end of stream"
                        break
                    moved += len(chunk)
            else:
                # Four times what the server reads before it resets.
                for k in range(4 * size // CHUNK + 1):
                    s.sendall(chunk_of(9, k, CHUNK))
                    moved += CHUNK
                s.shutdown(socket.SHUT_WR)
                how = "answer" if s.recv(64) else "clean end of stream"
    except (ConnectionResetError, BrokenPipeError) as e:
        how = "reset"
        detail = type(e).__name__
    except OSError as e:
        how = f"{type(e).__name__}: {e}"
    took = time.monotonic() - t0
    if how == "reset":
        print(f"reset ({detail}) after {moved} bytes, {took:.2f} s")
        return 0
    print(f"FAILED: expected a reset, got {how} after {moved} bytes, {took:.2f} s")
    return 1


def try_connect(target, seconds):
    t0 = time.monotonic()
    try:
        connect_to(target, seconds).close()
        what = "connected"
    except ConnectionRefusedError:
        what = "refused"
    except socket.timeout:
        what = "timeout"
    except OSError as e:
        what = f"{type(e).__name__}: {e}"
    print(f"{what} after {int((time.monotonic() - t0) * 1000)} ms")
    return 0


def pingpong(target, stopfile, seconds):
    rng = random.Random(7)
    end = time.monotonic() + seconds
    n = moved = 0
    longest = 0.0
    try:
        with connect_to(target, 30) as s:
            s.sendall(HEADER.pack(b"P", 0, 0, 0))
            while not os.path.exists(stopfile) and time.monotonic() < end:
                size = rng.randint(1, 256 << 10)
                data = chunk_of(n, n, size)
                t0 = time.monotonic()
                s.sendall(size.to_bytes(4, "big") + data)
                back = recv_exact(s, size)
                longest = max(longest, time.monotonic() - t0)
                if back != data:
                    print(f"FAILED pingpong {target}: exchange {n}: got {len(back)} of "
                          f"{size} bytes" + (", content differs" if len(back) == size else ""))
                    return 1
                n += 1
                moved += 2 * size
                time.sleep(0.02)
            s.sendall(b"\0\0\0\0")
            s.shutdown(socket.SHUT_WR)
            if s.recv(1):
                print(f"FAILED pingpong {target}: data after the end")
                return 1
    except OSError as e:
        print(f"FAILED pingpong {target} after {n} exchanges: {type(e).__name__}: {e}")
        return 1
    print(f"pingpong {target}: {n} exchanges, {moved >> 20} MiB intact, "
          f"longest round trip {longest * 1000:.0f} ms")
    return 0 if n > 0 else 1


def churn(seconds, maximum, workers, maxsize, targets):
    end = time.monotonic() + seconds
    lock = threading.Lock()
    counts = {"D": 0, "U": 0, "bytes": 0, "started": 0}
    errors = []

    def worker(w):
        rng = random.Random(w)
        i = 0
        while time.monotonic() < end:
            with lock:
                if counts["started"] >= maximum:
                    return
                counts["started"] += 1
                n = counts["started"]
            target = targets[(w + i) % len(targets)]
            mode = "DU"[(n + w) % 2]
            size = rng.randint(1, maxsize)
            i += 1
            try:
                ok, got, _, why = request(target, mode, size, 0, n, 30)
            except OSError as e:
                ok, why = False, f"{type(e).__name__}: {e}"
            with lock:
                if ok:
                    counts[mode] += 1
                    counts["bytes"] += size
                else:
                    errors.append(f"{mode} {size} bytes {target}: {why}")

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, end + 40 - time.monotonic()))
    hung = sum(t.is_alive() for t in threads)
    took = time.monotonic() - t0
    good = counts["D"] + counts["U"]
    print(f"churn: {good} connections intact ({counts['D']} down, {counts['U']} up, "
          f"{counts['bytes'] >> 10} KiB), {len(errors)} failed, {hung} workers hung, "
          f"{took:.1f} s")
    for e in errors[:5]:
        print(f"  {e}")
    return 0 if good > 0 and not errors and not hung else 1


def udp(seconds, maxflows, dgrams, targets):
    end = time.monotonic() + seconds
    rng = random.Random(3)
    flows = set()
    sent = echoed = retried = 0
    bad = []
    n = 0
    while n < maxflows and time.monotonic() < end:
        target = targets[n % len(targets)]
        addr, port = parse_target(target)
        with socket.socket(family_of(addr), socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            s.connect((addr, port))
            flows.add((s.getsockname()[1], target))
            for j in range(dgrams):
                size = rng.randint(9, 1400)
                data = (n.to_bytes(4, "big") + j.to_bytes(4, "big") + bytes([j]) * size)[:size]
                got = None
                for attempt in range(3):
                    s.send(data)
                    sent += 1
                    retried += attempt > 0
                    try:
                        while True:
                            got = s.recv(65535)
                            if got[:8] == data[:8]:
                                break
                    except socket.timeout:
                        got = None
                        continue
                    except OSError as e:
                        got = None
                        bad.append(f"flow {n} datagram {j}: {e}")
                        break
                    break
                if got == data:
                    echoed += 1
                elif got is not None:
                    bad.append(f"flow {n} datagram {j}: echo differs")
                elif not bad or not bad[-1].startswith(f"flow {n} "):
                    bad.append(f"flow {n} datagram {j}: no echo after 3 tries")
        n += 1
    print(f"udp: {n} flows ({len(flows)} distinct), {echoed} of {n * dgrams} datagrams "
          f"echoed intact ({sent} sent, {retried} resent), {len(bad)} failed")
    for b in bad[:5]:
        print(f"  {b}")
    return 0 if n > 0 and echoed == n * dgrams else 1


def fill(target, count, expect):
    raise_nofile()
    addr, port = parse_target(target)
    fam = family_of(addr)
    conns, refused, other = [], 0, []
    t0 = time.monotonic()
    # Waves of non-blocking connects, each wave bounded in time.
    left = count
    while left > 0 and time.monotonic() - t0 < 60:
        wave = []
        for _ in range(min(256, left)):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex((addr, port))
            wave.append((s, rc))
        left -= len(wave)
        sel = selectors.DefaultSelector()
        pending = 0
        for s, rc in wave:
            if rc == errno.EINPROGRESS:
                sel.register(s, selectors.EVENT_WRITE)
                pending += 1
            elif rc == 0:
                conns.append(s)
            else:
                other.append(os.strerror(rc))
                s.close()
        deadline = time.monotonic() + 20
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                sel.unregister(s)
                pending -= 1
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0:
                    conns.append(s)
                elif err == errno.ECONNREFUSED:
                    refused += 1
                    s.close()
                else:
                    other.append(os.strerror(err))
                    s.close()
        for key in list(sel.get_map().values()):
            other.append("connect timed out")
            key.fileobj.close()
        sel.close()
    took = time.monotonic() - t0
    print(f"fill: {count} connects in {took:.1f} s: {len(conns)} connected, "
          f"{refused} refused, {len(other)} other{(': ' + other[0]) if other else ''}")
    ok = len(conns) == expect and refused == count - expect and not other

    # Every connection that made it still carries data: a few bytes each
    # way, through the full table.
    def echo_all(socks):
        sel = selectors.DefaultSelector()
        for i, s in enumerate(socks):
            s.setblocking(True)
            s.settimeout(10)
            s.sendall(b"%08d" % i)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
        good, deadline = 0, time.monotonic() + 30
        waiting = len(socks)
        while waiting and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                try:
                    data = key.fileobj.recv(64)
                except OSError:
                    data = b""
                sel.unregister(key.fileobj)
                waiting -= 1
                good += data == b"%08d" % key.data
        sel.close()
        return good

    t1 = time.monotonic()
    good = echo_all(conns)
    print(f"fill: {good} of {len(conns)} connections echoed 8 bytes with the table full "
          f"({time.monotonic() - t1:.1f} s)")
    ok = ok and good == len(conns)
    try:
        connect_to(target, 5).close()
        print("fill: one more connection with the table full: FAILED, it connected")
        ok = False
    except ConnectionRefusedError:
        print("fill: one more connection with the table full: refused")
    except OSError as e:
        print(f"fill: one more connection with the table full: FAILED, {e}")
        ok = False
    for s in conns:
        s.close()
    # The closed flows free their slots once both ends have finished: new
    # connections must work again (retried for 30 s at most).
    t2 = time.monotonic()
    again = []
    while time.monotonic() - t2 < 30:
        try:
            again = [connect_to(target, 5) for _ in range(64)]
            break
        except OSError:
            for s in again:
                s.close()
            again = []
            time.sleep(0.5)
    good = echo_all(again) if again else 0
    print(f"fill: after closing them, {good} of 64 new connections work "
          f"({time.monotonic() - t2:.1f} s after the close)")
    for s in again:
        s.close()
    return 0 if ok and good == 64 else 1


# ---------------------------------------------------------------- tools

def socket_tables(pid, prefix):
    """Inode -> kind for the sockets of PID's network namespace."""
    inodes = {}
    for name, kind in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                next(f)
                for line in f:
                    w = line.split()
                    listen = kind == "tcp" and w[3] == "0A"
                    inodes[w[9]] = prefix + ("tcp_listen" if listen else (
                        "tcp_conn" if kind == "tcp" else "udp"))
        except OSError:
            pass
    return inodes


def fdstat(pid, ns_pid=None):
    """Sockets in pasta's own namespace's tables, in the target namespace's
    (NS_PID is a process there), and in neither: sockets not bound nor
    connected yet (pasta's pool of namespace sockets for the splice path)."""
    inodes = socket_tables(pid, "")
    if ns_pid:
        inodes.update(socket_tables(ns_pid, "ns_"))
    kinds = ("tcp_listen", "tcp_conn", "udp", "ns_tcp_listen", "ns_tcp_conn", "ns_udp",
             "unlisted", "pipe", "other")
    counts = dict.fromkeys(kinds, 0)
    fds = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        fds += 1
        if link.startswith("socket:["):
            counts[inodes.get(link[8:-1], "unlisted")] += 1
        elif link.startswith("pipe:"):
            counts["pipe"] += 1
        else:
            counts["other"] += 1
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    print(f"fds {fds} " + " ".join(f"{k} {v}" for k, v in counts.items()) + f" rss_kib {rss}")
    return 0


def tc(*args, check=True):
    r = subprocess.run(["tc", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"tc {' '.join(args)}: {r.stderr.strip()}")
    return r


def ip(*args):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")


# Classic BPF: A = random u32; match (return -1) if A < k, else no match.
SKF_AD_RANDOM = 0xFFFFF000 + 56


def random_below(fraction):
    k = int(fraction * (1 << 32))
    return f"4,32 0 0 {SKF_AD_RANDOM},53 1 0 {k},6 0 0 4294967295,6 0 0 0"


def add_ifb(name, limit):
    ip("link", "add", name, "type", "ifb")
    ip("link", "set", name, "up")
    tc("qdisc", "add", "dev", name, "root", "pfifo", "limit", str(limit))


def impair(dev, loss, dup, reorder):
    """Each way: LOSS of the frames go to an ifb whose pfifo holds nothing
    (dropped); DUP are mirrored to an ifb that sends the copy on, after the
    original (duplicated, late); REORDER of the rest take a detour through
    a third ifb and fall behind the frames that went straight. An ifb
    re-injects where the frame came from, skipping classification, so a
    copy is never impaired twice."""
    tc("qdisc", "add", "dev", dev, "clsact")
    for way in ("egress", "ingress"):
        tag = way[:2]
        add_ifb(f"imp_l{tag}", 0)
        add_ifb(f"imp_d{tag}", 10000)
        add_ifb(f"imp_r{tag}", 10000)
        rules = (("1", loss, "redirect", f"imp_l{tag}"),
                 ("2", dup, "mirror", f"imp_d{tag}"),
                 ("3", reorder, "redirect", f"imp_r{tag}"))
        for prio, frac, how, target in rules:
            if frac <= 0:
                continue
            args = ["filter", "add", "dev", dev, way, "protocol", "all", "prio", prio,
                    "bpf", "bytecode", random_below(frac),
                    "action", "mirred", "egress", how, "dev", target]
            if how == "mirror":
                args.append("continue")  # the original goes on to prio 3
            tc(*args)
    print(f"impair {dev}: random {loss:.0%} loss, {dup:.0%} duplicated, {reorder:.0%} "
          f"reordered (cBPF + ifb + mirred), both ways")
    return 0


def qdisc_counts(dev):
    """(frames sent, frames dropped) of DEV's root qdisc, from `tc -s`.
    Frames are GSO frames: the tap carries up to 64 KiB in one."""
    out = tc("-s", "qdisc", "show", "dev", dev, "root", check=False).stdout.split()
    sent = dropped = 0
    for i, w in enumerate(out):
        if w == "Sent" and i + 3 < len(out):
            sent = int(out[i + 3])
        if w == "(dropped" and i + 1 < len(out):
            dropped = int(out[i + 1].rstrip(","))
    return sent, dropped


def impaired(dev):
    parts = []
    for tag, name in (("eg", "from the namespace"), ("in", "to it")):
        _, lost = qdisc_counts(f"imp_l{tag}")
        dup, _ = qdisc_counts(f"imp_d{tag}")
        late, _ = qdisc_counts(f"imp_r{tag}")
        parts.append(f"{name} {lost} frames dropped, {dup} duplicated, {late} reordered")
    print(f"impaired {dev}: " + "; ".join(parts))
    return 0


def main():
    a = sys.argv[1:]
    cmd = a[0] if a else ""
    if cmd == "serve":
        return serve(a[1], int(a[2]), float(a[3]), a[4] if len(a) > 4 else None)
    if cmd == "hold":
        return hold(a[1], int(a[2]), float(a[3]))
    if cmd == "noaccept":
        return noaccept(a[1], int(a[2]), float(a[3]))
    if cmd == "echo":
        return echo(a[1], int(a[2]), float(a[3]))
    if cmd in ("get", "put"):
        rest = [int(x) for x in a[3:6]] + [0, 0, 60][len(a[3:6]):]
        return one_transfer("D" if cmd == "get" else "U", a[1], int(a[2]), *rest)
    if cmd == "reset":
        return expect_reset(a[1], a[2], int(a[3]))
    if cmd == "connect":
        return try_connect(a[1], float(a[2]))
    if cmd == "pingpong":
        return pingpong(a[1], a[2], float(a[3]))
    if cmd == "churn":
        return churn(float(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5:])
    if cmd == "udp":
        return udp(float(a[1]), int(a[2]), int(a[3]), a[4:])
    if cmd == "fill":
        return fill(a[1], int(a[2]), int(a[3]))
    if cmd == "fdstat":
        return fdstat(int(a[1]), int(a[2]) if len(a) > 2 else None)
    if cmd == "impair":
        try:
            return impair(a[1], float(a[2]), float(a[3]), float(a[4]))
        except RuntimeError as e:
            print(f"impair: {e}")
            return 1
    if cmd == "impaired":
        return impaired(a[1])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
