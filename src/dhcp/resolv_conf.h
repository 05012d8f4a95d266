// The host's resolver configuration, read from /etc/resolv.conf at start-up
// to fill the DNS options of DHCP, DHCPv6 and router advertisements.
//
// Theory of operation: the syntax is resolv.conf(5)'s. A line is a keyword
// and its arguments separated by blanks; '#' or ';' starts a comment, at the
// start of a line or after an argument. We read:
//   nameserver ADDR   one per line, IPv4 or IPv6, all of them in file order
//                     (glibc uses only the first three; callers may trim).
//                     An IPv6 address with a zone ("fe80::1%eth0") is
//                     skipped: the zone names a host interface, so the
//                     address means nothing inside the namespace.
//                     Anything after the address is ignored.
//   search D1 D2...   the search list;
//   domain D          the same as "search D".
// Of search and domain the last one in the file wins (resolv.conf(5)). A
// domain "." (the root) is dropped. Keywords are case-sensitive, as in glibc;
// other keywords (options, sortlist) and unparsable lines are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/net_types.h"

namespace pasta::dhcp {

struct ResolvConf {
  std::vector<IpAddr> nameservers;
  std::vector<std::string> search;
  bool operator==(const ResolvConf&) const = default;
};

// Parses resolv.conf text. Pure; allocates.
ResolvConf ParseResolvConf(std::string_view text);

// Reads and parses `path` (at most 1 MiB of it). An unreadable file gives an
// empty result (logged at debug). Allocates.
ResolvConf ReadResolvConf(const std::string& path = "/etc/resolv.conf");

// The host's resolv.conf, kept open so that it can be read again once the
// sandbox has hidden the file system and forbidden open() (app/follow.h):
// opened before the sandbox, symbolic links followed (/etc/resolv.conf is
// often a link into /run), read again with pread(). A file rewritten in
// place (truncated and written, a bind mount's source) is seen; a file
// replaced by another (written aside and renamed over, as systemd-resolved
// and NetworkManager do) is not: the descriptor keeps the old one, and
// replaced() says so (fstatat() on the directory, kept open with O_PATH).
class ResolvConfFile {
 public:
  ResolvConfFile() = default;
  // Opens `path` and its directory; a file that cannot be opened reads as
  // empty (logged at debug), as ReadResolvConf. Allocates.
  static ResolvConfFile Open(const std::string& path = "/etc/resolv.conf");

  // The file as it is now (at most 1 MiB of it); empty if it was not
  // opened or cannot be read. Allocates.
  ResolvConf Read() const;

  // Whether the name now stands for another file than the one kept open
  // (also: it is gone). False if it was never opened.
  bool replaced() const;

 private:
  std::string path_;
  UniqueFd fd_;
  UniqueFd dir_;  // O_PATH: fstatat() only
  std::string name_;
};

}  // namespace pasta::dhcp
