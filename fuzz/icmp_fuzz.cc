// libFuzzer target for the ICMP/ICMPv6 echo flows: the input is a script of
// operations run against IcmpFlows over fake ping sockets. Messages from the
// namespace (echo requests to any destination, and anything else), replies
// of any size and content read from the sockets, failing sockets and time
// passing meet in every order. (A full table takes 1024 flows, each found
// by a linear scan: too slow to fuzz; tests/icmp covers it.) Checks: every
// frame towards the namespace is well formed with a valid checksum; no socket
// is used after it was closed; none is left open by the end.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "fake_sys.h"
#include "fuzz_util.h"
#include "icmp/icmp.h"
#include "loop/epoll_ref.h"

namespace {

using pasta::fuzz::Input;

class FakeSockets : public pasta::fake::FakeSys {
 public:
  int open_errno = 0, send_errno = 0;
  std::set<int> open;
  std::map<int, uint32_t> watched;  // fd -> slot
  std::map<int, std::deque<std::vector<uint8_t>>> inbox;

  Result Socket(Netns, int, int, int) override {
    if (open_errno != 0) return pasta::sock::Fail(open_errno);
    open.insert(next_fd_);
    return pasta::sock::Ok(next_fd_++);
  }
  Result SendTo(int fd, int, const uint8_t*, uint16_t,
                absl::Span<const uint8_t> m) override {
    Check(fd);
    if (send_errno != 0) return pasta::sock::Fail(send_errno);
    return pasta::sock::Ok(static_cast<ssize_t>(m.size()));
  }
  Result Recv(int fd, absl::Span<uint8_t> buf) override {
    Check(fd);
    auto& q = inbox[fd];
    if (q.empty()) return pasta::sock::Fail(EAGAIN);
    const std::vector<uint8_t> m = std::move(q.front());
    q.pop_front();
    const size_t n = m.size() < buf.size() ? m.size() : buf.size();
    if (n > 0) std::memcpy(buf.data(), m.data(), n);
    return pasta::sock::Ok(static_cast<ssize_t>(n));
  }
  Result Watch(int fd, uint64_t ref, uint32_t) override {
    Check(fd);
    watched[fd] = pasta::loop::Ref::Unpack(ref).index;
    return pasta::sock::Ok();
  }
  Result Close(int fd) override {
    Check(fd);
    open.erase(fd);
    watched.erase(fd);
    inbox.erase(fd);
    return pasta::sock::Ok();
  }

 private:
  void Check(int fd) const {
    if (open.count(fd) == 0) __builtin_trap();  // closed or never opened
  }
  int next_fd_ = 100;
};

class CheckingSink : public pasta::wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t> f) override {
    pasta::fuzz::CheckFrame(f, 65535);
  }
};

const char* const kAddrs4[] = {"203.0.113.7", "198.51.100.1",   "127.0.0.1",
                               "0.0.0.0",     "224.0.0.1",      "198.51.100.4",
                               "192.0.2.1",   "255.255.255.255"};
const char* const kAddrs6[] = {
    "2001:db8:2::7", "fe80::1",       "::1",         "::",
    "ff02::1",       "2001:db8:1::4", "2001:db8::1", "::ffff:192.0.2.1"};

pasta::IpAddr Ip(const char* s) { return *pasta::ParseIp(s); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pasta::fuzz::QuietLogs();
  Input in{data, size};
  FakeSockets sockets;
  CheckingSink sink;
  pasta::icmp::IcmpConfig cfg;
  const uint8_t conf = in.Byte();
  cfg.enabled4 = !(conf & 1);
  cfg.enabled6 = !(conf & 2);
  cfg.our_mac = *pasta::ParseMac("9a:55:9a:55:9a:55");
  cfg.map.map_host4 = Ip("198.51.100.1");
  cfg.map.map_host6 = Ip("fe80::1");
  cfg.map.map_guest4 = Ip("198.51.100.4");
  cfg.map.guest_host4 = Ip("192.0.2.2");
  cfg.map.map_guest6 = Ip("2001:db8:1::4");
  cfg.map.guest_host6 = Ip("2001:db8::2");
  const pasta::IpAddr ns4 = Ip("198.51.100.2"), ns6 = Ip("2001:db8:1::2");
  {
    pasta::icmp::IcmpFlows flows(cfg, &sockets, &sink,
                                 pasta::flow::SipKey{1, 2});
    static uint8_t msg[65536];
    pasta::Instant now = pasta::Instant::FromClockZero(pasta::Seconds(100));
    for (int step = 0; step < 256 && in.n > 0; ++step) {
      switch (in.Byte() % 6) {
        case 0:
        case 1: {  // a message from the namespace
          const uint8_t b = in.Byte();
          const int family = b & 1 ? AF_INET6 : AF_INET;
          const pasta::IpAddr dst =
              Ip(family == AF_INET ? kAddrs4[(b >> 1) & 7]
                                   : kAddrs6[(b >> 1) & 7]);
          const uint8_t t = in.Byte();
          const uint8_t request = family == AF_INET ? 8 : 128;
          msg[0] = t < 200 ? request : t;
          msg[1] = t < 190 ? 0 : in.Byte();
          pasta::wire::StoreBe16(msg + 2, 0);
          pasta::wire::StoreBe16(msg + 4, in.Byte() & 7);  // identifier
          pasta::wire::StoreBe16(msg + 6, in.U16());
          const uint8_t lb = in.Byte();
          size_t len = lb < 250 ? lb : (in.U16());
          if (len < 4) len = 4 + lb % 5;  // short ones: no echo fields
          if (len > 8) std::memset(msg + 8, 'p', len - 8);
          const auto icmp =
              pasta::wire::IcmpView::Parse(absl::MakeConstSpan(msg, len));
          if (!icmp) __builtin_trap();
          pasta::MacAddr mac;
          mac.bytes[5] = b >> 4;
          flows.FromNamespace(family,
                              (family == AF_INET ? ns4 : ns6).bytes.data(),
                              dst.bytes.data(), *icmp, mac, now);
          break;
        }
        case 2: {  // replies (or anything) arrive on a socket
          if (sockets.watched.empty()) break;
          auto it = sockets.watched.begin();
          std::advance(it, in.Byte() % sockets.watched.size());
          const int count = in.Byte() % 70;
          for (int i = 0; i < count; ++i) {
            const uint8_t lb = in.Byte();
            const size_t len = lb < 250 ? lb : in.U16();
            std::vector<uint8_t> m(len, 'y');
            const uint8_t t = in.Byte();
            if (len > 0) m[0] = t < 128 ? 0 : (t < 250 ? 129 : t);
            if (len > 1) m[1] = in.Byte();
            sockets.inbox[it->first].push_back(std::move(m));
          }
          flows.OnReadable(it->second, now);
          break;
        }
        case 3:  // how the sockets behave next
          sockets.open_errno = in.Byte() & 1 ? EACCES : 0;
          sockets.send_errno = in.Byte() & 1 ? ENETUNREACH : 0;
          break;
        case 4:  // end of a loop iteration (what closed is freed); time passes
          flows.Reap();
          now += pasta::Seconds(in.Byte());
          flows.Expire(now);
          break;
        case 5:  // an event for a stale or unknown slot
          flows.OnReadable(in.U16(), now);
          break;
      }
    }
    now += pasta::icmp::kIdleTimeout;
    flows.Expire(now);
    flows.Reap();
    if (flows.active() != 0) __builtin_trap();
  }
  if (!sockets.open.empty()) __builtin_trap();  // a socket leaked
  return 0;
}
