// The listeners of -t/-u/-T/-U lists: which (port, family) pairs
// AddForwards() asks for, and what failures mean.
#include "fwd/forwards.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/net_types.h"
#include "config/port_spec.h"
#include "fwd/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log_capture.h"

namespace pasta::fwd {
namespace {

using ::testing::ElementsAre;

// One call of the add callback.
struct Call {
  int family;
  std::string bind;  // "" for the wildcard address
  uint16_t port;
  uint16_t target;
  std::string to = "";  // the target address, "" for the other side's own
  bool operator==(const Call&) const = default;
};

void PrintTo(const Call& c, std::ostream* os) {
  *os << (c.family == AF_INET ? "v4" : "v6") << " [" << c.bind << "] " << c.port
      << "->" << c.to << ":" << c.target;
}

config::PortSpec Spec(const std::string& text) {
  config::PortSpec spec;
  const absl::Status st = spec.Add(text);
  EXPECT_TRUE(st.ok()) << text << ": " << st;
  return spec;
}

// Plenty of descriptors; the ephemeral range 1000-60000, so that an
// exclusion-only list wants 999 + 5535 ports, less its exclusions.
constexpr Limits kRoomy{{1000, 60000}, 1'000'000};
constexpr size_t kPortsOutsideEphemeral = 999 + 5535;

// Records the listeners asked for; fails those `refuse` picks, with
// `error`.
struct Recorder {
  std::function<bool(const Call&)> refuse = [](const Call&) { return false; };
  absl::Status error = absl::PermissionDeniedError("bind: Permission denied");
  std::vector<Call> calls;
};

// AddForwards() with `r` as the add callback.
absl::Status Forward(const config::PortSpec& spec, const char* option,
                     bool enabled4, bool enabled6, const Limits& limits,
                     Recorder& r) {
  return AddForwards(spec, option, enabled4, enabled6, limits,
                     [&r](int family, const IpAddr* bind, uint16_t port,
                          uint16_t target, const IpAddr* to) {
                       const Call c{family, bind ? FormatIp(*bind) : "", port,
                                    target, to ? FormatIp(*to) : ""};
                       r.calls.push_back(c);
                       return r.refuse(c) ? r.error : absl::OkStatus();
                     });
}

TEST(AddForwardsTest, ExplicitListOpensAListenerPerEnabledFamily) {
  Recorder r;
  EXPECT_TRUE(Forward(Spec("22,80:8080"), "-t", true, true, kRoomy, r).ok());
  EXPECT_THAT(
      r.calls,
      ElementsAre(Call{AF_INET, "", 22, 22}, Call{AF_INET6, "", 22, 22},
                  Call{AF_INET, "", 80, 8080}, Call{AF_INET6, "", 80, 8080}));
}

TEST(AddForwardsTest, DisabledFamiliesGetNoListener) {
  Recorder v4, v6;
  EXPECT_TRUE(Forward(Spec("22"), "-t", true, false, kRoomy, v4).ok());
  EXPECT_THAT(v4.calls, ElementsAre(Call{AF_INET, "", 22, 22}));
  EXPECT_TRUE(Forward(Spec("22"), "-t", false, true, kRoomy, v6).ok());
  EXPECT_THAT(v6.calls, ElementsAre(Call{AF_INET6, "", 22, 22}));
}

TEST(AddForwardsTest, BindAddressLimitsTheFamily) {
  config::PortSpec spec = Spec("127.0.0.1/22");
  ASSERT_TRUE(spec.Add("[::1]/80").ok());
  ASSERT_TRUE(spec.Add("443").ok());
  Recorder r;
  EXPECT_TRUE(Forward(spec, "-u", true, true, kRoomy, r).ok());
  EXPECT_THAT(r.calls, ElementsAre(Call{AF_INET, "127.0.0.1", 22, 22},
                                   Call{AF_INET6, "::1", 80, 80},
                                   Call{AF_INET, "", 443, 443},
                                   Call{AF_INET6, "", 443, 443}));
}

TEST(AddForwardsTest, TargetAddressesGoWithTheirPorts) {
  config::PortSpec spec = Spec("0.0.0.0/5000:192.0.2.5/6000,5001");
  ASSERT_TRUE(spec.Add("[::1]/7000-7001:2001:db8::7").ok());
  Recorder r;
  EXPECT_TRUE(Forward(spec, "-t", true, true, kRoomy, r).ok());
  EXPECT_THAT(r.calls,
              ElementsAre(Call{AF_INET, "0.0.0.0", 5000, 6000, "192.0.2.5"},
                          Call{AF_INET, "0.0.0.0", 5001, 5001},
                          Call{AF_INET6, "::1", 7000, 7000, "2001:db8::7"},
                          Call{AF_INET6, "::1", 7001, 7001, "2001:db8::7"}));
}

TEST(AddForwardsTest, ABindAddressOfADisabledFamilyOpensNothing) {
  Recorder r;
  EXPECT_TRUE(Forward(Spec("[::1]/80"), "-t", true, false, kRoomy, r).ok());
  EXPECT_TRUE(r.calls.empty());
}

TEST(AddForwardsTest, FirstFailureOfAnExplicitListIsTheError) {
  Recorder r;
  r.refuse = [](const Call& c) { return c.port == 80 && c.family == AF_INET6; };
  const absl::Status st =
      Forward(Spec("22,80,443"), "-T", true, true, kRoomy, r);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "-T 80: bind: Permission denied");
  // Nothing after the failure is tried.
  EXPECT_THAT(
      r.calls,
      ElementsAre(Call{AF_INET, "", 22, 22}, Call{AF_INET6, "", 22, 22},
                  Call{AF_INET, "", 80, 80}, Call{AF_INET6, "", 80, 80}));
}

TEST(AddForwardsTest, AnExplicitListIgnoresTheLimits) {
  Recorder r;
  const Limits none{{1000, 60000}, 0};
  EXPECT_TRUE(Forward(Spec("40000"), "-t", true, false, none, r).ok());
  // Inside the ephemeral range, but named: forwarded.
  EXPECT_THAT(r.calls, ElementsAre(Call{AF_INET, "", 40000, 40000}));
}

TEST(AddForwardsTest, AutoAndNoneOpenNothing) {
  Recorder r;
  EXPECT_TRUE(Forward(config::PortSpec(), "-t", true, true, kRoomy, r).ok());
  EXPECT_TRUE(Forward(Spec("none"), "-t", true, true, kRoomy, r).ok());
  EXPECT_TRUE(r.calls.empty());
}

TEST(AddForwardsTest, ExclusionListSkipsTheEphemeralRange) {
  Recorder r;
  EXPECT_TRUE(Forward(Spec("~25"), "-t", true, false, kRoomy, r).ok());
  ASSERT_EQ(r.calls.size(), kPortsOutsideEphemeral - 1);
  PortSet seen;
  for (const Call& c : r.calls) {
    EXPECT_EQ(c.family, AF_INET);
    EXPECT_EQ(c.target, c.port);
    seen.set(c.port);
  }
  EXPECT_TRUE(seen.test(1));
  EXPECT_FALSE(seen.test(25));  // excluded
  EXPECT_TRUE(seen.test(999));
  EXPECT_FALSE(seen.test(1000));  // ephemeral
  EXPECT_FALSE(seen.test(60000));
  EXPECT_TRUE(seen.test(60001));
  EXPECT_TRUE(seen.test(65535));
  EXPECT_EQ(r.calls.front().port, 1);
  EXPECT_EQ(r.calls.back().port, 65535);
}

TEST(AddForwardsTest, ExclusionListNeedsDescriptorsForAllItsListeners) {
  const size_t wanted = 2 * (kPortsOutsideEphemeral - 1);  // 13066
  Recorder r;
  const Limits tight{{1000, 60000}, wanted + kSpareDescriptors - 1};
  const absl::Status st = Forward(Spec("~25"), "-t", true, true, tight, r);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(),
            "-t: every port but the excluded ones takes 13066 listening "
            "sockets, and only 14089 descriptors are free under the limit "
            "(ulimit -n), 1024 of them kept for connections: raise the "
            "limit, or give ranges");
  EXPECT_TRUE(r.calls.empty());  // refused before opening any

