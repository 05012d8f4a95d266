#include "flow/addr_map.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

namespace pasta::flow {
namespace {

IpAddr Ip(const char* text) { return *ParseIp(text); }

// How a host peer `real` is shown to the namespace, as text.
std::string Shown(const AddressMap& m, const char* real) {
  const IpAddr r = Ip(real);
  IpAddr shown;
  shown.family = r.family;
  ShownPeer(m, r.family, r.bytes.data(), shown.bytes.data());
  return FormatIp(shown);
}

AddressMap LabMap() {
  AddressMap m;
  m.map_host4 = Ip("198.51.100.1");
  m.map_host6 = Ip("2001:db8:1::1");
  m.ns4 = Ip("198.51.100.2");
  m.ns6 = Ip("2001:db8:1::2");
  m.ours4 = Ip("198.51.100.1");
  m.ours6 = Ip("fe80::5028:16ff:fead:1b1d");
  return m;
}

TEST(ShownPeerTest, OtherPeersAsThemselves) {
  const AddressMap m = LabMap();
  EXPECT_EQ(Shown(m, "203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(Shown(m, "2001:db8:2::1"), "2001:db8:2::1");
}

TEST(ShownPeerTest, HostLoopbackAsTheMapHostAddress) {
  const AddressMap m = LabMap();
  EXPECT_EQ(Shown(m, "127.0.0.1"), "198.51.100.1");
  EXPECT_EQ(Shown(m, "::1"), "2001:db8:1::1");
}

// The host reaching a published port at its own address, which the
// namespace's address copies: never shown as the namespace's own address.
TEST(ShownPeerTest, TheNamespacesOwnAddressAsUs) {
  const AddressMap m = LabMap();
  EXPECT_EQ(Shown(m, "198.51.100.2"), "198.51.100.1");
  EXPECT_EQ(Shown(m, "2001:db8:1::2"), "fe80::5028:16ff:fead:1b1d");
}

TEST(ShownPeerTest, TheNamespacesOwnAddressAsMapGuestWhereGiven) {
  AddressMap m = LabMap();
  m.map_guest4 = Ip("169.254.1.2");
  m.map_guest6 = Ip("fd00::2");
  EXPECT_EQ(Shown(m, "198.51.100.2"), "169.254.1.2");
  EXPECT_EQ(Shown(m, "2001:db8:1::2"), "fd00::2");
}

TEST(ShownPeerTest, NothingToShowInsteadLeavesItAlone) {
  AddressMap m;
  m.ns4 = Ip("198.51.100.2");
  EXPECT_EQ(Shown(m, "198.51.100.2"), "198.51.100.2");
  EXPECT_EQ(Shown(m, "127.0.0.1"), "127.0.0.1");
}

}  // namespace
}  // namespace pasta::flow
