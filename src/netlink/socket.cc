#include "netlink/socket.h"

#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/log.h"
#include "common/status.h"
#include "netlink/messages.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace pasta::netlink {

namespace {

// Large enough for any dump batch the kernel sends (it sizes them to at most
// 32 KiB, or to one message if a single one is larger).
constexpr size_t kRxBufSize = 64 * 1024;

bool SetFlag(int fd, int opt) {
  const int one = 1;
  return setsockopt(fd, SOL_NETLINK, opt, &one, sizeof(one)) == 0;
}

}  // namespace

void ProcessReplies(absl::Span<const uint8_t> bytes, uint32_t seq,
                    MessageFn on_message, ReplyState* state) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data());
  int rem = static_cast<int>(bytes.size());
  // mnl_nlmsg_ok() compares nlmsg_len as an int: a length of 2 GiB or more
  // passes as negative (and then rounds up to 0, so the walk would never
  // advance). Compare it unsigned as well.
  while (!state->done && mnl_nlmsg_ok(nlh, rem) &&
         nlh->nlmsg_len <= static_cast<uint32_t>(rem)) {
    if (nlh->nlmsg_seq != seq) {
      LOG_TRACE("netlink: skipping stale reply (seq %u, want %u)",
                nlh->nlmsg_seq, seq);
    } else if (nlh->nlmsg_type == NLMSG_ERROR ||
               nlh->nlmsg_type == NLMSG_DONE) {
      std::optional<AckInfo> ack = ParseAck(nlh);
      state->done = true;
      if (!ack) {
        state->error = EBADMSG;
      } else {
        state->error = ack->error;
        state->ext_msg = std::move(ack->message);
      }
    } else if (nlh->nlmsg_type == NLMSG_OVERRUN) {
      state->done = true;
      state->error = ENOBUFS;
    } else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) state->interrupted = true;
      on_message(nlh);
    }
    nlh = mnl_nlmsg_next(nlh, &rem);
  }
  // Leftover bytes that are not a whole message: the stream is corrupt.
  if (!state->done && rem > 0) {
    state->done = true;
    state->error = EBADMSG;
  }
}

absl::Status ReplyStatus(const ReplyState& state, std::string_view what) {
  if (state.error == 0) return absl::OkStatus();
  absl::Status s = ErrnoToStatus(state.error, what);
  if (state.ext_msg.empty()) return s;
  return absl::Status(s.code(),
                      std::string(s.message()) + ": " + state.ext_msg);
}

absl::StatusOr<NlSocket> NlSocket::Open(bool strict_check) {
  NlSocket sock;
  sock.fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock.fd_.valid())
    return ErrnoToStatus(errno, "netlink: socket(NETLINK_ROUTE)");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(sock.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) <
      0)
    return ErrnoToStatus(errno, "netlink: bind");
  // Extended acks (4.12+) and capped acks (4.3+) are nice to have.
  if (!SetFlag(sock.fd_.get(), NETLINK_EXT_ACK))
    LOG_DEBUG("netlink: no extended ack: %s", std::strerror(errno));
  SetFlag(sock.fd_.get(), NETLINK_CAP_ACK);
  if (strict_check) {
    if (SetFlag(sock.fd_.get(), NETLINK_GET_STRICT_CHK)) {
      sock.strict_ = true;
    } else {
      // ENOPROTOOPT before 4.20: filtering is ours anyway.
      LOG_DEBUG("netlink: no strict checking: %s", std::strerror(errno));
    }
  }
  // Start from an arbitrary sequence number so that replies to an earlier
  // socket with the same port can't be mistaken for ours.
  sock.seq_ = static_cast<uint32_t>(time(nullptr));
  sock.rxbuf_.resize(kRxBufSize);
  return sock;
}

ReplyState NlSocket::Transact(absl::Span<uint8_t> msg, MessageFn on_message) {
  ReplyState state;
  if (msg.size() < sizeof(nlmsghdr)) {
    state.done = true;
    state.error = EINVAL;
    return state;
  }
  auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
  if (++seq_ == 0) ++seq_;  // 0 means "any" to some readers
  nlh->nlmsg_seq = seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_.get(), msg.data(), msg.size(), 0,
               reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    state.done = true;
    state.error = errno;
    return state;
  }
  while (!state.done) {
    sockaddr_nl from{};
    iovec iov{rxbuf_.data(), rxbuf_.size()};
    msghdr mh{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof(from);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    n = recvmsg(fd_.get(), &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      state.done = true;
      state.error = errno;
      break;
    }
    if (mh.msg_flags & MSG_TRUNC) {
      state.done = true;
      state.error = EMSGSIZE;
      break;
    }
    if (from.nl_pid != 0) continue;  // only the kernel talks to us
    ProcessReplies(absl::MakeConstSpan(rxbuf_.data(), static_cast<size_t>(n)),
                   seq_, on_message, &state);
  }
  return state;
}

}  // namespace pasta::netlink
