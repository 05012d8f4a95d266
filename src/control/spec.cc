#include "control/spec.h"

#include <arpa/inet.h>

#include <bitset>
#include <cstring>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"

namespace pasta::control {
namespace {

// A parsing cursor over the spec: each Parse* either consumes what it
// recognises and returns true, or leaves the cursor and returns false, so
// alternatives are tried in turn.
struct Cursor {
  std::string_view rest;

  bool Literal(std::string_view word) {
    if (rest.substr(0, word.size()) != word) return false;
    rest.remove_prefix(word.size());
    return true;
  }
  bool Number(uint32_t* v) {
    size_t n = 0;
    uint32_t value = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
      value = value * 10 + static_cast<uint32_t>(rest[n] - '0');
      if (value > 65535) return false;
      ++n;
    }
    if (n == 0) return false;
    rest.remove_prefix(n);
    *v = value;
    return true;
  }
};

struct Range {
  uint16_t first = 0;
  uint16_t last = 0;
};

bool ParseRange(Cursor& c, Range* r) {
  Cursor t = c;
  uint32_t first = 0;
  if (!t.Number(&first)) return false;
  uint32_t last = first;
  if (t.Literal("-") && !t.Number(&last)) return false;
  if (last < first) return false;
  r->first = static_cast<uint16_t>(first);
  r->last = static_cast<uint16_t>(last);
  c = t;
  return true;
}

// An address: IPv6 (in brackets or not), else a dotted quad (brackets
// allowed too), as a wire address.
bool ParseAddr(Cursor& c, WireAddr* out) {
  for (const int family : {AF_INET6, AF_INET}) {
    Cursor t = c;
    const bool bracket = t.Literal("[");
    size_t len = 0;
    if (bracket) {
      len = t.rest.find(']');
      if (len == std::string_view::npos) continue;
    } else {
      const char* chars =
          family == AF_INET6 ? "0123456789aAbBcCdDeEfF:." : "0123456789.";
      len = t.rest.find_first_not_of(chars);
      if (len == std::string_view::npos) len = t.rest.size();
    }
    if (len == 0 || len >= INET6_ADDRSTRLEN) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    std::memcpy(buf, t.rest.data(), len);
    t.rest.remove_prefix(len);
    if (bracket && !t.Literal("]")) continue;
    WireAddr a{};
    if (family == AF_INET6) {
      if (inet_pton(AF_INET6, buf, a.data()) != 1) continue;
    } else {
      if (inet_pton(AF_INET, buf, a.data() + 12) != 1) continue;
      a[10] = a[11] = 0xff;
    }
    *out = a;
    c = t;
    return true;
  }
  return false;
}

// "%IF" (absent: empty). False for an empty or too long name.
bool ParseIfname(Cursor& c, std::string* ifname) {
  ifname->clear();
  if (!c.Literal("%")) return true;
  const size_t len = c.rest.find_first_of("/ \f\n\r\t\v");
  const size_t n = len == std::string_view::npos ? c.rest.size() : len;
  if (n == 0 || n >= kIfNameSize) return false;
  ifname->assign(c.rest.substr(0, n));
  c.rest.remove_prefix(n);
  return true;
}

// "ADDR[%IF]/" or "[*][%IF]/". `addr` stays empty for no address or `*`.
bool ParsePrefix(Cursor& c, std::optional<WireAddr>* addr,
                 std::string* ifname) {
  Cursor t = c;
  WireAddr a{};
  if (ParseAddr(t, &a) && ParseIfname(t, ifname) && t.Literal("/")) {
    *addr = a;
    c = t;
    return true;
  }
  t = c;
  t.Literal("*");
  if (ParseIfname(t, ifname) && t.Literal("/")) {
    addr->reset();
    c = t;
    return true;
  }
  ifname->clear();
  return false;
}

enum class ChunkKind { kAll, kAuto, kExclude, kInclude };

struct Chunk {
  ChunkKind kind = ChunkKind::kInclude;
  Range listen;
  Range target;
  WireAddr taddr{};  // :: when none
};

bool ParseChunk(Cursor& c, Chunk* out) {
  Cursor t = c;
  Chunk ch;
  if (t.Literal("all")) {
    ch.kind = ChunkKind::kAll;
    Cursor u = t;
    if (u.Literal(":") && ParseAddr(u, &ch.taddr)) t = u;
  } else if (t.Literal("auto")) {
    ch.kind = ChunkKind::kAuto;
  } else if (t.Literal("~")) {
    ch.kind = ChunkKind::kExclude;
    if (!ParseRange(t, &ch.listen)) return false;
  } else if (ParseRange(t, &ch.listen)) {
    ch.kind = ChunkKind::kInclude;
    ch.target = ch.listen;
    Cursor u = t;
    WireAddr a{};
    Range r;
    if (u.Literal(":") && ParseAddr(u, &a) && u.Literal("/") &&
        ParseRange(u, &r)) {
      ch.taddr = a;
      ch.target = r;
      t = u;
    } else if (u = t, u.Literal(":") && ParseAddr(u, &a)) {
      ch.taddr = a;
      t = u;
    } else if (u = t, u.Literal(":") && ParseRange(u, &r)) {
      ch.target = r;
      t = u;
    }
  } else {
    return false;
  }
  *out = ch;
  c = t;
  return true;
}

// One rule per run of ports of [first, last] not in `excluded`.
void AddRangeExcept(const Rule& base, Range listen, uint16_t to,
                    const std::bitset<65536>& excluded,
                    std::vector<Rule>* rules) {
  uint32_t p = listen.first;
  while (p <= listen.last) {
    if (excluded[p]) {
      ++p;
      continue;
    }
    uint32_t end = p;
    while (end + 1 <= listen.last && !excluded[end + 1]) ++end;
    Rule r = base;
    r.first = static_cast<uint16_t>(p);
    r.last = static_cast<uint16_t>(end);
    r.to = static_cast<uint16_t>(to + (p - listen.first));
    rules->push_back(r);
    p = end + 1;
  }
}

absl::Status Invalid(std::string_view spec) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid port specification '", std::string(spec), "'"));
}

