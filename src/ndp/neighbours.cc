#include "ndp/neighbours.h"

#include <cstring>

namespace pasta::ndp {

size_t NeighbourTable::IndexOf(int family, const uint8_t* addr) const {
  const size_t len = family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < size_; ++i) {
    const IpAddr& a = entries_[i].addr;
    if (a.family == family && std::memcmp(a.bytes.data(), addr, len) == 0)
      return i;
  }
  return size_;
}

NeighbourTable::Change NeighbourTable::Set(const IpAddr& addr,
                                           const MacAddr& mac) {
  const size_t i = IndexOf(addr.family, addr.bytes.data());
  if (i < size_) {
    if (entries_[i].mac == mac) return Change::kNone;
    entries_[i].mac = mac;
    return Change::kChanged;
  }
  if (size_ == kCapacity) return Change::kFull;
  Entry& e = entries_[size_++];
  e.addr = IpAddr{};
  e.addr.family = addr.family;
  std::memcpy(e.addr.bytes.data(), addr.bytes.data(),
              addr.family == AF_INET ? 4 : 16);
  e.mac = mac;
  return Change::kAdded;
}

bool NeighbourTable::Remove(const IpAddr& addr) {
  const size_t i = IndexOf(addr.family, addr.bytes.data());
  if (i == size_) return false;
  entries_[i] = entries_[--size_];
  return true;
}

const MacAddr* NeighbourTable::Find(int family, const uint8_t* addr) const {
  const size_t i = IndexOf(family, addr);
  return i < size_ ? &entries_[i].mac : nullptr;
}

const MacAddr* NeighbourTable::Find(const IpAddr& addr) const {
  return Find(addr.family, addr.bytes.data());
}

}  // namespace pasta::ndp
