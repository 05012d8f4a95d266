// Hot paths of the tap side: parsing a frame's headers, the Internet
// checksum over typical payload sizes, a full ARP request -> reply round
// through the dispatcher (including the write(2) to /dev/null), and the epoll
// reference unpacking every event pays.
#include <fcntl.h>

#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/log.h"
#include "device/tap_device.h"
#include "loop/epoll_ref.h"
#include "ndp/arp.h"
#include "tap/tap.h"
#include "wire/build.h"
#include "wire/checksum.h"
#include "wire/ip.h"

namespace {

using pasta::MacAddr;

const MacAddr kOurMac{{0x9a, 0x55, 0x9a, 0x55, 0x9a, 0x55}};
const MacAddr kNsMac{{0x02, 0, 0, 0, 0, 0x0e}};

// An Ethernet/IPv4/UDP frame with `payload` bytes, valid checksums.
std::vector<uint8_t> UdpFrame(size_t payload) {
  std::vector<uint8_t> f(pasta::wire::kL4Offset4 + 8 + payload, 0x5a);
  const uint8_t src[4] = {198, 51, 100, 2}, dst[4] = {203, 0, 113, 1};
  pasta::wire::FillUdp(f.data() + pasta::wire::kL4Offset4, 40000, 53, payload,
                       pasta::wire::PseudoSum4(
                           src, dst, 17, static_cast<uint16_t>(8 + payload)));
  pasta::wire::WrapIpv4(absl::MakeSpan(f), kOurMac, kNsMac, src, dst, 17,
                        8 + payload);
  return f;
}

void BM_ParseUdpFrame(benchmark::State& state) {
  const auto f = UdpFrame(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto eth = pasta::wire::EthernetView::Parse(f);
    auto ip = pasta::wire::Ipv4View::Parse(eth->payload());
    auto udp = pasta::wire::UdpView::Parse(ip->payload());
    benchmark::DoNotOptimize(udp);
  }
}
BENCHMARK(BM_ParseUdpFrame)->Arg(64)->Arg(1400);

void BM_Checksum(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 0xa5);
  for (auto _ : state) {
    benchmark::DoNotOptimize(pasta::wire::Finish(pasta::wire::SumBytes(data)));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(64)->Arg(1460)->Arg(65480);

void BM_ArpRequestToReply(benchmark::State& state) {
  pasta::log::SetLevel(pasta::log::Level::kInfo);
  pasta::tap::Services services;
  services.our_mac = kOurMac;
  services.arp =
      pasta::ndp::ArpConfig{kOurMac, *pasta::ParseIp("198.51.100.2")};
  pasta::tap::Tap tap(
      std::make_unique<pasta::device::TapDevice>(
          pasta::UniqueFd(open("/dev/null", O_WRONLY | O_CLOEXEC)), false),
      &services, nullptr, nullptr);
  std::vector<uint8_t> f(42, 0);
  pasta::wire::WriteEthernet(f.data(),
                             MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                             kNsMac, pasta::wire::kEtherTypeArp);
  const uint8_t arp[28] = {0, 1, 8, 0,    6,   4,  0,   1, 0x02, 0,
                           0, 0, 0, 0x0e, 198, 51, 100, 2, 0,    0,
                           0, 0, 0, 0,    198, 51, 100, 1};
  std::memcpy(f.data() + 14, arp, sizeof(arp));
  for (auto _ : state) tap.HandleFrame(f, pasta::Instant());
  if (tap.counters().sent != static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("ARP requests were not all answered");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ArpRequestToReply);

void BM_RefUnpack(benchmark::State& state) {
  uint64_t packed =
      pasta::loop::Ref{pasta::loop::Kind::kTcpSock, 4242, 17}.Pack();
  for (auto _ : state) {
    benchmark::DoNotOptimize(packed);
    auto ref = pasta::loop::Ref::Unpack(packed);
    benchmark::DoNotOptimize(ref);
  }
}
BENCHMARK(BM_RefUnpack);

}  // namespace