// The port list `list` for a listening address `addr` (null: any) and
// `ifname`, appended to `out`.
absl::Status ParsePorts(std::string_view spec, std::string_view list,
                        uint32_t caps, uint8_t proto, const WireAddr* addr,
                        uint8_t flags, const std::string& ifname,
                        std::pair<uint16_t, uint16_t> ephemeral,
                        std::vector<Rule>* out) {
  auto excluded = std::make_unique<std::bitset<65536>>();
  std::vector<Chunk> chunks;
  Cursor c{list};
  do {
    Chunk ch;
    if (!ParseChunk(c, &ch)) return Invalid(spec);
    chunks.push_back(ch);
  } while (c.Literal(","));
  if (!c.rest.empty()) return Invalid(spec);

  WireAddr all_taddr{};
  bool include = false;
  for (const Chunk& ch : chunks) {
    switch (ch.kind) {
      case ChunkKind::kAuto:
        if ((caps & kCapScan) == 0) {
          return absl::InvalidArgumentError(
              "'auto' forwarding is for pasta only (this server can't scan)");
        }
        flags |= kFlagScan;
        break;
      case ChunkKind::kExclude:
        for (uint32_t p = ch.listen.first; p <= ch.listen.last; ++p) {
          excluded->set(p);
        }
        break;
      case ChunkKind::kAll:
        all_taddr = ch.taddr;
        break;
      case ChunkKind::kInclude:
        if (ch.target.last - ch.target.first !=
            ch.listen.last - ch.listen.first) {
          return Invalid(spec);
        }
        include = true;
        break;
    }
  }
  Rule base;
  if (addr != nullptr) base.addr = *addr;
  std::memcpy(base.ifname.data(), ifname.data(), ifname.size());
  base.proto = proto;
  base.flags = flags;
  for (const Chunk& ch : chunks) {
    if (ch.kind != ChunkKind::kInclude) continue;
    Rule r = base;
    r.taddr = ch.taddr;
    AddRangeExcept(r, ch.listen, ch.target.first, *excluded, out);
  }
  if (!include) {
    for (uint32_t p = ephemeral.first; p <= ephemeral.second; ++p) {
      excluded->set(p);
    }
    Rule r = base;
    r.taddr = all_taddr;
    r.flags |= kFlagWeak;
    AddRangeExcept(r, Range{1, 65535}, 1, *excluded, out);
  }
  return absl::OkStatus();
}

WireAddr Loopback(bool v4) {
  WireAddr a{};
  if (v4) {
    a[10] = a[11] = 0xff;
    a[12] = 127;
    a[15] = 1;
  } else {
    a[15] = 1;
  }
  return a;
}

}  // namespace

absl::Status ParseSpec(std::string_view spec, char option, uint32_t caps,
                       std::pair<uint16_t, uint16_t> ephemeral,
                       SpecResult* out) {
  *out = SpecResult{};
  const bool outbound = option == 'T' || option == 'U';
  const uint8_t proto =
      (option == 't' || option == 'T') ? kProtoTcp : kProtoUdp;
  if (spec == "none") {
    out->none = true;
    return absl::OkStatus();
  }
  Cursor c{spec};
  std::optional<WireAddr> addr;
  std::string ifname;
  if (ParsePrefix(c, &addr, &ifname)) {
    if (outbound) {
      return absl::InvalidArgumentError(absl::StrCat(
          "-", std::string(1, option), " ", std::string(spec),
          ": a listening address or interface is for -t and -u only"));
    }
    if (ifname == "." || ifname == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid interface name '", ifname, "'"));
    }
  }
  if (outbound) {
    if ((caps & kCapIfname) == 0) {
      out->warning =
          absl::StrCat("no device binding here: -", std::string(1, option), " ",
                       std::string(spec), " listens on 127.0.0.1 and ::1 only");
      for (const bool v4 : {true, false}) {
        if ((caps & (v4 ? kCapIpv4 : kCapIpv6)) == 0) continue;
        const WireAddr lo = Loopback(v4);
        absl::Status st = ParsePorts(spec, c.rest, caps, proto, &lo, 0, "",
                                     ephemeral, &out->rules);
        if (!st.ok()) return st;
      }
      return absl::OkStatus();
    }
    ifname = "lo";
  }
  uint8_t flags = 0;
  WireAddr any{};
  if (!addr.has_value()) {
    if ((caps & kCapIpv4) == 0) {
      addr = any;
    } else if ((caps & kCapIpv6) == 0) {
      any[10] = any[11] = 0xff;
      addr = any;
    } else {
      flags = kFlagDualStack;
    }
  }
  if (!ifname.empty() && (caps & kCapIfname) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("-", std::string(1, option), " ", std::string(spec),
                     ": binding to an interface needs Linux 5.7 or later"));
  }
  return ParsePorts(spec, c.rest, caps, proto, addr ? &*addr : nullptr, flags,
                    ifname, ephemeral, &out->rules);
}

}  // namespace pasta::control
