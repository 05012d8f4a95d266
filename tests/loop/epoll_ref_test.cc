#include "loop/epoll_ref.h"

#include "gtest/gtest.h"

namespace pasta::loop {
namespace {

TEST(RefTest, RoundTripsEveryKind) {
  for (Kind k : {Kind::kTap, Kind::kSignal, Kind::kNetnsWatch, Kind::kPidWatch,
                 Kind::kTimer, Kind::kTcpListen, Kind::kTcpSock,
                 Kind::kTcpSplice, Kind::kSpliceListen, Kind::kUdp,
                 Kind::kUdpListen, Kind::kIcmp, Kind::kRelayListen,
                 Kind::kRelayFlow, Kind::kRelayInListen, Kind::kRelayInFlow}) {
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

TEST(RefTest, SideIsItsOwnBit) {
  const Ref r{Kind::kTcpSplice, kMaxIndex, 0x7fffffff, 1};
  const Ref back = Ref::Unpack(r.Pack());
  EXPECT_EQ(back.side, 1);
  EXPECT_EQ(back.index, kMaxIndex);
  EXPECT_EQ(back.kind, Kind::kTcpSplice);
  EXPECT_EQ(Ref::Unpack(Ref{Kind::kTcpSplice, kMaxIndex, 5, 0}.Pack()).side, 0);
  EXPECT_EQ(r.Pack() >> 31 & 1, 1u);
}

static_assert(Ref::Unpack(Ref{Kind::kUdp, 7, 9}.Pack()).index == 7);

}  // namespace
}  // namespace pasta::loop
