// The tap device (pasta): opening /dev/net/tun in the namespace, and the
// FrameDevice that reads and writes its frames.
//
// The tap hands over one frame per read() and takes one per write. With
// IFF_VNET_HDR every frame, both ways, is preceded by a 10-byte struct
// virtio_net_hdr (little endian, the tap's default on every architecture we
// build for). Reading skips it: what it says (a partial checksum, a TSO
// frame) needs no action, because TCP and UDP payloads are taken as they
// are. Writing puts an all-zero header in front of plain frames and a
// filled one in front of offloaded TCP frames (partial checksum, TSO).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/fd.h"
#include "device/frame_device.h"

namespace pasta::device {

// The virtio-net header in front of every frame with IFF_VNET_HDR.
inline constexpr size_t kVnetHeaderLen = 10;

// Opens /dev/net/tun in the calling thread's network namespace and attaches
// a tap interface (IFF_TAP | IFF_NO_PI) named `name` ("" lets the kernel
// choose). The descriptor is non-blocking and close-on-exec. `actual_name`
// receives the kernel's name for it. Call it inside the clone helper.
// With `vnet_header`, frames carry a virtio-net header (IFF_VNET_HDR) and
// the device takes partial checksums and TSO frames both ways
// (TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6).
absl::StatusOr<UniqueFd> OpenTap(const std::string& name,
                                 std::string* actual_name,
                                 bool vnet_header = false);

// Takes over `fd`, a tap descriptor someone else opened (-F): checks that
// it is a tap (TUNGETIFF) without packet information (IFF_NO_PI), makes it
// non-blocking and close-on-exec, and reports the interface's name and
// whether it was opened with IFF_VNET_HDR (then our header size is set on
// it, and the offloads as OpenTap() does). The descriptor is owned by the
// result on success only. Errors name the descriptor and what is wrong.
absl::StatusOr<UniqueFd> AdoptTap(int fd, std::string* actual_name,
                                  bool* vnet_header);

// Makes the tap behind `fd` persistent (TUNSETPERSIST), so that closing
// `fd` leaves the interface to its network namespace, which removes it
// when it goes. For exiting once the namespace is doomed anyway: closing
// the last descriptor of a tap that is not persistent unregisters the
// interface inside close(), which waits for RCU grace periods (15-25 ms of
// a start-up benchmark's 50 on a loaded 2-core VM), while a namespace's
// teardown does the same work in a kernel worker, after its last user has
// gone. Returns 0 or the errno.
int LeaveToNamespace(int fd);

class TapDevice final : public FrameDevice {
 public:
  // `fd` is a non-blocking tap from OpenTap (or anything that keeps frame
  // boundaries, like a SOCK_SEQPACKET socket, in tests); `vnet_header` says
  // whether it was opened with one. Allocates the read buffer
  // (kVnetHeaderLen + kMaxFrame bytes).
  TapDevice(UniqueFd fd, bool vnet_header);

  int fd() const override { return fd_.get(); }
  bool vnet_header() const { return vnet_; }

  // One read(). A read shorter than the virtio-net header is kRunt; a
  // failing read() other than EAGAIN/EINTR is logged and kError.
  ReadStatus Read(absl::Span<const uint8_t>* frame) override;
  // One writev() of the header (if any) and the frame; false unless all of
  // it went (a tap takes a frame whole or not at all).
  bool WriteFrame(absl::Span<const uint8_t> frame) override;
  bool can_offload() const override { return vnet_; }
  bool WriteTcpOffloaded(absl::Span<const uint8_t> frame, size_t l4_offset,
                         uint16_t segment, bool ipv6) override;

 private:
  // Writes `frame` behind virtio-net header `vnet` (when vnet_).
  bool Write(absl::Span<const uint8_t> frame, const uint8_t* vnet);

  UniqueFd fd_;
  bool vnet_;
  std::unique_ptr<uint8_t[]> in_;
};

}  // namespace pasta::device
