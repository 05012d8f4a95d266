// The control socket (-c PATH) in a run: its server, and the live rule set
// whose listeners are the handlers' (TCP and UDP on the host for table
// HOST; splice and the UDP relay on the namespace's loopback for SPLICE).
//
// With -c, the -t/-u/-T/-U lists' explicit ports are opened through the
// live rule set at start-up (not fwd::AddForwards), so that every listener
// an update may keep or close is known to it; `auto` stays the automatic
// forwarding's, which leaves the explicit rules' ports alone.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "app/run.h"

namespace pasta::app {

// Creates the socket (before the sandbox closes the file system): mode 0600,
// owned by --runas's user where given. Errors: as control::Server::Bind.
absl::Status BindControl(Run& run);

// Builds the tables from the command line and opens their explicit ports
// (the handlers exist by now), then serves the socket from the loop.
// Errors: a port that can't be forwarded, as at start-up without -c.
absl::Status StartControl(Run& run);

}  // namespace pasta::app
