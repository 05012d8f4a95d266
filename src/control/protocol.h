// The control protocol of `-c/--conf-path`, wire-compatible with upstream
// passt's `pesto` (protocol version 2): the byte layouts, the rule checks
// and the rule text, shared by the server in pasta (control/server.h) and
// our `pesto` client. No I/O here: bytes in, values and bytes out.
//
// Theory of operation (../shared/pesto-protocol.md has every byte):
// - On accept the server sends a 20-byte greeting (magic "basil:s\0",
//   version 2, the name field sizes 128 and 16), then one record per
//   forwarding table it has (id, name, capability bits, rule count, 56-byte
//   rules), then a 0 byte.
// - A client either closes (a read-only look) or sends one update: per table
//   an id, a count and the rules, then a 0 byte. The update replaces every
//   table: a table it leaves out becomes empty. add, delete and clear are
//   the client's business.
// - Rules are kept verbatim (all 56 bytes, the bytes after the interface
//   name's NUL included) and sent back as received, because upstream's
//   client deletes a rule only when all 56 bytes match.
// - Beyond upstream: after an update, our server writes a status record
//   (StatusRecord below) before it closes. Upstream's pesto never reads it;
//   ours does, and so learns whether the update was applied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace pasta::control {

inline constexpr std::array<uint8_t, 8> kMagic = {'b', 'a', 's', 'i',
                                                  'l', ':', 's', '\0'};
inline constexpr uint32_t kVersion = 2;
inline constexpr size_t kPifNameSize = 128;
inline constexpr size_t kIfNameSize = 16;
inline constexpr size_t kGreetingSize = 20;
inline constexpr size_t kRuleSize = 56;
// Rules in one table, and listening sockets (ports summed over rules) one
// table may ask for: upstream's limits.
inline constexpr size_t kMaxRules = 255;
inline constexpr uint64_t kMaxListeners = 5 * 65536;
// The most tables a dump may carry (upstream's client refuses more).
inline constexpr size_t kMaxTables = 3;

// Table identifiers ("pifs"): where the connections a table forwards start.
enum class Pif : uint8_t {
  kNone = 0,    // the end-of-list marker
  kHost = 1,    // the host side: -t/-u, inbound to the namespace
  kTap = 2,     // never has a table
  kSplice = 3,  // the namespace's loopback: -T/-U, outbound (pasta only)
};
inline constexpr uint8_t kPifCount = 4;

// Capability bits of a table.
inline constexpr uint32_t kCapIpv4 = 0x01;
inline constexpr uint32_t kCapIpv6 = 0x02;
inline constexpr uint32_t kCapTcp = 0x04;
inline constexpr uint32_t kCapUdp = 0x08;
inline constexpr uint32_t kCapScan = 0x10;    // `auto` (pasta only)
inline constexpr uint32_t kCapIfname = 0x20;  // SO_BINDTODEVICE works

// Rule flag bits.
inline constexpr uint8_t kFlagDualStack = 0x01;  // any IPv4 and any IPv6
inline constexpr uint8_t kFlagWeak = 0x02;       // bind what can be bound
inline constexpr uint8_t kFlagScan = 0x04;       // `auto`: ports in use only
inline constexpr uint8_t kKnownFlags = 0x07;

inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

// An address as the protocol carries it: 16 bytes, IPv4 as IPv4-mapped.
using WireAddr = std::array<uint8_t, 16>;
bool IsMappedV4(const WireAddr& a);
// :: or the mapped 0.0.0.0.
bool IsUnspecified(const WireAddr& a);
// The text of `a`: dotted quad for a mapped IPv4 address, else IPv6.
std::string FormatWireAddr(const WireAddr& a);

// One forwarding rule: listen on addr (and ifname) ports first..last of
// proto, forward port n to `to + (n - first)` at taddr (unspecified: the
// default target). Ports in host order; everything else as on the wire.
struct Rule {
  WireAddr addr{};
  WireAddr taddr{};
  std::array<uint8_t, kIfNameSize> ifname{};
  uint16_t first = 0;
  uint16_t last = 0;
  uint16_t to = 0;
  uint8_t proto = 0;
  uint8_t flags = 0;

