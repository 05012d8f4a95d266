#include "app/loop.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_join.h"
#include "app/counters.h"
#include "app/passt.h"
#include "common/log.h"
#include "common/time.h"
#include "loop/epoll_ref.h"
#include "ns/namespace.h"

namespace pasta::app {

namespace {

using loop::Kind;
using loop::Ref;

// Arms the (one-shot, absolute) timer for `at`, or disarms it for Never().
void ArmTimer(int fd, Instant at) {
  itimerspec its{};
  if (!at.is_never()) {
    // 0 would disarm: a deadline at the clock's zero is long past anyway.
    const int64_t us =
        std::max<int64_t>(at.SinceClockZero().ToMicroseconds(), 1);
    its.it_value.tv_sec = static_cast<time_t>(us / 1'000'000);
    its.it_value.tv_nsec = static_cast<long>((us % 1'000'000) * 1000);
  }
  timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, nullptr);
}

int ExitStatusOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 1;
}

// Unsolicited router advertisements: the first shortly after start, then
// at random intervals of 200-600 s (ndp::RouterAdvertInterval).
constexpr Duration kRouterAdvertDelay = Milliseconds(100);
// Cheap, non-cryptographic random bits (splitmix64) for spreading timers:
// no system call, nothing the sandbox has to allow.
uint64_t NextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Automatic forwarding scans, and the target process's liveness without a
// pidfd (before Linux 5.3), once a second.
constexpr Duration kScanInterval = Seconds(1);

// The earliest deadline of the flows: when the loop has something to do
// without any event.
Instant NextFlowDeadline(const Run& run) {
  Instant next = Instant::Never();
  if (run.tcp) next = Earlier(next, run.tcp->NextDeadline());
  if (run.icmp) next = Earlier(next, run.icmp->NextDeadline());
  if (run.udp) next = Earlier(next, run.udp->NextDeadline());
  if (run.udp_relay) next = Earlier(next, run.udp_relay->NextDeadline());
  if (run.udp_relay_in) next = Earlier(next, run.udp_relay_in->NextDeadline());
  if (run.control) next = Earlier(next, run.control->NextDeadline());
  return next;
}

// Bytes through the tap both ways and through splice, so far: what a
// wakeup moved, for the busy poll.
uint64_t BytesMoved(const Run& run) {
  uint64_t n = 0;
  if (run.tap) n += run.tap->counters().bytes + run.tap->counters().bytes_sent;
  if (run.splice) n += run.splice->counters().bytes;
  return n;
}

// The flows' work that is due at `now`: retransmissions, timeouts, expiry.
void RunDueFlows(Run& run, Instant now) {
  if (run.tcp && now >= run.tcp->NextDeadline()) run.tcp->Tick(now);
  if (run.icmp && now >= run.icmp->NextDeadline()) run.icmp->Expire(now);
  if (run.udp && now >= run.udp->NextDeadline()) run.udp->Expire(now);
  if (run.udp_relay && now >= run.udp_relay->NextDeadline())
    run.udp_relay->Expire(now);
  if (run.udp_relay_in && now >= run.udp_relay_in->NextDeadline())
    run.udp_relay_in->Expire(now);
  if (run.control && now >= run.control->NextDeadline())
    run.control->Expire(now);
}

// --stats: the counters on one line, to stderr (as upstream's table), at
// most every DELAY seconds and only while they change. Once a line comes
// out, the timer looks again DELAY later; a look that finds nothing new
// stops that until the next wakeup with events, so an idle pasta is not
// woken up for statistics either.
class StatsPrinter {
 public:
  explicit StatsPrinter(int delay_secs)
      : every_(delay_secs > 0 ? Seconds(delay_secs) : Duration()) {}

  // When the loop must wake up for us.
  Instant next() const { return next_; }

  // After a wakeup (`events`: it had some) at `now`.
  void AfterWakeup(const Run& run, Instant now, bool events) {
    if (every_ == Duration()) return;
    if (next_.is_never()) {
      if (!events) return;
      next_ = now;  // something happened since the last look
    }
    if (now < next_) return;
    std::string line = absl::StrJoin(CounterLines(run), " | ");
    if (line == last_) {
      next_ = Instant::Never();
      return;
    }
    fprintf(stderr, "stats: %s\n", line.c_str());
    last_ = std::move(line);
    next_ = now + every_;
  }

 private:
  Duration every_;
  Instant next_ = Instant::Never();
  std::string last_;
};

}  // namespace

