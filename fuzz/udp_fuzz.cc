// libFuzzer target for the UDP flow table: the input is a script of
// operations run against UdpFlows over a fake socket layer. Datagrams from
// the namespace (any addresses, ports and sizes), datagrams and ICMP errors
// arriving on host sockets, failing sockets, GSO refused, listeners added
// and removed, and time passing meet in every order. Checks: every frame
// towards the namespace is well formed with valid checksums and fits the
// MTU; no socket is used after it was closed or closed twice; every socket
// opened is closed by the end. The namespace is untrusted.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fake_sys.h"
#include "fuzz_util.h"
#include "loop/epoll_ref.h"
#include "udp/udp.h"

namespace {

// sock_extended_err origins (linux/errqueue.h, which needs <time.h> first).
constexpr uint8_t kOriginLocal = 1, kOriginIcmp = 2, kOriginIcmp6 = 3;

using pasta::fuzz::Input;
using pasta::udp::Datagram;
using pasta::udp::IcmpErrorInfo;

struct Incoming {
  size_t len;
  int family;
  uint8_t addr[16];
  uint16_t port;
};

class FakeSockets : public pasta::fake::FakeSys {
 public:
  int open_errno = 0, bind_errno = 0, connect_errno = 0, send_errno = 0;
  int gso_errno = 0, recv_errno = EAGAIN;
  std::set<int> open;
  std::map<int, uint32_t> watched;  // fd -> flow slot or listener index
  std::set<int> listeners;          // the fds watched as listeners
  std::map<int, std::deque<Incoming>> inbox;
  std::map<int, std::deque<IcmpErrorInfo>> errors;

  Result Socket(Netns, int, int, int) override {
    if (open_errno != 0) return Fail(open_errno);
    open.insert(next_fd_);
    return pasta::sock::Ok(next_fd_++);
  }
  Result SetOpt(int fd, int, int, int) override {
    Check(fd);
    return pasta::sock::Ok();
  }
  Result BindToDevice(int fd, const std::string&) override {
    Check(fd);
    return pasta::sock::Ok();
  }
  Result Bind(int fd, int, const uint8_t*, uint16_t port) override {
    Check(fd);
    if (bind_errno != 0 && (port != 0 || bind_errno != EADDRINUSE))
      return Fail(bind_errno);
    return pasta::sock::Ok();
  }
  Result Connect(int fd, int, const uint8_t*, uint16_t) override {
    Check(fd);
    return connect_errno != 0 ? Fail(connect_errno) : pasta::sock::Ok();
  }
  Result Send(int fd, absl::Span<const uint8_t> p) override {
    Check(fd);
    if (send_errno != 0) return Fail(send_errno);
    return pasta::sock::Ok(static_cast<ssize_t>(p.size()));
  }
  Result SendSegments(int fd, absl::Span<const uint8_t> data,
                      uint16_t segment) override {
    Check(fd);
    if (segment == 0 || data.size() > 65535) __builtin_trap();
    if (gso_errno != 0) return Fail(gso_errno);
    return pasta::sock::Ok(static_cast<ssize_t>(data.size()));
  }
  Result SendTo(int fd, int, const uint8_t*, uint16_t,
                absl::Span<const uint8_t> p) override {
    Check(fd);
    if (send_errno != 0) return Fail(send_errno);
    return pasta::sock::Ok(static_cast<ssize_t>(p.size()));
  }
  Result RecvBatch(int fd, Datagram* batch, int n) override {
    Check(fd);
    auto& q = inbox[fd];
    if (q.empty()) return Fail(recv_errno);
    int i = 0;
    for (; i < n && !q.empty(); ++i) {
      const Incoming m = q.front();
      q.pop_front();
      Datagram& d = batch[i];
      d.len = m.len < d.cap ? m.len : d.cap;
      d.truncated = m.len > d.cap;
      std::memset(d.data, 'r', d.len);
      d.family = m.family;
      std::memcpy(d.addr, m.addr, 16);
      d.port = m.port;
    }
    return pasta::sock::Ok(i);
  }
  Result RecvError(int fd, absl::Span<uint8_t> quoted,
                   IcmpErrorInfo* info) override {
    Check(fd);
    auto& q = errors[fd];
    if (q.empty()) return Fail(EAGAIN);
    IcmpErrorInfo e = q.front();
    q.pop_front();
    if (e.quoted_len > quoted.size()) e.quoted_len = quoted.size();
    std::memset(quoted.data(), 'q', e.quoted_len);
    *info = e;
    return pasta::sock::Ok(static_cast<ssize_t>(e.quoted_len));
  }
  Result Watch(int fd, uint64_t ref, uint32_t) override {
    Check(fd);
    const pasta::loop::Ref r = pasta::loop::Ref::Unpack(ref);
    watched[fd] = r.index;
    if (r.kind == pasta::loop::Kind::kUdpListen) listeners.insert(fd);
    return pasta::sock::Ok();
  }
  Result Close(int fd) override {
    Check(fd);
    open.erase(fd);
    watched.erase(fd);
    listeners.erase(fd);
    inbox.erase(fd);
    errors.erase(fd);
    return pasta::sock::Ok();
  }

