#include "ndp/ndp.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

namespace pasta::ndp {
namespace {

using wire::StoreBe16;
using wire::StoreBe32;

// ICMPv6 types (RFC 4861 section 4).
constexpr uint8_t kTypeRouterSolicit = 133;
constexpr uint8_t kTypeRouterAdvert = 134;
constexpr uint8_t kTypeNeighborSolicit = 135;
constexpr uint8_t kTypeNeighborAdvert = 136;

// Fixed parts: type, code, checksum, then the message body.
constexpr size_t kChecksumOff = 2;
constexpr size_t kRsLen = 8;   // 4.1: type, code, checksum, reserved
constexpr size_t kRaLen = 16;  // 4.2: + hop limit, flags, lifetime, timers
constexpr size_t kNsLen = 24;  // 4.3: + reserved, target address
constexpr size_t kTargetOff = 8;

// RA fixed-part fields (4.2).
constexpr size_t kRaHopLimitOff = 4;
constexpr size_t kRaFlagsOff = 5;
constexpr size_t kRaLifetimeOff = 6;
constexpr uint8_t kRaFlagManaged = 0x80;
constexpr uint8_t kRaFlagOther = 0x40;

// NA flags (4.4), first byte after the checksum.
constexpr size_t kNaFlagsOff = 4;
constexpr uint8_t kNaFlagRouter = 0x80;
constexpr uint8_t kNaFlagSolicited = 0x40;
constexpr uint8_t kNaFlagOverride = 0x20;

// Options (4.6; RFC 8106 5.1, 5.2). Lengths are in units of 8 octets.
constexpr uint8_t kOptSourceLla = 1;
constexpr uint8_t kOptTargetLla = 2;
constexpr uint8_t kOptPrefix = 3;
constexpr uint8_t kOptMtu = 5;
constexpr uint8_t kOptRdnss = 25;
constexpr uint8_t kOptDnssl = 31;
constexpr size_t kOptUnit = 8;
constexpr size_t kLlaOptLen = 8;
constexpr size_t kPrefixOptLen = 32;
constexpr size_t kMtuOptLen = 8;
constexpr size_t kDnsOptHeaderLen = 8;  // type, length, reserved, lifetime
constexpr size_t kMaxOptLen = 255 * kOptUnit;
// RDNSS length is 1 + 2 * addresses, in a byte.
constexpr size_t kMaxRdnss = 127;
constexpr uint8_t kPrefixFlagOnLink = 0x80;
constexpr uint8_t kPrefixFlagAutonomous = 0x40;

constexpr int kMinMtuOption = 1280;
constexpr int kMaxMtuOption = 65535;

// Domain names (RFC 1035 section 3.1): labels of 1..63 octets, 255 in all.
constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxName = 255;

constexpr IpAddr AllNodes() {
  IpAddr a;
  a.family = AF_INET6;
  a.bytes[0] = 0xff;
  a.bytes[1] = 0x02;
  a.bytes[15] = 0x01;
  return a;
}
// 33:33 followed by the low 32 bits of ff02::1 (RFC 2464 section 7).
constexpr MacAddr kAllNodesMac{{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}};

bool IsUnspecified(const IpAddr& a) {
  return a.bytes == std::array<uint8_t, 16>{};
}
bool IsMulticast(const IpAddr& a) { return a.bytes[0] == 0xff; }

IpAddr OurLinkLocal(const NdpConfig& cfg) {
  return cfg.our_ll.IsV6() ? cfg.our_ll : LinkLocalFromMac(cfg.our_mac);
}

uint32_t PseudoSum(const IpAddr& src, const IpAddr& dst, size_t len) {
  return wire::PseudoSum6(src.bytes.data(), dst.bytes.data(), kIpProtoIcmpv6,
                          static_cast<uint32_t>(len));
}

// RFC 4443 section 2.3: a correct message sums (with its checksum field and
// the pseudo-header) to all ones.
bool ChecksumOk(const IpAddr& src, const IpAddr& dst,
                absl::Span<const uint8_t> msg) {
  return wire::Finish(wire::SumBytes(msg, PseudoSum(src, dst, msg.size()))) ==
         0;
}

// Fills in the checksum of the `len`-byte message at the start of `out`.
NdpReply FinishReply(const IpAddr& src, const IpAddr& dst,
                     const MacAddr& dst_mac, absl::Span<uint8_t> out,
                     size_t len) {
  StoreBe16(out.data() + kChecksumOff, 0);
  uint32_t sum = wire::SumBytes(absl::MakeConstSpan(out.data(), len),
                                PseudoSum(src, dst, len));
  StoreBe16(out.data() + kChecksumOff, wire::Finish(sum));
  NdpReply r;
  r.src = src;
  r.dst = dst;
  r.dst_mac = dst_mac;
  r.len = len;
  return r;
}

struct Options {
  bool has_source_lla = false;
  MacAddr source_lla;
};

// Walks the options after the fixed part (4.6): every option must have a
// non-zero length and end within the message (6.1.1, 7.1.1). Unknown options
// are skipped (6.1.1: "silently ignored"). nullopt if malformed.
std::optional<Options> ParseOptions(absl::Span<const uint8_t> opts) {
  Options o;
  while (!opts.empty()) {
    if (opts.size() < 2) return std::nullopt;
    size_t len = opts[1] * kOptUnit;
    if (len == 0 || len > opts.size()) return std::nullopt;
    // The Ethernet link-layer address fills the first 6 of 6 + 2 bytes
    // (RFC 2464 section 6); the first such option wins.
    if (opts[0] == kOptSourceLla && !o.has_source_lla) {
      o.has_source_lla = true;
      std::memcpy(o.source_lla.bytes.data(), opts.data() + 2, 6);
    }
    opts.remove_prefix(len);
  }
  return o;
}

// Encodes `name` ("a.b" or "a.b.") as a DNS name (length-prefixed labels and
// a zero octet) into `out` when non-null. Returns the encoded length, or 0 if
// `name` is not a valid non-root name.
size_t EncodeName(std::string_view name, uint8_t* out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return 0;
  size_t n = 0;
  for (;;) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabel) return 0;
    if (n + 1 + label.size() + 1 > kMaxName) return 0;
    if (out != nullptr) {
      out[n] = static_cast<uint8_t>(label.size());
      std::memcpy(out + n + 1, label.data(), label.size());
    }
    n += 1 + label.size();
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  if (out != nullptr) out[n] = 0;
  return n + 1;
}

size_t RoundUp8(size_t n) { return (n + kOptUnit - 1) / kOptUnit * kOptUnit; }

// Writes the RA for `cfg` into `p` (zero-filled beforehand by the caller),
// or, with `p` null, only measures it. Returns its length. Both passes take
// the same branches, so the measurement is exact.
size_t EmitRouterAdvert(const NdpConfig& cfg, uint8_t* p) {
  if (p != nullptr) {
    p[0] = kTypeRouterAdvert;
    p[kRaHopLimitOff] = cfg.cur_hop_limit;
    p[kRaFlagsOff] = static_cast<uint8_t>((cfg.managed ? kRaFlagManaged : 0) |
                                          (cfg.other ? kRaFlagOther : 0));
    StoreBe16(p + kRaLifetimeOff, cfg.router_lifetime);
    // Reachable Time and Retrans Timer: 0, unspecified.
  }
  size_t off = kRaLen;

  // 4.6.1 source link-layer address.
  if (p != nullptr) {
    p[off] = kOptSourceLla;
    p[off + 1] = kLlaOptLen / kOptUnit;
    std::memcpy(p + off + 2, cfg.our_mac.bytes.data(), 6);
  }
  off += kLlaOptLen;

  // 4.6.2 prefix information.
  for (const Prefix& pfx : cfg.prefixes) {
    if (!pfx.prefix.IsV6() || pfx.len > 128) continue;
    if (p != nullptr) {
      uint8_t* o = p + off;
      o[0] = kOptPrefix;
      o[1] = kPrefixOptLen / kOptUnit;
      o[2] = pfx.len;
      o[3] = static_cast<uint8_t>(kPrefixFlagOnLink |
                                  (pfx.len == 64 ? kPrefixFlagAutonomous : 0));
      StoreBe32(o + 4, pfx.valid_lifetime);
      StoreBe32(o + 8, pfx.preferred_lifetime);
      // o + 12: Reserved2. The prefix, bits past its length cleared.
      uint8_t* a = o + 16;
      std::memcpy(a, pfx.prefix.bytes.data(), 16);
      for (size_t bit = pfx.len; bit < 128; bit++) {
        a[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      }
    }
    off += kPrefixOptLen;
  }

  // 4.6.4 MTU.
  if (cfg.mtu >= kMinMtuOption && cfg.mtu <= kMaxMtuOption) {
    if (p != nullptr) {
      p[off] = kOptMtu;
      p[off + 1] = kMtuOptLen / kOptUnit;
      StoreBe32(p + off + 4, static_cast<uint32_t>(cfg.mtu));
    }
    off += kMtuOptLen;
  }

  // RFC 8106 5.1 RDNSS: IPv6 addresses only, at most what the length byte
  // can describe.
  size_t servers = 0;
  for (const IpAddr& a : cfg.rdnss) {
    if (a.IsV6() && servers < kMaxRdnss) servers++;
  }
  if (servers > 0) {
    size_t len = kDnsOptHeaderLen + servers * 16;
    if (p != nullptr) {
      p[off] = kOptRdnss;
      p[off + 1] = static_cast<uint8_t>(len / kOptUnit);
      StoreBe32(p + off + 4, cfg.dns_lifetime);
      size_t at = off + kDnsOptHeaderLen;
      size_t written = 0;
      for (const IpAddr& a : cfg.rdnss) {
        if (!a.IsV6() || written == servers) continue;
        std::memcpy(p + at, a.bytes.data(), 16);
        at += 16;
        written++;
      }
    }
    off += len;
  }

  // RFC 8106 5.2 DNSSL: valid names, in order, while the option length byte
  // can describe them; zero padding to a multiple of 8.
  size_t names_len = 0;
  for (const std::string& name : cfg.dnssl) {
    size_t n = EncodeName(name, nullptr);
    if (n == 0) continue;
    if (RoundUp8(kDnsOptHeaderLen + names_len + n) > kMaxOptLen) break;
    if (p != nullptr) {
      EncodeName(name, p + off + kDnsOptHeaderLen + names_len);
    }
    names_len += n;
  }
  if (names_len > 0) {
    size_t len = RoundUp8(kDnsOptHeaderLen + names_len);
    if (p != nullptr) {
      p[off] = kOptDnssl;
      p[off + 1] = static_cast<uint8_t>(len / kOptUnit);
      StoreBe32(p + off + 4, cfg.dns_lifetime);
    }
    off += len;
  }
  return off;
}

std::optional<NdpReply> RouterAdvertTo(const NdpConfig& cfg, const IpAddr& dst,
                                       const MacAddr& dst_mac,
                                       absl::Span<uint8_t> out) {
  if (!cfg.ra) return std::nullopt;
  size_t len = EmitRouterAdvert(cfg, nullptr);
  if (len > out.size()) return std::nullopt;
  std::memset(out.data(), 0, len);
  EmitRouterAdvert(cfg, out.data());
  return FinishReply(OurLinkLocal(cfg), dst, dst_mac, out, len);
}

// RFC 4861 section 6.1.1, then 6.2.6: answer to the solicitor, or to all
// nodes if it has no address yet.
std::optional<NdpReply> HandleRouterSolicit(const IpAddr& src,
                                            const IpAddr& dst,
                                            const MacAddr& frame_src_mac,
                                            absl::Span<const uint8_t> msg,
                                            const NdpConfig& cfg,
                                            absl::Span<uint8_t> out) {
  if (msg.size() < kRsLen) return std::nullopt;
  if (!ChecksumOk(src, dst, msg)) return std::nullopt;
  std::optional<Options> opts = ParseOptions(msg.subspan(kRsLen));
  if (!opts) return std::nullopt;
  if (IsUnspecified(src)) {
    if (opts->has_source_lla) return std::nullopt;
    return RouterAdvertTo(cfg, AllNodes(), kAllNodesMac, out);
  }
  return RouterAdvertTo(
      cfg, src, opts->has_source_lla ? opts->source_lla : frame_src_mac, out);
}

// RFC 4861 section 7.1.1, then 7.2.4.
std::optional<NdpReply> HandleNeighborSolicit(const IpAddr& src,
                                              const IpAddr& dst,
                                              const MacAddr& frame_src_mac,
                                              absl::Span<const uint8_t> msg,
                                              const NdpConfig& cfg,
                                              absl::Span<uint8_t> out) {
  if (msg.size() < kNsLen) return std::nullopt;
  if (!ChecksumOk(src, dst, msg)) return std::nullopt;
  IpAddr target;
  target.family = AF_INET6;
  std::memcpy(target.bytes.data(), msg.data() + kTargetOff, 16);
  if (IsMulticast(target) || IsUnspecified(target)) return std::nullopt;
  std::optional<Options> opts = ParseOptions(msg.subspan(kNsLen));
  if (!opts) return std::nullopt;
  // Duplicate address detection: never answered (we would claim the address
  // the namespace is trying to take).
  if (IsUnspecified(src)) return std::nullopt;
  for (const IpAddr& a : cfg.ns_addrs) {
    if (a.IsV6() && a.bytes == target.bytes) return std::nullopt;
  }
  if (out.size() < kNeighborAdvertLen) return std::nullopt;

  uint8_t* p = out.data();
  std::memset(p, 0, kNeighborAdvertLen);
  p[0] = kTypeNeighborAdvert;
  p[kNaFlagsOff] = kNaFlagRouter | kNaFlagSolicited | kNaFlagOverride;
  std::memcpy(p + kTargetOff, target.bytes.data(), 16);
  p[kNsLen] = kOptTargetLla;
  p[kNsLen + 1] = kLlaOptLen / kOptUnit;
  const MacAddr* mac =
      cfg.neighbours != nullptr ? cfg.neighbours->Find(target) : nullptr;
  if (mac == nullptr) mac = &cfg.our_mac;
  std::memcpy(p + kNsLen + 2, mac->bytes.data(), 6);
  return FinishReply(OurLinkLocal(cfg), src,
                     opts->has_source_lla ? opts->source_lla : frame_src_mac,
                     out, kNeighborAdvertLen);
}

}  // namespace

absl::Status ValidateNdpConfig(const NdpConfig& cfg) {
  for (const Prefix& pfx : cfg.prefixes) {
    if (!pfx.prefix.IsV6()) {
      return absl::InvalidArgumentError("NDP: advertised prefix is not IPv6");
    }
    if (pfx.len > 128) {
      return absl::InvalidArgumentError(
          absl::StrCat("NDP: prefix length ", pfx.len, " over 128"));
    }
  }
  for (const IpAddr& a : cfg.rdnss) {
    if (!a.IsV6()) {
      return absl::InvalidArgumentError("NDP: RDNSS address is not IPv6");
    }
  }
  if (cfg.rdnss.size() > kMaxRdnss) {
    return absl::InvalidArgumentError("NDP: too many RDNSS addresses");
  }
  for (const std::string& name : cfg.dnssl) {
    if (EncodeName(name, nullptr) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("NDP: invalid DNSSL search domain \"", name, "\""));
    }
  }
  size_t len = EmitRouterAdvert(cfg, nullptr);
  if (len > kMaxNdpReplyLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("NDP: router advertisement of ", len, " bytes exceeds ",
                     kMaxNdpReplyLen));
  }
  return absl::OkStatus();
}

