// NeighbourTable: the host's LAN neighbours that the namespace sees at
// their own addresses, with their real MACs, for the ARP and NDP
// responders.
//
// Theory of operation: pasta answers every ARP request and neighbour
// solicitation itself (arp.h, ndp.h). Without this table every address gets
// our MAC. The app fills the table from the host's neighbour table on the
// template interface (a dump at start-up, then rtnetlink notifications);
// the responders answer an address found here with its MAC, every other one
// with ours. Set() says whether an entry is new or its MAC changed, so that
// the caller can tell the namespace (a gratuitous ARP or an unsolicited
// neighbour advertisement).
//
// A fixed array of kCapacity entries searched linearly: it is consulted only
// for ARP requests and solicitations (rare), and written only on the host's
// neighbour changes. No allocation after construction.
#pragma once

#include <array>
#include <cstddef>

#include "common/net_types.h"

namespace pasta::ndp {

class NeighbourTable {
 public:
  static constexpr size_t kCapacity = 1024;

  enum class Change {
    kNone,     // already there with this MAC
    kAdded,    // a new entry
    kChanged,  // the address was there with another MAC
    kFull,     // not added: the table is full
  };

  // Records that `addr` (IPv4 or IPv6) is at `mac`. O(size()).
  Change Set(const IpAddr& addr, const MacAddr& mac);
  // Forgets `addr`; returns whether it was there. O(size()).
  bool Remove(const IpAddr& addr);
  // The MAC of `addr`, or nullptr if it is not in the table. O(size()).
  const MacAddr* Find(const IpAddr& addr) const;
  // The MAC of the IPv4 (4 bytes) or IPv6 (16 bytes) address at `addr`.
  const MacAddr* Find(int family, const uint8_t* addr) const;

  // Calls fn(addr, mac) for every entry, in no particular order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (size_t i = 0; i < size_; ++i) fn(entries_[i].addr, entries_[i].mac);
  }

  size_t size() const { return size_; }
  void Clear() { size_ = 0; }

 private:
  struct Entry {
    IpAddr addr;
    MacAddr mac;
  };
  size_t IndexOf(int family, const uint8_t* addr) const;  // size_ if absent

  std::array<Entry, kCapacity> entries_{};
  size_t size_ = 0;
};

}  // namespace pasta::ndp
