#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace mica {

void InitLogging(LogFormat format, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("mica_stderr_" + std::to_string(reinterpret_cast<uintptr_t>(&format)));
  spdlog::set_default_logger(logger);
  if (format == LogFormat::kJson) {
    // Values are not JSON-escaped by spdlog; messages are written without quotes or
    // backslashes by the callers that use JSON logs (paths go through %v unescaped is a
    // known limitation documented in docs/CLI.md).
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%SZ %l: %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace mica
