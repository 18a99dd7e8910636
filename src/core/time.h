// Time as the project keeps it: seconds since the Unix epoch, always UTC.
//
// Clocks are passed in (see Clock) so that tests can move time without sleeping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace mica {

using UnixSeconds = std::int64_t;

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
// Valid for any year representable in int64; never consults the local time zone.
std::int64_t DaysFromCivil(std::int64_t year, unsigned month, unsigned day);

// "2026-11-27T03:25:48Z". Years outside 0..9999 are printed as they are.
std::string FormatRfc3339(UnixSeconds t);

// Accepts "2026-11-27T03:25:48Z", "2026-11-27T03:25:48+02:00", "2026-11-27" (midnight
// UTC), with optional fractional seconds (dropped).
[[nodiscard]] Result<UnixSeconds> ParseRfc3339(std::string_view text);

// "30d", "12h", "3s", "90m", "2w", "1d12h"; returns seconds. "250ms" rounds down to 0 s;
// use ParseDurationMillis where sub-second precision matters.
[[nodiscard]] Result<std::int64_t> ParseDurationSeconds(std::string_view text);
[[nodiscard]] Result<std::int64_t> ParseDurationMillis(std::string_view text);

// The current time. Production code takes a Clock& so tests can pass a fixed one.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixSeconds Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixSeconds Now() const override;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(UnixSeconds now) : now_(now) {}
  UnixSeconds Now() const override { return now_; }
  void Set(UnixSeconds now) { now_ = now; }

 private:
  UnixSeconds now_;
};

}  // namespace mica
