#include "common/log.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pasta::log {

Level g_level = Level::kInfo;

namespace {

bool g_stderr = true;
bool g_syslog = false;
int g_syslog_fd = -1;  // datagram socket connected to /dev/log
bool g_timestamps = false;
int g_file_fd = -1;
size_t g_file_max = 0;
size_t g_file_size = 0;

timespec StartTime() {
  static const timespec start = [] {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
  }();
  return start;
}

int SyslogPriority(Level level) {
  switch (level) {
    case Level::kError:
      return LOG_ERR;
    case Level::kWarn:
      return LOG_WARNING;
    case Level::kInfo:
      return LOG_INFO;
    case Level::kDebug:
    case Level::kTrace:
      return LOG_DEBUG;
  }
  return LOG_DEBUG;
}

// Writes all of `iov` to `fd`, ignoring errors: a log sink that fails must
// not stop the program.
void WriteAll(int fd, const iovec* iov, int n) {
  ssize_t total = 0;
  for (int i = 0; i < n; ++i) total += static_cast<ssize_t>(iov[i].iov_len);
  if (writev(fd, iov, n) != total) {
    // Short or failed write; nothing sensible to do with a log line.
  }
}

}  // namespace

void SetLevel(Level level) { g_level = level; }
void SetStderr(bool on) { g_stderr = on; }
void SetTimestamps(bool on) {
  g_timestamps = on;
  StartTime();
}

int OpenFile(const std::string& path, size_t max_size) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND,
           S_IRUSR | S_IWUSR);
  if (fd < 0) return errno;
  if (g_file_fd >= 0) close(g_file_fd);
  g_file_fd = fd;
  g_file_max = max_size;
  g_file_size = 0;
  return 0;
}

// Our own syslog client rather than syslog(3): glibc's takes a lock (a
// line from the sandbox's SIGSYS handler could deadlock on it) and may read
// the time zone file on first use, after the sandbox has hidden it. Local
// syslog daemons accept "<PRI>TAG[PID]: MESSAGE" and add the time.
void SetSyslog(bool on) {
  if (on && g_syslog_fd < 0) {
    g_syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, "/dev/log");
    if (g_syslog_fd >= 0 &&
        connect(g_syslog_fd, reinterpret_cast<sockaddr*>(&addr),
                sizeof(addr)) != 0) {
      close(g_syslog_fd);
      g_syslog_fd = -1;
    }
  }
  g_syslog = on && g_syslog_fd >= 0;
}

void Write(Level level, std::string_view line) {
  char prefix[32];
  size_t prefix_len = 0;
  if (g_timestamps) {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const timespec start = StartTime();
    long sec = now.tv_sec - start.tv_sec;
    long nsec = now.tv_nsec - start.tv_nsec;
    if (nsec < 0) {
      nsec += 1000000000L;
      --sec;
    }
    const int n =
        snprintf(prefix, sizeof(prefix), "%ld.%04ld: ", sec, nsec / 100000);
    prefix_len = n > 0 ? static_cast<size_t>(n) : 0;
  }
  iovec iov[3] = {
      {prefix, prefix_len},
      {const_cast<char*>(line.data()), line.size()},
      {const_cast<char*>("\n"), 1},
  };
  if (g_stderr) WriteAll(STDERR_FILENO, iov, 3);
  if (g_file_fd >= 0) {
    const size_t len = prefix_len + line.size() + 1;
    if (g_file_max > 0 && g_file_size + len > g_file_max) {
      // Cap reached: start the file again rather than grow without bound.
      if (ftruncate(g_file_fd, 0) == 0) g_file_size = 0;
    }
    WriteAll(g_file_fd, iov, 3);
    g_file_size += len;
  }
  if (g_syslog) {
    char buf[2048];
    // The program's name, as the mode is picked (config::Mode): passt
    // when started under a name with passt and not pasta in it.
    const char* name = program_invocation_short_name;
    const char* tag =
        strstr(name, "pasta") == nullptr && strstr(name, "passt") != nullptr
            ? "passt"
            : "pasta";
    const int head = snprintf(buf, sizeof(buf), "<%d>%s[%d]: ",
                              LOG_DAEMON | SyslogPriority(level), tag,
                              static_cast<int>(getpid()));
    if (head > 0) {
      const size_t len =
          std::min(line.size(), sizeof(buf) - static_cast<size_t>(head));
      memcpy(buf + head, line.data(), len);
      send(g_syslog_fd, buf, static_cast<size_t>(head) + len,
           MSG_DONTWAIT | MSG_NOSIGNAL);
    }
  }
}

}  // namespace pasta::log
