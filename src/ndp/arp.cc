#include "ndp/arp.h"

#include <array>
#include <cstring>

#include "wire/bytes.h"

namespace pasta::ndp {
namespace {

using wire::LoadBe16;
using wire::StoreBe16;

// RFC 826 packet layout for Ethernet (hlen 6) and IPv4 (plen 4).
constexpr size_t kHtypeOff = 0;
constexpr size_t kPtypeOff = 2;
constexpr size_t kHlenOff = 4;
constexpr size_t kPlenOff = 5;
constexpr size_t kOpOff = 6;
constexpr size_t kShaOff = 8;
constexpr size_t kSpaOff = 14;
constexpr size_t kThaOff = 18;
constexpr size_t kTpaOff = 24;

constexpr uint16_t kHtypeEthernet = 1;
constexpr uint16_t kPtypeIpv4 = 0x0800;
constexpr uint8_t kHlenEthernet = 6;
constexpr uint8_t kPlenIpv4 = 4;
constexpr uint16_t kOpRequest = 1;
constexpr uint16_t kOpReply = 2;

}  // namespace

size_t HandleArp(absl::Span<const uint8_t> arp, const ArpConfig& cfg,
                 absl::Span<uint8_t> out) {
  if (arp.size() < kArpLen) return 0;
  const uint8_t* p = arp.data();
  if (LoadBe16(p + kHtypeOff) != kHtypeEthernet) return 0;
  if (LoadBe16(p + kPtypeOff) != kPtypeIpv4) return 0;
  if (p[kHlenOff] != kHlenEthernet || p[kPlenOff] != kPlenIpv4) return 0;
  if (LoadBe16(p + kOpOff) != kOpRequest) return 0;

  const uint8_t* sha = p + kShaOff;
  const uint8_t* spa = p + kSpaOff;
  const uint8_t* tpa = p + kTpaOff;
  // Gratuitous ARP / announcement (RFC 5227 section 2.3).
  if (std::memcmp(spa, tpa, kPlenIpv4) == 0) return 0;
  // Probe (RFC 5227 section 2.1.1): sender IP all zeroes.
  static constexpr std::array<uint8_t, 4> kZero{};
  if (std::memcmp(spa, kZero.data(), kPlenIpv4) == 0) return 0;
  // The namespace's own address: duplicate address detection.
  if (cfg.ns_addr.IsV4() &&
      std::memcmp(tpa, cfg.ns_addr.bytes.data(), kPlenIpv4) == 0) {
    return 0;
  }
  if (out.size() < kArpLen) return 0;

  uint8_t* r = out.data();
  StoreBe16(r + kHtypeOff, kHtypeEthernet);
  StoreBe16(r + kPtypeOff, kPtypeIpv4);
  r[kHlenOff] = kHlenEthernet;
  r[kPlenOff] = kPlenIpv4;
  StoreBe16(r + kOpOff, kOpReply);
  const MacAddr* mac =
      cfg.neighbours != nullptr ? cfg.neighbours->Find(AF_INET, tpa) : nullptr;
  if (mac == nullptr) mac = &cfg.our_mac;
  std::memcpy(r + kShaOff, mac->bytes.data(), kHlenEthernet);
  std::memcpy(r + kSpaOff, tpa, kPlenIpv4);
  std::memcpy(r + kThaOff, sha, kHlenEthernet);
  std::memcpy(r + kTpaOff, spa, kPlenIpv4);
  return kArpLen;
}

size_t BuildArpAnnounce(const IpAddr& addr, const MacAddr& mac,
                        absl::Span<uint8_t> out) {
  if (!addr.IsV4() || out.size() < kArpLen) return 0;
  uint8_t* r = out.data();
  std::memset(r, 0, kArpLen);
  StoreBe16(r + kHtypeOff, kHtypeEthernet);
  StoreBe16(r + kPtypeOff, kPtypeIpv4);
  r[kHlenOff] = kHlenEthernet;
  r[kPlenOff] = kPlenIpv4;
  StoreBe16(r + kOpOff, kOpRequest);
  std::memcpy(r + kShaOff, mac.bytes.data(), kHlenEthernet);
  std::memcpy(r + kSpaOff, addr.bytes.data(), kPlenIpv4);
  std::memcpy(r + kTpaOff, addr.bytes.data(), kPlenIpv4);
  return kArpLen;
}

}  // namespace pasta::ndp
