// NlSocket: one NETLINK_ROUTE socket in the calling thread's network
// namespace, with sequence numbers, reply collection and ACK/error handling
// (extended ack messages included).
//
// Requests are synchronous: send one, read replies until its ACK, error or
// NLMSG_DONE. Replies to other sequence numbers (left over from an earlier
// request) are skipped. The reply walker is a pure function so that ACK and
// error handling can be tested on literal bytes.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/fd.h"

namespace pasta::netlink {

using MessageFn = absl::FunctionRef<void(const nlmsghdr*)>;

// Where a request stands while its replies are read.
struct ReplyState {
  bool done = false;         // ACK, error or NLMSG_DONE seen
  int error = 0;             // positive errno; 0 = success so far
  std::string ext_msg;       // extended ack message, if any
  bool interrupted = false;  // NLM_F_DUMP_INTR: the dump must be redone
};

// Walks the messages in `bytes` (one recv's worth). Data messages with
// sequence number `seq` go to `on_message`; others are skipped. An
// NLMSG_ERROR or NLMSG_DONE of `seq` finishes the request. Bytes that do not
// form a whole message finish it with EBADMSG. Allocates only for ext_msg.
void ProcessReplies(absl::Span<const uint8_t> bytes, uint32_t seq,
                    MessageFn on_message, ReplyState* state);

// Turns a failed ReplyState into "<what>: <strerror>[: <ext ack>]" with the
// errno's status code; OK if state.error == 0.
absl::Status ReplyStatus(const ReplyState& state, std::string_view what);

class NlSocket {
 public:
  // Opens and binds the socket; enables NETLINK_EXT_ACK and NETLINK_CAP_ACK
  // where the kernel has them, and NETLINK_GET_STRICT_CHK if `strict_check`
  // (ENOPROTOOPT before Linux 4.20 is ignored: correctness never depends on
  // it). Allocates the receive buffer.
  static absl::StatusOr<NlSocket> Open(bool strict_check);

  NlSocket(NlSocket&&) = default;
  NlSocket& operator=(NlSocket&&) = default;
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;
  ~NlSocket() = default;

  // Sends the request in `msg` (exactly one message, nlmsg_len == size;
  // NLM_F_ACK expected for non-dumps) after giving it the next sequence
  // number, then reads replies until it is finished, passing data messages to
  // `on_message`. Returns the final state; socket errors are reported in it
  // too (error = errno, empty ext_msg).
  ReplyState Transact(absl::Span<uint8_t> msg, MessageFn on_message);

  // Whether strict checking was requested and accepted by the kernel.
  bool strict() const { return strict_; }

 private:
  NlSocket() = default;

  UniqueFd fd_;
  uint32_t seq_ = 0;
  bool strict_ = false;
  std::vector<uint8_t> rxbuf_;
};

}  // namespace pasta::netlink
