// Our pesto's side: reading a server, editing as upstream's pesto does,
// and its output (../shared/pesto-protocol.md §7, §9).
#include "control/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pasta::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::pair<uint16_t, uint16_t> kEphemeral{32768, 60999};

std::vector<Announced> Pasta() {
  return {Announced{"HOST", Table{Pif::kHost, 0x3f, {}}},
          Announced{"SPLICE", Table{Pif::kSplice, 0x3f, {}}}};
}

EditOp Spec(char option, std::string text) {
  return EditOp{EditOp::Kind::kSpec, option, std::move(text)};
}
EditOp Add() { return EditOp{EditOp::Kind::kAdd, 0, ""}; }
EditOp Delete() { return EditOp{EditOp::Kind::kDelete, 0, ""}; }
EditOp Clear(std::string name) {
  return EditOp{EditOp::Kind::kClear, 0, std::move(name)};
}

std::vector<std::string> Lines(const Table& t) {
  std::vector<std::string> out;
  for (const Rule& r : t.rules) out.push_back(Describe(r));
  return out;
}

absl::Status EditAll(std::vector<Announced>& tables, std::vector<EditOp> ops) {
  std::vector<std::string> warnings;
  return Edit(tables, ops, kEphemeral, &warnings);
}

TEST(ControlClientTest, ReadsWhatTheServerSends) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::vector<Table> tables = {Table{Pif::kHost, 0x3f, {}},
                               Table{Pif::kSplice, 0x3f, {}}};
  Rule r;
  r.first = r.last = r.to = 8080;
  r.proto = kProtoTcp;
  r.flags = kFlagDualStack;
  tables[0].rules.push_back(r);
  const std::vector<uint8_t> hello = EncodeHello(tables);
  ASSERT_EQ(write(sv[0], hello.data(), hello.size()),
            static_cast<ssize_t>(hello.size()));
  auto got = ReadServer(sv[1]);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2U);
  EXPECT_EQ((*got)[0].name, "HOST");
  EXPECT_EQ((*got)[0].table.rules, tables[0].rules);
  EXPECT_EQ((*got)[1].name, "SPLICE");
  EXPECT_EQ(Show(*got, "passt/pasta configuration", "/run/sock"),
            "passt/pasta configuration (/run/sock)\n"
            "  HOST\n"
            "    TCP [*]:8080  =>  8080 \n"
            "  SPLICE\n");

  // A wrong magic number, and a dump cut short.
  std::vector<uint8_t> bad = hello;
  bad[0] = 'x';
  ASSERT_EQ(write(sv[0], bad.data(), bad.size()),
            static_cast<ssize_t>(bad.size()));
  EXPECT_THAT(std::string(ReadServer(sv[1]).status().message()),
              HasSubstr("magic"));
  std::vector<uint8_t> drain(bad.size() - kGreetingSize);
  ASSERT_EQ(read(sv[1], drain.data(), drain.size()),
            static_cast<ssize_t>(drain.size()));
  ASSERT_EQ(write(sv[0], hello.data(), 100), 100);
  close(sv[0]);
  EXPECT_THAT(std::string(ReadServer(sv[1]).status().message()),
              HasSubstr("reading the tables"));
  close(sv[1]);
}

TEST(ControlClientTest, ReplaceModeEmptiesATableOnceThenAdds) {
  std::vector<Announced> t = Pasta();
  ASSERT_TRUE(EditAll(t, {Spec('t', "22"), Spec('T', "53")}).ok());
  ASSERT_TRUE(EditAll(t, {Spec('t', "0.0.0.0/8080"), Spec('t', "[::]/8080"),
                          Spec('u', "5353")})
                  .ok());
  EXPECT_THAT(Lines(t[0].table), ElementsAre("TCP [0.0.0.0]:8080  =>  8080 ",
                                             "TCP [::]:8080  =>  8080 ",
                                             "UDP [*]:5353  =>  5353 "));
  EXPECT_THAT(Lines(t[1].table), ElementsAre("TCP [*]%lo:53  =>  53 "));
}

TEST(ControlClientTest, AddDeleteAndClear) {
  std::vector<Announced> t = Pasta();
  ASSERT_TRUE(EditAll(t, {Add(), Spec('t', "8080"),
                          Spec('t', "0.0.0.0/5000:192.0.2.5/6000")})
                  .ok());
  // Adding a conflicting rule fails and says with what.
  const absl::Status conflict = EditAll(t, {Add(), Spec('t', "0.0.0.0/8080")});
  EXPECT_THAT(std::string(conflict.message()),
              HasSubstr("conflicting rules: TCP [0.0.0.0]:8080  =>  8080 "
                        "versus TCP [*]:8080  =>  8080 "));
  // Deleting needs the whole rule.
  std::vector<Announced> copy = t;
  EXPECT_THAT(
      std::string(
          EditAll(copy, {Delete(), Spec('t', "0.0.0.0/5000")}).message()),
      HasSubstr("isn't the same rule"));
  EXPECT_THAT(
      std::string(EditAll(copy, {Delete(), Spec('t', "7777")}).message()),
      HasSubstr("no such rule"));
  ASSERT_TRUE(
      EditAll(t, {Delete(), Spec('t', "0.0.0.0/5000:192.0.2.5/6000")}).ok());
  EXPECT_THAT(Lines(t[0].table), ElementsAre("TCP [*]:8080  =>  8080 "));

  ASSERT_TRUE(EditAll(t, {Add(), Spec('T', "9090")}).ok());
  ASSERT_TRUE(EditAll(t, {Clear("SPLICE")}).ok());
  EXPECT_TRUE(t[1].table.rules.empty());
  EXPECT_EQ(t[0].table.rules.size(), 1U);
  EXPECT_THAT(std::string(EditAll(t, {Clear("TAP")}).message()),
              HasSubstr("no such table"));
}

TEST(ControlClientTest, NoneAndMissingTables) {
  std::vector<Announced> t = Pasta();
  ASSERT_TRUE(EditAll(t, {Add(), Spec('t', "22")}).ok());
  EXPECT_THAT(std::string(EditAll(t, {Add(), Spec('t', "none")}).message()),
              HasSubstr("-t none conflicts"));
  // In replace mode, -t none empties HOST.
  ASSERT_TRUE(EditAll(t, {Spec('t', "none")}).ok());
  EXPECT_TRUE(t[0].table.rules.empty());

  std::vector<Announced> passt = {
      Announced{"HOST", Table{Pif::kHost, 0x2f, {}}}};
  EXPECT_THAT(std::string(EditAll(passt, {Spec('T', "22")}).message()),
              HasSubstr("no outbound (SPLICE) table"));
  EXPECT_THAT(std::string(EditAll(passt, {Spec('t', "auto")}).message()),
              HasSubstr("pasta only"));
}

TEST(ControlClientTest, StatusFromOursAndSilenceFromUpstreams) {
  for (const bool ours : {false, true}) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    if (ours) {
      const std::vector<uint8_t> st = EncodeStatus(false, "-t 80: in use");
      ASSERT_EQ(write(sv[0], st.data(), st.size()),
                static_cast<ssize_t>(st.size()));
    }
    close(sv[0]);
    const absl::Status got = ReadStatus(sv[1]);
    close(sv[1]);
    if (ours) {
      EXPECT_EQ(got.message(), "-t 80: in use");
    } else {
      EXPECT_TRUE(got.ok());
    }
  }
}

}  // namespace
}  // namespace pasta::control