  const Limits enough{{1000, 60000}, wanted + kSpareDescriptors};
  EXPECT_TRUE(Forward(Spec("~25"), "-t", true, true, enough, r).ok());
  EXPECT_EQ(r.calls.size(), wanted);
}

TEST(AddForwardsTest, ExclusionListSkipsAndCountsPortsThatCantBeBound) {
  LogCapture log(log::Level::kInfo);
  Recorder r;
  // Ports below 1000 refused, and port 8080's IPv6 listener.
  r.refuse = [](const Call& c) {
    return c.port < 1000 || (c.port == 8080 && c.family == AF_INET6);
  };
  const Limits limits{{10000, 60000}, 1'000'000};
  EXPECT_TRUE(Forward(Spec("~25"), "-U", true, true, limits, r).ok());
  // Ports 1-9999 but 25, and 60001-65535: 9998 + 5535 ports, two families
  // each; 998 ports refused twice, 8080 once.
  EXPECT_EQ(r.calls.size(), 2u * (9998 + 5535));
  EXPECT_EQ(log.Text(),
            "-U: 29069 listeners for every port but the excluded ones and "
            "the ephemeral range 10000-60000; 1997 refused (port in use or "
            "not permitted)\n");
}

TEST(AddForwardsTest, ExclusionListFailsWhenNoPortBinds) {
  Recorder r;
  r.refuse = [](const Call&) { return true; };
  const absl::Status st = Forward(Spec("~25"), "-u", true, false, kRoomy, r);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "-u: no port could be forwarded (6533 refused)");
  EXPECT_EQ(r.calls.size(), kPortsOutsideEphemeral - 1);  // all were tried
}

