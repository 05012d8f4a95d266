#include "common/status.h"

#include <cerrno>

#include "gtest/gtest.h"

namespace pasta {
namespace {

TEST(ErrnoToStatusTest, MapsCodeAndMessage) {
  const absl::Status st = ErrnoToStatus(ENOENT, "opening /x");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "opening /x: No such file or directory");
  EXPECT_EQ(ErrnoToStatus(EPERM, "a").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(EINVAL, "a").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoToStatus(EEXIST, "a").code(),
            absl::StatusCode::kAlreadyExists);
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

absl::Status CheckQuarter(int x) {
  RETURN_IF_ERROR(Quarter(x).status());
  return absl::OkStatus();
}

TEST(MacrosTest, PropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_TRUE(CheckQuarter(4).ok());
  EXPECT_FALSE(CheckQuarter(2).ok());
}

}  // namespace
}  // namespace pasta