 private:
  void Check(int fd) const {
    if (open.count(fd) == 0) __builtin_trap();  // closed or never opened
  }
  static Result Fail(int err) { return pasta::sock::Fail(err); }
  int next_fd_ = 100;
};

class CheckingSink : public pasta::wire::FrameSink {
 public:
  size_t mtu = 0;
  void SendFrame(absl::Span<const uint8_t> f) override {
    // Below 1280 the kernel turns IPv6 off on the tap (RFC 8200 5): such
    // frames would not exist, so only IPv4 is held to the small MTU.
    const bool v6 = f.size() >= 14 && f[12] == 0x86 && f[13] == 0xdd;
    pasta::fuzz::CheckFrame(f, v6 && mtu < 1280 ? 1280 : mtu);
  }
};

// Addresses the script picks from: ours, the gateway (the host), DNS
// forwarding, --map-guest-addr, remote, and invalid destinations.
const char* const kAddrs4[] = {
    "198.51.100.2", "198.51.100.1", "198.51.100.3", "198.51.100.4",
    "203.0.113.7",  "127.0.0.1",    "0.0.0.0",      "255.255.255.255",
    "224.0.0.251",  "192.0.2.9",    "10.0.0.1",     "198.51.100.255"};
const char* const kAddrs6[] = {"2001:db8:1::2",
                               "fe80::1",
                               "2001:db8:1::3",
                               "2001:db8:1::4",
                               "2001:db8:2::7",
                               "::1",
                               "::",
                               "ff02::1",
                               "::ffff:1.2.3.4",
                               "fe80::2c11:22ff:fe33:4455",
                               "2001:db8::99",
                               "2001:db8:2::8"};
const uint16_t kPorts[] = {53, 9000, 40000, 0, 5000, 5001, 67, 547};

pasta::IpAddr Ip(const char* s) { return *pasta::ParseIp(s); }

pasta::IpAddr PickAddr(int family, uint8_t b) {
  return family == AF_INET ? Ip(kAddrs4[b % 12]) : Ip(kAddrs6[b % 12]);
}

uint16_t PickPort(Input& in) {
  const uint8_t b = in.Byte();
  return b < 8 ? kPorts[b] : static_cast<uint16_t>(b << 8 | in.Byte());
}

int PickErrno(uint8_t b) {
  static const int kErrnos[] = {
      0,   0,      0,          EAGAIN, ENOBUFS, ECONNREFUSED,
      EIO, EINVAL, EADDRINUSE, EACCES, EMFILE,  ENETUNREACH};
  return kErrnos[b % 12];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pasta::fuzz::QuietLogs();
  Input in{data, size};
  FakeSockets sockets;
  CheckingSink sink;
  pasta::udp::UdpConfig cfg;
  const uint8_t conf = in.Byte();
  static const int kMtus[] = {68, 576, 1280, 1500, 9000, 65520, 1280, 65520};
  cfg.mtu = kMtus[conf & 7];
  cfg.coalesce = conf & 8;
  cfg.enabled4 = !(conf & 16);
  cfg.enabled6 = !(conf & 32);
  if (!(conf & 64)) {
    cfg.ns_addr4 = Ip("198.51.100.2");
    cfg.ns_addr6 = Ip("2001:db8:1::2");
  }
  cfg.map.map_host4 = Ip("198.51.100.1");
  cfg.map.map_host6 = Ip("fe80::1");
  cfg.map.dns_forward4 = Ip("198.51.100.3");
  cfg.map.dns_target4 = Ip("192.0.2.53");
  cfg.map.dns_forward6 = Ip("2001:db8:1::3");
  cfg.map.dns_target6 = Ip("2001:db8::53");
  cfg.map.map_guest4 = Ip("198.51.100.4");
  cfg.map.guest_host4 = Ip("192.0.2.2");
  if (conf & 128) {
    cfg.out.bind4 = Ip("192.0.2.2");
    cfg.out.bind_if6 = "eth0";
  }
  sink.mtu = static_cast<size_t>(cfg.mtu);
  {
    pasta::udp::UdpFlows flows(cfg, &sockets, &sink, pasta::flow::SipKey{1, 2});
    static uint8_t seg[8 + 65535];
    pasta::Instant now = pasta::Instant::FromClockZero(pasta::Seconds(1000));
    for (int step = 0; step < 512 && in.n > 0; ++step) {
      switch (in.Byte() % 8) {
        case 0:
        case 1: {  // a datagram from the namespace
          const int family = in.Byte() & 1 ? AF_INET6 : AF_INET;
          const uint8_t sel = in.Byte();
          const pasta::IpAddr src = PickAddr(family, sel >> 4 == 0 ? 9 : 0);
          const pasta::IpAddr dst = PickAddr(family, sel);
          const uint16_t sport = PickPort(in), dport = PickPort(in);
          const uint8_t lb = in.Byte();
          size_t len =
              lb < 200 ? lb : (static_cast<size_t>(lb) << 8 | in.Byte());
          if (len > 65535 - 8) len = 65535 - 8;
          pasta::wire::StoreBe16(seg, sport);
          pasta::wire::StoreBe16(seg + 2, dport);
          pasta::wire::StoreBe16(seg + 4, static_cast<uint16_t>(8 + len));
          pasta::wire::StoreBe16(seg + 6, 0);
          std::memset(seg + 8, 'n', len);
          const auto udp =
              pasta::wire::UdpView::Parse(absl::MakeConstSpan(seg, 8 + len));
          if (!udp) __builtin_trap();
          pasta::MacAddr mac;
          mac.bytes[5] = in.Byte() & 3;
          flows.FromNamespace(family, src.bytes.data(), dst.bytes.data(), *udp,
                              mac, now);
          break;
        }
        case 2: {  // datagrams arrive on a socket, which becomes readable
          if (sockets.watched.empty()) break;
          auto it = sockets.watched.begin();
          std::advance(it, in.Byte() % sockets.watched.size());
          const int count = in.Byte() % 40;
          for (int i = 0; i < count; ++i) {
            Incoming m{};
            const uint8_t lb = in.Byte();
            m.len = lb < 250 ? lb : static_cast<size_t>(in.U16());
            m.family = in.Byte() & 1 ? AF_INET6 : AF_INET;
            const pasta::IpAddr a = PickAddr(m.family, in.Byte());
            std::memcpy(m.addr, a.bytes.data(), 16);
            m.port = PickPort(in);
            sockets.inbox[it->first].push_back(m);
          }
          if (sockets.listeners.count(it->first))
            flows.OnListenerReadable(it->second, now);
          else
            flows.OnReadable(it->second, now);
          break;
        }
        case 3: {  // an ICMP error on a socket's error queue
          if (sockets.watched.empty()) break;
          auto it = sockets.watched.begin();
          std::advance(it, in.Byte() % sockets.watched.size());
          const int count = in.Byte() % 40;
          for (int i = 0; i < count; ++i) {
            IcmpErrorInfo e;
            const uint8_t b = in.Byte();
            e.err = b & 1 ? ECONNREFUSED : EHOSTUNREACH;
            e.origin =
                b & 2 ? kOriginIcmp6 : (b & 4 ? kOriginLocal : kOriginIcmp);
            e.type = b & 8 ? in.Byte() : (b & 2 ? 1 : 3);
            e.code = in.Byte() % 20;
            e.family = b & 16 ? AF_INET6 : AF_INET;
            const pasta::IpAddr a = PickAddr(e.family, in.Byte());
            std::memcpy(e.dst, a.bytes.data(), 16);
            e.port = PickPort(in);
            e.quoted_len = b & 32 ? in.U16() : in.Byte();
            sockets.errors[it->first].push_back(e);
          }
          sockets.recv_errno = in.Byte() & 1 ? ECONNREFUSED : EAGAIN;
          if (sockets.listeners.count(it->first))
            flows.OnListenerReadable(it->second, now);
          else
            flows.OnReadable(it->second, now);
          break;
        }
        case 4: {  // how the socket layer behaves next
          sockets.open_errno = PickErrno(in.Byte()) == EMFILE ? EMFILE : 0;
          sockets.bind_errno = PickErrno(in.Byte());
          sockets.connect_errno =
              PickErrno(in.Byte()) == ENETUNREACH ? ENETUNREACH : 0;
          sockets.send_errno = PickErrno(in.Byte());
          sockets.gso_errno = PickErrno(in.Byte());
          break;
        }
        case 5:  // end of a loop iteration (what closed is freed); time passes
          flows.Reap();
          now += pasta::Seconds(in.U16() % 400);
          flows.Expire(now);
          break;
        case 6: {  // listeners come and go
          const uint8_t b = in.Byte();
          const uint16_t host_port = 5000 + (b >> 2) % 3;
          if (b & 1) {
            flows.RemoveListeners(host_port);
          } else {
            const int family = b & 2 ? AF_INET6 : AF_INET;
            const pasta::IpAddr bind = PickAddr(family, 0);
            (void)flows.AddListener(family, (b & 32) ? &bind : nullptr,
                                    host_port, PickPort(in));
          }
          break;
        }
        case 7: {  // end of a tap batch, or a stale or unknown epoll slot
          const uint8_t b = in.Byte();
          if (b & 1) {
            flows.Flush();
          } else {
            if (b & 2)
              flows.OnListenerReadable(b >> 2, now);
            else
              flows.OnReadable(b >> 2, now);
          }
          break;
        }
      }
    }
    flows.Flush();
    flows.Reap();
  }
  if (!sockets.open.empty()) __builtin_trap();  // a socket leaked
  return 0;
}
