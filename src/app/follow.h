// Following the host's network while running (ours; upstream copies the
// host's addresses and routes once, at start-up).
//
// Theory of operation: at start-up (before the sandbox) a netlink event
// socket joins the host's link, IPv4/IPv6 address and IPv4/IPv6 route
// groups. The loop registers it as Kind::kNetlinkEvents (index
// kFollowIndex; the neighbours' socket is index 0) and calls OnReadable(),
// which reads and drops the notifications (what changed is read again as
// a whole) and arms a debounce: the re-sync is due kSettle after the
// latest notification, but no later than kMaxDelay after the first one
// not yet applied, so a burst of changes is one re-sync (or one per
// kMaxDelay while it lasts). Lost notifications (ENOBUFS) arm it too, and
// so does a change of the host's resolv.conf: an inotify watch (index
// kFollowResolvIndex) on the file its links lead to, set at start-up,
// reports writes to it and its replacement.
//
// A re-sync (Resync(), from the loop when deadline() is due) reads the
// host's template again with exactly the rules of start-up
// (netlink::ReadHostTemplate, local mode for a family without a usable
// interface, netlink::BuildTapConfig with the same overrides), diffs the
// result against what the tap has (netlink::DiffTapConfig) and, with
// --config-net, applies the difference in the namespace. The host's
// resolv.conf is read again too, through the descriptor kept open since
// start-up (dhcp::ResolvConfFile: the sandbox forbids open(); a file
// rewritten in place is seen, one renamed over it is not, which the debug
// log says once). Then the DHCP, DHCPv6, NDP answers, --dns-forward and the
// address mapping of the flows take the new addresses and resolvers, and a
// router advertisement goes out at once where RAs are on and the IPv6
// prefixes or its DNS options changed. A failure to read the host leaves
// everything as it was (one debug line); the next notification tries
// again.
//
// TCP connections whose host socket has an address of the template
// interface that went away are reset both ways (they would hang until
// their timeout), and UDP flows from it are closed (the namespace's next
// datagram opens a flow from an address the host has); other flows go on.
// The neighbours followed (app/neighbours.h) become those of the new
// template interfaces. Left as at start-up: the tap's name (what a
// container expects).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fd.h"
#include "common/time.h"
#include "dhcp/resolv_conf.h"
#include "netlink/events.h"
#include "netlink/netlink.h"

namespace pasta::app {

struct Run;

// The epoll index of the follower's event socket (Kind::kNetlinkEvents).
inline constexpr uint32_t kFollowIndex = 1;
// ... and of its inotify watch on resolv.conf (the same kind).
inline constexpr uint32_t kFollowResolvIndex = 2;

// One line saying what changed for `family` between the templates `was`
// and `now` (either may be null: family off), e.g. "IPv4 default route
// via 198.51.100.1 on eth0 removed; namespace: local mode"; empty if
// neither the template interface, its gateway, its addresses nor local
// mode changed. Pure; allocates.
std::string DescribeHostChange(int family, const netlink::FamilyTemplate* was,
                               const netlink::FamilyTemplate* now);

// One line saying how the host's resolvers changed, e.g. "resolv.conf:
// nameservers 192.0.2.2 (were 192.0.2.1), search a.test (was none)"; empty
// if `was` and `now` are the same. Pure; allocates.
std::string DescribeResolvChange(const dhcp::ResolvConf& was,
                                 const dhcp::ResolvConf& now);

class Follow {
 public:
  static constexpr Duration kSettle = Milliseconds(150);
  static constexpr Duration kMaxDelay = Seconds(1);

  // Joins the groups (in the calling thread's network namespace: the
  // host's). `tmpl` and `net` are what start-up gave the namespace,
  // `tap_name` the tap's actual name. Allocates.
  static absl::StatusOr<std::unique_ptr<Follow>> Start(
      netlink::HostTemplate tmpl, netlink::TapConfig net, std::string tap_name,
      bool strict_check);

  int fd() const { return events_.fd(); }
  // The inotify watch on resolv.conf; -1 if it could not be set.
  int resolv_watch_fd() const { return resolv_watch_.get(); }
  // Takes the inotify watch on resolv.conf (StartFollowing).
  void set_resolv_watch(UniqueFd fd) { resolv_watch_ = std::move(fd); }
  // When Resync() is due; Never() if nothing changed.
  Instant deadline() const { return deadline_; }
  uint64_t resyncs() const { return resyncs_; }

  // Reads the pending notifications and arms the debounce.
  void OnReadable(Instant now);
  // Reads the pending inotify events on resolv.conf and arms the debounce.
  void OnResolvChanged(Instant now);

  // Re-reads the host and gives the namespace the difference (see above).
  // Allocates; blocks on netlink.
  void Resync(Run& run);

 private:
  Follow(netlink::HostTemplate tmpl, netlink::TapConfig net,
         std::string tap_name, bool strict_check, netlink::EventSocket events);

  netlink::HostTemplate tmpl_;
  netlink::TapConfig net_;
  std::string tap_name_;
  bool strict_check_;
  bool said_replaced_ = false;  // resolv.conf replaced: said once
  // Arms the debounce for a change seen at `now`.
  void Arm(Instant now);
  netlink::EventSocket events_;
  UniqueFd resolv_watch_;
  Instant first_ = Instant::Never();  // first notification not yet applied
  Instant deadline_ = Instant::Never();
  uint64_t resyncs_ = 0;
};

// Start-up: follows the host (unless --no-follow-host) from the state
// start-up gave the namespace, registers the socket in the loop. A failure
// is one warning line: the namespace then keeps what it has, as upstream.
void StartFollowing(Run& run, const netlink::HostTemplate& tmpl,
                    const netlink::TapConfig& net, const std::string& tap_name,
                    bool strict_check);

}  // namespace pasta::app
