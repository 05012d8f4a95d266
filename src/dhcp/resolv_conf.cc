#include "dhcp/resolv_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
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
  return ResolvConfFile::Open(path).Read();
}

ResolvConfFile ResolvConfFile::Open(const std::string& path) {
  ResolvConfFile f;
  f.path_ = path;
  f.fd_.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.fd_.valid()) {
    LOG_DEBUG("dhcp: cannot open %s: %s", path, std::strerror(errno));
    return f;
  }
  // The directory of the file the links lead to, for replaced().
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return f;
  const std::string target(real);
  free(real);  // realpath() allocated it
  const size_t slash = target.rfind('/');
  if (slash == std::string::npos) return f;
  const std::string dir = slash == 0 ? "/" : target.substr(0, slash);
  f.dir_.reset(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  f.name_ = target.substr(slash + 1);
  return f;
}

ResolvConf ResolvConfFile::Read() const {
  if (!fd_.valid()) return {};
  std::string text;
  char buf[4096];
  while (text.size() < kMaxFile) {
    const ssize_t n =
        pread(fd_.get(), buf, sizeof(buf), static_cast<off_t>(text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      LOG_DEBUG("dhcp: cannot read %s: %s", path_, std::strerror(errno));
      return {};
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return ParseResolvConf(text);
}

bool ResolvConfFile::replaced() const {
  if (!fd_.valid() || !dir_.valid()) return false;
  struct stat kept {};
  struct stat now {};
  if (fstat(fd_.get(), &kept) != 0) return false;
  if (fstatat(dir_.get(), name_.c_str(), &now, 0) != 0) return true;
  return kept.st_dev != now.st_dev || kept.st_ino != now.st_ino;
}

}  // namespace pasta::dhcp
