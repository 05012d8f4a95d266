// The tap: reading frames from the namespace's frame device, dispatching
// them, and writing frames back.
//
// Theory of operation: the namespace's kernel (or the guest) sends every
// frame for the outside world to the frame device (src/device: the tap fd
// in pasta, a UNIX stream socket in passt); the Tap neither knows nor cares
// which. We read them in batches (until the device has no more, at most
// kMaxBatch per wakeup so other descriptors get their turn) straight from
// the device's own buffer, validate them once with the views in src/wire,
// and dispatch:
//   ARP                      -> ndp::HandleArp (answer for everyone else;
//                               a LAN neighbour's own MAC where known)
//   IPv6 ICMPv6 NS/RS        -> ndp::HandleNdp (NA, RA)
//   IPv4 UDP to port 67      -> dhcp::HandleDhcp4
//   IPv6 UDP to port 547     -> dhcp::HandleDhcp6
//   ICMP/ICMPv6 echo request -> icmp::IcmpFlows (ping sockets)
//   other UDP                -> udp::UdpFlows (host UDP sockets)
//   TCP                      -> tcp::TcpFlows (host TCP sockets)
// Anything else, and anything malformed, is dropped with a counted
// DropReason and a --trace line saying why. Replies are composed in a
// preallocated buffer and handed to the device one frame at a time; every
// frame both ways goes to the --pcap recorder if there is one. Handling a
// frame allocates nothing (unless --trace formats a line).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/types/span.h"
#include "common/net_types.h"
#include "common/time.h"
#include "device/frame_device.h"
#include "dhcp/dhcp.h"
#include "dhcp/dhcpv6.h"
#include "icmp/icmp.h"
#include "ndp/arp.h"
#include "ndp/ndp.h"
#include "pcap/pcap_writer.h"
#include "tcp/tcp.h"
#include "udp/udp.h"
#include "wire/frame_sink.h"

namespace pasta::tap {

// Largest frame handled, and the size of the reply buffer (see
// device::kMaxFrame).
inline constexpr size_t kMaxFrame = device::kMaxFrame;
inline constexpr int kMaxBatch = 128;

enum class DropReason : uint8_t {
  kRunt,       // shorter than an Ethernet header
  kBadIp,      // IPv4/IPv6 header malformed (see the trace for which way)
  kFragment,   // IP fragments are not reassembled
  kBadL4,      // UDP/ICMP header malformed
  kNoHandler,  // nothing handles this kind of frame (yet)
  kNoReply,    // a service looked at it and had nothing to say
  kTapFull,    // writing to the device failed (queue full, link down)
  kCount,
};
const char* DropReasonName(DropReason reason);

struct Counters {
  uint64_t frames = 0;      // read from the device
  uint64_t bytes = 0;       // in those
  uint64_t sent = 0;        // written to the device
  uint64_t bytes_sent = 0;  // in those
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> drops{};
};

// What the services answer with. Unset optionals are disabled services.
struct Services {
  MacAddr our_mac;
  std::optional<ndp::ArpConfig> arp;
  std::optional<ndp::NdpConfig> ndp;       // --no-ndp: unset
  std::optional<dhcp::Dhcp4Config> dhcp4;  // --no-dhcp: unset
  std::optional<dhcp::Dhcp6Config> dhcp6;  // --no-dhcpv6: unset
  IpAddr our_ll6;                          // source of DHCPv6 replies
};

// Returns a one-line description of a frame for --trace, e.g.
// "IPv4 198.51.100.2 -> 203.0.113.7 proto 6, 74 bytes". Allocates.
std::string DescribeFrame(absl::Span<const uint8_t> frame);

class Tap : public wire::FrameSink {
 public:
  // Frames go through `device` (not null; the Tap owns it). `services`,
  // `icmp` and `pcap` may be null (nothing answered, no ping, no recording)
  // and must outlive the Tap. Allocates the reply buffer.
  Tap(std::unique_ptr<device::FrameDevice> device, const Services* services,
      icmp::IcmpFlows* icmp, pcap::PcapWriter* pcap);

  // The device's descriptor, for epoll.
  int fd() const { return device_->fd(); }
  device::FrameDevice& device() { return *device_; }
  const device::FrameDevice& device() const { return *device_; }
  const Counters& counters() const { return counters_; }
  void set_icmp(icmp::IcmpFlows* icmp) { icmp_ = icmp; }
  void set_udp(udp::UdpFlows* udp) { udp_ = udp; }
  void set_tcp(tcp::TcpFlows* tcp) { tcp_ = tcp; }
  // Frames go through `device` (not null) from now on: passt's next client,
  // or a NullDevice while there is none. The old device is closed and the
  // guest's MAC is forgotten, to be learned from the new client's frames.
  void ReplaceDevice(std::unique_ptr<device::FrameDevice> device);