TEST(ExplicitPortsTest, AnExplicitListIsItsOwnSidesPorts) {
  const PortSet ports =
      ExplicitPorts(Spec("22,80-82:90-92,40000"), {1000, 60000});
  EXPECT_EQ(ports.count(), 5u);
  for (int p : {22, 80, 81, 82, 40000}) EXPECT_TRUE(ports.test(p)) << p;
  EXPECT_FALSE(ports.test(90));  // a target, on the other side
}

TEST(ExplicitPortsTest, AnExclusionListLeavesOutTheEphemeralRange) {
  const PortSet ports = ExplicitPorts(Spec("~25"), {1000, 60000});
  EXPECT_EQ(ports.count(), kPortsOutsideEphemeral - 1);
  EXPECT_FALSE(ports.test(0));
  EXPECT_FALSE(ports.test(25));
  EXPECT_TRUE(ports.test(999));
  EXPECT_FALSE(ports.test(1000));
  EXPECT_FALSE(ports.test(60000));
  EXPECT_TRUE(ports.test(60001));
}

TEST(ExplicitPortsTest, AutoAndNoneAreEmpty) {
  EXPECT_TRUE(ExplicitPorts(config::PortSpec(), {1000, 60000}).none());
  EXPECT_TRUE(ExplicitPorts(Spec("none"), {1000, 60000}).none());
}

TEST(AutoPortsTest, ThePortsAnAutoListAllows) {
  EXPECT_EQ(AutoPorts(config::PortSpec()).count(), 65535u);
  EXPECT_FALSE(AutoPorts(config::PortSpec()).test(0));
  const PortSet limited = AutoPorts(Spec("8000-8010,~8005,auto"));
  EXPECT_EQ(limited.count(), 10u);
  EXPECT_TRUE(limited.test(8000));
  EXPECT_FALSE(limited.test(8005));
  EXPECT_FALSE(limited.test(8011));
  const PortSet but = AutoPorts(Spec("~22,auto"));
  EXPECT_EQ(but.count(), 65534u);
  EXPECT_FALSE(but.test(22));
  EXPECT_TRUE(AutoPorts(Spec("22")).none());
}

TEST(ExplicitPortsTest, MatchesThePortsAddForwardsOpens) {
  for (const char* text : {"~25,~30-40", "22,8080-8090:9080-9090"}) {
    const config::PortSpec spec = Spec(text);
    Recorder r;
    ASSERT_TRUE(Forward(spec, "-t", true, true, kRoomy, r).ok());
    PortSet opened;
    for (const Call& c : r.calls) opened.set(c.port);
    EXPECT_EQ(ExplicitPorts(spec, kRoomy.ephemeral), opened) << text;
  }
}

TEST(LimitsTest, FreeDescriptorsCountsTheOpenOnes) {
  const size_t before = FreeDescriptors();
  ASSERT_GT(before, 1u);
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(FreeDescriptors(), before - 1);
  close(fd);
  EXPECT_EQ(FreeDescriptors(), before);
}

TEST(LimitsTest, EphemeralPortsIsARange) {
  const auto [lo, hi] = EphemeralPorts();
  EXPECT_GT(lo, 0);
  EXPECT_LE(lo, hi);
  EXPECT_EQ(ReadLimits().ephemeral, EphemeralPorts());
}

}  // namespace
}  // namespace pasta::fwd
