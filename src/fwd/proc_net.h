// Which ports are bound in a network namespace, from the kernel's socket
// tables /proc/net/{tcp,tcp6,udp,udp6}: the input of automatic forwarding
// (-t/-u/-T/-U auto).
//
// Format (one line per socket after a header line; fields separated by
// spaces): "sl: LOCAL REMOTE st ...", LOCAL being HEXADDR:HEXPORT and st the
// state in hex. A TCP socket counts when it listens (st 0A); a UDP socket
// when it is bound and unconnected (st 07), as a server's is. Lines that do
// not parse are skipped. Pure; no allocation.
#pragma once

#include <bitset>
#include <cstdint>
#include <string_view>

namespace pasta::fwd {

using PortSet = std::bitset<65536>;

enum class Table { kTcp, kUdp };

// Adds the ports of the sockets in `text` (one table's contents) that count
// for `table` to `out`. Returns how many lines counted.
int ParseProcNet(std::string_view text, Table table, PortSet* out);

}  // namespace pasta::fwd
