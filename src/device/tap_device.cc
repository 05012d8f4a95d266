#include "device/tap_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/status.h"
#include "wire/bytes.h"

namespace pasta::device {

namespace {

// struct virtio_net_hdr values (linux/virtio_net.h, which is C only).
constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kVnetGsoTcp4 = 1;    // VIRTIO_NET_HDR_GSO_TCPV4
constexpr uint8_t kVnetGsoTcp6 = 4;    // VIRTIO_NET_HDR_GSO_TCPV6

}  // namespace

absl::StatusOr<UniqueFd> OpenTap(const std::string& name,
                                 std::string* actual_name, bool vnet_header) {
  if (name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError("interface name '" + name +
                                      "' is longer than " +
                                      std::to_string(IFNAMSIZ - 1) + " bytes");
  }
  UniqueFd fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, "opening /dev/net/tun");
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (vnet_header) ifr.ifr_flags |= IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    return ErrnoToStatus(errno, "creating tap device '" + name + "'");
  }
  if (vnet_header) {
    const int len = kVnetHeaderLen;
    if (ioctl(fd.get(), TUNSETVNETHDRSZ, &len) != 0)
      return ErrnoToStatus(errno, "setting the tap's virtio-net header size");
    // What the namespace may send us: partial checksums and TSO frames.
    // Without it we still get plain frames (behind the header).
    const unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (ioctl(fd.get(), TUNSETOFFLOAD, offloads) != 0)
      LOG_DEBUG("tap: TUNSETOFFLOAD: %s", strerror(errno));
  }
  if (actual_name != nullptr) {
    *actual_name = std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  }
  return fd;
}

int LeaveToNamespace(int fd) {
  return ioctl(fd, TUNSETPERSIST, 1) == 0 ? 0 : errno;
}

absl::StatusOr<UniqueFd> AdoptTap(int fd, std::string* actual_name,
                                  bool* vnet_header) {
  const std::string what = "--fd " + std::to_string(fd);
  if (fcntl(fd, F_GETFD) < 0) return ErrnoToStatus(errno, what);
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  if (ioctl(fd, TUNGETIFF, &ifr) != 0) {
    return ErrnoToStatus(errno, what + ": not a tap device (TUNGETIFF)");
  }
  const int flags = ifr.ifr_flags;
  if ((flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) {
    return absl::InvalidArgumentError(what +
                                      ": a tun device, not a tap (IFF_TAP)");
  }
  if ((flags & IFF_NO_PI) == 0) {
    return absl::InvalidArgumentError(what +
                                      ": the tap was opened without IFF_NO_PI");
  }
  *vnet_header = (flags & IFF_VNET_HDR) != 0;
  if (*vnet_header) {
    const int len = kVnetHeaderLen;
    if (ioctl(fd, TUNSETVNETHDRSZ, &len) != 0)
      return ErrnoToStatus(errno,
                           what + ": setting the virtio-net header size");
    const unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (ioctl(fd, TUNSETOFFLOAD, offloads) != 0)
      LOG_DEBUG("tap: TUNSETOFFLOAD: %s", strerror(errno));
  }
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    return ErrnoToStatus(errno, what);
  }
  *actual_name = std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  return UniqueFd(fd);
}

TapDevice::TapDevice(UniqueFd fd, bool vnet_header)
    : fd_(std::move(fd)),
      vnet_(vnet_header),
      in_(new uint8_t[kVnetHeaderLen + kMaxFrame]) {}

ReadStatus TapDevice::Read(absl::Span<const uint8_t>* frame) {
  const size_t skip = vnet_ ? kVnetHeaderLen : 0;
  const ssize_t n = read(fd_.get(), in_.get(), skip + kMaxFrame);
  if (n > 0 && static_cast<size_t>(n) < skip) return ReadStatus::kRunt;
  if (n > 0) {
    *frame =
        absl::MakeConstSpan(in_.get() + skip, static_cast<size_t>(n) - skip);
    return ReadStatus::kFrame;
  }
  if (n == 0) return ReadStatus::kEof;
  if (errno == EAGAIN || errno == EINTR) return ReadStatus::kAgain;
  LOG_ERROR("tap: read: %s", strerror(errno));
  return ReadStatus::kError;
}

bool TapDevice::WriteFrame(absl::Span<const uint8_t> frame) {
  static constexpr uint8_t kPlain[kVnetHeaderLen] = {};
  return Write(frame, kPlain);
}

bool TapDevice::WriteTcpOffloaded(absl::Span<const uint8_t> frame,
                                  size_t l4_offset, uint16_t segment,
                                  bool ipv6) {
  // struct virtio_net_hdr, little endian.
  uint8_t h[kVnetHeaderLen] = {};
  h[0] = kVnetNeedsCsum;
  if (segment != 0) {
    h[1] = ipv6 ? kVnetGsoTcp6 : kVnetGsoTcp4;
    const size_t hdr_len = l4_offset + ((frame[l4_offset + 12] >> 4) * 4u);
    wire::StoreLe16(h + 2, static_cast<uint16_t>(hdr_len));
    wire::StoreLe16(h + 4, segment);
  }
  wire::StoreLe16(h + 6, static_cast<uint16_t>(l4_offset));  // csum_start
  wire::StoreLe16(h + 8, 16);  // csum_offset: the TCP checksum field
  return Write(frame, h);
}

bool TapDevice::Write(absl::Span<const uint8_t> frame, const uint8_t* vnet) {
  iovec iov[2] = {{const_cast<uint8_t*>(vnet), kVnetHeaderLen},
                  {const_cast<uint8_t*>(frame.data()), frame.size()}};
  const size_t want = frame.size() + (vnet_ ? kVnetHeaderLen : 0);
  return writev(fd_.get(), vnet_ ? iov : iov + 1, vnet_ ? 2 : 1) ==
         static_cast<ssize_t>(want);
}

}  // namespace pasta::device