  // Reads and handles up to kMaxBatch frames. Returns false if the device is
  // gone (EOF, a fatal read or framing error); running out of frames ends
  // the batch normally.
  bool OnReadable(Instant now);

  // Handles one frame read from the device. Public for tests and fuzzing.
  void HandleFrame(absl::Span<const uint8_t> frame, Instant now);

  // Writes one frame to the namespace (and the pcap file) through the
  // device; counts kTapFull if the device dropped it.
  void SendFrame(absl::Span<const uint8_t> frame) override;
  bool TrySendFrame(absl::Span<const uint8_t> frame) override;
  bool can_offload() const override { return device_->can_offload(); }
  size_t room() const override { return device_->write_room(); }
  bool TrySendTcpOffloaded(absl::Span<const uint8_t> frame, size_t l4_offset,
                           uint16_t segment, bool ipv6) override;

  // Sends an unsolicited router advertisement, if NDP and RAs are on.
  void SendRouterAdvert();
  // Tells the namespace that its neighbour `addr` is at `mac` (a host's LAN
  // neighbour whose MAC changed, see ndp/neighbours.h): a gratuitous ARP
  // from `mac` for IPv4, an unsolicited neighbour advertisement with the
  // override flag for IPv6, if ARP or NDP is on. Nothing before the
  // namespace has sent us a frame (its link may not be up yet).
  void AnnounceNeighbour(const IpAddr& addr, const MacAddr& mac);
  // Whether SendRouterAdvert() sends anything (off with --no-ra,
  // --no-ndp and --config-net): the loop schedules none otherwise.
  bool sends_router_adverts() const {
    return services_ != nullptr && services_->ndp && services_->ndp->ra;
  }
  // The time until the next unsolicited RA, drawn by `random`
  // (ndp::RouterAdvertInterval). Precondition: sends_router_adverts().
  Duration RouterAdvertInterval(uint64_t random) const {
    return ndp::RouterAdvertInterval(*services_->ndp, random);
  }

 private:
  void HandleArp(const uint8_t* src_mac, absl::Span<const uint8_t> arp,
                 absl::Span<const uint8_t> frame);
  void HandleIpv4(const uint8_t* src_mac, absl::Span<const uint8_t> packet,
                  absl::Span<const uint8_t> frame, Instant now);
  void HandleIpv6(const uint8_t* src_mac, absl::Span<const uint8_t> packet,
                  absl::Span<const uint8_t> frame, Instant now);
  // The parts of HandleIpv4/6 that do not depend on the family: an echo
  // request to the ICMP flows, a segment to the TCP flows, a datagram to the
  // UDP flows (`l4` is the IP payload; `src`, `dst` the addresses).
  void ToIcmpFlows(int family, const uint8_t* src, const uint8_t* dst,
                   const wire::IcmpView& icmp, const uint8_t* src_mac,
                   absl::Span<const uint8_t> frame, Instant now);
  void ToTcpFlows(int family, const uint8_t* src, const uint8_t* dst,
                  absl::Span<const uint8_t> l4, const uint8_t* src_mac,
                  absl::Span<const uint8_t> frame, Instant now);
  void ToUdpFlows(int family, const uint8_t* src, const uint8_t* dst,
                  const wire::UdpView& udp, const uint8_t* src_mac,
                  absl::Span<const uint8_t> frame, Instant now);
  void Drop(DropReason reason, absl::Span<const uint8_t> frame,
            const char* detail = nullptr);
  // Counts and records `frame` if the device took it (`sent`), else counts
  // the drop. Returns `sent`.
  bool Sent(bool sent, absl::Span<const uint8_t> frame);

  std::unique_ptr<device::FrameDevice> device_;
  const Services* services_;
  icmp::IcmpFlows* icmp_;
  udp::UdpFlows* udp_ = nullptr;
  tcp::TcpFlows* tcp_ = nullptr;
  pcap::PcapWriter* pcap_;
  MacAddr ns_mac_;  // the namespace's MAC, as last seen in a frame
  std::unique_ptr<uint8_t[]> out_;
  Counters counters_;
};

}  // namespace pasta::tap
