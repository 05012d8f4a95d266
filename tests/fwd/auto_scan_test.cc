// Automatic forwarding's scan: which ports each of -t, -u, -T and -U auto
// is given, so that no port is forwarded back the way it came.
#include "fwd/auto_scan.h"

#include <initializer_list>
#include <memory>
#include <vector>

#include "fwd/auto_forward.h"
#include "fwd/proc_net.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pasta::fwd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

PortSet Ports(std::initializer_list<int> list) {
  PortSet s;
  for (int p : list) s.set(static_cast<size_t>(p));
  return s;
}

// One direction's listeners, as calls: every port opens.
struct Listeners {
  std::vector<int> opened, closed;
};

class ScanOnceTest : public testing::Test {
 protected:
  std::unique_ptr<AutoForward> Make(const char* name, Listeners& l) {
    return std::make_unique<AutoForward>(
        name,
        [&l](uint16_t p) {
          l.opened.push_back(p);
          return true;
        },
        [&l](uint16_t p) { l.closed.push_back(p); });
  }
  void SetUp() override {
    dirs_.tcp_in = Make("-t auto", t_);
    dirs_.udp_in = Make("-u auto", u_);
    dirs_.tcp_out = Make("-T auto", T_);
    dirs_.udp_out = Make("-U auto", U_);
  }
  void Scan(const ScanTables& now) { ScanOnce(now, explicit_, dirs_); }

  Listeners t_, u_, T_, U_;
  AutoDirections dirs_;
  ExplicitSets explicit_;
};

TEST_F(ScanOnceTest, EachDirectionForwardsItsSide) {
  Scan({.ns_tcp = Ports({80}),
        .ns_udp = Ports({53}),
        .host_tcp = Ports({5432}),
        .host_udp = Ports({123})});
  EXPECT_THAT(t_.opened, ElementsAre(80));
  EXPECT_THAT(u_.opened, ElementsAre(53, 80));  // TCP's too, see below
  EXPECT_THAT(T_.opened, ElementsAre(5432));
  EXPECT_THAT(U_.opened, ElementsAre(123, 5432));
}

TEST_F(ScanOnceTest, APortForwardedFromTheHostIsNotForwardedBack) {
  // -T auto takes the host's 8080: our listener shows in the namespace.
  Scan({.host_tcp = Ports({8080})});
  EXPECT_THAT(T_.opened, ElementsAre(8080));
  Scan({.ns_tcp = Ports({8080}), .host_tcp = Ports({8080})});
  EXPECT_THAT(t_.opened, IsEmpty());
  EXPECT_THAT(u_.opened, IsEmpty());  // ours, though TCP
  EXPECT_THAT(T_.opened, ElementsAre(8080));
  EXPECT_THAT(T_.closed, IsEmpty());
}

TEST_F(ScanOnceTest, APortForwardedFromTheNamespaceIsNotForwardedBack) {
  Scan({.ns_tcp = Ports({22})});
  EXPECT_THAT(t_.opened, ElementsAre(22));
  Scan({.ns_tcp = Ports({22}), .host_tcp = Ports({22})});
  EXPECT_THAT(T_.opened, IsEmpty());
  EXPECT_THAT(U_.opened, IsEmpty());
  EXPECT_THAT(t_.opened, ElementsAre(22));
}

TEST_F(ScanOnceTest, ExplicitPortsAreNotForwardedBack) {
  explicit_.tcp_out = Ports({5432});  // -T 5432: our listener in the ns
  explicit_.udp_out = Ports({6000});  // -U 6000
  explicit_.tcp_in = Ports({443});    // -t 443: our listener on the host
  explicit_.udp_in = Ports({4789});   // -u 4789
  Scan({.ns_tcp = Ports({5432, 80}),
        .ns_udp = Ports({6000, 53}),
        .host_tcp = Ports({443, 25}),
        .host_udp = Ports({4789, 123})});
  EXPECT_THAT(t_.opened, ElementsAre(80));
  EXPECT_THAT(u_.opened, ElementsAre(53, 80));
  EXPECT_THAT(T_.opened, ElementsAre(25));
  EXPECT_THAT(U_.opened, ElementsAre(25, 123));
}

