// pesto: shows and changes the forwarding rules of a running pasta (or
// passt) through its -c control socket. The command line and output are
// upstream pesto's; the work is in control/client.h.
#include <getopt.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "control/client.h"
#include "control/protocol.h"
#include "fwd/limits.h"
#include "version.h"

namespace {

using pasta::control::Announced;
using pasta::control::EditOp;

constexpr char kUsage[] =
    "Usage: pesto [OPTION]... PATH\n"
    "Show or change the forwarding rules of the pasta or passt whose control\n"
    "socket (its -c option) is PATH. With no change given, shows them.\n"
    "\n"
    "  -t, --tcp-ports SPEC   TCP ports forwarded to the namespace (table "
    "HOST)\n"
    "  -u, --udp-ports SPEC   UDP ports forwarded to the namespace (table "
    "HOST)\n"
    "  -T, --tcp-ns SPEC      TCP ports forwarded from the namespace (SPLICE)\n"
    "  -U, --udp-ns SPEC      UDP ports forwarded from the namespace (SPLICE)\n"
    "                         SPEC as for pasta: none, auto, all, ranges,\n"
    "                         ~exclusions, ADDR%IF/ prefixes, :targets\n"
    "  -A, --add              the specifications after this one add rules\n"
    "  -D, --delete           ... delete rules (all of a rule must match)\n"
    "  -C, --clear TABLE      empty TABLE (a name --show prints)\n"
    "                         Without -A or -D, a table's first -t/-u or\n"
    "                         -T/-U replaces all its rules.\n"
    "  -s, --show             show the rules before and after the change\n"
    "  -d, --debug            say more on standard error\n"
    "  -h, --help             show this help and exit\n"
    "      --version          show the version and exit\n";

int UsageError(const char* why) {
  std::fprintf(stderr, "pesto: %s\n%s", why, kUsage);
  return 1;
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "pesto: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  static const option kLong[] = {
      {"debug", no_argument, nullptr, 'd'},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 1},
      {"show", no_argument, nullptr, 's'},
      {"add", no_argument, nullptr, 'A'},
      {"delete", no_argument, nullptr, 'D'},
      {"clear", required_argument, nullptr, 'C'},
      {"tcp-ports", required_argument, nullptr, 't'},
      {"udp-ports", required_argument, nullptr, 'u'},
      {"tcp-ns", required_argument, nullptr, 'T'},
      {"udp-ns", required_argument, nullptr, 'U'},
      {nullptr, 0, nullptr, 0},
  };
  bool debug = false;
  bool show = false;
  std::vector<EditOp> ops;
  opterr = 0;
  for (;;) {
    const int c = getopt_long(argc, argv, "+dhsADC:t:u:T:U:", kLong, nullptr);
    if (c == -1) break;
    switch (c) {
      case 'd':
        debug = true;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return 0;
      case 1:
        std::printf("pesto (pasta-cpp) %s\n", PASTA_CPP_VERSION);
        return 0;
      case 's':
        show = true;
        break;
      case 'A':
        ops.push_back(EditOp{EditOp::Kind::kAdd, 0, ""});
        break;
      case 'D':
        ops.push_back(EditOp{EditOp::Kind::kDelete, 0, ""});
        break;
      case 'C':
        ops.push_back(EditOp{EditOp::Kind::kClear, 0, optarg});
        break;
      case 't':
      case 'u':
      case 'T':
      case 'U':
        ops.push_back(
            EditOp{EditOp::Kind::kSpec, static_cast<char>(c), optarg});
        break;
      default: {
        const std::string what =
            optopt != 0 ? std::string("option -") + static_cast<char>(optopt)
                        : std::string("option ") + argv[optind - 1];
        return UsageError(
            (what + ": unknown, or its argument is missing").c_str());
      }
    }
  }
  if (optind != argc - 1) return UsageError("give exactly one PATH");
  const std::string path = argv[optind];

  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sun.sun_path)) {
    return Fail("socket path too long: " + path);
  }
  std::memcpy(sun.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
    return Fail("connecting to " + path + ": " + std::strerror(errno));
  }
  if (debug) std::fprintf(stderr, "pesto: connected to %s\n", path.c_str());
  auto tables = pasta::control::ReadServer(fd);
  if (!tables.ok()) return Fail(std::string(tables.status().message()));
  if (debug) {
    for (const Announced& a : *tables) {
      std::fprintf(stderr,
                   "pesto: table %u: %s, %zu rules, capabilities 0x%x\n",
                   static_cast<unsigned>(a.table.pif), a.name.c_str(),
                   a.table.rules.size(), a.table.caps);
    }
  }
  if (ops.empty()) {
    std::fputs(pasta::control::Show(*tables, "passt/pasta configuration", path)
                   .c_str(),
               stdout);
    close(fd);
    return 0;
  }
  if (show) {
    std::fputs(
        pasta::control::Show(*tables, "Previous configuration", path).c_str(),
        stdout);
  }
  std::vector<std::string> warnings;
  const absl::Status edited = pasta::control::Edit(
      *tables, ops, pasta::fwd::EphemeralPorts(), &warnings);
  for (const std::string& w : warnings)
    std::fprintf(stderr, "pesto: %s\n", w.c_str());
  if (!edited.ok()) {
    close(fd);
    return Fail(std::string(edited.message()));
  }
  if (show) {
    std::fputs(
        pasta::control::Show(*tables, "Updated configuration", path).c_str(),
        stdout);
  }
  std::fflush(stdout);
  std::vector<pasta::control::Table> update;
  for (const Announced& a : *tables) update.push_back(a.table);
  const std::vector<uint8_t> bytes = pasta::control::EncodeUpdate(update);
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Fail(std::string("writing to the control socket: ") +
                  std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  const absl::Status status = pasta::control::ReadStatus(fd);
  close(fd);
  if (!status.ok()) {
    return Fail("the server refused the update: " +
                std::string(status.message()));
  }
  return 0;
}
