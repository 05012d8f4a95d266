// libFuzzer target for the control socket's update reader (control/
// protocol.h): what a client of -c may send. The first byte chooses the
// tables the server has (pasta's two, or passt's one) and how the rest is
// cut into reads. Checks: the reader consumes no byte past the end of an
// update; a finished update holds only rules that pass the checks (no two
// in a table conflict, at most 255 each) and reads back the same from its
// own encoding; an error has a one-line reason.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "control/protocol.h"

namespace {

using pasta::control::Conflicts;
using pasta::control::EncodeUpdate;
using pasta::control::kMaxRules;
using pasta::control::Pif;
using pasta::control::Table;
using pasta::control::UpdateReader;

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<Table> tables = {Table{Pif::kHost, 0x3fU & (mode | 0x3cU), {}}};
  if ((mode & 0x80) == 0) tables.push_back(Table{Pif::kSplice, 0x3f, {}});
  const size_t piece = 1 + ((mode >> 2) & 0x1f);

  UpdateReader reader(tables);
  size_t at = 1;
  while (at < size && reader.state() == UpdateReader::State::kMore) {
    const size_t n = std::min(piece, size - at);
    const size_t used = reader.Feed(absl::MakeConstSpan(data + at, n));
    Require(used <= n);
    if (reader.state() == UpdateReader::State::kMore) Require(used == n);
    at += used;
    if (used < n) break;
  }
  if (reader.state() == UpdateReader::State::kMore) reader.End();
  if (reader.state() == UpdateReader::State::kError) {
    Require(!reader.error().empty());
    Require(reader.error().find('\n') == std::string::npos);
    return 0;
  }
  Require(reader.state() == UpdateReader::State::kDone);
  for (const Table& t : reader.tables()) {
    Require(t.rules.size() <= kMaxRules);
    for (size_t i = 0; i < t.rules.size(); ++i) {
      for (size_t j = i + 1; j < t.rules.size(); ++j) {
        Require(!Conflicts(t.rules[i], t.rules[j]));
      }
    }
  }
  const std::vector<uint8_t> again = EncodeUpdate(reader.tables());
  UpdateReader second(tables);
  Require(second.Feed(again) == again.size());
  Require(second.state() == UpdateReader::State::kDone);
  for (size_t k = 0; k < tables.size(); ++k) {
    Require(second.tables()[k].rules == reader.tables()[k].rules);
  }
  return 0;
}
