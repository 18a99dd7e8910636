// libFuzzer entry point for the cron parser of [[watch.job]] and the schedule search:
// any text either parses (and Next stays bounded and moves forward) or is an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "watch/schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cron = mica::watch::CronSchedule::Parse(text);
  if (!cron) return 0;
  const mica::UnixSeconds t = 1'800'000'000;
  const mica::UnixSeconds next = cron->Next(t);
  if (next != 0 && next <= t) std::abort();  // must move forward
  return 0;
}
