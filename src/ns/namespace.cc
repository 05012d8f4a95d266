#include "ns/namespace.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "common/log.h"
#include "common/status.h"

namespace pasta::ns {

namespace {

// Writes `text` to a /proc file; returns errno or 0.
int WriteProcFile(const char* path, const char* text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const size_t len = strlen(text);
  const ssize_t n = write(fd, text, len);
  const int err = n == static_cast<ssize_t>(len) ? 0 : (n < 0 ? errno : EIO);
  close(fd);
  return err;
}

// What the child of Spawn() needs, built before clone(): the child must not
// allocate.
struct ChildArgs {
  int go_fd;     // read end
  int go_wr_fd;  // our end, which the child's copy of our files must drop
  const char* path;
  char* const* argv;
  const char* hostname;
};

// The stack of the child of Spawn() until it execs: execvp() and dprintf()
// want a few KiB.
constexpr size_t kSpawnStackSize = 128 * 1024;

// The namespaces a spawned command gets, as upstream's: user, network, UTS,
// IPC and PID (the command is PID 1 of its PID namespace).
constexpr int kSpawnFlags =
    CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;

// The child of Spawn(), made by clone() in its new namespaces: waits to be
// released, names its UTS namespace (-H, else "pasta-" and ours, as
// upstream; failing that is a warning, not fatal), clears the signal mask
// pasta set (and SIGPIPE's ignored disposition, which survives exec) and
// execs the command. Never returns. Between clone and exec: no allocation,
// async-signal-safe calls only. (As PID 1 of its PID namespace, the command
// ignores signals it has no handler for, like upstream's.)
//
// Not instrumented by AddressSanitizer: on the stack clone() gave it, its
// _exit() would make ASan print a warning about the unknown stack onto the
// command's standard error, which is also ours.
__attribute__((no_sanitize("address"))) int SpawnChild(void* raw) {
  const auto* args = static_cast<const ChildArgs*>(raw);
  close(args->go_wr_fd);  // else it would never see the pipe's end
  char go = 0;
  ssize_t n;
  do {
    n = read(args->go_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(1);  // pasta gave up before releasing us
  close(args->go_fd);
  if (sethostname(args->hostname, strlen(args->hostname)) != 0) {
    dprintf(STDERR_FILENO, "pasta: cannot set the host name '%s': %s\n",
            args->hostname, strerror(errno));
  }
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvp(args->path, args->argv);
  const int exec_err = errno;
  dprintf(STDERR_FILENO, "pasta: cannot run '%s': %s\n", args->path,
          strerror(exec_err));
  _exit(exec_err == ENOENT ? 127 : 126);
}

// Maps our uid and gid to root in the child's new user namespace. Written
// from outside: a full-range map needs CAP_SETUID in the parent namespace,
// which the child, in its new one, does not have.
absl::Status WriteIdMaps(pid_t pid, uid_t uid, gid_t gid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/";
  std::string uid_map, gid_map;
  if (uid == 0) {
    // Real root: map every id, so files keep their owners inside.
    uid_map = gid_map = "0 0 4294967295";
  } else {
    // Unprivileged: one id each, ours, as root inside. gid_map needs
    // setgroups denied first (user_namespaces(7)).
    uid_map = "0 " + std::to_string(uid) + " 1";
    gid_map = "0 " + std::to_string(gid) + " 1";
    const int err = WriteProcFile((dir + "setgroups").c_str(), "deny");
    if (err != 0) return ErrnoToStatus(err, "writing " + dir + "setgroups");
  }
  int err = WriteProcFile((dir + "uid_map").c_str(), uid_map.c_str());
  if (err != 0) return ErrnoToStatus(err, "writing " + dir + "uid_map");
  err = WriteProcFile((dir + "gid_map").c_str(), gid_map.c_str());
  if (err != 0) return ErrnoToStatus(err, "writing " + dir + "gid_map");
  return absl::OkStatus();
}

absl::Status CheckNsType(int fd, int type, const std::string& path) {
  const int got = ioctl(fd, NS_GET_NSTYPE);
  if (got < 0 && errno != ENOTTY && errno != EINVAL)
    return ErrnoToStatus(errno, path);
  if (got != type) {  // ENOTTY: not an nsfs file at all
    return absl::InvalidArgumentError(path + (type == CLONE_NEWNET
                                                  ? ": not a network namespace"
                                                  : ": not a user namespace"));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenNs(const std::string& path, int type) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, path);
  RETURN_IF_ERROR(CheckNsType(fd.get(), type, path));
  return fd;
}

// True if the namespace behind `fd` is the one we are in (same inode as
// /proc/self/ns/user). Joining it again would fail with EINVAL.
bool IsOwnUserns(int fd) {
  struct stat ours, theirs;
  if (stat("/proc/self/ns/user", &ours) != 0 || fstat(fd, &theirs) != 0)
    return false;
  return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

}  // namespace

// The host name a spawned command's UTS namespace gets: `hostname`, else
// "pasta-" followed by ours, cut to HOST_NAME_MAX (as upstream).
std::string SpawnHostname(std::string_view hostname) {
  if (!hostname.empty()) return std::string(hostname);
  char ours[HOST_NAME_MAX + 1] = {};
  // ENAMETOOLONG leaves a truncated name, which is fine to cut further.
  if (gethostname(ours, sizeof(ours) - 1) != 0 && errno != ENAMETOOLONG)
    ours[0] = '\0';
  std::string name = "pasta-";
  name.append(ours);
  if (name.size() > HOST_NAME_MAX) name.resize(HOST_NAME_MAX);
  return name;
}

absl::StatusOr<Target> Spawn(const std::vector<std::string>& command,
                             std::string_view hostname) {
  // argv and the host name are built before clone(): the child must not
  // allocate.
  const std::string uts_name = SpawnHostname(hostname);
  std::vector<std::string> args = command;
  std::string path;
  if (args.empty()) {
    // The user's shell, as a login shell (argv[0] "-sh"), as upstream.
    const char* shell = getenv("SHELL");
    path = shell != nullptr && *shell != '\0' ? shell : "/bin/sh";
    const size_t slash = path.rfind('/');
    // Built with append, not "-" + name: GCC 12 at -O3 reports a false
    // -Wrestrict overlap in operator+ (GCC PR 105329).
    std::string login = "-";
    login.append(path, slash == std::string::npos ? 0 : slash + 1);
    args.push_back(std::move(login));
  } else {
    path = args[0];
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "pipe2");
  UniqueFd go_rd(go[0]), go_wr(go[1]);
  ChildArgs child_args{go_rd.get(), go_wr.get(), path.c_str(), argv.data(),
                       uts_name.c_str()};
  // The child's stack, in its copy of our memory (no CLONE_VM): ours is
  // freed when we return, its copy when it execs.
  const std::unique_ptr<unsigned char[]> stack =
      std::make_unique_for_overwrite<unsigned char[]>(kSpawnStackSize);

  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  // The kernel makes the namespaces in clone() itself: they are ready when
  // it returns, without waiting for the child to be scheduled.
  const pid_t pid = clone(SpawnChild, StackTop(stack.get(), kSpawnStackSize),
                          kSpawnFlags | SIGCHLD, &child_args);
  if (pid < 0)
    return ErrnoToStatus(errno, "creating user and network namespaces");
  go_rd.reset();

  Target target;
  target.child = pid;
  target.go_pipe = std::move(go_wr);
  absl::Status mapped = WriteIdMaps(pid, uid, gid);
  if (!mapped.ok()) {
    target.go_pipe.reset();
    waitpid(pid, nullptr, 0);
    return mapped;
  }
  const std::string proc = "/proc/" + std::to_string(pid) + "/ns/";
  ASSIGN_OR_RETURN(target.userns, OpenNs(proc + "user", CLONE_NEWUSER));
  ASSIGN_OR_RETURN(target.netns, OpenNs(proc + "net", CLONE_NEWNET));
  return target;
}

absl::Status Release(Target& target) {
  const char go = 1;
  if (write(target.go_pipe.get(), &go, 1) != 1)
    return ErrnoToStatus(errno, "releasing the command");
  target.go_pipe.reset();
  return absl::OkStatus();
}

absl::StatusOr<Target> OpenPath(const std::string& netns_path,
                                const std::string& userns_path) {
  Target target;
  ASSIGN_OR_RETURN(target.netns, OpenNs(netns_path, CLONE_NEWNET));
  if (!userns_path.empty()) {
    ASSIGN_OR_RETURN(target.userns, OpenNs(userns_path, CLONE_NEWUSER));
    if (IsOwnUserns(target.userns.get())) target.userns.reset();
  }
  return target;
}

absl::StatusOr<Target> OpenPid(pid_t pid, bool netns_only,
                               const std::string& userns_path) {
  const std::string proc = "/proc/" + std::to_string(pid) + "/ns/";
  Target target;
  ASSIGN_OR_RETURN(target.netns, OpenNs(proc + "net", CLONE_NEWNET));
  if (!netns_only) {
    ASSIGN_OR_RETURN(target.userns,
                     OpenNs(userns_path.empty() ? proc + "user" : userns_path,
                            CLONE_NEWUSER));
    if (IsOwnUserns(target.userns.get())) target.userns.reset();
  }
  return target;
}

absl::StatusOr<UniqueFd> WatchNetnsFile(const std::string& path) {
  UniqueFd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, "inotify_init1");
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos
                              ? "."
                              : (slash == 0 ? "/" : path.substr(0, slash));
  if (inotify_add_watch(fd.get(), dir.c_str(),
                        IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF) < 0) {
    return ErrnoToStatus(errno, "watching " + dir);
  }
  return fd;
}

bool NetnsFileGone(int inotify_fd, const std::string& path) {
  // Decided from the events alone, without a look at the path: after setup
  // the sandbox leaves us no file system to look in.
  const size_t slash = path.rfind('/');
  const std::string_view base = slash == std::string::npos
                                    ? std::string_view(path)
                                    : std::string_view(path).substr(slash + 1);
  alignas(inotify_event) char buf[4096];
  bool gone = false;
  ssize_t n;
  while ((n = read(inotify_fd, buf, sizeof(buf))) > 0) {
    for (ssize_t off = 0;
         off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) gone = true;
      if ((ev->mask & (IN_DELETE | IN_MOVED_FROM)) && ev->len > 0 &&
          std::string_view(ev->name) == base) {
        gone = true;
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return gone;
}

absl::StatusOr<UniqueFd> WatchPid(pid_t pid) {
  UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!fd.valid()) return ErrnoToStatus(errno, "pidfd_open");
  return fd;
}

}  // namespace pasta::ns
