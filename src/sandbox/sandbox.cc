#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "ns/clone_helper.h"

namespace pasta::sandbox {

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
constexpr bool kFilterSupported = true;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
constexpr bool kFilterSupported = true;
#else
constexpr uint32_t kAuditArch = 0;
constexpr bool kFilterSupported = false;
#endif

constexpr int kLastCap = 40;  // CAP_CHECKPOINT_RESTORE

// Names as capabilities(7) spells them, without the CAP_ prefix.
constexpr const char* kCapNames[kLastCap + 1] = {
    "chown",          "dac_override",     "dac_read_search", "fowner",
    "fsetid",         "kill",             "setgid",          "setuid",
    "setpcap",        "linux_immutable",  "net_bind_service", "net_broadcast",
    "net_admin",      "net_raw",          "ipc_lock",        "ipc_owner",
    "sys_module",     "sys_rawio",        "sys_chroot",      "sys_ptrace",
    "sys_pacct",      "sys_admin",        "sys_boot",        "sys_nice",
    "sys_resource",   "sys_time",         "sys_tty_config",  "mknod",
    "lease",          "audit_write",      "audit_control",   "setfcap",
    "mac_override",   "mac_admin",        "syslog",          "wake_alarm",
    "block_suspend",  "audit_read",       "perfmon",         "bpf",
    "checkpoint_restore"};

struct SyscallEntry {
  int nr;
  const char* name;
};

// Every system call this architecture's headers define, generated at build
// time from <sys/syscall.h> (see CMakeLists.txt).
constexpr SyscallEntry kSyscallNames[] = {
#include "syscall_names.inc"
};

bool GetCaps(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capget, &header, data) == 0;
}

absl::Status SetCaps(CapMask effective, CapMask permitted,
                     CapMask inheritable) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2];
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) != 0)
    return ErrnoToStatus(errno, "capset");
  return absl::OkStatus();
}

CapMask PermittedCaps() {
  __user_cap_data_struct data[2];
  if (!GetCaps(data)) return 0;
  return data[0].permitted | (CapMask{data[1].permitted} << 32);
}

// SIGSYS from the filter: one line naming the call, then exit. Runs where the
// call was made, possibly inside the namespace helper (whose exit then fails
// the helper's work, and the caller reports that too).
void OnSigsys(int /*sig*/, siginfo_t* info, void* /*ucontext*/) {
  char line[128];
  const int nr = info->si_syscall;
  const int n = snprintf(line, sizeof(line),
                         "sandbox: system call %s (%d) is not allowed; "
                         "exiting",
                         SyscallName(nr), nr);
  if (n > 0) {
    log::Write(log::Level::kError,
               std::string_view(line, std::min<size_t>(n, sizeof(line) - 1)));
  }
  _exit(1);
}

}  // namespace

CapMask EffectiveCaps() {
  __user_cap_data_struct data[2];
  if (!GetCaps(data)) return 0;
  return data[0].effective | (CapMask{data[1].effective} << 32);
}

std::string DescribeCaps(CapMask caps) {
  std::string out;
  for (int cap = 0; cap <= kLastCap; ++cap) {
    if ((caps & Cap(cap)) == 0) continue;
    if (!out.empty()) out += ',';
    out += kCapNames[cap];
  }
  return out.empty() ? "none" : out;
}

const char* SyscallName(int nr) {
  for (const SyscallEntry& e : kSyscallNames) {
    if (e.nr == nr) return e.name;
  }
  return "?";
}

