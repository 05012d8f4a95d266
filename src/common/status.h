// Control-plane error handling: absl::Status with errno and context.
//
// Our Abseil (20220623) has no RETURN_IF_ERROR / ASSIGN_OR_RETURN, so these
// small macros stand in. They are for start-up, options, netlink and
// namespaces only: the data path never builds a message-carrying Status
// (it allocates); it counts a DropReason instead.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pasta {

// Returns a Status whose message is "<what>: <strerror(err)>", with a code
// mapped from errno (ENOENT -> NotFound, EACCES/EPERM -> PermissionDenied,
// EINVAL -> InvalidArgument, EEXIST -> AlreadyExists, ...). Allocates.
absl::Status ErrnoToStatus(int err, std::string_view what);

}  // namespace pasta

#define PASTA_STATUS_CONCAT_INNER_(a, b) a##b
#define PASTA_STATUS_CONCAT_(a, b) PASTA_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the caller if not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status pasta_status_ = (expr);         \
    if (!pasta_status_.ok()) return pasta_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status from the caller
// if not OK, else moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                           \
  ASSIGN_OR_RETURN_IMPL_(PASTA_STATUS_CONCAT_(pasta_statusor_, __LINE__), lhs, \
                         rexpr)
// `tmp` is a name and `lhs` may be a declaration: neither can be
// parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                           \
  if (!tmp.ok()) return tmp.status();           \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
