// Command-line parsing: getopt_long over upstream pasta's option set, into a
// validated Config. One pass over the options records values and catches
// per-option errors (bad value); a single-valued option given again replaces
// the earlier value, as upstream (engines layer options: containers.conf's,
// then the command line's), and is noted for --debug. A second step handles
// the non-option arguments (command or PID) and the checks that involve more
// than one option (-4 with -6, -q with -d, --userns without a target, ...).
#include "config/config.h"

#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "config/option_codes.h"
#include "config/passwd.h"

namespace pasta::config {
namespace {

using namespace internal;  // NOLINT: this module's own option codes

int StatPath(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? 0 : errno;
}

// Parses a non-empty string of decimal digits no larger than `max`.
bool ParseDecimal(const char* text, uint64_t max, uint64_t* out) {
  if (text == nullptr || *text == '\0') return false;
  uint64_t value = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
    uint64_t digit = static_cast<uint64_t>(*p - '0');
    if (value > (max - digit) / 10) return false;  // value * 10 + digit > max
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

bool AllDigits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Address classes refused by some options, as a bit set.
enum AddrRule : unsigned {
  kRejectUnspecified = 1u << 0,
  kRejectLoopback = 1u << 1,
  kRejectMulticast = 1u << 2,
  kRejectBroadcast = 1u << 3,  // IPv4 255.255.255.255
  kRejectV4Mapped = 1u << 4,   // IPv6 ::ffff:a.b.c.d
};

// Returns why `addr` breaks `rules`, or nullptr if it doesn't.
const char* AddrRuleViolation(const IpAddr& addr, unsigned rules) {
  const auto& b = addr.bytes;
  if (addr.IsV4()) {
    bool zero = b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0;
    bool ones = b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255;
    if ((rules & kRejectUnspecified) && zero) return "unspecified address";
    if ((rules & kRejectLoopback) && b[0] == 127) return "loopback address";
    if ((rules & kRejectMulticast) && (b[0] & 0xf0) == 0xe0) {
      return "multicast address";
    }
    if ((rules & kRejectBroadcast) && ones) return "broadcast address";
    return nullptr;
  }
  bool zero10 = true;
  for (int i = 0; i < 10; ++i) zero10 = zero10 && b[i] == 0;
  bool zero15 = zero10 && b[10] == 0 && b[11] == 0 && b[12] == 0 &&
                b[13] == 0 && b[14] == 0;
  if ((rules & kRejectUnspecified) && zero15 && b[15] == 0) {
    return "unspecified address";
  }
  if ((rules & kRejectLoopback) && zero15 && b[15] == 1) {
    return "loopback address";
  }
  if ((rules & kRejectMulticast) && b[0] == 0xff) return "multicast address";
  if ((rules & kRejectV4Mapped) && zero10 && b[10] == 0xff && b[11] == 0xff) {
    return "IPv4-mapped address";
  }
  return nullptr;
}

// Parses a dot-decimal contiguous netmask or a prefix length 0..32.
int ParseNetmask(const char* text) {
  uint64_t len = 0;
  if (ParseDecimal(text, 32, &len)) return static_cast<int>(len);
  std::optional<IpAddr> mask = ParseIp(text);
  if (!mask || !mask->IsV4()) return -1;
  uint32_t host = (uint32_t{mask->bytes[0]} << 24) |
                  (uint32_t{mask->bytes[1]} << 16) |
                  (uint32_t{mask->bytes[2]} << 8) | mask->bytes[3];
  int bits = __builtin_popcount(host);
  // Contiguous: the set bits are exactly the top `bits` bits.
  uint64_t expected =
      bits == 0 ? 0 : (~uint64_t{0} << (32 - bits)) & 0xffffffffu;
  return host == expected ? bits : -1;
}

class Parser {
 public:
  explicit Parser(const ParseEnv& env)
      : path_exists_(env.path_exists != nullptr ? env.path_exists : &StatPath),
        passwd_path_(env.passwd_path),
        group_path_(env.group_path) {}

  absl::StatusOr<Config> Run(int argc, char* const argv[]);

 private:
  // Error "LABEL VALUE: REASON".
  static absl::Status Bad(const std::string& label, const char* value,
                          const std::string& reason) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, " ", value, ": ", reason));
  }
  // Records that the option keyed `key` (shown as `shown`) was given the
  // value `value`; a second time is noted in cfg_.repeated by Run().
  void Given(const std::string& key, const std::string& shown,
             const char* value);
  void GivenOption(int val, const char* value) {
    Given(CanonicalName(val), absl::StrCat("--", CanonicalName(val)), value);
  }

  absl::Status Handle(int code, const std::string& label, const char* arg);
  static absl::Status GetoptError(int code, int argc, char* const argv[]);

