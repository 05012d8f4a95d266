#include "tcp/splice.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/status.h"
#include "flow/addr_map.h"
#include "flow/listener_list.h"
#include "loop/epoll_ref.h"

namespace pasta::tcp {

namespace {

constexpr int kAcceptBatch = 32;

}  // namespace

void SpliceFlows::CloseFd(int& fd) {
  if (fd >= 0) sys_->Close(fd);
  fd = -1;
}

SpliceFlows::SpliceFlows(sock::Sys* sys, IpAddr ns_addr4, IpAddr ns_addr6,
                         bool to_ns_loopback, flow::FlowTable* table)
    : sys_(sys),
      ns_addr4_(ns_addr4),
      ns_addr6_(ns_addr6),
      to_ns_loopback_(to_ns_loopback),
      table_(table, flow::SipKey{}, kMaxSpliceFlows),
      flows_(table_.get(), flow::FlowKind::kSplice, kMaxSpliceFlows) {
  flows_.SetReaper<&SpliceFlows::Free>(this);
}

SpliceFlows::~SpliceFlows() {
  flows_.ClearReaper();
  for (const uint32_t slot : flows_.in_use()) {
    Flow& f = flows_[slot];
    for (Side& s : f.side) {
      CloseFd(s.fd);
      CloseFd(s.pipe_r);
      CloseFd(s.pipe_w);
    }
  }
  for (const Listener& l : listeners_)
    if (l.fd >= 0) sys_->Close(l.fd);
}

void SpliceFlows::FromHost(int accepted, int family, uint16_t ns_port) {
  const sock::Result out =
      sys_->Socket(sock::Netns::kTarget, family, SOCK_STREAM, IPPROTO_TCP);
  if (!out.ok()) {
    ++counters_.refused;
    LOG_DEBUG("splice: no socket in the namespace: %s", strerror(out.err));
    sys_->CloseWithReset(accepted);
    return;
  }
  const IpAddr& ns = family == AF_INET ? ns_addr4_ : ns_addr6_;
  if (to_ns_loopback_ || ns.family != family) {
    Join(accepted, out.fd(), flow::kNsSide, family, nullptr, ns_port,
         "host loopback -> namespace loopback");
  } else {
    Join(accepted, out.fd(), flow::kNsSide, family, ns.bytes.data(), ns_port,
         "host loopback -> namespace address");
  }
}

void SpliceFlows::FromNamespace(int accepted, int family, uint16_t host_port) {
  const sock::Result out =
      sys_->Socket(sock::Netns::kHost, family, SOCK_STREAM, IPPROTO_TCP);
  if (!out.ok()) {
    ++counters_.refused;
    LOG_DEBUG("splice: socket: %s", strerror(out.err));
    sys_->CloseWithReset(accepted);
    return;
  }
  Join(accepted, out.fd(), flow::kHostSide, family, nullptr, host_port,
       "namespace loopback -> host loopback");
}

void SpliceFlows::Join(int accepted, int out, int out_side, int family,
                       const uint8_t* addr, uint16_t port, const char* what) {
  if (flows_.full()) {
    ++counters_.refused;
    LOG_WARN("splice: flow table full (%u flows), connection reset",
             kMaxSpliceFlows);
    sys_->CloseWithReset(accepted);
    sys_->Close(out);
    return;
  }
  const uint32_t slot = flows_.Take();
  Flow& f = flows_[slot];
  // The side `out` connects on: its peer is `addr` (null: the loopback).
  uint8_t lo[16] = {};
  flow::StoreLoopback(family, lo);
  flow::SetSide(f.hdr, out_side, family, addr != nullptr ? addr : lo, port,
                nullptr, 0);
  flow::SetSide(f.hdr, 1 - out_side, family, nullptr, 0, lo, 0);
  f.side[0].fd = accepted;
  f.side[1].fd = out;
  ++counters_.flows;
  for (Side& s : f.side) {
    int p[2];
    if (const sock::Result r = sys_->Pipe(p); !r.ok()) {
      ++counters_.refused;
      LOG_DEBUG("splice: pipe2: %s", strerror(r.err));
      Close(slot, true, "no pipe");
      return;
    }
    s.pipe_r = p[0];
    s.pipe_w = p[1];
    // Best effort: a pipe refused a larger size keeps the one it has.
    const sock::Result size = sys_->SetPipeSize(s.pipe_w, kPipeSize);
    s.pipe_size = size.value > 0 ? static_cast<size_t>(size.value) : 65536;
  }
  for (const int fd : {accepted, out}) {
    sys_->SetOpt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    // Best effort, as the pipe size: a smaller net.core.rmem_max or
    // wmem_max caps it, and a flow works with any buffer.
    sys_->SetOpt(fd, SOL_SOCKET, SO_RCVBUF, kSocketBuffer);
    sys_->SetOpt(fd, SOL_SOCKET, SO_SNDBUF, kSocketBuffer);
  }
  for (int i = 0; i < 2; ++i) {
    const loop::Ref ref{loop::Kind::kTcpSplice, slot, f.side[i].fd,
                        static_cast<uint8_t>(i)};
    if (const sock::Result r =
            sys_->Watch(f.side[i].fd, ref.Pack(),
                        EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
        !r.ok()) {
      LOG_WARN("splice: epoll_ctl: %s", strerror(r.err));
      Close(slot, true, "epoll");
      return;
    }
  }
  if (const sock::Result r = sys_->Connect(out, family, addr, port); !r.ok()) {
    if (r.err != EINPROGRESS) {
      ++counters_.connect_failed;
      LOG_TRACE("splice %u: %s port %u: connect: %s", slot, what, port,
                strerror(r.err));
      Close(slot, true, "connect failed");
      return;
    }
    f.connecting = true;
  }
  LOG_TRACE("splice %u: %s port %u%s", slot, what, port,
            f.connecting ? ", connecting" : "");
}

absl::Status SpliceFlows::AddNamespaceListener(int fd, int family,
                                               uint16_t ns_port,
                                               uint16_t host_port,
                                               uint32_t* index_out) {
  const uint32_t index =
      flow::TakeListenerEntry(listeners_, &lowest_free_listener_);
  if (const sock::Result r = sys_->Watch(
          fd, loop::Ref{loop::Kind::kSpliceListen, index, fd}.Pack(), EPOLLIN);
      !r.ok()) {
    sys_->Close(fd);
    lowest_free_listener_ = index;  // the entry stays free
    return ErrnoToStatus(r.err, "epoll_ctl");
  }
  listeners_[index] = Listener{fd, family, ns_port, host_port};
  if (index_out != nullptr) *index_out = index;
  LOG_DEBUG("splice: forwarding namespace port %u to host port %u (%s)",
            ns_port, host_port, family == AF_INET ? "IPv4" : "IPv6");
  return absl::OkStatus();
}

void SpliceFlows::OnListenerReadable(uint32_t index) {
  const Listener* open = flow::OpenListener(listeners_, index);
  if (open == nullptr) return;
  const Listener& l = *open;
  for (int i = 0; i < kAcceptBatch; ++i) {
    const sock::Result c = sys_->Accept(l.fd, nullptr, nullptr, nullptr);
    if (!c.ok()) return;
    FromNamespace(c.fd(), l.family, l.target);
  }
}

void SpliceFlows::RemoveNamespaceListeners(uint16_t ns_port) {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i].fd >= 0 && listeners_[i].port == ns_port) {
      CloseNamespaceListener(static_cast<uint32_t>(i));
    }
  }
}

