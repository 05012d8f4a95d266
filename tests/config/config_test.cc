#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace pasta::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Parses `args` as if given after "pasta".
absl::StatusOr<Config> Parse(const std::vector<std::string>& args,
                             const ParseEnv& env = {}) {
  std::vector<std::string> storage = {"pasta"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return ParseCommandLine(static_cast<int>(storage.size()), argv.data(), env);
}

Config ParseOk(const std::vector<std::string>& args, const ParseEnv& env = {}) {
  absl::StatusOr<Config> cfg = Parse(args, env);
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  if (!cfg.ok()) return Config{};
  return *std::move(cfg);
}

std::string ParseError(const std::vector<std::string>& args,
                       const ParseEnv& env = {}) {
  absl::StatusOr<Config> cfg = Parse(args, env);
  EXPECT_FALSE(cfg.ok()) << "accepted: " << testing::PrintToString(args);
  if (cfg.ok()) return "";
  std::string message(cfg.status().message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

// A path_exists seam that records what was asked and says it exists.
std::vector<std::string> g_checked;
int RecordExists(const std::string& path) {
  g_checked.push_back(path);
  return 0;
}
int NothingExists(const std::string& path) {
  g_checked.push_back(path);
  return ENOENT;
}
int AccessDenied(const std::string&) { return EACCES; }

// A real temporary file, removed at the end of the test.
class TempFile {
 public:
  TempFile() {
    char tmpl[] = "/tmp/pasta_config_test_XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- Defaults and usage forms -------------------------------------------

TEST(ConfigTest, Defaults) {
  Config cfg = ParseOk({});
  EXPECT_EQ(cfg.target, Target::kSpawn);
  EXPECT_TRUE(cfg.command.empty());
  EXPECT_EQ(cfg.log_level, log::Level::kInfo);
  EXPECT_FALSE(cfg.quiet);
  EXPECT_EQ(cfg.mtu, kDefaultMtu);
  EXPECT_FALSE(cfg.mtu_set);
  EXPECT_EQ(cfg.log_size, kDefaultLogSize);
  EXPECT_EQ(cfg.fd, -1);
  EXPECT_EQ(cfg.prefix_len4, -1);
  EXPECT_FALSE(cfg.netns_only);
  EXPECT_FALSE(cfg.help);
  EXPECT_FALSE(cfg.version);
  EXPECT_FALSE(cfg.tcp_ports.specified());
  EXPECT_EQ(cfg.tcp_ports.mode(), PortSpec::Mode::kAuto);
  EXPECT_EQ(cfg.udp_ports.mode(), PortSpec::Mode::kAuto);
  EXPECT_EQ(cfg.tcp_ns.mode(), PortSpec::Mode::kAuto);
  EXPECT_EQ(cfg.udp_ns.mode(), PortSpec::Mode::kAuto);
  EXPECT_TRUE(cfg.unimplemented.empty());
}

TEST(ConfigTest, SpawnWithCommand) {
  Config cfg = ParseOk({"--config-net", "ip", "-br", "addr"});
  EXPECT_EQ(cfg.target, Target::kSpawn);
  EXPECT_TRUE(cfg.config_net);
  // Options stop at the first non-option: -br belongs to ip.
  EXPECT_THAT(cfg.command, ElementsAre("ip", "-br", "addr"));
}

TEST(ConfigTest, DoubleDashEndsOptions) {
  Config cfg = ParseOk({"-f", "--", "-d", "--bogus"});
  EXPECT_TRUE(cfg.foreground);
  EXPECT_EQ(cfg.log_level, log::Level::kInfo);
  EXPECT_THAT(cfg.command, ElementsAre("-d", "--bogus"));
}

TEST(ConfigTest, OptionsAfterCommandAreNotParsed) {
  Config cfg = ParseOk({"sh", "-c", "echo", "--mtu"});
  EXPECT_FALSE(cfg.mtu_set);
  EXPECT_THAT(cfg.command, ElementsAre("sh", "-c", "echo", "--mtu"));
}

TEST(ConfigTest, PidTarget) {
  std::string pid = std::to_string(getpid());
  Config cfg = ParseOk({"--config-net", pid});
  EXPECT_EQ(cfg.target, Target::kPid);
  EXPECT_EQ(cfg.target_pid, getpid());
  EXPECT_TRUE(cfg.command.empty());
  EXPECT_FALSE(cfg.netns_only);  // joins the PID's user namespace too

  Config after_dash = ParseOk({"--", pid});
  EXPECT_EQ(after_dash.target, Target::kPid);
}

TEST(ConfigTest, MissingPid) {
  EXPECT_EQ(ParseError({"999999999"}), "no such process: 999999999");
  EXPECT_EQ(Parse({"999999999"}).status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, PidChecksProcThroughSeam) {
  g_checked.clear();
  ParseEnv env;
  env.path_exists = &RecordExists;
  Config cfg = ParseOk({"4242"}, env);
  EXPECT_EQ(cfg.target_pid, 4242);
  EXPECT_THAT(g_checked, ElementsAre("/proc/4242"));

  env.path_exists = &AccessDenied;
  EXPECT_THAT(ParseError({"4242"}, env),
              AllOf(StartsWith("PID 4242: /proc/4242: "),
                    HasSubstr("Permission denied")));
}

TEST(ConfigTest, InvalidPids) {
  EXPECT_THAT(ParseError({"0"}), StartsWith("invalid PID 0"));
  EXPECT_THAT(ParseError({"2147483648"}), StartsWith("invalid PID 2147483648"));
  EXPECT_THAT(ParseError({"99999999999999999999999"}),
              StartsWith("invalid PID"));
}

TEST(ConfigTest, DigitsWithMoreArgumentsAreACommand) {
  Config cfg = ParseOk({"123", "456"});
  EXPECT_EQ(cfg.target, Target::kSpawn);
  EXPECT_THAT(cfg.command, ElementsAre("123", "456"));
  Config word = ParseOk({"12a"});
  EXPECT_EQ(word.target, Target::kSpawn);
  EXPECT_THAT(word.command, ElementsAre("12a"));
}

TEST(ConfigTest, NetnsPath) {
  TempFile file;
  Config cfg = ParseOk({"--netns", file.path(), "--config-net"});
  EXPECT_EQ(cfg.target, Target::kNetns);
  EXPECT_EQ(cfg.netns_path, file.path());
  EXPECT_TRUE(cfg.netns_only);  // no --userns
  EXPECT_TRUE(cfg.userns_path.empty());
}

TEST(ConfigTest, NetnsEqualsSyntax) {
  TempFile file;
  Config cfg = ParseOk({"--netns=" + file.path()});
  EXPECT_EQ(cfg.netns_path, file.path());
}

TEST(ConfigTest, NetnsMissingPath) {
  EXPECT_EQ(ParseError({"--netns", "/nonexistent/pasta/ns"}),
            "--netns /nonexistent/pasta/ns: No such file or directory");
}

TEST(ConfigTest, NetnsNameResolvesUnderRunNetns) {
  g_checked.clear();
  ParseEnv env;
  env.path_exists = &RecordExists;
  Config cfg = ParseOk({"--netns", "ctr1"}, env);
  EXPECT_EQ(cfg.target, Target::kNetns);
  EXPECT_EQ(cfg.netns_path, "/run/netns/ctr1");
  EXPECT_THAT(g_checked, ElementsAre("/run/netns/ctr1"));
}

TEST(ConfigTest, NetnsMissingNameNamesBoth) {
  ParseEnv env;
  env.path_exists = &NothingExists;
  EXPECT_EQ(ParseError({"--netns", "ctr1"}, env),
            "--netns ctr1: /run/netns/ctr1: No such file or directory");
  // The real file system too (the name is very unlikely to exist).
  EXPECT_THAT(ParseError({"--netns", "pasta-config-test-no-such-ns"}),
              HasSubstr("/run/netns/pasta-config-test-no-such-ns: "));
}

TEST(ConfigTest, NetnsWithArguments) {
  TempFile file;
  EXPECT_THAT(ParseError({"--netns", file.path(), "123"}),
              HasSubstr("can't be combined with a PID or command"));
  EXPECT_THAT(ParseError({"--netns", file.path(), "sh"}), HasSubstr("('sh')"));
  EXPECT_THAT(ParseError({"--netns", ""}), HasSubstr("empty"));
}

TEST(ConfigTest, UsernsWithNetns) {
  TempFile netns;
  TempFile userns;
  Config cfg = ParseOk({"--netns", netns.path(), "--userns", userns.path()});
  EXPECT_EQ(cfg.userns_path, userns.path());
  EXPECT_FALSE(cfg.netns_only);
}

TEST(ConfigTest, UsernsWithPid) {
  TempFile userns;
  Config cfg = ParseOk({"--userns", userns.path(), std::to_string(getpid())});
  EXPECT_EQ(cfg.target, Target::kPid);
  EXPECT_EQ(cfg.userns_path, userns.path());
}

TEST(ConfigTest, UsernsErrors) {
  TempFile netns;
  EXPECT_EQ(ParseError({"--netns", netns.path(), "--userns", "/nonexistent/u"}),
            "--userns /nonexistent/u: No such file or directory");
  EXPECT_THAT(ParseError({"--userns", netns.path()}),
              HasSubstr("needs --netns or a PID"));
  EXPECT_THAT(ParseError({"--userns", netns.path(), "--netns", netns.path(),
                          "--netns-only"}),
              HasSubstr("--netns-only conflicts with --userns"));
}

TEST(ConfigTest, NetnsOnly) {
  Config pid = ParseOk({"--netns-only", std::to_string(getpid())});
  EXPECT_TRUE(pid.netns_only);
  Config spawn = ParseOk({"--netns-only"});
  EXPECT_TRUE(spawn.netns_only);
}

TEST(ConfigTest, NoNetnsQuit) {
  EXPECT_TRUE(ParseOk({"--no-netns-quit"}).no_netns_quit);
}

// --- Help and version ---------------------------------------------------

TEST(ConfigTest, HelpAndVersion) {
  EXPECT_TRUE(ParseOk({"-h"}).help);
  EXPECT_TRUE(ParseOk({"--help"}).help);
  EXPECT_TRUE(ParseOk({"--version"}).version);
  EXPECT_FALSE(ParseOk({"--version"}).help);
}

TEST(ConfigTest, HelpStopsChecking) {
  // Like upstream, which prints the help and exits at -h.
  Config cfg = ParseOk({"-d", "--help", "--bogus", "999999999"});
  EXPECT_TRUE(cfg.help);
  // An error before --help still counts.
  EXPECT_EQ(ParseError({"--bogus", "--help"}), "unrecognized option '--bogus'");
}

// --- Logging ------------------------------------------------------------

TEST(ConfigTest, LogLevels) {
  EXPECT_EQ(ParseOk({"-d"}).log_level, log::Level::kDebug);
  EXPECT_EQ(ParseOk({"--debug"}).log_level, log::Level::kDebug);
  EXPECT_EQ(ParseOk({"--trace"}).log_level, log::Level::kTrace);
  EXPECT_EQ(ParseOk({"--trace", "-d"}).log_level, log::Level::kTrace);
  Config quiet = ParseOk({"-q"});
  EXPECT_EQ(quiet.log_level, log::Level::kWarn);
  EXPECT_TRUE(quiet.quiet);
  EXPECT_EQ(ParseOk({"--quiet"}).log_level, log::Level::kWarn);
}

TEST(ConfigTest, QuietConflictsWithDebug) {
  EXPECT_EQ(ParseError({"-q", "-d"}), "--quiet conflicts with --debug");
  EXPECT_EQ(ParseError({"--trace", "--quiet"}),
            "--quiet conflicts with --trace");
  EXPECT_THAT(ParseError({"-qd"}), HasSubstr("conflicts"));
}

TEST(ConfigTest, StderrForegroundLogFile) {
  Config cfg = ParseOk({"-e", "-f", "-l", "/tmp/x.log", "--log-size", "4096"});
  EXPECT_TRUE(cfg.log_stderr);
  EXPECT_TRUE(cfg.foreground);
  EXPECT_EQ(cfg.log_file, "/tmp/x.log");
  EXPECT_EQ(cfg.log_size, 4096u);
  Config lng = ParseOk({"--stderr", "--foreground", "--log-file=/tmp/y"});
  EXPECT_TRUE(lng.log_stderr);
  EXPECT_TRUE(lng.foreground);
  EXPECT_EQ(lng.log_file, "/tmp/y");
}

TEST(ConfigTest, BadLogValues) {
  EXPECT_THAT(ParseError({"--log-size", "0"}), StartsWith("--log-size 0: "));
  EXPECT_THAT(ParseError({"--log-size", "1k"}), StartsWith("--log-size 1k: "));
  EXPECT_THAT(ParseError({"--log-size", "-5"}), HasSubstr("invalid size"));
  EXPECT_THAT(ParseError({"--log-size", "99999999999999999999999"}),
              HasSubstr("invalid size"));
  EXPECT_THAT(ParseError({"-l", ""}), StartsWith("-l '': empty path"));
}

// --- Process ------------------------------------------------------------

TEST(ConfigTest, PidFilePcapFd) {
  Config cfg = ParseOk({"-P", "/tmp/p.pid", "-p", "/tmp/c.pcap", "-F", "5"});
  EXPECT_EQ(cfg.pid_file, "/tmp/p.pid");
  EXPECT_EQ(cfg.pcap_file, "/tmp/c.pcap");
  EXPECT_EQ(cfg.fd, 5);
  EXPECT_THAT(cfg.unimplemented, IsEmpty());
  Config lng = ParseOk({"--pid", "/a", "--pcap", "/b", "--fd", "3"});
  EXPECT_EQ(lng.pid_file, "/a");
  EXPECT_EQ(lng.pcap_file, "/b");
  EXPECT_EQ(lng.fd, 3);
}

TEST(ConfigTest, BadFd) {
  EXPECT_THAT(ParseError({"-F", "x"}), StartsWith("-F x: invalid file"));
  EXPECT_THAT(ParseError({"--fd", "-1"}), StartsWith("--fd -1: "));
  EXPECT_THAT(ParseError({"--fd", "2"}), HasSubstr("above 2"));
  EXPECT_THAT(ParseError({"--fd", "3x"}), HasSubstr("invalid file"));
  EXPECT_THAT(ParseError({"--fd", "2147483648"}), HasSubstr("invalid file"));
}

TEST(ConfigTest, RunasNumeric) {
  Config cfg = ParseOk({"--runas", "1234:5678"});
  EXPECT_TRUE(cfg.runas_set);
  EXPECT_EQ(cfg.runas_uid, 1234u);
  EXPECT_EQ(cfg.runas_gid, 5678u);
  EXPECT_TRUE(cfg.unimplemented.empty());
  Config root = ParseOk({"--runas", "0"});
  EXPECT_EQ(root.runas_uid, 0u);
  EXPECT_EQ(root.runas_gid, 0u);  // root's primary group
}

TEST(ConfigTest, RunasNames) {
  Config cfg = ParseOk({"--runas", "root:root"});
  EXPECT_EQ(cfg.runas_uid, 0u);
  EXPECT_EQ(cfg.runas_gid, 0u);
  Config mixed = ParseOk({"--runas", "root:42"});
  EXPECT_EQ(mixed.runas_gid, 42u);
}

TEST(ConfigTest, BadRunas) {
  EXPECT_EQ(ParseError({"--runas", "no-such-user-xyz"}),
            "--runas no-such-user-xyz: no such user 'no-such-user-xyz' in "
            "/etc/passwd (give a numeric UID for others)");
  EXPECT_EQ(ParseError({"--runas", "0:no-such-group-xyz"}),
            "--runas 0:no-such-group-xyz: no such group 'no-such-group-xyz' "
            "in /etc/group (give a numeric GID for others)");
  EXPECT_THAT(ParseError({"--runas", ":0"}), HasSubstr("missing user"));
  EXPECT_THAT(ParseError({"--runas", "0:"}), HasSubstr("missing group"));
  EXPECT_THAT(ParseError({"--runas", "99999999999"}), HasSubstr("UID out"));
}

// --- Interface ----------------------------------------------------------

TEST(ConfigTest, InterfaceNames) {
  Config cfg = ParseOk({"-I", "tap0", "-i", "eth0", "--outbound-if4", "wlan0",
                        "--outbound-if6", "wlan1"});
  EXPECT_EQ(cfg.ns_ifname, "tap0");
  EXPECT_EQ(cfg.template_if, "eth0");
  EXPECT_EQ(cfg.outbound_if4, "wlan0");
  EXPECT_EQ(cfg.outbound_if6, "wlan1");
  EXPECT_THAT(cfg.unimplemented, IsEmpty());
  Config lng = ParseOk({"--ns-ifname", "eth0", "--interface", "enp1s0"});
  EXPECT_EQ(lng.ns_ifname, "eth0");
  EXPECT_EQ(lng.template_if, "enp1s0");
}

TEST(ConfigTest, BadInterfaceNames) {
  EXPECT_THAT(ParseError({"-I", "averyveryverylongname"}),
              StartsWith("-I averyveryverylongname: invalid interface name"));
  EXPECT_THAT(ParseError({"--ns-ifname", "a/b"}),
              StartsWith("--ns-ifname a/b"));
  EXPECT_THAT(ParseError({"-i", ""}), HasSubstr("invalid interface name"));
  EXPECT_THAT(ParseError({"--outbound-if4", "a b"}),
              HasSubstr("invalid interface name"));
}

TEST(ConfigTest, Mtu) {
  Config cfg = ParseOk({"-m", "1500"});
  EXPECT_EQ(cfg.mtu, 1500);
  EXPECT_TRUE(cfg.mtu_set);
  EXPECT_EQ(ParseOk({"--mtu", "0"}).mtu, 0);
  EXPECT_EQ(ParseOk({"--mtu=68"}).mtu, 68);
  EXPECT_EQ(ParseOk({"-m65520"}).mtu, 65520);
}

TEST(ConfigTest, BadMtu) {
  EXPECT_EQ(ParseError({"-m", "abc"}),
            "-m abc: invalid MTU (0, or 68 to 65520)");
  EXPECT_EQ(ParseError({"--mtu", "67"}),
            "--mtu 67: invalid MTU (0, or 68 to 65520)");
  EXPECT_THAT(ParseError({"--mtu", "65521"}), HasSubstr("invalid MTU"));
  EXPECT_THAT(ParseError({"--mtu", "1500x"}), HasSubstr("invalid MTU"));
  EXPECT_THAT(ParseError({"--mtu", "-1"}), HasSubstr("invalid MTU"));
  EXPECT_THAT(ParseError({"--mtu", ""}), HasSubstr("invalid MTU"));
  EXPECT_THAT(ParseError({"--mtu", "0x5dc"}), HasSubstr("invalid MTU"));
}

TEST(ConfigTest, MacAddresses) {
  Config cfg = ParseOk(
      {"-M", "02:00:00:00:00:01", "--ns-mac-addr", "AA:bb:cc:dd:ee:ff"});
  ASSERT_TRUE(cfg.our_mac.has_value());
  EXPECT_EQ(FormatMac(*cfg.our_mac), "02:00:00:00:00:01");
  ASSERT_TRUE(cfg.ns_mac.has_value());
  EXPECT_EQ(FormatMac(*cfg.ns_mac), "aa:bb:cc:dd:ee:ff");
  EXPECT_TRUE(ParseOk({"--mac-addr", "02:00:00:00:00:02"}).our_mac.has_value());
}

TEST(ConfigTest, BadMacAddresses) {
  EXPECT_THAT(ParseError({"-M", "02:00:00:00:00"}),
              StartsWith("-M 02:00:00:00:00: invalid MAC address"));
  EXPECT_THAT(ParseError({"--ns-mac-addr", "zz:00:00:00:00:00"}),
              StartsWith("--ns-mac-addr zz:00:00:00:00:00: invalid MAC"));
}

TEST(ConfigTest, ConfigNetAndCopyOptions) {
  Config cfg = ParseOk({"--config-net", "--no-copy-routes", "--no-copy-addrs"});
  EXPECT_TRUE(cfg.config_net);
  EXPECT_TRUE(cfg.no_copy_routes);
  EXPECT_TRUE(cfg.no_copy_addrs);
  EXPECT_EQ(ParseError({"--no-copy-routes"}),
            "--no-copy-routes needs --config-net");
  EXPECT_EQ(ParseError({"--no-copy-addrs"}),
            "--no-copy-addrs needs --config-net");
}

// --- Addresses ----------------------------------------------------------

TEST(ConfigTest, AddressesOfBothFamilies) {
  Config cfg = ParseOk({"-a", "10.0.2.15", "-a", "2001:db8::15", "-g",
                        "10.0.2.2", "--gateway", "fe80::1"});
  ASSERT_TRUE(cfg.addr4.has_value());
  EXPECT_EQ(FormatIp(*cfg.addr4), "10.0.2.15");
  ASSERT_TRUE(cfg.addr6.has_value());
  EXPECT_EQ(FormatIp(*cfg.addr6), "2001:db8::15");
  EXPECT_EQ(FormatIp(*cfg.gw4), "10.0.2.2");
  EXPECT_EQ(FormatIp(*cfg.gw6), "fe80::1");
  EXPECT_EQ(cfg.prefix_len4, -1);
}

TEST(ConfigTest, AddressWithPrefix) {
  Config cfg = ParseOk({"--address", "10.0.2.100/24", "-a", "2001:db8::2/64"});
  EXPECT_EQ(cfg.prefix_len4, 24);
  EXPECT_EQ(cfg.prefix_len6, 64);
  EXPECT_THAT(ParseError({"-a", "10.0.2.1/33"}),
              StartsWith("-a 10.0.2.1/33: invalid prefix length (0 to 32)"));
  EXPECT_THAT(ParseError({"-a", "2001:db8::1/129"}),
              HasSubstr("invalid prefix length (0 to 128)"));
  EXPECT_EQ(ParseError({"-a", "10.0.2.1/24", "-n", "16"}),
            "--netmask 16: prefix length already given by --address "
            "10.0.2.1/24");
  EXPECT_EQ(ParseError({"-n", "255.255.0.0", "-a", "10.0.2.1/24"}),
            "--netmask 255.255.0.0: prefix length already given by "
            "--address 10.0.2.1/24");
  EXPECT_EQ(ParseError({"-a", "2001:db8::2/64", "-n", "16"}),
            "--netmask 16: prefix length already given by --address "
            "2001:db8::2/64");
  Config netmask = ParseOk({"-a", "10.0.2.1", "-a", "2001:db8::2", "-n", "16"});
  EXPECT_EQ(netmask.prefix_len4, 16);
}

TEST(ConfigTest, BadAddresses) {
  EXPECT_EQ(ParseError({"-a", "10.0.2"}), "-a 10.0.2: invalid address");
  EXPECT_THAT(ParseError({"--address", "0.0.0.0"}), HasSubstr("unspecified"));
  EXPECT_THAT(ParseError({"-a", "127.0.0.1"}), HasSubstr("loopback"));
  EXPECT_THAT(ParseError({"-a", "224.0.0.1"}), HasSubstr("multicast"));
  EXPECT_THAT(ParseError({"-a", "255.255.255.255"}), HasSubstr("broadcast"));
  EXPECT_THAT(ParseError({"-a", "::"}), HasSubstr("unspecified"));
  EXPECT_THAT(ParseError({"-a", "::1"}), HasSubstr("loopback"));
  EXPECT_THAT(ParseError({"-a", "ff02::1"}), HasSubstr("multicast"));
  EXPECT_THAT(ParseError({"-a", "::ffff:10.0.0.1"}), HasSubstr("IPv4-mapped"));
}

TEST(ConfigTest, BadGateways) {
  EXPECT_EQ(ParseError({"-g", "x"}), "-g x: invalid gateway");
  EXPECT_THAT(ParseError({"--gateway", "127.0.0.1"}),
              StartsWith("--gateway 127.0.0.1: not usable as gateway"));
  EXPECT_THAT(ParseError({"-g", "::"}), HasSubstr("unspecified"));
}

TEST(ConfigTest, Netmask) {
  EXPECT_EQ(ParseOk({"-n", "255.255.255.0"}).prefix_len4, 24);
  EXPECT_EQ(ParseOk({"--netmask", "255.255.240.0"}).prefix_len4, 20);
  EXPECT_EQ(ParseOk({"-n", "0.0.0.0"}).prefix_len4, 0);
  EXPECT_EQ(ParseOk({"-n", "255.255.255.255"}).prefix_len4, 32);
  EXPECT_EQ(ParseOk({"-n", "16"}).prefix_len4, 16);
  EXPECT_EQ(ParseOk({"-n", "0"}).prefix_len4, 0);
  EXPECT_EQ(ParseOk({"-n", "32"}).prefix_len4, 32);
}

TEST(ConfigTest, BadNetmask) {
  EXPECT_THAT(ParseError({"-n", "255.0.255.0"}),
              StartsWith("-n 255.0.255.0: invalid netmask"));
  EXPECT_THAT(ParseError({"-n", "33"}), HasSubstr("invalid netmask"));
  EXPECT_THAT(ParseError({"-n", "24x"}), HasSubstr("invalid netmask"));
  EXPECT_THAT(ParseError({"-n", "ffff::"}), HasSubstr("invalid netmask"));
  EXPECT_THAT(ParseError({"-n", "0.255.255.255"}),
              HasSubstr("invalid netmask"));
}

TEST(ConfigTest, Outbound) {
  Config cfg = ParseOk({"-o", "192.0.2.7", "--outbound", "2001:db8::7"});
  EXPECT_EQ(FormatIp(*cfg.outbound4), "192.0.2.7");
  EXPECT_EQ(FormatIp(*cfg.outbound6), "2001:db8::7");
  EXPECT_THAT(cfg.unimplemented, IsEmpty());
  EXPECT_THAT(ParseError({"-o", "224.1.1.1"}), HasSubstr("multicast"));
  EXPECT_THAT(ParseError({"-o", "nope"}), StartsWith("-o nope: invalid"));
}

TEST(ConfigTest, FamilyOnlyOptions) {
  Config v4 = ParseOk({"-4", "-a", "10.0.0.2"});
  EXPECT_TRUE(v4.ipv4_only);
  Config v6 = ParseOk({"--ipv6-only", "-a", "2001:db8::2"});
  EXPECT_TRUE(v6.ipv6_only);
  EXPECT_TRUE(ParseOk({"--ipv4-only"}).ipv4_only);
  EXPECT_TRUE(ParseOk({"-6"}).ipv6_only);
}

TEST(ConfigTest, FamilyConflicts) {
  EXPECT_EQ(ParseError({"-4", "-6"}),
            "--ipv4-only and --ipv6-only are mutually exclusive");
  EXPECT_EQ(ParseError({"-a", "2001:db8::2", "-4"}),
            "--address 2001:db8::2: IPv6 address given with --ipv4-only");
  EXPECT_EQ(ParseError({"-6", "-a", "10.0.0.2"}),
            "--address 10.0.0.2: IPv4 setting given with --ipv6-only");
  EXPECT_THAT(ParseError({"-4", "-g", "fe80::1"}),
              StartsWith("--gateway fe80::1: IPv6"));
  EXPECT_THAT(ParseError({"-6", "-g", "10.0.0.1"}),
              StartsWith("--gateway 10.0.0.1: IPv4"));
  EXPECT_THAT(ParseError({"-6", "-n", "24"}), StartsWith("--netmask 24: IPv4"));
}

// --- DNS ----------------------------------------------------------------

TEST(ConfigTest, DnsServers) {
  Config cfg = ParseOk(
      {"-D", "192.0.2.53", "--dns", "2001:db8::53", "-D", "198.51.100.53"});
  ASSERT_EQ(cfg.dns.size(), 3u);
  EXPECT_EQ(FormatIp(cfg.dns[0]), "192.0.2.53");
  EXPECT_EQ(FormatIp(cfg.dns[1]), "2001:db8::53");
  EXPECT_EQ(FormatIp(cfg.dns[2]), "198.51.100.53");
  EXPECT_FALSE(cfg.dns_disabled);
}

TEST(ConfigTest, DnsDisabled) {
  Config empty = ParseOk({"-D", ""});
  EXPECT_TRUE(empty.dns_disabled);
  EXPECT_TRUE(empty.dns.empty());
  EXPECT_TRUE(ParseOk({"--dns", "none"}).dns_disabled);
  // As upstream: "none" drops the addresses before it; an address after
  // it starts a new list.
  Config dropped = ParseOk({"-D", "192.0.2.53", "-D", ""});
  EXPECT_TRUE(dropped.dns_disabled);
  EXPECT_TRUE(dropped.dns.empty());
  Config again = ParseOk({"-D", "192.0.2.1", "-D", "none", "-D", "192.0.2.53"});
  EXPECT_FALSE(again.dns_disabled);
  ASSERT_EQ(again.dns.size(), 1u);
  EXPECT_EQ(FormatIp(again.dns[0]), "192.0.2.53");
}

TEST(ConfigTest, BadDns) {
  EXPECT_EQ(ParseError({"-D", "dns.example"}),
            "-D dns.example: invalid DNS server address");
  EXPECT_THAT(ParseError({"--dns", "0.0.0.0"}), HasSubstr("unspecified"));
}

TEST(ConfigTest, SearchDomains) {
  Config cfg =
      ParseOk({"-S", "example.org corp.example", "--search", "x.test"});
  EXPECT_THAT(cfg.search, ElementsAre("example.org", "corp.example", "x.test"));
  EXPECT_FALSE(cfg.search_disabled);
  Config none = ParseOk({"-S", ""});
  EXPECT_TRUE(none.search_disabled);
  EXPECT_TRUE(none.search.empty());
  EXPECT_TRUE(ParseOk({"--search", "none"}).search_disabled);
  // As -D: "none" drops what came before; a domain after it starts anew.
  EXPECT_TRUE(ParseOk({"-S", "a.test", "-S", ""}).search_disabled);
  EXPECT_TRUE(ParseOk({"-S", "a.test", "-S", ""}).search.empty());
  Config again = ParseOk({"-S", "", "-S", "a.test"});
  EXPECT_FALSE(again.search_disabled);
  EXPECT_THAT(again.search, ElementsAre("a.test"));
  EXPECT_THAT(ParseError({"-S", std::string(254, 'a')}),
              HasSubstr("longer than 253"));
}

TEST(ConfigTest, DhcpDnsFlags) {
  Config cfg = ParseOk({"--dhcp-dns", "--dhcp-search"});
  EXPECT_TRUE(cfg.dhcp_dns);
  EXPECT_TRUE(cfg.dhcp_search);
  Config off = ParseOk({"--dhcp-dns", "--no-dhcp-dns", "--no-dhcp-search"});
  EXPECT_FALSE(off.dhcp_dns);
  EXPECT_FALSE(off.dhcp_search);
}

TEST(ConfigTest, DnsForwardAndHost) {
  Config cfg = ParseOk({"--dns-forward", "169.254.1.1", "--dns-forward",
                        "fd00::1", "--dns-host", "192.0.2.1"});
  EXPECT_EQ(FormatIp(*cfg.dns_forward4), "169.254.1.1");
  EXPECT_EQ(FormatIp(*cfg.dns_forward6), "fd00::1");
  EXPECT_EQ(FormatIp(*cfg.dns_host4), "192.0.2.1");
  EXPECT_THAT(cfg.unimplemented, IsEmpty());
  EXPECT_THAT(ParseError({"--dns-forward", "127.0.0.1"}),
              HasSubstr("loopback"));
  EXPECT_THAT(ParseError({"--dns-forward", "x"}),
              StartsWith("--dns-forward x"));
  EXPECT_THAT(ParseError({"--dns-host", "0.0.0.0"}), HasSubstr("unspecified"));
}

TEST(ConfigTest, HostnameAndFqdn) {
  Config cfg = ParseOk({"-H", "box", "--fqdn", "box.example.org"});
  EXPECT_EQ(cfg.hostname, "box");
  EXPECT_EQ(cfg.fqdn, "box.example.org");
  EXPECT_THAT(cfg.unimplemented, IsEmpty());
  EXPECT_THAT(ParseError({"--hostname", ""}), HasSubstr("invalid name"));
}

// --- Protocols and mappings ---------------------------------------------

struct FlagCase {
  const char* option;
  bool Config::*field;
};

TEST(ConfigTest, BooleanFlags) {
  const FlagCase cases[] = {
      {"--no-tcp", &Config::no_tcp},
      {"--no-udp", &Config::no_udp},
      {"--no-icmp", &Config::no_icmp},
      {"--no-dhcp", &Config::no_dhcp},
      {"--no-ndp", &Config::no_ndp},
      {"--no-dhcpv6", &Config::no_dhcpv6},
      {"--no-ra", &Config::no_ra},
      {"--no-map-gw", &Config::no_map_gw},
      {"--no-splice", &Config::no_splice},
      {"--splice-only", &Config::splice_only},
      {"--host-lo-to-ns-lo", &Config::host_lo_to_ns_lo},
      {"--freebind", &Config::freebind},
      {"--config-net", &Config::config_net},
      {"--no-netns-quit", &Config::no_netns_quit},
      {"--dhcp-dns", &Config::dhcp_dns},
      {"--dhcp-search", &Config::dhcp_search},
      {"--foreground", &Config::foreground},
      {"--stderr", &Config::log_stderr},
      {"--chroot-fallback", &Config::chroot_fallback},
  };
  Config defaults = ParseOk({});
  for (const FlagCase& c : cases) {
    EXPECT_FALSE(defaults.*c.field) << c.option;
    Config cfg = ParseOk({c.option});
    EXPECT_TRUE(cfg.*c.field) << c.option;
    // Giving a flag twice is harmless.
    EXPECT_TRUE(ParseOk({c.option, c.option}).*c.field) << c.option;
    // No flag takes a value.
    EXPECT_THAT(ParseError({std::string(c.option) + "=1"}),
                HasSubstr("doesn't allow an argument"))
        << c.option;
  }
}

TEST(ConfigTest, SpliceOnlyConflictsWithNoSplice) {
  EXPECT_EQ(ParseError({"--splice-only", "--no-splice"}),
            "--splice-only conflicts with --no-splice");
}

TEST(ConfigTest, SpliceOnlyImpliesLoopbackToLoopbackAndNoIcmp) {
  Config cfg = ParseOk({"--splice-only", "-t", "8080", "-T", "5432"});
  EXPECT_TRUE(cfg.splice_only);
  EXPECT_TRUE(cfg.host_lo_to_ns_lo);
  EXPECT_TRUE(cfg.no_icmp);
  EXPECT_THAT(cfg.unimplemented, IsEmpty());
  // --config-net is accepted (engines pass it) and has nothing to do.
  EXPECT_TRUE(ParseOk({"--splice-only", "--config-net"}).config_net);
  EXPECT_FALSE(ParseOk({"-t", "8080"}).host_lo_to_ns_lo);
}

TEST(ConfigTest, SpliceOnlyRefusesWhatNeedsTheTap) {
  EXPECT_EQ(ParseError({"--splice-only", "-t", "0.0.0.0/5000:192.0.2.5/6000"}),
            "-t: a target address (PORT:ADDR) needs the tap, which "
            "--splice-only leaves out");
  EXPECT_THAT(ParseError({"-u", "8000", "-u", "0.0.0.0/5000:192.0.2.5/6000",
                          "--splice-only"}),
              StartsWith("-u: a target address"));
  EXPECT_EQ(ParseError({"--splice-only", "-F", "5"}),
            "--splice-only conflicts with --fd");
}

TEST(ConfigTest, FormerlyUnimplementedOptionsAreImplemented) {
  Config cfg =
      ParseOk({"--freebind", "--chroot-fallback", "-F", "7", "--freebind"});
  EXPECT_TRUE(cfg.freebind);
  EXPECT_TRUE(cfg.chroot_fallback);
  EXPECT_EQ(cfg.fd, 7);
  EXPECT_THAT(cfg.unimplemented, IsEmpty());
}

TEST(ConfigTest, MapHostLoopback) {
  Config cfg = ParseOk(
      {"--map-host-loopback", "169.254.1.2", "--map-host-loopback", "fd00::2"});
  EXPECT_EQ(FormatIp(*cfg.map_host_loopback4), "169.254.1.2");
  EXPECT_EQ(FormatIp(*cfg.map_host_loopback6), "fd00::2");
  EXPECT_FALSE(cfg.map_host_loopback_none);
  EXPECT_FALSE(cfg.no_map_gw);
  Config none = ParseOk({"--map-host-loopback", "none"});
  EXPECT_TRUE(none.map_host_loopback_none);
  EXPECT_TRUE(none.no_map_gw);
  EXPECT_TRUE(none.unimplemented.empty());
}

TEST(ConfigTest, MapGuestAddr) {
  Config cfg = ParseOk({"--map-guest-addr", "169.254.1.3"});
  EXPECT_EQ(FormatIp(*cfg.map_guest_addr4), "169.254.1.3");
  EXPECT_FALSE(cfg.map_guest_addr6.has_value());
  Config none = ParseOk({"--map-guest-addr", "none"});
  EXPECT_TRUE(none.map_guest_addr_none);
  EXPECT_FALSE(none.no_map_gw);
}

TEST(ConfigTest, BadMappings) {
  EXPECT_THAT(ParseError({"--map-guest-addr", "bogus"}),
              StartsWith("--map-guest-addr bogus: invalid address to map"));
  EXPECT_THAT(ParseError({"--map-host-loopback", "127.0.0.1"}),
              HasSubstr("loopback"));
}

TEST(ConfigTest, MappingNoneAndAddressesInOrder) {
  // As upstream: "none" drops both families given before it...
  Config none =
      ParseOk({"--map-host-loopback", "10.0.0.1", "--map-host-loopback",
               "fd00::1", "--map-host-loopback", "none"});
  EXPECT_FALSE(none.map_host_loopback4.has_value());
  EXPECT_FALSE(none.map_host_loopback6.has_value());
  EXPECT_TRUE(none.no_map_gw);
  // ...and an address after it maps that family only.
  Config after = ParseOk(
      {"--map-host-loopback", "none", "--map-host-loopback", "10.0.0.1"});
  EXPECT_EQ(FormatIp(*after.map_host_loopback4), "10.0.0.1");
  EXPECT_FALSE(after.map_host_loopback6.has_value());
  EXPECT_TRUE(after.no_map_gw);
  Config guest =
      ParseOk({"--map-guest-addr", "none", "--map-guest-addr", "10.0.0.1"});
  EXPECT_EQ(FormatIp(*guest.map_guest_addr4), "10.0.0.1");
}

TEST(ConfigTest, StatsAndConfPath) {
  Config cfg = ParseOk({"-f", "--stats", "5", "-c", "/tmp/ctl"});
  EXPECT_EQ(cfg.stats_delay, 5);
  EXPECT_EQ(cfg.conf_path, "/tmp/ctl");
  EXPECT_EQ(ParseOk({"--conf-path", "/x"}).conf_path, "/x");
  EXPECT_EQ(ParseError({"--stats", "5"}), "--stats needs --foreground");
  EXPECT_THAT(ParseError({"-f", "--stats", "x"}), StartsWith("--stats x: "));
}

TEST(ConfigTest, PasstOnlyOptions) {
  EXPECT_EQ(ParseError({"-s", "/tmp/sock"}), "-s is for passt (VM) mode only");
  EXPECT_EQ(ParseError({"--socket-path", "/tmp/sock"}),
            "--socket-path is for passt (VM) mode only");
  EXPECT_EQ(ParseError({"--one-off"}), "--one-off is for passt (VM) mode only");
  EXPECT_EQ(ParseError({"--vhost-user"}),
            "--vhost-user is for passt (VM) mode only");
  EXPECT_TRUE(Parse({"--repair-path", "none"}).ok());
  EXPECT_THAT(ParseError({"--repair-path", "/x"}), HasSubstr("only 'none'"));
}

// --- Port forwarding ----------------------------------------------------

TEST(ConfigTest, PortOptions) {
  Config cfg = ParseOk({"-t", "22", "--tcp-ports", "80:8080", "-u", "53", "-T",
                        "none", "--udp-ns", "5000-5001"});
  EXPECT_EQ(cfg.tcp_ports.mode(), PortSpec::Mode::kExplicit);
  EXPECT_TRUE(cfg.tcp_ports.Forwarded(22));
  EXPECT_EQ(cfg.tcp_ports.Target(80), 8080);
  EXPECT_TRUE(cfg.udp_ports.Forwarded(53));
  EXPECT_FALSE(cfg.udp_ports.Forwarded(22));
  EXPECT_EQ(cfg.tcp_ns.mode(), PortSpec::Mode::kNone);
  EXPECT_TRUE(cfg.tcp_ns.specified());
  EXPECT_TRUE(cfg.udp_ns.Forwarded(5001));
  EXPECT_TRUE(ParseOk({"--tcp-ns", "auto"}).tcp_ns.specified());
}

TEST(ConfigTest, PortBindAddressOnlyForHostSide) {
  Config cfg = ParseOk({"-t", "127.0.0.1/8080", "-u", "%lo/53"});
  EXPECT_EQ(FormatIp(*cfg.tcp_ports.BindFor(8080).addr), "127.0.0.1");
  EXPECT_EQ(cfg.udp_ports.BindFor(53).ifname, "lo");
  EXPECT_THAT(ParseError({"-T", "127.0.0.1/8080"}),
              StartsWith("-T 127.0.0.1/8080: an address or interface"));
  EXPECT_THAT(ParseError({"--udp-ns", "%lo/53"}),
              StartsWith("--udp-ns %lo/53: "));
}

TEST(ConfigTest, PortSpecForms2026) {
  Config cfg = ParseOk({"-t", "*/8080", "-t", "0.0.0.0/5000:192.0.2.5/6000",
                        "-u", "8000-8010,auto", "-T", "9000-9001,auto"});
  EXPECT_TRUE(cfg.tcp_ports.Forwarded(8080));
  EXPECT_FALSE(cfg.tcp_ports.BindFor(8080).addr.has_value());
  EXPECT_EQ(FormatIp(*cfg.tcp_ports.TargetAddr(5000)), "192.0.2.5");
  EXPECT_EQ(cfg.tcp_ports.Target(5000), 6000);
  EXPECT_EQ(cfg.udp_ports.mode(), PortSpec::Mode::kAuto);
  EXPECT_TRUE(cfg.udp_ports.AutoForwarded(8005));
  EXPECT_FALSE(cfg.udp_ports.AutoForwarded(8011));
  EXPECT_TRUE(cfg.tcp_ns.AutoForwarded(9001));
  EXPECT_EQ(ParseError({"-T", "*/8080"}),
            "-T */8080: an address or interface can't be given for this "
            "direction");
  EXPECT_EQ(ParseError({"-U", "5000:192.0.2.5/6000"}),
            "-U 5000:192.0.2.5/6000: a target address can't be given for "
            "this direction ('5000:192.0.2.5/6000')");
  EXPECT_EQ(ParseError({"-t", "5000:192.0.2.5/6000"}),
            "-t 5000:192.0.2.5/6000: target address 192.0.2.5 in "
            "'5000:192.0.2.5/6000' needs a listening address of its family, "
            "e.g. 0.0.0.0/5000:192.0.2.5/6000");
  EXPECT_EQ(ParseError({"-t", "8000:9000,auto"}),
            "-t 8000:9000,auto: 'auto' can't be combined with a remapping or "
            "a target address");
}

TEST(ConfigTest, PortErrorsNameOptionAndSpec) {
  EXPECT_EQ(ParseError({"-t", "80-22"}), "-t 80-22: reversed range '80-22'");
  EXPECT_EQ(ParseError({"--udp-ports", "0"}),
            "--udp-ports 0: port 0 is not allowed in '0'");
  EXPECT_THAT(ParseError({"-t", "22", "-t", "22"}),
              StartsWith("-t 22: port 22 is given more than once"));
  EXPECT_THAT(ParseError({"-t", "auto", "-t", "22"}),
              StartsWith("-t 22: port list conflicts with auto"));
  EXPECT_THAT(ParseError({"-U", ""}), StartsWith("-U '': empty"));
}

// As upstream pasta: `all` is refused (passt's); an exclusion-only list
// means every other port.
TEST(ConfigTest, AllIsRefusedButAnExclusionOnlyListIsTaken) {
  for (const char* opt : {"-t", "-u", "-T", "-U"}) {
    EXPECT_THAT(
        ParseError({opt, "all"}),
        StartsWith(std::string(opt) + " all: 'all' is only allowed for passt"));
  }
  Config cfg = ParseOk({"-t", "~25", "-u", "~53,~5353"});
  EXPECT_EQ(cfg.tcp_ports.mode(), PortSpec::Mode::kAll);
  EXPECT_FALSE(cfg.tcp_ports.Forwarded(25));
  EXPECT_TRUE(cfg.tcp_ports.Forwarded(24));
  EXPECT_FALSE(cfg.udp_ports.Forwarded(5353));
  EXPECT_TRUE(cfg.udp_ports.Forwarded(1));
}

TEST(ConfigTest, PortsNeedTheirProtocol) {
  EXPECT_EQ(ParseError({"--no-tcp", "-t", "22"}),
            "-t 22: TCP port forwarding requested but --no-tcp given");
  EXPECT_EQ(ParseError({"-U", "53", "--no-udp"}),
            "-U 53: UDP port forwarding requested but --no-udp given");
  Config cfg = ParseOk({"--no-tcp", "-t", "none", "-T", "none"});
  EXPECT_TRUE(cfg.no_tcp);
}

// --runas reads the files itself (no NSS): a release build carrying its
// own C library must not load the host's NSS modules.
TEST(ConfigTest, RunasReadsPasswdAndGroupFiles) {
  TempFile passwd, group;
  FILE* f = fopen(passwd.path().c_str(), "w");
  fputs(
      "# comment\nbroken line\nalice:x:1500:1600:A:/home/a:/bin/sh\n"
      "bob:x:notanumber:1:B:/:/bin/sh\n",
      f);
  fclose(f);
  f = fopen(group.path().c_str(), "w");
  fputs("staff:x:50:alice\nwheel:x:10:\n", f);
  fclose(f);
  ParseEnv env;
  env.passwd_path = passwd.path();
  env.group_path = group.path();
  Config a = ParseOk({"--runas", "alice"}, env);
  EXPECT_EQ(a.runas_uid, 1500u);
  EXPECT_EQ(a.runas_gid, 1600u);
  Config b = ParseOk({"--runas", "alice:wheel"}, env);
  EXPECT_EQ(b.runas_gid, 10u);
  Config by_id = ParseOk({"--runas", "1500"}, env);
  EXPECT_EQ(by_id.runas_gid, 1600u);  // alice's primary group
  Config unknown_id = ParseOk({"--runas", "4242"}, env);
  EXPECT_EQ(unknown_id.runas_gid, 4242u);
  EXPECT_THAT(ParseError({"--runas", "bob"}, env),
              HasSubstr("no such user 'bob'"));
  EXPECT_THAT(ParseError({"--runas", "root"}, env),
              HasSubstr("no such user 'root'"));
  ParseEnv missing;
  missing.passwd_path = "/nonexistent/passwd";
  EXPECT_THAT(ParseError({"--runas", "alice"}, missing),
              HasSubstr("can't read /nonexistent/passwd"));
  EXPECT_EQ(ParseOk({"--runas", "7:8"}, missing).runas_uid, 7u);
}

// --- Duplicates ---------------------------------------------------------

// Two valid values of each single-valued option, and what a Config shows
// of it. The tests below walk the parser's own option table, so an option
// added there without an entry here fails them.
struct Sample {
  std::vector<std::string> before;  // needed with it (e.g. -f for --stats)
  std::string first, second;
  std::string (*shown)(const Config&);
};

std::string Ip(const std::optional<IpAddr>& a) { return a ? FormatIp(*a) : ""; }

const std::map<std::string, Sample>& Samples(const std::string& file_a,
                                             const std::string& file_b) {
  static std::map<std::string, Sample> samples;
  samples = {
      {"log-file",
       {{}, "/a", "/b", [](const Config& c) { return c.log_file; }}},
      {"log-size",
       {{},
        "5",
        "6",
        [](const Config& c) { return std::to_string(c.log_size); }}},
      {"runas",
       {{},
        "1",
        "2:3",
        [](const Config& c) {
          return absl::StrCat(c.runas_uid, ":", c.runas_gid);
        }}},
      {"ns-ifname",
       {{}, "a", "b", [](const Config& c) { return c.ns_ifname; }}},
      {"fd",
       {{}, "3", "4", [](const Config& c) { return std::to_string(c.fd); }}},
      {"pcap", {{}, "/a", "/b", [](const Config& c) { return c.pcap_file; }}},
      {"pid", {{}, "/a", "/b", [](const Config& c) { return c.pid_file; }}},
      {"mtu",
       {{},
        "1500",
        "9000",
        [](const Config& c) { return std::to_string(c.mtu); }}},
      {"netmask",
       {{},
        "16",
        "255.255.255.0",
        [](const Config& c) { return std::to_string(c.prefix_len4); }}},
      {"mac-addr",
       {{},
        "02:00:00:00:00:01",
        "02:00:00:00:00:02",
        [](const Config& c) { return FormatMac(*c.our_mac); }}},
      {"ns-mac-addr",
       {{},
        "9a:dd:31:ea:92:98",
        "aa:bb:cc:dd:ee:ff",
        [](const Config& c) { return FormatMac(*c.ns_mac); }}},
      {"interface",
       {{}, "a", "b", [](const Config& c) { return c.template_if; }}},
      {"outbound-if4",
       {{}, "a", "b", [](const Config& c) { return c.outbound_if4; }}},
      {"outbound-if6",
       {{}, "a", "b", [](const Config& c) { return c.outbound_if6; }}},
      {"hostname", {{}, "a", "b", [](const Config& c) { return c.hostname; }}},
      {"fqdn",
       {{}, "a.example", "b.example", [](const Config& c) { return c.fqdn; }}},
      {"userns",
       {{"--netns", file_a},
        file_a,
        file_b,
        [](const Config& c) { return c.userns_path; }}},
      {"netns",
       {{}, file_a, file_b, [](const Config& c) { return c.netns_path; }}},
      {"stats",
       {{"-f"},
        "1",
        "2",
        [](const Config& c) { return std::to_string(c.stats_delay); }}},
      {"conf-path",
       {{}, "/a", "/b", [](const Config& c) { return c.conf_path; }}},
      {"repair-path",
       {{}, "none", "none", [](const Config&) { return std::string("none"); }}},
      // Per family: two values of one family.
      {"address",
       {{},
        "192.0.2.1",
        "192.0.2.2",
        [](const Config& c) { return Ip(c.addr4); }}},
      {"gateway",
       {{}, "fe80::1", "fe80::2", [](const Config& c) { return Ip(c.gw6); }}},
      {"outbound",
       {{},
        "192.0.2.1",
        "192.0.2.2",
        [](const Config& c) { return Ip(c.outbound4); }}},
      {"dns-forward",
       {{},
        "192.0.2.1",
        "192.0.2.2",
        [](const Config& c) { return Ip(c.dns_forward4); }}},
      {"dns-host",
       {{},
        "fd00::1",
        "fd00::2",
        [](const Config& c) { return Ip(c.dns_host6); }}},
      {"map-host-loopback",
       {{},
        "192.0.2.1",
        "192.0.2.2",
        [](const Config& c) { return Ip(c.map_host_loopback4); }}},
      {"map-guest-addr",
       {{},
        "192.0.2.1",
        "192.0.2.2",
        [](const Config& c) { return Ip(c.map_guest_addr4); }}},
  };
  return samples;
}

TEST(ConfigTest, EverySingleValuedOptionGivenTwiceKeepsTheLast) {
  TempFile a, b;
  const auto& samples = Samples(a.path(), b.path());
  int checked = 0;
  for (const OptionDef& def : Options()) {
    if (def.repeat != Repeat::kLastWins &&
        def.repeat != Repeat::kLastWinsPerFamily) {
      continue;
    }
    SCOPED_TRACE(def.name);
    auto it = samples.find(def.name);
    ASSERT_NE(it, samples.end()) << "no sample values for --" << def.name;
    const Sample& sample = it->second;
    const std::string name = absl::StrCat("--", def.name);
    std::vector<std::string> args = sample.before;
    for (const std::string& v : {sample.first, sample.second}) {
      args.push_back(name);
      args.push_back(v);
    }
    Config twice = ParseOk(args);
    std::vector<std::string> once_args = sample.before;
    once_args.push_back(name);
    once_args.push_back(sample.second);
    Config once = ParseOk(once_args);
    EXPECT_EQ(sample.shown(twice), sample.shown(once));
    if (sample.first != sample.second) {
      std::vector<std::string> first_args = sample.before;
      first_args.push_back(name);
      first_args.push_back(sample.first);
      EXPECT_NE(sample.shown(twice), sample.shown(ParseOk(first_args)));
    }
    // --debug names the option and the value kept.
    ASSERT_EQ(twice.repeated.size(), 1u);
    EXPECT_THAT(twice.repeated[0], StartsWith(name + " "));
    EXPECT_THAT(twice.repeated[0],
                HasSubstr("given 2 times, kept the last: " + sample.second));
    // Given once: nothing to say.
    EXPECT_THAT(once.repeated, IsEmpty());
    // The short spelling counts as the same option.
    if (def.val < 256 && def.val != 0) {
      std::vector<std::string> mixed = sample.before;
      mixed.push_back(std::string{'-', static_cast<char>(def.val)});
      mixed.push_back(sample.first);
      mixed.push_back(name);
      mixed.push_back(sample.second);
      EXPECT_EQ(sample.shown(ParseOk(mixed)), sample.shown(once));
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(samples.size()))
      << "a sample names an option that is not single-valued";
}

// The podman case: containers.conf's pasta_options first, then the ones
// of --network pasta:...
TEST(ConfigTest, LayeredOptionsFromAnEngine) {
  Config cfg = ParseOk({"-I", "myname", "--ns-mac-addr", "9a:dd:31:ea:92:98",
                        "--ns-mac-addr", "aa:bb:cc:dd:ee:ff"});
  EXPECT_EQ(FormatMac(*cfg.ns_mac), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(cfg.ns_ifname, "myname");
  EXPECT_THAT(cfg.repeated,
              ElementsAre("--ns-mac-addr given 2 times, kept the last: "
                          "aa:bb:cc:dd:ee:ff"));
}

TEST(ConfigTest, PerFamilyOptionsKeepTheLastOfEachFamily) {
  Config cfg = ParseOk({"-a", "192.0.2.1/16", "-a", "2001:db8::1", "-a",
                        "192.0.2.2", "-g", "192.0.2.254", "-g", "fe80::1"});
  EXPECT_EQ(FormatIp(*cfg.addr4), "192.0.2.2");
  EXPECT_EQ(FormatIp(*cfg.addr6), "2001:db8::1");
  // The later -a had no prefix: the earlier one's /16 is gone with it.
  EXPECT_EQ(cfg.prefix_len4, -1);
  EXPECT_THAT(cfg.repeated,
              ElementsAre("--address (IPv4) given 2 times, kept the last: "
                          "192.0.2.2"));
  // A prefix length from -n stands for an -a without one.
  EXPECT_EQ(ParseOk({"-n", "20", "-a", "192.0.2.1/16", "-a", "192.0.2.2"})
                .prefix_len4,
            20);
}

TEST(ConfigTest, AccumulatingOptions) {
  // Every table entry that accumulates is covered here.
  std::vector<std::string> accumulating;
  for (const OptionDef& def : Options()) {
    if (def.repeat == Repeat::kAccumulates) accumulating.push_back(def.name);
  }
  EXPECT_THAT(accumulating, ElementsAre("dns", "search", "tcp-ports",
                                        "udp-ports", "tcp-ns", "udp-ns"));
  Config cfg = ParseOk({"-D", "192.0.2.53", "-D", "2001:db8::53",
                        "-S", "a.example",  "-S", "b.example c.example",
                        "-t", "22",         "-t", "80",
                        "-u", "53",         "-u", "5353",
                        "-T", "8080",       "-T", "8081",
                        "-U", "9000",       "-U", "9001"});
  ASSERT_EQ(cfg.dns.size(), 2u);
  EXPECT_THAT(cfg.search, ElementsAre("a.example", "b.example", "c.example"));
  for (const PortSpec* spec :
       {&cfg.tcp_ports, &cfg.udp_ports, &cfg.tcp_ns, &cfg.udp_ns}) {
    EXPECT_EQ(spec->ForwardedCount(), 2u);
  }
  EXPECT_TRUE(cfg.tcp_ports.Forwarded(22) && cfg.tcp_ports.Forwarded(80));
  EXPECT_TRUE(cfg.udp_ns.Forwarded(9000) && cfg.udp_ns.Forwarded(9001));
  EXPECT_THAT(cfg.repeated, IsEmpty());
}

// --- getopt-level errors ------------------------------------------------

TEST(ConfigTest, UnknownOptions) {
  EXPECT_EQ(ParseError({"--bogus"}), "unrecognized option '--bogus'");
  EXPECT_EQ(ParseError({"--bogus=3"}), "unrecognized option '--bogus=3'");
  EXPECT_EQ(ParseError({"-x"}), "invalid option -- 'x'");
  EXPECT_EQ(ParseError({"-dx"}), "invalid option -- 'x'");
  // An unknown short option right after a long one.
  EXPECT_EQ(ParseError({"--no-tcp", "-Zd"}), "invalid option -- 'Z'");
}

TEST(ConfigTest, MissingArguments) {
  EXPECT_EQ(ParseError({"--mtu"}), "option '--mtu' requires an argument");
  EXPECT_EQ(ParseError({"-m"}), "option requires an argument -- 'm'");
  EXPECT_EQ(ParseError({"-dm"}), "option requires an argument -- 'm'");
  EXPECT_EQ(ParseError({"--netns"}), "option '--netns' requires an argument");
  // An abbreviation is reported under its full name.
  EXPECT_EQ(ParseError({"--tcp-p"}),
            "option '--tcp-ports' requires an argument");
}

TEST(ConfigTest, AbbreviationsAndAmbiguity) {
  EXPECT_EQ(ParseOk({"--mt", "1400"}).mtu, 1400);
  EXPECT_EQ(ParseError({"--no-dh"}), "option '--no-dh' is ambiguous");
  // An exact name wins over longer ones sharing its prefix.
  EXPECT_TRUE(ParseOk({"--no-dhcp"}).no_dhcp);
  EXPECT_FALSE(ParseOk({"--no-dhcp"}).no_dhcpv6);
}

TEST(ConfigTest, ShortOptionClustersAndAttachedValues) {
  Config cfg = ParseOk({"-fe4", "-m1280", "-t22"});
  EXPECT_TRUE(cfg.foreground);
  EXPECT_TRUE(cfg.log_stderr);
  EXPECT_TRUE(cfg.ipv4_only);
  EXPECT_EQ(cfg.mtu, 1280);
  EXPECT_TRUE(cfg.tcp_ports.Forwarded(22));
}

TEST(ConfigTest, RepeatableParsing) {
  // getopt state is reset on each call.
  EXPECT_EQ(ParseOk({"-m", "1500"}).mtu, 1500);
  EXPECT_EQ(ParseOk({"-m", "9000"}).mtu, 9000);
  EXPECT_FALSE(Parse({"-x"}).ok());
  EXPECT_EQ(ParseOk({"-m", "1400"}).mtu, 1400);
}

TEST(ConfigTest, PodmanStyleCommandLine) {
  TempFile netns;
  Config cfg = ParseOk({"--config-net", "--dns-forward", "169.254.1.1", "-t",
                        "none", "-u", "none", "-T", "none", "-U", "none",
                        "--no-map-gw", "--quiet", "--netns", netns.path(),
                        "--map-guest-addr", "169.254.1.2"});
  EXPECT_EQ(cfg.target, Target::kNetns);
  EXPECT_TRUE(cfg.netns_only);
  EXPECT_EQ(cfg.log_level, log::Level::kWarn);
  EXPECT_EQ(cfg.tcp_ports.mode(), PortSpec::Mode::kNone);
  EXPECT_TRUE(cfg.unimplemented.empty());
}

TEST(ConfigTest, RootlesskitStyleCommandLine) {
  Config cfg =
      ParseOk({"--stderr", "--ns-ifname=tap0", "--mtu=65520", "--config-net",
               "--address=10.0.2.100", "--netmask=24", "--gateway=10.0.2.2",
               "--dns-forward=10.0.2.3", "--no-map-gw", "--ipv4-only",
               "--tcp-ports=auto", "--udp-ports=auto", "--host-lo-to-ns-lo",
               std::to_string(getpid())});
  EXPECT_EQ(cfg.target, Target::kPid);
  EXPECT_EQ(cfg.ns_ifname, "tap0");
  EXPECT_EQ(cfg.prefix_len4, 24);
  EXPECT_EQ(FormatIp(*cfg.addr4), "10.0.2.100");
  EXPECT_TRUE(cfg.tcp_ports.specified());
}

// --- Usage --------------------------------------------------------------

TEST(ConfigTest, UsageHasFormsAndEveryOption) {
  std::string usage = UsageText();
  EXPECT_THAT(usage, HasSubstr("pasta [OPTION]... [COMMAND [ARG]...]"));
  EXPECT_THAT(usage, HasSubstr("pasta [OPTION]... PID"));
  EXPECT_THAT(usage, HasSubstr("pasta [OPTION]... --netns [PATH|NAME]"));
  const char* options[] = {
      "--debug",
      "--trace",
      "--quiet",
      "--foreground",
      "--stderr",
      "--log-file",
      "--log-size",
      "--runas",
      "--help",
      "--version",
      "--ns-ifname",
      "--fd",
      "--pcap",
      "--pid",
      "--mtu",
      "--address",
      "--netmask",
      "--mac-addr",
      "--gateway",
      "--interface",
      "--outbound",
      "--outbound-if4",
      "--outbound-if6",
      "--dns",
      "--search",
      "--hostname",
      "--fqdn",
      "--dhcp-dns",
      "--dhcp-search",
      "--no-dhcp-dns",
      "--no-dhcp-search",
      "--dns-forward",
      "--dns-host",
      "--no-tcp",
      "--no-udp",
      "--no-icmp",
      "--no-dhcp",
      "--no-ndp",
      "--no-dhcpv6",
      "--no-ra",
      "--no-map-gw",
      "--map-host-loopback",
      "--map-guest-addr",
      "--no-splice",
      "--splice-only",
      "--host-lo-to-ns-lo",
      "--freebind",
      "--ipv4-only",
      "--ipv6-only",
      "--tcp-ports",
      "--udp-ports",
      "--tcp-ns",
      "--udp-ns",
      "--userns",
      "--netns",
      "--netns-only",
      "--no-netns-quit",
      "--config-net",
      "--ns-mac-addr",
      "--no-copy-routes",
      "--no-copy-addrs",
      "--stats",
      "--conf-path",
      "--chroot-fallback",
  };
  for (const char* option : options) {
    // Each option starts a line's description (after its short form, if any).
    EXPECT_TRUE(
        usage.find(std::string(", ") + option + " ") != std::string::npos ||
        usage.find(std::string("      ") + option + " ") != std::string::npos ||
        usage.find(std::string("      ") + option + "\n") != std::string::npos)
        << option;
  }
  EXPECT_THAT(usage, HasSubstr("default: 65520"));
}

// passt mode: argv[0] picks it.
absl::StatusOr<Config> ParseAs(const std::string& argv0,
                               const std::vector<std::string>& args) {
  std::vector<std::string> storage = {argv0};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return ParseCommandLine(static_cast<int>(storage.size()), argv.data());
}

std::string PasstError(const std::vector<std::string>& args) {
  absl::StatusOr<Config> cfg = ParseAs("passt", args);
  EXPECT_FALSE(cfg.ok()) << "accepted: " << testing::PrintToString(args);
  return cfg.ok() ? "" : std::string(cfg.status().message());
}

TEST(PasstModeTest, TheProgramNamePicksTheMode) {
  EXPECT_EQ(ParseAs("passt", {})->mode, Mode::kPasst);
  EXPECT_EQ(ParseAs("/usr/local/bin/passt", {})->mode, Mode::kPasst);
  EXPECT_EQ(ParseAs("passt.avx2", {})->mode, Mode::kPasst);
  EXPECT_EQ(ParseAs("pasta", {})->mode, Mode::kPasta);
  EXPECT_EQ(ParseAs("/opt/passt/bin/pasta", {})->mode, Mode::kPasta);
  EXPECT_EQ(ParseAs("something", {})->mode, Mode::kPasta);
}

TEST(PasstModeTest, Defaults) {
  const Config cfg = *ParseAs("passt", {});
  EXPECT_EQ(cfg.tcp_ports.mode(), PortSpec::Mode::kNone);
  EXPECT_EQ(cfg.udp_ports.mode(), PortSpec::Mode::kNone);
  EXPECT_EQ(cfg.tcp_ns.mode(), PortSpec::Mode::kNone);
  EXPECT_EQ(cfg.udp_ns.mode(), PortSpec::Mode::kNone);
  EXPECT_TRUE(cfg.no_splice);
  EXPECT_TRUE(cfg.dhcp_dns);
  EXPECT_TRUE(cfg.dhcp_search);
  EXPECT_FALSE(cfg.one_off);
  EXPECT_EQ(cfg.socket_path, "");
  EXPECT_EQ(cfg.fd, -1);
}

TEST(PasstModeTest, ItsOwnOptions) {
  const Config cfg =
      *ParseAs("passt", {"-s", "/run/vm.sock", "-1", "-t", "all", "-u",
                         "5353", "--no-dhcp-dns", "-P", "/run/p.pid"});
  EXPECT_EQ(cfg.socket_path, "/run/vm.sock");
  EXPECT_TRUE(cfg.one_off);
  EXPECT_EQ(cfg.tcp_ports.mode(), PortSpec::Mode::kAll);
  EXPECT_EQ(cfg.udp_ports.mode(), PortSpec::Mode::kExplicit);
  EXPECT_FALSE(cfg.dhcp_dns);
  EXPECT_TRUE(cfg.dhcp_search);
  EXPECT_EQ(cfg.pid_file, "/run/p.pid");
  const Config fd = *ParseAs("passt", {"--fd", "5"});
  EXPECT_EQ(fd.fd, 5);
  EXPECT_TRUE(fd.one_off);  // -F implies -1, as upstream
  EXPECT_EQ(ParseAs("passt", {"--socket", "/x"})->socket_path, "/x");
}

TEST(PasstModeTest, RefusesWhatNeedsANamespace) {
  EXPECT_EQ(PasstError({"-T", "80"}), "-T is for pasta mode only");
  EXPECT_EQ(PasstError({"--udp-ns", "53"}), "--udp-ns is for pasta mode only");
  EXPECT_EQ(PasstError({"--netns", "x"}), "--netns is for pasta mode only");
  EXPECT_EQ(PasstError({"--config-net"}), "--config-net is for pasta mode only");
  EXPECT_EQ(PasstError({"-I", "eth0"}), "-I is for pasta mode only");
  EXPECT_EQ(PasstError({"--dhcp-dns"}), "--dhcp-dns is for pasta mode only");
  EXPECT_EQ(PasstError({"--splice-only"}),
            "--splice-only is for pasta mode only");
  EXPECT_EQ(PasstError({"1234"}), "passt takes no PID or command ('1234')");
  EXPECT_THAT(PasstError({"-t", "auto"}),
              StartsWith("-t auto: 'auto' is only allowed for pasta"));
  EXPECT_THAT(PasstError({"-s", ""}), StartsWith("-s '': empty path"));
  EXPECT_THAT(PasstError({"-s", std::string(200, 'a')}),
              HasSubstr("path too long"));
  EXPECT_EQ(PasstError({"-F", "5", "-s", "/x"}),
            "--fd conflicts with --socket-path /x");
  EXPECT_THAT(PasstError({"--vhost-user"}), HasSubstr("not implemented yet"));
  EXPECT_THAT(PasstError({"-c", "/x"}), HasSubstr("not implemented in passt"));
}

}  // namespace
}  // namespace pasta::config
