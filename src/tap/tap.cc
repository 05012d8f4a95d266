#include "tap/tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"

namespace pasta::tap {

absl::StatusOr<UniqueFd> OpenTap(const std::string& name,
                                 std::string* actual_name) {
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
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    return ErrnoToStatus(errno, "creating tap device '" + name + "'");
  }
  if (actual_name != nullptr) {
    *actual_name = std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  }
  return fd;
}

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kRunt:
      return "runt frame";
    case DropReason::kNoHandler:
      return "no handler";
    case DropReason::kCount:
      break;
  }
  return "?";
}

std::string DescribeFrame(absl::Span<const uint8_t> frame) {
  auto eth = wire::EthernetView::Parse(frame);
  if (!eth) return absl::StrFormat("runt frame, %d bytes", frame.size());
  const auto p = eth->payload();
  char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
  switch (eth->ethertype()) {
    case wire::kEtherTypeIpv4:
      if (p.size() >= 20 && (p[0] >> 4) == 4) {
        inet_ntop(AF_INET, p.data() + 12, src, sizeof(src));
        inet_ntop(AF_INET, p.data() + 16, dst, sizeof(dst));
        return absl::StrFormat("IPv4 %s -> %s proto %d, %d bytes", src, dst,
                               p[9], frame.size());
      }
      return absl::StrFormat("IPv4 (short), %d bytes", frame.size());
    case wire::kEtherTypeIpv6:
      if (p.size() >= 40 && (p[0] >> 4) == 6) {
        inet_ntop(AF_INET6, p.data() + 8, src, sizeof(src));
        inet_ntop(AF_INET6, p.data() + 24, dst, sizeof(dst));
        return absl::StrFormat("IPv6 %s -> %s next header %d, %d bytes", src,
                               dst, p[6], frame.size());
      }
      return absl::StrFormat("IPv6 (short), %d bytes", frame.size());
    case wire::kEtherTypeArp:
      return absl::StrFormat("ARP, %d bytes", frame.size());
    default:
      return absl::StrFormat("ethertype 0x%04x, %d bytes", eth->ethertype(),
                             frame.size());
  }
}

Tap::Tap(UniqueFd fd) : fd_(std::move(fd)), buf_(new uint8_t[kMaxFrame]) {}

bool Tap::OnReadable() {
  for (int i = 0; i < kMaxBatch; ++i) {
    const ssize_t n = read(fd_.get(), buf_.get(), kMaxFrame);
    if (n > 0) {
      HandleFrame(absl::MakeConstSpan(buf_.get(), static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n < 0) LOG_ERROR("tap: read: %s", strerror(errno));
    return false;
  }
  return true;
}

void Tap::HandleFrame(absl::Span<const uint8_t> frame) {
  ++counters_.frames;
  counters_.bytes += frame.size();
  if (!wire::EthernetView::Parse(frame)) {
    Drop(DropReason::kRunt, frame);
    return;
  }
  Drop(DropReason::kNoHandler, frame);
}

void Tap::Drop(DropReason reason, absl::Span<const uint8_t> frame) {
  ++counters_.drops[static_cast<size_t>(reason)];
  LOG_TRACE("tap: %s: %s, dropped", DescribeFrame(frame),
            DropReasonName(reason));
}

}  // namespace pasta::tap
