// libFuzzer target: arbitrary bytes as a DHCPv4 and as a DHCPv6 request.
// Both handlers must neither crash nor touch memory outside the request and
// the reply buffer (ASan checks); replies must fit the space given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "dhcp/dhcp.h"
#include "dhcp/dhcpv6.h"

namespace {

using pasta::ParseIp;
using pasta::ParseMac;

const pasta::dhcp::Dhcp4Config& Config4() {
  static const pasta::dhcp::Dhcp4Config* cfg = [] {
    auto* c = new pasta::dhcp::Dhcp4Config;
    c->addr = *ParseIp("10.0.2.15");
    c->router = *ParseIp("10.0.2.2");
    c->server_id = *ParseIp("10.0.2.2");
    c->dns = {*ParseIp("10.0.2.3"), *ParseIp("2001:db8::53")};
    c->search = {"example.org", "lab.internal"};
    c->mtu = 1500;
    c->hostname = "box";
    c->fqdn = "box.example.org";
    pasta::dhcp::Prepare(*c);
    return c;
  }();
  return *cfg;
}

const pasta::dhcp::Dhcp6Config& Config6() {
  static const pasta::dhcp::Dhcp6Config* cfg = [] {
    auto* c = new pasta::dhcp::Dhcp6Config;
    c->addr = *ParseIp("2001:db8::15");
    c->dns = {*ParseIp("2001:db8::53"), *ParseIp("10.0.2.3")};
    c->search = {"example.org"};
    c->our_mac = *ParseMac("9a:55:9a:55:9a:55");
    c->fqdn = "box.example.org";
    pasta::dhcp::Prepare(*c);
    return c;
  }();
  return *cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Span<const uint8_t> in(data, size);
  // A reply buffer just as large as the input (at least a little) exercises
  // the "does not fit" paths as well as the normal ones.
  static uint8_t out[2048];
  const size_t out_size =
      size < 64 ? 64 : (size > sizeof(out) ? sizeof(out) : size);
  const auto reply4 =
      pasta::dhcp::HandleDhcp4(in, Config4(), absl::MakeSpan(out, out_size));
  if (reply4 && reply4->len > out_size) std::abort();
  const size_t len6 =
      pasta::dhcp::HandleDhcp6(in, Config6(), absl::MakeSpan(out, out_size));
  if (len6 > out_size) std::abort();
  return 0;
}
