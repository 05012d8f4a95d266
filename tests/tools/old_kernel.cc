// old_kernel: runs a command as a 4.18 kernel would, as far as system calls
// go. It installs a seccomp filter that answers ENOSYS, as a kernel without
// them does, for every system call added after Linux 4.18 (on x86_64 and
// aarch64 alike, each of them numbered 424 or above: since 5.1 new calls
// take the same number on every architecture, and 4.19 to 5.0 added none
// on these two), then execs the command. The filter is inherited by
// everything the command starts, and outlives execve.
//
//   old_kernel COMMAND [ARG]...   run COMMAND under the filter
//   old_kernel --check            exit 0 if the filter answers ENOSYS for
//                                 pidfd_open, close_range and clone3 (the
//                                 lab test's proof that it works)
//
// It does not change what older kernels did differently inside a call
// (setsockopt options, ioctl flags); NETLINK_GET_STRICT_CHK is left to
// PASTA_NETLINK_NO_STRICT_CHK=1 in the lab test.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

#if defined(__x86_64__)
constexpr unsigned kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
#else
#error "old_kernel knows x86_64 and aarch64 only"
#endif

// The first system call number Linux 4.18 did not have (pidfd_send_signal,
// 5.1), and on x86_64 the x32 bit, left to whoever filters those.
constexpr unsigned kFirstNewCall = 424;
constexpr unsigned kX32Bit = 0x40000000;

int InstallFilter() {
  sock_filter prog[] = {
      // Another architecture's calls (a 32-bit compat task): untouched.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kFirstNewCall, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog fprog{static_cast<unsigned short>(sizeof(prog) / sizeof(prog[0])),
                   prog};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "old_kernel: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
    return -1;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
    fprintf(stderr, "old_kernel: installing the filter: %s\n",
            strerror(errno));
    return -1;
  }
  return 0;
}

// True if `nr` fails with ENOSYS (arguments chosen so that a kernel which
// has the call does nothing harmful with them).
bool Refused(const char* name, long nr, long a0, long a1, long a2) {
  errno = 0;
  const long ret = syscall(nr, a0, a1, a2);
  const int err = errno;
  if (ret >= 0 && nr == 434) close(static_cast<int>(ret));
  if (ret == -1 && err == ENOSYS) return true;
  fprintf(stderr, "old_kernel: %s was not refused (returned %ld, %s)\n", name,
          ret, strerror(err));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: old_kernel COMMAND [ARG]... | old_kernel --check\n");
    return 2;
  }
  if (InstallFilter() != 0) return 1;
  if (strcmp(argv[1], "--check") == 0) {
    bool ok = Refused("pidfd_open", 434, getpid(), 0, 0);
    ok = Refused("close_range", 436, 0x7ffffffe, 0x7ffffffe, 0) && ok;
    ok = Refused("clone3", 435, 0, 0, 0) && ok;  // NULL args: EFAULT if real
    // A call 4.18 had still works.
    if (syscall(SYS_getpid) != getpid()) ok = false;
    puts(ok ? "old_kernel: calls after 4.18 answer ENOSYS" : "old_kernel: FAILED");
    return ok ? 0 : 1;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "old_kernel: %s: %s\n", argv[1], strerror(errno));
  return 127;
}
