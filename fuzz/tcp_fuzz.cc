// libFuzzer target for the TCP translator: the input is a script of
// operations run against TcpFlows over a fake socket layer, so that the
// namespace's segments (any flags, sequence numbers, windows, options and
// payload) meet every state a flow can be in: connecting, established,
// buffering, half-closed, closing. Each step is one opcode byte and its
// arguments. Any crash, sanitizer report or leak is a bug: the namespace is
// untrusted.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "fake_sys.h"
#include "fuzz_util.h"
#include "tcp/tcp.h"
#include "wire/bytes.h"
#include "wire/ip.h"

namespace {

using pasta::tcp::TcpFlows;

using pasta::fuzz::Input;

// Sockets whose behaviour the script sets: how much send() takes, what
// the receive queue holds, and whether connect/peek fail.
class FakeSockets : public pasta::fake::FakeSys {
 public:
  struct Sock {
    std::string rx;
    size_t peek = 0;
    bool eof = false;
  };
  size_t send_limit = 1 << 20;
  int connect_mode = 0;  // 0 immediate, 1 in progress, 2 refused
  int pending_error = 0;
  std::map<int, Sock> socks;
  int next_fd = 100;
  int accept_family = 0;  // AF_INET or AF_INET6: one connection waits

  Result Socket(Netns, int, int, int) override {
    return pasta::sock::Ok(Add());
  }
  Result Bind(int, int, const uint8_t*, uint16_t) override {
    return pasta::sock::Ok();
  }
  Result BindToDevice(int, const std::string&) override {
    return pasta::sock::Ok();
  }
  Result Connect(int, int, const uint8_t*, uint16_t) override {
    if (connect_mode == 0) return pasta::sock::Ok();
    return Fail(connect_mode == 1 ? EINPROGRESS : ECONNREFUSED);
  }
  Result Listen(int) override { return pasta::sock::Ok(); }
  Result Accept(int, int* family, uint8_t* addr, uint16_t* port) override {
    if (accept_family == 0) return Fail(EAGAIN);
    *family = accept_family;
    std::memset(addr, 0, 16);
    addr[0] = accept_family == AF_INET ? 127 : 0x20;
    addr[15] = 1;
    *port = 40000;
    accept_family = 0;
    return pasta::sock::Ok(Add());
  }
  // SO_ERROR.
  Result GetOpt(int, int, int) override {
    return pasta::sock::Ok(pending_error);
  }
  Result Send(int fd, absl::Span<const uint8_t> data) override {
    if (!socks.count(fd)) return Fail(EBADF);
    if (send_limit == 0) return Fail(EAGAIN);
    const size_t n = std::min(send_limit, data.size());
    send_limit -= n;
    return pasta::sock::Ok(static_cast<ssize_t>(n));
  }
  // SO_PEEK_OFF moves the peek offset; other options are taken.
  Result SetOpt(int fd, int level, int name, int value) override {
    if (level == SOL_SOCKET && name == SO_PEEK_OFF)
      socks[fd].peek = static_cast<size_t>(value);
    return pasta::sock::Ok();
  }
  Result Peek(int fd, size_t skip, const iovec* iov, int iovcnt) override {
    Sock& s = socks[fd];
    size_t at = skip != 0 ? skip : s.peek;
    if (at >= s.rx.size()) {
      if (s.eof) return pasta::sock::Ok(0);
      return Fail(EAGAIN);
    }
    size_t copied = 0;
    for (int i = 0; i < iovcnt && at < s.rx.size(); ++i) {
      const size_t n = std::min(iov[i].iov_len, s.rx.size() - at);
      std::memcpy(iov[i].iov_base, s.rx.data() + at, n);
      at += n;
      copied += n;
    }
    if (skip == 0) s.peek = at;
    return pasta::sock::Ok(static_cast<ssize_t>(copied));
  }
  Result Discard(int fd, size_t n) override {
    Sock& s = socks[fd];
    n = std::min(n, s.rx.size());
    s.rx.erase(0, n);
    s.peek = s.peek > n ? s.peek - n : 0;
    return pasta::sock::Ok(static_cast<ssize_t>(n));
  }
  Result ShutdownWrite(int) override { return pasta::sock::Ok(); }
  Result Watch(int, uint64_t, uint32_t) override { return pasta::sock::Ok(); }
  Result Close(int fd) override {
    if (socks.erase(fd) == 0) __builtin_trap();  // closed twice
    return pasta::sock::Ok();
  }
  Result CloseWithReset(int fd) override { return Close(fd); }

