#include "loop/epoll_ref.h"

#include "gtest/gtest.h"

namespace pasta::loop {
namespace {

TEST(RefTest, RoundTripsEveryKind) {
  for (Kind k : {Kind::kTap, Kind::kSignal, Kind::kNetnsWatch, Kind::kPidWatch,
                 Kind::kTimer, Kind::kTcpListen, Kind::kTcpSock,
                 Kind::kTcpSplice, Kind::kUdp, Kind::kIcmp}) {
    const Ref r{k, 12345, 67};
    EXPECT_EQ(Ref::Unpack(r.Pack()), r);
  }
}

TEST(RefTest, ExtremesDoNotBleedIntoEachOther) {
  const Ref r{Kind::kIcmp, kMaxIndex, 0x7fffffff};
  const Ref back = Ref::Unpack(r.Pack());
  EXPECT_EQ(back.kind, Kind::kIcmp);
  EXPECT_EQ(back.index, kMaxIndex);
  EXPECT_EQ(back.fd, 0x7fffffff);
  const Ref zero{Kind::kTap, 0, 0};
  EXPECT_EQ(Ref::Unpack(zero.Pack()), zero);
}

TEST(RefTest, LayoutIsKindIndexFd) {
  const Ref r{Kind::kTap, 0x010203, 0x0a0b0c0d};
  EXPECT_EQ(r.Pack(), 0x0a0b0c0d01020301ull);
}

static_assert(Ref::Unpack(Ref{Kind::kUdp, 7, 9}.Pack()).index == 7);

}  // namespace
}  // namespace pasta::loop