absl::Status DetachFileSystem(bool chroot_fallback, bool* fell_back) {
  if (fell_back != nullptr) *fell_back = false;
  if (unshare(CLONE_NEWNS) != 0)
    return ErrnoToStatus(errno, "unshare(CLONE_NEWNS)");
  // Nothing we do from here may reach the mounts we came from.
  if (mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    // EINVAL: "/" is no mount point, as in a plain chroot (upstream fails
    // there too).
    return ErrnoToStatus(errno, errno == EINVAL
                                    ? "making / private (is / a mount point? "
                                      "for a chroot, bind-mount its directory "
                                      "onto itself first)"
                                    : "making / private");
  }
  // Any directory serves as the mount point of the new root.
  const char* dir = nullptr;
  for (const char* d : {"/tmp", "/run", "/proc", "/dev"}) {
    struct stat st;
    if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
      dir = d;
      break;
    }
  }
  if (dir == nullptr) return absl::NotFoundError("no directory to mount on");
  if (mount("pasta", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            "size=4k,nr_inodes=2,mode=0555") != 0) {
    return ErrnoToStatus(errno, absl::StrCat("mounting a tmpfs on ", dir));
  }
  if (chdir(dir) != 0) return ErrnoToStatus(errno, "chdir");
  // pivot_root(".", "."): the old root ends up stacked on the new one at
  // "/", and detaching it leaves only the tmpfs (pivot_root(2), NOTES).
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    if (umount2(".", MNT_DETACH) != 0)
      return ErrnoToStatus(errno, "detaching the old root");
  } else if (!chroot_fallback) {
    return ErrnoToStatus(errno, errno == EINVAL
                                    ? "pivot_root (on a root that can't be "
                                      "pivoted, as initramfs, try "
                                      "--chroot-fallback)"
                                    : "pivot_root");
  } else {
    LOG_DEBUG("sandbox: pivot_root: %s, falling back to chroot()",
              strerror(errno));
    // The tmpfs goes on top of "/" and becomes our root.
    if (mount(dir, "/", nullptr, MS_MOVE, nullptr) != 0)
      return ErrnoToStatus(errno, "--chroot-fallback: moving the tmpfs to /");
    if (chroot(".") != 0)
      return ErrnoToStatus(errno, "--chroot-fallback: chroot");
    if (fell_back != nullptr) *fell_back = true;
  }
  if (chdir("/") != 0) return ErrnoToStatus(errno, "chdir /");
  if (mount("", "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
                                  MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    return ErrnoToStatus(errno, "making the new root read-only");
  }
  return absl::OkStatus();
}

