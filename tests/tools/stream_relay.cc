// stream_relay: a network namespace as a passt guest, without a virtual
// machine. It makes a tap device in the network namespace it runs in and
// connects it to passt's UNIX stream socket, carrying every Ethernet frame
// as QEMU's `-netdev stream` does: a 32-bit big-endian length, then the
// frame. The namespace's own kernel is the guest's network stack, so real
// clients (iperf3, curl, ping) run as they would in a guest, at a cost per
// frame close to QEMU's (one read or write on the tap, many frames to one
// system call on the socket).
//
//   stream_relay SOCKET [TAP [MTU]]     (defaults: eth0, 65520)
//
// The tap is brought up with the MTU; addresses and routes are the
// caller's (`ip`). Exits 0 when passt closes the socket, 1 on an error or
// a length no frame can have, with one line on standard error.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vector>

namespace {

constexpr size_t kMaxFrame = 65535 + 14;  // an IP packet and its header
constexpr size_t kBufSize = 4 << 20;
constexpr int kFramesPerRound = 64;

int Fail(const char* what) {
  fprintf(stderr, "stream_relay: %s: %s\n", what, strerror(errno));
  return 1;
}

// OpenTap NAME MTU: the tap's descriptor, non-blocking, up, with MTU.
int OpenTap(const char* name, int mtu) {
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) return -1;
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  ifr.ifr_mtu = mtu;
  if (ioctl(s, SIOCSIFMTU, &ifr) < 0) return -1;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return -1;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return -1;
  close(s);
  return fd;
}

// Connect PATH: a connected, non-blocking stream socket; retries for 10 s
// while passt is not listening yet.
int Connect(const char* path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(a.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(a.sun_path, path, strlen(path));
  for (int i = 0; i < 200; ++i) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      fcntl(fd, F_SETFL, O_NONBLOCK);
      const int sz = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
      return fd;
    }
    const int err = errno;
    close(fd);
    if (err != ENOENT && err != ECONNREFUSED) {
      errno = err;
      return -1;
    }
    const timespec ts{0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  errno = ETIMEDOUT;
  return -1;
}

// A byte queue: [begin, end) holds data; compacted when it runs short.
struct Queue {
  std::vector<uint8_t> buf = std::vector<uint8_t>(kBufSize);
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
  size_t room() const { return buf.size() - end; }
  void Compact() {
    if (begin == 0) return;
    memmove(buf.data(), buf.data() + begin, size());
    end -= begin;
    begin = 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: stream_relay SOCKET [TAP [MTU]]\n");
    return 2;
  }
  const char* tap_name = argc > 2 ? argv[2] : "eth0";
  const int mtu = argc > 3 ? atoi(argv[3]) : 65520;
  if (mtu < 68 || mtu > 65520) {
    fprintf(stderr, "stream_relay: MTU %s out of range (68-65520)\n",
            argc > 3 ? argv[3] : "");
    return 2;
  }
  const int tap = OpenTap(tap_name, mtu);
  if (tap < 0) return Fail("tap");
  const int sock = Connect(argv[1]);
  if (sock < 0) return Fail(argv[1]);

  Queue to_sock;    // frames from the tap, each after its length
  Queue from_sock;  // the stream from passt, parsed into frames
  for (;;) {
    // From the tap while the queue to passt has room for a whole frame.
    for (int i = 0; i < kFramesPerRound; ++i) {
      if (to_sock.room() < 4 + kMaxFrame) to_sock.Compact();
      if (to_sock.room() < 4 + kMaxFrame) break;
      uint8_t* p = to_sock.buf.data() + to_sock.end;
      const ssize_t n = read(tap, p + 4, kMaxFrame);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        return Fail("tap read");
      }
      const uint32_t len = htonl(static_cast<uint32_t>(n));
      memcpy(p, &len, 4);
      to_sock.end += 4 + n;
    }
    // To passt, as much as it takes.
    while (to_sock.size() > 0) {
      const ssize_t n = send(sock, to_sock.buf.data() + to_sock.begin,
                             to_sock.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        if (errno == EPIPE || errno == ECONNRESET) return 0;
        return Fail("socket send");
      }
      to_sock.begin += n;
    }
    if (to_sock.size() == 0) to_sock.begin = to_sock.end = 0;
    // From passt: every whole frame to the tap.
    for (int i = 0; i < kFramesPerRound; ++i) {
      if (from_sock.room() < kMaxFrame) from_sock.Compact();
      const ssize_t n = recv(sock, from_sock.buf.data() + from_sock.end,
                             from_sock.room(), 0);
      if (n == 0) return 0;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        if (errno == ECONNRESET) return 0;
        return Fail("socket recv");
      }
      from_sock.end += n;
      while (from_sock.size() >= 4) {
        uint32_t len;
        memcpy(&len, from_sock.buf.data() + from_sock.begin, 4);
        len = ntohl(len);
        if (len == 0 || len > kMaxFrame) {
          fprintf(stderr, "stream_relay: frame length %u from passt\n", len);
          return 1;
        }
        if (from_sock.size() < 4 + len) break;
        // A tap write does not block; a frame the namespace refuses is
        // dropped, as a full virtio queue would drop it.
        if (write(tap, from_sock.buf.data() + from_sock.begin + 4, len) < 0 &&
            errno != EAGAIN && errno != EINVAL)
          return Fail("tap write");
        from_sock.begin += 4 + len;
      }
      if (from_sock.size() == 0) from_sock.begin = from_sock.end = 0;
    }
    // Sleep until there is something to do: the tap only while the queue
    // to passt has room, the socket's write side only while data waits.
    pollfd p[2] = {{tap, 0, 0}, {sock, POLLIN, 0}};
    if (to_sock.size() < kBufSize / 2) p[0].events |= POLLIN;
    if (to_sock.size() > 0) p[1].events |= POLLOUT;
    if (poll(p, 2, -1) < 0 && errno != EINTR) return Fail("poll");
    if (p[1].revents & (POLLHUP | POLLERR) && !(p[1].revents & POLLIN))
      return 0;
  }
}
