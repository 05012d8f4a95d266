// libFuzzer target for the port forwarding spec language (-t/-u/-T/-U):
// the input, split at NUL bytes, is a series of option arguments added to
// one PortSpec (the first byte's bits say which may carry a bind prefix).
// Checks: a refused spec leaves the PortSpec as it was; port 0 is never
// forwarded; under `all`, a port is forwarded unless excluded; the count of
// forwarded ports covers the map; every port's bind is one of the binds
// given; a target address comes only with a forwarded port and a bind
// address of its family; automatic forwarding (`ITEMS,auto`) allows ports
// only under `auto`, never port 0 nor an excluded one.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "config/port_spec.h"

namespace {

using pasta::config::PortSpec;

void Require(bool ok) {
  if (!ok) std::abort();
}

// Ports worth looking at: the edges, and every number the input mentions.
std::vector<uint16_t> Probes(std::string_view text) {
  std::vector<uint16_t> ports = {0, 1, 22, 80, 1023, 1024, 32768, 65535};
  uint32_t v = 0;
  bool in_number = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      v = (v * 10 + static_cast<uint32_t>(c - '0')) % 100000;
      in_number = true;
    } else if (in_number) {
      for (int d = -1; d <= 1; ++d)
        ports.push_back(static_cast<uint16_t>(v + static_cast<uint32_t>(d)));
      v = 0;
      in_number = false;
    }
  }
  if (in_number) ports.push_back(static_cast<uint16_t>(v));
  if (ports.size() > 64) ports.resize(64);
  return ports;
}

struct Snapshot {
  bool specified;
  PortSpec::Mode mode;
  size_t count;
  size_t binds;
  std::vector<uint32_t> ports;  // forwarded, excluded, target, bind per probe
  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(const PortSpec& s, const std::vector<uint16_t>& probes) {
  Snapshot snap{
      s.specified(), s.mode(), s.ForwardedCount(), s.binds().size(), {}};
  for (uint16_t p : probes) {
    const bool fwd = s.Forwarded(p);
    const bool excluded = s.Excluded(p);
    Require(p != 0 || !fwd);
    // Under kAll, forwarded means not excluded. In a port list an exclusion
    // only drops ports of its own spec: `-t 8 -t 1,~8` still forwards 8.
    if (s.mode() == PortSpec::Mode::kAll) Require(fwd == (p != 0 && !excluded));
    const PortSpec::Bind& b = s.BindFor(p);
    size_t index = 0;
    while (index < s.binds().size() && !(s.binds()[index] == b)) ++index;
    Require(index < s.binds().size());
    snap.ports.push_back(fwd | excluded << 1);
    snap.ports.push_back(fwd ? s.Target(p) : 0);
    snap.ports.push_back(static_cast<uint32_t>(index));
    const pasta::IpAddr* to = s.TargetAddr(p);
    if (to != nullptr) {
      Require(fwd);
      Require(b.addr.has_value() && b.addr->family == to->family);
      snap.ports.push_back(to->bytes[3] | to->bytes[15] << 8 |
                           static_cast<uint32_t>(to->family) << 16);
    }
    const bool auto_fwd = s.AutoForwarded(p);
    if (auto_fwd) {
      Require(s.mode() == PortSpec::Mode::kAuto);
      Require(p != 0 && !excluded);
    }
    snap.ports.push_back(auto_fwd);
  }
  return snap;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 2048) return 0;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  const std::vector<uint16_t> probes = Probes(text);
  PortSpec spec;
  size_t start = 0;
  for (int i = 0; start <= text.size() && i < 16; ++i) {
    size_t end = text.find('\0', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(start, end - start);
    start = end + 1;
    const Snapshot before = Take(spec, probes);
    const absl::Status st = spec.Add(item, (flags >> (i % 8)) & 1);
    const Snapshot after = Take(spec, probes);
    if (!st.ok()) {
      Require(before == after);
      Require(!st.message().empty());
    } else {
      Require(spec.specified());
    }
  }
  // The count agrees with the map at least on the ports looked at (a full
  // scan of 65536 ports per run would be most of the time spent).
  size_t seen = 0;
  std::vector<uint16_t> sorted = probes;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (uint16_t p : sorted) seen += spec.Forwarded(p);
  Require(seen <= spec.ForwardedCount());
  if (spec.mode() != PortSpec::Mode::kExplicit &&
      spec.mode() != PortSpec::Mode::kAll)
    Require(spec.ForwardedCount() == 0);
  return 0;
}
