// libFuzzer target for the ARP and NDP responders: arbitrary bytes as an ARP
// packet and as an ICMPv6 message from the namespace, against a fixed config.
//
// The first input byte steers: bit 0 sends the message from :: rather than a
// link-local address, bit 1 fixes up the ICMPv6 checksum first (otherwise
// almost every input would stop at the checksum check), bit 2 sends it to
// ff02::2 rather than a solicited-node group. The rest is the packet.
// Checks that replies fit the output buffer and carry a valid checksum.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ndp/arp.h"
#include "ndp/ndp.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

namespace {

using pasta::IpAddr;
using pasta::MacAddr;
using pasta::ndp::ArpConfig;
using pasta::ndp::NdpConfig;

IpAddr V6(std::array<uint8_t, 16> bytes) {
  IpAddr a;
  a.family = AF_INET6;
  a.bytes = bytes;
  return a;
}

const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
const MacAddr kNsMac{{0x2e, 0x11, 0x22, 0x33, 0x44, 0x55}};
const IpAddr kNsLl = V6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x2c, 0x11, 0x22, 0xff,
                         0xfe, 0x33, 0x44, 0x55});
const IpAddr kUnspecified = V6({});
const IpAddr kSolicited =
    V6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1});
const IpAddr kAllRouters =
    V6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});

const NdpConfig& Config() {
  static const NdpConfig* cfg = [] {
    auto* c = new NdpConfig;
    c->our_mac = kOurMac;
    c->ns_addrs = {kNsLl};
    c->prefixes = {pasta::ndp::Prefix{V6({0x20, 0x01, 0x0d, 0xb8, 0, 1}), 64}};
    c->mtu = 65520;
    c->rdnss = {
        V6({0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53})};
    c->dnssl = {"example.org", "corp.example.com."};
    c->other = true;
    return c;
  }();
  return *cfg;
}

uint16_t Sum(const IpAddr& src, const IpAddr& dst, const uint8_t* p, size_t n) {
  uint32_t sum = pasta::wire::PseudoSum6(src.bytes.data(), dst.bytes.data(), 58,
                                         static_cast<uint32_t>(n));
  return pasta::wire::Finish(
      pasta::wire::SumBytes(absl::MakeConstSpan(p, n), sum));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const uint8_t* pkt = data + 1;
  const size_t len = size - 1;

  static std::array<uint8_t, pasta::ndp::kMaxNdpReplyLen> out;

  ArpConfig arp_cfg{kOurMac, {}};
  arp_cfg.ns_addr.family = AF_INET;
  arp_cfg.ns_addr.bytes = {192, 0, 2, 10};
  size_t n = pasta::ndp::HandleArp(absl::MakeConstSpan(pkt, len), arp_cfg,
                                   absl::MakeSpan(out));
  if (n != 0 && n != pasta::ndp::kArpLen) std::abort();

  static std::array<uint8_t, 65536> msg;
  std::memcpy(msg.data(), pkt, len < msg.size() ? len : msg.size());
  const size_t msg_len = len < msg.size() ? len : msg.size();
  const IpAddr& src = (flags & 1) ? kUnspecified : kNsLl;
  const IpAddr& dst = (flags & 4) ? kAllRouters : kSolicited;
  if ((flags & 2) && msg_len >= 4) {
    pasta::wire::StoreBe16(msg.data() + 2, 0);
    pasta::wire::StoreBe16(msg.data() + 2, Sum(src, dst, msg.data(), msg_len));
  }
  auto reply = pasta::ndp::HandleNdp(src, dst, 255, kNsMac,
                                     absl::MakeConstSpan(msg.data(), msg_len),
                                     Config(), absl::MakeSpan(out));
  if (reply) {
    if (reply->len > out.size()) std::abort();
    if (Sum(reply->src, reply->dst, out.data(), reply->len) != 0) std::abort();
  }
  return 0;
}
