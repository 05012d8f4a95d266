// What the parts of the TCP translation (tcp.cc: flows, handshakes and
// timers; to_socket.cc: namespace -> socket; to_namespace.cc: socket ->
// namespace) share: header sizes, option codes, limits and sequence
// arithmetic. Internal to src/tcp.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "common/net_types.h"
#include "common/time.h"
#include "flow/addr_map.h"
#include "wire/build.h"
#include "wire/ip.h"

namespace pasta::tcp::internal {

using flow::AddrLen;

inline constexpr size_t kTcpHeader = wire::TcpView::kMinHeader;
// MSS (4), NOP, window scale (3), NOP, NOP, SACK permitted (2).
inline constexpr size_t kSynOptions = 12;
inline constexpr size_t kMaxOptions = 40;
inline constexpr uint8_t kOptEnd = 0, kOptNop = 1, kOptMss = 2, kOptWs = 3,
                         kOptSackPermitted = 4, kOptSack = 5;
inline constexpr uint8_t kMaxWindowScale = 14;  // RFC 7323 2.3
// Without an MSS option (RFC 9293 3.7.1).
inline constexpr uint16_t kDefaultMss4 = 536, kDefaultMss6 = 1220;
inline constexpr int kAcceptBatch = 32;
inline constexpr Duration kSynRetransmit = Seconds(1);
inline constexpr Duration kFullWarningInterval = Seconds(10);
// Payload of a TSO frame: what a 65535-byte IPv4 packet carries after a
// 20-byte TCP header (IPv6 could carry 20 bytes more; not worth a case).
inline constexpr size_t kMaxTsoPayload = 65535 - 20 - 20;

inline const MacAddr kBroadcastMac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

inline size_t L4Offset(int family) {
  return family == AF_INET ? wire::kL4Offset4 : wire::kL4Offset6;
}
inline size_t IpHeader(int family) {
  return family == AF_INET ? wire::kIpv4Header : wire::kIpv6Header;
}

// Signed distance from sequence number b to a (RFC 9293 3.4 arithmetic).
inline int32_t SeqDiff(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b);
}

}  // namespace pasta::tcp::internal
