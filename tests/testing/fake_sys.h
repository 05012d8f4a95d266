// The base of every test fake of the socket seam (sock::Sys): each call
// fails cleanly with ENOSYS unless a fake overrides it, so a handler that
// makes a call its test did not expect sees an ordinary failure (and the
// test its consequence), never a crash or a real system call.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "sock/sys.h"

namespace pasta::fake {

class FakeSys : public sock::Sys {
 public:
  using Result = sock::Result;
  using Netns = sock::Netns;

  Result Socket(Netns, int, int, int) override { return Unset(); }
  Result SetOpt(int, int, int, int) override { return Unset(); }
  Result GetOpt(int, int, int) override { return Unset(); }
  Result Bind(int, int, const uint8_t*, uint16_t) override { return Unset(); }
  Result BindToDevice(int, const std::string&) override { return Unset(); }
  Result Connect(int, int, const uint8_t*, uint16_t) override {
    return Unset();
  }
  Result Listen(int) override { return Unset(); }
  Result Accept(int, int*, uint8_t*, uint16_t*) override { return Unset(); }
  Result ShutdownWrite(int) override { return Unset(); }
  Result Close(int) override { return Unset(); }
  Result CloseWithReset(int) override { return Unset(); }
  Result Send(int, absl::Span<const uint8_t>) override { return Unset(); }
  Result SendTo(int, int, const uint8_t*, uint16_t,
                absl::Span<const uint8_t>) override {
    return Unset();
  }
  Result SendSegments(int, absl::Span<const uint8_t>, uint16_t) override {
    return Unset();
  }
  Result Recv(int, absl::Span<uint8_t>) override { return Unset(); }
  Result Peek(int, size_t, const iovec*, int) override { return Unset(); }
  Result Discard(int, size_t) override { return Unset(); }
  Result RecvBatch(int, sock::Datagram*, int) override { return Unset(); }
  Result SendBatch(int, int, const uint8_t*, uint16_t, const sock::Datagram*,
                   int) override {
    return Unset();
  }
  Result RecvError(int, absl::Span<uint8_t>, sock::IcmpErrorInfo*) override {
    return Unset();
  }
  Result Pipe(int[2]) override { return Unset(); }
  Result SetPipeSize(int, size_t) override { return Unset(); }
  Result Splice(int, int, size_t) override { return Unset(); }
  Result Watch(int, uint64_t, uint32_t) override { return Unset(); }

 protected:
  static Result Unset() { return sock::Fail(ENOSYS); }
};

}  // namespace pasta::fake
