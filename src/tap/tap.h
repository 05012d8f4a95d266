// The tap device in the target namespace: opening it, and reading frames.
//
// Theory of operation: the namespace's kernel sends every frame for the
// outside world to the tap; we read them in batches (until EAGAIN, at most
// kMaxBatch per wakeup so other descriptors get their turn), parse them with
// the validated views in src/wire and hand them to the protocol handlers.
// Nothing is handled yet in this slice: each frame is described at --trace
// and dropped with a counted DropReason. The frame buffer is allocated once;
// reading allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/fd.h"

namespace pasta::tap {

// Largest frame we accept: 65520 bytes of MTU plus the Ethernet header,
// rounded up.
inline constexpr size_t kMaxFrame = 65536;
inline constexpr int kMaxBatch = 128;

// Opens /dev/net/tun in the calling thread's network namespace and attaches
// a tap interface (IFF_TAP | IFF_NO_PI) named `name` ("" lets the kernel
// choose). The descriptor is non-blocking and close-on-exec. `actual_name`
// receives the kernel's name for it. Call it inside the clone helper.
absl::StatusOr<UniqueFd> OpenTap(const std::string& name,
                                 std::string* actual_name);

enum class DropReason : uint8_t {
  kRunt,       // shorter than an Ethernet header
  kNoHandler,  // nothing handles this kind of frame yet
  kCount,
};
const char* DropReasonName(DropReason reason);

struct Counters {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> drops{};
};

// Returns a one-line description of a frame for --trace, e.g.
// "IPv4 198.51.100.2 -> 203.0.113.7 proto 6, 74 bytes". Allocates.
std::string DescribeFrame(absl::Span<const uint8_t> frame);

class Tap {
 public:
  explicit Tap(UniqueFd fd);

  int fd() const { return fd_.get(); }
  const Counters& counters() const { return counters_; }

  // Reads and handles up to kMaxBatch frames. Returns false if the device is
  // gone (EOF or a fatal read error); EAGAIN ends the batch normally.
  bool OnReadable();

  // Handles one frame read from the tap. Public for tests.
  void HandleFrame(absl::Span<const uint8_t> frame);

 private:
  void Drop(DropReason reason, absl::Span<const uint8_t> frame);

  UniqueFd fd_;
  std::unique_ptr<uint8_t[]> buf_;
  Counters counters_;
};

}  // namespace pasta::tap
