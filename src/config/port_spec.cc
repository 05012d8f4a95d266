#include "config/port_spec.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace pasta::config {
namespace {

constexpr size_t kBitmapWords = PortSpec::kNumPorts / 64;

struct Range {
  uint32_t first = 0;
  uint32_t last = 0;
};

// One non-exclusion item: host ports [host.first, host.last] go to
// [target_first, target_first + length).
struct Mapping {
  Range host;
  uint32_t target_first = 0;
};

const char* ModeName(PortSpec::Mode mode) {
  switch (mode) {
    case PortSpec::Mode::kAuto:
      return "auto";
    case PortSpec::Mode::kNone:
      return "none";
    case PortSpec::Mode::kAll:
      return "all";
    case PortSpec::Mode::kExplicit:
      return "a port list";
  }
  return "?";
}

absl::Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

std::string Quoted(std::string_view text) {
  return absl::StrCat("'", std::string(text), "'");
}

// Parses a decimal port number, 1 to 65535, digits only.
absl::Status ParsePort(std::string_view text, std::string_view item,
                       uint32_t* port) {
  if (text.empty())
    return Invalid(absl::StrCat("missing port in ", Quoted(item)));
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return Invalid(
          absl::StrCat("invalid port ", Quoted(text), " in ", Quoted(item)));
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) {
      return Invalid(absl::StrCat("port ", std::string(text),
                                  " out of range (1 to 65535) in ",
                                  Quoted(item)));
    }
  }
  if (value == 0) {
    return Invalid(absl::StrCat("port 0 is not allowed in ", Quoted(item)));
  }
  *port = value;
  return absl::OkStatus();
}

// Parses "A" or "A-B" with A <= B.
absl::Status ParseRange(std::string_view text, std::string_view item,
                        Range* range) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    absl::Status status = ParsePort(text, item, &range->first);
    range->last = range->first;
    return status;
  }
  absl::Status status = ParsePort(text.substr(0, dash), item, &range->first);
  if (!status.ok()) return status;
  status = ParsePort(text.substr(dash + 1), item, &range->last);
  if (!status.ok()) return status;
  if (range->last < range->first) {
    return Invalid(absl::StrCat("reversed range ", Quoted(text)));
  }
  return absl::OkStatus();
}

absl::Status ParseMapping(std::string_view item, Mapping* mapping) {
  size_t colon = item.find(':');
  absl::Status status = ParseRange(item.substr(0, colon), item, &mapping->host);
  if (!status.ok()) return status;
  mapping->target_first = mapping->host.first;
  if (colon == std::string_view::npos) return absl::OkStatus();
  Range target;
  status = ParseRange(item.substr(colon + 1), item, &target);
  if (!status.ok()) return status;
  if (target.last - target.first != mapping->host.last - mapping->host.first) {
    return Invalid(absl::StrCat("ranges differ in length in ", Quoted(item)));
  }
  mapping->target_first = target.first;
  return absl::OkStatus();
}

bool IsKeyword(std::string_view word) {
  return word == "none" || word == "auto" || word == "all";
}

// Parses the part before '/': ADDR, [ADDR], %IFNAME or ADDR%IFNAME.
absl::Status ParseBind(std::string_view prefix, PortSpec::Bind* bind) {
  size_t percent = prefix.find('%');
  std::string_view addr_text = prefix.substr(0, percent);
  if (percent != std::string_view::npos) {
    std::string_view ifname = prefix.substr(percent + 1);
    if (!IsValidInterfaceName(ifname)) {
      return Invalid(absl::StrCat("invalid interface name ", Quoted(ifname)));
    }
    bind->ifname = std::string(ifname);
  }
  if (addr_text.empty()) {
    if (percent == std::string_view::npos) {
      return Invalid("empty address before '/'");
    }
    return absl::OkStatus();
  }
  std::string_view bare = addr_text;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  std::optional<IpAddr> addr = ParseIp(bare);
  if (!addr)
    return Invalid(absl::StrCat("invalid address ", Quoted(addr_text)));
  bind->addr = *addr;
  return absl::OkStatus();
}

}  // namespace

bool IsValidInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' ||
        c == '\r' || c == '\v' || c == '\f' || c == '\0') {
      return false;
    }
  }
  return true;
}

void PortSpec::AllocateMaps() {
  if (forwarded_.empty()) forwarded_.assign(kBitmapWords, 0);
  if (excluded_.empty()) excluded_.assign(kBitmapWords, 0);
}

int PortSpec::BindIndex(const Bind& bind) {
  for (size_t i = 0; i < binds_.size(); ++i) {
    if (binds_[i] == bind) return static_cast<int>(i);
  }
  if (binds_.size() > kMaxBinds) return -1;
  binds_.push_back(bind);
  return static_cast<int>(binds_.size() - 1);
}

