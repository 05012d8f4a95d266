// The TCP translator against a fake socket layer, as packet traces: segments
// from the namespace in, socket calls out; socket data, end of stream and
// errors in, segments to the namespace out. Every frame to the namespace is
// parsed with the wire views and its IP and TCP checksums verified.
//
// Sequence numbers in the traces are relative: Ns(n) is the namespace's
// initial sequence number + 1 + n, Ours(n) the same for ours (learnt from the
// SYN-ACK or SYN we send).
#include "tcp/tcp.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fake_sys.h"
#include "gtest/gtest.h"
#include "loop/epoll_ref.h"
#include "test_clock.h"
#include "test_util.h"
#include "wire/ethernet.h"
#include "wire/ip.h"

namespace pasta::tcp {
namespace {

using testing::Bytes;
using testing::Concat;
using testing::FoldedSum;
using testing::Ip;
using testing::kNs4;
using testing::kNs6;
using testing::kNsMac;
using testing::kNsPort;
using testing::kOurMac;
using testing::kRemote4;
using testing::kRemote6;
using testing::kRemotePort;
using testing::MssOption;
using testing::Pattern;
using testing::PseudoSum;
using testing::Segment;
using testing::TcpFrame;
using testing::WindowScaleOption;

constexpr size_t kUnlimited = SIZE_MAX;

Bytes AddrBytes(int family, const uint8_t* a) {
  if (a == nullptr) return {};
  return Bytes(a, a + (family == AF_INET ? 4 : 16));
}

// One socket of the fake, and what was done to it.
struct FakeSocket {
  int family = 0;
  // Set-up.
  bool bound = false;
  Bytes bind_addr;  // empty: wildcard
  uint16_t bind_port = 0;
  int connects = 0;
  Bytes connect_addr;
  uint16_t connect_port = 0;
  bool listening = false;
  bool peek_enabled = false;
  bool watched = false;
  uint32_t slot = 0;
  bool listener = false;
  // SO_ERROR: returned (and cleared) by PendingError(), and by the next
  // Send() or Peek() as the kernel does.
  int pending_error = 0;
  // Namespace -> socket: Send() takes at most `send_limit` more bytes, then
  // fails with EAGAIN.
  size_t send_limit = kUnlimited;
  int send_calls = 0;
  std::string written;
  // Socket -> namespace: the receive queue, the peek offset (SO_PEEK_OFF),
  // and whether the peer's FIN follows the queued bytes.
  std::string rx;
  size_t peek_off = 0;
  bool eof = false;
  std::vector<size_t> peek_skips;  // `skip` of every Peek()
  std::vector<size_t> discards;    // `n` of every Discard()
  size_t discarded = 0;
  // Shutdown and close.
  int shutdowns = 0;
  size_t written_at_shutdown = 0;
  int closes = 0;
  bool reset = false;
  // Listeners: connections waiting for Accept().
  struct Incoming {
    int family;
    Bytes addr;
    uint16_t port;
    std::string rx;  // already in the new socket's receive queue
  };
  std::deque<Incoming> backlog;
};

// The socket layer, faked faithfully enough for the kernel's behaviour to
// matter: peek offsets move as SO_PEEK_OFF does, a pending error is returned
// once, sending after shutdown fails, and any call on a closed fd fails the
// test.
class FakeTcpSockets : public fake::FakeSys {
 public:
  Result Socket(Netns where, int family, int type, int protocol) override {
    EXPECT_EQ(where, Netns::kHost);
    EXPECT_EQ(type, SOCK_STREAM);
    EXPECT_EQ(protocol, IPPROTO_TCP);
    if (refuse_open) return sock::Fail(EMFILE);
    const int fd = next_fd++;
    fds[fd].family = family;
    opened.push_back(fd);
    return sock::Ok(fd);
  }
  // SO_PEEK_OFF as the kernel has it: the first call on a socket turns it
  // on (or fails where the kernel lacks it), later ones move the offset.
  Result SetOpt(int fd, int level, int name, int value) override {
    FakeSocket& s = Get(fd, "SetOpt");
    if (level != SOL_SOCKET || name != SO_PEEK_OFF) return sock::Ok();
    if (!s.peek_enabled) {
      if (!peek_tried.insert(fd).second) {
        ADD_FAILURE() << "SetPeekOffset() on fd " << fd
                      << " without SO_PEEK_OFF";
        return sock::Fail(EINVAL);
      }
      if (!peek_off_supported) return sock::Fail(EINVAL);
      s.peek_enabled = true;
    }
    s.peek_off = static_cast<size_t>(value);
    return sock::Ok();
  }
  Result BindToDevice(int fd, const std::string&) override {
    Get(fd, "BindToDevice");
    return sock::Ok();
  }
  Result Bind(int fd, int family, const uint8_t* addr, uint16_t port) override {
    FakeSocket& s = Get(fd, "Bind");
    s.bound = true;
    s.bind_addr = AddrBytes(family, addr);
    s.bind_port = port;
    return sock::Ok();
  }
  Result Connect(int fd, int family, const uint8_t* addr,
                 uint16_t port) override {
    FakeSocket& s = Get(fd, "Connect");
    ++s.connects;
    s.connect_addr = AddrBytes(family, addr);
    s.connect_port = port;
    if (connect_errno == 0) return sock::Ok();
    return sock::Fail(connect_errno);
  }
  Result Listen(int fd) override {
    Get(fd, "Listen").listening = true;
    return sock::Ok();
  }
  Result Accept(int fd, int* family, uint8_t* addr, uint16_t* port) override {
    FakeSocket& l = Get(fd, "Accept");
    if (l.backlog.empty()) return sock::Fail(EAGAIN);
    const FakeSocket::Incoming in = l.backlog.front();
    l.backlog.pop_front();
    const int nfd = next_fd++;
    FakeSocket& s = fds[nfd];
    s.family = in.family;
    s.rx = in.rx;
    *family = in.family;
    std::memcpy(addr, in.addr.data(), in.addr.size());
    *port = in.port;
    accepted.push_back(nfd);
    return sock::Ok(nfd);
  }
  // SO_ERROR: the pending error, cleared.
  Result GetOpt(int fd, int level, int name) override {
    FakeSocket& s = Get(fd, "GetOpt");
    EXPECT_EQ(level, SOL_SOCKET);
    EXPECT_EQ(name, SO_ERROR);
    const int e = s.pending_error;
    s.pending_error = 0;
    return sock::Ok(e);
  }
  Result Send(int fd, absl::Span<const uint8_t> data) override {
    FakeSocket& s = Get(fd, "Send");
    ++s.send_calls;
    if (s.pending_error != 0) {
      const int e = s.pending_error;
      s.pending_error = 0;
      return sock::Fail(e);
    }
    if (s.shutdowns > 0) {
      ADD_FAILURE() << "Send() on fd " << fd << " after ShutdownWrite()";
      return sock::Fail(EPIPE);
    }
    if (s.send_limit == 0) return sock::Fail(EAGAIN);
    const size_t n = std::min(data.size(), s.send_limit);
    if (s.send_limit != kUnlimited) s.send_limit -= n;
    s.written.append(reinterpret_cast<const char*>(data.data()), n);
    return sock::Ok(static_cast<ssize_t>(n));
  }
  // As recv(MSG_PEEK): with SO_PEEK_OFF the kernel starts at the peek
  // offset (and a `skip` would skip further), and moves the offset on.
  Result Peek(int fd, size_t skip, const iovec* iov, int iovcnt) override {
    FakeSocket& s = Get(fd, "Peek");
    s.peek_skips.push_back(skip);
    if (s.pending_error != 0) {
      const int e = s.pending_error;
      s.pending_error = 0;
      return sock::Fail(e);
    }
    const size_t start = (s.peek_enabled ? s.peek_off : 0) + skip;
    if (start >= s.rx.size()) {
      if (s.eof) return sock::Ok(0);
      return sock::Fail(EAGAIN);
    }
    size_t n = 0;
    for (int i = 0; i < iovcnt && start + n < s.rx.size(); ++i) {
      const size_t len = std::min(iov[i].iov_len, s.rx.size() - start - n);
      std::memcpy(iov[i].iov_base, s.rx.data() + start + n, len);
      n += len;
    }
    if (s.peek_enabled) s.peek_off += n;
    return sock::Ok(static_cast<ssize_t>(n));
  }
  // As recv(MSG_TRUNC): the kernel moves the peek offset back by what it
  // removed.
  Result Discard(int fd, size_t n) override {
    FakeSocket& s = Get(fd, "Discard");
    s.discards.push_back(n);
    const size_t m = std::min(n, s.rx.size());
    if (n > s.rx.size())
      ADD_FAILURE() << "Discard(" << n << ") on fd " << fd << " holding only "
                    << s.rx.size() << " bytes";
    s.rx.erase(0, m);
    s.discarded += m;
    if (s.peek_enabled) s.peek_off = s.peek_off > m ? s.peek_off - m : 0;
    return sock::Ok(static_cast<ssize_t>(m));
  }
  Result ShutdownWrite(int fd) override {
    FakeSocket& s = Get(fd, "ShutdownWrite");
    if (s.shutdowns++ == 0) s.written_at_shutdown = s.written.size();
    return sock::Ok();
  }
  Result Watch(int fd, uint64_t ref, uint32_t events) override {
    FakeSocket& s = Get(fd, "Watch");
    if (s.watched) ADD_FAILURE() << "fd " << fd << " watched twice";
    const loop::Ref r = loop::Ref::Unpack(ref);
    EXPECT_EQ(r.fd, fd);
    s.watched = true;
    s.slot = r.index;
    s.listener = r.kind == loop::Kind::kTcpListen;
    if (!s.listener) {
      EXPECT_EQ(r.kind, loop::Kind::kTcpSock);
      EXPECT_NE(events & EPOLLET, 0u) << "flow sockets are edge-triggered";
    }
    return sock::Ok();
  }
  Result Close(int fd) override { return CloseAs(fd, false); }
  Result CloseWithReset(int fd) override { return CloseAs(fd, true); }
  Result CloseAs(int fd, bool reset) {
    FakeSocket& s = Get(fd, "Close");
    ++s.closes;
    s.reset = reset;
    return sock::Ok();
  }

  // The state of `fd`; a call on an unknown or closed fd fails the test.
  FakeSocket& Get(int fd, const char* call) {
    auto it = fds.find(fd);
    if (it == fds.end()) {
      ADD_FAILURE() << call << "() on unknown fd " << fd;
      return fds[fd];
    }
    if (it->second.closes > 0)
      ADD_FAILURE() << call << "() on fd " << fd << " after Close()";
    return it->second;
  }

