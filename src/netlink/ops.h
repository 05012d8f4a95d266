// Named read operations on an open NlSocket, shared by the template reader,
// ConfigureTap and the public read-back helpers. Each allocates its result
// and blocks on netlink; dumps interrupted by a concurrent change
// (NLM_F_DUMP_INTR) are redone a few times.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "netlink/netlink.h"
#include "netlink/socket.h"

namespace pasta::netlink {

// Every route of `family` the kernel returns, parsed, unfiltered. The request
// asks for the main table (and RTA_OIF if ifindex > 0), which only strict
// checking honours: callers must filter.
absl::StatusOr<std::vector<Route>> DumpRoutesOn(NlSocket& sock, int family,
                                                int ifindex);

// Addresses of `family` (AF_UNSPEC: both) on `ifindex` (0: all), filtered in
// our code whatever the kernel honoured.
absl::StatusOr<std::vector<Address>> DumpAddrsOn(NlSocket& sock, int family,
                                                 int ifindex);

// The link by name or index; NotFound ("interface NAME: no such interface")
// if it does not exist.
absl::StatusOr<LinkInfo> GetLinkOn(NlSocket& sock, const std::string& ifname);
absl::StatusOr<LinkInfo> GetLinkOn(NlSocket& sock, int ifindex);

}  // namespace pasta::netlink
