#include "fwd/proc_net.h"

#include <fcntl.h>
#include <unistd.h>

namespace pasta::fwd {

namespace {

constexpr unsigned kTcpListen = 0x0a;  // TCP_LISTEN
constexpr unsigned kUdpUnconnected = 0x07;  // TCP_CLOSE, as UDP shows it

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses 1..8 hex digits. Returns false if `s` is anything else.
bool ParseHex(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 8) return false;
  uint32_t v = 0;
  for (char c : s) {
    const int d = HexDigit(c);
    if (d < 0) return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

// Takes the next space-separated field off the front of `line`.
std::string_view NextField(std::string_view& line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  size_t j = i;
  while (j < line.size() && line[j] != ' ') ++j;
  const std::string_view field = line.substr(i, j - i);
  line.remove_prefix(j);
  return field;
}

}  // namespace

int ParseProcNet(std::string_view text, Table table, PortSet* out) {
  int counted = 0;
  const unsigned want = table == Table::kTcp ? kTcpListen : kUdpUnconnected;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const std::string_view sl = NextField(line);
    if (sl.empty() || sl.back() != ':') continue;  // the header, or junk
    const std::string_view local = NextField(line);
    NextField(line);  // remote
    const std::string_view st = NextField(line);
    const size_t colon = local.rfind(':');
    if (colon == std::string_view::npos) continue;
    uint32_t port, state;
    if (!ParseHex(local.substr(colon + 1), &port) || port > 0xffff ||
        port == 0 || !ParseHex(st, &state) || state != want) {
      continue;
    }
    out->set(port);
    ++counted;
  }
  return counted;
}

PortSet ProcNetTables::Read() {
  PortSet ports;
  for (const UniqueFd* fd : {&v4, &v6}) {
    if (!fd->valid() || lseek(fd->get(), 0, SEEK_SET) != 0) continue;
    buf.clear();
    char chunk[16384];
    ssize_t n;
    while ((n = read(fd->get(), chunk, sizeof(chunk))) > 0)
      buf.append(chunk, static_cast<size_t>(n));
    ParseProcNet(buf, table, &ports);
  }
  return ports;
}

ProcNetTables OpenProcNet(Table table) {
  ProcNetTables t;
  t.table = table;
  const std::string path =
      std::string("/proc/net/") + (table == Table::kTcp ? "tcp" : "udp");
  t.v4.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  t.v6.reset(open((path + "6").c_str(), O_RDONLY | O_CLOEXEC));
  return t;
}

}  // namespace pasta::fwd