  bool refuse_open = false;
  bool peek_off_supported = true;
  int connect_errno = EINPROGRESS;  // 0: connect() succeeds at once
  int next_fd = 100;
  std::vector<int> opened, accepted;
  std::map<int, FakeSocket> fds;
  std::set<int> peek_tried;  // SO_PEEK_OFF asked for
};

// Records the frames to the namespace; can refuse some as a full tap would.
class FrameLog : public wire::FrameSink {
 public:
  void SendFrame(absl::Span<const uint8_t> f) override {
    frames.emplace_back(f.begin(), f.end());
  }
  bool TrySendFrame(absl::Span<const uint8_t> f) override {
    if (refuse > 0) {
      --refuse;
      ++refused;
      return false;
    }
    SendFrame(f);
    return true;
  }
  std::vector<Bytes> frames;
  int refuse = 0;  // refuse this many TrySendFrame() calls
  int refused = 0;
};

std::string FlagNames(uint8_t f) {
  static constexpr struct {
    uint8_t bit;
    const char* name;
  } kNames[] = {{kSyn, "SYN"}, {kFin, "FIN"}, {kRst, "RST"}, {kPsh, "PSH"},
                {kAck, "ACK"}, {0x20, "URG"}, {0x40, "ECE"}, {0x80, "CWR"}};
  std::string s;
  for (const auto& n : kNames) {
    if ((f & n.bit) == 0) continue;
    if (!s.empty()) s += "|";
    s += n.name;
  }
  return s.empty() ? "none" : s;
}

// A segment to the namespace, as parsed.
struct Out {
  bool ok = false;
  Bytes src, dst;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;
  bool sack_permitted = false;
  std::vector<std::pair<uint32_t, uint32_t>> sack;  // blocks, in order
  std::string payload;
};

class TcpTest : public ::testing::Test {
 protected:
  TcpTest() {
    cfg_.our_mac = kOurMac;
    cfg_.ns_addr4 = Ip(kNs4);
    cfg_.ns_addr6 = Ip(kNs6);
    cfg_.mtu = 1500;
    Make();
  }

  // (Re)creates the flows from cfg_.
  void Make() {
    flows_.reset();
    flows_ = std::make_unique<TcpFlows>(cfg_, &sockets_, &sink_,
                                        flow::SipKey{11, 12});
  }

  void UseIpv6() {
    ns_ = kNs6;
    peer_ = kRemote6;
  }
  int family() const { return ns_.size() == 4 ? AF_INET : AF_INET6; }

  // Sequence numbers relative to the initial ones (wrapping as TCP does).
  uint32_t Ns(uint32_t n) const { return ns_isn_ + 1 + n; }
  uint32_t Ours(uint32_t n) const { return our_isn_ + 1 + n; }

  // A segment from the namespace (ns_:ns_port_ to peer_:peer_port_), parsed
  // with the wire views as the tap does, handed to FromNamespace().
  bool FromNamespaceInBatch(uint8_t flags, uint32_t seq, uint32_t ack,
                            std::string_view payload = {},
                            uint16_t window = 65535,
                            const Bytes& options = {}) {
    const Bytes frame = TcpFrame(
        ns_, ns_port_, peer_, peer_port_,
        Segment{flags, seq, ack, window, options, std::string(payload)});
    const auto eth = wire::EthernetView::Parse(frame);
    const uint8_t* src;
    const uint8_t* dst;
    absl::Span<const uint8_t> l4;
    if (family() == AF_INET) {
      const auto ip = wire::Ipv4View::Parse(eth->payload());
      if (!ip) ADD_FAILURE() << "test frame does not parse";
      src = ip->src();
      dst = ip->dst();
      l4 = ip->payload();
    } else {
      const auto ip = wire::Ipv6View::Parse(eth->payload());
      if (!ip) ADD_FAILURE() << "test frame does not parse";
      src = ip->src();
      dst = ip->dst();
      l4 = ip->payload();
    }
    const auto tcp = wire::TcpView::Parse(l4);
    if (!tcp) ADD_FAILURE() << "test segment does not parse";
    return flows_->FromNamespace(family(), src, dst, *tcp, kNsMac, now_);
  }
  // The same as a batch of one: the tap calls Flush() after it.
  bool FromNamespace(uint8_t flags, uint32_t seq, uint32_t ack,
                     std::string_view payload = {}, uint16_t window = 65535,
                     const Bytes& options = {}) {
    const bool handled =
        FromNamespaceInBatch(flags, seq, ack, payload, window, options);
    flows_->Flush(now_);
    return handled;
  }

  // Epoll events on `fd`'s socket, at the slot it was registered with, and
  // the Flush() the loop does at the end of each iteration.
  void SocketEvent(int fd, uint32_t events) {
    const FakeSocket& s = sockets_.fds.at(fd);
    if (!s.watched) ADD_FAILURE() << "event for fd " << fd << ", not watched";
    flows_->OnSocketEvent(s.slot, events, now_);
    flows_->Flush(now_);
  }
  // Bytes arriving on `fd` (and the peer's FIN after them, with `eof`).
  void SocketData(int fd, std::string_view data, bool eof = false) {
    FakeSocket& s = sockets_.fds.at(fd);
    s.rx.append(data);
    s.eof = s.eof || eof;
    SocketEvent(fd, EPOLLIN | (eof ? static_cast<uint32_t>(EPOLLRDHUP) : 0u));
  }
  FakeSocket& Sock(int fd) { return sockets_.fds.at(fd); }

  // "SYN|ACK seq=<raw>(Ours+n) ack=<raw>(Ns+n) win=.. len=..", for messages.
  std::string Describe(const Out& o) const {
    std::string s = FlagNames(o.flags);
    s += " seq=" + std::to_string(o.seq) + "(Ours+" +
         std::to_string(static_cast<uint32_t>(o.seq - our_isn_ - 1)) + ")";
    s += " ack=" + std::to_string(o.ack) + "(Ns+" +
         std::to_string(static_cast<uint32_t>(o.ack - ns_isn_ - 1)) + ")";
    s += " win=" + std::to_string(o.window);
    s += " len=" + std::to_string(o.payload.size());
    if (o.mss) s += " mss=" + std::to_string(*o.mss);
    if (o.wscale) s += " ws=" + std::to_string(*o.wscale);
    return s;
  }

  // Parses frame `i` to the namespace and checks what every one of them
  // must satisfy: size within the MTU, MAC and IP addresses, ports, the IPv4
  // header checksum (the view checks it), the TCP checksum.
  Out Parse(size_t i) {
    const Bytes& f = sink_.frames[i];
    SCOPED_TRACE("frame #" + std::to_string(i) + " to the namespace");
    Out o;
    EXPECT_LE(f.size(), 14u + static_cast<size_t>(cfg_.mtu));
    const auto eth = wire::EthernetView::Parse(f);
    if (!eth) {
      ADD_FAILURE() << "shorter than an Ethernet header";
      return o;
    }
    EXPECT_EQ(Bytes(eth->dst(), eth->dst() + 6),
              Bytes(kNsMac.bytes.begin(), kNsMac.bytes.end()));
    EXPECT_EQ(Bytes(eth->src(), eth->src() + 6),
              Bytes(kOurMac.bytes.begin(), kOurMac.bytes.end()));
    absl::Span<const uint8_t> l4;
    if (family() == AF_INET) {
      EXPECT_EQ(eth->ethertype(), wire::kEtherTypeIpv4);
      const auto ip = wire::Ipv4View::Parse(eth->payload());
      if (!ip) {
        ADD_FAILURE() << "IPv4 header invalid (length or checksum)";
        return o;
      }
      EXPECT_EQ(ip->protocol(), wire::kProtoTcp);
      EXPECT_EQ(ip->total_len(), f.size() - 14) << "padding or truncation";
      EXPECT_FALSE(ip->is_fragment());
      o.src = Bytes(ip->src(), ip->src() + 4);
      o.dst = Bytes(ip->dst(), ip->dst() + 4);
      l4 = ip->payload();
    } else {
      EXPECT_EQ(eth->ethertype(), wire::kEtherTypeIpv6);
      const auto ip = wire::Ipv6View::Parse(eth->payload());
      if (!ip) {
        ADD_FAILURE() << "IPv6 header invalid";
        return o;
      }
      EXPECT_EQ(ip->protocol(), wire::kProtoTcp);
      EXPECT_EQ(ip->payload().size() + 40, f.size() - 14);
      o.src = Bytes(ip->src(), ip->src() + 16);
      o.dst = Bytes(ip->dst(), ip->dst() + 16);
      l4 = ip->payload();
    }
    EXPECT_EQ(o.src, peer_);
    EXPECT_EQ(o.dst, ns_);
    const Bytes seg(l4.begin(), l4.end());
    EXPECT_EQ(FoldedSum(seg, PseudoSum(o.src, o.dst, seg.size())), 0xffff)
        << "TCP checksum";
    const auto tcp = wire::TcpView::Parse(l4);
    if (!tcp) {
      ADD_FAILURE() << "TCP header invalid";
      return o;
    }
    o.sport = tcp->src_port();
    o.dport = tcp->dst_port();
    EXPECT_EQ(o.sport, peer_port_);
    EXPECT_EQ(o.dport, ns_port_);
    o.seq = tcp->seq();
    o.ack = tcp->ack();
    o.flags = tcp->flags();
    o.window = tcp->window();
    EXPECT_EQ(seg[12] & 0x0f, 0) << "reserved bits";
    const auto opt = tcp->options();
    for (size_t at = 0; at < opt.size();) {
      if (opt[at] == 0) break;
      if (opt[at] == 1) {
        ++at;
        continue;
      }
      if (at + 1 >= opt.size() || opt[at + 1] < 2 ||
          at + opt[at + 1] > opt.size()) {
        ADD_FAILURE() << "malformed option at " << at;
        break;
      }
      if (opt[at] == 2 && opt[at + 1] == 4)
        o.mss = static_cast<uint16_t>(opt[at + 2] << 8 | opt[at + 3]);
      if (opt[at] == 3 && opt[at + 1] == 3) o.wscale = opt[at + 2];
      if (opt[at] == 4 && opt[at + 1] == 2) o.sack_permitted = true;
      if (opt[at] == 5) {
        for (size_t b = at + 2; b + 8 <= at + opt[at + 1]; b += 8)
          o.sack.emplace_back(wire::LoadBe32(opt.data() + b),
                              wire::LoadBe32(opt.data() + b + 4));
      }
      at += opt[at + 1];
    }
    o.payload.assign(tcp->payload().begin(), tcp->payload().end());
    o.ok = true;
    return o;
  }

  // The next frame to the namespace (a failure if there is none).
  Out NextFrame() {
    if (next_ >= sink_.frames.size()) {
      ADD_FAILURE() << "no frame to the namespace (" << next_ << " so far)";
      return Out{};
    }
    return Parse(next_++);
  }

  // The next frame must have `flags` (PSH aside) and, where given, this
  // sequence and acknowledgement number. Returns it for further checks.
  Out ExpectToNamespace(uint8_t flags, std::optional<uint32_t> seq,
                        std::optional<uint32_t> ack) {
    const size_t index = next_;
    const Out o = NextFrame();
    if (!o.ok) return o;
    const std::string where =
        "frame #" + std::to_string(index) + ": " + Describe(o);
    EXPECT_EQ(FlagNames(o.flags & ~kPsh), FlagNames(flags)) << where;
    if (seq) {
      EXPECT_EQ(o.seq, *seq) << where << "; expected seq Ours+"
                             << static_cast<uint32_t>(*seq - our_isn_ - 1);
    }
    if (ack) {
      EXPECT_EQ(o.ack, *ack) << where << "; expected ack Ns+"
                             << static_cast<uint32_t>(*ack - ns_isn_ - 1);
    }
    return o;
  }
  // A data segment: ACK (PSH, FIN allowed by `flags`) with `payload`.
  Out ExpectData(uint32_t seq, uint32_t ack, std::string_view payload,
                 uint8_t flags = kAck) {
    const Out o = ExpectToNamespace(flags, seq, ack);
    if (o.ok) {
      EXPECT_EQ(o.payload, payload) << Describe(o);
    }
    return o;
  }

