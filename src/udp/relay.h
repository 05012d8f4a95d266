// UDP between the two loopbacks, socket to socket, without the tap: -U
// (a port on the namespace's loopback relayed to the host's loopback).
//
// Theory of operation:
// - A relay listener is a UDP socket bound to one side's loopback port
//   (made in the namespace for -U). A datagram from that side's loopback
//   port S starts (or finds) a flow keyed by (listener, S): a socket of the
//   other side, connected to its loopback at the target port. Datagrams go
//   out with send() on it; its replies go back with sendto(S) through the
//   listener, so the client hears from the port it wrote to.
// - Datagrams are read with recvmmsg(), kBatch per wakeup, into
//   preallocated buffers; replies of one wakeup leave in one sendmmsg().
// - Flows idle for kIdleSeconds are closed by Expire(); kMaxFlows at most,
//   new ones refused (counted) when full.
// Registrations: (loop::Kind::kUdpRelay, index): listeners at index
// kRelayListenerBase + i, flows below it.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "flow/flow_index.h"

namespace pasta::udp {

class UdpRelay {
 public:
  static constexpr size_t kMaxFlows = 1024;
  static constexpr uint32_t kListenerBase = 1u << 16;
  static constexpr int64_t kIdleSeconds = 180;
  static constexpr int kBatch = 32;
  static constexpr size_t kMaxDatagram = 65535;

  // `other_side_socket(family)` returns a non-blocking, close-on-exec UDP
  // socket on the side flows connect to (for -U: the host; a plain
  // socket() call), or -1.
  UdpRelay(int epoll_fd, flow::SipKey key,
           std::function<int(int)> other_side_socket);
  ~UdpRelay();
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  // Takes `fd`, a UDP socket bound to a loopback port, whose datagrams go
  // to the other side's loopback port `target`.
  absl::Status AddListener(int fd, int family, uint16_t port, uint16_t target);
  // Epoll event on (kUdpRelay, index).
  void OnReadable(uint32_t index, int64_t now);
  // Closes flows idle for kIdleSeconds.
  void Expire(int64_t now);

  size_t active() const { return index_.size(); }
  struct Counters {
    uint64_t forwarded = 0;  // datagrams listener -> flow socket
    uint64_t replies = 0;    // datagrams flow socket -> listener
    uint64_t dropped = 0;    // table full, socket errors
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Key {
    uint32_t listener;
    uint16_t port;  // the client's port on its loopback
    uint16_t pad = 0;
  };
  struct Flow {
    bool used = false;
    Key key{};
    int fd = -1;
    int64_t last = 0;
  };
  struct Listener {
    int fd = -1;
    int family = 0;
    uint16_t port = 0;
    uint16_t target = 0;
  };

  void ReadListener(uint32_t index, int64_t now);
  void ReadFlow(uint32_t slot, int64_t now);
  int64_t OpenFlow(const Key& key, int64_t now);
  void Close(uint32_t slot);

  int epoll_fd_;
  std::function<int(int)> other_side_socket_;
  flow::FlowIndex<Key, kMaxFlows> index_;
  std::unique_ptr<Flow[]> flows_;
  std::vector<uint32_t> free_;
  std::vector<Listener> listeners_;
  std::unique_ptr<uint8_t[]> bufs_;  // kBatch * kMaxDatagram
  mmsghdr msgs_[kBatch];
  iovec iovs_[kBatch];
  sockaddr_storage addrs_[kBatch];
  Counters counters_;
};

}  // namespace pasta::udp