TEST_F(ScanOnceTest, UdpAutoAlsoTakesTcpPortsButNotOurs) {
  // As upstream (iperf3 listens on both): -u auto takes where TCP listens.
  explicit_.tcp_out = Ports({5432});
  Scan({.host_tcp = Ports({8080})});  // -T auto takes 8080
  Scan({.ns_tcp = Ports({5201, 5432, 8080}), .host_tcp = Ports({8080})});
  EXPECT_THAT(u_.opened, ElementsAre(5201));
  // Outward the same: the host's TCP ports, but not -t's.
  explicit_.tcp_in = Ports({443});
  Scan({.ns_tcp = Ports({5201, 5432, 8080}),
        .host_tcp = Ports({443, 5201, 8080, 9999})});
  EXPECT_THAT(U_.opened, ElementsAre(8080, 9999));
}

TEST_F(ScanOnceTest, UdpAutoLeavesTcpPortsOfTcpAutoAlone) {
  // -U not auto: only -T auto holds the host's 8080 in the namespace.
  dirs_.udp_out.reset();
  Scan({.host_tcp = Ports({8080})});
  EXPECT_THAT(T_.opened, ElementsAre(8080));
  Scan({.ns_tcp = Ports({8080}), .host_tcp = Ports({8080})});
  EXPECT_THAT(u_.opened, IsEmpty());
  // And outward, with -u not auto.
  dirs_.udp_in.reset();
  Scan({.ns_tcp = Ports({22})});
  EXPECT_THAT(t_.opened, ElementsAre(22));
  dirs_.udp_out = Make("-U auto", U_);
  Scan({.ns_tcp = Ports({22}), .host_tcp = Ports({22})});
  EXPECT_THAT(U_.opened, IsEmpty());
}

TEST_F(ScanOnceTest, TheFirstDirectionToTakeAPortKeepsIt) {
  // Bound on both sides at once: the inward direction goes first.
  Scan({.ns_tcp = Ports({7000}), .host_tcp = Ports({7000})});
  EXPECT_THAT(t_.opened, ElementsAre(7000));
  EXPECT_THAT(T_.opened, IsEmpty());
  Scan({.ns_tcp = Ports({7000}), .host_tcp = Ports({7000})});
  EXPECT_THAT(T_.opened, IsEmpty());
  EXPECT_THAT(t_.closed, IsEmpty());

  // Taken by -T first, -t doesn't take it when it shows in the namespace.
  Scan({.host_tcp = Ports({7100})});
  EXPECT_THAT(T_.opened, ElementsAre(7100));
  Scan({.ns_tcp = Ports({7100}), .host_tcp = Ports({7100})});
  EXPECT_THAT(t_.opened, ElementsAre(7000));
  EXPECT_THAT(T_.closed, IsEmpty());
}

TEST_F(ScanOnceTest, APortClosedInwardIsNotTakenOutwardInTheSameScan) {
  Scan({.ns_tcp = Ports({9000}), .ns_udp = Ports({9001})});
  EXPECT_THAT(t_.opened, ElementsAre(9000));
  EXPECT_THAT(u_.opened, ElementsAre(9000, 9001));
  // The servers left the namespace; our listeners were still in the host's
  // tables when they were read.
  Scan({.host_tcp = Ports({9000}), .host_udp = Ports({9000, 9001})});
  EXPECT_THAT(t_.closed, ElementsAre(9000));
  EXPECT_THAT(u_.closed, ElementsAre(9000, 9001));
  EXPECT_THAT(T_.opened, IsEmpty());
  EXPECT_THAT(U_.opened, IsEmpty());
  // Gone from the host too: nothing happens.
  Scan({});
  EXPECT_THAT(T_.opened, IsEmpty());
  EXPECT_THAT(U_.opened, IsEmpty());
}

TEST_F(ScanOnceTest, DirectionsNotSetUpAreSkipped) {
  dirs_.tcp_in.reset();
  dirs_.udp_in.reset();
  dirs_.tcp_out.reset();
  Scan({.ns_tcp = Ports({80}), .host_udp = Ports({123})});
  EXPECT_THAT(U_.opened, ElementsAre(123));
  EXPECT_THAT(t_.opened, IsEmpty());
}

TEST_F(ScanOnceTest, TablesNotOpenedReadAsNoPorts) {
  AutoForwarding a;
  a.dirs.tcp_in = Make("-t auto", t_);
  ScanOnce({.ns_tcp = Ports({80})}, a.explicit_ports, a.dirs);
  EXPECT_THAT(t_.opened, ElementsAre(80));
  a.Scan();  // no files: the port is gone
  EXPECT_THAT(t_.closed, ElementsAre(80));
}

}  // namespace
}  // namespace pasta::fwd