std::optional<NdpReply> HandleNdp(const IpAddr& src, const IpAddr& dst,
                                  uint8_t hop_limit,
                                  const MacAddr& frame_src_mac,
                                  absl::Span<const uint8_t> icmp6,
                                  const NdpConfig& cfg,
                                  absl::Span<uint8_t> out) {
  if (!src.IsV6() || !dst.IsV6() || IsMulticast(src)) return std::nullopt;
  // 6.1.1, 7.1.1: only messages that cannot have been forwarded.
  if (hop_limit != kNdpHopLimit) return std::nullopt;
  if (icmp6.size() < 4 || icmp6[1] != 0) return std::nullopt;  // code 0
  if (icmp6[0] == kTypeNeighborSolicit) {
    return HandleNeighborSolicit(src, dst, frame_src_mac, icmp6, cfg, out);
  }
  if (icmp6[0] == kTypeRouterSolicit) {
    return HandleRouterSolicit(src, dst, frame_src_mac, icmp6, cfg, out);
  }
  return std::nullopt;
}

std::optional<NdpReply> BuildRouterAdvert(const NdpConfig& cfg,
                                          absl::Span<uint8_t> out) {
  return RouterAdvertTo(cfg, AllNodes(), kAllNodesMac, out);
}

Duration RouterAdvertInterval(const NdpConfig& cfg, uint64_t random) {
  constexpr int64_t kMaxIntervalS = 600;  // MaxRtrAdvInterval's default
  constexpr int64_t kMinDelayS = 3;       // MIN_DELAY_BETWEEN_RAS
  // Advertise again before the router lifetime runs out; a lifetime of 0
  // (not a default router) sets no bound.
  int64_t max_s = kMaxIntervalS;
  if (cfg.router_lifetime > 0) {
    max_s = std::min<int64_t>(max_s, int64_t{cfg.router_lifetime} - 1);
  }
  max_s = std::max(max_s, kMinDelayS);
  const int64_t min_s = std::max(max_s / 3, kMinDelayS);
  const int64_t span_ms = (max_s - min_s) * 1000;
  const int64_t pick_ms =
      span_ms > 0 ? static_cast<int64_t>(random % static_cast<uint64_t>(span_ms))
                  : 0;
  return Seconds(min_s) + Milliseconds(pick_ms);
}

