#include "ns/clone_helper.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/status.h"

namespace pasta::ns {

namespace {

// The helper's stack. Deliberately not aligned by the compiler beyond
// alignof(max_align_t): StackTop() does the rounding that matters.
alignas(64) unsigned char g_helper_stack[kHelperStackSize];

struct HelperArgs {
  const NsFds* target;
  absl::FunctionRef<absl::Status()>* fn;
  absl::Status result;
};

int HelperMain(void* raw) {
  auto* args = static_cast<HelperArgs*>(raw);
  if (args->target->userns_fd >= 0 &&
      setns(args->target->userns_fd, CLONE_NEWUSER) != 0) {
    args->result = ErrnoToStatus(errno, "joining the user namespace");
    return 1;
  }
  if (args->target->netns_fd >= 0 &&
      setns(args->target->netns_fd, CLONE_NEWNET) != 0) {
    args->result = ErrnoToStatus(errno, "joining the network namespace");
    return 1;
  }
  args->result = (*args->fn)();
  return args->result.ok() ? 0 : 1;
}

}  // namespace

absl::Status RunInNamespace(const NsFds& target,
                            absl::FunctionRef<absl::Status()> fn) {
  HelperArgs args{&target, &fn, absl::OkStatus()};
  // No SIGCHLD on exit: the helper is reaped right here, and our SIGCHLD
  // handling is reserved for the command we spawn.
  const pid_t pid =
      clone(HelperMain, StackTop(g_helper_stack, sizeof(g_helper_stack)),
            kHelperCloneFlags, &args);
  if (pid < 0) return ErrnoToStatus(errno, "clone() of the namespace helper");
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0) {
    if (errno != EINTR)
      return ErrnoToStatus(errno, "waiting for the namespace helper");
  }
  if (!WIFEXITED(status)) {
    return absl::InternalError("namespace helper died with signal " +
                               std::to_string(WTERMSIG(status)));
  }
  return args.result;
}

}  // namespace pasta::ns
