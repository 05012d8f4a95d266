#include "control/live_rules.h"

#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace pasta::control {
namespace {

// A listener this update opened, or one it closed early to free a port.
struct Undo {
  ListenKey key;
  uint32_t handle;
};

size_t TableIndex(Pif pif) { return pif == Pif::kSplice ? 1 : 0; }
size_t ProtoIndex(uint8_t proto) { return proto == kProtoUdp ? 1 : 0; }

}  // namespace

LiveRules::LiveRules(std::vector<Table> tables, ListenerOps* ops, bool enabled4,
                     bool enabled6)
    : tables_(std::move(tables)),
      ops_(ops),
      enabled4_(enabled4),
      enabled6_(enabled6) {}

void LiveRules::Expand(const std::vector<Table>& tables,
                       absl::flat_hash_map<ListenKey, Wanted>* out,
                       std::vector<std::pair<Pif, Rule>>* rules) const {
  for (const Table& t : tables) {
    for (const Rule& r : t.rules) {
      const size_t index = rules->size();
      rules->emplace_back(t.pif, r);
      if ((r.flags & kFlagScan) != 0) continue;
      ListenKey key;
      key.pif = t.pif;
      key.proto = r.proto;
      key.ifname = r.ifname;
      std::vector<std::pair<uint8_t, WireAddr>> binds;
      if (r.dual_stack()) {
        WireAddr any4{};
        any4[10] = any4[11] = 0xff;
        if (enabled4_) binds.emplace_back(AF_INET, any4);
        if (enabled6_) binds.emplace_back(AF_INET6, WireAddr{});
      } else {
        binds.emplace_back(IsMappedV4(r.addr) ? AF_INET : AF_INET6, r.addr);
      }
      for (uint32_t p = r.first; p <= r.last; ++p) {
        for (const auto& [family, addr] : binds) {
          key.family = family;
          key.addr = addr;
          key.port = static_cast<uint16_t>(p);
          ListenTarget target;
          target.port = static_cast<uint16_t>(r.to + (p - r.first));
          target.addr = r.taddr;
          out->insert_or_assign(key, Wanted{target, index});
        }
      }
    }
  }
}

