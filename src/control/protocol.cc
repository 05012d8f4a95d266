#include "control/protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "wire/bytes.h"

namespace pasta::control {
namespace {

using wire::LoadBe16;
using wire::LoadBe32;
using wire::StoreBe16;
using wire::StoreBe32;

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};

// Byte offsets of a rule record.
constexpr size_t kAddrAt = 0;
constexpr size_t kTaddrAt = 16;
constexpr size_t kIfnameAt = 32;
constexpr size_t kFirstAt = 48;
constexpr size_t kLastAt = 50;
constexpr size_t kToAt = 52;
constexpr size_t kProtoAt = 54;
constexpr size_t kFlagsAt = 55;

// A dump record's header: id, name, caps, count.
constexpr size_t kDumpHeaderSize = 1 + kPifNameSize + 4 + 4;

const char* ProtoName(uint8_t proto) {
  switch (proto) {
    case kProtoTcp:
      return "TCP";
    case kProtoUdp:
      return "UDP";
    case 1:
      return "ICMP";
    case 58:
      return "ICMPv6";
    default:
      return "<unknown protocol>";
  }
}

std::string PortRange(uint32_t first, uint32_t last) {
  if (first == last) return absl::StrCat(first);
  return absl::StrCat(first, "-", last);
}

bool IsMulticastOrBroadcast(const WireAddr& a) {
  if (IsMappedV4(a)) {
    if ((a[12] & 0xf0) == 0xe0) return true;  // 224.0.0.0/4
    return a[12] == 255 && a[13] == 255 && a[14] == 255 && a[15] == 255;
  }
  return a[0] == 0xff;  // ff00::/8
}

bool AddressesMatch(const Rule& a, const Rule& b) {
  if (a.dual_stack() || b.dual_stack()) return true;
  const bool same_family = IsMappedV4(a.addr) == IsMappedV4(b.addr);
  if (same_family && (IsUnspecified(a.addr) || IsUnspecified(b.addr))) {
    return true;
  }
  return a.addr == b.addr;
}

absl::Status Reject(const std::string& why) {
  return absl::InvalidArgumentError(why);
}

void AppendRules(std::vector<uint8_t>& out, const Table& table) {
  for (const Rule& rule : table.rules) {
    const size_t at = out.size();
    out.resize(at + kRuleSize);
    rule.Encode(out.data() + at);
  }
}

void AppendBe32(std::vector<uint8_t>& out, uint32_t v) {
  const size_t at = out.size();
  out.resize(at + 4);
  StoreBe32(out.data() + at, v);
}

}  // namespace

bool IsMappedV4(const WireAddr& a) {
  return std::memcmp(a.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0;
}

bool IsUnspecified(const WireAddr& a) {
  static constexpr WireAddr kZero{};
  if (a == kZero) return true;
  return IsMappedV4(a) && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] == 0;
}

std::string FormatWireAddr(const WireAddr& a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (IsMappedV4(a)) {
    inet_ntop(AF_INET, a.data() + 12, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, a.data(), text, sizeof(text));
  }
  return text;
}

Rule Rule::Decode(const uint8_t* in) {
  Rule r;
  std::memcpy(r.addr.data(), in + kAddrAt, 16);
  std::memcpy(r.taddr.data(), in + kTaddrAt, 16);
  std::memcpy(r.ifname.data(), in + kIfnameAt, kIfNameSize);
  r.first = LoadBe16(in + kFirstAt);
  r.last = LoadBe16(in + kLastAt);
  r.to = LoadBe16(in + kToAt);
  r.proto = in[kProtoAt];
  r.flags = in[kFlagsAt];
  return r;
}

void Rule::Encode(uint8_t* out) const {
  std::memcpy(out + kAddrAt, addr.data(), 16);
  std::memcpy(out + kTaddrAt, taddr.data(), 16);
  std::memcpy(out + kIfnameAt, ifname.data(), kIfNameSize);
  StoreBe16(out + kFirstAt, first);
  StoreBe16(out + kLastAt, last);
  StoreBe16(out + kToAt, to);
  out[kProtoAt] = proto;
  out[kFlagsAt] = flags;
}

std::string_view Rule::ifname_view() const {
  const auto* begin = reinterpret_cast<const char*>(ifname.data());
  return std::string_view(begin, strnlen(begin, ifname.size()));
}

