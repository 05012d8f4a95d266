#include "control/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/spec.h"
#include "wire/bytes.h"

namespace pasta::control {
namespace {

using wire::LoadBe32;

// Reads exactly `n` bytes; false on EOF or an error before that.
bool ReadFull(int fd, uint8_t* buf, size_t n, int* err) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      *err = r == 0 ? ENODATA : errno;
      return false;
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

absl::Status Short(std::string_view what, int err) {
  return absl::UnavailableError(
      absl::StrCat("reading the ", std::string(what),
                   " from the control socket: ", std::strerror(err)));
}

Announced* FindByName(std::vector<Announced>& tables, std::string_view name) {
  for (Announced& a : tables) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::vector<Announced>> ReadServer(int fd) {
  uint8_t hello[kGreetingSize];
  int err = 0;
  if (!ReadFull(fd, hello, sizeof(hello), &err)) return Short("greeting", err);
  if (!std::equal(kMagic.begin(), kMagic.end(), hello)) {
    return absl::FailedPreconditionError(
        "the server's greeting has the wrong magic number: not a pasta or "
        "passt control socket");
  }
  const uint32_t version = LoadBe32(hello + 8);
  if (version != kVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the server speaks protocol version %u; this pesto speaks %u", version,
        kVersion));
  }
  const uint32_t name_size = LoadBe32(hello + 12);
  const uint32_t if_size = LoadBe32(hello + 16);
  if (name_size != kPifNameSize || if_size != kIfNameSize) {
    return absl::FailedPreconditionError(
        absl::StrFormat("the server's field sizes are %u and %u, not %u and %u",
                        name_size, if_size, kPifNameSize, kIfNameSize));
  }
  std::vector<Announced> tables;
  for (;;) {
    uint8_t id = 0;
    if (!ReadFull(fd, &id, 1, &err)) return Short("tables", err);
    if (id == 0) break;
    if (tables.size() == kMaxTables) {
      return absl::FailedPreconditionError(
          absl::StrFormat("the server has more than %u tables", kMaxTables));
    }
    uint8_t head[kPifNameSize + 8];
    if (!ReadFull(fd, head, sizeof(head), &err)) return Short("tables", err);
    if (head[kPifNameSize - 1] != 0) {
      return absl::FailedPreconditionError(
          "a table name from the server lacks its terminating NUL");
    }
    Announced a;
    a.name = reinterpret_cast<const char*>(head);
    a.table.pif = static_cast<Pif>(id);
    a.table.caps = LoadBe32(head + kPifNameSize);
    const uint32_t count = LoadBe32(head + kPifNameSize + 4);
    if (count > kMaxRules) {
      return absl::FailedPreconditionError(
          absl::StrFormat("the server sent %u rules for %s (at most %u)", count,
                          a.name, kMaxRules));
    }
    for (const Announced& other : tables) {
      if (other.table.pif == a.table.pif || other.name == a.name) {
        return absl::FailedPreconditionError(
            absl::StrCat("the server sent table ", a.name, " twice"));
      }
    }
    for (uint32_t i = 0; i < count; ++i) {
      uint8_t rule[kRuleSize];
      if (!ReadFull(fd, rule, sizeof(rule), &err)) return Short("tables", err);
      a.table.rules.push_back(Rule::Decode(rule));
    }
    tables.push_back(std::move(a));
  }
  return tables;
}

std::string Show(const std::vector<Announced>& tables, std::string_view title,
                 std::string_view path) {
  std::string out =
      absl::StrCat(std::string(title), " (", std::string(path), ")\n");
  for (const Announced& a : tables) {
    absl::StrAppend(&out, "  ", a.name, "\n");
    for (const Rule& r : a.table.rules) {
      absl::StrAppend(&out, "    ", Describe(r), "\n");
    }
  }
  return out;
}

absl::Status Edit(std::vector<Announced>& tables,
                  const std::vector<EditOp>& ops,
                  std::pair<uint16_t, uint16_t> ephemeral,
                  std::vector<std::string>* warnings) {
  enum class Mode { kReplace, kAdd, kDelete };
  Mode mode = Mode::kReplace;
  std::vector<bool> cleared(tables.size(), false);
  // The socket budget counts this run's additions only, as upstream's.
  std::vector<uint64_t> listeners(tables.size(), 0);
  for (const EditOp& op : ops) {
    switch (op.kind) {
      case EditOp::Kind::kAdd:
        mode = Mode::kAdd;
        continue;
      case EditOp::Kind::kDelete:
        mode = Mode::kDelete;
        continue;
      case EditOp::Kind::kClear: {
        Announced* a = FindByName(tables, op.text);
        if (a == nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat("-C ", op.text, ": the server has no such table"));
        }
        a->table.rules.clear();
        cleared[static_cast<size_t>(a - tables.data())] = true;
        continue;
      }
      case EditOp::Kind::kSpec:
        break;
    }
    const bool outbound = op.option == 'T' || op.option == 'U';
    const char* name = outbound ? "SPLICE" : "HOST";
    Announced* a = FindByName(tables, name);
    if (a == nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "can't use -%c: the server has no %s table", op.option,
          outbound ? "outbound (SPLICE)" : "inbound (HOST)"));
    }
    const size_t k = static_cast<size_t>(a - tables.data());
    Table& table = a->table;
    if (mode == Mode::kReplace && !cleared[k]) {
      table.rules.clear();
      cleared[k] = true;
    }
    SpecResult spec;
    absl::Status st =
        ParseSpec(op.text, op.option, table.caps, ephemeral, &spec);
    if (!st.ok()) return st;
    if (!spec.warning.empty()) warnings->push_back(spec.warning);
    const uint8_t proto =
        (op.option == 't' || op.option == 'T') ? kProtoTcp : kProtoUdp;
    if (spec.none) {
      for (const Rule& r : table.rules) {
        if (r.proto == proto) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "-%c none conflicts with the rules before it", op.option));
        }
      }
      continue;
    }
    for (const Rule& rule : spec.rules) {
      if (mode != Mode::kDelete) {
        st = AddRule(table, rule, listeners[k]);
        if (!st.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "can't add ", Describe(rule), ": ", std::string(st.message())));
        }
        continue;
      }
      const auto same = std::find(table.rules.begin(), table.rules.end(), rule);
      if (same != table.rules.end()) {
        table.rules.erase(same);
        continue;
      }
      for (const Rule& other : table.rules) {
        if (Conflicts(rule, other)) {
          return absl::InvalidArgumentError(
              absl::StrCat("can't delete ", Describe(rule), ": it overlaps ",
                           Describe(other), "but isn't the same rule"));
        }
      }
      return absl::InvalidArgumentError(
          absl::StrCat("can't delete ", Describe(rule), ": no such rule"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadStatus(int fd) {
  std::vector<uint8_t> in;
  uint8_t buf[512];
  for (;;) {
    const ssize_t r = read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // EOF; a reset is upstream closing on unread bytes
    in.insert(in.end(), buf, buf + r);
    if (in.size() > kStatusHeaderSize + kMaxStatusText) break;
  }
  if (in.size() < kStatusHeaderSize ||
      !std::equal(kStatusMagic.begin(), kStatusMagic.end(), in.begin())) {
    return absl::OkStatus();  // upstream's server: no word either way
  }
  if (LoadBe32(in.data() + 8) == 0) return absl::OkStatus();
  const size_t len =
      std::min<size_t>(LoadBe32(in.data() + 12), in.size() - kStatusHeaderSize);
  return absl::FailedPreconditionError(std::string(
      in.begin() + kStatusHeaderSize,
      in.begin() + static_cast<std::ptrdiff_t>(kStatusHeaderSize + len)));
}

}  // namespace pasta::control
