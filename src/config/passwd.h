// User and group look-ups for --runas, read from /etc/passwd and /etc/group
// ourselves instead of through glibc's getpwnam(3) and friends: those go
// through NSS, which loads the host's modules (libnss_systemd, libnss_sss,
// ...) into the process. A release build that carries its own C library
// (README: "Install") must never load the host's modules into it, and the
// same answer everywhere is simpler to reason about. Users known only to a
// directory service (LDAP, sssd) are not found: give their numeric UID and
// GID instead.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace pasta::config {

struct Account {
  std::string name;
  uint32_t id = 0;   // UID (passwd) or GID (group)
  uint32_t gid = 0;  // passwd: the primary group; group: the same as id
};

// Looks `key` up in the text of a passwd(5) or group(5) file: by name, or
// by number when `by_id` is set (key is then the decimal id). Lines that do
// not parse (too few fields, a bad number) and comments are skipped; the
// first match counts. Pure: no I/O. Allocates.
std::optional<Account> FindPasswd(std::string_view text, std::string_view key,
                                  bool by_id);
std::optional<Account> FindGroup(std::string_view text, std::string_view key,
                                 bool by_id);

// Reads a whole file (at most 16 MiB); nullopt if it can't be read.
std::optional<std::string> ReadSmallFile(const std::string& path);

}  // namespace pasta::config