  void ExpectNothingToNamespace() {
    for (; next_ < sink_.frames.size(); ++next_)
      ADD_FAILURE() << "unexpected frame #" << next_ << ": "
                    << Describe(Parse(next_));
  }
  // Every frame not looked at yet.
  std::vector<Out> Drain() {
    std::vector<Out> all;
    while (next_ < sink_.frames.size()) all.push_back(Parse(next_++));
    return all;
  }
  // Data segments so far, checked to be in order from `offset` (relative
  // to Ours(0)) with the content Pattern() gives there, each at most `mss`
  // bytes. Returns the offset after them.
  size_t ExpectStream(size_t offset, size_t mss) {
    for (const Out& o : Drain()) {
      EXPECT_EQ(o.flags & (kSyn | kRst), 0) << Describe(o);
      if (o.payload.empty()) continue;
      EXPECT_EQ(o.seq, Ours(static_cast<uint32_t>(offset))) << Describe(o);
      EXPECT_LE(o.payload.size(), mss) << Describe(o);
      EXPECT_EQ(o.payload, Pattern(offset, o.payload.size())) << Describe(o);
      offset += o.payload.size();
    }
    return offset;
  }

  // The namespace's SYN options in Establish(): MSS 1000, window scale 0
  // (so that its windows are plain bytes, and ours are scaled).
  static Bytes DefaultSynOptions() {
    return Concat(MssOption(1000), WindowScaleOption(0));
  }
  // The outbound handshake (connect in progress, then EPOLLOUT): returns
  // the socket's fd. The namespace's ACK advertises `window`.
  int Establish(uint16_t window = 65535,
                const Bytes& syn_options = DefaultSynOptions()) {
    const size_t before = sockets_.opened.size();
    EXPECT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, syn_options));
    if (sockets_.opened.size() != before + 1) {
      ADD_FAILURE() << "the SYN opened no socket";
      return -1;
    }
    const int fd = sockets_.opened.back();
    SocketEvent(fd, EPOLLOUT);
    const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
    our_isn_ = syn_ack.seq;
    FromNamespace(kAck, Ns(0), Ours(0), {}, window);
    ExpectNothingToNamespace();
    return fd;
  }

  // A connection from `peer`:`port` accepted on the listener `lfd`: returns
  // the accepted socket's fd once our SYN went to the namespace.
  int Accept(int lfd, const Bytes& peer, uint16_t port, uint16_t ns_port,
             std::string early_data = {}) {
    Sock(lfd).backlog.push_back(
        {peer.size() == 4 ? AF_INET : AF_INET6, peer, port, early_data});
    peer_ = peer;
    peer_port_ = port;
    ns_port_ = ns_port;
    flows_->OnListenerReadable(Sock(lfd).slot, now_);
    const Out syn = ExpectToNamespace(kSyn, std::nullopt, std::nullopt);
    our_isn_ = syn.seq;
    EXPECT_EQ(syn.mss, cfg_.mtu - 40);
    EXPECT_EQ(syn.wscale, kWindowScale);
    EXPECT_TRUE(syn.payload.empty());
    if (sockets_.accepted.empty()) return -1;
    return sockets_.accepted.back();
  }

  const Counters& counters() const { return flows_->counters(); }

  TcpConfig cfg_;
  FakeTcpSockets sockets_;
  FrameLog sink_;
  std::unique_ptr<TcpFlows> flows_;
  Bytes ns_ = kNs4;
  Bytes peer_ = kRemote4;
  uint16_t ns_port_ = kNsPort;
  uint16_t peer_port_ = kRemotePort;
  uint32_t ns_isn_ = 1'000'000;
  uint32_t our_isn_ = 0;
  Instant now_ = AtMs(1'000);
  size_t next_ = 0;  // next frame in sink_ to look at
};

// --- Outbound handshake -----------------------------------------------------

TEST_F(TcpTest, OutboundHandshakeWaitsForTheConnectThenEstablishes) {
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240,
                            Concat(MssOption(1000), WindowScaleOption(7))));
  ASSERT_EQ(sockets_.opened.size(), 1u);
  const int fd = sockets_.opened[0];
  FakeSocket& s = Sock(fd);
  EXPECT_EQ(s.family, AF_INET);
  EXPECT_EQ(s.connects, 1);
  EXPECT_EQ(s.connect_addr, kRemote4);
  EXPECT_EQ(s.connect_port, kRemotePort);
  EXPECT_FALSE(s.bound);  // no -o: the kernel picks the source
  EXPECT_TRUE(s.watched);
  EXPECT_FALSE(s.listener);
  EXPECT_LT(s.slot, kMaxFlows);
  EXPECT_EQ(flows_->active(), 1u);
  ExpectNothingToNamespace();  // connect() in progress: no SYN-ACK yet

  SocketEvent(fd, EPOLLOUT);  // connected, SO_ERROR 0
  const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
  EXPECT_EQ(syn_ack.mss, 1500 - 40);
  EXPECT_EQ(syn_ack.wscale, kWindowScale);
  EXPECT_GT(syn_ack.window, 0);
  EXPECT_TRUE(syn_ack.payload.empty());
  ExpectNothingToNamespace();
  our_isn_ = syn_ack.seq;

  FromNamespace(kAck, Ns(0), Ours(0), {}, 502);
  ExpectNothingToNamespace();  // nothing to answer
  EXPECT_EQ(counters().flows_opened, 1u);
  // Established: data goes through.
  FromNamespace(kAck | kPsh, Ns(0), Ours(0), "GET / HTTP/1.0\r\n\r\n", 502);
  EXPECT_EQ(s.written, "GET / HTTP/1.0\r\n\r\n");
  ExpectToNamespace(kAck, Ours(0), Ns(18));
  ExpectNothingToNamespace();
}

TEST_F(TcpTest, SynWithoutWindowScaleGetsNoneAndUnscaledWindows) {
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, MssOption(1000)));
  const int fd = sockets_.opened.at(0);
  SocketEvent(fd, EPOLLOUT);
  const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
  EXPECT_FALSE(syn_ack.wscale.has_value()) << "RFC 7323 1.3: only if offered";
  our_isn_ = syn_ack.seq;
  FromNamespace(kAck, Ns(0), Ours(0), {}, 1500);  // 1500 bytes, not scaled
  FromNamespace(kAck, Ns(0), Ours(0), "x", 1500);
  const Out ack = ExpectToNamespace(kAck, Ours(0), Ns(1));
  EXPECT_EQ(ack.window, 65535) << "our free space, capped, not scaled";
  SocketData(fd, Pattern(0, 4000));
  ExpectData(Ours(0), Ns(1), Pattern(0, 1000));
  ExpectData(Ours(1000), Ns(1), Pattern(1000, 500));
  ExpectNothingToNamespace();
}

TEST_F(TcpTest, ConnectSucceedingAtOnceSendsOneSynAck) {
  sockets_.connect_errno = 0;
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  // Sent at once, or on the EPOLLOUT that the registration reports.
  if (sink_.frames.empty()) SocketEvent(fd, EPOLLOUT);
  const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
  our_isn_ = syn_ack.seq;
  SocketEvent(fd, EPOLLOUT);  // edge-triggered: reported (again)
  ExpectNothingToNamespace();
  FromNamespace(kAck, Ns(0), Ours(0), "hi");
  EXPECT_EQ(Sock(fd).written, "hi");
  ExpectToNamespace(kAck, Ours(0), Ns(2));
}

TEST_F(TcpTest, ConnectRefusedAtOnceResetsTheSyn) {
  sockets_.connect_errno = ECONNREFUSED;
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  // RFC 9293 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  ExpectToNamespace(kRst | kAck, std::nullopt, Ns(0));
  ExpectNothingToNamespace();
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(counters().connect_failed, 1u);
  EXPECT_EQ(counters().resets_to_ns, 1u);
}

TEST_F(TcpTest, ConnectRefusedLaterResetsTheSynAndClosesAtReap) {
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  ExpectNothingToNamespace();
  Sock(fd).pending_error = ECONNREFUSED;
  SocketEvent(fd, EPOLLOUT | EPOLLERR | EPOLLHUP);
  ExpectToNamespace(kRst | kAck, std::nullopt, Ns(0));
  ExpectNothingToNamespace();
  EXPECT_EQ(Sock(fd).closes, 0) << "closing is deferred to Reap()";
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(counters().connect_failed, 1u);
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 1);
}

TEST_F(TcpTest, RetransmittedSynOpensNoSecondSocket) {
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  now_ += Milliseconds(1000);
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  EXPECT_EQ(sockets_.opened.size(), 1u);
  EXPECT_EQ(flows_->active(), 1u);
  SocketEvent(sockets_.opened[0], EPOLLOUT);
  const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
  // Our SYN-ACK lost: the namespace's SYN again gets it again (same ISN).
  now_ += Milliseconds(1000);
  FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions());
  EXPECT_EQ(sockets_.opened.size(), 1u);
  for (const Out& o : Drain()) {
    EXPECT_EQ(o.flags & kRst, 0) << "a retransmitted SYN is not an error";
    if (o.flags & kSyn) {
      EXPECT_EQ(o.seq, syn_ack.seq);
    }
  }
}

TEST_F(TcpTest, DataInTheHandshakeAckIsWritten) {
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  SocketEvent(fd, EPOLLOUT);
  our_isn_ = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0)).seq;
  FromNamespace(kAck | kPsh, Ns(0), Ours(0), "hello");
  EXPECT_EQ(Sock(fd).written, "hello");
  ExpectToNamespace(kAck, Ours(0), Ns(5));
  ExpectNothingToNamespace();
}

TEST_F(TcpTest, ServerDataBeforeTheHandshakeEndsIsSentOnceEstablished) {
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  // The server speaks first (SMTP): its banner is there as the connect
  // completes, and edge-triggered epoll will not report it again.
  Sock(fd).rx = "220 ready\r\n";
  SocketEvent(fd, EPOLLOUT | EPOLLIN);
  our_isn_ = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0)).seq;
  FromNamespace(kAck, Ns(0), Ours(0));
  std::string data;
  for (const Out& o : Drain()) {
    EXPECT_EQ(o.seq, Ours(static_cast<uint32_t>(data.size()))) << Describe(o);
    data += o.payload;
  }
  EXPECT_EQ(data, "220 ready\r\n") << "the banner, without a new event";
}

TEST_F(TcpTest, BindAddressIsUsedForOutboundSockets) {
  cfg_.out.bind4 = Ip({192, 0, 2, 1});
  Make();
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const FakeSocket& s = Sock(sockets_.opened.at(0));
  EXPECT_TRUE(s.bound);
  EXPECT_EQ(s.bind_addr, Bytes({192, 0, 2, 1}));
  EXPECT_EQ(s.connects, 1);
}

TEST_F(TcpTest, MappedHostAddressConnectsToLoopback) {
  cfg_.map.map_host4 = Ip({10, 0, 2, 2});
  Make();
  peer_ = {10, 0, 2, 2};
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  EXPECT_EQ(Sock(fd).connect_addr, Bytes({127, 0, 0, 1}));
  SocketEvent(fd, EPOLLOUT);
  ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));  // from 10.0.2.2
}

