#!/usr/bin/python3
"""UDP helpers for the lab tests (bounded in count and time).

  udp_tool.py echo ADDR PORT SECONDS      echo every datagram back, for SECONDS
  udp_tool.py client ADDR PORT COUNT      send COUNT datagrams of mixed sizes,
                                          one at a time, and check each echo
  udp_tool.py pair ADDR PORT COUNT        two sockets to the same destination,
                                          interleaved: each must get only its
                                          own echoes
  udp_tool.py refused ADDR PORT           a connected socket to a closed port
                                          must see ECONNREFUSED within 2 s
Prints one summary line; exits non-zero on any mismatch or loss.
"""
import hashlib
import socket
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def payload(seq, size):
    head = seq.to_bytes(4, "big")
    body = hashlib.sha256(head).digest() * (size // 32 + 1)
    return (head + body)[:size]


def echo(addr, port, seconds):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(0.5)
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        s.sendto(data, peer)
        n += 1
    print(f"echo: {n} datagrams")


SIZES = [1, 7, 64, 512, 1200, 1400, 1472, 2000, 4000, 8000]


def roundtrip(s, seq, size, retries=3):
    """Sends datagram `seq` and waits for its echo (UDP may drop: retry)."""
    data = payload(seq, size)
    for _ in range(retries):
        s.send(data)
        try:
            while True:
                got = s.recv(65535)
                if got == data:
                    return True, 0
                if got[:4] != data[:4]:
                    continue  # a late echo of an earlier retry
                return False, 1  # same sequence number, different bytes
        except socket.timeout:
            continue
    return False, 0


def client(addr, port, count):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(1.0)
    ok = corrupt = lost = 0
    nbytes = 0
    start = time.time()
    for seq in range(count):
        size = SIZES[seq % len(SIZES)]
        good, bad = roundtrip(s, seq, size)
        ok += good
        corrupt += bad
        lost += not good and not bad
        nbytes += size if good else 0
        if time.time() - start > 120:
            break
    print(f"client: {ok} of {count} echoed intact, {nbytes} bytes, "
          f"{corrupt} corrupt, {lost} lost, {time.time() - start:.2f} s")
    return 0 if ok == count else 1


def pair(addr, port, count):
    socks = []
    for _ in range(2):
        s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
        s.connect((addr, port))
        s.settimeout(1.0)
        socks.append(s)
    crossed = ok = 0
    for seq in range(count):
        for i, s in enumerate(socks):
            tag = seq * 2 + i
            data = payload(tag, 100 + i)
            s.send(data)
        for i, s in enumerate(socks):
            tag = seq * 2 + i
            try:
                got = s.recv(65535)
            except socket.timeout:
                continue
            if int.from_bytes(got[:4], "big") % 2 != i:
                crossed += 1
            elif got == payload(tag, 100 + i):
                ok += 1
    print(f"pair: {ok} of {2 * count} own echoes, {crossed} crossed")
    return 0 if crossed == 0 and ok >= 2 * count * 0.99 else 1


def refused(addr, port):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(2.0)
    start = time.time()
    s.send(b"anyone?")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        print(f"refused: ECONNREFUSED after {time.time() - start:.3f} s")
        return 0
    except socket.timeout:
        print("refused: no error within 2 s")
        return 1
    print("refused: got an answer")
    return 1


def main():
    cmd, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "echo":
        echo(addr, port, float(sys.argv[4]))
        return 0
    if cmd == "client":
        return client(addr, port, int(sys.argv[4]))
    if cmd == "pair":
        return pair(addr, port, int(sys.argv[4]))
    if cmd == "refused":
        return refused(addr, port)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