  // All 56 bytes equal (upstream's client deletes only such a rule).
  bool operator==(const Rule&) const = default;

  // Reads one record; `in` holds at least kRuleSize bytes.
  static Rule Decode(const uint8_t* in);
  // Writes one record of kRuleSize bytes.
  void Encode(uint8_t* out) const;
  bool dual_stack() const { return (flags & kFlagDualStack) != 0; }
  // The interface name up to its NUL (empty: none).
  std::string_view ifname_view() const;
  // Ports the rule listens on.
  uint32_t port_count() const { return last - first + 1U; }
};

// The rule as upstream's tools print it, e.g. "TCP [*]:8080  =>  8080 " or
// "UDP [0.0.0.0]%lo:5000-5001  =>  192.0.2.5:6000-6001  (best effort)":
// byte for byte, since scripts read `pesto` output. Allocates.
std::string Describe(const Rule& rule);

// Whether two rules would listen on a same socket: same protocol,
// overlapping ports, and addresses that match (either is dual-stack, either
// is unspecified within the same family, or they are equal).
bool Conflicts(const Rule& a, const Rule& b);

// One forwarding table as the protocol sees it.
struct Table {
  Pif pif = Pif::kNone;
  uint32_t caps = 0;
  std::vector<Rule> rules;
};
// "HOST", "TAP", "SPLICE" ("<none>" for kNone, "?" beyond).
std::string_view PifName(Pif pif);

// Appends `rule` to `table` if it passes every check of a rule in an update
// (ports, flags, addresses against the table's caps, the protocol, the
// target, conflicts with the table's rules, the rule and socket limits);
// `listeners` counts the ports of the rules added so far and grows by the
// rule's. Otherwise an InvalidArgument status with a one-line reason, and
// nothing changes.
absl::Status AddRule(Table& table, const Rule& rule, uint64_t& listeners);

// The greeting and the dump of `tables` (in the order given), as one
// buffer: what the server writes on accept. Allocates.
std::vector<uint8_t> EncodeHello(absl::Span<const Table> tables);

// An update carrying `tables`, as a client sends it. Allocates.
std::vector<uint8_t> EncodeUpdate(absl::Span<const Table> tables);

// Our status record after an update (server to client, beyond upstream):
// 8 bytes magic "basil:r\0", a u32 code (0: applied, 1: rejected), a u32
// length, then that many bytes of a one-line reason (none when applied).
inline constexpr std::array<uint8_t, 8> kStatusMagic = {'b', 'a', 's', 'i',
                                                        'l', ':', 'r', '\0'};
inline constexpr size_t kStatusHeaderSize = 16;
inline constexpr size_t kMaxStatusText = 1024;
std::vector<uint8_t> EncodeStatus(bool applied, std::string_view reason);

// Reads an update a piece at a time, from a client that may send it in any
// pieces, slowly, or wrongly: Feed never blocks and holds at most the
// tables it builds (bounded by the limits above). The tables it knows are
// given at construction (their pif and caps); the update fills copies of
// them, checked rule by rule with AddRule.
class UpdateReader {
 public:
  enum class State { kMore, kDone, kError };

  explicit UpdateReader(absl::Span<const Table> current);

  // Consumes bytes of `in` up to the end of the update or the first error;
  // returns how many it consumed (bytes after the end are not its).
  size_t Feed(absl::Span<const uint8_t> in);
  State state() const { return state_; }
  // With kError: why, in one line.
  const std::string& error() const { return error_; }
  // With kDone: the new tables, one per table given at construction, in
  // that order (empty where the update left one out).
  std::vector<Table>& tables() { return tables_; }
  // Called when the client closed: an update cut short is an error.
  void End();

 private:
  void Fail(std::string why);
  Table* Find(uint8_t pif);

  enum class Want { kPif, kCount, kRule };
  State state_ = State::kMore;
  Want want_ = Want::kPif;
  std::vector<Table> tables_;
  Table* current_ = nullptr;
  uint32_t left_ = 0;  // rules still to read for current_
  uint64_t listeners_[kPifCount] = {};
  std::array<uint8_t, kRuleSize> partial_{};
  size_t have_ = 0;
  std::string error_;
};

}  // namespace pasta::control