TEST_F(TcpTest, InvalidDestinationsOpenNoSocket) {
  peer_ = {224, 0, 0, 1};
  EXPECT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  peer_ = kRemote4;
  peer_port_ = 0;
  EXPECT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  EXPECT_TRUE(sockets_.opened.empty());
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(counters().dropped_invalid, 2u);
}

TEST_F(TcpTest, DisabledFamilyIsNotHandled) {
  cfg_.enabled6 = false;
  Make();
  UseIpv6();
  EXPECT_FALSE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  EXPECT_TRUE(sockets_.opened.empty());
}

// --- Namespace -> socket ----------------------------------------------------

TEST_F(TcpTest, DataToASocketTakingEverythingIsAckedAtFlush) {
  const int fd = Establish();
  FromNamespaceInBatch(kAck | kPsh, Ns(0), Ours(0), Pattern(0, 1000));
  FromNamespaceInBatch(kAck | kPsh, Ns(1000), Ours(0), Pattern(1000, 1000));
  EXPECT_EQ(Sock(fd).written, Pattern(0, 2000)) << "sent at once";
  flows_->Flush(now_);
  const Out ack = ExpectToNamespace(kAck, Ours(0), Ns(2000));
  EXPECT_EQ(ack.window, kBufferSize >> kWindowScale);
  EXPECT_TRUE(ack.payload.empty());
  ExpectNothingToNamespace();  // one ACK for the batch
  flows_->Flush(now_);
  ExpectNothingToNamespace();  // and none owed any more
  EXPECT_EQ(counters().bytes_to_socket, 2000u);
}

TEST_F(TcpTest, KeepalivesAndWindowProbesAreAnswered) {
  Establish();
  FromNamespace(kAck | kPsh, Ns(0), Ours(0), Pattern(0, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  // Linux's keepalive and zero-window probe: an empty segment one below
  // the sequence number we expect. Unanswered, a lost window update would
  // stall the namespace for good.
  FromNamespace(kAck, Ns(99), Ours(0));
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  ExpectNothingToNamespace();
  // A plain ACK in sequence needs no answer.
  FromNamespace(kAck, Ns(100), Ours(0));
  ExpectNothingToNamespace();
}

TEST_F(TcpTest, PartialSendBuffersTheRestAcksAllAndShrinksTheWindow) {
  const int fd = Establish();
  FakeSocket& s = Sock(fd);
  s.send_limit = 1000;
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 1400));
  EXPECT_EQ(s.written, Pattern(0, 1000));
  Out a = ExpectToNamespace(kAck, Ours(0), Ns(1400));
  EXPECT_EQ(a.window, (kBufferSize - 400) >> kWindowScale);
  EXPECT_EQ(flows_->free_buffers(), kBufferPool - 1);
  // The socket is still full: this goes behind the buffered bytes.
  FromNamespace(kAck, Ns(1400), Ours(0), Pattern(1400, 1400));
  EXPECT_EQ(s.written, Pattern(0, 1000)) << "nothing jumps the queue";
  a = ExpectToNamespace(kAck, Ours(0), Ns(2800));
  EXPECT_EQ(a.window, (kBufferSize - 1800) >> kWindowScale);
  ExpectNothingToNamespace();
  EXPECT_EQ(counters().bytes_to_socket, 2800u);
  // Room again: the rest in order, and a window update at once.
  s.send_limit = kUnlimited;
  SocketEvent(fd, EPOLLOUT);
  EXPECT_EQ(s.written, Pattern(0, 2800));
  const Out update = ExpectToNamespace(kAck, Ours(0), Ns(2800));
  EXPECT_EQ(update.window, kBufferSize >> kWindowScale);
  ExpectNothingToNamespace();
  // More data goes straight to the socket again.
  FromNamespace(kAck, Ns(2800), Ours(0), Pattern(2800, 100));
  EXPECT_EQ(s.written, Pattern(0, 2900));
  ExpectToNamespace(kAck, Ours(0), Ns(2900));
}

TEST_F(TcpTest, FullBufferAdvertisesZeroWindowAndTakesNoMore) {
  const int fd = Establish();
  FakeSocket& s = Sock(fd);
  s.send_limit = 0;
  size_t sent = 0;
  uint16_t window = static_cast<uint16_t>(kBufferSize >> kWindowScale);
  while (window > 0 && sent < 2 * kBufferSize) {
    FromNamespace(kAck, Ns(static_cast<uint32_t>(sent)), Ours(0),
                  Pattern(sent, 1024));
    sent += 1024;
    const Out a =
        ExpectToNamespace(kAck, Ours(0), Ns(static_cast<uint32_t>(sent)));
    window = a.window;
    if (!a.ok) return;
  }
  EXPECT_EQ(sent, kBufferSize);
  EXPECT_TRUE(s.written.empty());
  // A segment past the window: not taken, not acknowledged.
  FromNamespace(kAck, Ns(static_cast<uint32_t>(sent)), Ours(0),
                Pattern(sent, 100));
  const Out a =
      ExpectToNamespace(kAck, Ours(0), Ns(static_cast<uint32_t>(sent)));
  EXPECT_EQ(a.window, 0);
  ExpectNothingToNamespace();
  s.send_limit = kUnlimited;
  SocketEvent(fd, EPOLLOUT);
  EXPECT_EQ(s.written, Pattern(0, kBufferSize)) << "exactly what was acked";
  const Out update =
      ExpectToNamespace(kAck, Ours(0), Ns(static_cast<uint32_t>(sent)));
  EXPECT_EQ(update.window, kBufferSize >> kWindowScale);
}

TEST_F(TcpTest, WithTheBufferPoolEmptyOnlyWhatTheSocketTookIsAcked) {
  std::vector<int> fds;
  for (size_t i = 0; i <= kBufferPool; ++i) {
    ns_port_ = static_cast<uint16_t>(20000 + i);
    const int fd = Establish();
    ASSERT_GE(fd, 0);
    Sock(fd).send_limit = 300;
    FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 1000));
    if (i < kBufferPool) {
      ExpectToNamespace(kAck, Ours(0), Ns(1000));
    } else {
      // No buffer left: ACK what the socket took; the namespace resends
      // the rest.
      ExpectToNamespace(kAck, Ours(0), Ns(300));
      EXPECT_EQ(counters().dropped_no_buffer, 1u);
    }
    fds.push_back(fd);
  }
  EXPECT_EQ(flows_->free_buffers(), 0u);
  // Buffers come back when their flows close.
  for (size_t i = 0; i < kBufferPool; ++i) {
    ns_port_ = static_cast<uint16_t>(20000 + i);
    FromNamespace(kRst, Ns(1000), 0);
  }
  flows_->Reap();
  EXPECT_EQ(flows_->free_buffers(), kBufferPool);
}

TEST_F(TcpTest, OutOfOrderSegmentIsKeptUntilTheGapIsFilled) {
  const int fd = Establish();
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  FromNamespace(kAck, Ns(200), Ours(0), Pattern(200, 100));  // 100..200 lost
  EXPECT_EQ(Sock(fd).written, Pattern(0, 100));
  const Out dup = ExpectToNamespace(kAck, Ours(0), Ns(100));  // duplicate ACK
  EXPECT_TRUE(dup.sack.empty()) << "SACK was not permitted";
  ExpectNothingToNamespace();
  EXPECT_EQ(counters().out_of_order, 1u);
  // The gap comes: everything is written in order and acknowledged.
  FromNamespace(kAck, Ns(100), Ours(0), Pattern(100, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(300));
  EXPECT_EQ(Sock(fd).written, Pattern(0, 300));
  EXPECT_EQ(flows_->free_buffers(), kBufferPool) << "the buffer went back";
}

TEST_F(TcpTest, WithSackTheDuplicateAcksNameWhatIsHeld) {
  const int fd = Establish(65535, Concat(DefaultSynOptions(), Bytes{4, 2}));
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  FromNamespace(kAck, Ns(200), Ours(0), Pattern(200, 100));
  Out dup = ExpectToNamespace(kAck, Ours(0), Ns(100));
  EXPECT_EQ(dup.sack, (std::vector<std::pair<uint32_t, uint32_t>>{
                          {Ns(200), Ns(300)}}));
  FromNamespace(kAck, Ns(400), Ours(0), Pattern(400, 100));
  dup = ExpectToNamespace(kAck, Ours(0), Ns(100));
  // The newest block first (RFC 2018 4), then the others.
  EXPECT_EQ(dup.sack, (std::vector<std::pair<uint32_t, uint32_t>>{
                          {Ns(400), Ns(500)}, {Ns(200), Ns(300)}}));
  FromNamespace(kAck, Ns(300), Ours(0), Pattern(300, 100));  // joins both
  dup = ExpectToNamespace(kAck, Ours(0), Ns(100));
  EXPECT_EQ(dup.sack, (std::vector<std::pair<uint32_t, uint32_t>>{
                          {Ns(200), Ns(500)}}));
  FromNamespace(kAck, Ns(100), Ours(0), Pattern(100, 100));
  const Out ack = ExpectToNamespace(kAck, Ours(0), Ns(500));
  EXPECT_TRUE(ack.sack.empty());
  EXPECT_EQ(Sock(fd).written, Pattern(0, 500));
}

TEST_F(TcpTest, SackPermittedIsAnsweredOnlyWhenOffered) {
  Establish(65535, Concat(DefaultSynOptions(), Bytes{4, 2}));
  // (The SYN-ACK was checked by Establish(); look at a second flow's.)
  ns_port_ += 1;
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240,
                            Concat(DefaultSynOptions(), Bytes{1, 1, 4, 2})));
  SocketEvent(sockets_.opened.back(), EPOLLOUT);
  EXPECT_TRUE(ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0))
                  .sack_permitted);
  ns_port_ += 1;
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  SocketEvent(sockets_.opened.back(), EPOLLOUT);
  EXPECT_FALSE(ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0))
                   .sack_permitted);
}

TEST_F(TcpTest, OutOfOrderBeyondTheWindowOrTheRangeTableIsDropped) {
  const int fd = Establish(65535, Concat(DefaultSynOptions(), Bytes{4, 2}));
  // Five separate holes: the fifth range does not fit the table.
  for (int i = 0; i < 5; ++i) {
    FromNamespace(kAck, Ns(200 * i + 100), Ours(0), Pattern(200 * i + 100, 100));
    ExpectToNamespace(kAck, Ours(0), Ns(0));
  }
  EXPECT_EQ(counters().out_of_order, 4u);
  EXPECT_EQ(counters().dropped_out_of_order, 1u);
  // Beyond the window.
  FromNamespace(kAck, Ns(kBufferSize + 10), Ours(0), Pattern(0, 10));
  ExpectToNamespace(kAck, Ours(0), Ns(0));
  EXPECT_EQ(counters().dropped_out_of_order, 2u);
  // The holes fill: all of it, in order; the dropped range is still missing.
  for (int i = 0; i < 4; ++i) {
    FromNamespace(kAck, Ns(200 * i), Ours(0), Pattern(200 * i, 100));
    ExpectToNamespace(kAck, Ours(0), Ns(200 * i + 200));
  }
  EXPECT_EQ(Sock(fd).written, Pattern(0, 800));
}