  absl::Status SetAddrPerFamily(int val, const std::string& label,
                                const char* arg, unsigned rules,
                                const char* what, std::optional<IpAddr>* v4,
                                std::optional<IpAddr>* v6);
  absl::Status SetNat(int val, const std::string& label, const char* arg,
                      std::optional<IpAddr>* v4, std::optional<IpAddr>* v6,
                      bool* none);
  absl::Status SetInterface(int val, const std::string& label, const char* arg,
                            std::string* out);
  absl::Status SetPath(int val, const std::string& label, const char* arg,
                       std::string* out);
  absl::Status SetAddress(const std::string& label, const char* arg);
  absl::Status SetDns(const std::string& label, const char* arg);
  absl::Status SetSearch(const std::string& label, const char* arg);
  absl::Status SetRunas(const std::string& label, const char* arg);
  absl::Status AddPorts(int val, const std::string& label, const char* arg);

  absl::Status HandleArguments(int first, int argc, char* const argv[]);
  absl::Status CrossCheck();

  struct Seen {
    std::string key, shown, last;
    int count;
  };

  int (*path_exists_)(const std::string&);
  std::string passwd_path_, group_path_;
  Config cfg_;
  std::vector<Seen> seen_;  // in order of first appearance
  bool debug_ = false;
  bool trace_ = false;
  bool passt_ = false;  // Mode::kPasst
  bool no_dhcp_dns_given_ = false;
  bool no_dhcp_search_given_ = false;
  bool netns_given_ = false;
  bool netns_only_given_ = false;
  std::string netns_arg_;
  std::string addr4_text_, addr6_text_, gw4_text_, gw6_text_;
  std::string out4_text_, out6_text_, netmask_text_;
  bool addr4_has_prefix_ = false;
  int netmask_len_ = -1;  // the last -n, as a prefix length
  // First -t/-u/-T/-U spec, per option, for messages.
  std::string port_text_[4];
  std::string port_label_[4];
};

void Parser::Given(const std::string& key, const std::string& shown,
                   const char* value) {
  for (Seen& seen : seen_) {
    if (seen.key == key) {
      ++seen.count;
      seen.last = value;
      return;
    }
  }
  seen_.push_back({key, shown, value, 1});
}

absl::Status Parser::SetAddrPerFamily(int val, const std::string& label,
                                      const char* arg, unsigned rules,
                                      const char* what,
                                      std::optional<IpAddr>* v4,
                                      std::optional<IpAddr>* v6) {
  std::optional<IpAddr> addr = ParseIp(arg);
  if (!addr) return Bad(label, arg, absl::StrCat("invalid ", what));
  if (const char* why = AddrRuleViolation(*addr, rules)) {
    return Bad(label, arg,
               absl::StrCat("not usable as ", what, " (", why, ")"));
  }
  bool v6_family = addr->IsV6();
  const char* name = CanonicalName(val);
  Given(absl::StrCat(name, v6_family ? "/6" : "/4"),
        absl::StrCat("--", name, v6_family ? " (IPv6)" : " (IPv4)"), arg);
  (v6_family ? *v6 : *v4) = *addr;
  return absl::OkStatus();
}

absl::Status Parser::SetNat(int val, const std::string& label, const char* arg,
                            std::optional<IpAddr>* v4,
                            std::optional<IpAddr>* v6, bool* none) {
  // As upstream: "none" drops both families' addresses given so far; an
  // address given after it maps its own family only.
  if (std::strcmp(arg, "none") == 0) {
    const char* name = CanonicalName(val);
    for (const char* family : {"/4", "/6"}) {
      Given(absl::StrCat(name, family),
            absl::StrCat("--", name, family[1] == '4' ? " (IPv4)" : " (IPv6)"),
            arg);
    }
    v4->reset();
    v6->reset();
    *none = true;
    return absl::OkStatus();
  }
  return SetAddrPerFamily(val, label, arg,
                          kRejectUnspecified | kRejectLoopback |
                              kRejectMulticast | kRejectBroadcast,
                          "address to map", v4, v6);
}

absl::Status Parser::SetInterface(int val, const std::string& label,
                                  const char* arg, std::string* out) {
  if (!IsValidInterfaceName(arg)) {
    return Bad(label, arg,
               "invalid interface name (1 to 15 characters, no '/', ':' or "
               "spaces)");
  }
  GivenOption(val, arg);
  *out = arg;
  return absl::OkStatus();
}

absl::Status Parser::SetPath(int val, const std::string& label, const char* arg,
                             std::string* out) {
  if (*arg == '\0') return Bad(label, "''", "empty path");
  if (std::strlen(arg) >= PATH_MAX) return Bad(label, "(...)", "path too long");
  GivenOption(val, arg);
  *out = arg;
  return absl::OkStatus();
}

