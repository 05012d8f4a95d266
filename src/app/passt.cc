#include "app/passt.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "device/null_device.h"
#include "device/stream_device.h"
#include "loop/epoll_ref.h"

namespace pasta::app {

namespace {

using loop::Kind;
using loop::Ref;

// Whether someone accepts connections on `addr` (a live passt, or anything
// else listening): connect() succeeds, or fails other than with ENOENT (no
// file), ECONNREFUSED (a stale socket file) or EACCES, as upstream decides.
bool InUse(const sockaddr_un& addr) {
  UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return false;
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr),
              sizeof(addr)) == 0) {
    return true;
  }
  return errno != ENOENT && errno != ECONNREFUSED && errno != EACCES;
}

absl::Status Watch(Run& run, int fd, uint32_t events) {
  const int err = loop::EpollAdd(run.epoll.get(), Ref{Kind::kTap, 0, fd},
                                 events);
  if (err != 0) return ErrnoToStatus(err, "epoll_ctl (passt client)");
  run.passt_client = true;
  run.passt_events = events;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> ListenPasst(const config::Config& cfg,
                                     std::string* path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoToStatus(errno, "UNIX socket");
  const bool given = !cfg.socket_path.empty();
  for (int n = 1; n <= (given ? 1 : config::kPasstSocketMax); ++n) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string candidate =
        given ? cfg.socket_path
              : absl::StrFormat("/tmp/passt_%d.socket", n);
    if (candidate.size() >= sizeof(addr.sun_path))
      return absl::InvalidArgumentError("-s " + candidate + ": path too long");
    std::memcpy(addr.sun_path, candidate.data(), candidate.size());
    if (InUse(addr)) {
      if (given)
        return absl::AlreadyExistsError("-s " + candidate + ": already in use");
      continue;
    }
    unlink(candidate.c_str());  // a stale socket file
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr),
             sizeof(addr)) != 0) {
      if (given) return ErrnoToStatus(errno, "binding -s " + candidate);
      continue;
    }
    if (listen(fd.get(), 1) != 0)
      return ErrnoToStatus(errno, "listening on " + candidate);
    *path = candidate;
    return fd;
  }
  return absl::ResourceExhaustedError(
      absl::StrFormat("no free socket path from /tmp/passt_1.socket to "
                      "/tmp/passt_%d.socket (give one with -s)",
                      config::kPasstSocketMax));
}

void PrintPasstHints(const std::string& path) {
  LOG_INFO("UNIX domain socket bound at %s", path);
  LOG_INFO("You can now start QEMU (7.2 or later) with:");
  LOG_INFO(
      "    qemu-system-x86_64 ... -device virtio-net-pci,netdev=s "
      "-netdev stream,id=s,server=off,addr.type=unix,addr.path=%s",
      path);
}

absl::Status SetUpPasstTap(Run& run) {
  std::unique_ptr<device::FrameDevice> dev;
  if (run.cfg.fd >= 0) {
    int type = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(run.cfg.fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
      return ErrnoToStatus(errno,
                           absl::StrFormat("--fd %d: not a socket", run.cfg.fd));
    }
    if (type != SOCK_STREAM) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--fd %d: not a stream socket", run.cfg.fd));
    }
    dev = std::make_unique<device::StreamDevice>(UniqueFd(run.cfg.fd));
  } else {
    dev = std::make_unique<device::NullDevice>();
  }
  run.tap.emplace(std::move(dev), &run.services, nullptr, run.pcap.get());
  return absl::OkStatus();
}

absl::Status SetUpPasstLoop(Run& run) {
  if (run.cfg.fd >= 0) return Watch(run, run.tap->fd(), EPOLLIN);
  const int err = loop::EpollAdd(
      run.epoll.get(), Ref{Kind::kPasstListen, 0, run.passt_listen.get()},
      EPOLLIN);
  return err == 0 ? absl::OkStatus()
                  : ErrnoToStatus(err, "epoll_ctl (passt listener)");
}

void OnPasstListen(Run& run) {
  for (;;) {
    UniqueFd client(accept4(run.passt_listen.get(), nullptr, nullptr,
                            SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client.valid()) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        LOG_WARN("accepting a client on %s: %s", run.passt_path,
                 strerror(errno));
      return;
    }
    ucred cred{};
    socklen_t len = sizeof(cred);
    const bool have_cred = getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED,
                                      &cred, &len) == 0;
    if (run.passt_client) {
      // One guest at a time, as upstream: the newcomer is closed at once.
      LOG_INFO("discarding a second client%s",
               have_cred ? absl::StrFormat(" (pid %d)", cred.pid) : "");
      continue;
    }
    if (have_cred) LOG_INFO("accepted a client, pid %d", cred.pid);
    const int fd = client.get();
    run.tap->ReplaceDevice(
        std::make_unique<device::StreamDevice>(std::move(client)));
    if (absl::Status st = Watch(run, fd, EPOLLIN); !st.ok()) {
      LOG_ERROR("%s", std::string(st.message()));
      run.tap->ReplaceDevice(std::make_unique<device::NullDevice>());
    }
  }
}

bool OnPasstClientGone(Run& run, Instant now) {
  LOG_INFO("client connection closed%s", run.cfg.one_off ? ", exiting" : "");
  if (run.cfg.one_off) return false;
  if (run.passt_client) {
    epoll_ctl(run.epoll.get(), EPOLL_CTL_DEL, run.tap->fd(), nullptr);
    run.passt_client = false;
    run.passt_events = 0;
  }
  // The next guest starts clean: nothing of this one's connections, host
  // sockets reset (the peers see RST), datagram and echo flows dropped.
  run.tap->ReplaceDevice(std::make_unique<device::NullDevice>());
  if (run.tcp) run.tcp->CloseAll("passt client gone");
  const Instant later = now + Seconds(24 * 3600);  // past every idle timeout
  if (run.udp) run.udp->Expire(later);
  if (run.icmp) run.icmp->Expire(later);
  return true;
}

bool DrainPasstBuffer(Run& run, Instant now) {
  // Each round hands up at least one buffered frame: bounded by the
  // device's read buffer.
  while (run.passt_client && run.tap->device().has_buffered()) {
    if (!run.tap->OnReadable(now)) return OnPasstClientGone(run, now);
  }
  return true;
}

void UpdatePasstEvents(Run& run) {
  if (!run.passt_client) return;
  const uint32_t want =
      EPOLLIN | (run.tap->device().wants_writable() ? EPOLLOUT : 0u);
  if (want == run.passt_events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = Ref{Kind::kTap, 0, run.tap->fd()}.Pack();
  if (epoll_ctl(run.epoll.get(), EPOLL_CTL_MOD, run.tap->fd(), &ev) == 0)
    run.passt_events = want;
}

}  // namespace pasta::app