TEST_F(TcpTest, DuplicateSegmentIsAckedNotWrittenTwice) {
  const int fd = Establish();
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 100));  // our ACK was lost
  // RFC 9293 3.10.7.4: an unacceptable segment gets an ACK.
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  ExpectNothingToNamespace();
  EXPECT_EQ(Sock(fd).written, Pattern(0, 100));
}

TEST_F(TcpTest, OverlappingRetransmissionWritesOnlyTheNewBytes) {
  const int fd = Establish();
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  FromNamespace(kAck, Ns(50), Ours(0), Pattern(50, 100));  // 50..150
  EXPECT_EQ(Sock(fd).written, Pattern(0, 150));
  ExpectToNamespace(kAck, Ours(0), Ns(150));
  ExpectNothingToNamespace();
}

// --- Socket -> namespace ----------------------------------------------------

TEST_F(TcpTest, SocketDataGoesOutInMssSegmentsWithinTheWindow) {
  const int fd = Establish(2500);  // MSS 1000
  FakeSocket& s = Sock(fd);
  EXPECT_TRUE(s.peek_enabled) << "SO_PEEK_OFF is used where the kernel has it";
  SocketData(fd, Pattern(0, 6000));
  ExpectData(Ours(0), Ns(0), Pattern(0, 1000));
  ExpectData(Ours(1000), Ns(0), Pattern(1000, 1000));
  ExpectData(Ours(2000), Ns(0), Pattern(2000, 500));
  ExpectNothingToNamespace();  // window full
  EXPECT_TRUE(s.discards.empty()) << "nothing acknowledged yet";
  EXPECT_EQ(s.rx.size(), 6000u);

  FromNamespace(kAck, Ns(0), Ours(1000), {}, 2500);
  EXPECT_EQ(s.discards, std::vector<size_t>{1000});
  ExpectData(Ours(2500), Ns(0), Pattern(2500, 1000));  // the window moved
  ExpectNothingToNamespace();

  FromNamespace(kAck, Ns(0), Ours(3500), {}, 2500);
  EXPECT_EQ(s.discards, std::vector<size_t>({1000, 2500}));
  ExpectData(Ours(3500), Ns(0), Pattern(3500, 1000));
  ExpectData(Ours(4500), Ns(0), Pattern(4500, 1000));
  ExpectData(Ours(5500), Ns(0), Pattern(5500, 500));
  ExpectNothingToNamespace();

  FromNamespace(kAck, Ns(0), Ours(6000), {}, 2500);
  EXPECT_EQ(s.discarded, 6000u);
  EXPECT_TRUE(s.rx.empty());
  ExpectNothingToNamespace();
  EXPECT_EQ(counters().bytes_to_ns, 6000u);
  EXPECT_EQ(counters().segments_to_ns, 7u);
  EXPECT_EQ(counters().retransmits, 0u);
}

// The ACKs of one batch of frames cost one Discard between them, made
// before the next peek; the last one's before the socket is closed, so
// that close() finds nothing unread (which would make it a reset).
TEST_F(TcpTest, AcksOfOneBatchAreDiscardedOnceBeforeThePeekAndTheClose) {
  const int fd = Establish(2500);  // MSS 1000
  FakeSocket& s = Sock(fd);
  SocketData(fd, Pattern(0, 3000));
  ExpectData(Ours(0), Ns(0), Pattern(0, 1000));
  ExpectData(Ours(1000), Ns(0), Pattern(1000, 1000));
  ExpectData(Ours(2000), Ns(0), Pattern(2000, 500));
  FromNamespaceInBatch(kAck, Ns(0), Ours(1000), {}, 2500);
  FromNamespaceInBatch(kAck, Ns(0), Ours(2000), {}, 2500);
  EXPECT_TRUE(s.discards.empty()) << "not within the batch";
  flows_->Flush(now_);
  EXPECT_EQ(s.discards, std::vector<size_t>{2000});
  ExpectData(Ours(2500), Ns(0), Pattern(2500, 500));  // peeked after it
  ExpectNothingToNamespace();

  // The server closes; the namespace ACKs the rest and our FIN, and closes
  // too: the socket is closed with nothing left in it.
  SocketData(fd, "", /*eof=*/true);
  ExpectToNamespace(kFin | kAck, Ours(3000), Ns(0));
  FromNamespace(kFin | kAck, Ns(0), Ours(3001), {}, 2500);
  flows_->Reap();  // the loop's, after the round
  EXPECT_EQ(s.closes, 1);
  EXPECT_FALSE(s.reset);
  EXPECT_EQ(s.discarded, 3000u);
  EXPECT_TRUE(s.rx.empty()) << "closed with unread bytes: a reset";
}

TEST_F(TcpTest, SegmentsNeverExceedOurOwnMtu) {
  const int fd =
      Establish(65535, Concat(MssOption(9000), WindowScaleOption(0)));
  SocketData(fd, Pattern(0, 4000));
  EXPECT_EQ(ExpectStream(0, 1460), 4000u);
}

TEST_F(TcpTest, TheNamespacesWindowIsScaled) {
  const int fd = Establish(100, Concat(MssOption(1000), WindowScaleOption(4)));
  SocketData(fd, Pattern(0, 5000));  // window 100 << 4 = 1600 bytes
  ExpectData(Ours(0), Ns(0), Pattern(0, 1000));
  ExpectData(Ours(1000), Ns(0), Pattern(1000, 600));
  ExpectNothingToNamespace();
}

TEST_F(TcpTest, ThreeDuplicateAcksRetransmitFromTheLastAck) {
  const int fd = Establish(2500);
  FakeSocket& s = Sock(fd);
  SocketData(fd, Pattern(0, 6000));
  EXPECT_EQ(ExpectStream(0, 1000), 2500u);
  FromNamespace(kAck, Ns(0), Ours(1000), {}, 2500);
  EXPECT_EQ(ExpectStream(2500, 1000), 3500u);
  // 1000..2000 was lost: the namespace repeats its ACK.
  FromNamespace(kAck, Ns(0), Ours(1000), {}, 2500);
  FromNamespace(kAck, Ns(0), Ours(1000), {}, 2500);
  ExpectNothingToNamespace();  // two are not enough (RFC 5681 3.2)
  FromNamespace(kAck, Ns(0), Ours(1000), {}, 2500);
  const Out again = ExpectData(Ours(1000), Ns(0), Pattern(1000, 1000));
  EXPECT_EQ(ExpectStream(2000, 1000), 3500u) << "the rest of the window";
  EXPECT_GE(counters().retransmits, 1u);
  EXPECT_EQ(s.discarded, 1000u) << "only what was acknowledged";
  // The retransmission repaired it: on with new data.
  FromNamespace(kAck, Ns(0), Ours(3500), {}, 2500);
  EXPECT_EQ(s.discarded, 3500u);
  EXPECT_EQ(ExpectStream(3500, 1000), 6000u);
}

TEST_F(TcpTest, FurtherDuplicateAcksAfterAFastRetransmitRetransmitNoMore) {
  // Segment 0 of 10 is lost: each of the 9 after it makes the namespace send
  // a duplicate ACK. The 3rd triggers the fast retransmit; the rest are the
  // same loss, not new ones (RFC 5681 3.2 steps 4-5, RFC 6582 3.2 step 2).
  const int fd = Establish(10000);
  SocketData(fd, Pattern(0, 10000));
  EXPECT_EQ(ExpectStream(0, 1000), 10000u);
  int resent_first = 0;
  size_t frames = 0;
  for (int i = 0; i < 9; ++i) {
    FromNamespace(kAck, Ns(0), Ours(0), {}, 10000);
    for (const Out& o : Drain()) {
      ++frames;
      if (o.seq == Ours(0) && !o.payload.empty()) ++resent_first;
    }
  }
  EXPECT_EQ(resent_first, 1) << "segment 0 sent again once";
  EXPECT_LE(frames, 10u) << "at most the window once more";
}

TEST_F(TcpTest, AckForDataSentBeforeARewindIsAccepted) {
  // RFC 9293 3.10.7.4: an ACK up to SND.NXT, the highest sequence number
  // sent, is acceptable. Here the retransmission timer fires while the
  // namespace's ACK is on its way, and the tap refuses the retransmission.
  const int fd = Establish(3000);
  SocketData(fd, Pattern(0, 3000));
  EXPECT_EQ(ExpectStream(0, 1000), 3000u);
  sink_.refuse = kSendBatch;
  now_ += kRtoMin + Milliseconds(1);
  flows_->Tick(now_);
  sink_.refuse = 0;
  ExpectNothingToNamespace();
  FromNamespace(kAck, Ns(0), Ours(3000), {}, 3000);  // the ACK, late
  EXPECT_EQ(Sock(fd).discarded, 3000u);
  for (const Out& o : Drain()) EXPECT_TRUE(o.payload.empty()) << Describe(o);
  now_ += 10 * kRtoMin;
  flows_->Tick(now_);
  for (const Out& o : Drain()) EXPECT_TRUE(o.payload.empty()) << Describe(o);
}

TEST_F(TcpTest, RetransmissionTimeoutResendsUnackedData) {
  const int fd = Establish();
  FakeSocket& s = Sock(fd);
  SocketData(fd, Pattern(0, 500));
  ExpectData(Ours(0), Ns(0), Pattern(0, 500));
  const Instant sent_at = now_;
  now_ = sent_at + kRtoMin / 2;
  flows_->Tick(now_);
  ExpectNothingToNamespace();
  now_ = sent_at + kRtoMin + Milliseconds(1);
  flows_->Tick(now_);
  ExpectData(Ours(0), Ns(0), Pattern(0, 500));
  ExpectNothingToNamespace();
  EXPECT_EQ(counters().retransmits, 1u);
  EXPECT_TRUE(s.discards.empty());
  FromNamespace(kAck, Ns(0), Ours(500));
  EXPECT_EQ(s.discarded, 500u);
  now_ += 10 * kRtoMin;
  flows_->Tick(now_);
  ExpectNothingToNamespace();  // nothing in flight
}

TEST_F(TcpTest, RetransmissionsBackOffThenTheFlowIsReset) {
  const int fd = Establish();
  SocketData(fd, Pattern(0, 500));
  ExpectData(Ours(0), Ns(0), Pattern(0, 500));
  std::vector<Instant> resent_at;
  bool reset = false;
  const Instant start = now_;
  for (now_ = start; now_ < start + Seconds(30 * 60) && !reset;
       now_ += Milliseconds(100)) {
    flows_->Tick(now_);
    flows_->Reap();
    for (const Out& o : Drain()) {
      if (o.flags & kRst) {
        reset = true;
      } else {
        EXPECT_EQ(o.seq, Ours(0)) << Describe(o);
        resent_at.push_back(now_);
      }
    }
  }
  EXPECT_TRUE(reset) << "no progress for long: RST";
  EXPECT_GE(resent_at.size(), 1u);
  EXPECT_LE(resent_at.size(), static_cast<size_t>(kMaxRetransmits));
  for (size_t i = 2; i < resent_at.size(); ++i)
    EXPECT_GE(resent_at[i] - resent_at[i - 1],
              resent_at[i - 1] - resent_at[i - 2]);
  if (resent_at.size() >= 3) {
    EXPECT_GT(resent_at.back() - resent_at[resent_at.size() - 2],
              resent_at[1] - resent_at[0])
        << "RFC 6298 5.5: back off";
  }
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_TRUE(Sock(fd).reset);
  EXPECT_EQ(flows_->active(), 0u);
}