absl::Status PortSpec::Add(std::string_view spec, bool allow_bind) {
  if (spec.empty()) return Invalid("empty port specification");

  if (IsKeyword(spec)) {
    if (specified_) {
      return Invalid(absl::StrCat(Quoted(spec), " conflicts with ",
                                  ModeName(mode_), " given earlier"));
    }
    mode_ = spec == "none"   ? Mode::kNone
            : spec == "auto" ? Mode::kAuto
                             : Mode::kAll;
    specified_ = true;
    return absl::OkStatus();
  }

  // Optional bind prefix.
  Bind bind;
  std::string_view list = spec;
  size_t slash = spec.find('/');
  if (slash != std::string_view::npos) {
    if (!allow_bind) {
      return Invalid(
          "an address or interface can't be given for this direction");
    }
    absl::Status status = ParseBind(spec.substr(0, slash), &bind);
    if (!status.ok()) return status;
    list = spec.substr(slash + 1);
    if (list.empty()) return Invalid("no ports after '/'");
  }

  // Split into items; first collect exclusions (they may follow the ranges
  // they cut), then the mappings.
  std::vector<uint64_t> local_excluded(kBitmapWords, 0);
  std::vector<Mapping> mappings;
  bool any_exclusion = false;
  size_t pos = 0;
  while (true) {
    size_t comma = list.find(',', pos);
    std::string_view item = list.substr(pos, comma == std::string_view::npos
                                                 ? std::string_view::npos
                                                 : comma - pos);
    if (item.empty()) return Invalid("empty item in port list");
    if (IsKeyword(item)) {
      return Invalid(absl::StrCat(Quoted(item),
                                  " can't be combined with other items, "
                                  "an address or an interface"));
    }
    if (item.front() == '~') {
      Range range;
      absl::Status status = ParseRange(item.substr(1), item, &range);
      if (!status.ok()) return status;
      for (uint32_t p = range.first; p <= range.last; ++p) {
        if (TestBit(local_excluded, p)) {
          return Invalid(absl::StrCat("exclusion ", Quoted(item),
                                      " overlaps an earlier exclusion"));
        }
        SetBit(local_excluded, p);
      }
      any_exclusion = true;
    } else {
      Mapping mapping;
      absl::Status status = ParseMapping(item, &mapping);
      if (!status.ok()) return status;
      mappings.push_back(mapping);
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }

  if (mappings.empty()) {
    // Only exclusions: everything but these.
    if (specified_) {
      return Invalid(absl::StrCat("exclusion-only list conflicts with ",
                                  ModeName(mode_), " given earlier"));
    }
    int index = BindIndex(bind);
    if (index < 0) return Invalid("too many distinct bind addresses");
    AllocateMaps();
    for (size_t w = 0; w < kBitmapWords; ++w) excluded_[w] |= local_excluded[w];
    all_bind_ = static_cast<uint8_t>(index);
    mode_ = Mode::kAll;
    specified_ = true;
    return absl::OkStatus();
  }

  if (specified_ && mode_ != Mode::kExplicit) {
    return Invalid(absl::StrCat("port list conflicts with ", ModeName(mode_),
                                " given earlier"));
  }

  // Check for host ports given twice (within this spec or earlier) before
  // changing anything.
  std::vector<uint64_t> seen(kBitmapWords, 0);
  bool remapped = false;
  for (const Mapping& m : mappings) {
    for (uint32_t p = m.host.first; p <= m.host.last; ++p) {
      if (TestBit(local_excluded, p)) continue;
      if (TestBit(seen, p) || TestBit(forwarded_, p)) {
        return Invalid(absl::StrCat("port ", p, " is given more than once"));
      }
      SetBit(seen, p);
    }
    if (m.target_first != m.host.first) remapped = true;
  }
  int index = BindIndex(bind);
  if (index < 0) return Invalid("too many distinct bind addresses");

  AllocateMaps();
  if (remapped && target_.empty()) {
    target_.resize(kNumPorts);
    for (size_t p = 0; p < kNumPorts; ++p)
      target_[p] = static_cast<uint16_t>(p);
  }
  if (index != 0 && bind_index_.empty()) bind_index_.assign(kNumPorts, 0);
  for (const Mapping& m : mappings) {
    for (uint32_t p = m.host.first; p <= m.host.last; ++p) {
      if (TestBit(local_excluded, p)) continue;
      SetBit(forwarded_, p);
      if (!target_.empty()) {
        target_[p] = static_cast<uint16_t>(m.target_first + (p - m.host.first));
      }
      if (!bind_index_.empty()) bind_index_[p] = static_cast<uint8_t>(index);
    }
  }
  if (any_exclusion) {
    for (size_t w = 0; w < kBitmapWords; ++w) excluded_[w] |= local_excluded[w];
  }
  mode_ = Mode::kExplicit;
  specified_ = true;
  return absl::OkStatus();
}

void PortSpec::ExcludeRange(uint16_t first, uint16_t last) {
  AllocateMaps();
  for (uint32_t p = first; p <= last; ++p) {
    SetBit(excluded_, p);
    forwarded_[p >> 6] &= ~(uint64_t{1} << (p & 63));
  }
}

bool PortSpec::Forwarded(uint16_t port) const {
  if (port == 0) return false;
  switch (mode_) {
    case Mode::kAuto:
    case Mode::kNone:
      return false;
    case Mode::kAll:
      return !TestBit(excluded_, port);
    case Mode::kExplicit:
      return TestBit(forwarded_, port);
  }
  return false;
}

uint16_t PortSpec::Target(uint16_t port) const {
  if (mode_ != Mode::kExplicit || target_.empty()) return port;
  return target_[port];
}

bool PortSpec::Excluded(uint16_t port) const {
  return TestBit(excluded_, port);
}

const PortSpec::Bind& PortSpec::BindFor(uint16_t port) const {
  if (mode_ == Mode::kAll) return binds_[all_bind_];
  if (mode_ != Mode::kExplicit || bind_index_.empty()) return binds_[0];
  return binds_[bind_index_[port]];
}

size_t PortSpec::ForwardedCount() const {
  switch (mode_) {
    case Mode::kAuto:
    case Mode::kNone:
      return 0;
    case Mode::kAll: {
      size_t excluded = 0;
      for (uint64_t w : excluded_) excluded += __builtin_popcountll(w);
      return kNumPorts - 1 - excluded + (Excluded(0) ? 1 : 0);
    }
    case Mode::kExplicit: {
      size_t count = 0;
      for (uint64_t w : forwarded_) count += __builtin_popcountll(w);
      return count;
    }
  }
  return 0;
}

}  // namespace pasta::config