std::string Describe(const Rule& rule) {
  std::string out = absl::StrCat(
      ProtoName(rule.proto), " [",
      rule.dual_stack() ? std::string("*") : FormatWireAddr(rule.addr), "]");
  if (!rule.ifname_view().empty()) {
    // A client may send any bytes: control characters are written as \xNN
    // so that a rule stays one line in a log.
    out += '%';
    for (const char c : rule.ifname_view()) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) {
        absl::StrAppendFormat(&out, "\\x%02x", u);
      } else {
        out += c;
      }
    }
  }
  absl::StrAppend(&out, ":", PortRange(rule.first, rule.last), "  =>  ");
  if (!IsUnspecified(rule.taddr)) {
    absl::StrAppend(&out, FormatWireAddr(rule.taddr), ":");
  }
  // The target range wraps at 16 bits as upstream prints it.
  const uint32_t to_last =
      static_cast<uint16_t>(rule.to + (rule.last - rule.first));
  absl::StrAppend(&out,
                  rule.first == rule.last ? absl::StrCat(rule.to)
                                          : PortRange(rule.to, to_last),
                  " ");
  if ((rule.flags & kFlagWeak) != 0) out += " (best effort)";
  if ((rule.flags & kFlagScan) != 0) out += " (auto-scan)";
  return out;
}

bool Conflicts(const Rule& a, const Rule& b) {
  if (a.proto != b.proto) return false;
  if (a.last < b.first || b.last < a.first) return false;
  return AddressesMatch(a, b);
}

std::string_view PifName(Pif pif) {
  switch (pif) {
    case Pif::kNone:
      return "<none>";
    case Pif::kHost:
      return "HOST";
    case Pif::kTap:
      return "TAP";
    case Pif::kSplice:
      return "SPLICE";
  }
  return "?";
}

absl::Status AddRule(Table& table, const Rule& rule, uint64_t& listeners) {
  if (rule.first > rule.last) {
    return Reject(
        absl::StrFormat("invalid port range %u-%u", rule.first, rule.last));
  }
  if (rule.first == 0) return Reject("rule forwards from port 0");
  if (rule.to == 0 || rule.to + (rule.last - rule.first) > 65535) {
    return Reject(absl::StrFormat(
        "rule forwards to port 0 or beyond 65535 (%s)", Describe(rule)));
  }
  if ((rule.flags & ~kKnownFlags) != 0) {
    return Reject(absl::StrFormat("unknown rule flags 0x%x", rule.flags));
  }
  const bool v4 = IsMappedV4(rule.addr);
  if (rule.dual_stack()) {
    if (rule.addr != WireAddr{}) {
      return Reject(absl::StrCat("dual-stack rule with an address: ",
                                 FormatWireAddr(rule.addr)));
    }
    if ((table.caps & kCapIpv4) == 0 || (table.caps & kCapIpv6) == 0) {
      return Reject(absl::StrCat("dual-stack rule, but IPv",
                                 (table.caps & kCapIpv4) == 0 ? "4" : "6",
                                 " is not enabled"));
    }
  } else if ((table.caps & (v4 ? kCapIpv4 : kCapIpv6)) == 0) {
    return Reject(absl::StrCat("IPv", v4 ? "4" : "6", " rule, but IPv",
                               v4 ? "4" : "6", " is not enabled"));
  }
  const bool proto_ok = (rule.proto == kProtoTcp && (table.caps & kCapTcp)) ||
                        (rule.proto == kProtoUdp && (table.caps & kCapUdp));
  if (!proto_ok) {
    return Reject(absl::StrFormat("protocol %u (%s) can't be forwarded here",
                                  rule.proto, ProtoName(rule.proto)));
  }
  if (!IsUnspecified(rule.taddr)) {
    if (IsMulticastOrBroadcast(rule.taddr)) {
      return Reject(absl::StrCat("multicast or broadcast target address ",
                                 FormatWireAddr(rule.taddr)));
    }
    if (rule.dual_stack()) {
      return Reject(absl::StrCat("dual-stack rule with a target address ",
                                 FormatWireAddr(rule.taddr)));
    }
    if (IsMappedV4(rule.taddr) != v4) {
      return Reject(
          absl::StrCat("rule forwards from ", FormatWireAddr(rule.addr), " to ",
                       FormatWireAddr(rule.taddr), ", another address family"));
    }
  }
  for (const Rule& other : table.rules) {
    if (Conflicts(rule, other)) {
      return Reject(absl::StrCat("conflicting rules: ", Describe(rule),
                                 "versus ", Describe(other)));
    }
  }
  if (table.rules.size() >= kMaxRules) {
    return Reject(absl::StrFormat("more than %u rules in table %s", kMaxRules,
                                  std::string(PifName(table.pif))));
  }
  if (listeners + rule.port_count() > kMaxListeners) {
    return Reject(
        absl::StrFormat("rules of table %s need more than %u listening sockets",
                        std::string(PifName(table.pif)), kMaxListeners));
  }
  listeners += rule.port_count();
  table.rules.push_back(rule);
  return absl::OkStatus();
}

