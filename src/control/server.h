// The control socket of `-c PATH`: a UNIX stream socket that serves one
// client at a time from the event loop, speaking control/protocol.h.
//
// Theory of operation:
// - Bind() runs at start-up, before the sandbox closes the file system: if
//   something answers at PATH, that is an error (another pasta); a stale
//   socket file is replaced. The file is made mode 0600 (upstream: what
//   the umask gives) and stays after exit.
// - The listener is edge-triggered: while a session runs, new clients wait
//   in the kernel's queue, and each session's end accepts the next one.
// - A session: the greeting and the dump go out at accept (from a buffer,
//   the rest on EPOLLOUT should the socket be full); whatever the client
//   sends is fed to an UpdateReader as it arrives, so a slow, stalled or
//   flooding client never blocks the loop. A client that closes having sent
//   nothing only looked. A finished update goes to the owner's apply hook,
//   which applies all of it or nothing; the outcome is logged and written
//   back as a status record (our pesto reads it; upstream's has closed, and
//   the write just fails), and the session ends. A session that takes longer
//   than kSessionTimeout ends without change, so one stalled client holds
//   up the next for at most that long.
// - Descriptors: the listener, and at most one session socket.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/time.h"
#include "control/protocol.h"

namespace pasta::control {

inline constexpr Duration kSessionTimeout = Seconds(10);

// What the server needs from its owner.
struct ServerHooks {
  // The tables as they are now, for the dump and as the shape of an update
  // (which tables exist, their caps).
  std::function<std::vector<Table>()> tables;
  // Makes `tables` the forwarding rules: all of them or, with an error,
  // none (the rules stay exactly as they were).
  std::function<absl::Status(const std::vector<Table>& tables)> apply;
  // Registers `fd` with the loop for `events` (EPOLL_CTL_ADD when `add`,
  // else EPOLL_CTL_MOD); `listener` says which of the two sockets it is.
  std::function<void(int fd, uint32_t events, bool add, bool listener)> watch;
};

class Server {
 public:
  // Creates the socket at `path` (at most 107 bytes), bound and listening.
  // Errors: a path too long; something already answering at `path`; the
  // socket calls' errors, with the path.
  static absl::StatusOr<std::unique_ptr<Server>> Bind(const std::string& path);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers the listener through hooks.watch; call once, in the loop.
  void Start(ServerHooks hooks);

  int listen_fd() const { return listen_fd_; }
  int session_fd() const { return session_fd_; }
  const std::string& path() const { return path_; }

  // The listener is readable: takes a client if no session runs.
  void OnListener(Instant now);
  // Events on the session socket.
  void OnSession(uint32_t events, Instant now);
  // When the session times out (Never() without one).
  Instant NextDeadline() const { return deadline_; }
  // Ends a session past its deadline, then takes the next client.
  void Expire(Instant now);

  // Sessions served, updates applied and rejected (for --debug at exit).
  struct Counters {
    uint64_t sessions = 0;
    uint64_t applied = 0;
    uint64_t rejected = 0;
    uint64_t timeouts = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  Server(int fd, std::string path) : listen_fd_(fd), path_(std::move(path)) {}
  void Accept(Instant now);
  void Flush();
  void ReadUpdate();
  void Finish(bool applied, const std::string& reason);
  void EndSession();

  int listen_fd_;
  std::string path_;
  ServerHooks hooks_;
  int session_fd_ = -1;
  Instant deadline_ = Instant::Never();
  std::vector<uint8_t> out_;  // greeting and dump not yet written
  size_t out_at_ = 0;
  bool watching_out_ = false;
  uint64_t received_ = 0;
  std::optional<UpdateReader> reader_;
  Counters counters_;
};

}  // namespace pasta::control