absl::Status Parser::SetAddress(const std::string& label, const char* arg) {
  std::string text = arg;
  int prefix = -1;
  size_t slash = text.find('/');
  std::string addr_text = text.substr(0, slash);
  std::optional<IpAddr> addr = ParseIp(addr_text);
  if (!addr) return Bad(label, arg, "invalid address");
  if (slash != std::string::npos) {
    uint64_t len = 0;
    uint64_t max = addr->IsV4() ? 32 : 128;
    if (!ParseDecimal(text.c_str() + slash + 1, max, &len)) {
      return Bad(label, arg,
                 absl::StrCat("invalid prefix length (0 to ", max, ")"));
    }
    prefix = static_cast<int>(len);
  }
  if (const char* why = AddrRuleViolation(
          *addr, kRejectUnspecified | kRejectLoopback | kRejectMulticast |
                     kRejectBroadcast | kRejectV4Mapped)) {
    return Bad(label, arg, absl::StrCat("not usable as address (", why, ")"));
  }
  // The last -a of a family replaces the earlier one, prefix included.
  if (addr->IsV4()) {
    Given("address/4", "--address (IPv4)", arg);
    cfg_.addr4 = *addr;
    addr4_text_ = arg;
    addr4_has_prefix_ = prefix >= 0;
    cfg_.prefix_len4 = prefix >= 0 ? prefix : netmask_len_;
  } else {
    Given("address/6", "--address (IPv6)", arg);
    cfg_.addr6 = *addr;
    addr6_text_ = arg;
    cfg_.prefix_len6 = prefix;
  }
  return absl::OkStatus();
}

absl::Status Parser::SetDns(const std::string& label, const char* arg) {
  // As upstream: "none" (or "") drops the addresses given so far; an
  // address after it starts a new list.
  if (*arg == '\0' || std::strcmp(arg, "none") == 0) {
    cfg_.dns.clear();
    cfg_.dns_disabled = true;
    return absl::OkStatus();
  }
  std::optional<IpAddr> addr = ParseIp(arg);
  if (!addr) return Bad(label, arg, "invalid DNS server address");
  if (const char* why = AddrRuleViolation(*addr, kRejectUnspecified)) {
    return Bad(label, arg,
               absl::StrCat("not usable as DNS server (", why, ")"));
  }
  cfg_.dns_disabled = false;
  cfg_.dns.push_back(*addr);
  return absl::OkStatus();
}

absl::Status Parser::SetSearch(const std::string& label, const char* arg) {
  std::vector<std::string> domains;
  std::string current;
  for (const char* p = arg;; ++p) {
    if (*p == '\0' || *p == ' ' || *p == '\t') {
      if (!current.empty()) domains.push_back(std::move(current));
      current.clear();
      if (*p == '\0') break;
    } else {
      current.push_back(*p);
    }
  }
  // As -D: "none" (or "") drops the domains given so far.
  if (domains.empty() || (domains.size() == 1 && domains[0] == "none")) {
    cfg_.search.clear();
    cfg_.search_disabled = true;
    return absl::OkStatus();
  }
  for (std::string& domain : domains) {
    if (domain.size() > 253) {
      return Bad(label, arg,
                 absl::StrCat("domain name longer than 253 characters"));
    }
    cfg_.search.push_back(std::move(domain));
  }
  cfg_.search_disabled = false;
  return absl::OkStatus();
}

absl::Status Parser::SetRunas(const std::string& label, const char* arg) {
  std::string text = arg;
  size_t colon = text.find(':');
  std::string user = text.substr(0, colon);
  if (user.empty()) return Bad(label, arg, "missing user");
  uid_t uid = 0;
  gid_t gid = 0;
  bool have_gid = false;
  uint64_t number = 0;
  // Read here, not through NSS: see config/passwd.h.
  const std::optional<std::string> passwd = ReadSmallFile(passwd_path_);
  std::optional<Account> account;
  if (AllDigits(user)) {
    if (!ParseDecimal(user.c_str(), UINT32_MAX - 1, &number)) {
      return Bad(label, arg, "UID out of range");
    }
    uid = static_cast<uid_t>(number);
    if (passwd && (account = FindPasswd(*passwd, user, /*by_id=*/true))) {
      gid = account->gid;
      have_gid = true;
    }
  } else {
    if (!passwd) {
      return Bad(label, arg,
                 absl::StrCat("can't read ", passwd_path_,
                              " to look the user up (give a numeric UID)"));
    }
    account = FindPasswd(*passwd, user, /*by_id=*/false);
    if (!account) {
      return Bad(label, arg,
                 absl::StrCat("no such user '", user, "' in ", passwd_path_,
                              " (give a numeric UID for others)"));
    }
    uid = account->id;
    gid = account->gid;
    have_gid = true;
  }
  if (colon != std::string::npos) {
    std::string group = text.substr(colon + 1);
    if (group.empty()) return Bad(label, arg, "missing group after ':'");
    if (AllDigits(group)) {
      if (!ParseDecimal(group.c_str(), UINT32_MAX - 1, &number)) {
        return Bad(label, arg, "GID out of range");
      }
      gid = static_cast<gid_t>(number);
    } else {
      const std::optional<std::string> groups = ReadSmallFile(group_path_);
      std::optional<Account> gr =
          groups ? FindGroup(*groups, group, /*by_id=*/false) : std::nullopt;
      if (!gr) {
        return Bad(label, arg,
                   absl::StrCat("no such group '", group, "' in ", group_path_,
                                " (give a numeric GID for others)"));
      }
      gid = gr->id;
    }
    have_gid = true;
  }
  if (!have_gid) gid = static_cast<gid_t>(uid);  // unknown numeric UID
  GivenOption(kOptRunas, arg);
  cfg_.runas_set = true;
  cfg_.runas_uid = uid;
  cfg_.runas_gid = gid;
  return absl::OkStatus();
}