TEST_F(TcpTest, FrameRefusedByTheTapIsSentAgain) {
  const int fd = Establish();
  sink_.refuse = 1;
  SocketData(fd, Pattern(0, 500));
  EXPECT_EQ(sink_.refused, 1) << "data goes out with TrySendFrame()";
  ExpectNothingToNamespace();
  // Again within a tick or two, without waiting for the RTO.
  flows_->Flush(now_);
  now_ += kRtoMin / 2;
  flows_->Tick(now_);
  ExpectData(Ours(0), Ns(0), Pattern(0, 500));
}

TEST_F(TcpTest, ZeroWindowStopsDataAndAWindowUpdateRestartsIt) {
  const int fd = Establish(0);
  SocketData(fd, Pattern(0, 3000));
  ExpectNothingToNamespace();
  FromNamespace(kAck, Ns(0), Ours(0), {}, 2000);  // window update
  ExpectData(Ours(0), Ns(0), Pattern(0, 1000));
  ExpectData(Ours(1000), Ns(0), Pattern(1000, 1000));
  ExpectNothingToNamespace();
  FromNamespace(kAck, Ns(0), Ours(2000), {}, 0);  // acked, but full again
  EXPECT_EQ(Sock(fd).discarded, 2000u);
  ExpectNothingToNamespace();
  FromNamespace(kAck, Ns(0), Ours(2000), {}, 2000);
  ExpectData(Ours(2000), Ns(0), Pattern(2000, 1000));
  ExpectNothingToNamespace();
}

TEST_F(TcpTest, ZeroWindowIsProbed) {
  // RFC 9293 3.8.6.1: data waiting and a zero window: probe it, or a lost
  // window update deadlocks the flow.
  const int fd = Establish(0);
  SocketData(fd, Pattern(0, 3000));
  ExpectNothingToNamespace();
  now_ += kRtoMin + Milliseconds(1);
  flows_->Tick(now_);
  const std::vector<Out> probes = Drain();
  ASSERT_FALSE(probes.empty());
  for (const Out& o : probes)
    EXPECT_EQ(o.flags & (kSyn | kFin | kRst), 0) << Describe(o);
  FromNamespace(kAck, Ns(0), Ours(0), {}, 1000);  // its answer: room
  std::string data;
  for (const Out& o : Drain()) data += o.payload;
  EXPECT_FALSE(data.empty());
}

TEST_F(TcpTest, WithoutPeekOffsetInFlightBytesAreSkipped) {
  sockets_.peek_off_supported = false;
  const int fd = Establish(2500);
  FakeSocket& s = Sock(fd);
  SocketData(fd, Pattern(0, 6000));
  EXPECT_EQ(ExpectStream(0, 1000), 2500u);
  FromNamespace(kAck, Ns(0), Ours(1000), {}, 2500);
  EXPECT_EQ(ExpectStream(2500, 1000), 3500u);
  ASSERT_FALSE(s.peek_skips.empty());
  EXPECT_EQ(s.peek_skips.back() % 500, 0u);
  FromNamespace(kAck, Ns(0), Ours(3500), {}, 2500);
  EXPECT_EQ(ExpectStream(3500, 1000), 6000u);
  FromNamespace(kAck, Ns(0), Ours(6000), {}, 2500);
  EXPECT_EQ(s.discarded, 6000u);
  // A rewind without SO_PEEK_OFF: skip nothing, start at the last ACK.
  SocketData(fd, Pattern(6000, 800));
  EXPECT_EQ(ExpectStream(6000, 1000), 6800u);
  now_ += kRtoMin + Milliseconds(1);
  flows_->Tick(now_);
  EXPECT_EQ(ExpectStream(6000, 1000), 6800u);
}

// --- Closing ----------------------------------------------------------------

TEST_F(TcpTest, FinFromTheNamespaceShutsTheSocketDown) {
  const int fd = Establish();
  FromNamespace(kAck | kFin | kPsh, Ns(0), Ours(0), "bye");
  FakeSocket& s = Sock(fd);
  EXPECT_EQ(s.written, "bye");
  EXPECT_EQ(s.shutdowns, 1);
  EXPECT_EQ(s.written_at_shutdown, 3u);
  ExpectToNamespace(kAck, Ours(0), Ns(4));  // FIN acknowledged
  ExpectNothingToNamespace();
  // Our ACK was lost: the same segment again gets the same ACK.
  FromNamespace(kAck | kFin | kPsh, Ns(0), Ours(0), "bye");
  ExpectToNamespace(kAck, Ours(0), Ns(4));
  ExpectNothingToNamespace();
  EXPECT_EQ(s.written, "bye");
  EXPECT_EQ(s.shutdowns, 1);
  flows_->Reap();
  EXPECT_EQ(s.closes, 0) << "half-closed, not closed";
}

TEST_F(TcpTest, FinAfterBufferedDataWaitsForTheBufferToEmpty) {
  const int fd = Establish();
  FakeSocket& s = Sock(fd);
  s.send_limit = 1000;
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 1400));
  ExpectToNamespace(kAck, Ours(0), Ns(1400));
  FromNamespace(kAck | kFin, Ns(1400), Ours(0));
  EXPECT_EQ(s.shutdowns, 0) << "400 bytes still buffered";
  s.send_limit = kUnlimited;
  SocketEvent(fd, EPOLLOUT);
  EXPECT_EQ(s.written, Pattern(0, 1400));
  EXPECT_EQ(s.shutdowns, 1);
  EXPECT_EQ(s.written_at_shutdown, 1400u);
  const std::vector<Out> acks = Drain();
  ASSERT_FALSE(acks.empty());
  for (const Out& o : acks) {
    EXPECT_EQ(o.flags & ~kPsh, kAck) << Describe(o);
    EXPECT_LE(o.ack - Ns(0), 1401u) << Describe(o);
  }
  EXPECT_EQ(acks.back().ack, Ns(1401)) << "the FIN, acknowledged";
}

TEST_F(TcpTest, AfterTheNamespacesFinSocketDataStillFlows) {
  const int fd = Establish();
  FromNamespace(kAck | kFin, Ns(0), Ours(0));
  ExpectToNamespace(kAck, Ours(0), Ns(1));
  SocketData(fd, "response");
  ExpectData(Ours(0), Ns(1), "response");
  FromNamespace(kAck, Ns(1), Ours(8));
  EXPECT_EQ(Sock(fd).discarded, 8u);
  ExpectNothingToNamespace();
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 0);
}

TEST_F(TcpTest, SocketEofBecomesAFinAfterTheData) {
  const int fd = Establish();
  SocketData(fd, "last words", /*eof=*/true);
  std::vector<Out> out = Drain();
  // The FIN may wait for the data to be acknowledged.
  FromNamespace(kAck, Ns(0), Ours(10));
  for (const Out& o : Drain()) out.push_back(o);
  std::string data;
  int fins = 0;
  for (const Out& o : out) {
    EXPECT_EQ(o.flags & (kRst | kSyn), 0) << Describe(o);
    if (!o.payload.empty()) {
      EXPECT_EQ(fins, 0) << "data after the FIN: " << Describe(o);
      EXPECT_EQ(o.seq, Ours(static_cast<uint32_t>(data.size())));
      data += o.payload;
    }
    if (o.flags & kFin) {
      ++fins;
      EXPECT_EQ(static_cast<uint32_t>(o.seq + o.payload.size()), Ours(10))
          << Describe(o);
    }
  }
  EXPECT_EQ(data, "last words");
  EXPECT_EQ(fins, 1);
  EXPECT_EQ(Sock(fd).discarded, 10u);
  FromNamespace(kAck, Ns(0), Ours(11));  // our FIN acknowledged
  ExpectNothingToNamespace();
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 0) << "the namespace may still send";
  FromNamespace(kAck, Ns(0), Ours(11), "more");
  EXPECT_EQ(Sock(fd).written, "more");
  ExpectToNamespace(kAck, Ours(11), Ns(4));
}

TEST_F(TcpTest, BothFinsAcknowledgedCloseTheSocketOnceAtReap) {
  const int fd = Establish();
  FakeSocket& s = Sock(fd);
  const uint32_t slot = s.slot;
  FromNamespace(kAck | kFin, Ns(0), Ours(0));
  ExpectToNamespace(kAck, Ours(0), Ns(1));
  EXPECT_EQ(s.shutdowns, 1);
  s.eof = true;
  SocketEvent(fd, EPOLLIN | EPOLLRDHUP);
  ExpectToNamespace(kFin | kAck, Ours(0), Ns(1));
  ExpectNothingToNamespace();
  FromNamespace(kAck, Ns(1), Ours(1));
  ExpectNothingToNamespace();
  EXPECT_EQ(s.closes, 0) << "closing is deferred to Reap()";
  flows_->Reap();
  EXPECT_EQ(s.closes, 1);
  EXPECT_FALSE(s.reset);
  EXPECT_EQ(flows_->active(), 0u);
  flows_->Reap();
  EXPECT_EQ(s.closes, 1);
  // A late event for the freed slot touches nothing (the fake fails any
  // call on a closed fd).
  flows_->OnSocketEvent(slot, EPOLLIN | EPOLLOUT, now_);
  flows_->Flush(now_);
  ExpectNothingToNamespace();
  flows_.reset();
  EXPECT_EQ(s.closes, 1);
}

TEST_F(TcpTest, OurFinFirstThenTheNamespacesFinIsAcknowledged) {
  const int fd = Establish();
  FakeSocket& s = Sock(fd);
  s.eof = true;
  SocketEvent(fd, EPOLLIN | EPOLLRDHUP);
  ExpectToNamespace(kFin | kAck, Ours(0), Ns(0));
  FromNamespace(kAck, Ns(0), Ours(1));
  ExpectNothingToNamespace();
  FromNamespace(kAck | kFin, Ns(0), Ours(1));
  // Its FIN must be acknowledged, or it retransmits it into a closed flow.
  ExpectToNamespace(kAck, Ours(1), Ns(1));
  ExpectNothingToNamespace();
  EXPECT_EQ(s.shutdowns, 1);
  flows_->Reap();
  EXPECT_EQ(s.closes, 1);
  EXPECT_FALSE(s.reset);
  EXPECT_EQ(flows_->active(), 0u);
}

TEST_F(TcpTest, HalfClosedByTheNamespaceOutlivesTheFinTimeout) {
  // After its FIN the namespace still receives, for as long as the server
  // takes (RFC 9293 3.6; `nc -N` to a slow server). Upstream's FIN_TIMEOUT
  // only runs once our FIN is out, or both FINs are done.
  const int fd = Establish();
  FromNamespace(kAck | kFin, Ns(0), Ours(0));
  ExpectToNamespace(kAck, Ours(0), Ns(1));
  const Instant start = now_;
  for (now_ = start; now_ <= start + 2 * kFinTimeout;
       now_ += Milliseconds(100)) {
    flows_->Tick(now_);
    flows_->Reap();
  }
  EXPECT_EQ(Sock(fd).closes, 0);
  ExpectNothingToNamespace();
  SocketData(fd, "answer");
  ExpectData(Ours(0), Ns(1), "answer");
}

