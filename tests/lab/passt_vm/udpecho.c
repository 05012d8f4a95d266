/* udpecho IP PORT: lab_passt_qemu's guest sends its standard input to an
 * echo server at IP:PORT over UDP, 1000 bytes a datagram, and writes each
 * echo to standard output, so that the caller compares checksums. One
 * datagram in flight; a lost one (or its echo) is sent again, up to five
 * times, a second apart (an echo that differs counts as lost). Exit status
 * 1 with a line on standard error when no right echo comes. busybox's nc
 * has no UDP. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "udpecho: %s\n", what);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) return fail("usage: udpecho IP PORT");
  struct sockaddr_in peer = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &peer.sin_addr) != 1)
    return fail("not an IPv4 address");
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&peer, sizeof(peer)) != 0)
    return fail("socket or connect failed");
  char out[1000], in[2000];
  size_t n;
  while ((n = fread(out, 1, sizeof(out), stdin)) > 0) {
    int tries = 0;
    for (;;) {
      if (++tries > 5) return fail("no echo after 5 tries");
      if (send(s, out, n, 0) != (ssize_t)n) return fail("send failed");
      struct pollfd p = {.fd = s, .events = POLLIN};
      if (poll(&p, 1, 1000) != 1) continue;
      ssize_t got = recv(s, in, sizeof(in), 0);
      if (got < 0) continue;
      /* A late echo of the datagram before, or a damaged one: ask again. */
      if ((size_t)got == n && memcmp(in, out, n) == 0) break;
    }
    fwrite(in, 1, n, stdout);
  }
  return 0;
}