void SpliceFlows::CloseNamespaceListener(uint32_t index) {
  sys_->Close(listeners_[index].fd);
  flow::FreeListenerEntry(listeners_, index, &lowest_free_listener_, "splice");
}

void SpliceFlows::RetargetNamespaceListener(uint32_t index,
                                            uint16_t host_port) {
  flow::RetargetListener(listeners_[index], host_port, nullptr, "splice");
}

void SpliceFlows::OnEvent(uint32_t slot, int side, uint32_t events) {
  if (side != 0 && side != 1) return;
  if (!flows_.Live(slot)) return;  // gone, or closed earlier in this batch
  Flow& f = flows_[slot];
  if (events & EPOLLERR) {
    const sock::Result r = sys_->GetOpt(f.side[side].fd, SOL_SOCKET, SO_ERROR);
    const int err = r.ok() ? static_cast<int>(r.value) : r.err;
    if (f.connecting && side == 1) ++counters_.connect_failed;
    LOG_TRACE("splice %u: side %d: %s, reset", slot, side, strerror(err));
    ++counters_.resets;
    Close(slot, true, "socket error");
    return;
  }
  if (f.connecting) {
    if (side != 1 || (events & EPOLLOUT) == 0) return;
    f.connecting = false;
    LOG_TRACE("splice %u: connected", slot);
    // What the accepted side sent meanwhile (its edge is gone), and
    // anything the new connection already has.
    if (!Move(slot, 0) || !Move(slot, 1)) return;
    MaybeDone(slot);
    return;
  }
  // Readable (or its end of stream): what this side sends moves. Room to
  // write: what the other side sent (waiting in its pipe, or not read yet)
  // moves. Move() reads and writes, so each direction needs one call.
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    if (!Move(slot, side)) return;
  }
  // Room to write only matters with something waiting in the pipe: an
  // empty pipe means the other socket was read dry (its next data brings
  // its own EPOLLIN), and a read now would only say EAGAIN.
  if ((events & EPOLLOUT) && f.side[1 - side].in_pipe > 0) {
    if (!Move(slot, 1 - side)) return;
  }
  MaybeDone(slot);
}

