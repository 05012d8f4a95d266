#include "config/passwd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "common/fd.h"

namespace pasta::config {
namespace {

// Splits `line` at ':' into at most `max` fields.
std::vector<std::string_view> Fields(std::string_view line, size_t max) {
  std::vector<std::string_view> f;
  while (f.size() + 1 < max) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) break;
    f.push_back(line.substr(0, colon));
    line.remove_prefix(colon + 1);
  }
  f.push_back(line);
  return f;
}

// A decimal number up to 2^32 - 2 (-1 is no id).
bool ParseId(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v >= 0xffffffffu) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// passwd: name:password:UID:GID:gecos:home:shell (7 fields).
// group:  name:password:GID:members (4 fields).
std::optional<Account> Find(std::string_view text, std::string_view key,
                            bool by_id, bool passwd) {
  const size_t want = passwd ? 7 : 4;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string_view> f = Fields(line, want);
    if (f.size() < want || f[0].empty()) continue;
    uint32_t id = 0;
    uint32_t gid = 0;
    if (!ParseId(f[2], &id)) continue;
    if (passwd ? !ParseId(f[3], &gid) : false) continue;
    if (!passwd) gid = id;
    if (by_id ? f[2] != key : f[0] != key) continue;
    return Account{std::string(f[0]), id, gid};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Account> FindPasswd(std::string_view text, std::string_view key,
                                  bool by_id) {
  return Find(text, key, by_id, /*passwd=*/true);
}

std::optional<Account> FindGroup(std::string_view text, std::string_view key,
                                 bool by_id) {
  return Find(text, key, by_id, /*passwd=*/false);
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  char buf[4096];
  while (text.size() < (16u << 20)) {
    const ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace pasta::config