absl::Status Parser::AddPorts(int val, const std::string& label,
                              const char* arg) {
  int index = val == 't' ? 0 : val == 'u' ? 1 : val == 'T' ? 2 : 3;
  PortSpec* spec = index == 0   ? &cfg_.tcp_ports
                   : index == 1 ? &cfg_.udp_ports
                   : index == 2 ? &cfg_.tcp_ns
                                : &cfg_.udp_ns;
  // As upstream: `all` is passt's (a VM has no ports of its own to clash
  // with); pasta takes exclusion-only lists instead.
  if (passt_ && std::strcmp(arg, "auto") == 0) {
    return Bad(label, arg,
               "'auto' is only allowed for pasta (a guest's ports can't be "
               "watched)");
  }
  if (!passt_ && std::strcmp(arg, "all") == 0) {
    return Bad(label, arg,
               "'all' is only allowed for passt; give ports, or exclude some "
               "with '~' to forward every other one");
  }
  absl::Status status = spec->Add(arg, /*allow_bind=*/index < 2);
  if (!status.ok()) {
    return Bad(label, *arg ? arg : "''", std::string(status.message()));
  }
  if (port_text_[index].empty() && std::strcmp(arg, "none") != 0) {
    port_text_[index] = arg;
    port_label_[index] = label;
  }
  cfg_.port_options.emplace_back(static_cast<char>(val), arg);
  return absl::OkStatus();
}

// Whether option `code` is for pasta only (a namespace to attach to or
// configure, loopback splicing, or what a guest asks for with DHCP anyway).
bool PastaOnly(int code) {
  switch (code) {
    case kOptUserns:
    case kOptNetns:
    case kOptNetnsOnly:
    case kOptNoNetnsQuit:
    case kOptConfigNet:
    case kOptNoCopyRoutes:
    case kOptNoCopyAddrs:
    case kOptNsMacAddr:
    case kOptSpliceOnly:
    case kOptHostLoToNsLo:
    case kOptDhcpDns:
    case kOptDhcpSearch:
    case 'I':
    case 'T':
    case 'U':
      return true;
    default:
      return false;
  }
}

