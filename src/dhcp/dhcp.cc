#include "dhcp/dhcp.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/log.h"
#include "dhcp/dns_name.h"
#include "dhcp/writer.h"
#include "wire/bytes.h"

namespace pasta::dhcp {

namespace {

using internal::Writer;

// BOOTP fixed header (RFC 2131 2, figure 1).
constexpr size_t kOpOff = 0;
constexpr size_t kHtypeOff = 1;
constexpr size_t kHlenOff = 2;
constexpr size_t kXidOff = 4;
constexpr size_t kFlagsOff = 10;
constexpr size_t kCiaddrOff = 12;
constexpr size_t kGiaddrOff = 24;
constexpr size_t kChaddrOff = 28;
constexpr size_t kChaddrLen = 16;
constexpr size_t kSnameLen = 64;
constexpr size_t kFileLen = 128;
constexpr size_t kCookieOff = 236;
constexpr size_t kOptionsOff = 240;

constexpr uint8_t kBootRequest = 1;
constexpr uint8_t kBootReply = 2;
constexpr uint8_t kHtypeEthernet = 1;
constexpr uint8_t kHlenEthernet = 6;
constexpr uint16_t kFlagBroadcast = 0x8000;
constexpr uint8_t kCookie[4] = {99, 130, 83, 99};  // RFC 2132 2

// Option codes (RFC 2132 unless noted).
constexpr uint8_t kOptPad = 0;
constexpr uint8_t kOptSubnetMask = 1;
constexpr uint8_t kOptRouter = 3;
constexpr uint8_t kOptDns = 6;
constexpr uint8_t kOptHostname = 12;
constexpr uint8_t kOptMtu = 26;
constexpr uint8_t kOptRequestedIp = 50;
constexpr uint8_t kOptLeaseTime = 51;
constexpr uint8_t kOptMessageType = 53;
constexpr uint8_t kOptServerId = 54;
constexpr uint8_t kOptMessage = 56;
constexpr uint8_t kOptMaxMessageSize = 57;
constexpr uint8_t kOptClientId = 61;
constexpr uint8_t kOptFqdn = 81;     // RFC 4702
constexpr uint8_t kOptSearch = 119;  // RFC 3397
constexpr uint8_t kOptEnd = 255;

constexpr size_t kMaxOptionData = 255;
// A client must accept 576-byte datagrams (RFC 2131 2); without IPv4 (20) and
// UDP (8) headers that leaves 548 bytes of DHCP message.
constexpr size_t kIpUdpHeaders = 28;
constexpr size_t kMinMaxMessage = 576;
// BOOTP replies are padded to 300 bytes for old clients (RFC 1542 2.1).
constexpr size_t kMinReply = 300;

// RFC 4702 2.1 flags: E (canonical wire format) | N (server does no updates).
constexpr uint8_t kFqdnFlags = 0x04 | 0x08;
// S (client asks the server to update the A record) and O (the server's S
// differs from the client's: RFC 4702 3.1, ours is always 0).
constexpr uint8_t kFqdnFlagS = 0x01;
constexpr uint8_t kFqdnFlagO = 0x02;
constexpr uint8_t kFqdnRcode = 255;  // RFC 4702 2.2: servers send 255

using V4 = std::array<uint8_t, 4>;

// A request validated by ParseRequest(): every field here lies inside the
// caller's buffer.
struct Request {
  Dhcp4Type type;
  const uint8_t* header;  // the 236-byte fixed header
  V4 ciaddr;
  uint16_t flags;
  std::optional<V4> requested_ip;
  std::optional<V4> server_id;
  absl::Span<const uint8_t> client_id;  // empty if absent
  size_t max_message = kMinMaxMessage;  // with IP and UDP headers
  bool fqdn_s = false;  // the client's option 81 has the S flag set
};

V4 Load4(const uint8_t* p) {
  V4 v;
  std::memcpy(v.data(), p, 4);
  return v;
}

V4 AddrBytes(const IpAddr& a) {
  V4 v;
  std::memcpy(v.data(), a.bytes.data(), 4);
  return v;
}

bool IsZero(const V4& v) { return v == V4{}; }

std::optional<Request> ParseRequest(absl::Span<const uint8_t> buf) {
  if (buf.size() < kOptionsOff) return std::nullopt;
  const uint8_t* p = buf.data();
  if (p[kOpOff] != kBootRequest || p[kHtypeOff] != kHtypeEthernet ||
      p[kHlenOff] != kHlenEthernet)
    return std::nullopt;
  if (std::memcmp(p + kCookieOff, kCookie, sizeof(kCookie)) != 0)
    return std::nullopt;

  Request req{};
  req.header = p;
  req.ciaddr = Load4(p + kCiaddrOff);
  req.flags = wire::LoadBe16(p + kFlagsOff);
  req.max_message = kMinMaxMessage;
  bool have_type = false;
  bool have_client_id = false, have_max = false, have_fqdn = false;
  size_t off = kOptionsOff;
  while (true) {
    if (off >= buf.size()) return std::nullopt;  // no END option
    const uint8_t code = p[off];
    if (code == kOptPad) {
      ++off;
      continue;
    }
    if (code == kOptEnd) break;
    if (buf.size() - off < 2) return std::nullopt;
    const size_t len = p[off + 1];
    if (buf.size() - off - 2 < len) return std::nullopt;  // overruns
    const uint8_t* data = p + off + 2;
    off += 2 + len;
    // First instance wins; a later duplicate is ignored.
    switch (code) {
      case kOptMessageType:
        if (have_type) break;
        if (len != 1) return std::nullopt;
        if (data[0] < static_cast<uint8_t>(Dhcp4Type::kDiscover) ||
            data[0] > static_cast<uint8_t>(Dhcp4Type::kInform))
          return std::nullopt;
        req.type = static_cast<Dhcp4Type>(data[0]);
        have_type = true;
        break;
      case kOptRequestedIp:
        if (req.requested_ip) break;
        if (len != 4) return std::nullopt;
        req.requested_ip = Load4(data);
        break;
      case kOptServerId:
        if (req.server_id) break;
        if (len != 4) return std::nullopt;
        req.server_id = Load4(data);
        break;
      case kOptClientId:
        if (have_client_id) break;
        if (len < 2) return std::nullopt;  // RFC 2132 9.14: minimum 2
        req.client_id = absl::MakeConstSpan(data, len);
        have_client_id = true;
        break;
      case kOptMaxMessageSize:
        if (have_max) break;
        if (len != 2) return std::nullopt;
        // Values below 576 are illegal (RFC 2132 9.10); keep the minimum.
        req.max_message =
            std::max<size_t>(wire::LoadBe16(data), kMinMaxMessage);
        have_max = true;
        break;
      case kOptFqdn:
        // Only the flags matter to us (RFC 4702 2: flags, RCODE1, RCODE2,
        // name); a short option is ignored rather than fatal.
        if (have_fqdn) break;
        have_fqdn = true;
        req.fqdn_s = len >= 1 && (data[0] & kFqdnFlagS) != 0;
        break;
      default:
        break;
    }
  }
  if (!have_type) return std::nullopt;
  return req;
}

const char* TypeName(Dhcp4Type type) {
  switch (type) {
    case Dhcp4Type::kDiscover:
      return "DISCOVER";
    case Dhcp4Type::kOffer:
      return "OFFER";
    case Dhcp4Type::kRequest:
      return "REQUEST";
    case Dhcp4Type::kDecline:
      return "DECLINE";
    case Dhcp4Type::kAck:
      return "ACK";
    case Dhcp4Type::kNak:
      return "NAK";
    case Dhcp4Type::kRelease:
      return "RELEASE";
    case Dhcp4Type::kInform:
      return "INFORM";
  }
  return "?";
}

// Writes an option whose data is known to be at most 255 bytes.
void PutOption(Writer& w, uint8_t code, const uint8_t* data, size_t len) {
  w.U8(code);
  w.U8(static_cast<uint8_t>(len));
  w.Bytes(data, len);
}

// Bytes PutLongOption() will write for `len` bytes of data.
size_t LongOptionSize(size_t len) {
  const size_t chunks =
      len == 0 ? 1 : (len + kMaxOptionData - 1) / kMaxOptionData;
  return len + 2 * chunks;
}

// Writes `data` as consecutive instances of option `code`, 255 bytes each
// at most (RFC 3396 5).
void PutLongOption(Writer& w, uint8_t code, absl::Span<const uint8_t> data) {
  do {
    const size_t n = std::min(data.size(), kMaxOptionData);
    PutOption(w, code, data.data(), n);
    data.remove_prefix(n);
  } while (!data.empty());
}

V4 PrefixMask(int prefix_len) {
  prefix_len = std::clamp(prefix_len, 0, 32);
  const uint32_t mask = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  V4 v;
  wire::StoreBe32(v.data(), mask);
  return v;
}

// Writes the whole reply of `type` to `req`. Returns its length, or 0 if it
// does not fit in `out`.
size_t BuildReply(const Request& req, Dhcp4Type type, const Dhcp4Config& cfg,
                  absl::Span<uint8_t> out) {
  const bool nak = type == Dhcp4Type::kNak;
  const bool inform = req.type == Dhcp4Type::kInform;
  const V4 our_addr = AddrBytes(cfg.addr);
  const V4 server_id = AddrBytes(cfg.server_id);
  const uint8_t* h = req.header;
  Writer w(out);

  // Fixed header, RFC 2131 table 3.
  w.U8(kBootReply);
  w.U8(kHtypeEthernet);
  w.U8(kHlenEthernet);
  w.U8(0);                            // hops
  w.Bytes(h + kXidOff, 4);            // xid
  w.U16(0);                           // secs
  w.U16(req.flags & kFlagBroadcast);  // flags; reserved bits stay zero
  // ciaddr: echoed in ACKs only.
  if (type == Dhcp4Type::kAck)
    w.Bytes(req.ciaddr.data(), 4);
  else
    w.Zeros(4);
  // yiaddr: none for NAKs and for ACKs to INFORM.
  if (nak || inform)
    w.Zeros(4);
  else
    w.Bytes(our_addr.data(), 4);
  // siaddr
  if (nak)
    w.Zeros(4);
  else
    w.Bytes(server_id.data(), 4);
  w.Bytes(h + kGiaddrOff, 4);           // giaddr
  w.Bytes(h + kChaddrOff, kChaddrLen);  // chaddr
  w.Zeros(kSnameLen + kFileLen);        // sname, file: unused
  w.Bytes(kCookie, sizeof(kCookie));

  const uint8_t type_byte = static_cast<uint8_t>(type);
  PutOption(w, kOptMessageType, &type_byte, 1);
  PutOption(w, kOptServerId, server_id.data(), 4);
  if (!req.client_id.empty())
    PutOption(w, kOptClientId, req.client_id.data(), req.client_id.size());

  if (nak) {
    static constexpr char kText[] = "requested address is not available";
    PutOption(w, kOptMessage, reinterpret_cast<const uint8_t*>(kText),
              sizeof(kText) - 1);
  } else {
    if (!inform) {
      uint8_t lease[4];
      wire::StoreBe32(lease, cfg.lease_secs);
      PutOption(w, kOptLeaseTime, lease, 4);
    }
    const V4 mask = PrefixMask(cfg.prefix_len);
    PutOption(w, kOptSubnetMask, mask.data(), 4);
    if (cfg.router.IsV4()) PutOption(w, kOptRouter, cfg.router.bytes.data(), 4);

    size_t dns_count = 0;
    for (const IpAddr& a : cfg.dns) dns_count += a.IsV4() ? 1 : 0;
    dns_count = std::min(dns_count, kMaxOptionData / 4);
    if (dns_count > 0) {
      w.U8(kOptDns);
      w.U8(static_cast<uint8_t>(dns_count * 4));
      size_t written = 0;
      for (const IpAddr& a : cfg.dns) {
        if (!a.IsV4() || written == dns_count) continue;
        w.Bytes(a.bytes.data(), 4);
        ++written;
      }
    }
    if (cfg.mtu >= 68 && cfg.mtu <= 65535) {
      uint8_t mtu[2];
      wire::StoreBe16(mtu, static_cast<uint16_t>(cfg.mtu));
      PutOption(w, kOptMtu, mtu, 2);
    }

    // Optional extras, each only if the reply (with END) stays within what
    // the client said it accepts.
    const size_t limit = req.max_message - kIpUdpHeaders;
    auto fits = [&](size_t n) { return w.pos() + n + 1 <= limit; };
    const size_t host_len = cfg.hostname.size();
    if (host_len > 0 && host_len <= kMaxOptionData && fits(2 + host_len)) {
      PutOption(w, kOptHostname,
                reinterpret_cast<const uint8_t*>(cfg.hostname.data()),
                host_len);
    }
    const size_t fqdn_len = 3 + cfg.fqdn_wire.size();
    if (!cfg.fqdn_wire.empty() && fqdn_len <= kMaxOptionData &&
        fits(2 + fqdn_len)) {
      w.U8(kOptFqdn);
      w.U8(static_cast<uint8_t>(fqdn_len));
      w.U8(kFqdnFlags | (req.fqdn_s ? kFqdnFlagO : 0));
      w.U8(kFqdnRcode);
      w.U8(kFqdnRcode);
      w.Bytes(cfg.fqdn_wire.data(), cfg.fqdn_wire.size());
    }
    if (!cfg.search_wire.empty() &&
        fits(LongOptionSize(cfg.search_wire.size()))) {
      PutLongOption(w, kOptSearch, cfg.search_wire);
    }
  }
  w.U8(kOptEnd);
  if (w.pos() < kMinReply) w.Zeros(kMinReply - w.pos());
  return w.ok() ? w.pos() : 0;
}

// What to answer `req` with (RFC 2131 4.3), nullopt for nothing.
std::optional<Dhcp4Type> ReplyType(const Request& req, const Dhcp4Config& cfg) {
  switch (req.type) {
    case Dhcp4Type::kDiscover:
      return Dhcp4Type::kOffer;
    case Dhcp4Type::kRequest: {
      // 4.3.2: a server id names the server the client selected.
      if (req.server_id && *req.server_id != AddrBytes(cfg.server_id)) {
        LOG_TRACE("dhcp: REQUEST for another server, not answering");
        return std::nullopt;
      }
      // SELECTING and INIT-REBOOT carry option 50; RENEWING and REBINDING
      // carry ciaddr instead.
      const V4 wanted = req.requested_ip ? *req.requested_ip : req.ciaddr;
      return wanted == AddrBytes(cfg.addr) ? Dhcp4Type::kAck : Dhcp4Type::kNak;
    }
    case Dhcp4Type::kInform:
      return Dhcp4Type::kAck;
    case Dhcp4Type::kDecline:
    case Dhcp4Type::kRelease:
      LOG_TRACE("dhcp: %s, not answering", TypeName(req.type));
      return std::nullopt;
    case Dhcp4Type::kOffer:
    case Dhcp4Type::kAck:
    case Dhcp4Type::kNak:
      return std::nullopt;  // server messages
  }
  return std::nullopt;
}

}  // namespace

void Prepare(Dhcp4Config& cfg) {
  cfg.search_wire = EncodeDnsNames(cfg.search);
  cfg.fqdn_wire.clear();
  if (!cfg.fqdn.empty() && !AppendDnsName(cfg.fqdn, cfg.fqdn_wire))
    LOG_WARN("dhcp: invalid FQDN \"%s\", not sent", cfg.fqdn);
  // Option 81 carries three bytes before the name, in at most 255.
  if (cfg.fqdn_wire.size() + 3 > kMaxOptionData) {
    LOG_WARN("dhcp: FQDN \"%s\" too long for option 81, not sent", cfg.fqdn);
    cfg.fqdn_wire.clear();
  }
  cfg.prepared = true;
}

std::optional<Dhcp4Reply> HandleDhcp4(absl::Span<const uint8_t> request,
                                      const Dhcp4Config& cfg,
                                      absl::Span<uint8_t> out) {
  if (!cfg.prepared) {
    LOG_ERROR("dhcp: configuration used before Prepare(), not answering");
    return std::nullopt;
  }
  if (!cfg.addr.IsV4() || !cfg.server_id.IsV4()) return std::nullopt;
  const std::optional<Request> req = ParseRequest(request);
  if (!req) {
    LOG_TRACE("dhcp: dropping malformed message, %zu bytes", request.size());
    return std::nullopt;
  }

  const std::optional<Dhcp4Type> reply_type = ReplyType(*req, cfg);
  if (!reply_type) return std::nullopt;
  const V4 our_addr = AddrBytes(cfg.addr);

  Dhcp4Reply reply;
  reply.type = *reply_type;
  reply.len = BuildReply(*req, *reply_type, cfg, out);
  if (reply.len == 0) {
    LOG_TRACE("dhcp: reply does not fit in %zu bytes", out.size());
    return std::nullopt;
  }

  // Destination, RFC 2131 4.1 (giaddr is ignored: no relay on a tap link).
  const bool inform = req->type == Dhcp4Type::kInform;
  reply.dst.family = AF_INET;
  if (*reply_type == Dhcp4Type::kNak ||
      (IsZero(req->ciaddr) && ((req->flags & kFlagBroadcast) != 0 || inform))) {
    reply.broadcast = true;
    std::memset(reply.dst.bytes.data(), 0xff, 4);
    reply.dst_mac.bytes.fill(0xff);
  } else {
    const V4& to = IsZero(req->ciaddr) ? our_addr : req->ciaddr;
    std::memcpy(reply.dst.bytes.data(), to.data(), 4);
    std::memcpy(reply.dst_mac.bytes.data(), req->header + kChaddrOff, 6);
  }
  LOG_TRACE("dhcp: %s -> %s, %zu bytes%s", TypeName(req->type),
            TypeName(*reply_type), reply.len,
            reply.broadcast ? ", broadcast" : "");
  return reply;
}

}  // namespace pasta::dhcp