absl::Status DropPrivileges(CapMask keep, const std::optional<Ids>& runas) {
  const CapMask had = PermittedCaps();
  keep &= had;
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes
  // with the rest below.
  if (had & Cap(CAP_SETPCAP)) {
    for (int cap = 0; cap <= kLastCap; ++cap) {
      if (keep & Cap(cap)) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
        return ErrnoToStatus(errno, "dropping from the bounding set");
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (runas) {
    // Keep the permitted set across the change of user; the effective set
    // is cleared by it and restored below.
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
      return ErrnoToStatus(errno, "PR_SET_KEEPCAPS");
    // setgroups() is refused in a user namespace with setgroups denied; we
    // then have no supplementary groups to lose beyond the overflow ones.
    if (setgroups(0, nullptr) != 0 && errno != EPERM)
      return ErrnoToStatus(errno, "setgroups");
    if (setresgid(runas->gid, runas->gid, runas->gid) != 0) {
      return ErrnoToStatus(errno,
                           absl::StrCat("--runas: setting group ", runas->gid));
    }
    if (setresuid(runas->uid, runas->uid, runas->uid) != 0) {
      return ErrnoToStatus(errno,
                           absl::StrCat("--runas: setting user ", runas->uid));
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  RETURN_IF_ERROR(SetCaps(keep, keep, 0));
  return absl::OkStatus();
}

bool SyscallFilterApplies() { return kFilterSupported && !kSanitizerBuild; }

const std::vector<int>& AllowedSyscalls() {
  // The hot ones first: the filter compares in this order.
  static const std::vector<int> calls = {
#if defined(SYS_epoll_wait)
      SYS_epoll_wait,
#endif
      SYS_epoll_pwait, SYS_read, SYS_write, SYS_readv,
      SYS_writev, SYS_recvfrom, SYS_sendto, SYS_recvmsg, SYS_sendmsg,
      SYS_recvmmsg, SYS_sendmmsg, SYS_splice, SYS_epoll_ctl, SYS_accept4,
      SYS_connect, SYS_socket, SYS_bind, SYS_listen, SYS_setsockopt,
      SYS_getsockopt, SYS_getsockname, SYS_getpeername, SYS_shutdown,
      SYS_close, SYS_fcntl, SYS_ioctl, SYS_pipe2, SYS_clock_gettime,
      SYS_clock_nanosleep, SYS_nanosleep, SYS_timerfd_settime,
      SYS_timerfd_gettime, SYS_lseek, SYS_pread64, SYS_ftruncate,
      SYS_getpid, SYS_gettid, SYS_getuid, SYS_geteuid, SYS_getgid,
      SYS_getegid, SYS_getppid, SYS_getrandom,
      SYS_kill, SYS_tgkill, SYS_wait4, SYS_waitid, SYS_setns,
      SYS_fstat, SYS_newfstatat, SYS_statx, SYS_close_range, SYS_dup,
      SYS_mmap, SYS_munmap, SYS_mremap, SYS_madvise, SYS_brk, SYS_mprotect,
      SYS_futex, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_sched_yield,
      SYS_restart_syscall, SYS_exit, SYS_exit_group,
#if defined(SYS_epoll_pwait2)
      SYS_epoll_pwait2,
#endif
  };
  return calls;
}

absl::Status InstallSyscallFilter(const std::vector<int>& allowed,
                                  uint32_t clone_flags) {
  if (!kFilterSupported) {
    return absl::UnimplementedError(
        "no system call filter for this architecture");
  }
  const size_t n = allowed.size();
  if (n > 200) return absl::InvalidArgumentError("allow-list too long");
  std::vector<sock_filter> prog;
  auto stmt = [&](uint16_t code, uint32_t k) {
    prog.push_back(sock_filter{code, 0, 0, k});
  };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    prog.push_back(sock_filter{code, jt, jf, k});
  };
  // A call made for another ABI (e.g. 32-bit on x86-64) is killed outright.
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
#if defined(__x86_64__)
  // x32 calls carry bit 30 on the same audit arch.
  jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
#endif
  // clone() with the helper's flags only: no new namespaces, no threads.
  // The low 32 bits of args[0] (little-endian on both architectures).
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0]));
  jump(BPF_JMP | BPF_JEQ | BPF_K, clone_flags, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  for (size_t i = 0; i < n; ++i) {
    // Taken: jump over the rest of the list and the trap to the allow.
    jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(allowed[i]),
         static_cast<uint8_t>(n - i), 0);
  }
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

  struct sigaction sa {};
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0)
    return ErrnoToStatus(errno, "sigaction(SIGSYS)");
  sigset_t sys;
  sigemptyset(&sys);
  sigaddset(&sys, SIGSYS);
  sigprocmask(SIG_UNBLOCK, &sys, nullptr);

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return ErrnoToStatus(errno, "PR_SET_NO_NEW_PRIVS");
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
    return ErrnoToStatus(errno, "installing the seccomp filter");
  return absl::OkStatus();
}

absl::StatusOr<Outcome> Enter(const Plan& plan) {
  Outcome out;
  if (kSanitizerBuild) {
    out.fs_note = "sanitizer build";
  } else {
    bool can_mount = EffectiveCaps() & Cap(CAP_SYS_ADMIN);
    if (!can_mount && plan.userns_fd >= 0) {
      if (setns(plan.userns_fd, CLONE_NEWUSER) != 0) {
        return ErrnoToStatus(errno, "sandbox: joining the target's user "
                                    "namespace");
      }
      out.joined_userns = true;
      can_mount = EffectiveCaps() & Cap(CAP_SYS_ADMIN);
    }
    if (can_mount) {
      absl::Status st =
          DetachFileSystem(plan.chroot_fallback, &out.fs_chroot);
      if (!st.ok()) {
        return absl::Status(st.code(), absl::StrCat("sandbox: ",
                                                    st.message()));
      }
      out.fs_detached = true;
    } else {
      out.fs_note = "no CAP_SYS_ADMIN in our user namespace, and no target "
                    "user namespace to join";
    }
  }
  if (absl::Status st = DropPrivileges(plan.keep, plan.runas); !st.ok())
    return absl::Status(st.code(), absl::StrCat("sandbox: ", st.message()));
  out.caps = EffectiveCaps();
  if (plan.filter_syscalls && SyscallFilterApplies()) {
    absl::Status st = InstallSyscallFilter(
        AllowedSyscalls(), static_cast<uint32_t>(ns::kHelperCloneFlags));
    if (!st.ok())
      return absl::Status(st.code(), absl::StrCat("sandbox: ", st.message()));
    out.syscalls_filtered = true;
  }
  return out;
}

}  // namespace pasta::sandbox
