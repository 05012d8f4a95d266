#include "fwd/limits.h"

#include <dirent.h>
#include <sys/resource.h>

#include <cstdio>

namespace pasta::fwd {

std::pair<uint16_t, uint16_t> EphemeralPorts() {
  std::pair<uint16_t, uint16_t> range = kDefaultEphemeralPorts;
  FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
  if (f == nullptr) return range;
  unsigned lo = 0, hi = 0;
  if (std::fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= hi && hi <= 65535) {
    range = {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
  }
  std::fclose(f);
  return range;
}

size_t FreeDescriptors() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  size_t open = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++open;
    closedir(d);
  }
  return lim.rlim_cur > open ? static_cast<size_t>(lim.rlim_cur) - open : 0;
}

Limits ReadLimits() {
  Limits limits;
  limits.ephemeral = EphemeralPorts();
  limits.free_descriptors = FreeDescriptors();
  return limits;
}

}  // namespace pasta::fwd
