// Captures what the code under test logs, to compare log lines byte for
// byte: while alive, lines at `level` and above go to a temporary file
// instead of stderr.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "common/log.h"
#include "gtest/gtest.h"

namespace pasta::fwd {

class LogCapture {
 public:
  explicit LogCapture(log::Level level) {
    const int fd = mkstemp(path_);
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(fd);
    log::SetStderr(false);
    EXPECT_EQ(log::OpenFile(path_, 1 << 20), 0);
    log::SetLevel(level);
  }
  ~LogCapture() {
    log::SetLevel(log::Level::kInfo);
    log::SetStderr(true);
    unlink(path_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Returns everything logged so far, one line per "\n".
  std::string Text() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  char path_[32] = "/tmp/pasta-fwd-log-XXXXXX";
};

}  // namespace pasta::fwd