absl::Status Parser::Handle(int code, const std::string& label,
                            const char* arg) {
  uint64_t number = 0;
  if (passt_ && PastaOnly(code)) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, " is for pasta mode only"));
  }
  switch (code) {
    case 'd':
      debug_ = true;
      return absl::OkStatus();
    case kOptTrace:
      trace_ = true;
      return absl::OkStatus();
    case 'q':
      cfg_.quiet = true;
      return absl::OkStatus();
    case 'f':
      cfg_.foreground = true;
      return absl::OkStatus();
    case 'e':
      cfg_.log_stderr = true;
      return absl::OkStatus();
    case 'l':
      return SetPath(code, label, arg, &cfg_.log_file);
    case kOptLogSize:
      if (!ParseDecimal(arg, SIZE_MAX, &number) || number == 0) {
        return Bad(label, arg, "invalid size (a positive number of bytes)");
      }
      GivenOption(code, arg);
      cfg_.log_size = static_cast<size_t>(number);
      return absl::OkStatus();
    case kOptRunas:
      return SetRunas(label, arg);
    case 'h':
      cfg_.help = true;
      return absl::OkStatus();
    case kOptVersion:
      cfg_.version = true;
      return absl::OkStatus();
    case 'I':
      return SetInterface(code, label, arg, &cfg_.ns_ifname);
    case 'F':
      if (!ParseDecimal(arg, INT_MAX, &number) || number <= STDERR_FILENO) {
        return Bad(label, arg, "invalid file descriptor (a number above 2)");
      }
      GivenOption(code, arg);
      cfg_.fd = static_cast<int>(number);
      // passt: the caller's socket serves one client, as upstream.
      if (passt_) cfg_.one_off = true;
      return absl::OkStatus();
    case 'p':
      return SetPath(code, label, arg, &cfg_.pcap_file);
    case 'P':
      return SetPath(code, label, arg, &cfg_.pid_file);
    case 'm':
      if (!ParseDecimal(arg, kMaxMtu, &number) ||
          (number != 0 && number < static_cast<uint64_t>(kMinMtu))) {
        return Bad(
            label, arg,
            absl::StrCat("invalid MTU (0, or ", kMinMtu, " to ", kMaxMtu, ")"));
      }
      GivenOption(code, arg);
      cfg_.mtu = static_cast<int>(number);
      cfg_.mtu_set = true;
      return absl::OkStatus();
    case 'a':
      return SetAddress(label, arg);
    case 'n': {
      int len = ParseNetmask(arg);
      if (len < 0) {
        return Bad(label, arg,
                   "invalid netmask (contiguous dot-decimal mask, or prefix "
                   "length 0 to 32)");
      }
      GivenOption(code, arg);
      netmask_text_ = arg;
      netmask_len_ = len;
      if (!addr4_has_prefix_) cfg_.prefix_len4 = len;
      return absl::OkStatus();
    }
    case 'M':
    case kOptNsMacAddr: {
      std::optional<MacAddr> mac = ParseMac(arg);
      if (!mac) {
        return Bad(label, arg, "invalid MAC address (like 9a:55:9a:55:9a:55)");
      }
      GivenOption(code, arg);
      (code == 'M' ? cfg_.our_mac : cfg_.ns_mac) = *mac;
      return absl::OkStatus();
    }
    case 'g':
      RETURN_IF_ERROR(SetAddrPerFamily(code, label, arg,
                                       kRejectUnspecified | kRejectLoopback |
                                           kRejectMulticast | kRejectBroadcast,
                                       "gateway", &cfg_.gw4, &cfg_.gw6));
      (ParseIp(arg)->IsV4() ? gw4_text_ : gw6_text_) = arg;
      return absl::OkStatus();
    case 'i':
      return SetInterface(code, label, arg, &cfg_.template_if);
    case 'o':
      RETURN_IF_ERROR(SetAddrPerFamily(
          code, label, arg,
          kRejectUnspecified | kRejectLoopback | kRejectMulticast |
              kRejectBroadcast | kRejectV4Mapped,
          "outbound address", &cfg_.outbound4, &cfg_.outbound6));
      (ParseIp(arg)->IsV4() ? out4_text_ : out6_text_) = arg;
      return absl::OkStatus();
    case kOptOutboundIf4:
      return SetInterface(code, label, arg, &cfg_.outbound_if4);
    case kOptOutboundIf6:
      return SetInterface(code, label, arg, &cfg_.outbound_if6);
    case 'D':
      return SetDns(label, arg);
    case 'S':
      return SetSearch(label, arg);
    case 'H':
    case kOptFqdn:
      if (*arg == '\0' || std::strlen(arg) > 253) {
        return Bad(label, *arg ? arg : "''",
                   "invalid name (1 to 253 characters)");
      }
      GivenOption(code, arg);
      (code == 'H' ? cfg_.hostname : cfg_.fqdn) = arg;
      return absl::OkStatus();
    case kOptDhcpDns:
      cfg_.dhcp_dns = true;
      return absl::OkStatus();
    case kOptDhcpSearch:
      cfg_.dhcp_search = true;
      return absl::OkStatus();
    case kOptNoDhcpDns:
      cfg_.dhcp_dns = false;
      no_dhcp_dns_given_ = true;
      return absl::OkStatus();
    case kOptNoDhcpSearch:
      cfg_.dhcp_search = false;
      no_dhcp_search_given_ = true;
      return absl::OkStatus();
    case kOptDnsForward:
      return SetAddrPerFamily(
          code, label, arg,
          kRejectUnspecified | kRejectLoopback | kRejectBroadcast,
          "DNS forwarding address", &cfg_.dns_forward4, &cfg_.dns_forward6);
    case kOptDnsHost:
      return SetAddrPerFamily(
          code, label, arg, kRejectUnspecified | kRejectBroadcast,
          "host DNS address", &cfg_.dns_host4, &cfg_.dns_host6);
    case kOptNoTcp:
      cfg_.no_tcp = true;
      return absl::OkStatus();
    case kOptNoUdp:
      cfg_.no_udp = true;
      return absl::OkStatus();
    case kOptNoIcmp:
      cfg_.no_icmp = true;
      return absl::OkStatus();
    case kOptNoDhcp:
      cfg_.no_dhcp = true;
      return absl::OkStatus();
    case kOptNoNdp:
      cfg_.no_ndp = true;
      return absl::OkStatus();
    case kOptNoDhcpv6:
      cfg_.no_dhcpv6 = true;
      return absl::OkStatus();
    case kOptNoRa:
      cfg_.no_ra = true;
      return absl::OkStatus();
    case kOptNoMapGw:
      cfg_.no_map_gw = true;
      return absl::OkStatus();
    case kOptMapHostLoopback:
      RETURN_IF_ERROR(SetNat(code, label, arg, &cfg_.map_host_loopback4,
                             &cfg_.map_host_loopback6,
                             &cfg_.map_host_loopback_none));
      // Like upstream: no mapping of the host's loopback at all.
      if (cfg_.map_host_loopback_none) cfg_.no_map_gw = true;
      return absl::OkStatus();
    case kOptMapGuestAddr:
      return SetNat(code, label, arg, &cfg_.map_guest_addr4,
                    &cfg_.map_guest_addr6, &cfg_.map_guest_addr_none);
    case kOptNoSplice:
      cfg_.no_splice = true;
      return absl::OkStatus();
    case kOptSpliceOnly:
      cfg_.splice_only = true;
      return absl::OkStatus();
    case kOptHostLoToNsLo:
      cfg_.host_lo_to_ns_lo = true;
      return absl::OkStatus();
    case kOptFreebind:
      cfg_.freebind = true;
      return absl::OkStatus();
    case '4':
      cfg_.ipv4_only = true;
      return absl::OkStatus();
    case '6':
      cfg_.ipv6_only = true;
      return absl::OkStatus();
    case 't':
    case 'u':
    case 'T':
    case 'U':
      return AddPorts(code, label, arg);
    case kOptUserns:
      if (*arg == '\0') return Bad(label, "''", "empty path");
      GivenOption(code, arg);
      cfg_.userns_path = arg;
      return absl::OkStatus();
    case kOptNetns: {
      if (*arg == '\0') return Bad(label, "''", "empty path or name");
      std::string path = std::strchr(arg, '/') != nullptr
                             ? std::string(arg)
                             : absl::StrCat("/run/netns/", arg);
      if (path.size() >= PATH_MAX) return Bad(label, arg, "path too long");
      GivenOption(code, arg);
      netns_given_ = true;
      netns_arg_ = arg;
      cfg_.netns_path = std::move(path);
      return absl::OkStatus();
    }
    case kOptNetnsOnly:
      netns_only_given_ = true;
      return absl::OkStatus();
    case kOptNoNetnsQuit:
      cfg_.no_netns_quit = true;
      return absl::OkStatus();
    case kOptConfigNet:
      cfg_.config_net = true;
      return absl::OkStatus();
    case kOptNoFollowHost:
      cfg_.follow_host = false;
      return absl::OkStatus();
    case kOptNoCopyRoutes:
      cfg_.no_copy_routes = true;
      return absl::OkStatus();
    case kOptNoCopyAddrs:
      cfg_.no_copy_addrs = true;
      return absl::OkStatus();
    case kOptStats:
      if (!ParseDecimal(arg, INT_MAX, &number)) {
        return Bad(label, arg, "invalid delay (a number of seconds)");
      }
      GivenOption(code, arg);
      cfg_.stats_delay = static_cast<int>(number);
      return absl::OkStatus();
    case 'c':
      return SetPath(code, label, arg, &cfg_.conf_path);
    case kOptChrootFallback:
      cfg_.chroot_fallback = true;
      return absl::OkStatus();
    case kOptRepairPath:
      // Upstream accepts only "none" outside vhost-user mode.
      if (std::strcmp(arg, "none") != 0) {
        return Bad(label, arg, "only 'none' is valid outside vhost-user mode");
      }
      GivenOption(code, arg);
      return absl::OkStatus();
    case 's':
      if (!passt_) break;
      if (*arg == '\0') return Bad(label, "''", "empty path");
      if (std::strlen(arg) >= 108) {  // sizeof(sockaddr_un::sun_path)
        return Bad(label, arg, "path too long for a UNIX socket");
      }
      GivenOption(code, arg);
      cfg_.socket_path = arg;
      return absl::OkStatus();
    case '1':
      if (!passt_) break;
      cfg_.one_off = true;
      return absl::OkStatus();
    default:
      break;
  }
  switch (code) {
    case 's':
    case '1':
      return absl::InvalidArgumentError(
          absl::StrCat(label, " is for passt (VM) mode only"));
    case kOptVhostUser:
    case kOptPrintCapabilities:
    case kOptMigrateExit:
    case kOptMigrateNoLinger:
      if (passt_) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": vhost-user is not implemented yet"));
      }
      return absl::InvalidArgumentError(
          absl::StrCat(label, " is for passt (VM) mode only"));
    default:
      break;
  }
  return absl::InternalError(absl::StrCat("unhandled option ", label));
}

