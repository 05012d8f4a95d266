// Socket addresses to and from the (family, address bytes, port) triples the
// flow code keeps: 4 or 16 address bytes in network order, the port in host
// order. FormatEndpoint() allocates; the rest does not (BindTo, ConnectTo,
// BindToDevice and CloseWithReset are the system calls, nothing more).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace pasta {

// Fills `ss` with `addr` (null: the wildcard address) and `port`. Returns
// the length to pass to bind(2), connect(2) or sendto(2).
inline socklen_t ToSockaddr(int family, const uint8_t* addr, uint16_t port,
                            sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (addr != nullptr) std::memcpy(&sa.sin_addr, addr, 4);
    std::memcpy(ss, &sa, sizeof(sa));
    return sizeof(sa);
  }
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  if (addr != nullptr) std::memcpy(&sa.sin6_addr, addr, 16);
  std::memcpy(ss, &sa, sizeof(sa));
  return sizeof(sa);
}

// The same for the loopback address (127.0.0.1 or ::1).
inline socklen_t LoopbackSockaddr(int family, uint16_t port,
                                  sockaddr_storage* ss) {
  if (family == AF_INET) {
    const in_addr lo{htonl(INADDR_LOOPBACK)};
    uint8_t bytes[4];
    std::memcpy(bytes, &lo, 4);
    return ToSockaddr(AF_INET, bytes, port, ss);
  }
  return ToSockaddr(AF_INET6, in6addr_loopback.s6_addr, port, ss);
}

// Reads family, address and port out of a kernel-filled sockaddr;
// AF_UNSPEC and port 0 for any other family.
inline void FromSockaddr(const sockaddr_storage& ss, int* family,
                         uint8_t* addr, uint16_t* port) {
  if (ss.ss_family == AF_INET) {
    sockaddr_in sa;
    std::memcpy(&sa, &ss, sizeof(sa));
    *family = AF_INET;
    std::memcpy(addr, &sa.sin_addr, 4);
    *port = ntohs(sa.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    sockaddr_in6 sa;
    std::memcpy(&sa, &ss, sizeof(sa));
    *family = AF_INET6;
    std::memcpy(addr, &sa.sin6_addr, 16);
    *port = ntohs(sa.sin6_port);
  } else {
    *family = AF_UNSPEC;
    *port = 0;
  }
}

// bind(2) and connect(2) on such a triple (`addr` null: the wildcard).
// Return 0 or -1 with errno.
inline int BindTo(int fd, int family, const uint8_t* addr, uint16_t port) {
  sockaddr_storage ss;
  const socklen_t len = ToSockaddr(family, addr, port, &ss);
  return bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
}
inline int ConnectTo(int fd, int family, const uint8_t* addr, uint16_t port) {
  sockaddr_storage ss;
  const socklen_t len = ToSockaddr(family, addr, port, &ss);
  return connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
}

// SO_BINDTODEVICE. Returns 0 or -1 with errno.
inline int BindToDevice(int fd, const std::string& ifname) {
  return setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                    static_cast<socklen_t>(ifname.size()));
}

// Closes a TCP socket so that its peer gets RST rather than FIN
// (SO_LINGER with a zero timeout).
inline void CloseWithReset(int fd) {
  const linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(fd);
}

// "198.51.100.2:80" or "[2001:db8::2]:80", for traces.
inline std::string FormatEndpoint(int family, const uint8_t* addr,
                                  uint16_t port) {
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, addr, text, sizeof(text))) return "?";
  // StrCat, not std::string's operator+: GCC 12 at -O3 gives a false
  // -Wrestrict on the latter (GCC PR 105329).
  return family == AF_INET ? absl::StrCat(text, ":", port)
                           : absl::StrCat("[", text, "]:", port);
}

}  // namespace pasta
