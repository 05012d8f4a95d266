// Per-frame cost of the tap dispatch with tracing off (what every frame pays
// before any protocol handler), and of the epoll reference unpacking.
#include <fcntl.h>

#include <vector>

#include "benchmark/benchmark.h"
#include "common/log.h"
#include "loop/epoll_ref.h"
#include "tap/tap.h"

namespace {

void BM_HandleFrame(benchmark::State& state) {
  pasta::log::SetLevel(pasta::log::Level::kInfo);
  pasta::tap::Tap tap(pasta::UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC)),
                      nullptr, nullptr, nullptr);
  std::vector<uint8_t> frame(static_cast<size_t>(state.range(0)), 0);
  frame[12] = 0x08;  // IPv4
  frame[14] = 0x45;
  for (auto _ : state) {
    tap.HandleFrame(frame, 0);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HandleFrame)->Arg(64)->Arg(1514)->Arg(65534);

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

void BM_DescribeFrame(benchmark::State& state) {
  std::vector<uint8_t> frame(74, 0);
  frame[12] = 0x08;
  frame[14] = 0x45;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pasta::tap::DescribeFrame(frame));
  }
}
BENCHMARK(BM_DescribeFrame);

}  // namespace
