#include "control/server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace pasta::control {
namespace {

// Longest update we read: two full tables are 28 571 bytes; more is a
// flood, refused.
constexpr uint64_t kMaxUpdateBytes = 64 * 1024;
// Reads per readable event: a client that sends without pause still lets
// the loop serve the flows in between.
constexpr int kReadsPerEvent = 16;
// Clients that may wait while a session runs (upstream: 0, which lets one
// wait and refuses a non-blocking third).
constexpr int kBacklog = 16;

constexpr uint32_t kSessionEvents = EPOLLIN | EPOLLRDHUP;

bool MakeAddress(const std::string& path, sockaddr_un* sun) {
  *sun = sockaddr_un{};
  sun->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sun->sun_path)) return false;
  std::memcpy(sun->sun_path, path.data(), path.size());
  return true;
}

void LogTables(const std::vector<Table>& tables) {
  for (const Table& t : tables) {
    LOG_INFO("control: forwarding rules for %s: %zu",
             std::string(PifName(t.pif)), t.rules.size());
    for (const Rule& r : t.rules) LOG_INFO("control:     %s", Describe(r));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Bind(const std::string& path) {
  sockaddr_un sun;
  if (!MakeAddress(path, &sun)) {
    return absl::InvalidArgumentError(
        absl::StrCat("-c ", path, ": a control socket path needs 1 to ",
                     sizeof(sun.sun_path) - 1, " bytes"));
  }
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return ErrnoToStatus(errno, "control socket");
  const int rc = connect(probe, reinterpret_cast<sockaddr*>(&sun), sizeof(sun));
  const int err = errno;
  close(probe);
  if (rc == 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "-c ", path, ": something already answers there (another pasta?)"));
  }
  if (err == ECONNREFUSED) {
    // A socket nobody listens on any more: a pasta that ended.
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(
          errno, absl::StrCat("-c ", path, ": removing the stale socket"));
    }
  } else if (err != ENOENT) {
    return ErrnoToStatus(err, absl::StrCat("-c ", path));
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoToStatus(errno, "control socket");
  // The file is made 0600 from the start: no moment where another user
  // could connect before the owner narrows it.
  const mode_t umask_before = umask(0177);
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun));
  const int bind_err = errno;
  umask(umask_before);
  if (bound != 0 || listen(fd, kBacklog) != 0) {
    const int e = bound != 0 ? bind_err : errno;
    close(fd);
    return ErrnoToStatus(e, absl::StrCat("-c ", path));
  }
  LOG_INFO("control: socket at %s", path);
  return std::unique_ptr<Server>(new Server(fd, path));
}

Server::~Server() {
  if (session_fd_ >= 0) close(session_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void Server::Start(ServerHooks hooks) {
  hooks_ = std::move(hooks);
  hooks_.watch(listen_fd_, EPOLLIN | EPOLLET, true, true);
}

void Server::OnListener(Instant now) {
  if (session_fd_ < 0) Accept(now);
}

void Server::Accept(Instant now) {
  const int fd =
      accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      LOG_WARN("control: accept: %s", std::strerror(errno));
    }
    return;
  }
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    LOG_DEBUG("control: client, PID %d", static_cast<int>(cred.pid));
  }
  ++counters_.sessions;
  session_fd_ = fd;
  deadline_ = now + kSessionTimeout;
  received_ = 0;
  const std::vector<Table> tables = hooks_.tables();
  out_ = EncodeHello(tables);
  out_at_ = 0;
  reader_.emplace(tables);
  watching_out_ = false;
  hooks_.watch(fd, kSessionEvents, true, false);
  Flush();
}

void Server::Flush() {
  while (session_fd_ >= 0 && out_at_ < out_.size()) {
    const ssize_t n = send(session_fd_, out_.data() + out_at_,
                           out_.size() - out_at_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_at_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!watching_out_) {
        hooks_.watch(session_fd_, kSessionEvents | EPOLLOUT, false, false);
        watching_out_ = true;
      }
      return;
    }
    LOG_DEBUG("control: the client left before the greeting was out");
    EndSession();
    return;
  }
  if (watching_out_ && session_fd_ >= 0) {
    hooks_.watch(session_fd_, kSessionEvents, false, false);
    watching_out_ = false;
  }
}

void Server::OnSession(uint32_t events, Instant now) {
  if (session_fd_ < 0) return;
  if ((events & EPOLLOUT) != 0) Flush();
  if (session_fd_ >= 0 &&
      (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    ReadUpdate();
  }
  if (session_fd_ < 0) Accept(now);
}

void Server::ReadUpdate() {
  uint8_t buf[4096];
  for (int i = 0; i < kReadsPerEvent && session_fd_ >= 0; ++i) {
    const ssize_t n = recv(session_fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      LOG_DEBUG("control: reading from the client: %s", std::strerror(errno));
      EndSession();
      return;
    }
    if (n == 0) {
      if (received_ == 0) {
        LOG_DEBUG("control: the client only looked");
        EndSession();
        return;
      }
      reader_->End();
      Finish(false, reader_->error());
      return;
    }
    received_ += static_cast<uint64_t>(n);
    reader_->Feed(absl::MakeConstSpan(buf, static_cast<size_t>(n)));
    switch (reader_->state()) {
      case UpdateReader::State::kMore:
        if (received_ > kMaxUpdateBytes) {
          Finish(false, absl::StrCat("an update of more than ", kMaxUpdateBytes,
                                     " bytes"));
        }
        break;
      case UpdateReader::State::kError:
        Finish(false, reader_->error());
        return;
      case UpdateReader::State::kDone: {
        const absl::Status st = hooks_.apply(reader_->tables());
        if (st.ok()) LogTables(reader_->tables());
        Finish(st.ok(), std::string(st.message()));
        return;
      }
    }
  }
}

void Server::Finish(bool applied, const std::string& reason) {
  if (applied) {
    ++counters_.applied;
  } else {
    ++counters_.rejected;
    LOG_WARN("control: update refused, forwarding unchanged: %s", reason);
  }
  // Best effort: upstream's pesto has closed by now, ours waits for it.
  const std::vector<uint8_t> status = EncodeStatus(applied, reason);
  if (send(session_fd_, status.data(), status.size(),
           MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    LOG_DEBUG("control: status not sent: %s", std::strerror(errno));
  }
  EndSession();
}

void Server::EndSession() {
  if (session_fd_ >= 0) close(session_fd_);
  session_fd_ = -1;
  deadline_ = Instant::Never();
  reader_.reset();
  out_.clear();
  out_at_ = 0;
  watching_out_ = false;
}

void Server::Expire(Instant now) {
  if (session_fd_ < 0 || now < deadline_) return;
  ++counters_.timeouts;
  LOG_WARN(
      "control: client took longer than %lld s, dropped; forwarding unchanged",
      static_cast<long long>(kSessionTimeout.ToSeconds()));
  EndSession();
  Accept(now);
}

}  // namespace pasta::control