TEST_F(TcpTest, RstFromTheNamespaceClosesTheSocketWithReset) {
  const int fd = Establish();
  FromNamespace(kRst, Ns(0), 0);
  ExpectNothingToNamespace();  // never answer an RST
  EXPECT_EQ(Sock(fd).closes, 0) << "closing is deferred to Reap()";
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_TRUE(Sock(fd).reset);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(counters().resets_from_ns, 1u);
}

TEST_F(TcpTest, RstOutsideTheWindowIsIgnored) {
  const int fd = Establish();
  // RFC 9293 3.10.7.4 (and RFC 5961 3.2): not in the receive window: drop.
  FromNamespace(kRst, Ns(0) + 0x40000000, 0);
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 0);
  EXPECT_EQ(flows_->active(), 1u);
  FromNamespace(kAck, Ns(0), Ours(0), "still");
  EXPECT_EQ(Sock(fd).written, "still");
}

TEST_F(TcpTest, SocketErrorResetsTheNamespace) {
  const int fd = Establish();
  SocketData(fd, "partial");
  ExpectData(Ours(0), Ns(0), "partial");
  FromNamespace(kAck, Ns(0), Ours(7));
  Sock(fd).pending_error = ECONNRESET;
  SocketEvent(fd, EPOLLIN | EPOLLERR | EPOLLHUP);
  const Out rst = NextFrame();
  EXPECT_TRUE(rst.flags & kRst) << Describe(rst);
  EXPECT_EQ(rst.seq, Ours(7)) << "in the namespace's window (RFC 5961 3.2)";
  ExpectNothingToNamespace();
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(counters().resets_to_ns, 1u);
}

TEST_F(TcpTest, SegmentsForUnknownFlowsAreReset) {
  // RFC 9293 3.10.7.1. With ACK: <SEQ=SEG.ACK><CTL=RST>.
  EXPECT_TRUE(FromNamespace(kAck | kPsh, 1000, 5000, "hello"));
  ExpectToNamespace(kRst, 5000, std::nullopt);
  // Without: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; a FIN counts.
  FromNamespace(kPsh, 1000, 0, "hello");
  ExpectToNamespace(kRst | kAck, 0, 1005);
  FromNamespace(kFin, 2000, 0);
  ExpectToNamespace(kRst | kAck, 0, 2001);
  // Never an RST for an RST.
  FromNamespace(kRst, 3000, 0);
  FromNamespace(kRst | kAck, 3000, 7000);
  ExpectNothingToNamespace();
  EXPECT_TRUE(sockets_.opened.empty());
  EXPECT_EQ(flows_->active(), 0u);
}

TEST_F(TcpTest, SynTimeoutClosesAFlowWhoseConnectNeverCompletes) {
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  now_ += kSynTimeout / 2;
  flows_->Tick(now_);
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 0);
  now_ += kSynTimeout;
  flows_->Tick(now_);
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(counters().timeouts, 1u);
  for (const Out& o : Drain())
    EXPECT_EQ(o.flags & (kSyn | kFin), 0) << Describe(o);
}

TEST_F(TcpTest, DestructionClosesEverySocketWithReset) {
  const int fd = Establish();
  ASSERT_TRUE(flows_->AddListener(AF_INET, nullptr, 8080, 80).ok());
  const int lfd = sockets_.opened.back();
  flows_.reset();
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_TRUE(Sock(fd).reset);
  EXPECT_EQ(Sock(lfd).closes, 1);
}

// --- Limits -----------------------------------------------------------------

TEST_F(TcpTest, FullTableResetsNewSynsAndKeepsExistingFlows) {
  for (uint32_t i = 0; i < kMaxFlows; ++i) {
    ns_port_ = static_cast<uint16_t>(1024 + i);
    FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions());
  }
  ASSERT_EQ(flows_->active(), kMaxFlows);
  ExpectNothingToNamespace();
  ns_port_ = 60000;
  EXPECT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  ExpectToNamespace(kRst | kAck, std::nullopt, Ns(0));
  ExpectNothingToNamespace();
  EXPECT_EQ(flows_->active(), kMaxFlows);
  EXPECT_EQ(counters().dropped_table_full, 1u);
  // An existing flow completes its handshake as usual.
  ns_port_ = 1024 + 5;
  const int fd = sockets_.opened.at(5);
  SocketEvent(fd, EPOLLOUT);
  our_isn_ = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0)).seq;
  FromNamespace(kAck, Ns(0), Ours(0), "ok");
  EXPECT_EQ(Sock(fd).written, "ok");
  ExpectToNamespace(kAck, Ours(0), Ns(2));
  // A slot freed is used again.
  FromNamespace(kRst, Ns(2), 0);
  flows_->Reap();
  EXPECT_EQ(flows_->active(), kMaxFlows - 1);
  ns_port_ = 60000;
  FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions());
  EXPECT_EQ(flows_->active(), kMaxFlows);
  ExpectNothingToNamespace();
}

// --- Sequence space ---------------------------------------------------------