std::vector<uint8_t> EncodeHello(absl::Span<const Table> tables) {
  std::vector<uint8_t> out(kMagic.begin(), kMagic.end());
  AppendBe32(out, kVersion);
  AppendBe32(out, kPifNameSize);
  AppendBe32(out, kIfNameSize);
  for (const Table& table : tables) {
    const size_t at = out.size();
    out.resize(at + kDumpHeaderSize);  // zero-filled: the name's padding
    out[at] = static_cast<uint8_t>(table.pif);
    const std::string_view name = PifName(table.pif);
    std::memcpy(out.data() + at + 1, name.data(), name.size());
    StoreBe32(out.data() + at + 1 + kPifNameSize, table.caps);
    StoreBe32(out.data() + at + 1 + kPifNameSize + 4,
              static_cast<uint32_t>(table.rules.size()));
    AppendRules(out, table);
  }
  out.push_back(0);
  return out;
}

std::vector<uint8_t> EncodeUpdate(absl::Span<const Table> tables) {
  std::vector<uint8_t> out;
  for (const Table& table : tables) {
    out.push_back(static_cast<uint8_t>(table.pif));
    AppendBe32(out, static_cast<uint32_t>(table.rules.size()));
    AppendRules(out, table);
  }
  out.push_back(0);
  return out;
}

std::vector<uint8_t> EncodeStatus(bool applied, std::string_view reason) {
  if (reason.size() > kMaxStatusText) reason = reason.substr(0, kMaxStatusText);
  std::vector<uint8_t> out(kStatusMagic.begin(), kStatusMagic.end());
  AppendBe32(out, applied ? 0 : 1);
  AppendBe32(out, static_cast<uint32_t>(reason.size()));
  out.insert(out.end(), reason.begin(), reason.end());
  return out;
}

UpdateReader::UpdateReader(absl::Span<const Table> current) {
  tables_.reserve(current.size());
  for (const Table& table : current) {
    tables_.push_back(Table{table.pif, table.caps, {}});
  }
}

Table* UpdateReader::Find(uint8_t pif) {
  for (Table& table : tables_) {
    if (static_cast<uint8_t>(table.pif) == pif) return &table;
  }
  return nullptr;
}

void UpdateReader::Fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
}

void UpdateReader::End() {
  if (state_ == State::kMore)
    Fail("the client closed in the middle of an update");
}

size_t UpdateReader::Feed(absl::Span<const uint8_t> in) {
  size_t used = 0;
  while (state_ == State::kMore && used < in.size()) {
    switch (want_) {
      case Want::kPif: {
        const uint8_t pif = in[used++];
        if (pif == static_cast<uint8_t>(Pif::kNone)) {
          state_ = State::kDone;
          break;
        }
        current_ = Find(pif);
        if (current_ == nullptr) {
          Fail(absl::StrFormat("rules for table %u, which this pasta has not",
                               pif));
          break;
        }
        want_ = Want::kCount;
        have_ = 0;
        break;
      }
      case Want::kCount:
      case Want::kRule: {
        const size_t need = want_ == Want::kCount ? 4 : kRuleSize;
        const size_t take = std::min(need - have_, in.size() - used);
        std::memcpy(partial_.data() + have_, in.data() + used, take);
        have_ += take;
        used += take;
        if (have_ < need) break;
        have_ = 0;
        if (want_ == Want::kCount) {
          left_ = LoadBe32(partial_.data());
          if (left_ > kMaxRules) {
            Fail(absl::StrFormat("%u rules for table %s (at most %u)", left_,
                                 std::string(PifName(current_->pif)),
                                 kMaxRules));
            break;
          }
        } else {
          if (partial_[kIfnameAt + kIfNameSize - 1] != 0) {
            Fail("an interface name without its terminating NUL");
            break;
          }
          const absl::Status added =
              AddRule(*current_, Rule::Decode(partial_.data()),
                      listeners_[static_cast<uint8_t>(current_->pif)]);
          if (!added.ok()) {
            Fail(std::string(added.message()));
            break;
          }
          --left_;
        }
        want_ = left_ > 0 ? Want::kRule : Want::kPif;
        break;
      }
    }
  }
  return used;
}

}  // namespace pasta::control
