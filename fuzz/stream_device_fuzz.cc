// libFuzzer target for the stream device's framing (passt, QEMU's
// `-netdev stream`): arbitrary bytes from the peer, delivered in chunks
// whose size the first input byte picks, through StreamDevice::Read(); every
// frame handed up is echoed back through WriteFrame() against a peer that
// reads only now and then. Checks that frames handed up are within the
// limits, that has_buffered() is true exactly when a Read() needs no
// socket, and that what the peer receives parses as whole frames. Any
// crash, hang, sanitizer report or leak is a bug: the peer is untrusted.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/log.h"
#include "device/stream_device.h"
#include "wire/bytes.h"

namespace {

using pasta::device::kMaxStreamFrame;
using pasta::device::kMinStreamFrame;
using pasta::device::kStreamPrefixLen;
using pasta::device::ReadStatus;
using pasta::device::StreamDevice;

// What the peer has read so far, checked as a stream of whole frames: only
// the last one may be unfinished.
struct Echo {
  std::vector<uint8_t> bytes;
  void Drain(int fd) {
    uint8_t buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
      bytes.insert(bytes.end(), buf, buf + n);
    size_t at = 0;
    while (bytes.size() - at >= kStreamPrefixLen) {
      const uint32_t len = pasta::wire::LoadBe32(bytes.data() + at);
      if (len < kMinStreamFrame || len > kMaxStreamFrame) abort();
      if (bytes.size() - at < kStreamPrefixLen + len) break;
      at += kStreamPrefixLen + len;
    }
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(at));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    // A framing error is logged at error level: keep that, nothing else.
    pasta::log::SetLevel(pasta::log::Level::kError);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  // Chunks of 1 to 64 bytes, or of up to 6112 for the top half.
  const size_t chunk = 1 + data[0] % 64 * (data[0] >= 128 ? 97 : 1);
  ++data;
  --size;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) abort();
  const int peer = sv[1];
  StreamDevice device(pasta::UniqueFd(sv[0]), 0);
  Echo echo;
  bool done = false;
  int writes = 0;
  for (size_t at = 0; at < size && !done; at += chunk) {
    const size_t n = size - at < chunk ? size - at : chunk;
    if (write(peer, data + at, n) != static_cast<ssize_t>(n)) abort();
    absl::Span<const uint8_t> frame;
    ReadStatus status;
    for (;;) {
      // has_buffered() promises a frame or an error without the socket.
      const bool buffered = device.has_buffered();
      status = device.Read(&frame);
      if (buffered && status != ReadStatus::kFrame &&
          status != ReadStatus::kError)
        abort();
      if (status != ReadStatus::kFrame) break;
      if (frame.size() < kMinStreamFrame || frame.size() > kMaxStreamFrame)
        abort();
      device.WriteFrame(frame);
      if (++writes % 3 == 0) {
        echo.Drain(peer);
        device.OnWritable();
      }
    }
    // Nothing for the loop to wait for in the buffer: else frames stall.
    if (status == ReadStatus::kAgain && device.has_buffered()) abort();
    if (status == ReadStatus::kError) done = true;
    if (status == ReadStatus::kEof) abort();  // the peer is still there
  }
  echo.Drain(peer);
  device.OnWritable();
  echo.Drain(peer);
  close(peer);
  absl::Span<const uint8_t> frame;
  ReadStatus status;
  int reads = 0;
  while ((status = device.Read(&frame)) == ReadStatus::kFrame) {
    if (++reads > 100000) abort();  // a hang
  }
  if (status == ReadStatus::kAgain) abort();  // the peer closed
  return 0;
}
