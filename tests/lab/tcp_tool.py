#!/usr/bin/python3
"""TCP helpers for the lab tests (bounded in count and time).

  tcp_tool.py serve ADDR PORT SECONDS     accept connections for SECONDS; each
                                          asks for a download (the server
                                          sends SIZE bytes of stream ID) or an
                                          upload (the server reads to EOF and
                                          answers with the SHA-256 of it)
  tcp_tool.py many ADDR PORT COUNT SIZE   COUNT connections at once, all
                                          established before any moves data;
                                          even ones download SIZE bytes, odd
                                          ones upload SIZE bytes; every byte
                                          checked
  tcp_tool.py impair DEV [LOSS REORDER]   1% loss and reordering on DEV, both
                                          ways: netem where the kernel has it
                                          (egress on DEV, ingress through an
                                          ifb), else random drops and a
                                          detour through an ifb chosen by
                                          classic BPF filters (cls_bpf, ifb,
                                          mirred: all built in where netem is
                                          missing; LOSS and REORDER, fractions,
                                          change the 1% and 25% there)
  tcp_tool.py impaired DEV                one line: what the impairment did
Prints one summary line; exits non-zero on any mismatch or error.
"""
import hashlib
import random
import socket
import subprocess
import sys
import threading
import time

HEADER = 9  # mode (b"D" or b"U"), stream id (4 bytes), size (4 bytes)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def payload(stream, size):
    return random.Random(stream).randbytes(size)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def recv_all(s):
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            return n, h.digest()
        h.update(chunk)
        n += len(chunk)


def serve_one(conn):
    with conn:
        conn.settimeout(120)
        try:
            head = recv_exact(conn, HEADER)
            if len(head) != HEADER:
                return
            mode = head[:1]
            stream = int.from_bytes(head[1:5], "big")
            size = int.from_bytes(head[5:9], "big")
            if mode == b"D":
                conn.sendall(payload(stream, size))
            elif mode == b"U":
                n, digest = recv_all(conn)
                conn.sendall(n.to_bytes(4, "big") + digest)
            conn.shutdown(socket.SHUT_WR)
            # Wait for the client's close so that ours never resets data
            # it has not read yet.
            while conn.recv(1 << 16):
                pass
        except OSError:
            pass


def serve(addr, port, seconds):
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1024)
    ls.settimeout(0.5)
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        n += 1
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()
    print(f"serve: {n} connections")
    return 0


def many(addr, port, count, size):
    barrier = threading.Barrier(count)
    errors = [None] * count
    done = [0] * count
    connected = [False] * count

    def one(i):
        try:
            s = socket.socket(family_of(addr), socket.SOCK_STREAM)
            s.settimeout(90)
            with s:
                s.connect((addr, port))
                connected[i] = True
                try:
                    barrier.wait(timeout=60)
                except threading.BrokenBarrierError:
                    errors[i] = "not all connections were up at once"
                    return
                data = payload(i, size)
                if i % 2 == 0:
                    s.sendall(b"D" + i.to_bytes(4, "big") + size.to_bytes(4, "big"))
                    n, digest = recv_all(s)
                    if n != size or digest != hashlib.sha256(data).digest():
                        errors[i] = f"download: {n} of {size} bytes, " + (
                            "content differs" if n == size else "short")
                        return
                else:
                    s.sendall(b"U" + i.to_bytes(4, "big") + size.to_bytes(4, "big"))
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    reply = recv_exact(s, 36)
                    n = int.from_bytes(reply[:4], "big") if len(reply) == 36 else -1
                    if n != size or reply[4:] != hashlib.sha256(data).digest():
                        errors[i] = f"upload: server saw {n} of {size} bytes" + (
                            ", content differs" if n == size else "")
                        return
                done[i] = size
        except Exception as e:  # noqa: BLE001 - reported, counted as failed
            errors[i] = f"{type(e).__name__}: {e}"
            barrier.abort()

    start = time.time()
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, 150 - (time.time() - start)))
    hung = sum(t.is_alive() for t in threads)
    bad = [(i, e) for i, e in enumerate(errors) if e]
    # The first real errors, before the connections they made give up.
    bad.sort(key=lambda b: b[1].startswith("not all"))
    good = sum(1 for d in done if d == size)
    took = time.time() - start
    mib = sum(done) / (1 << 20)
    print(f"many: {good} of {count} connections intact ({sum(connected)} connected, "
          f"{len(bad)} failed, {hung} still running), {mib:.0f} MiB in {took:.2f} s")
    for i, e in bad[:5]:
        print(f"  connection {i}: {e}")
    return 0 if good == count else 1


