// DHCPv6 server for the namespace (RFC 8415; DNS options RFC 3646).
//
// Theory of operation: as for DHCPv4, one client and at most one address (the
// namespace's own), so no binding state is kept and every message is
// answered from the request and the immutable Dhcp6Config:
//   SOLICIT      -> ADVERTISE (with Preference 255, so the client need not
//                   wait for other servers, RFC 8415 18.2.1), or REPLY with
//                   Rapid Commit echoed if the client sent it (18.3.1).
//   REQUEST, RENEW, REBIND -> REPLY with the IA_NA.
//   CONFIRM      -> REPLY with status Success if every address in the IAs
//                   is ours, NotOnLink otherwise, no reply if it names none
//                   (18.3.3); no IA options, as the RFC says.
//   INFORMATION-REQUEST -> REPLY with DNS servers and domain list only.
//   RELEASE, DECLINE -> REPLY with status Success.
// IA_NA: the first IA_NA of the request gets cfg.addr with the configured
// lifetimes (infinite by default, as upstream); T1/T2 are infinite when the
// preferred lifetime is, else 0.5 and 0.8 of it (RFC 8415 21.4). Further
// IA_NAs, or every IA_NA when no address is configured, get status
// NoAddrsAvail. In RENEW/REBIND, addresses the client holds that are not ours
// come back with zero lifetimes (18.3.4). IA_TA and IA_PD are ignored.
// Every reply echoes the transaction id and the Client Identifier and carries
// our Server Identifier, a DUID-LL (type 3, hardware type 1, our MAC).
// Replies to SOLICIT/REQUEST/RENEW/REBIND/INFORMATION-REQUEST also carry
// OPTION_DNS_SERVERS, OPTION_DOMAIN_LIST and OPTION_CLIENT_FQDN (RFC 4704)
// when configured; the Option Request option is not consulted (as upstream).
// OPTION_CLIENT_FQDN has flag N (we do no DNS updates), plus O when the
// client's own option set S (RFC 4704 4.1), then the name in DNS wire
// format. Upstream sends no N, and sends the FQDN in every reply.
//
// Validation (RFC 8415 16): the whole option list, and the options nested in
// each IA_NA, must be well formed; a Client Identifier (3..130 bytes) is
// required except in INFORMATION-REQUEST; SOLICIT, CONFIRM and REBIND must
// not carry a Server Identifier; REQUEST, RENEW, RELEASE and DECLINE must
// carry ours; INFORMATION-REQUEST may carry ours and no IA. Relay and server
// messages are dropped. Whether the request came to the multicast address is
// the caller's business (we never send UseMulticast).
//
// Cost: HandleDhcp6 never allocates; Prepare() does, once at start-up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/net_types.h"

namespace pasta::dhcp {

// UDP ports (RFC 8415 7.2).
inline constexpr uint16_t kDhcp6ClientPort = 546;
inline constexpr uint16_t kDhcp6ServerPort = 547;

// Message types (RFC 8415 7.3).
enum class Dhcp6Type : uint8_t {
  kSolicit = 1,
  kAdvertise = 2,
  kRequest = 3,
  kConfirm = 4,
  kRenew = 5,
  kRebind = 6,
  kReply = 7,
  kRelease = 8,
  kDecline = 9,
  kReconfigure = 10,
  kInformationRequest = 11,
  kRelayForw = 12,
  kRelayRepl = 13,
};

// Status codes (RFC 8415 21.13).
enum class Dhcp6Status : uint16_t {
  kSuccess = 0,
  kUnspecFail = 1,
  kNoAddrsAvail = 2,
  kNoBinding = 3,
  kNotOnLink = 4,
  kUseMulticast = 5,
};

struct Dhcp6Config {
  IpAddr addr;  // handed out in IA_NA (AF_INET6); AF_UNSPEC = stateless only
  std::vector<IpAddr> dns;          // OPTION_DNS_SERVERS, IPv6 entries only
  std::vector<std::string> search;  // OPTION_DOMAIN_LIST
  MacAddr our_mac;                  // server DUID-LL
  uint32_t preferred_lifetime = 0xffffffff;
  uint32_t valid_lifetime = 0xffffffff;
  std::string fqdn;  // OPTION_CLIENT_FQDN if non-empty and a valid name

  // Filled by Prepare() from the fields above; do not set by hand.
  std::vector<uint8_t> search_wire;  // RFC 1035 encoding of `search`
  std::vector<uint8_t> fqdn_wire;    // RFC 1035 encoding of `fqdn`
  bool prepared = false;
};

// Encodes the domain list and FQDN into the cache fields, skipping (and
// logging) invalid names. Must be called after the fields are set and before
// the first HandleDhcp6(); call it again if they change. Allocates.
void Prepare(Dhcp6Config& cfg);

// Our Server Identifier option payload: DUID-LL for `mac` (RFC 8415 11.4).
std::array<uint8_t, 10> ServerDuid(const MacAddr& mac);

// Answers one DHCPv6 message. `request` is the UDP payload the namespace sent
// to port 547 (from 546); the reply goes to `out`, to be sent from our
// link-local address, port 547, to the client's source address, port 546.
// Returns the reply length, or 0 when there is nothing to send: malformed or
// unsupported input, a message for another server, an unprepared config, or
// an `out` too small. Never allocates, never reads outside `request` nor
// writes outside `out`.
size_t HandleDhcp6(absl::Span<const uint8_t> request, const Dhcp6Config& cfg,
                   absl::Span<uint8_t> out);

}  // namespace pasta::dhcp
