// Helpers for the netlink tests: hex captures to bytes, walking a dump, and a
// small writer for hand-made messages that does not share code with the
// builders under test.
#pragma once

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "netlink/socket.h"

namespace pasta::netlink::testing {

inline std::vector<uint8_t> HexBytes(const char* hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; hex[i] != '\0' && hex[i + 1] != '\0'; i += 2)
    out.push_back(
        static_cast<uint8_t>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  return out;
}

// The data messages of a captured dump (sequence number 1), as copies.
inline std::vector<std::vector<uint8_t>> Messages(
    const std::vector<uint8_t>& dump, uint32_t seq = 1) {
  std::vector<std::vector<uint8_t>> out;
  ReplyState st;
  ProcessReplies(
      dump, seq,
      [&](const nlmsghdr* nlh) {
        const auto* p = reinterpret_cast<const uint8_t*>(nlh);
        out.emplace_back(p, p + nlh->nlmsg_len);
      },
      &st);
  return out;
}

inline const nlmsghdr* Hdr(const std::vector<uint8_t>& msg) {
  return reinterpret_cast<const nlmsghdr*>(msg.data());
}

inline IpAddr Ip(const char* text) { return *ParseIp(text); }

// Builds one netlink message; nlmsg_len follows every append.
class MsgWriter {
 public:
  explicit MsgWriter(uint16_t type, uint16_t flags = 0, uint32_t seq = 1) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    Raw(&h, sizeof(h));
  }
  template <typename T>
  MsgWriter& Fixed(const T& fixed) {
    return Raw(&fixed, sizeof(fixed));
  }
  MsgWriter& Attr(uint16_t type, const void* data, size_t len) {
    nlattr a{};
    a.nla_type = type;
    a.nla_len = static_cast<uint16_t>(sizeof(a) + len);
    Raw(&a, sizeof(a));
    return Raw(data, len);
  }
  MsgWriter& Attr(uint16_t type, const std::vector<uint8_t>& data) {
    return Attr(type, data.data(), data.size());
  }
  MsgWriter& U32(uint16_t type, uint32_t v) { return Attr(type, &v, 4); }
  MsgWriter& Addr(uint16_t type, const char* text) {
    IpAddr ip = Ip(text);
    return Attr(type, ip.bytes.data(), ip.size());
  }
  // Appends raw bytes, padded to 4.
  MsgWriter& Raw(const void* data, size_t len) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + len);
    while (bytes_.size() % 4) bytes_.push_back(0);
    const uint32_t total = static_cast<uint32_t>(bytes_.size());
    std::memcpy(bytes_.data(), &total, 4);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  const nlmsghdr* hdr() const {
    return reinterpret_cast<const nlmsghdr*>(bytes_.data());
  }

 private:
  std::vector<uint8_t> bytes_;
};

// The payload of RTA_MULTIPATH: rtnexthop entries each with RTA_GATEWAY.
struct HandNexthop {
  int ifindex;
  const char* gateway;  // nullptr: none
  uint8_t flags = 0;
  uint8_t hops = 0;
};
inline std::vector<uint8_t> MultipathPayload(
    const std::vector<HandNexthop>& hops) {
  std::vector<uint8_t> out;
  for (const HandNexthop& h : hops) {
    std::vector<uint8_t> entry(sizeof(rtnexthop));
    if (h.gateway != nullptr) {
      const IpAddr gw = Ip(h.gateway);
      nlattr a{};
      a.nla_type = RTA_GATEWAY;
      a.nla_len = static_cast<uint16_t>(sizeof(a) + gw.size());
      const auto* ap = reinterpret_cast<const uint8_t*>(&a);
      entry.insert(entry.end(), ap, ap + sizeof(a));
      entry.insert(entry.end(), gw.bytes.begin(),
                   gw.bytes.begin() + static_cast<long>(gw.size()));
    }
    rtnexthop rtnh{};
    rtnh.rtnh_len = static_cast<unsigned short>(entry.size());
    rtnh.rtnh_flags = h.flags;
    rtnh.rtnh_hops = h.hops;
    rtnh.rtnh_ifindex = h.ifindex;
    std::memcpy(entry.data(), &rtnh, sizeof(rtnh));
    out.insert(out.end(), entry.begin(), entry.end());
  }
  return out;
}

inline rtmsg Rtm(int family, uint8_t dst_len, uint8_t table = RT_TABLE_MAIN,
                 uint8_t type = RTN_UNICAST, uint32_t flags = 0) {
  rtmsg r{};
  r.rtm_family = static_cast<uint8_t>(family);
  r.rtm_dst_len = dst_len;
  r.rtm_table = table;
  r.rtm_protocol = RTPROT_BOOT;
  r.rtm_scope = RT_SCOPE_UNIVERSE;
  r.rtm_type = type;
  r.rtm_flags = flags;
  return r;
}

}  // namespace pasta::netlink::testing