def tc(*args, check=True):
    r = subprocess.run(["tc", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"tc {' '.join(args)}: {r.stderr.strip()}")
    return r


def ip(*args):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")


NETEM = ["netem", "loss", "1%", "delay", "1ms", "reorder", "25%", "50%"]
# Classic BPF: A = random u32; match (return -1) if A < k, else no match.
SKF_AD_RANDOM = 0xFFFFF000 + 56


def random_below(fraction):
    k = int(fraction * (1 << 32))
    return f"4,32 0 0 {SKF_AD_RANDOM},53 1 0 {k},6 0 0 4294967295,6 0 0 0"


def add_ifb(name, qdisc):
    ip("link", "add", name, "type", "ifb")
    ip("link", "set", name, "up")
    tc("qdisc", "add", "dev", name, "root", *qdisc)


def impair(dev, loss=0.01, reorder=0.25):
    netem = tc("qdisc", "add", "dev", dev, "root", *NETEM, check=False).returncode == 0
    tc("qdisc", "add", "dev", dev, "clsact")
    if netem:
        # Frames to the namespace: through ifb0, where netem does the same.
        add_ifb("tcpimp_in", NETEM)
        tc("filter", "add", "dev", dev, "ingress", "protocol", "all", "prio", "1",
           "u32", "match", "u32", "0", "0",
           "action", "mirred", "egress", "redirect", "dev", "tcpimp_in")
        print(f"impair {dev}: netem loss 1% delay 1ms reorder 25% 50%, both ways")
        return 0
    # No netem: 1% of the frames each way go to an ifb whose pfifo holds
    # nothing (dropped), 25% of the rest take a detour through another ifb
    # and fall behind the frames that went straight (reordered).
    for way in ("egress", "ingress"):
        tag = way[:2]
        add_ifb(f"tcpimp_d{tag}", ["pfifo", "limit", "0"])
        add_ifb(f"tcpimp_r{tag}", ["pfifo", "limit", "10000"])
        for prio, frac, target in (("1", loss, f"tcpimp_d{tag}"), ("2", reorder, f"tcpimp_r{tag}")):
            tc("filter", "add", "dev", dev, way, "protocol", "all", "prio", prio,
               "bpf", "bytecode", random_below(frac),
               "action", "mirred", "egress", "redirect", "dev", target)
    print(f"impair {dev}: no sch_netem in this kernel; instead random {loss:.0%} loss "
          f"and {reorder:.0%} reordered (cBPF + ifb), both ways")
    return 0


def qdisc_counts(dev):
    """(bytes sent, frames dropped) of DEV's root qdisc, from `tc -s`.
    Frames are GSO frames: the tap carries up to 64 KiB in one."""
    out = tc("-s", "qdisc", "show", "dev", dev, "root", check=False).stdout.split()
    sent = dropped = 0
    for i, w in enumerate(out):
        if w == "Sent" and i + 1 < len(out):
            sent = int(out[i + 1])
        if w == "(dropped" and i + 1 < len(out):
            dropped = int(out[i + 1].rstrip(","))
    return sent, dropped


def impaired(dev):
    out = tc("qdisc", "show", "dev", dev, "root", check=False).stdout
    if "netem" in out:
        _, d_out = qdisc_counts(dev)
        _, d_in = qdisc_counts("tcpimp_in")
        print(f"impaired {dev}: netem dropped {d_out} frames from the namespace, "
              f"{d_in} to it")
        return 0
    _, d_eg = qdisc_counts("tcpimp_deg")
    _, d_in = qdisc_counts("tcpimp_din")
    r_eg, _ = qdisc_counts("tcpimp_reg")
    r_in, _ = qdisc_counts("tcpimp_rin")
    print(f"impaired {dev}: from the namespace {d_eg} frames dropped, "
          f"{r_eg >> 10} KiB detoured; to it {d_in} dropped, {r_in >> 10} KiB detoured")
    return 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "serve":
        return serve(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    if cmd == "many":
        return many(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    if cmd == "impair":
        try:
            return impair(sys.argv[2], *(float(a) for a in sys.argv[3:5]))
        except RuntimeError as e:
            print(f"impair: {e}")
            return 1
    if cmd == "impaired":
        return impaired(sys.argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
