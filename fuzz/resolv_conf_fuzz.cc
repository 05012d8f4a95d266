// libFuzzer target for the host's resolver configuration and where it ends
// up: arbitrary bytes as /etc/resolv.conf, parsed, its search list encoded
// as DNS names, and the result handed out as it would be (DHCPv4 options 6
// and 119, DHCPv6 DNS servers and domain list, RDNSS and DNSSL in a router
// advertisement). Checks that names encode to valid wire names and that
// every reply built from them is a well-formed option list.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "dhcp/dhcp.h"
#include "dhcp/dhcpv6.h"
#include "dhcp/dns_name.h"
#include "dhcp/resolv_conf.h"
#include "fuzz_util.h"
#include "ndp/ndp.h"
#include "wire/bytes.h"

namespace {

using pasta::IpAddr;

void Require(bool ok) {
  if (!ok) std::abort();
}

// A sequence of wire names: labels of 1..63 bytes, each name ending in a
// zero byte, at most 255 bytes per name.
void CheckNames(const std::vector<uint8_t>& w) {
  size_t i = 0;
  while (i < w.size()) {
    const size_t start = i;
    while (w[i] != 0) {
      Require(w[i] <= 63);
      i += 1 + w[i];
      Require(i < w.size());
    }
    ++i;
    Require(i - start <= 255 && i - start >= 2);
  }
}

// A BOOTP DISCOVER from 02:00:00:00:00:0e.
std::vector<uint8_t> Discover() {
  std::vector<uint8_t> m(240, 0);
  m[0] = 1, m[1] = 1, m[2] = 6;
  m[4] = 0xde, m[5] = 0xad;
  m[28] = 2, m[33] = 0x0e;
  m[236] = 0x63, m[237] = 0x82, m[238] = 0x53, m[239] = 0x63;
  for (uint8_t b : {53, 1, 1, 55, 3, 1, 6, 119, 255}) m.push_back(b);
  return m;
}

// An INFORMATION-REQUEST with a client identifier.
std::vector<uint8_t> InformationRequest() {
  return {11, 1, 2, 3, 0,    1, 0, 10, 0, 3, 0,  1, 2,
          0,  0, 0, 0, 0x0e, 0, 6, 0,  4, 0, 23, 0, 24};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pasta::fuzz::QuietLogs();  // no skip warnings
  if (size > 16384) return 0;
  const pasta::dhcp::ResolvConf rc = pasta::dhcp::ParseResolvConf(
      std::string_view(reinterpret_cast<const char*>(data), size));
  for (const IpAddr& a : rc.nameservers)
    Require(a.family == AF_INET || a.family == AF_INET6);
  for (const std::string& s : rc.search) Require(!s.empty() && s != ".");
  const std::vector<uint8_t> wire = pasta::dhcp::EncodeDnsNames(rc.search);
  CheckNames(wire);

  std::vector<IpAddr> v4, v6;
  for (const IpAddr& a : rc.nameservers)
    (a.family == AF_INET ? v4 : v6).push_back(a);
  static uint8_t out[65536];

  // DHCPv4: options after the cookie must tile the reply up to END.
  pasta::dhcp::Dhcp4Config c4;
  c4.addr = *pasta::ParseIp("198.51.100.2");
  c4.router = c4.server_id = *pasta::ParseIp("198.51.100.1");
  c4.dns = rc.nameservers;
  c4.search = rc.search;
  c4.mtu = 1500;
  pasta::dhcp::Prepare(c4);
  CheckNames(c4.search_wire);
  static const std::vector<uint8_t> discover = Discover();
  const auto r4 = pasta::dhcp::HandleDhcp4(discover, c4, absl::MakeSpan(out));
  Require(r4.has_value());
  size_t i = 240;
  while (true) {
    Require(i < r4->len);
    if (out[i] == 255) break;
    if (out[i] == 0) {
      ++i;
      continue;
    }
    Require(i + 1 < r4->len);
    if (out[i] == 6) Require(out[i + 1] % 4 == 0);
    i += 2 + out[i + 1];
  }

  // DHCPv6: options of 4 + length bytes tile the reply.
  pasta::dhcp::Dhcp6Config c6;
  c6.addr = *pasta::ParseIp("2001:db8:1::2");
  c6.dns = rc.nameservers;
  c6.search = rc.search;
  c6.our_mac = *pasta::ParseMac("9a:55:9a:55:9a:55");
  pasta::dhcp::Prepare(c6);
  CheckNames(c6.search_wire);
  static const std::vector<uint8_t> info = InformationRequest();
  const size_t n6 = pasta::dhcp::HandleDhcp6(info, c6, absl::MakeSpan(out));
  Require(n6 >= 4);
  for (i = 4; i < n6;) {
    Require(i + 4 <= n6);
    const size_t len = pasta::wire::LoadBe16(out + i + 2);
    if (pasta::wire::LoadBe16(out + i) == 23) Require(len % 16 == 0);
    i += 4 + len;
  }
  Require(i == n6);

  // Router advertisements: when the config is accepted, the RA fits and
  // its options (length in units of 8 bytes, never 0) tile it.
  pasta::ndp::NdpConfig nc;
  nc.our_mac = c6.our_mac;
  nc.prefixes = {pasta::ndp::Prefix{*pasta::ParseIp("2001:db8:1::"), 64}};
  nc.mtu = 1500;
  nc.rdnss = v6;
  nc.dnssl = rc.search;
  if (pasta::ndp::ValidateNdpConfig(nc).ok()) {
    static uint8_t ra[pasta::ndp::kMaxNdpReplyLen];
    const auto adv = pasta::ndp::BuildRouterAdvert(nc, absl::MakeSpan(ra));
    Require(adv.has_value() && adv->len == pasta::ndp::RouterAdvertLen(nc));
    for (i = 16; i < adv->len;) {
      Require(i + 2 <= adv->len && ra[i + 1] != 0);
      i += ra[i + 1] * 8u;
    }
    Require(i == adv->len);
  }
  return 0;
}
