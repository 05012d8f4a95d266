#!/usr/bin/python3
"""TCP helpers for the port forwarding lab test (bounded in count and time).

  forward_tool.py serve ADDRS PORTS SECONDS FILE READY
        listen on every address of ADDRS (comma-separated; IPv6 ones
        v6only) at every port of PORTS (comma-separated) for SECONDS, then
        touch READY. Each connection sends one command line:
          PORT   the server answers with the port it was reached on
          PEER   the server answers with the address it sees the client at
          GET    the server sends FILE, then ends its side
          PUT    the server reads to the client's end of stream, waits
                 0.5 s (the connection is half-closed meanwhile), then
                 answers "BYTES SHA256"
  forward_tool.py get ADDR PORT          GET; prints "BYTES SHA256" of what came
  forward_tool.py get ADDR PORT STARTED GO
        the same, but after the first MiB touches STARTED and reads on only
        once GO exists (60 s at most)
  forward_tool.py put ADDR PORT FILE     PUT of FILE; prints the server's answer
  forward_tool.py port ADDR PORT         PORT; prints the answer, or what went
                                         wrong (refused, reset, ...)
  forward_tool.py peer ADDR PORT         PEER; prints the answer
  forward_tool.py wait ADDR PORT STATE SECONDS
        probes (PORT) every 50 ms until STATE is seen: "open" (an answer) or
        "refused" (connect() refused); prints how long it took
Exits non-zero on any error.
"""
import hashlib
import os
import socket
import sys
import threading
import time

CHUNK = 1 << 20


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def read_line(s, limit=64):
    buf = b""
    while not buf.endswith(b"\n") and len(buf) < limit:
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf.decode(errors="replace").strip()


def serve_one(conn, path):
    with conn:
        conn.settimeout(120)
        try:
            cmd = read_line(conn)
            if cmd == "PORT":
                conn.sendall(b"%d\n" % conn.getsockname()[1])
            elif cmd == "PEER":
                conn.sendall(conn.getpeername()[0].encode() + b"\n")
            elif cmd == "GET":
                with open(path, "rb") as f:
                    conn.sendfile(f)
            elif cmd == "PUT":
                h = hashlib.sha256()
                n = 0
                while True:
                    chunk = conn.recv(CHUNK)
                    if not chunk:
                        break
                    h.update(chunk)
                    n += len(chunk)
                time.sleep(0.5)
                conn.sendall(b"%d %s\n" % (n, h.hexdigest().encode()))
            conn.shutdown(socket.SHUT_WR)
            # Wait for the client's close so that ours never resets data it
            # has not read yet.
            while conn.recv(CHUNK):
                pass
        except OSError:
            pass


def serve(addrs, ports, seconds, path, ready):
    listeners = []
    for addr in addrs.split(","):
        for port in ports.split(","):
            ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if ":" in addr:
                ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            ls.bind((addr, int(port)))
            ls.listen(64)
            listeners.append(ls)

    def accept_loop(ls, end):
        ls.settimeout(0.2)
        while time.time() < end:
            try:
                conn, _ = ls.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve_one, args=(conn, path), daemon=True).start()

    end = time.time() + seconds
    threads = [threading.Thread(target=accept_loop, args=(ls, end), daemon=True)
               for ls in listeners]
    for t in threads:
        t.start()
    open(ready, "w").close()
    for t in threads:
        t.join()
    return 0


def connect(addr, port, timeout):
    family = family_of(addr)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    # Through getaddrinfo, which reads a scope ("fe80::1%tap0").
    s.connect(socket.getaddrinfo(addr, port, family, socket.SOCK_STREAM)[0][4])
    return s


def get(addr, port, started=None, go=None):
    with connect(addr, port, 60) as s:
        s.sendall(b"GET\n")
        h = hashlib.sha256()
        n = 0
        while True:
            chunk = s.recv(CHUNK)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
            if started and n >= CHUNK:
                # Part of it came: say so, and read on only once told to.
                open(started, "w").close()
                started = None
                end = time.monotonic() + 60
                while not os.path.exists(go) and time.monotonic() < end:
                    time.sleep(0.05)
    print(n, h.hexdigest())
    return 0


def put(addr, port, path):
    with connect(addr, port, 60) as s, open(path, "rb") as f:
        s.sendall(b"PUT\n")
        s.sendfile(f)
        s.shutdown(socket.SHUT_WR)
        answer = read_line(s, 128)
    if not answer:
        print("no answer after our end of stream")
        return 1
    print(answer)
    return 0


def probe(addr, port, cmd=b"PORT\n"):
    """One probe: ("open", answer) or (what went wrong, detail)."""
    try:
        s = connect(addr, port, 2)
    except ConnectionRefusedError:
        return "refused", ""
    except OSError as e:
        return "connect-error", f"{type(e).__name__}: {e}"
    with s:
        try:
            s.sendall(cmd)
            answer = read_line(s)
        except ConnectionResetError:
            return "reset", ""
        except OSError as e:
            return "error", f"{type(e).__name__}: {e}"
    if not answer:
        return "closed", ""
    return "open", answer


def port_cmd(addr, port, cmd=b"PORT\n"):
    state, detail = probe(addr, port, cmd)
    print(detail if state == "open" else f"{state} {detail}".strip())
    return 0 if state == "open" else 1


def wait(addr, port, want, seconds):
    start = time.monotonic()
    seen = []
    while True:
        state, detail = probe(addr, port)
        what = f"{state} ({detail})" if state not in ("open", "refused") and detail else state
        if not seen or seen[-1] != what:
            seen.append(what)
        took = time.monotonic() - start
        if state == want:
            print(f"{want} after {took * 1000:.0f} ms (seen: {', '.join(seen)})")
            return 0
        if took > seconds:
            print(f"not {want} after {seconds} s (seen: {', '.join(seen)}; last: {state} {detail})".rstrip())
            return 1
        time.sleep(0.05)


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 6 and a[0] == "serve":
            return serve(a[1], a[2], float(a[3]), a[4], a[5])
        if len(a) == 3 and a[0] == "get":
            return get(a[1], int(a[2]))
        if len(a) == 5 and a[0] == "get":
            return get(a[1], int(a[2]), a[3], a[4])
        if len(a) == 4 and a[0] == "put":
            return put(a[1], int(a[2]), a[3])
        if len(a) == 3 and a[0] == "port":
            return port_cmd(a[1], int(a[2]))
        if len(a) == 3 and a[0] == "peer":
            return port_cmd(a[1], int(a[2]), b"PEER\n")
        if len(a) == 5 and a[0] == "wait":
            return wait(a[1], int(a[2]), a[3], float(a[4]))
    except OSError as e:
        print(f"{type(e).__name__}: {e}")
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