absl::Status LiveRules::Apply(const std::vector<Table>& next) {
  // Scanned rules open nothing here; the automatic forwarding takes each
  // port to the same port, on every address (of the host, or the
  // namespace's loopback).
  for (const Table& t : next) {
    for (const Rule& r : t.rules) {
      if ((r.flags & kFlagScan) == 0) continue;
      if (r.to != r.first || !IsUnspecified(r.taddr)) {
        return absl::UnimplementedError(
            absl::StrCat(Describe(r),
                         "auto forwarding takes each port to itself here: no "
                         "remapping or target address"));
      }
      if (t.pif == Pif::kHost &&
          (!IsUnspecified(r.addr) || !r.ifname_view().empty())) {
        return absl::UnimplementedError(
            absl::StrCat(Describe(r),
                         "auto forwarding listens on every address here: no "
                         "listening address or interface"));
      }
    }
  }
  absl::flat_hash_map<ListenKey, Wanted> wanted;
  std::vector<std::pair<Pif, Rule>> rules;
  Expand(next, &wanted, &rules);

  size_t needed = 0;
  for (const auto& [key, want] : wanted) needed += open_.contains(key) ? 0 : 1;
  if (needed > 0) {
    const size_t free = ops_->FreeDescriptors();
    if (needed + kSpareDescriptors > free) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the rules need ", needed, " more listening sockets, and only ", free,
          " descriptors are free (", kSpareDescriptors,
          " are kept for connections): raise the limit (ulimit -n) or "
          "forward fewer ports"));
    }
  }
  std::vector<Undo> opened;
  std::vector<std::pair<ListenKey, Open>> closed_early;
  std::vector<uint32_t> bound(rules.size(), 0);
  std::vector<uint32_t> failed(rules.size(), 0);
  absl::Status failure;
  const auto roll_back = [&] {
    for (const Undo& u : opened) ops_->Close(u.key, u.handle);
    for (auto& [key, o] : closed_early) {
      absl::StatusOr<uint32_t> again = ops_->Open(key, o.target);
      if (again.ok()) {
        open_[key] = Open{o.target, *again};
      } else {
        open_.erase(key);
        LOG_WARN(
            "control: port %u could not be bound again after a refused "
            "update: %s",
            key.port, std::string(again.status().message()));
      }
    }
  };
  for (const auto& [key, want] : wanted) {
    if (open_.contains(key)) {
      ++bound[want.rule];
      continue;
    }
    absl::StatusOr<uint32_t> handle = ops_->Open(key, want.target);
    if (!handle.ok() && absl::IsAlreadyExists(handle.status())) {
      // A listener this update drops may hold the port (another address
      // of the same family, say): free it first, and try again.
      bool freed = false;
      for (auto it = open_.begin(); it != open_.end();) {
        const ListenKey& k = it->first;
        if (k.pif == key.pif && k.proto == key.proto && k.port == key.port &&
            !wanted.contains(k)) {
          ops_->Close(k, it->second.handle);
          closed_early.emplace_back(k, it->second);
          open_.erase(it++);
          freed = true;
        } else {
          ++it;
        }
      }
      if (freed) handle = ops_->Open(key, want.target);
    }
    if (handle.ok()) {
      opened.push_back(Undo{key, *handle});
      ++bound[want.rule];
      continue;
    }
    const Rule& rule = rules[want.rule].second;
    if ((rule.flags & kFlagWeak) != 0) {
      ++failed[want.rule];
      continue;
    }
    failure =
        absl::Status(handle.status().code(),
                     absl::StrCat(Describe(rule), "port ", key.port, ": ",
                                  std::string(handle.status().message())));
    break;
  }
  if (failure.ok()) {
    for (size_t i = 0; i < rules.size(); ++i) {
      if (failed[i] > 0 && bound[i] == 0) {
        failure = absl::UnavailableError(absl::StrCat(
            Describe(rules[i].second), "none of its ports could be bound"));
        break;
      }
    }
  }
  if (!failure.ok()) {
    roll_back();
    return failure;
  }
  // Committed: record what was opened, point kept listeners at their new
  // targets, close what is no longer wanted.
  for (const Undo& u : opened) {
    open_[u.key] = Open{wanted.at(u.key).target, u.handle};
  }
  for (auto it = open_.begin(); it != open_.end();) {
    const auto w = wanted.find(it->first);
    if (w == wanted.end()) {
      ops_->Close(it->first, it->second.handle);
      open_.erase(it++);
      continue;
    }
    if (!(w->second.target == it->second.target)) {
      it->second.target = w->second.target;
      ops_->Retarget(it->first, it->second.handle, it->second.target);
    }
    ++it;
  }
  for (auto& bits : explicit_) {
    for (auto& b : bits) b.reset();
  }
  for (const auto& [key, o] : open_) {
    explicit_[TableIndex(key.pif)][ProtoIndex(key.proto)].set(key.port);
  }
  tables_ = next;
  return absl::OkStatus();
}

std::bitset<65536> LiveRules::ScanPorts(Pif pif, uint8_t proto) const {
  std::bitset<65536> out;
  for (const Table& t : tables_) {
    if (t.pif != pif) continue;
    for (const Rule& r : t.rules) {
      if ((r.flags & kFlagScan) == 0 || r.proto != proto) continue;
      for (uint32_t p = r.first; p <= r.last; ++p) out.set(p);
    }
  }
  return out;
}

bool LiveRules::Explicit(Pif pif, uint8_t proto, uint16_t port) const {
  return explicit_[TableIndex(pif)][ProtoIndex(proto)].test(port);
}

const std::bitset<65536>& LiveRules::ExplicitPorts(Pif pif,
                                                   uint8_t proto) const {
  return explicit_[TableIndex(pif)][ProtoIndex(proto)];
}

}  // namespace pasta::control
