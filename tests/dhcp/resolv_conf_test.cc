#include "dhcp/resolv_conf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace pasta::dhcp {
namespace {

std::vector<std::string> Servers(const ResolvConf& conf) {
  std::vector<std::string> out;
  for (const IpAddr& a : conf.nameservers) out.push_back(FormatIp(a));
  return out;
}

using Strings = std::vector<std::string>;

TEST(ResolvConfTest, SystemdResolvedStyle) {
  const ResolvConf conf = ParseResolvConf(
      "# This is /run/systemd/resolve/stub-resolv.conf managed by "
      "man:systemd-resolved(8).\n"
      "# Do not edit.\n"
      "\n"
      "nameserver 127.0.0.53\n"
      "options edns0 trust-ad\n"
      "search corp.example.com example.com\n");
  EXPECT_EQ(Servers(conf), Strings{"127.0.0.53"});
  EXPECT_EQ(conf.search, (Strings{"corp.example.com", "example.com"}));
}

TEST(ResolvConfTest, BothFamiliesInOrder) {
  const ResolvConf conf = ParseResolvConf(
      "nameserver 192.0.2.1\n"
      "nameserver 2001:db8::53\n"
      "nameserver\t198.51.100.7   # trailing comment\n"
      "nameserver 203.0.113.9;another\n");
  EXPECT_EQ(Servers(conf), (Strings{"192.0.2.1", "2001:db8::53", "198.51.100.7",
                                    "203.0.113.9"}));
  EXPECT_TRUE(conf.search.empty());
}

TEST(ResolvConfTest, ZonedAddressesAreSkipped) {
  const ResolvConf conf = ParseResolvConf(
      "nameserver fe80::1%eth0\n"
      "nameserver fe80::2\n");
  EXPECT_EQ(Servers(conf), Strings{"fe80::2"});
}

TEST(ResolvConfTest, CommentsAndJunkAreIgnored) {
  const ResolvConf conf = ParseResolvConf(
      "#nameserver 192.0.2.1\n"
      "; nameserver 192.0.2.2\n"
      "   # indented comment\n"
      "nameserver\n"
      "nameserver not-an-address\n"
      "nameserver 192.0.2.300\n"
      "nameservers 192.0.2.4\n"
      "NAMESERVER 192.0.2.5\n"
      "sortlist 130.155.160.0/255.255.240.0\n"
      "nameserver 192.0.2.6\r\n"
      "nameserver 192.0.2.7");  // no final newline
  EXPECT_EQ(Servers(conf), (Strings{"192.0.2.6", "192.0.2.7"}));
}

TEST(ResolvConfTest, LastOfSearchAndDomainWins) {
  EXPECT_EQ(
      ParseResolvConf("search a.example b.example\ndomain c.example\n").search,
      Strings{"c.example"});
  EXPECT_EQ(
      ParseResolvConf("domain c.example\nsearch a.example b.example\n").search,
      (Strings{"a.example", "b.example"}));
  // domain takes one argument.
  EXPECT_EQ(ParseResolvConf("domain c.example d.example\n").search,
            Strings{"c.example"});
  // The root means "no search"; an empty search line clears the list.
  EXPECT_EQ(ParseResolvConf("search .\n").search, Strings{});
  EXPECT_EQ(ParseResolvConf("search a.example\nsearch\n").search, Strings{});
  EXPECT_EQ(ParseResolvConf("search a.example # b.example\n").search,
            Strings{"a.example"});
}

TEST(ResolvConfTest, EmptyInput) {
  const ResolvConf conf = ParseResolvConf("");
  EXPECT_TRUE(conf.nameservers.empty());
  EXPECT_TRUE(conf.search.empty());
}

TEST(ResolvConfTest, ReadsAFile) {
  char path[] = "/tmp/resolv_conf_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "nameserver 192.0.2.1\nsearch example.org\n";
  ASSERT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
  const ResolvConf conf = ReadResolvConf(path);
  unlink(path);
  EXPECT_EQ(Servers(conf), Strings{"192.0.2.1"});
  EXPECT_EQ(conf.search, Strings{"example.org"});
}

TEST(ResolvConfTest, UnreadableFileGivesEmptyResult) {
  const ResolvConf conf = ReadResolvConf("/nonexistent/resolv.conf");
  EXPECT_TRUE(conf.nameservers.empty());
  EXPECT_TRUE(conf.search.empty());
  EXPECT_TRUE(ReadResolvConf("/").nameservers.empty());  // a directory
}

// Writes `text` to `path` in place (truncated, the same file).
void Rewrite(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
}

TEST(ResolvConfFileTest, SeesAFileRewrittenInPlaceThroughALink) {
  char dir[] = "/tmp/resolv_conf_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/real.conf";
  const std::string link = std::string(dir) + "/resolv.conf";
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  close(fd);
  Rewrite(file, "nameserver 192.0.2.1\n");
  ASSERT_EQ(symlink("real.conf", link.c_str()), 0);

  const ResolvConfFile f = ResolvConfFile::Open(link);
  EXPECT_EQ(Servers(f.Read()), Strings{"192.0.2.1"});
  EXPECT_FALSE(f.replaced());
  // In place, longer and then shorter: read from the start each time.
  Rewrite(file,
          "nameserver 192.0.2.2\nnameserver 2001:db8::53\nsearch a.test\n");
  EXPECT_EQ(Servers(f.Read()), (Strings{"192.0.2.2", "2001:db8::53"}));
  EXPECT_EQ(f.Read().search, Strings{"a.test"});
  Rewrite(file, "nameserver 192.0.2.3\n");
  EXPECT_EQ(Servers(f.Read()), Strings{"192.0.2.3"});
  EXPECT_FALSE(f.replaced());

  // Replaced by rename(): the kept descriptor reads the old file, and says
  // so.
  const std::string aside = std::string(dir) + "/new.conf";
  const int fd2 = open(aside.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd2, 0);
  close(fd2);
  Rewrite(aside, "nameserver 192.0.2.4\n");
  ASSERT_EQ(rename(aside.c_str(), file.c_str()), 0);
  EXPECT_TRUE(f.replaced());
  EXPECT_EQ(Servers(f.Read()), Strings{"192.0.2.3"});
  unlink(file.c_str());
  EXPECT_TRUE(f.replaced());  // gone
  unlink(link.c_str());
  rmdir(dir);
}

TEST(ResolvConfFileTest, MissingFileReadsEmpty) {
  const ResolvConfFile f = ResolvConfFile::Open("/nonexistent/resolv.conf");
  EXPECT_TRUE(f.Read().nameservers.empty());
  EXPECT_FALSE(f.replaced());
  EXPECT_TRUE(ResolvConfFile().Read().nameservers.empty());
}

}  // namespace
}  // namespace pasta::dhcp
