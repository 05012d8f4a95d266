// Logging: levels error/warn/info/debug/trace, to stderr, a file (-l, with a
// size cap) and/or syslog (once in the background, as upstream).
//
// Use the LOG_* helpers: the level check comes first, so a disabled trace line
// costs one comparison and formats nothing. Formatting allocates, which is
// acceptable because trace output is a debugging mode.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"

namespace pasta::log {

enum class Level { kError = 0, kWarn, kInfo, kDebug, kTrace };

// The active threshold; lines above it are dropped. Default kInfo.
extern Level g_level;

inline bool Enabled(Level level) { return level <= g_level; }

// Sink set-up. Stderr is on by default; the others start off.
void SetLevel(Level level);
void SetStderr(bool on);
// Opens (creates/truncates) `path` for logging, capped at `max_size` bytes:
// when a line would pass the cap the file is cut back to empty. Returns an
// errno value, or 0.
int OpenFile(const std::string& path, size_t max_size);
void SetSyslog(bool on);
// Prefix every line with seconds since start (upstream does this in debug).
void SetTimestamps(bool on);

// Writes one line (no trailing newline needed) to every enabled sink.
void Write(Level level, std::string_view line);

}  // namespace pasta::log

#define PASTA_LOG_(level, ...)                                    \
  do {                                                            \
    if (::pasta::log::Enabled(level))                             \
      ::pasta::log::Write(level, ::absl::StrFormat(__VA_ARGS__)); \
  } while (0)

#define LOG_ERROR(...) PASTA_LOG_(::pasta::log::Level::kError, __VA_ARGS__)
#define LOG_WARN(...) PASTA_LOG_(::pasta::log::Level::kWarn, __VA_ARGS__)
#define LOG_INFO(...) PASTA_LOG_(::pasta::log::Level::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) PASTA_LOG_(::pasta::log::Level::kDebug, __VA_ARGS__)
#define LOG_TRACE(...) PASTA_LOG_(::pasta::log::Level::kTrace, __VA_ARGS__)
