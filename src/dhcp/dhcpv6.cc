#include "dhcp/dhcpv6.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/log.h"
#include "dhcp/dns_name.h"
#include "dhcp/writer.h"
#include "wire/bytes.h"

namespace pasta::dhcp {

namespace {

using internal::Writer;

constexpr size_t kHeaderLen = 4;  // msg-type, transaction-id (RFC 8415 8)
constexpr size_t kXidLen = 3;
constexpr size_t kOptHeaderLen = 4;

// Option codes (RFC 8415 21, RFC 3646, RFC 4704).
constexpr uint16_t kOptClientId = 1;
constexpr uint16_t kOptServerId = 2;
constexpr uint16_t kOptIaNa = 3;
constexpr uint16_t kOptIaTa = 4;
constexpr uint16_t kOptIaAddr = 5;
constexpr uint16_t kOptPreference = 7;
constexpr uint16_t kOptStatusCode = 13;
constexpr uint16_t kOptRapidCommit = 14;
constexpr uint16_t kOptDnsServers = 23;
constexpr uint16_t kOptDomainList = 24;
constexpr uint16_t kOptIaPd = 25;
constexpr uint16_t kOptClientFqdn = 39;

constexpr size_t kIaNaFixedLen = 12;    // IAID, T1, T2
constexpr size_t kIaAddrFixedLen = 24;  // address, preferred, valid
// A DUID is a 2-byte type and 1..128 bytes of identifier (RFC 8415 11.1).
constexpr size_t kMinDuid = 3;
constexpr size_t kMaxDuid = 130;
constexpr uint32_t kInfinity = 0xffffffff;
constexpr uint8_t kMaxPreference = 255;
constexpr uint8_t kFqdnFlagN = 0x04;  // RFC 4704 4.1: server does no updates
// S (client asks for AAAA updates) and O (the server's S, always 0 here,
// differs from the client's).
constexpr uint8_t kFqdnFlagS = 0x01;
constexpr uint8_t kFqdnFlagO = 0x02;

// Walks options in a buffer. Stops at the end or at the first option that
// does not fit, so it is safe on any input; done() tells the two apart.
class OptionIter {
 public:
  explicit OptionIter(absl::Span<const uint8_t> data) : rest_(data) {}

  bool Next(uint16_t& code, absl::Span<const uint8_t>& body) {
    if (rest_.size() < kOptHeaderLen) return false;
    const uint16_t len = wire::LoadBe16(rest_.data() + 2);
    if (len > rest_.size() - kOptHeaderLen) return false;
    code = wire::LoadBe16(rest_.data());
    body = rest_.subspan(kOptHeaderLen, len);
    rest_.remove_prefix(kOptHeaderLen + len);
    return true;
  }
  bool done() const { return rest_.empty(); }

