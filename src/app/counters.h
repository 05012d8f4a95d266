// What the event counters say, as text: --debug logs these lines at exit,
// --stats prints them joined on one line at most every DELAY seconds.
#pragma once

#include <string>
#include <vector>

#include "app/run.h"

namespace pasta::app {

// One line per part that runs: "tap: ...", then "udp: ...", "tcp: ..." and
// "splice: ..." for those that are on. Allocates.
std::vector<std::string> CounterLines(const Run& run);

}  // namespace pasta::app
