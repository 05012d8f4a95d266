#include "dhcp/dns_name.h"

#include "common/log.h"

namespace pasta::dhcp {

bool AppendDnsName(std::string_view name, std::vector<uint8_t>& out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  // Each label costs its length byte; the root label costs one more.
  if (name.empty() || name.size() + 2 > kMaxWireName) return false;
  const size_t start = out.size();
  while (true) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabel) {
      out.resize(start);
      return false;
    }
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out.push_back(0);
  return true;
}

std::vector<uint8_t> EncodeDnsNames(const std::vector<std::string>& names) {
  std::vector<uint8_t> wire;
  for (const std::string& name : names) {
    if (!AppendDnsName(name, wire))
      LOG_WARN("dhcp: skipping invalid domain name \"%s\"", name);
  }
  return wire;
}

}  // namespace pasta::dhcp
