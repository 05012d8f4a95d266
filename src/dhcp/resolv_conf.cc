#include "dhcp/resolv_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "common/fd.h"
#include "common/log.h"

namespace pasta::dhcp {

namespace {

constexpr size_t kMaxFile = 1 << 20;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool IsComment(char c) { return c == '#' || c == ';'; }

// Splits off the next blank-separated word of `line`; "" at the end of the
// line or at a comment.
std::string_view NextWord(std::string_view& line) {
  size_t i = 0;
  while (i < line.size() && IsBlank(line[i])) ++i;
  line.remove_prefix(i);
  if (line.empty() || IsComment(line[0])) {
    line = {};
    return {};
  }
  size_t end = 0;
  while (end < line.size() && !IsBlank(line[end]) && !IsComment(line[end]))
    ++end;
  const std::string_view word = line.substr(0, end);
  line.remove_prefix(end);
  return word;
}

}  // namespace

ResolvConf ParseResolvConf(std::string_view text) {
  ResolvConf conf;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);

    const std::string_view keyword = NextWord(line);
    if (keyword == "nameserver") {
      const std::string_view word = NextWord(line);
      if (word.find('%') != std::string_view::npos) continue;  // zoned
      if (const auto addr = ParseIp(word)) conf.nameservers.push_back(*addr);
    } else if (keyword == "search" || keyword == "domain") {
      std::vector<std::string> list;
      for (std::string_view word = NextWord(line); !word.empty();
           word = NextWord(line)) {
        if (word == ".") continue;
        list.emplace_back(word);
        if (keyword == "domain") break;  // one argument
      }
      conf.search = std::move(list);
    }
  }
  return conf;
}

ResolvConf ReadResolvConf(const std::string& path) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    LOG_DEBUG("dhcp: cannot open %s: %s", path, std::strerror(errno));
    return {};
  }
  std::string text;
  char buf[4096];
  while (text.size() < kMaxFile) {
    const ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      LOG_DEBUG("dhcp: cannot read %s: %s", path, std::strerror(errno));
      return {};
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return ParseResolvConf(text);
}

}  // namespace pasta::dhcp
