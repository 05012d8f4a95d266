// Everything one run of pasta holds, shared by the start-up sequence
// (pasta.cc) and the event loop (loop.cc): the configuration, the target
// namespace, the handlers and the loop's descriptors. Destroyed (every
// descriptor closed) when Main() returns.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/follow.h"
#include "app/neighbours.h"
#include "common/fd.h"
#include "common/log.h"
#include "config/config.h"
#include "control/live_rules.h"
#include "control/server.h"
#include "dhcp/resolv_conf.h"
#include "flow/flow_table.h"
#include "flow/siphash.h"
#include "fwd/auto_scan.h"
#include "icmp/icmp.h"
#include "ns/namespace.h"
#include "pcap/pcap_writer.h"
#include "sock/system_sys.h"
#include "tap/tap.h"
#include "tcp/splice.h"
#include "tcp/tcp.h"
#include "udp/relay.h"
#include "udp/udp.h"

namespace pasta::app {

// The flows that can have keys in the flow table's index: every kind's cap
// but splice's (found by slot only).
inline constexpr size_t kIndexedFlows = tcp::kMaxFlows + udp::kMaxFlows +
                                        2 * udp::UdpRelay::kMaxFlows +
                                        icmp::kMaxFlows;

// TCP sockets made in the target namespace for the splice path, kBatch at
// a time: one namespace helper serves many connections.
class NsSocketPool {
 public:
  static constexpr size_t kBatch = 16;
  // Reads `target`'s descriptors at each refill: the sandbox may have joined
  // its user namespace meanwhile.
  explicit NsSocketPool(const ns::Target* target) : target_(target) {
    for (std::vector<int>* v : {&pool4_, &pool6_, &udp4_, &udp6_})
      v->reserve(kBatch);
  }
  NsSocketPool(const NsSocketPool&) = delete;
  NsSocketPool& operator=(const NsSocketPool&) = delete;
  ~NsSocketPool() {
    for (std::vector<int>* v : {&pool4_, &pool6_, &udp4_, &udp6_})
      for (int fd : *v) close(fd);
  }
  // A non-blocking socket of `family` and `type` (SOCK_STREAM or
  // SOCK_DGRAM) in the namespace, or -1 (errno set).
  int Take(int family, int type) {
    std::vector<int>& pool = type == SOCK_STREAM
                                 ? (family == AF_INET ? pool4_ : pool6_)
                                 : (family == AF_INET ? udp4_ : udp6_);
    if (pool.empty()) {
      int err = 0;
      const absl::Status st = ns::RunInNamespace(target_->fds(), [&] {
        while (pool.size() < kBatch) {
          const int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          if (fd < 0) {
            err = errno;
            break;
          }
          pool.push_back(fd);
        }
        return absl::OkStatus();
      });
      if (!st.ok()) LOG_DEBUG("splice: %s", std::string(st.message()));
      if (pool.empty()) {
        errno = err != 0 ? err : EMFILE;
        return -1;
      }
    }
    const int fd = pool.back();
    pool.pop_back();
    return fd;
  }

 private:
  const ns::Target* target_;
  std::vector<int> pool4_, pool6_;  // TCP
  std::vector<int> udp4_, udp6_;
};

// Everything the run holds; destroyed (descriptors closed) on return.
struct Run {
  Run(const config::Config& c, ns::Target t) : cfg(c), target(std::move(t)) {}

  const config::Config& cfg;
  ns::Target target;
  // Every flow of every kind (before the handlers, which hold views of it:
  // destroyed after them).
  flow::FlowTable flows{flow::RandomSipKey(), flow::kMaxFlows, kIndexedFlows};
  tap::Services services;
  // The host's resolv.conf: read once at start-up (resolv), kept open
  // (resolv_file) for a re-sync to read again (app/follow.h).
  dhcp::ResolvConfFile resolv_file;
  dhcp::ResolvConf resolv;
  std::unique_ptr<pcap::PcapWriter> pcap;
  // The socket seam of every handler (before them: destroyed after them).
  std::unique_ptr<sock::SystemSys> sys;
  std::unique_ptr<icmp::IcmpFlows> icmp;
  std::unique_ptr<udp::UdpFlows> udp;
  std::unique_ptr<udp::UdpRelay> udp_relay;     // -U
  std::unique_ptr<udp::UdpRelay> udp_relay_in;  // -u from the host's loopback
  std::unique_ptr<tcp::TcpFlows> tcp;
  std::unique_ptr<NsSocketPool> ns_sockets;
  std::unique_ptr<tcp::SpliceFlows> splice;
  fwd::AutoForwarding autofwd;
  // -c: the control socket, the live rule set and its listeners.
  std::unique_ptr<control::Server> control;
  std::unique_ptr<control::ListenerOps> control_ops;
  std::unique_ptr<control::LiveRules> rules;
  std::optional<tap::Tap> tap;
  // The host's LAN neighbours (after the tap's services, which point at
  // its table: destroyed before them).
  std::unique_ptr<Neighbours> neighbours;
  // Following the host's network (app/follow.h); null with
  // --no-follow-host.
  std::unique_ptr<Follow> follow;
  UniqueFd epoll;
  UniqueFd signals;
  UniqueFd timer;
  UniqueFd netns_watch;
  UniqueFd pid_watch;
  bool poll_target_pid = false;  // no pidfd_open: kill(pid, 0) every second
  bool command_exited = false;   // the spawned command, reaped by the loop
  // passt (app/passt.h): the listening socket (none with -F), its path,
  // whether a client's descriptor is in the loop and with which events.
  UniqueFd passt_listen;
  std::string passt_path;
  bool passt_client = false;
  uint32_t passt_events = 0;
};

}  // namespace pasta::app
