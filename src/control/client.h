// The client side of the control protocol, for our `pesto`: read the
// server's greeting and tables, edit them as upstream's pesto does (replace
// by default, -A add, -D delete, -C clear), print them in its format.
//
// Editing happens here, on the copy read from the server; the server only
// ever receives the complete new tables (protocol.h). Every error is found
// before anything is sent, so a failed pesto run changes nothing.
// Control plane; allocates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/protocol.h"

namespace pasta::control {

// A table as the server announced it: its name is the server's word.
struct Announced {
  std::string name;
  Table table;
};

// Reads and checks the greeting (magic, version 2, field sizes) and the
// table dump from the blocking socket `fd`. Errors: one line each (bad
// magic, another version, a malformed or cut dump).
absl::StatusOr<std::vector<Announced>> ReadServer(int fd);

// The tables in pesto's output format under `title` ("passt/pasta
// configuration", "Previous configuration", ...), `path` as given.
std::string Show(const std::vector<Announced>& tables, std::string_view title,
                 std::string_view path);

// One step of the command line, in order.
struct EditOp {
  enum class Kind { kAdd, kDelete, kClear, kSpec };
  Kind kind;
  char option = 0;   // kSpec: 't', 'u', 'T' or 'U'
  std::string text;  // kSpec: the specification; kClear: the table's name
};

// Applies `ops` to `tables` as upstream's pesto does: in replace mode (the
// start), a table's first -t/-u (HOST) or -T/-U (SPLICE) empties it first;
// -A adds (checked like the server checks an update), -D deletes rules
// equal in all their bytes, -C empties a table by name. Warnings (one line
// each) go to `warnings`. Errors: one line; `tables` may be half-edited
// then, and must not be sent.
absl::Status Edit(std::vector<Announced>& tables,
                  const std::vector<EditOp>& ops,
                  std::pair<uint16_t, uint16_t> ephemeral,
                  std::vector<std::string>* warnings);

// After sending an update: reads the server's answer from `fd` until EOF.
// Our server sends a status record: OK if it applied the update, else
// FailedPrecondition with its reason. Upstream's sends nothing: OK.
absl::Status ReadStatus(int fd);

}  // namespace pasta::control
