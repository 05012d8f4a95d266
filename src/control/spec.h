// A -t/-u/-T/-U port specification turned into control-protocol rules,
// as upstream's `pesto` builds them before it sends an update (so that our
// pesto's rules are byte for byte upstream's, and deleting a rule added by
// either works with both):
//
//   SPEC    := none | [PREFIX/]CHUNK[,CHUNK]...
//   PREFIX  := ADDR[%IF] | [*][%IF]      (-t/-u only; ADDR may be bracketed)
//   CHUNK   := FIRST[-LAST][:TARGET] | ~FIRST[-LAST] | all[:TADDR] | auto
//   TARGET  := TFIRST[-TLAST] | TADDR | TADDR/TFIRST[-TLAST]
//
// - Each include range is one rule, split around the excluded ports; its
//   target range has the same length.
// - A list without an include range (only all, auto, exclusions) covers
//   ports 1-65535 but the exclusions and the `ephemeral` range, as a weak
//   (best effort) rule set.
// - `auto` anywhere marks every rule of the list as scanned (pasta only).
// - No address (or `*`): dual-stack where both families are enabled, else
//   the one family's any-address. -T/-U bind to `lo`, or without device
//   binding, listen on 127.0.0.1 and ::1 as two rule sets (with a warning).
// The caller passes the ephemeral range (fwd::EphemeralPorts()).
// Control plane; allocates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "control/protocol.h"

namespace pasta::control {

struct SpecResult {
  bool none = false;        // the spec was `none`: no rule
  std::vector<Rule> rules;  // in upstream's order
  std::string warning;      // one line, or empty
};

// Parses `spec` of option -`option` ('t', 'u', 'T' or 'U') for a table with
// capability bits `caps`. Errors (InvalidArgument, one line): a malformed
// spec, a listening address on -T/-U, `auto` without the scan capability,
// an interface without device binding.
absl::Status ParseSpec(std::string_view spec, char option, uint32_t caps,
                       std::pair<uint16_t, uint16_t> ephemeral,
                       SpecResult* out);

}  // namespace pasta::control
