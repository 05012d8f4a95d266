#include "config/port_spec.h"

#include <bit>
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
// [target_first, target_first + length), at `to_addr` if one was given.
struct Mapping {
  Range host;
  uint32_t target_first = 0;
  std::optional<IpAddr> to_addr;
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

// Strips one pair of [brackets] around an address.
std::string_view Unbracket(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    return text.substr(1, text.size() - 2);
  return text;
}

// Why `addr` can't be a target address, or nullptr if it can: the
// namespace is reached over its interface, so not an address no interface
// has.
const char* UnusableTarget(const IpAddr& addr) {
  const auto& b = addr.bytes;
  if (addr.IsV4()) {
    if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) return "unspecified";
    if (b[0] == 127) return "loopback";
    if ((b[0] & 0xf0) == 0xe0) return "multicast";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
      return "broadcast";
    return nullptr;
  }
  bool zero15 = true;
  for (int i = 0; i < 15; ++i) zero15 = zero15 && b[i] == 0;
  if (zero15 && b[15] == 0) return "unspecified";
  if (zero15 && b[15] == 1) return "loopback";
  if (b[0] == 0xff) return "multicast";
  return nullptr;
}

// True if `text` is made of digits and dashes only: a port range, not an
// address.
bool IsPortText(std::string_view text) {
  for (char c : text) {
    if ((c < '0' || c > '9') && c != '-') return false;
  }
  return true;
}

