// Port forwarding specifications: the argument language of -t/--tcp-ports,
// -u/--udp-ports (host -> namespace) and -T/--tcp-ns, -U/--udp-ns
// (namespace -> host), parsed into an exact, testable port map.
//
// Theory of operation
// -------------------
// One PortSpec holds everything given for one protocol and direction. Each
// option occurrence is passed to Add(); occurrences accumulate
// (`-t 22 -t 80` forwards both). A spec is a comma-separated list of items,
// optionally preceded by a bind prefix and a slash:
//
//   none | auto | all        a mode keyword, alone (no prefix, no other items,
//                            no other occurrence for this PortSpec)
//   22   22-80               forward host ports to the same port
//   22:23   22-80:32-90      forward to other ports (ranges of equal length)
//   22:ADDR/23  22:ADDR      forward to the given address on the other side
//                            (port ranges as above; IPv6 optionally in
//                            [brackets]) instead of the namespace's own
//                            address: needs a listening address of the same
//                            family, and only for -t and -u
//   ~25   ~10-20             exclusions: dropped from the items of the same
//                            spec; a spec made only of exclusions means "all
//                            ports except these" (mode kAll)
//   ITEMS,auto               automatic forwarding limited to the ports of the
//                            items (mode kAuto, see AutoForwarded); only
//                            exclusions: every port but those. Not with a
//                            bind prefix, a remapping or a target address
//   ADDR/ITEMS               bind the listening sockets to ADDR (IPv4 or
//                            IPv6, optionally in [brackets])
//   */ITEMS                  the wildcard address, as if none was given
//   %IFNAME/ITEMS            bind to an interface
//   ADDR%IFNAME/ITEMS        both (ADDR may be *)
//
// A bind prefix is only meaningful where we listen on the host (-t, -u); Add()
// refuses it when `allow_bind` is false (-T, -U), as upstream does.
//
// Modes: kAuto (the default when nothing was given: the runtime forwards
// whatever gets bound on the other side, within the ports AutoForwarded()
// allows), kNone, kAll (every port except exclusions and port 0; the runtime
// also skips the ephemeral range, see ExcludeRange), kExplicit (the port
// map).
//
// Memory: the tables (two 8 KiB bitmaps, and when needed a 128 KiB target
// table and 64 KiB bind-index and target-address-index tables) are
// allocated on first use, once, at start-up. Lookups never allocate.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/net_types.h"

namespace pasta::config {

// True if `name` is acceptable as a Linux interface name: 1 to 15 bytes, not
// "." or "..", and no '/', ':' or white space. Does not allocate.
bool IsValidInterfaceName(std::string_view name);

class PortSpec {
 public:
  enum class Mode {
    kAuto,      // forward what gets bound on the other side (runtime's job)
    kNone,      // forward nothing
    kAll,       // every port but port 0 and the exclusions
    kExplicit,  // exactly the ports in the map
  };

  // Where forwarded listeners bind. Both empty means the wildcard address.
  struct Bind {
    std::optional<IpAddr> addr;
    std::string ifname;
    bool operator==(const Bind&) const = default;
  };

  static constexpr size_t kNumPorts = 65536;
  // At most this many distinct bind prefixes per PortSpec.
  static constexpr size_t kMaxBinds = 255;

  // Not specified, mode kAuto. Does not allocate.
  PortSpec() = default;

  // Parses one occurrence of the option and merges it in. On error returns
  // InvalidArgument with a one-line reason that names the offending item
  // (e.g. "reversed range '80-22'"; the caller prefixes the option and the
  // spec) and leaves this PortSpec unchanged. Allocates the tables on first
  // use.
  absl::Status Add(std::string_view spec, bool allow_bind = true);

  // Marks [first, last] as excluded: such ports are no longer forwarded in
  // any mode. For the runtime (e.g. the ephemeral port range under kAll).
  // Allocates the tables on first use.
  void ExcludeRange(uint16_t first, uint16_t last);

  // True once Add() succeeded at least once.
  bool specified() const { return specified_; }
  Mode mode() const { return mode_; }

  // Whether host-side `port` is forwarded. kAuto and kNone: always false
  // (auto is decided at run time). Port 0 never is. Does not allocate.
  bool Forwarded(uint16_t port) const;
  // The port that traffic to `port` goes to on the other side: `port` itself
  // unless remapped with `A:B`. Meaningful when Forwarded(port).
  uint16_t Target(uint16_t port) const;
  // Whether `port` was excluded with `~` (or ExcludeRange).
  bool Excluded(uint16_t port) const;
  // Bind address and interface for `port` (empty Bind if none was given).
  const Bind& BindFor(uint16_t port) const;
  // The address on the other side that traffic to `port` goes to, given as
  // `PORT:ADDR`; null if none was (the other side's own address).
  // Meaningful when Forwarded(port). Does not allocate.
  const IpAddr* TargetAddr(uint16_t port) const;
  // Under kAuto, whether automatic forwarding may take `port`: any port but
  // 0 and the exclusions, or only the listed ones (`8000-8010,auto`). False
  // in the other modes. Does not allocate.
  bool AutoForwarded(uint16_t port) const;
  // The ports AutoForwarded() is true for, as a set, made a map word at a
  // time: asking AutoForwarded() for each of the 65535 ports took about
  // 0.2 ms, four times at every start. Does not allocate.
  std::bitset<kNumPorts> AutoForwardedSet() const;
  // Whether `auto` was limited to listed ports.
  bool auto_limited() const { return auto_limited_; }
  // Whether some port was given a target address (`PORT:ADDR`).
  bool has_target_addrs() const { return to_addrs_.size() > 1; }
  // Number of forwarded ports (kAll: all but port 0 and exclusions).
  size_t ForwardedCount() const;
  // The distinct bind prefixes given, in order; index 0 is the empty Bind.
  const std::vector<Bind>& binds() const { return binds_; }

 private:
  static bool TestBit(const std::vector<uint64_t>& map, uint32_t port) {
    return !map.empty() && ((map[port >> 6] >> (port & 63)) & 1);
  }
  static void SetBit(std::vector<uint64_t>& map, uint32_t port) {
    map[port >> 6] |= uint64_t{1} << (port & 63);
  }
  void AllocateMaps();
  // Returns the index of `bind` in binds_, adding it if new; -1 if full.
  int BindIndex(const Bind& bind);
  // Returns the index of `addr` in to_addrs_, adding it if new; -1 if full.
  int ToAddrIndex(const IpAddr& addr);
  // The end of Add() for a list with `auto`: `ports` are the listed ports
  // (`limited`), `local_excluded` the exclusions of an exclusion-only one.
  absl::Status AddAuto(const std::vector<uint64_t>& ports, bool limited,
                       const std::vector<uint64_t>& local_excluded);

  bool specified_ = false;
  Mode mode_ = Mode::kAuto;
  std::vector<uint64_t> forwarded_;  // kExplicit: host ports forwarded
  std::vector<uint64_t> excluded_;   // ports excluded with '~'
  std::vector<uint16_t> target_;     // empty until some port is remapped
  std::vector<uint8_t> bind_index_;  // empty until a bind prefix is used
  std::vector<uint8_t> to_addr_index_;  // empty until a target address is
  std::vector<IpAddr> to_addrs_ = {IpAddr{}};  // index 0: none
  bool auto_limited_ = false;        // kAuto limited to the forwarded_ ports
  uint8_t all_bind_ = 0;             // kAll: the bind of the spec
  std::vector<Bind> binds_ = {Bind{}};
};

}  // namespace pasta::config
