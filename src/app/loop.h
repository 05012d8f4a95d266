// The event loop: one thread, one epoll instance, one switch over the
// packed reference of each event (loop/epoll_ref.h), and one timer armed
// for the next deadline only.
#pragma once

#include "app/run.h"

namespace pasta::app {

// Runs until the command exits (and its connections have delivered what
// it wrote, 10 s at most), the namespace or target process goes away, the
// tap closes, or a signal ends us. Returns the exit status.
int Loop(Run& run);

}  // namespace pasta::app
