// libFuzzer target for the command line: the input, split at NUL bytes, is
// argv after "pasta" (at most 64 arguments), parsed by ParseCommandLine
// with a fake file system (a path "exists" when its length is even), so
// that nothing outside the process is touched but getpwnam/getgrnam for
// --runas. Each run starts getopt afresh (ParseCommandLine resets optind).
// A parse that succeeds must give a Config that is consistent with itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config/config.h"

namespace {

int FakeExists(const std::string& path) {
  return path.size() % 2 == 0 ? 0 : ENOENT;
}

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::vector<std::string> args = {"pasta"};
  std::string cur;
  for (size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  if (args.size() < 64 && (size == 0 || data[size - 1] != 0))
    args.push_back(cur);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pasta::config::ParseEnv env;
  env.path_exists = FakeExists;
  const auto cfg = pasta::config::ParseCommandLine(
      static_cast<int>(args.size()), argv.data(), env);
  if (!cfg.ok()) {
    // One line, naming what was wrong.
    Require(!cfg.status().message().empty());
    if (std::memchr(data, '\n', size) == nullptr)
      Require(cfg.status().message().find('\n') == std::string::npos);
    return 0;
  }
  if (cfg->help || cfg->version) return 0;
  Require(cfg->mtu == 0 || (cfg->mtu >= pasta::config::kMinMtu &&
                            cfg->mtu <= pasta::config::kMaxMtu));
  Require(!(cfg->ipv4_only && cfg->ipv6_only));
  Require(!cfg->addr4 || cfg->addr4->family == AF_INET);
  Require(!cfg->addr6 || cfg->addr6->family == AF_INET6);
  Require(!cfg->gw4 || cfg->gw4->family == AF_INET);
  Require(!cfg->gw6 || cfg->gw6->family == AF_INET6);
  Require(cfg->prefix_len4 >= -1 && cfg->prefix_len4 <= 32);
  Require(cfg->prefix_len6 >= -1 && cfg->prefix_len6 <= 128);
  Require(cfg->target != pasta::config::Target::kPid || cfg->target_pid > 0);
  for (const pasta::config::PortSpec* spec :
       {&cfg->tcp_ports, &cfg->udp_ports, &cfg->tcp_ns, &cfg->udp_ns}) {
    Require(!spec->Forwarded(0));
    (void)spec->ForwardedCount();
  }
  return 0;
}
