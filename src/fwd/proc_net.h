// Which ports are bound in a network namespace, from the kernel's socket
// tables /proc/net/{tcp,tcp6,udp,udp6}: the input of automatic forwarding
// (-t/-u/-T/-U auto).
//
// Format (one line per socket after a header line; fields separated by
// spaces): "sl: LOCAL REMOTE st ...", LOCAL being HEXADDR:HEXPORT and st the
// state in hex. A TCP socket counts when it listens (st 0A); a UDP socket
// when it is bound and unconnected (st 07), as a server's is. Lines that do
// not parse are skipped. ParseProcNet() is pure and does not allocate;
// ProcNetTables holds the open files and reads them at each scan.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.h"

namespace pasta::fwd {

using PortSet = std::bitset<65536>;

enum class Table { kTcp, kUdp };

// Adds the ports of the sockets in `text` (one table's contents) that count
// for `table` to `out`. Returns how many lines counted.
int ParseProcNet(std::string_view text, Table table, PortSet* out);

// One namespace's socket tables for a protocol (/proc/net/tcp and tcp6,
// or udp and udp6), opened once (in that namespace: the files show the
// namespace of the thread that opened them) and read again at every scan.
// A default-constructed one has no files and reads as no ports.
struct ProcNetTables {
  Table table = Table::kTcp;
  UniqueFd v4, v6;
  std::string buf;  // reused; grows to the largest table seen

  // Returns the ports bound in that namespace now (both families); a file
  // that can't be read counts as empty. Costs a read and a parse of each
  // file; allocates only when a table outgrows `buf`.
  PortSet Read();
};

// Opens the `table` files of the calling thread's namespace. A file that
// can't be opened (no IPv6) is left invalid.
ProcNetTables OpenProcNet(Table table);

}  // namespace pasta::fwd