 private:
  int Add() {
    socks[next_fd] = Sock{};
    return next_fd++;
  }
  static Result Fail(int err) { return pasta::sock::Fail(err); }
};

class NullSink : public pasta::wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t>) override {}
  bool TrySendFrame(absl::Span<const uint8_t>) override { return accept; }
  bool accept = true;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pasta::fuzz::QuietLogs();
  Input in{data, size};
  FakeSockets sockets;
  NullSink sink;
  pasta::tcp::TcpConfig cfg;
  // MTUs from the IPv4 minimum (68) up to 65520, small ones more often.
  const uint8_t mtu_byte = in.Byte();
  cfg.mtu = mtu_byte < 32 ? 68 + mtu_byte * 46 : 1500 + (mtu_byte - 32) * 287;
  cfg.buffers = 2;  // fewer than flows: the pool runs dry too
  cfg.ns_addr4 = *pasta::ParseIp("10.0.2.15");
  cfg.ns_addr6 = *pasta::ParseIp("2001:db8::15");
  cfg.map.map_host4 = *pasta::ParseIp("10.0.2.2");
  TcpFlows flows(cfg, &sockets, &sink, pasta::flow::SipKey{1, 2});
  (void)flows.AddListener(AF_INET, nullptr, 8080, 80);
  const uint8_t ns4[4] = {10, 0, 2, 15}, remote4[4] = {203, 0, 113, 7};
  uint8_t ns6[16] = {0x20, 0x01, 0x0d, 0xb8}, remote6[16] = {0x20, 0x01, 0x0d,
                                                              0xb8, 0, 2};
  ns6[15] = 0x15;
  remote6[15] = 7;
  pasta::Instant now = pasta::Instant::FromClockZero(pasta::Seconds(1));
  uint8_t seg[2048];
  for (int step = 0; step < 256 && in.n > 0; ++step) {
    switch (in.Byte() % 8) {
      case 0:
      case 1: {  // a segment from the namespace
        const bool v6 = in.Byte() & 1;
        const size_t opt = (in.Byte() % 11) * 4;
        const size_t payload = in.U16() % 1400;
        const size_t len = 20 + opt + payload;
        pasta::wire::StoreBe16(seg, 40000 + in.Byte() % 3);
        pasta::wire::StoreBe16(seg + 2, 80 + in.Byte() % 2);
        pasta::wire::StoreBe32(seg + 4, in.U32());
        pasta::wire::StoreBe32(seg + 8, in.U32());
        seg[12] = static_cast<uint8_t>(((20 + opt) / 4) << 4);
        seg[13] = in.Byte();
        pasta::wire::StoreBe16(seg + 14, in.U16());
        pasta::wire::StoreBe32(seg + 16, 0);
        for (size_t i = 20; i < 20 + opt; ++i) seg[i] = in.Byte();
        std::memset(seg + 20 + opt, 'x', payload);
        const auto view = pasta::wire::TcpView::Parse(
            absl::MakeConstSpan(seg, len));
        if (!view) break;
        flows.FromNamespace(v6 ? AF_INET6 : AF_INET, v6 ? ns6 : ns4,
                            v6 ? remote6 : remote4, *view, pasta::MacAddr{},
                            now);
        flows.Flush(now);
        break;
      }
      case 2: {  // socket readiness on some flow
        const uint32_t slot = in.Byte() % 8;
        uint32_t ev = 0;
        const uint8_t b = in.Byte();
        if (b & 1) ev |= EPOLLIN;
        if (b & 2) ev |= EPOLLOUT;
        if (b & 4) ev |= EPOLLERR;
        if (b & 8) ev |= EPOLLRDHUP;
        if (b & 16) ev |= EPOLLHUP;
        flows.OnSocketEvent(slot, ev, now);
        flows.Flush(now);
        break;
      }
      case 3:  // data (or EOF) arrives on a socket
        if (!sockets.socks.empty()) {
          auto it = sockets.socks.begin();
          std::advance(it, in.Byte() % sockets.socks.size());
          if (in.Byte() & 1) {
            it->second.eof = true;
          } else {
            it->second.rx.append(in.U16() % 200000, 'y');
          }
        }
        break;
      case 4:  // how the socket layer behaves next
        sockets.send_limit = in.U32() % (1 << 21);
        sockets.connect_mode = in.Byte() % 3;
        sockets.pending_error = in.Byte() & 1 ? ECONNRESET : 0;
        sink.accept = (in.Byte() & 3) != 0;
        break;
      case 5:  // time passes
        now += pasta::Milliseconds(in.U16() * 10);
        flows.Tick(now);
        break;
      case 6:  // an inbound connection
        sockets.accept_family = in.Byte() & 1 ? AF_INET6 : AF_INET;
        flows.OnListenerReadable(0, now);
        break;
      case 7:
        flows.Reap();
        break;
    }
  }
  flows.Reap();
  return 0;
}