TEST_F(TcpTest, NamespaceSequenceNumbersWrapAround) {
  ns_isn_ = 0xfffffff0;
  const int fd = Establish();
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 100));  // across 2^32
  ExpectToNamespace(kAck, Ours(0), Ns(100));
  EXPECT_EQ(Ns(100), 0x55u);
  FromNamespace(kAck, Ns(100), Ours(0), Pattern(100, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(200));
  EXPECT_EQ(Sock(fd).written, Pattern(0, 200));
  // Old (before the wrap) is old; beyond a gap is out of order.
  FromNamespace(kAck, Ns(0), Ours(0), Pattern(0, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(200));
  FromNamespace(kAck, Ns(300), Ours(0), Pattern(300, 100));
  ExpectToNamespace(kAck, Ours(0), Ns(200));
  EXPECT_EQ(Sock(fd).written, Pattern(0, 200));
  FromNamespace(kAck | kFin, Ns(200), Ours(0));
  ExpectToNamespace(kAck, Ours(0), Ns(201));
  EXPECT_EQ(Sock(fd).shutdowns, 1);
}

TEST_F(TcpTest, OurSequenceNumbersWrapAround) {
  // Our ISN is not ours to choose: open flows until one starts within
  // 4 MiB of 2^32, then stream across the wrap.
  cfg_.mtu = 65520;
  Make();
  constexpr uint32_t kNear = 4u << 20;
  sockets_.connect_errno = 0;
  int fd = -1;
  for (int i = 0; i < 60000 && fd < 0; ++i) {
    ns_port_ = static_cast<uint16_t>(1024 + i);
    now_ += Milliseconds(3);
    const Bytes opts = Concat(MssOption(65000), WindowScaleOption(14));
    FromNamespace(kSyn, ns_isn_, 0, {}, 65535, opts);
    const int candidate = sockets_.opened.back();
    if (next_ == sink_.frames.size()) SocketEvent(candidate, EPOLLOUT);
    const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
    if (!syn_ack.ok) return;
    if (syn_ack.seq >= 0u - kNear) {
      our_isn_ = syn_ack.seq;
      fd = candidate;
    } else {
      FromNamespace(kRst, Ns(0), 0);
      flows_->Reap();
    }
  }
  ASSERT_GE(fd, 0) << "no ISN near 2^32 in 60000 flows: ISNs not spread "
                      "(RFC 9293 3.4.1, RFC 6528)";
  FromNamespace(kAck, Ns(0), Ours(0), {}, 65535);  // 1 GiB window
  ExpectNothingToNamespace();
  FakeSocket& s = Sock(fd);
  const size_t total = static_cast<uint32_t>(0u - Ours(0)) + 300'000;
  size_t queued = 0, received = 0;
  for (int round = 0; round < 1000 && received < total; ++round) {
    const size_t chunk = std::min<size_t>(256 * 1024, total - queued);
    if (chunk > 0) SocketData(fd, Pattern(queued, chunk));
    queued += chunk;
    received = ExpectStream(received, 65480);
    FromNamespace(kAck, Ns(0), Ours(static_cast<uint32_t>(received)), {},
                  65535);
    EXPECT_EQ(s.discarded, received);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(received, total);
  EXPECT_LT(Ours(static_cast<uint32_t>(received)), our_isn_) << "wrapped";
}

// --- Inbound (-t) -----------------------------------------------------------

class TcpInboundTest : public TcpTest {
 protected:
  TcpInboundTest() { flows_->set_ns_mac(kNsMac); }
  // A listener on host port 8080 for the namespace's port 80.
  int Listen() {
    EXPECT_TRUE(flows_->AddListener(AF_INET, nullptr, 8080, 80).ok());
    return sockets_.opened.back();
  }
  const Bytes kClient = {192, 0, 2, 77};
};

TEST_F(TcpInboundTest, ListenerIsBoundListeningAndWatched) {
  const int lfd = Listen();
  const FakeSocket& l = Sock(lfd);
  EXPECT_EQ(l.family, AF_INET);
  EXPECT_TRUE(l.bound);
  EXPECT_TRUE(l.bind_addr.empty());  // any address
  EXPECT_EQ(l.bind_port, 8080);
  EXPECT_TRUE(l.listening);
  EXPECT_TRUE(l.watched);
  EXPECT_TRUE(l.listener);
  EXPECT_EQ(l.slot, 0u);  // the first listener
  EXPECT_EQ(flows_->listeners(), 1u);
}

TEST_F(TcpInboundTest, AcceptedConnectionSendsASynAndCompletesOnSynAck) {
  const int lfd = Listen();
  const int fd = Accept(lfd, kClient, 41000, 80);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(Sock(fd).watched);
  EXPECT_LT(Sock(fd).slot, kMaxFlows);
  EXPECT_EQ(flows_->active(), 1u);
  ExpectNothingToNamespace();
  FromNamespace(kSyn | kAck, ns_isn_, Ours(0), {}, 64240, DefaultSynOptions());
  ExpectToNamespace(kAck, Ours(0), Ns(0));
  ExpectNothingToNamespace();
  EXPECT_EQ(counters().flows_opened, 1u);
  // Both ways.
  SocketData(fd, "request");
  ExpectData(Ours(0), Ns(0), "request");
  FromNamespace(kAck | kPsh, Ns(0), Ours(7), "response");
  EXPECT_EQ(Sock(fd).written, "response");
  EXPECT_EQ(Sock(fd).discarded, 7u);
  ExpectToNamespace(kAck, Ours(7), Ns(8));
}

TEST_F(TcpInboundTest, ATargetAddressIsWhereTheConnectionGoes) {
  // -t 0.0.0.0/8080:192.0.2.5/80: the namespace side is 192.0.2.5, not
  // the namespace's own address.
  const IpAddr to = *ParseIp("192.0.2.5");
  ASSERT_TRUE(flows_->AddListener(AF_INET, nullptr, 8080, 80, &to).ok());
  const int lfd = sockets_.opened.back();
  const IpAddr v6 = *ParseIp("2001:db8::5");
  EXPECT_FALSE(flows_->AddListener(AF_INET, nullptr, 8081, 80, &v6).ok());
  ns_ = {192, 0, 2, 5};
  const int fd = Accept(lfd, kClient, 41000, 80);
  ASSERT_GE(fd, 0);
  FromNamespace(kSyn | kAck, ns_isn_, Ours(0), {}, 64240, DefaultSynOptions());
  const Out ack = ExpectToNamespace(kAck, Ours(0), Ns(0));
  EXPECT_EQ(ack.dst, (Bytes{192, 0, 2, 5}));
  SocketData(fd, "request");
  ExpectData(Ours(0), Ns(0), "request");
  FromNamespace(kAck | kPsh, Ns(0), Ours(7), "response");
  EXPECT_EQ(Sock(fd).written, "response");
}

TEST_F(TcpInboundTest, SynAckWithoutWindowScaleMeansUnscaledWindows) {
  const int lfd = Listen();
  const int fd = Accept(lfd, kClient, 41000, 80);
  FromNamespace(kSyn | kAck, ns_isn_, Ours(0), {}, 1500, MssOption(1000));
  const Out ack = ExpectToNamespace(kAck, Ours(0), Ns(0));
  EXPECT_EQ(ack.window, 65535) << "RFC 7323 1.3: scaling needs both sides";
  SocketData(fd, Pattern(0, 4000));
  ExpectData(Ours(0), Ns(0), Pattern(0, 1000));
  ExpectData(Ours(1000), Ns(0), Pattern(1000, 500));
  ExpectNothingToNamespace();
}

TEST_F(TcpInboundTest, DataWaitingBeforeTheSynAckIsSentOnceEstablished) {
  const int lfd = Listen();
  const int fd = Accept(lfd, kClient, 41000, 80, "early");
  SocketEvent(fd, EPOLLIN | EPOLLOUT);  // edge-triggered: not reported again
  ExpectNothingToNamespace();           // no data before the handshake
  FromNamespace(kSyn | kAck, ns_isn_, Ours(0), {}, 64240, DefaultSynOptions());
  std::string data;
  bool acked = false;
  for (const Out& o : Drain()) {
    EXPECT_EQ(o.flags & (kSyn | kRst | kFin), 0) << Describe(o);
    acked = acked || (o.flags & kAck && o.ack == Ns(0));
    data += o.payload;
  }
  EXPECT_TRUE(acked);
  EXPECT_EQ(data, "early");
}

TEST_F(TcpInboundTest, RstToOurSynClosesTheSocketWithReset) {
  const int lfd = Listen();
  const int fd = Accept(lfd, kClient, 41000, 80);
  FromNamespace(kRst | kAck, 0, Ours(0));  // port closed in the namespace
  ExpectNothingToNamespace();
  flows_->Reap();
  EXPECT_EQ(Sock(fd).closes, 1);
  EXPECT_TRUE(Sock(fd).reset);
  EXPECT_EQ(flows_->active(), 0u);
  EXPECT_EQ(Sock(lfd).closes, 0) << "the listener stays";
}

// A namespace socket in TIME-WAIT for the same ends answers a SYN that is
// not beyond the old connection with an ACK of the old one: we reset it
// (RFC 9293 3.10.7.3, <SEQ=SEG.ACK><CTL=RST>), which ends the TIME-WAIT,
// and our retransmitted SYN then opens the connection.
TEST_F(TcpInboundTest, AnAckNotForOurSynIsResetAndTheSynRepeated) {
  const int lfd = Listen();
  const int fd = Accept(lfd, kClient, 41000, 80);
  const uint32_t old_ack = our_isn_ - 70'000;
  FromNamespace(kAck, ns_isn_, old_ack);
  const Out rst = ExpectToNamespace(kRst, old_ack, std::nullopt);
  EXPECT_EQ(rst.ack, 0u);
  ExpectNothingToNamespace();
  flows_->Reap();
  EXPECT_EQ(flows_->active(), 1u) << "the flow waits for its SYN to go again";
  EXPECT_EQ(Sock(fd).closes, 0);
  now_ += Milliseconds(1000);
  flows_->Tick(now_);
  ExpectToNamespace(kSyn, our_isn_, std::nullopt);
  FromNamespace(kSyn | kAck, ns_isn_, Ours(0), {}, 64240, DefaultSynOptions());
  ExpectToNamespace(kAck, Ours(0), Ns(0));
  SocketData(fd, "request");
  ExpectData(Ours(0), Ns(0), "request");
}

// RFC 6528: the ISN is a hash of the ends plus a clock, so a connection on
// the ends of an earlier one starts beyond it by 250 per ms (a TIME-WAIT
// socket in the namespace then accepts the new SYN, RFC 1122 4.2.2.13).
TEST_F(TcpInboundTest, IsnsOfTheSameEndsGrowWithTheClock) {
  const int lfd = Listen();
  Accept(lfd, kClient, 41000, 80);
  const uint32_t first = our_isn_;
  FromNamespace(kRst | kAck, 0, Ours(0));
  flows_->Reap();
  ASSERT_EQ(flows_->active(), 0u);
  now_ += Milliseconds(1000);
  Accept(lfd, kClient, 41000, 80);
  EXPECT_EQ(our_isn_ - first, 250'000u);
  // Other ends: another hash.
  FromNamespace(kRst | kAck, 0, Ours(0));
  flows_->Reap();
  Accept(lfd, kClient, 41001, 80);
  EXPECT_NE(our_isn_ - first, 250'000u);
}

TEST_F(TcpInboundTest, SeveralWaitingConnectionsAreAllAccepted) {
  const int lfd = Listen();
  for (uint16_t port = 41000; port < 41003; ++port)
    Sock(lfd).backlog.push_back({AF_INET, kClient, port, {}});
  flows_->OnListenerReadable(0, now_);
  EXPECT_EQ(sockets_.accepted.size(), 3u);
  EXPECT_EQ(flows_->active(), 3u);
  peer_ = kClient;
  ns_port_ = 80;
  for (uint16_t port = 41000; port < 41003; ++port) {
    peer_port_ = port;
    ExpectToNamespace(kSyn, std::nullopt, std::nullopt);
  }
}

// --- IPv6 -------------------------------------------------------------------

TEST_F(TcpTest, Ipv6HandshakeAndData) {
  UseIpv6();
  ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, DefaultSynOptions()));
  const int fd = sockets_.opened.at(0);
  EXPECT_EQ(Sock(fd).family, AF_INET6);
  EXPECT_EQ(Sock(fd).connect_addr, kRemote6);
  EXPECT_EQ(Sock(fd).connect_port, kRemotePort);
  ExpectNothingToNamespace();
  SocketEvent(fd, EPOLLOUT);
  const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
  EXPECT_EQ(syn_ack.mss, 1500 - 60);
  EXPECT_EQ(syn_ack.wscale, kWindowScale);
  our_isn_ = syn_ack.seq;
  FromNamespace(kAck, Ns(0), Ours(0), {}, 2000);
  FromNamespace(kAck | kPsh, Ns(0), Ours(0), Pattern(0, 1200), 2000);
  EXPECT_EQ(Sock(fd).written, Pattern(0, 1200));
  ExpectToNamespace(kAck, Ours(0), Ns(1200));
  SocketData(fd, Pattern(0, 2500));
  ExpectData(Ours(0), Ns(1200), Pattern(0, 1000));
  ExpectData(Ours(1000), Ns(1200), Pattern(1000, 1000));
  ExpectNothingToNamespace();
  FromNamespace(kAck, Ns(1200), Ours(2000), {}, 2000);
  EXPECT_EQ(Sock(fd).discarded, 2000u);
  ExpectData(Ours(2000), Ns(1200), Pattern(2000, 500));
}

TEST_F(TcpInboundTest, Ipv6Inbound) {
  UseIpv6();
  ASSERT_TRUE(flows_->AddListener(AF_INET6, nullptr, 8080, 80).ok());
  const int lfd = sockets_.opened.back();
  EXPECT_EQ(Sock(lfd).family, AF_INET6);
  const Bytes client = {0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0,
                        0,    0,    0,    0,    0, 0, 0, 1};
  Sock(lfd).backlog.push_back({AF_INET6, client, 41000, {}});
  peer_ = client;
  peer_port_ = 41000;
  ns_port_ = 80;
  flows_->OnListenerReadable(Sock(lfd).slot, now_);
  const Out syn = ExpectToNamespace(kSyn, std::nullopt, std::nullopt);
  EXPECT_EQ(syn.mss, 1500 - 60);
  our_isn_ = syn.seq;
  FromNamespace(kSyn | kAck, ns_isn_, Ours(0), {}, 64240, DefaultSynOptions());
  ExpectToNamespace(kAck, Ours(0), Ns(0));
}

// --- Hostile input ----------------------------------------------------------

// SYNs whose options lie; each must leave a working flow with the default
// MSS (RFC 9293 3.7.1: 536 without a valid MSS option) and no window
// scaling from a broken option.
TEST_F(TcpTest, MalformedOptionsAreIgnored) {
  const std::vector<Bytes> cases = {
      {2, 0, 0x05, 0xb4},         // MSS with length 0
      {2, 1, 0x05, 0xb4},         // length 1
      {1, 1, 2, 4},               // MSS running past the header
      {1, 1, 3, 3},               // window scale running past it
      {0x22, 0xff, 0, 0},         // unknown, 255 bytes long
      {1, 1, 1, 2},               // kind, no length byte left
      {3, 3, 14, 1, 3, 0, 0, 0},  // window scale, then length 0
      {1, 1, 8, 10, 1, 2, 3, 4},  // timestamps past the end
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    ns_port_ = static_cast<uint16_t>(30000 + i);
    Bytes opts = cases[i];
    while (opts.size() % 4) opts.push_back(1);  // not hiding the lie in EOLs
    ASSERT_TRUE(FromNamespace(kSyn, ns_isn_, 0, {}, 64240, opts));
    const int fd = sockets_.opened.back();
    SocketEvent(fd, EPOLLOUT);
    const Out syn_ack = ExpectToNamespace(kSyn | kAck, std::nullopt, Ns(0));
    if (i == 3) {
      EXPECT_FALSE(syn_ack.wscale.has_value()) << "broken: not offered";
    }
    our_isn_ = syn_ack.seq;
    FromNamespace(kAck, Ns(0), Ours(0), {}, 3000);
    FromNamespace(kAck, Ns(0), Ours(0), "in");
    EXPECT_EQ(Sock(fd).written, "in");
    ExpectToNamespace(kAck, Ours(0), Ns(2));
    SocketData(fd, Pattern(0, 1000));
    EXPECT_EQ(ExpectStream(0, 536), 1000u);
  }
}

TEST_F(TcpTest, NoMssOptionMeansTheDefault) {
  const int fd = Establish(65535, {});
  SocketData(fd, Pattern(0, 2000));
  EXPECT_EQ(ExpectStream(0, 536), 2000u);
}

// With an MTU below 104 (-m 68 is allowed) the largest MSS is under our
// 64-byte floor: segments must still fit the MTU (and std::clamp must not be
// called with lo > hi, which is undefined).
TEST_F(TcpTest, TinyMtuCapsTheMssBelowTheFloor) {
  cfg_.mtu = 68;
  Make();
  const int fd = Establish(65535, Concat(MssOption(28), WindowScaleOption(0)));
  SocketData(fd, Pattern(0, 200));
  EXPECT_EQ(ExpectStream(0, 68 - 40), 200u);
}

}  // namespace
}  // namespace pasta::tcp
