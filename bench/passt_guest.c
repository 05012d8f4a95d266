/* passt_guest SOCKET IFNAME: bench/passt.sh's guest. Creates the tap
 * device IFNAME (in the caller's network namespace; needs CAP_NET_ADMIN
 * there), connects to passt's UNIX socket SOCKET and moves Ethernet frames
 * between the two as QEMU's -netdev stream does: each frame on the socket
 * preceded by its length, 32 bits big-endian. A network namespace with
 * this tap is a guest whose kernel TCP runs at full speed, where QEMU
 * under TCG would measure its emulator. Runs until either side closes;
 * exit status 1 with a line on standard error on a failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FRAME_MAX 65536
#define BUF (1 << 20)

static int fail(const char *what) {
  fprintf(stderr, "passt_guest: %s: %s\n", what, strerror(errno));
  return 1;
}

/* Writes all of BUF (the socket is blocking). */
static int write_all(int fd, const unsigned char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static unsigned char from_tap[4 + FRAME_MAX];
static unsigned char from_sock[BUF];
static int tap = -1, sock = -1;

/* The guest's frames to passt, in a thread of its own: a bridge that
 * blocked writing to the socket while passt's frames waited unread would
 * have passt drop them (its socket is non-blocking), the guest's ACKs
 * among them. */
static void *tap_to_socket(void *unused) {
  (void)unused;
  for (;;) {
    ssize_t n = read(tap, from_tap + 4, FRAME_MAX);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) exit(fail("tap read"));
    uint32_t len = htonl((uint32_t)n);
    memcpy(from_tap, &len, 4);
    if (write_all(sock, from_tap, 4 + (size_t)n) != 0)
      exit(fail("socket write"));
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: passt_guest SOCKET IFNAME\n");
    return 2;
  }
  tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (tap < 0) return fail("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[2]);
  if (ioctl(tap, TUNSETIFF, &ifr) != 0) return fail("TUNSETIFF");
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", argv[1]);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0)
    return fail(argv[1]);
  pthread_t t;
  if (pthread_create(&t, NULL, tap_to_socket, NULL) != 0)
    return fail("pthread_create");
  /* passt's frames to the guest. */
  size_t have = 0; /* bytes of from_sock not yet handed to the tap */
  for (;;) {
    ssize_t n = read(sock, from_sock + have, BUF - have);
    if (n == 0) return 0; /* passt closed */
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("socket read");
    }
    have += (size_t)n;
    size_t off = 0;
    while (have - off >= 4) {
      uint32_t len;
      memcpy(&len, from_sock + off, 4);
      len = ntohl(len);
      if (len == 0 || len > FRAME_MAX) {
        errno = EPROTO;
        return fail("frame length");
      }
      if (have - off < 4 + len) break;
      /* A full tap queue drops the frame, as a NIC would. */
      if (write(tap, from_sock + off + 4, len) < 0 && errno != ENOBUFS &&
          errno != EAGAIN)
        return fail("tap write");
      off += 4 + len;
    }
    memmove(from_sock, from_sock + off, have - off);
    have -= off;
  }
}
