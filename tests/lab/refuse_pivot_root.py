#!/usr/bin/python3
"""Runs a command in which pivot_root(2) fails with EINVAL, as it does on a
root file system that can't be pivoted (initramfs, tmpfs as /).

  refuse_pivot_root.py COMMAND [ARG]...

A seccomp filter (inherited across exec) answers pivot_root with EINVAL and
allows every other call. Exits non-zero if it can't be installed.
"""
import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EINVAL = 22
BPF_LD_W_ABS = 0x20
BPF_JMP_JEQ_K = 0x15
BPF_RET_K = 0x06
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    nr = PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        sys.exit("refuse_pivot_root.py: unknown architecture")
    insns = [
        (BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (BPF_JMP_JEQ_K, 0, 1, nr),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EINVAL),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ]
    prog = b"".join(struct.pack("HBBI", *i) for i in insns)
    buf = ctypes.create_string_buffer(prog, len(prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(insns), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                       ctypes.byref(fprog), 0, 0) != 0:
        sys.exit("refuse_pivot_root.py: prctl: "
                 + os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[1], sys.argv[1:])


main()
