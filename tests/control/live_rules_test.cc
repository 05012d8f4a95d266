// The live rule set against a fake that binds as the kernel does (an
// any-address listener and one on a specific address of the same family
// and port can't both exist; ports someone else holds can't be bound):
// what is open after each update, and that a refused update leaves it all
// as it was.
#include "control/live_rules.h"

#include <sys/socket.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pasta::control {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kCaps = 0x3f;
constexpr std::pair<uint16_t, uint16_t> kEphemeral{32768, 60999};

class FakeListeners : public ListenerOps {
 public:
  absl::StatusOr<uint32_t> Open(const ListenKey& key,
                                const ListenTarget& target) override {
    ++opens;
    if (taken.contains({key.proto, key.port})) {
      return absl::AlreadyExistsError("Address already in use");
    }
    for (const auto& [handle, l] : open) {
      if (l.key.proto == key.proto && l.key.family == key.family &&
          l.key.port == key.port && l.key.pif == key.pif &&
          (IsUnspecified(l.key.addr) || IsUnspecified(key.addr) ||
           l.key.addr == key.addr)) {
        return absl::AlreadyExistsError("Address already in use");
      }
    }
    open[next] = Listener{key, target};
    return next++;
  }
  void Close(const ListenKey& key, uint32_t handle) override {
    ASSERT_TRUE(open.contains(handle));
    ASSERT_EQ(open[handle].key, key);
    open.erase(handle);
  }
  void Retarget(const ListenKey& key, uint32_t handle,
                const ListenTarget& target) override {
    ASSERT_TRUE(open.contains(handle));
    ASSERT_EQ(open[handle].key, key);
    open[handle].target = target;
    ++retargets;
  }

  size_t FreeDescriptors() override { return free_descriptors; }

  // "TCP v4 8080->8080" lines, sorted.
  std::vector<std::string> Lines() const {
    std::set<std::string> out;
    for (const auto& [handle, l] : open) {
      out.insert(absl::StrCat(
          l.key.proto == kProtoTcp ? "TCP" : "UDP",
          l.key.pif == Pif::kSplice ? " lo" : "",
          l.key.family == AF_INET ? " v4 " : " v6 ",
          IsUnspecified(l.key.addr) ? std::string()
                                    : FormatWireAddr(l.key.addr) + " ",
          l.key.port, "->",
          IsUnspecified(l.target.addr) ? std::string()
                                       : FormatWireAddr(l.target.addr) + ":",
          l.target.port));
    }
    return {out.begin(), out.end()};
  }

  struct Listener {
    ListenKey key;
    ListenTarget target;
  };
  std::map<uint32_t, Listener> open;
  std::set<std::pair<uint8_t, uint16_t>> taken;  // (proto, port) not ours
  uint32_t next = 100;
  int opens = 0;
  int retargets = 0;
  size_t free_descriptors = 100000;
};

std::vector<Table> Tables(std::vector<std::pair<char, std::string>> specs) {
  std::vector<Table> t = {Table{Pif::kHost, kCaps, {}},
                          Table{Pif::kSplice, kCaps, {}}};
  for (const auto& [option, text] : specs) {
    SpecResult r;
    EXPECT_TRUE(ParseSpec(text, option, kCaps, kEphemeral, &r).ok()) << text;
    Table& table = (option == 'T' || option == 'U') ? t[1] : t[0];
    table.rules.insert(table.rules.end(), r.rules.begin(), r.rules.end());
  }
  return t;
}

