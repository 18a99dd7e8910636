// Logging: spdlog to stderr, text or JSON lines. Results never go through the logger.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace mica {

enum class LogFormat { kText, kJson };

// Configures the default spdlog logger. `level` is trace|debug|info|warn|error|off.
// Safe to call more than once; not thread-safe against concurrent logging.
void InitLogging(LogFormat format, std::string_view level);

}  // namespace mica