std::optional<NdpReply> BuildUnsolicitedNa(const NdpConfig& cfg,
                                           const IpAddr& target,
                                           const MacAddr& mac,
                                           absl::Span<uint8_t> out) {
  if (!target.IsV6() || out.size() < kNeighborAdvertLen) return std::nullopt;
  uint8_t* p = out.data();
  std::memset(p, 0, kNeighborAdvertLen);
  p[0] = kTypeNeighborAdvert;
  p[kNaFlagsOff] = kNaFlagRouter | kNaFlagOverride;
  std::memcpy(p + kTargetOff, target.bytes.data(), 16);
  p[kNsLen] = kOptTargetLla;
  p[kNsLen + 1] = kLlaOptLen / kOptUnit;
  std::memcpy(p + kNsLen + 2, mac.bytes.data(), 6);
  return FinishReply(OurLinkLocal(cfg), AllNodes(), kAllNodesMac, out,
                     kNeighborAdvertLen);
}

size_t RouterAdvertLen(const NdpConfig& cfg) {
  return EmitRouterAdvert(cfg, nullptr);
}

IpAddr LinkLocalFromMac(const MacAddr& mac) {
  IpAddr a;
  a.family = AF_INET6;
  a.bytes[0] = 0xfe;
  a.bytes[1] = 0x80;
  a.bytes[8] = mac.bytes[0] ^ 0x02;  // universal/local bit inverted
  a.bytes[9] = mac.bytes[1];
  a.bytes[10] = mac.bytes[2];
  a.bytes[11] = 0xff;
  a.bytes[12] = 0xfe;
  a.bytes[13] = mac.bytes[3];
  a.bytes[14] = mac.bytes[4];
  a.bytes[15] = mac.bytes[5];
  return a;
}

}  // namespace pasta::ndp