// Parses "RANGE", "RANGE:RANGE", "RANGE:ADDR/RANGE" or "RANGE:ADDR".
absl::Status ParseMapping(std::string_view item, Mapping* mapping) {
  size_t colon = item.find(':');
  absl::Status status = ParseRange(item.substr(0, colon), item, &mapping->host);
  if (!status.ok()) return status;
  mapping->target_first = mapping->host.first;
  if (colon == std::string_view::npos) return absl::OkStatus();
  std::string_view to = item.substr(colon + 1);
  std::string_view to_ports = to;
  if (!IsPortText(to)) {
    // A target address, then maybe its ports.
    size_t slash = to.rfind('/');
    std::string_view addr_text = to.substr(0, slash);
    std::optional<IpAddr> addr = ParseIp(Unbracket(addr_text));
    if (!addr) {
      return Invalid(absl::StrCat("invalid port or target address ",
                                  Quoted(addr_text), " in ", Quoted(item)));
    }
    if (const char* why = UnusableTarget(*addr)) {
      return Invalid(absl::StrCat("target address ", Quoted(addr_text),
                                  " is not usable (", why, ") in ",
                                  Quoted(item)));
    }
    mapping->to_addr = *addr;
    if (slash == std::string_view::npos) return absl::OkStatus();
    to_ports = to.substr(slash + 1);
  }
  Range target;
  status = ParseRange(to_ports, item, &target);
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

// Parses the part before '/': ADDR, [ADDR], *, %IFNAME or ADDR%IFNAME
// (ADDR may be *: the wildcard address, as if none was given).
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
  if (addr_text == "*") return absl::OkStatus();
  std::optional<IpAddr> addr = ParseIp(Unbracket(addr_text));
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

int PortSpec::ToAddrIndex(const IpAddr& addr) {
  for (size_t i = 1; i < to_addrs_.size(); ++i) {
    if (to_addrs_[i] == addr) return static_cast<int>(i);
  }
  if (to_addrs_.size() > kMaxBinds) return -1;
  to_addrs_.push_back(addr);
  return static_cast<int>(to_addrs_.size() - 1);
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

  // Optional bind prefix, up to the first '/'. A '/' can also come in a
  // target address (`5000:192.0.2.5/6000`): text before it that is no bind
  // prefix but starts as a port item is part of the list.
  Bind bind;
  std::string_view list = spec;
  size_t slash = spec.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = spec.substr(0, slash);
    absl::Status status = ParseBind(prefix, &bind);
    const size_t colon = prefix.find(':');
    const bool port_item = colon != std::string_view::npos && colon > 0 &&
                           IsPortText(prefix.substr(0, colon));
    if (!status.ok() && port_item) {
      bind = Bind{};
    } else {
      if (!allow_bind) {
        return Invalid(
            "an address or interface can't be given for this direction");
      }
      if (!status.ok()) return status;
      list = spec.substr(slash + 1);
      if (list.empty()) return Invalid("no ports after '/'");
    }
  }

  // Split into items; first collect exclusions (they may follow the ranges
  // they cut), then the mappings.
  std::vector<uint64_t> local_excluded(kBitmapWords, 0);
  std::vector<Mapping> mappings;
  bool any_exclusion = false;
  bool with_auto = false;
  size_t pos = 0;
  while (true) {
    size_t comma = list.find(',', pos);
    std::string_view item = list.substr(pos, comma == std::string_view::npos
                                                 ? std::string_view::npos
                                                 : comma - pos);
    if (item.empty()) return Invalid("empty item in port list");
    if (item == "auto" && !with_auto && bind == Bind{}) {
      with_auto = true;
    } else if (IsKeyword(item)) {
      return Invalid(absl::StrCat(Quoted(item),
                                  " can't be combined with other items, "
                                  "an address or an interface"));
    } else if (item.front() == '~') {
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
      if (mapping.to_addr) {
        const std::string to = FormatIp(*mapping.to_addr);
        if (!allow_bind) {
          return Invalid(absl::StrCat(
              "a target address can't be given for this direction (",
              Quoted(item), ")"));
        }
        if (!bind.addr) {
          return Invalid(
              absl::StrCat("target address ", to, " in ", Quoted(item),
                           " needs a listening address of its family, e.g. ",
                           mapping.to_addr->IsV4() ? "0.0.0.0" : "[::]", "/",
                           std::string(item)));
        }
        if (bind.addr->family != mapping.to_addr->family) {
          return Invalid(absl::StrCat(
              "listening address ", FormatIp(*bind.addr),
              " and target address ", to, " are of different families"));
        }
      }
      mappings.push_back(mapping);
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }

  if (with_auto) {
    std::vector<uint64_t> ports(kBitmapWords, 0);
    for (const Mapping& m : mappings) {
      if (m.target_first != m.host.first || m.to_addr) {
        return Invalid(
            "'auto' can't be combined with a remapping or a target address");
      }
      for (uint32_t p = m.host.first; p <= m.host.last; ++p) {
        if (TestBit(local_excluded, p)) continue;
        if (TestBit(ports, p)) {
          return Invalid(absl::StrCat("port ", p, " is given more than once"));
        }
        SetBit(ports, p);
      }
    }
    return AddAuto(ports, !mappings.empty(), local_excluded);
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
  bool any_to_addr = false;
  for (const Mapping& m : mappings) {
    for (uint32_t p = m.host.first; p <= m.host.last; ++p) {
      if (TestBit(local_excluded, p)) continue;
      if (TestBit(seen, p) || TestBit(forwarded_, p)) {
        return Invalid(absl::StrCat("port ", p, " is given more than once"));
      }
      SetBit(seen, p);
    }
    if (m.target_first != m.host.first) remapped = true;
    if (m.to_addr) any_to_addr = true;
  }
  // Target addresses, then the bind, indexed before changing anything else
  // (and taken back on failure).
  std::vector<int> to_index(mappings.size(), 0);
  const size_t to_addrs_before = to_addrs_.size();
  for (size_t i = 0; i < mappings.size(); ++i) {
    if (!mappings[i].to_addr) continue;
    to_index[i] = ToAddrIndex(*mappings[i].to_addr);
    if (to_index[i] < 0) {
      to_addrs_.resize(to_addrs_before);
      return Invalid("too many distinct target addresses");
    }
  }
  int index = BindIndex(bind);
  if (index < 0) {
    to_addrs_.resize(to_addrs_before);
    return Invalid("too many distinct bind addresses");
  }

  AllocateMaps();
  if (remapped && target_.empty()) {
    target_.resize(kNumPorts);
    for (size_t p = 0; p < kNumPorts; ++p)
      target_[p] = static_cast<uint16_t>(p);
  }
  if (index != 0 && bind_index_.empty()) bind_index_.assign(kNumPorts, 0);
  if (any_to_addr && to_addr_index_.empty())
    to_addr_index_.assign(kNumPorts, 0);
  for (size_t i = 0; i < mappings.size(); ++i) {
    const Mapping& m = mappings[i];
    for (uint32_t p = m.host.first; p <= m.host.last; ++p) {
      if (TestBit(local_excluded, p)) continue;
      SetBit(forwarded_, p);
      if (!target_.empty()) {
        target_[p] = static_cast<uint16_t>(m.target_first + (p - m.host.first));
      }
      if (!bind_index_.empty()) bind_index_[p] = static_cast<uint8_t>(index);
      if (!to_addr_index_.empty())
        to_addr_index_[p] = static_cast<uint8_t>(to_index[i]);
    }
  }
  if (any_exclusion) {
    for (size_t w = 0; w < kBitmapWords; ++w) excluded_[w] |= local_excluded[w];
  }
  mode_ = Mode::kExplicit;
  specified_ = true;
  return absl::OkStatus();
}

absl::Status PortSpec::AddAuto(const std::vector<uint64_t>& ports, bool limited,
                               const std::vector<uint64_t>& local_excluded) {
  // Limited lists add up (`-t 80,auto -t 8000-8010,auto`); anything else
  // stands alone.
  if (specified_ && !(limited && mode_ == Mode::kAuto && auto_limited_)) {
    return Invalid(absl::StrCat(
        limited ? "'auto' list" : "'auto'", " conflicts with ",
        mode_ == Mode::kAuto && !auto_limited_ ? "plain auto" : ModeName(mode_),
        " given earlier"));
  }
  for (size_t w = 0; w < kBitmapWords && !forwarded_.empty(); ++w) {
    if ((forwarded_[w] & ports[w]) == 0) continue;
    const int bit = __builtin_ctzll(forwarded_[w] & ports[w]);
    return Invalid(absl::StrCat("port ", w * 64 + static_cast<size_t>(bit),
                                " is given more than once"));
  }
  AllocateMaps();
  for (size_t w = 0; w < kBitmapWords; ++w) forwarded_[w] |= ports[w];
  if (!limited) {
    for (size_t w = 0; w < kBitmapWords; ++w) excluded_[w] |= local_excluded[w];
  }
  auto_limited_ = limited;
  mode_ = Mode::kAuto;
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

const IpAddr* PortSpec::TargetAddr(uint16_t port) const {
  if (mode_ != Mode::kExplicit || to_addr_index_.empty()) return nullptr;
  const uint8_t index = to_addr_index_[port];
  return index == 0 ? nullptr : &to_addrs_[index];
}

bool PortSpec::AutoForwarded(uint16_t port) const {
  if (mode_ != Mode::kAuto || port == 0 || TestBit(excluded_, port))
    return false;
  return !auto_limited_ || TestBit(forwarded_, port);
}

std::bitset<PortSpec::kNumPorts> PortSpec::AutoForwardedSet() const {
  std::bitset<kNumPorts> set;
  if (mode_ != Mode::kAuto) return set;
  // Each set bit of a map word, as a port number.
  const auto for_each_port = [](const std::vector<uint64_t>& map, auto fn) {
    for (size_t w = 0; w < map.size(); ++w) {
      for (uint64_t bits = map[w]; bits != 0; bits &= bits - 1)
        fn(w * 64 + static_cast<size_t>(std::countr_zero(bits)));
    }
  };
  if (auto_limited_) {
    for_each_port(forwarded_, [&set](size_t port) { set.set(port); });
  } else {
    set.set();
  }
  for_each_port(excluded_, [&set](size_t port) { set.reset(port); });
  set.reset(0);
  return set;
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