absl::Status Parser::GetoptError(int code, int argc, char* const argv[]) {
  // After a long option error, and after a missing argument, glibc has moved
  // optind past the element in question.
  const char* element =
      (optind >= 1 && optind - 1 < argc) ? argv[optind - 1] : "";
  bool is_long = std::strncmp(element, "--", 2) == 0;
  std::string typed;  // the long name as typed, without "=value"
  if (is_long) {
    typed = element + 2;
    typed = typed.substr(0, typed.find('='));
  }
  // The full long name for `val` whose spelling starts with what was typed.
  auto full_name = [&](int val) -> std::string {
    for (const OptionDef& def : Options()) {
      if (def.val == val &&
          std::strncmp(def.name, typed.c_str(), typed.size()) == 0) {
        return def.name;
      }
    }
    return typed;
  };
  if (code == ':') {
    if (is_long) {
      return absl::InvalidArgumentError(absl::StrCat(
          "option '--", full_name(optopt), "' requires an argument"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("option requires an argument -- '",
                     std::string(1, static_cast<char>(optopt)), "'"));
  }
  if (optopt == 0) {
    int matches = 0;
    for (const OptionDef& def : Options()) {
      if (std::strncmp(def.name, typed.c_str(), typed.size()) == 0) ++matches;
    }
    if (is_long && matches > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("option '--", typed, "' is ambiguous"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unrecognized option '", element, "'"));
  }
  bool known_short = optopt < 256 && optopt != ':' &&
                     std::strchr(kShortOptions + 2, optopt) != nullptr;
  if (is_long && (optopt >= 256 || known_short)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "option '--", full_name(optopt), "' doesn't allow an argument"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid option -- '", std::string(1, static_cast<char>(optopt)), "'"));
}

absl::Status Parser::HandleArguments(int first, int argc, char* const argv[]) {
  std::vector<std::string> args(argv + first, argv + argc);
  if (passt_) {
    if (!args.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "passt takes no PID or command ('", args[0], "')"));
    }
    return absl::OkStatus();
  }
  if (netns_given_) {
    if (!args.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--netns ", netns_arg_,
          ": can't be combined with a PID or command ('", args[0], "')"));
    }
    cfg_.target = Target::kNetns;
    if (int err = path_exists_(cfg_.netns_path)) {
      std::string what =
          netns_arg_ == cfg_.netns_path
              ? absl::StrCat("--netns ", netns_arg_)
              : absl::StrCat("--netns ", netns_arg_, ": ", cfg_.netns_path);
      return ErrnoToStatus(err, what);
    }
    return absl::OkStatus();
  }
  if (args.size() == 1 && AllDigits(args[0])) {
    uint64_t pid = 0;
    if (!ParseDecimal(args[0].c_str(), INT_MAX, &pid) || pid == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid PID ", args[0], " (1 to ", INT_MAX, ")"));
    }
    std::string proc = absl::StrCat("/proc/", pid);
    if (int err = path_exists_(proc)) {
      if (err == ENOENT) {
        return absl::NotFoundError(absl::StrCat("no such process: ", args[0]));
      }
      return ErrnoToStatus(err, absl::StrCat("PID ", args[0], ": ", proc));
    }
    cfg_.target = Target::kPid;
    cfg_.target_pid = static_cast<pid_t>(pid);
    return absl::OkStatus();
  }
  cfg_.target = Target::kSpawn;
  cfg_.command = std::move(args);
  return absl::OkStatus();
}

absl::Status Parser::CrossCheck() {
  auto error = [](const std::string& message) {
    return absl::InvalidArgumentError(message);
  };
  // Logging.
  if (cfg_.quiet && (debug_ || trace_)) {
    return error(absl::StrCat("--quiet conflicts with ",
                              trace_ ? "--trace" : "--debug"));
  }
  cfg_.log_level = trace_       ? log::Level::kTrace
                   : debug_     ? log::Level::kDebug
                   : cfg_.quiet ? log::Level::kWarn
                                : log::Level::kInfo;

  // Address families.
  if (cfg_.ipv4_only && cfg_.ipv6_only) {
    return error("--ipv4-only and --ipv6-only are mutually exclusive");
  }
  if (cfg_.ipv4_only) {
    const std::string* v6_texts[] = {&addr6_text_, &gw6_text_, &out6_text_};
    const char* v6_names[] = {"--address", "--gateway", "--outbound"};
    for (int i = 0; i < 3; ++i) {
      if (!v6_texts[i]->empty()) {
        return error(absl::StrCat(v6_names[i], " ", *v6_texts[i],
                                  ": IPv6 address given with --ipv4-only"));
      }
    }
  }
  if (cfg_.ipv6_only) {
    const std::string* v4_texts[] = {&addr4_text_, &gw4_text_, &out4_text_,
                                     &netmask_text_};
    const char* v4_names[] = {"--address", "--gateway", "--outbound",
                              "--netmask"};
    for (int i = 0; i < 4; ++i) {
      if (!v4_texts[i]->empty()) {
        return error(absl::StrCat(v4_names[i], " ", *v4_texts[i],
                                  ": IPv4 setting given with --ipv6-only"));
      }
    }
  }
  // As upstream, a prefix length in any -a (IPv6 too) and -n don't mix.
  if (!netmask_text_.empty() && (addr4_has_prefix_ || cfg_.prefix_len6 >= 0)) {
    return error(absl::StrCat("--netmask ", netmask_text_,
                              ": prefix length already given by --address ",
                              addr4_has_prefix_ ? addr4_text_ : addr6_text_));
  }

  // Protocols vs. port forwarding.
  for (int i = 0; i < 4; ++i) {
    bool tcp = i == 0 || i == 2;
    if (port_text_[i].empty()) continue;
    if (tcp ? cfg_.no_tcp : cfg_.no_udp) {
      return error(absl::StrCat(port_label_[i], " ", port_text_[i], ": ",
                                tcp ? "TCP" : "UDP",
                                " port forwarding requested but ",
                                tcp ? "--no-tcp" : "--no-udp", " given"));
    }
  }

  if (passt_) {
    // As upstream: no forwarding unless asked, no namespace to splice to,
    // and DNS in router advertisements unless --no-dhcp-dns/-search.
    for (PortSpec* spec :
         {&cfg_.tcp_ports, &cfg_.udp_ports, &cfg_.tcp_ns, &cfg_.udp_ns}) {
      if (!spec->specified()) (void)spec->Add("none");
    }
    cfg_.no_splice = true;
    if (!no_dhcp_dns_given_) cfg_.dhcp_dns = true;
    if (!no_dhcp_search_given_) cfg_.dhcp_search = true;
    if (!cfg_.conf_path.empty()) {
      return error(absl::StrCat("-c ", cfg_.conf_path,
                                ": the control socket is not implemented in "
                                "passt mode yet"));
    }
    if (cfg_.fd >= 0 && !cfg_.socket_path.empty()) {
      return error(absl::StrCat("--fd conflicts with --socket-path ",
                                cfg_.socket_path));
    }
  }
  if (cfg_.splice_only && cfg_.no_splice) {
    return error("--splice-only conflicts with --no-splice");
  }
  if (cfg_.splice_only) {
    // Without a tap only the loopbacks are joined: a target address would
    // be reached over the tap.
    for (int i = 0; i < 4; ++i) {
      const PortSpec& spec = i == 0   ? cfg_.tcp_ports
                             : i == 1 ? cfg_.udp_ports
                             : i == 2 ? cfg_.tcp_ns
                                      : cfg_.udp_ns;
      if (spec.has_target_addrs()) {
        static constexpr const char* kLabels[] = {"-t", "-u", "-T", "-U"};
        return error(absl::StrCat(kLabels[i],
                                  ": a target address (PORT:ADDR) needs the "
                                  "tap, which --splice-only leaves out"));
      }
    }
    if (cfg_.fd >= 0) return error("--splice-only conflicts with --fd");
    // As upstream: no tap, so nothing that only the tap would carry, and
    // the host's loopback reaches the namespace's loopback.
    cfg_.host_lo_to_ns_lo = true;
    cfg_.no_icmp = true;
  }
  if (!cfg_.config_net) {
    if (cfg_.no_copy_routes)
      return error("--no-copy-routes needs --config-net");
    if (cfg_.no_copy_addrs) return error("--no-copy-addrs needs --config-net");
  }
  if (cfg_.stats_delay >= 0 && !cfg_.foreground) {
    return error("--stats needs --foreground");
  }

  // Namespaces.
  if (netns_only_given_ && !cfg_.userns_path.empty()) {
    return error(absl::StrCat("--netns-only conflicts with --userns ",
                              cfg_.userns_path));
  }
  if (!cfg_.userns_path.empty()) {
    if (cfg_.target == Target::kSpawn) {
      return error(absl::StrCat("--userns ", cfg_.userns_path,
                                ": needs --netns or a PID"));
    }
    if (int err = path_exists_(cfg_.userns_path)) {
      return ErrnoToStatus(err, absl::StrCat("--userns ", cfg_.userns_path));
    }
  }
  cfg_.netns_only = netns_only_given_ ||
                    (cfg_.target == Target::kNetns && cfg_.userns_path.empty());
  return absl::OkStatus();
}

absl::StatusOr<Config> Parser::Run(int argc, char* const argv[]) {
  std::vector<struct option> options;
  for (const OptionDef& def : Options()) {
    options.push_back({def.name, def.has_arg, nullptr, def.val});
  }
  options.push_back({nullptr, 0, nullptr, 0});

  if (argc > 0 && argv[0] != nullptr) {
    std::string_view name = argv[0];
    const size_t slash = name.rfind('/');
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    passt_ = name.find("pasta") == std::string_view::npos &&
             name.find("passt") != std::string_view::npos;
  }
  cfg_.mode = passt_ ? Mode::kPasst : Mode::kPasta;

  optind = 0;  // full re-initialisation of getopt's state
  opterr = 0;
  while (true) {
    int longindex = -1;
    int code =
        getopt_long(argc, argv, kShortOptions, options.data(), &longindex);
    if (code == -1) break;
    absl::Status status;
    if (code == '?' || code == ':') {
      status = GetoptError(code, argc, argv);
    } else {
      std::string label = longindex >= 0
                              ? absl::StrCat("--", options[longindex].name)
                              : std::string{'-', static_cast<char>(code)};
      status = Handle(code, label, optarg);
    }
    if (!status.ok()) return status;
    if (cfg_.help || cfg_.version) return std::move(cfg_);
  }
  RETURN_IF_ERROR(HandleArguments(optind, argc, argv));
  RETURN_IF_ERROR(CrossCheck());
  for (const Seen& seen : seen_) {
    if (seen.count < 2) continue;
    cfg_.repeated.push_back(absl::StrCat(seen.shown, " given ", seen.count,
                                         " times, kept the last: ", seen.last));
  }
  return std::move(cfg_);
}

}  // namespace

absl::StatusOr<Config> ParseCommandLine(int argc, char* const argv[]) {
  return ParseCommandLine(argc, argv, ParseEnv{});
}

absl::StatusOr<Config> ParseCommandLine(int argc, char* const argv[],
                                        const ParseEnv& env) {
  Parser parser(env);
  return parser.Run(argc, argv);
}

}  // namespace pasta::config
