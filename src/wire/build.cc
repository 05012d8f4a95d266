#include "wire/build.h"

namespace pasta::wire {

size_t WrapIpv4(absl::Span<uint8_t> out, const MacAddr& dst_mac,
                const MacAddr& src_mac, const uint8_t* src, const uint8_t* dst,
                uint8_t protocol, size_t l4_len, uint8_t ttl) {
  const size_t total = kIpv4Header + l4_len;
  if (kEthHeaderLen + total > out.size() || total > 0xffff) return 0;
  uint8_t* ip = out.data() + kEthHeaderLen;
  WriteEthernet(out.data(), dst_mac, src_mac, kEtherTypeIpv4);
  ip[0] = 0x45;
  ip[1] = 0;
  StoreBe16(ip + 2, static_cast<uint16_t>(total));
  StoreBe16(ip + 4, 0);       // identification: unused, DF set
  StoreBe16(ip + 6, 0x4000);  // DF
  ip[8] = ttl;
  ip[9] = protocol;
  StoreBe16(ip + 10, 0);
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  StoreBe16(ip + 10, Finish(SumBytes(absl::MakeConstSpan(ip, kIpv4Header))));
  return kEthHeaderLen + total;
}

size_t WrapIpv6(absl::Span<uint8_t> out, const MacAddr& dst_mac,
                const MacAddr& src_mac, const uint8_t* src, const uint8_t* dst,
                uint8_t next_header, size_t l4_len, uint8_t hop_limit) {
  if (kL4Offset6 + l4_len > out.size() || l4_len > 0xffff) return 0;
  uint8_t* ip = out.data() + kEthHeaderLen;
  WriteEthernet(out.data(), dst_mac, src_mac, kEtherTypeIpv6);
  StoreBe32(ip, 0x60000000u);
  StoreBe16(ip + 4, static_cast<uint16_t>(l4_len));
  ip[6] = next_header;
  ip[7] = hop_limit;
  std::memcpy(ip + 8, src, 16);
  std::memcpy(ip + 24, dst, 16);
  return kL4Offset6 + l4_len;
}

void FillUdp(uint8_t* udp, uint16_t src_port, uint16_t dst_port,
             size_t payload_len, uint32_t pseudo_sum) {
  const uint16_t len = static_cast<uint16_t>(8 + payload_len);
  StoreBe16(udp, src_port);
  StoreBe16(udp + 2, dst_port);
  StoreBe16(udp + 4, len);
  StoreBe16(udp + 6, 0);
  uint16_t sum = Finish(SumBytes(absl::MakeConstSpan(udp, len), pseudo_sum));
  StoreBe16(udp + 6, sum == 0 ? 0xffff : sum);
}

void FillIcmpChecksum(absl::Span<uint8_t> message, uint32_t pseudo_sum) {
  if (message.size() < 4) return;
  StoreBe16(message.data() + 2, 0);
  StoreBe16(message.data() + 2, Finish(SumBytes(message, pseudo_sum)));
}

}  // namespace pasta::wire
