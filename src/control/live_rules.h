// The forwarding rules of a running pasta as the control socket changes
// them: the tables (HOST: -t/-u, SPLICE: -T/-U) and the listeners their
// explicit rules open, kept in step, all or nothing.
//
// Theory of operation:
// - A rule expands to listeners, one per port and family: a dual-stack rule
//   to an IPv4 and an IPv6 one on the any-address, a rule with an address
//   to one of that address's family. A listener is known by its ListenKey
//   (table, protocol, family, address, interface, port) and says where it
//   forwards (ListenTarget: port, and an address or none).
// - Apply(next) works out the difference to the listeners open now: a key
//   in both stays open (its target changed in place if the rule's did); a
//   new key is opened; a key no longer wanted is closed, its flows going on.
//   Everything new is opened first: if one fails (and its rule isn't weak),
//   what this update opened is closed again and nothing changes. A port a
//   listener that goes away still holds is freed first where the new one
//   needs it, and reopened if the update fails.
// - A weak rule (`all`, exclusion-only lists) binds what it can; it fails
//   only if none of its ports could be bound. An update whose new
//   listeners would leave fewer than kSpareDescriptors free is refused
//   before any is opened.
// - Scanned rules (`auto`) open nothing here: the automatic forwarding does,
//   limited to ScanPorts() (the owner passes them on after each update).
//   It takes each port to the same port on every address, so a scanned rule
//   with a remapping, a target address or (table HOST) a listening address
//   or interface is refused.
// - The sockets are the owner's, through ListenerOps, so this is tested
//   without a namespace.
// Control plane; allocates.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/protocol.h"

namespace pasta::control {

struct ListenKey {
  Pif pif = Pif::kNone;
  uint8_t proto = 0;
  uint8_t family = 0;  // AF_INET or AF_INET6
  WireAddr addr{};     // unspecified: any address of the family
  std::array<uint8_t, kIfNameSize> ifname{};
  uint16_t port = 0;

  bool operator==(const ListenKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const ListenKey& k) {
    return H::combine(std::move(h), k.pif, k.proto, k.family, k.addr, k.ifname,
                      k.port);
  }
};

struct ListenTarget {
  uint16_t port = 0;
  WireAddr addr{};  // unspecified: the default target
  bool operator==(const ListenTarget&) const = default;
};

// The owner's listeners: open (returns a handle the owner picks; an
// EADDRINUSE failure as AlreadyExists), close, and point elsewhere.
class ListenerOps {
 public:
  virtual ~ListenerOps() = default;
  virtual absl::StatusOr<uint32_t> Open(const ListenKey& key,
                                        const ListenTarget& target) = 0;
  virtual void Close(const ListenKey& key, uint32_t handle) = 0;
  virtual void Retarget(const ListenKey& key, uint32_t handle,
                        const ListenTarget& target) = 0;
  // Descriptors this process may still open (an update that needs more,
  // less a reserve for connections, is refused before opening any).
  virtual size_t FreeDescriptors() = 0;
};

// Descriptors an update leaves free for connections.
inline constexpr size_t kSpareDescriptors = 1024;

class LiveRules {
 public:
  // `tables`: the rules in effect, of which the explicit ones have no
  // listeners here yet (Apply opens them); `enabled4`/`enabled6`: which
  // families a dual-stack rule covers.
  LiveRules(std::vector<Table> tables, ListenerOps* ops, bool enabled4,
            bool enabled6);

  const std::vector<Table>& tables() const { return tables_; }

  // Makes `next` (one table per table of tables(), in the same order, as
  // UpdateReader gives) the rules: all of them, or on error none, with the
  // listeners exactly as before. The error is one line naming the rule.
  absl::Status Apply(const std::vector<Table>& next);

  // Listeners open now.
  size_t listeners() const { return open_.size(); }
  // The ports the scanned rules of table `pif` give `proto`.
  std::bitset<65536> ScanPorts(Pif pif, uint8_t proto) const;
  // Whether `port` of `proto` has an explicit listener in table `pif`
  // (the automatic forwarding leaves those ports alone).
  bool Explicit(Pif pif, uint8_t proto, uint16_t port) const;
  // Every port of `proto` with an explicit listener in table `pif`: the
  // set Explicit() tests, whole. Costs nothing (a reference).
  const std::bitset<65536>& ExplicitPorts(Pif pif, uint8_t proto) const;

 private:
  struct Open {
    ListenTarget target;
    uint32_t handle;
  };
  struct Wanted {
    ListenTarget target;
    size_t rule;  // index into the flat list of the update's rules
  };

  // Expands the explicit rules of `tables` into `out`; `rules` gets each
  // rule in order (its index is Wanted::rule).
  void Expand(const std::vector<Table>& tables,
              absl::flat_hash_map<ListenKey, Wanted>* out,
              std::vector<std::pair<Pif, Rule>>* rules) const;

  std::vector<Table> tables_;
  ListenerOps* ops_;
  bool enabled4_;
  bool enabled6_;
  absl::flat_hash_map<ListenKey, Open> open_;
  std::bitset<65536> explicit_[2][2];  // [HOST, SPLICE][TCP, UDP]
};

}  // namespace pasta::control
