#include "core/log.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace mica {
namespace {

// Captures what is written to stderr while `fn` runs.
template <class Fn>
std::string CaptureStderr(Fn fn) {
  std::fflush(stderr);
  char path[] = "/tmp/mica-log-test-XXXXXX";
  int fd = ::mkstemp(path);
  int saved = ::dup(2);
  ::dup2(fd, 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  ::unlink(path);
  return ss.str();
}

TEST(LogTest, JsonLinesEscapeTheMessage) {
  std::string out = CaptureStderr([] {
    InitLogging(LogFormat::kJson, "info");
    spdlog::warn("cannot read {}: {}", "/tmp/a \"quoted\"\\path\n", "denied");
    spdlog::debug("hidden below the level");
  });
  auto line = nlohmann::json::parse(out);  // exactly one JSON document
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["msg"], "cannot read /tmp/a \"quoted\"\\path\n: denied");
  EXPECT_EQ(line["time"].get<std::string>().back(), 'Z');
}

TEST(LogTest, TextLinesCarryLevelAndMessage) {
  std::string out = CaptureStderr([] {
    InitLogging(LogFormat::kText, "warn");
    spdlog::error("scan failed");
    spdlog::info("not shown");
  });
  EXPECT_NE(out.find("error: scan failed"), std::string::npos) << out;
  EXPECT_EQ(out.find("not shown"), std::string::npos);
}

}  // namespace
}  // namespace mica