// The event loop. Returns the exit status.
//
// Time: `now` is read once per wakeup and passed down. Nothing ticks: the
// one timer is armed, before each wait, for the earliest of the flows'
// deadlines, the next router advertisement, the next scan (only with
// automatic forwarding or a polled target process), the next --stats look
// (see StatsPrinter), the end of the drain and a re-sync with the host's
// network (app/follow.h). With none of those pending,
// the loop sleeps until an event.
int Loop(Run& run) {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  const Instant start = Instant::Now();
  // Only where RAs are on: with --config-net (podman's way) there are none.
  Instant next_ra = run.tap->sends_router_adverts()
                        ? start + kRouterAdvertDelay
                        : Instant::Never();
  // Seeded by the start time and our PID, so that pastas started together
  // draw different intervals.
  uint64_t ra_random =
      static_cast<uint64_t>(start.SinceClockZero().ToMicroseconds()) ^
      (static_cast<uint64_t>(getpid()) << 32);
  Instant next_scan = Instant::Never();
  Instant armed = Instant::Never();  // what the timer is set for
  StatsPrinter stats(run.cfg.stats_delay);
  // Once the command has exited: its sockets, now orphans in the
  // namespace's kernel, may still be sending what it wrote last. Keep
  // carrying that until every connection has delivered all of it (the host
  // kernel then finishes on its own), for kDrain at most.
  constexpr Duration kDrain = Seconds(10);
  int exit_status = -1;
  Instant drain_until = Instant::Never();
  // After a wakeup with events, poll (epoll_wait with no timeout) for
  // kBusyPoll more before sleeping: a request/response exchange through
  // us then mostly avoids two sleep/wake-up cycles, for at most that much
  // CPU per wakeup (an idle pasta has no wakeups to pay it on). Measured
  // with bench/tcp.sh (sockperf ping-pong, 64 bytes, MTU 65520; the veth
  // 17 000-18 000/s in the same runs): 10 us, 10 300 round trips/s; 20 us,
  // 24 800/s; 30 us, 26 100/s; 40 us, 26 300/s; bulk transfers spend
  // about 10 % more CPU per GB at 20 us than at 10. PASTA_BUSY_POLL_US
  // overrides it (0: off), for benchmarks.
  // Only after a small exchange: a wakeup that moved (tap frames both
  // ways, spliced bytes) at most kBulkBytes. A bulk transfer's next batch
  // wakes us up anyway, and the spin only costs it CPU per byte: measured
  // with perf stat (syscall tracepoints) over a 2 GB iperf3 transfer,
  // namespace -> server at -m 1500, 60 000 to 1 700 000 epoll_wait calls
  // (mostly empty polls) before, 10 000 to 15 000 after; round trips
  // (sockperf) as before.
  constexpr Duration kBusyPoll = Microseconds(20);
  const char* bp = getenv("PASTA_BUSY_POLL_US");
  const Duration busy_poll = bp ? Microseconds(atoll(bp)) : kBusyPoll;
  constexpr uint64_t kBulkBytes = 16 * 1024;
  bool was_busy = false;
  uint64_t moved_mark = BytesMoved(run);
  for (;;) {
    if (exit_status >= 0) {
      if (!run.tcp || run.tcp->PendingFromNamespace() == 0) {
        LOG_DEBUG("command's connections done, exiting");
        return exit_status;
      }
      if (Instant::Now() >= drain_until) {
        LOG_DEBUG("%u connections still sending after %d ms, exiting",
                  run.tcp->PendingFromNamespace(), kDrain.ToMilliseconds());
        return exit_status;
      }
    }
    // Scans run while automatic forwarding has ports to look at (which the
    // control socket, -c, may change at run time), or a target process is
    // polled.
    if (!run.poll_target_pid && !run.autofwd.on()) {
      next_scan = Instant::Never();
    } else if (next_scan.is_never()) {
      next_scan = Instant::Now() + kScanInterval;
    }
    const Instant next = Earlier(
        Earlier(Earlier(NextFlowDeadline(run), next_ra),
                Earlier(next_scan, drain_until)),
        Earlier(stats.next(),
                run.follow ? run.follow->deadline() : Instant::Never()));
    if (next != armed) {
      ArmTimer(run.timer.get(), next);
      armed = next;
    }
    if (run.pcap) run.pcap->Flush();
    int n = 0;
    if (busy_poll > Duration() && was_busy) {
      const Instant until = Instant::Now() + busy_poll;
      while ((n = epoll_wait(run.epoll.get(), events, kMaxEvents, 0)) == 0 &&
             Instant::Now() < until) {
      }
    }
    if (n == 0) n = epoll_wait(run.epoll.get(), events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      LOG_ERROR("epoll_wait: %s", strerror(errno));
      return 1;
    }
    const Instant now = Instant::Now();
    // The frames this round makes leave together at its end (passt's
    // stream socket; a tap writes each at once).
    run.tap->device().Cork();
    for (int i = 0; i < n; ++i) {
      const Ref ref = Ref::Unpack(events[i].data.u64);
      switch (ref.kind) {
        case Kind::kTap: {
          // passt's stream socket: the queue for the guest first.
          bool alive = (events[i].events & EPOLLOUT) == 0 ||
                       run.tap->device().OnWritable();
          if (alive && events[i].events != EPOLLOUT)
            alive = run.tap->OnReadable(now);
          if (alive) break;
          if (run.cfg.mode == config::Mode::kPasst) {
            if (OnPasstClientGone(run, now)) break;
            return 0;
          }
          LOG_INFO("tap device closed, exiting");
          return 0;
        }
        case Kind::kPasstListen:
          OnPasstListen(run);
          break;
        case Kind::kSignal: {
          signalfd_siginfo si;
          while (read(ref.fd, &si, sizeof(si)) == sizeof(si)) {
            const int sig = static_cast<int>(si.ssi_signo);
            if (sig == SIGCHLD) {
              if (run.target.child <= 0) continue;
              int wstatus = 0;
              if (waitpid(run.target.child, &wstatus, WNOHANG) ==
                  run.target.child) {
                LOG_DEBUG("command exited with status %d",
                          ExitStatusOf(wstatus));
                exit_status = ExitStatusOf(wstatus);
                run.command_exited = true;
                drain_until = Instant::Now() + kDrain;
              }
              continue;
            }
            if (run.target.child > 0) {
              // The command decides when we end: pass the signal on.
              LOG_DEBUG("passing signal %d to the command", sig);
              kill(run.target.child, sig);
              continue;
            }
            LOG_INFO("signal %d, exiting", sig);
            return 0;
          }
          break;
        }
        case Kind::kNetnsWatch:
          if (ns::NetnsFileGone(ref.fd, run.cfg.netns_path)) {
            LOG_INFO("namespace %s is gone, exiting", run.cfg.netns_path);
            return 0;
          }
          break;
        case Kind::kPidWatch:
          LOG_INFO("process %d exited, exiting", run.cfg.target_pid);
          return 0;
        case Kind::kTimer: {
          // One-shot: it is disarmed now. What is due runs below.
          uint64_t expirations;
          if (read(ref.fd, &expirations, sizeof(expirations)) > 0)
            armed = Instant::Never();
          break;
        }
        case Kind::kIcmp:
          if (run.icmp) run.icmp->OnReadable(ref.index, now);
          break;
        case Kind::kUdp:
          if (run.udp) run.udp->OnReadable(ref.index, now);
          break;
        case Kind::kUdpListen:
          if (run.udp) run.udp->OnListenerReadable(ref.index, now);
          break;
        case Kind::kRelayListen:
          if (run.udp_relay) run.udp_relay->OnListenerReadable(ref.index, now);
          break;
        case Kind::kRelayFlow:
          if (run.udp_relay) run.udp_relay->OnReadable(ref.index, now);
          break;
        case Kind::kRelayInListen:
          if (run.udp_relay_in)
            run.udp_relay_in->OnListenerReadable(ref.index, now);
          break;
        case Kind::kControlListen:
          if (run.control) run.control->OnListener(now);
          break;
        case Kind::kNetlinkEvents:
          if (ref.index == kFollowIndex) {
            if (run.follow) run.follow->OnReadable(now);
          } else if (ref.index == kFollowResolvIndex) {
            if (run.follow) run.follow->OnResolvChanged(now);
          } else if (run.neighbours) {
            run.neighbours->OnReadable(*run.tap);
          }
          break;
        case Kind::kControlSession:
          if (run.control) run.control->OnSession(events[i].events, now);
          break;
        case Kind::kRelayInFlow:
          if (run.udp_relay_in) run.udp_relay_in->OnReadable(ref.index, now);
          break;
        case Kind::kTcpListen:
          if (run.tcp) run.tcp->OnListenerReadable(ref.index, now);
          break;
        case Kind::kTcpSock:
          if (run.tcp) run.tcp->OnSocketEvent(ref.index, events[i].events, now);
          break;
        case Kind::kTcpSplice:
          if (run.splice)
            run.splice->OnEvent(ref.index, ref.side, events[i].events);
          break;
        case Kind::kSpliceListen:
          if (run.splice) run.splice->OnListenerReadable(ref.index);
          break;
      }
    }
    if (!DrainPasstBuffer(run, now)) return 0;
    RunDueFlows(run, now);
    if (now >= next_scan) {
      next_scan = now + kScanInterval;
      // A zombie still answers: like a pidfd, which is readable only
      // once the process has exited, this waits for its parent to reap
      // it at the latest.
      if (run.poll_target_pid && kill(run.cfg.target_pid, 0) != 0 &&
          errno == ESRCH) {
        LOG_INFO("process %d exited, exiting", run.cfg.target_pid);
        return 0;
      }
      run.autofwd.Scan();
    }
    // The host's network changed and settled (app/follow.h).
    if (run.follow && now >= run.follow->deadline()) run.follow->Resync(run);
    if (now >= next_ra) {
      run.tap->SendRouterAdvert();
      next_ra = now + run.tap->RouterAdvertInterval(NextRandom(ra_random));
    }
    // ACKs and data owed after socket events; then the flows closed in
    // this iteration, of every kind, give their descriptors back.
    if (run.tcp) run.tcp->Flush(now);
    run.flows.Reap();
    // A failed device shows at its next read, as a closed client.
    run.tap->device().Uncork();
    UpdatePasstEvents(run);
    stats.AfterWakeup(run, now, n > 0);
    const uint64_t moved = BytesMoved(run);
    was_busy = n > 0 && moved - moved_mark <= kBulkBytes;
    moved_mark = moved;
  }
}

}  // namespace pasta::app
