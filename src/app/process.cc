#include "app/process.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "sandbox/sandbox.h"

namespace pasta::app {

namespace {

// Whether we run in the initial user namespace (real root when uid 0): the
// identity map covers every ID there.
bool InInitialUserNamespace() {
  UniqueFd fd(open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return true;
  char buf[128];
  const ssize_t n = read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return true;
  buf[n] = '\0';
  unsigned long inside = 1, outside = 1, count = 0;
  return sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) == 3 &&
         inside == 0 && outside == 0 && count == 4294967295UL;
}

}  // namespace

absl::Status WritePidFile(Run& run) {
  if (run.cfg.pid_file.empty()) return absl::OkStatus();
  UniqueFd fd(open(run.cfg.pid_file.c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoToStatus(errno, "-P " + run.cfg.pid_file);
  const std::string text = std::to_string(getpid()) + "\n";
  if (write(fd.get(), text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    return ErrnoToStatus(errno, "writing " + run.cfg.pid_file);
  }
  // The file stays after we exit, as upstream's: podman reads it then to
  // check that we are gone, and its rootless-netns teardown to signal us.
  return absl::OkStatus();
}

// Forks; the parent waits until the child says it is ready, then exits 0
// (or 1 if the child failed). The child detaches from the terminal and from
// the caller's stdio (an engine waits for EOF on them), writes the PID file
// and goes on. Returns only in the child, with the descriptor that
// SignalReady() writes to once the child is ready (closed unwritten, it makes
// the parent exit 1).
absl::StatusOr<UniqueFd> Daemonize(Run& run) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "pipe2");
  const pid_t pid = fork();
  if (pid < 0) return ErrnoToStatus(errno, "fork");
  if (pid > 0) {
    // Only waiting here: let signals end us as usual.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    close(ready[1]);
    char ok = 0;
    ssize_t n;
    do {
      n = read(ready[0], &ok, 1);
    } while (n < 0 && errno == EINTR);
    _exit(n == 1 && ok == 1 ? 0 : 1);
  }
  close(ready[0]);
  UniqueFd ready_wr(ready[1]);
  setsid();
  absl::Status status = WritePidFile(run);
  if (!status.ok()) return status;  // parent sees EOF and exits 1
  // From here on, messages go to syslog (or the -l file).
  if (run.cfg.log_file.empty()) log::SetSyslog(true);
  log::SetStderr(false);
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) close(null);
  }
  return ready_wr;
}

void SignalReady(UniqueFd ready) {
  if (!ready.valid()) return;
  const char ok = 1;
  if (write(ready.get(), &ok, 1) != 1) {
    // The parent is gone; nothing to tell.
  }
}

// The last step of setup: see sandbox/sandbox.h. Keeps CAP_SYS_ADMIN (the
// helper's setns() for -T/-U listeners, auto forwarding and splice sockets),
// CAP_NET_BIND_SERVICE (ports below 1024) and, for --outbound-if4/6,
// CAP_NET_RAW (SO_BINDTODEVICE) and, following the host with --config-net,
// CAP_NET_ADMIN, each only if we have it.
absl::Status EnterSandbox(Run& run) {
  const config::Config& cfg = run.cfg;
  const bool real_root = getuid() == 0 && InInitialUserNamespace();
  sandbox::Plan plan;
  plan.userns_fd = run.target.userns.get();
  plan.keep = sandbox::Cap(CAP_SYS_ADMIN) | sandbox::Cap(CAP_NET_BIND_SERVICE);
  if (!cfg.outbound_if4.empty() || !cfg.outbound_if6.empty()) {
    plan.keep |= sandbox::Cap(CAP_NET_RAW);
  }
  // Following the host (app/follow.h) changes the tap's addresses and
  // routes in the namespace.
  if (run.follow && cfg.config_net) plan.keep |= sandbox::Cap(CAP_NET_ADMIN);
  if (cfg.runas_set) plan.runas = sandbox::Ids{cfg.runas_uid, cfg.runas_gid};
  plan.chroot_fallback = cfg.chroot_fallback;
  ASSIGN_OR_RETURN(sandbox::Outcome out, sandbox::Enter(plan));
  // Joined: the helper must not try again (setns() refuses a namespace the
  // caller is already in).
  if (out.joined_userns) run.target.userns.reset();
  if (real_root && !cfg.runas_set) {
    LOG_INFO(
        "running as root without --runas: keeping only the "
        "capabilities %s",
        sandbox::DescribeCaps(out.caps));
  }
  LOG_DEBUG("sandbox: %s%s; uid %d, gid %d; capabilities %s; system calls %s",
            out.fs_chroot     ? "empty file system (chroot)"
            : out.fs_detached ? "empty file system"
                              : "file system visible: ",
            out.fs_detached ? "" : out.fs_note, static_cast<int>(getuid()),
            static_cast<int>(getgid()), sandbox::DescribeCaps(out.caps),
            out.syscalls_filtered ? "filtered" : "not filtered");
  return absl::OkStatus();
}

}  // namespace pasta::app