 private:
  absl::Span<const uint8_t> rest_;
};

// A message validated by ParseRequest(): options, and the options nested in
// each IA_NA, are all well formed.
struct Request {
  Dhcp6Type type;
  const uint8_t* xid;
  absl::Span<const uint8_t> options;
  bool has_client_id = false;
  absl::Span<const uint8_t> client_id;
  bool has_server_id = false;
  absl::Span<const uint8_t> server_id;
  bool rapid_commit = false;
  bool has_ia = false;  // IA_NA, IA_TA or IA_PD
  bool fqdn_s = false;  // the client's OPTION_CLIENT_FQDN has the S flag
};

// IA_NA body: IAID, T1, T2 and options, of which IA Addresses must be whole.
bool ValidIaNa(absl::Span<const uint8_t> body) {
  if (body.size() < kIaNaFixedLen) return false;
  OptionIter it(body.subspan(kIaNaFixedLen));
  uint16_t code;
  absl::Span<const uint8_t> sub;
  while (it.Next(code, sub)) {
    if (code == kOptIaAddr && sub.size() < kIaAddrFixedLen) return false;
  }
  return it.done();
}

std::optional<Request> ParseRequest(absl::Span<const uint8_t> buf) {
  if (buf.size() < kHeaderLen) return std::nullopt;
  Request req;
  req.type = static_cast<Dhcp6Type>(buf[0]);
  req.xid = buf.data() + 1;
  req.options = buf.subspan(kHeaderLen);
  OptionIter it(req.options);
  uint16_t code;
  absl::Span<const uint8_t> body;
  while (it.Next(code, body)) {
    switch (code) {
      case kOptClientId:
        if (req.has_client_id) break;  // first instance wins
        if (body.size() < kMinDuid || body.size() > kMaxDuid)
          return std::nullopt;
        req.has_client_id = true;
        req.client_id = body;
        break;
      case kOptServerId:
        if (req.has_server_id) break;
        req.has_server_id = true;
        req.server_id = body;
        break;
      case kOptRapidCommit:
        req.rapid_commit = true;
        break;
      case kOptIaNa:
        if (!ValidIaNa(body)) return std::nullopt;
        req.has_ia = true;
        break;
      case kOptIaTa:
      case kOptIaPd:
        req.has_ia = true;
        break;
      case kOptClientFqdn:
        req.fqdn_s = !body.empty() && (body[0] & kFqdnFlagS) != 0;
        break;
      default:
        break;
    }
  }
  if (!it.done()) return std::nullopt;  // an option overruns the message
  return req;
}

const char* TypeName(Dhcp6Type type) {
  switch (type) {
    case Dhcp6Type::kSolicit:
      return "SOLICIT";
    case Dhcp6Type::kAdvertise:
      return "ADVERTISE";
    case Dhcp6Type::kRequest:
      return "REQUEST";
    case Dhcp6Type::kConfirm:
      return "CONFIRM";
    case Dhcp6Type::kRenew:
      return "RENEW";
    case Dhcp6Type::kRebind:
      return "REBIND";
    case Dhcp6Type::kReply:
      return "REPLY";
    case Dhcp6Type::kRelease:
      return "RELEASE";
    case Dhcp6Type::kDecline:
      return "DECLINE";
    case Dhcp6Type::kReconfigure:
      return "RECONFIGURE";
    case Dhcp6Type::kInformationRequest:
      return "INFORMATION-REQUEST";
    case Dhcp6Type::kRelayForw:
      return "RELAY-FORW";
    case Dhcp6Type::kRelayRepl:
      return "RELAY-REPL";
  }
  return "unknown";
}

void PutOption(Writer& w, uint16_t code, absl::Span<const uint8_t> body) {
  w.U16(code);
  w.U16(static_cast<uint16_t>(body.size()));
  w.Bytes(body);
}

void PutStatus(Writer& w, Dhcp6Status status) {
  const char* text = "";
  switch (status) {
    case Dhcp6Status::kSuccess:
      text = "success";
      break;
    case Dhcp6Status::kNoAddrsAvail:
      text = "no addresses available";
      break;
    case Dhcp6Status::kNotOnLink:
      text = "address not on link";
      break;
    case Dhcp6Status::kUnspecFail:
    case Dhcp6Status::kNoBinding:
    case Dhcp6Status::kUseMulticast:
      break;
  }
  const size_t len = std::strlen(text);
  w.U16(kOptStatusCode);
  w.U16(static_cast<uint16_t>(2 + len));
  w.U16(static_cast<uint16_t>(status));
  w.Bytes(reinterpret_cast<const uint8_t*>(text), len);
}

void PutIaAddr(Writer& w, const uint8_t* addr, uint32_t preferred,
               uint32_t valid) {
  w.U16(kOptIaAddr);
  w.U16(kIaAddrFixedLen);
  w.Bytes(addr, 16);
  w.U32(preferred);
  w.U32(valid);
}

// One IA_NA answering the client's `ia` (a validated IA_NA body).
void PutIaNa(Writer& w, absl::Span<const uint8_t> ia, bool assign,
             bool expire_foreign, const Dhcp6Config& cfg) {
  w.U16(kOptIaNa);
  const size_t len_at = w.pos();
  w.U16(0);
  w.Bytes(ia.data(), 4);  // IAID
  if (!assign) {
    w.U32(0);  // T1, T2: the client chooses
    w.U32(0);
    PutStatus(w, Dhcp6Status::kNoAddrsAvail);
  } else {
    const uint32_t pref = cfg.preferred_lifetime;
    const uint32_t t1 = pref == kInfinity ? kInfinity : pref / 2;
    const uint32_t t2 = pref == kInfinity
                            ? kInfinity
                            : static_cast<uint32_t>(uint64_t{pref} * 4 / 5);
    w.U32(t1);
    w.U32(t2);
    PutIaAddr(w, cfg.addr.bytes.data(), pref, cfg.valid_lifetime);
    if (expire_foreign) {
      OptionIter it(ia.subspan(kIaNaFixedLen));
      uint16_t code;
      absl::Span<const uint8_t> sub;
      while (it.Next(code, sub)) {
        if (code != kOptIaAddr) continue;
        if (std::memcmp(sub.data(), cfg.addr.bytes.data(), 16) == 0) continue;
        PutIaAddr(w, sub.data(), 0, 0);
      }
    }
  }
  // Body length excludes the 4-byte option header.
  w.PatchU16(len_at, static_cast<uint16_t>(w.pos() - len_at - 2));
}

// One IA_NA in the reply per IA_NA in the request; only the first gets the
// address.
void PutIaNas(Writer& w, const Request& req, const Dhcp6Config& cfg,
              bool expire_foreign) {
  bool assigned = false;
  OptionIter it(req.options);
  uint16_t code;
  absl::Span<const uint8_t> body;
  while (it.Next(code, body)) {
    if (code != kOptIaNa) continue;
    const bool assign = !assigned && cfg.addr.IsV6();
    PutIaNa(w, body, assign, expire_foreign, cfg);
    assigned = assigned || assign;
  }
}

// DNS servers, domain list and optionally the FQDN.
void PutConfig(Writer& w, const Dhcp6Config& cfg, const Request& req,
               bool with_fqdn) {
  size_t dns_count = 0;
  for (const IpAddr& a : cfg.dns) dns_count += a.IsV6() ? 1 : 0;
  dns_count = std::min<size_t>(dns_count, 0xffff / 16);
  if (dns_count > 0) {
    w.U16(kOptDnsServers);
    w.U16(static_cast<uint16_t>(dns_count * 16));
    size_t written = 0;
    for (const IpAddr& a : cfg.dns) {
      if (!a.IsV6() || written == dns_count) continue;
      w.Bytes(a.bytes.data(), 16);
      ++written;
    }
  }
  if (!cfg.search_wire.empty()) PutOption(w, kOptDomainList, cfg.search_wire);
  if (with_fqdn && !cfg.fqdn_wire.empty()) {
    w.U16(kOptClientFqdn);
    w.U16(static_cast<uint16_t>(1 + cfg.fqdn_wire.size()));
    w.U8(kFqdnFlagN | (req.fqdn_s ? kFqdnFlagO : 0));
    w.Bytes(cfg.fqdn_wire);
  }
}

// CONFIRM (RFC 8415 18.3.3): nullopt if no addresses are named, else
// Success if all of them are ours.
std::optional<Dhcp6Status> ConfirmStatus(const Request& req,
                                         const Dhcp6Config& cfg) {
  size_t count = 0;
  bool all_ours = true;
  OptionIter it(req.options);
  uint16_t code;
  absl::Span<const uint8_t> body;
  while (it.Next(code, body)) {
    if (code != kOptIaNa) continue;
    OptionIter sub_it(body.subspan(kIaNaFixedLen));
    uint16_t sub_code;
    absl::Span<const uint8_t> sub;
    while (sub_it.Next(sub_code, sub)) {
      if (sub_code != kOptIaAddr) continue;
      ++count;
      if (!cfg.addr.IsV6() ||
          std::memcmp(sub.data(), cfg.addr.bytes.data(), 16) != 0)
        all_ours = false;
    }
  }
  if (count == 0) return std::nullopt;
  return all_ours ? Dhcp6Status::kSuccess : Dhcp6Status::kNotOnLink;
}

}  // namespace

std::array<uint8_t, 10> ServerDuid(const MacAddr& mac) {
  std::array<uint8_t, 10> duid{};
  wire::StoreBe16(duid.data(), 3);      // DUID-LL
  wire::StoreBe16(duid.data() + 2, 1);  // hardware type: Ethernet
  std::memcpy(duid.data() + 4, mac.bytes.data(), 6);
  return duid;
}

void Prepare(Dhcp6Config& cfg) {
  cfg.search_wire = EncodeDnsNames(cfg.search);
  if (cfg.search_wire.size() > 0xffff) {
    LOG_WARN("dhcpv6: domain list too long, not sent");
    cfg.search_wire.clear();
  }
  cfg.fqdn_wire.clear();
  if (!cfg.fqdn.empty() && !AppendDnsName(cfg.fqdn, cfg.fqdn_wire))
    LOG_WARN("dhcpv6: invalid FQDN \"%s\", not sent", cfg.fqdn);
  cfg.prepared = true;
}

size_t HandleDhcp6(absl::Span<const uint8_t> request, const Dhcp6Config& cfg,
                   absl::Span<uint8_t> out) {
  if (!cfg.prepared) {
    LOG_ERROR("dhcpv6: configuration used before Prepare(), not answering");
    return 0;
  }
  const std::optional<Request> req = ParseRequest(request);
  if (!req) {
    LOG_TRACE("dhcpv6: dropping malformed message, %zu bytes", request.size());
    return 0;
  }

  const std::array<uint8_t, 10> duid = ServerDuid(cfg.our_mac);
  const bool ours =
      req->has_server_id && req->server_id == absl::MakeConstSpan(duid);

  // RFC 8415 16: which messages must, may or must not name a server.
  bool need_client_id = true;
  switch (req->type) {
    case Dhcp6Type::kSolicit:
    case Dhcp6Type::kConfirm:
    case Dhcp6Type::kRebind:
      if (req->has_server_id) return 0;
      break;
    case Dhcp6Type::kRequest:
    case Dhcp6Type::kRenew:
    case Dhcp6Type::kRelease:
    case Dhcp6Type::kDecline:
      if (!ours) {
        LOG_TRACE("dhcpv6: %s for another server, not answering",
                  TypeName(req->type));
        return 0;
      }
      break;
    case Dhcp6Type::kInformationRequest:
      if ((req->has_server_id && !ours) || req->has_ia) return 0;
      need_client_id = false;
      break;
    case Dhcp6Type::kAdvertise:
    case Dhcp6Type::kReply:
    case Dhcp6Type::kReconfigure:
    case Dhcp6Type::kRelayForw:
    case Dhcp6Type::kRelayRepl:
    default:  // not a message type we know
      return 0;
  }
  if (need_client_id && !req->has_client_id) return 0;

  // CONFIRM without addresses gets no reply at all.
  std::optional<Dhcp6Status> confirm;
  if (req->type == Dhcp6Type::kConfirm) {
    confirm = ConfirmStatus(*req, cfg);
    if (!confirm) return 0;
  }

  const bool advertise = req->type == Dhcp6Type::kSolicit && !req->rapid_commit;
  const Dhcp6Type reply_type =
      advertise ? Dhcp6Type::kAdvertise : Dhcp6Type::kReply;

  Writer w(out);
  w.U8(static_cast<uint8_t>(reply_type));
  w.Bytes(req->xid, kXidLen);
  if (req->has_client_id) PutOption(w, kOptClientId, req->client_id);
  PutOption(w, kOptServerId, duid);

  switch (req->type) {
    case Dhcp6Type::kSolicit:
      if (req->rapid_commit) PutOption(w, kOptRapidCommit, {});
      if (advertise) {
        const uint8_t pref = kMaxPreference;
        PutOption(w, kOptPreference, absl::MakeConstSpan(&pref, 1));
      }
      PutIaNas(w, *req, cfg, /*expire_foreign=*/false);
      PutConfig(w, cfg, *req, /*with_fqdn=*/true);
      break;
    case Dhcp6Type::kRequest:
      PutIaNas(w, *req, cfg, /*expire_foreign=*/false);
      PutConfig(w, cfg, *req, /*with_fqdn=*/true);
      break;
    case Dhcp6Type::kRenew:
    case Dhcp6Type::kRebind:
      PutIaNas(w, *req, cfg, /*expire_foreign=*/true);
      PutConfig(w, cfg, *req, /*with_fqdn=*/true);
      break;
    case Dhcp6Type::kConfirm:
      PutStatus(w, *confirm);
      break;
    case Dhcp6Type::kInformationRequest:
      PutConfig(w, cfg, *req, /*with_fqdn=*/false);
      break;
    case Dhcp6Type::kRelease:
    case Dhcp6Type::kDecline:
      PutStatus(w, Dhcp6Status::kSuccess);
      break;
    case Dhcp6Type::kAdvertise:
    case Dhcp6Type::kReply:
    case Dhcp6Type::kReconfigure:
    case Dhcp6Type::kRelayForw:
    case Dhcp6Type::kRelayRepl:
      return 0;  // rejected above
  }

  if (!w.ok()) {
    LOG_TRACE("dhcpv6: reply does not fit in %zu bytes", out.size());
    return 0;
  }
  LOG_TRACE("dhcpv6: %s -> %s, %zu bytes", TypeName(req->type),
            TypeName(reply_type), w.pos());
  return w.pos();
}

}  // namespace pasta::dhcp
