// libFuzzer target for the frame demultiplexer: arbitrary bytes as a frame
// from the namespace, through Tap::HandleFrame with every service on (ARP,
// NDP, DHCP, DHCPv6) and ICMP echo flows over a fake socket layer. Replies
// are written to /dev/null. Any crash, sanitizer report or leak is a bug:
// the namespace is untrusted.
#include <fcntl.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "device/tap_device.h"
#include "dhcp/dhcp.h"
#include "dhcp/dhcpv6.h"
#include "fake_sys.h"
#include "fuzz_util.h"
#include "icmp/icmp.h"
#include "ndp/ndp.h"
#include "tap/tap.h"

namespace {

using pasta::IpAddr;
using pasta::MacAddr;

// Ping sockets that accept everything and never answer.
class NullSockets : public pasta::fake::FakeSys {
 public:
  Result Socket(Netns, int, int, int) override {
    return pasta::sock::Ok(next_++ % 1000 + 1000);
  }
  Result SendTo(int, int, const uint8_t*, uint16_t,
                absl::Span<const uint8_t> m) override {
    return pasta::sock::Ok(static_cast<ssize_t>(m.size()));
  }
  Result Recv(int, absl::Span<uint8_t>) override {
    return pasta::sock::Fail(EAGAIN);
  }
  Result Watch(int, uint64_t, uint32_t) override { return pasta::sock::Ok(); }
  Result Close(int) override { return pasta::sock::Ok(); }

 private:
  int next_ = 0;
};

struct World {
  World() {
    pasta::fuzz::QuietLogs();  // malformed frames: a warning each
    const MacAddr our{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
    services.our_mac = our;
    services.arp = pasta::ndp::ArpConfig{our, *pasta::ParseIp("198.51.100.2")};
    pasta::dhcp::Dhcp4Config d4;
    d4.addr = *pasta::ParseIp("198.51.100.2");
    d4.router = d4.server_id = *pasta::ParseIp("198.51.100.1");
    d4.dns = {*pasta::ParseIp("203.0.113.53")};
    d4.search = {"example.test"};
    d4.mtu = 1500;
    pasta::dhcp::Prepare(d4);
    services.dhcp4 = d4;
    pasta::dhcp::Dhcp6Config d6;
    d6.addr = *pasta::ParseIp("2001:db8:1::2");
    d6.dns = {*pasta::ParseIp("2001:db8::53")};
    d6.search = {"example.test"};
    d6.our_mac = our;
    pasta::dhcp::Prepare(d6);
    services.dhcp6 = d6;
    pasta::ndp::NdpConfig n;
    n.our_mac = our;
    n.our_ll = pasta::ndp::LinkLocalFromMac(our);
    n.ns_addrs = {*pasta::ParseIp("2001:db8:1::2")};
    n.prefixes = {pasta::ndp::Prefix{*pasta::ParseIp("2001:db8:1::"), 64}};
    n.mtu = 1500;
    n.rdnss = {*pasta::ParseIp("2001:db8::53")};
    n.dnssl = {"example.test"};
    services.ndp = n;
    services.our_ll6 = n.our_ll;
    pasta::icmp::IcmpConfig ic;
    ic.our_mac = our;
    ic.map.map_host4 = *pasta::ParseIp("198.51.100.1");
    icmp = std::make_unique<pasta::icmp::IcmpFlows>(ic, &sockets, nullptr,
                                                    pasta::flow::SipKey{1, 2});
    tap = std::make_unique<pasta::tap::Tap>(
        std::make_unique<pasta::device::TapDevice>(
            pasta::UniqueFd(open("/dev/null", O_WRONLY | O_CLOEXEC)), false),
        &services, icmp.get(), nullptr);
  }
  pasta::tap::Services services;
  NullSockets sockets;
  std::unique_ptr<pasta::icmp::IcmpFlows> icmp;
  std::unique_ptr<pasta::tap::Tap> tap;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  // A second per input: ICMP flows expire after a minute of inputs.
  static pasta::Instant now;
  world->tap->HandleFrame(absl::MakeConstSpan(data, size), now);
  now += pasta::Seconds(1);
  world->icmp->Expire(now);
  world->icmp->Reap();  // the loop's end of iteration
  return 0;
}