TEST(LiveRulesTest, OpensEachPortAndFamilyOfTheRules) {
  FakeListeners ops;
  LiveRules live(Tables({}), &ops, true, true);
  ASSERT_TRUE(live.Apply(Tables({{'t', "8080"},
                                 {'t', "0.0.0.0/5000:192.0.2.5/6000"},
                                 {'u', "[::1]/53"},
                                 {'T', "9090-9091"}}))
                  .ok());
  EXPECT_THAT(
      ops.Lines(),
      ::testing::ElementsAre("TCP lo v4 9090->9090", "TCP lo v4 9091->9091",
                             "TCP lo v6 9090->9090", "TCP lo v6 9091->9091",
                             "TCP v4 5000->192.0.2.5:6000", "TCP v4 8080->8080",
                             "TCP v6 8080->8080", "UDP v6 ::1 53->53"));
  EXPECT_EQ(live.listeners(), 8U);
  EXPECT_TRUE(live.Explicit(Pif::kHost, kProtoTcp, 8080));
  EXPECT_TRUE(live.Explicit(Pif::kSplice, kProtoTcp, 9091));
  EXPECT_FALSE(live.Explicit(Pif::kHost, kProtoUdp, 8080));
  EXPECT_EQ(live.tables()[0].rules.size(), 3U);
}

TEST(LiveRulesTest, KeepsWhatStaysClosesWhatGoesRetargetsWhatMoved) {
  FakeListeners ops;
  LiveRules live(Tables({}), &ops, true, true);
  ASSERT_TRUE(live.Apply(Tables({{'t', "8080"}, {'t', "22"}})).ok());
  const auto before = ops.open;
  const int opens = ops.opens;
  ASSERT_TRUE(live.Apply(Tables({{'t', "8080:80"}, {'t', "443"}})).ok());
  EXPECT_THAT(ops.Lines(),
              ::testing::ElementsAre("TCP v4 443->443", "TCP v4 8080->80",
                                     "TCP v6 443->443", "TCP v6 8080->80"));
  EXPECT_EQ(ops.opens - opens, 2);  // 443 only: 8080 kept its sockets
  EXPECT_EQ(ops.retargets, 2);
  for (const auto& [handle, l] : before) {
    if (l.key.port == 8080) {
      EXPECT_TRUE(ops.open.contains(handle));
    }
  }
}

TEST(LiveRulesTest, AFailedUpdateLeavesEverythingAsItWas) {
  FakeListeners ops;
  LiveRules live(Tables({}), &ops, true, true);
  const std::vector<Table> first = Tables({{'t', "8080"}, {'u', "5353"}});
  ASSERT_TRUE(live.Apply(first).ok());
  const auto before = ops.open;
  ops.taken.insert({kProtoTcp, 9999});
  const absl::Status st =
      live.Apply(Tables({{'t', "1000-1010"}, {'t', "9999"}, {'u', "5353"}}));
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(
      std::string(st.message()),
      HasSubstr("TCP [*]:9999  =>  9999 port 9999: Address already in use"));
  EXPECT_EQ(ops.open.size(), before.size());
  for (const auto& [handle, l] : before) EXPECT_TRUE(ops.open.contains(handle));
  EXPECT_EQ(live.tables()[0].rules, first[0].rules);
  EXPECT_TRUE(live.Explicit(Pif::kHost, kProtoTcp, 8080));
  EXPECT_FALSE(live.Explicit(Pif::kHost, kProtoTcp, 1000));
}

TEST(LiveRulesTest, APortMovesBetweenAddressesOfOneFamily) {
  FakeListeners ops;
  LiveRules live(Tables({}), &ops, true, true);
  ASSERT_TRUE(live.Apply(Tables({{'t', "192.0.2.1/8080"}})).ok());
  // The any-address needs the port the specific one holds: freed first.
  ASSERT_TRUE(live.Apply(Tables({{'t', "0.0.0.0/8080"}})).ok());
  EXPECT_THAT(ops.Lines(), ::testing::ElementsAre("TCP v4 8080->8080"));
  // And if the update fails after that, the old one comes back.
  ops.taken.insert({kProtoTcp, 7000});
  ASSERT_FALSE(
      live.Apply(Tables({{'t', "192.0.2.1/8080"}, {'t', "7000"}})).ok());
  EXPECT_THAT(ops.Lines(), ::testing::ElementsAre("TCP v4 8080->8080"));
}

