// DHCPv4 server for the namespace (RFC 2131, options RFC 2132).
//
// Theory of operation: there is exactly one client, the namespace, and one
// address to hand out, the one the namespace already has (copied from the
// host). So the server keeps no lease state: every message is answered from
// the request and the immutable Dhcp4Config alone.
//   DISCOVER -> OFFER of cfg.addr.
//   REQUEST  -> ACK if the address asked for (option 50, else ciaddr) is ours,
//               NAK otherwise. A REQUEST naming another server (option 54)
//               means the client chose that server (RFC 2131 3.1 step 4): we
//               stay silent.
//   INFORM   -> ACK with configuration only: no yiaddr, no lease time (3.4).
//   DECLINE, RELEASE, and anything a server sends -> no reply.
// The lease is infinite by default, as upstream, so clients never renew.
//
// Options always sent with OFFER/ACK (option 55 is not consulted, as
// upstream): 53 type, 54 server id, 61 client id echoed (RFC 6842), 51 lease
// (not for INFORM), 1 mask, 3 router, 6 DNS, 26 MTU. Then, only while the
// reply stays within the client's maximum message size (option 57, at least
// 576 bytes with IP and UDP headers, RFC 2131 2): 12 host name, 81 FQDN,
// 119 search list (split into several option 119 instances past 255 bytes,
// RFC 3396). Replies are padded to the BOOTP minimum of 300 bytes.
// Option 12 is the name as given (ASCII, no terminator); option 81 (RFC 4702)
// has flags E (the name in DNS wire format) and N (we do no DNS updates),
// plus O when the client's own option 81 set S (3.1: our S, always 0,
// overrides it), RCODE1 and RCODE2 255, then the name. Upstream sends E only.
//
// Parsing: op BOOTREQUEST, htype 1 (Ethernet), hlen 6, the magic cookie, an
// END option and a message type are required; every option length is checked
// against the buffer. The first instance of an option counts (no RFC 3396
// concatenation). Option overload (52) is ignored: sname and file are never
// read as options. Relayed requests (giaddr set) are answered as if direct;
// giaddr is only copied into the reply.
//
// Cost: HandleDhcp4 reads the request once, writes the reply once and never
// allocates. Prepare() allocates; call it once at start-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/net_types.h"

namespace pasta::dhcp {

// UDP ports (RFC 2131 4.1).
inline constexpr uint16_t kDhcp4ServerPort = 67;
inline constexpr uint16_t kDhcp4ClientPort = 68;

// Message types (option 53, RFC 2132 9.6).
enum class Dhcp4Type : uint8_t {
  kDiscover = 1,
  kOffer = 2,
  kRequest = 3,
  kDecline = 4,
  kAck = 5,
  kNak = 6,
  kRelease = 7,
  kInform = 8,
};

struct Dhcp4Config {
  IpAddr addr;              // the one address handed out; AF_INET (required)
  int prefix_len = 24;      // option 1 subnet mask, clamped to 0..32
  IpAddr router;            // option 3; AF_UNSPEC = none
  IpAddr server_id;         // option 54 and siaddr; AF_INET (required)
  std::vector<IpAddr> dns;  // option 6, IPv4 entries only; empty = omit
  std::vector<std::string> search;   // option 119; empty = omit
  int mtu = 0;                       // option 26 when 68..65535, else omitted
  uint32_t lease_secs = 0xffffffff;  // option 51; infinite, as upstream
  MacAddr our_mac;                   // not used in the payload
  std::string hostname;              // option 12 if 1..255 bytes
  std::string fqdn;                  // option 81 if non-empty and a valid name

  // Filled by Prepare() from the fields above; do not set by hand.
  std::vector<uint8_t> search_wire;  // RFC 1035 encoding of `search`
  std::vector<uint8_t> fqdn_wire;    // RFC 1035 encoding of `fqdn`
  bool prepared = false;
};

// Encodes the search list and FQDN into the cache fields, skipping (and
// logging) invalid names. Must be called after the fields are set and before
// the first HandleDhcp4(); call it again if they change. Allocates.
void Prepare(Dhcp4Config& cfg);

struct Dhcp4Reply {
  size_t len = 0;  // bytes of BOOTP payload in `out` (UDP 67 -> 68)
  // Send to 255.255.255.255 and ff:ff:ff:ff:ff:ff. True for NAKs, for
  // clients that set the broadcast flag, and for INFORMs without ciaddr.
  bool broadcast = false;
  IpAddr dst;       // 255.255.255.255, else ciaddr if set, else yiaddr
  MacAddr dst_mac;  // ff:ff:ff:ff:ff:ff when broadcasting, else chaddr
  Dhcp4Type type = Dhcp4Type::kOffer;  // what we answered (for tracing)
};

// Answers one DHCP message. `request` is the UDP payload the namespace sent
// to port 67; the reply is written to `out` (1500 bytes are always enough
// unless the search list is huge). Returns nullopt when there is nothing to
// send: malformed or unsupported input, a message that gets no answer, a
// config without an IPv4 address or server id, an unprepared config, or an
// `out` too small for the reply. Never allocates, never reads outside
// `request` nor writes outside `out`.
std::optional<Dhcp4Reply> HandleDhcp4(absl::Span<const uint8_t> request,
                                      const Dhcp4Config& cfg,
                                      absl::Span<uint8_t> out);

}  // namespace pasta::dhcp
