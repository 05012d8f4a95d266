// The program: options, set-up of the target namespace and its tap, the
// event loop, and the exit status.
//
// Theory of operation:
//  1. Parse and validate the command line (src/config); a bad option is one
//     line on stderr and exit status 1, before anything is created.
//  2. Read the template interface(s) in our own network namespace
//     (src/netlink): name, MAC, MTU, addresses, routes.
//  3. Find or make the target namespace (src/ns): spawn a command in new
//     user+net namespaces, or open a netns file or a PID's namespaces.
//  4. In the clone helper, inside the target: open the tap, bring loopback
//     up and, with --config-net, configure the tap like the template.
//  5. Attached to an existing namespace and not -f: go to the background
//     once everything is ready (the parent exits 0, so an engine can go on).
//     A spawned command is released only now, so it starts with a working
//     network, and we stay in the foreground to return its exit status.
//  6. Run the epoll loop until the command exits, the namespace goes away,
//     or a signal ends us.
#pragma once

namespace pasta::app {

// Runs pasta with the given arguments and returns the process exit status.
int Main(int argc, char* argv[]);

}  // namespace pasta::app