TEST(LiveRulesTest, WeakRulesBindWhatTheyCan) {
  FakeListeners ops;
  LiveRules live(Tables({}), &ops, true, false);
  ops.taken.insert({kProtoTcp, 2});
  std::vector<Table> next = Tables({{'t', "1-3"}});
  next[0].rules[0].flags = kFlagWeak;  // on IPv4's any-address
  next[0].rules[0].addr[10] = next[0].rules[0].addr[11] = 0xff;
  ASSERT_TRUE(live.Apply(next).ok());
  EXPECT_THAT(ops.Lines(),
              ::testing::ElementsAre("TCP v4 1->1", "TCP v4 3->3"));
  ops.taken.insert({kProtoTcp, 5});
  std::vector<Table> none_free = next;
  none_free[0].rules[0].first = none_free[0].rules[0].last = 5;
  none_free[0].rules[0].to = 5;
  const absl::Status st = live.Apply(none_free);
  EXPECT_THAT(std::string(st.message()), HasSubstr("none of its ports"));
  EXPECT_THAT(ops.Lines(),
              ::testing::ElementsAre("TCP v4 1->1", "TCP v4 3->3"));
}

TEST(LiveRulesTest, RefusesWhatWouldTakeTheLastDescriptors) {
  FakeListeners ops;
  ops.free_descriptors = 2000;
  LiveRules live(Tables({}), &ops, true, true);
  // 500 ports, two families: 1000 new listeners and 1024 kept free > 2000.
  const absl::Status st = live.Apply(Tables({{'t', "1000-1499"}}));
  EXPECT_THAT(std::string(st.message()), HasSubstr("ulimit -n"));
  EXPECT_EQ(ops.opens, 0);
  ASSERT_TRUE(live.Apply(Tables({{'t', "1000-1399"}})).ok());
  EXPECT_EQ(ops.open.size(), 800U);
}

TEST(LiveRulesTest, AutoRulesOpenNothingHereAndGiveTheirPorts) {
  FakeListeners ops;
  LiveRules live(Tables({}), &ops, true, true);
  ASSERT_TRUE(
      live.Apply(Tables({{'T', "auto"}, {'t', "8000-8010,auto"}, {'t', "22"}}))
          .ok());
  EXPECT_EQ(ops.open.size(), 2U);  // 22, both families
  EXPECT_TRUE(live.ScanPorts(Pif::kHost, kProtoTcp).test(8005));
  EXPECT_FALSE(live.ScanPorts(Pif::kHost, kProtoTcp).test(8011));
  EXPECT_FALSE(live.ScanPorts(Pif::kHost, kProtoUdp).test(8005));
  EXPECT_TRUE(live.ScanPorts(Pif::kSplice, kProtoTcp).test(5432));
  EXPECT_FALSE(
      live.ScanPorts(Pif::kSplice, kProtoTcp).test(40000));  // ephemeral
  // Dropped: gone from the ports.
  ASSERT_TRUE(live.Apply(Tables({{'t', "22"}})).ok());
  EXPECT_FALSE(live.ScanPorts(Pif::kSplice, kProtoTcp).any());
  // A shape the automatic forwarding can't give: refused, nothing changes.
  std::vector<Table> remap = Tables({{'t', "8000-8010,auto"}});
  remap[0].rules[0].to = 9000;
  EXPECT_THAT(std::string(live.Apply(remap).message()),
              HasSubstr("no remapping"));
  std::vector<Table> bound = Tables({{'t', "8000-8010,auto"}});
  bound[0].rules[0].flags &= static_cast<uint8_t>(~kFlagDualStack);
  bound[0].rules[0].addr = WireAddr{};
  bound[0].rules[0].addr[15] = 1;
  EXPECT_THAT(std::string(live.Apply(bound).message()),
              HasSubstr("no listening address"));
  EXPECT_EQ(ops.open.size(), 2U);
  EXPECT_FALSE(live.ScanPorts(Pif::kHost, kProtoTcp).any());
}

}  // namespace
}  // namespace pasta::control
