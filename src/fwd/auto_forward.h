// One direction of automatic port forwarding (-t/-u/-T auto): keeps our
// listeners in step with the ports bound on the other side.
//
// Each Update() gets the ports bound there now (ParseProcNet) and the ports
// our own listeners hold there (never forwarded back: that would loop), and
// considers only the ports set_allowed() left it (all by default; fewer for
// `-t 8000-8010,auto` or `-t ~22,auto`). A
// newly bound port gets listeners through `open`; a port no longer bound
// loses them through `close`. A port whose listeners could not be opened
// (the port is taken on our side) is not retried until it goes away and
// comes back. Control plane: Update() costs a pass over the changed ports;
// the callbacks may allocate.
//
// MakeAutoForward() builds the one used for each of -t, -u, -T and -U auto:
// opening a port means a listener per enabled family.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "fwd/proc_net.h"

namespace pasta::fwd {

class AutoForward {
 public:
  using OpenFn = std::function<bool(uint16_t port)>;
  using CloseFn = std::function<void(uint16_t port)>;

  AutoForward(std::string name, OpenFn open, CloseFn close)
      : name_(std::move(name)),
        open_(std::move(open)),
        close_(std::move(close)) {
    allowed_.set();
  }

  // Limits forwarding to the ports in `allowed`, from the next Update().
  void set_allowed(const PortSet& allowed) {
    allowed_ = allowed;
    enabled_ = allowed_.any();
  }
  // Whether any port may be forwarded (the control socket can leave a
  // direction with none, until a rule gives it some).
  bool enabled() const { return enabled_; }

  void Update(const PortSet& bound, const PortSet& own) {
    const PortSet want = bound & ~own & allowed_;
    const PortSet gone = (active_ | failed_) & ~want;
    for (size_t p = gone._Find_first(); p < gone.size(); p = gone._Find_next(p)) {
      if (active_.test(p)) close_(static_cast<uint16_t>(p));
      active_.reset(p);
      failed_.reset(p);
    }
    const PortSet fresh = want & ~active_ & ~failed_;
    for (size_t p = fresh._Find_first(); p < fresh.size();
         p = fresh._Find_next(p)) {
      if (open_(static_cast<uint16_t>(p))) {
        active_.set(p);
      } else {
        failed_.set(p);
      }
    }
  }

  // Ports forwarded now.
  const PortSet& active() const { return active_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  OpenFn open_;
  CloseFn close_;
  PortSet active_, failed_;
  PortSet allowed_;  // the ports it may forward
  bool enabled_ = true;  // allowed_.any()
};

// Opens one listener at `port` for `family` (AF_INET or AF_INET6),
// forwarding to the same port on the other side. Returns its error, if any.
using AutoListenFn = std::function<absl::Status(int family, uint16_t port)>;

// Returns the AutoForward named `name` ("-t auto") for `protocol` ("TCP" or
// "UDP"): opening a port calls `add` for each enabled family, IPv4 first,
// and succeeds if any family did; each failed family is logged at debug as
// "NAME: message", a port opened as "NAME: forwarding PROTOCOL port N".
// Closing a port calls `remove`. Allocates.
std::unique_ptr<AutoForward> MakeAutoForward(std::string name,
                                             std::string_view protocol,
                                             bool enabled4, bool enabled6,
                                             AutoListenFn add,
                                             AutoForward::CloseFn remove);

}  // namespace pasta::fwd
