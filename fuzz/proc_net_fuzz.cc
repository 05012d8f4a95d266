// libFuzzer target for the /proc/net/{tcp,udp} parser of automatic
// forwarding: arbitrary bytes as a table, for both protocols.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fwd/proc_net.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  pasta::fwd::PortSet ports;
  const int tcp = pasta::fwd::ParseProcNet(text, pasta::fwd::Table::kTcp, &ports);
  const int udp = pasta::fwd::ParseProcNet(text, pasta::fwd::Table::kUdp, &ports);
  if (tcp < 0 || udp < 0 || ports.test(0)) __builtin_trap();
  return 0;
}