bool SpliceFlows::Move(uint32_t slot, int from) {
  Flow& f = flows_[slot];
  Side& in = f.side[from];
  Side& out = f.side[1 - from];
  // Reads and writes until neither moves anything. The socket is known to
  // be read dry only when a read into an empty pipe says EAGAIN: then its
  // next data brings the next EPOLLIN (edge triggered), and OnEvent relies
  // on it (a Move that ends with an empty pipe read the socket dry). A
  // short read is no such sign, nor EAGAIN with data in the pipe: the
  // pipe's slots (one per page or segment) can run out before its bytes
  // do, small segments fill them fast, and a socket left holding data
  // behind a closed window would never signal again.
  for (;;) {
    bool progress = false;
    const size_t room =
        in.pipe_size > in.in_pipe ? in.pipe_size - in.in_pipe : 0;
    // A full pipe is not read into (that would say EAGAIN): what is in it
    // goes first, and the writer's EPOLLOUT comes back here.
    if (!in.eof && room > 0) {
      const sock::Result n = sys_->Splice(in.fd, in.pipe_w, kPipeSize);
      if (n.ok() && n.value == 0) {
        in.eof = true;
        progress = true;
      } else if (n.ok()) {
        in.in_pipe += static_cast<size_t>(n.value);
        progress = true;
      } else if (n.err == EINTR) {
        progress = true;
      } else if (n.err != EAGAIN && n.err != EWOULDBLOCK) {
        LOG_TRACE("splice %u: read side %d: %s, reset", slot, from,
                  strerror(n.err));
        ++counters_.resets;
        Close(slot, true, "read error");
        return false;
      }
    }
    if (in.in_pipe > 0) {
      const sock::Result m = sys_->Splice(in.pipe_r, out.fd, in.in_pipe);
      if (m.ok() && m.value > 0) {
        in.in_pipe -= static_cast<size_t>(m.value);
        counters_.bytes += static_cast<uint64_t>(m.value);
        progress = true;
      } else if (!m.ok() && m.err != EAGAIN && m.err != EWOULDBLOCK &&
                 m.err != EINTR) {
        LOG_TRACE("splice %u: write side %d: %s, reset", slot, 1 - from,
                  strerror(m.err));
        ++counters_.resets;
        Close(slot, true, "write error");
        return false;
      }
    }
    if (in.eof && in.in_pipe == 0 && !out.shut) {
      sys_->ShutdownWrite(out.fd);
      out.shut = true;
      LOG_TRACE("splice %u: end of stream from side %d", slot, from);
    }
    if (!progress) return true;
  }
}

void SpliceFlows::MaybeDone(uint32_t slot) {
  const Flow& f = flows_[slot];
  if (f.side[0].shut && f.side[1].shut) Close(slot, false, "both sides done");
}

void SpliceFlows::Close(uint32_t slot, bool reset, const char* why) {
  if (!flows_.Defer(slot)) return;
  flows_[slot].reset = reset;
  LOG_TRACE("splice %u: closing (%s)", slot, why);
}

void SpliceFlows::Free(uint32_t slot) {
  Flow& f = flows_[slot];
  for (Side& s : f.side) {
    if (f.reset && s.fd >= 0) {
      sys_->CloseWithReset(s.fd);
      s.fd = -1;
    }
    CloseFd(s.fd);
    CloseFd(s.pipe_r);
    CloseFd(s.pipe_w);
  }
}

}  // namespace pasta::tcp
