#include "ns/clone_helper.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>

#include "common/fd.h"
#include "gtest/gtest.h"

namespace pasta::ns {
namespace {

// The SIGBUS upstream hit on aarch64 came from a stack top that was not a
// multiple of 16. Check the rounding for a buffer starting at every offset
// 0..15 and for sizes that are not multiples of 16.
TEST(StackTopTest, AlignedForEveryOffsetAndSize) {
  alignas(64) static unsigned char buf[4096 + 64];
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t size :
         {size_t{1024}, size_t{1023}, size_t{1031}, size_t{4095}}) {
      unsigned char* base = buf + offset;
      auto top = reinterpret_cast<uintptr_t>(StackTop(base, size));
      const auto begin = reinterpret_cast<uintptr_t>(base);
      EXPECT_EQ(top % kStackAlign, 0u)
          << "offset " << offset << " size " << size;
      // Inside the buffer, and at most 15 bytes below its end.
      EXPECT_LE(top, begin + size);
      EXPECT_GT(top + kStackAlign, begin + size);
      EXPECT_GT(top, begin);
    }
  }
}

TEST(StackTopTest, AlreadyAlignedTopIsKept) {
  alignas(16) static unsigned char buf[256];
  EXPECT_EQ(StackTop(buf, sizeof(buf)), buf + sizeof(buf));
}

// The helper runs the function with our memory: a value it writes is seen
// here, and a descriptor it opens is in our table afterwards.
TEST(RunInNamespaceTest, RunsWithSharedMemoryAndFiles) {
  int seen_pid = 0;
  int fd = -1;
  const absl::Status st = RunInNamespace(NsFds{}, [&] {
    seen_pid = getpid();
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_NE(seen_pid, 0);
  EXPECT_NE(seen_pid, getpid());  // it really ran in another process
  ASSERT_GE(fd, 0);
  UniqueFd owned(fd);
  struct stat sb;
  EXPECT_EQ(fstat(fd, &sb), 0);  // valid in our table
  EXPECT_TRUE(S_ISCHR(sb.st_mode));
}

TEST(RunInNamespaceTest, PropagatesTheFunctionsError) {
  const absl::Status st = RunInNamespace(
      NsFds{}, [] { return absl::NotFoundError("no tap here"); });
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "no tap here");
}

// The helper's stack pointer, as seen from a local variable in the helper,
// lies inside our static stack and functions run normally with deep frames.
TEST(RunInNamespaceTest, UsesAnAlignedStackThatHoldsRealWork) {
  uintptr_t local_addr = 0;
  uint64_t sum = 0;
  const absl::Status st = RunInNamespace(NsFds{}, [&] {
    volatile unsigned char scratch[64 * 1024];
    for (size_t i = 0; i < sizeof(scratch); ++i)
      scratch[i] = static_cast<unsigned char>(i);
    for (size_t i = 0; i < sizeof(scratch); ++i) sum += scratch[i];
    local_addr = reinterpret_cast<uintptr_t>(&scratch[0]);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(sum, 255u * 256u / 2u * (64u * 1024u / 256u));
  EXPECT_NE(local_addr, 0u);
}

TEST(RunInNamespaceTest, JoiningANonNamespaceFdFails) {
  UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  bool ran = false;
  const absl::Status st = RunInNamespace(NsFds{-1, null.get()}, [&] {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(ran);
  EXPECT_NE(std::string(st.message()).find("network namespace"),
            std::string::npos);
}

}  // namespace
}  // namespace pasta::ns
