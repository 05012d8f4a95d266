#include "common/log.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace pasta::log {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogTest, LevelsFilterAndFileCaps) {
  char path[] = "/tmp/pasta-log-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  SetStderr(false);
  ASSERT_EQ(OpenFile(path, 64), 0);
  SetLevel(Level::kInfo);
  LOG_DEBUG("hidden %d", 1);
  LOG_INFO("shown %d", 2);
  EXPECT_EQ(ReadFile(path), "shown 2\n");
  // Past the cap the file starts again instead of growing.
  for (int i = 0; i < 20; ++i) LOG_WARN("line number %d", i);
  const std::string content = ReadFile(path);
  EXPECT_LE(content.size(), 64u);
  EXPECT_NE(content.find("line number 19\n"), std::string::npos);
  SetLevel(Level::kTrace);
  EXPECT_TRUE(Enabled(Level::kTrace));
  SetLevel(Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  SetStderr(true);
  unlink(path);
}

}  // namespace
}  // namespace pasta::log
