// When `mica watch` runs a job: every N seconds, or on a five-field cron expression
// (minute hour day-of-month month day-of-week, UTC; `*`, `a`, `a-b`, `*/n`, `a-b/n` and
// comma lists; day-of-week 0-7 with 0 and 7 Sunday; when both day fields are restricted
// a day matching either runs, as in Vixie cron).
//
// Value types, pure functions (time passed in); thread-safe.
#pragma once

#include <bitset>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/time.h"

namespace mica::watch {

class CronSchedule {
 public:
  // kInvalidArgument naming the field and the reason for a malformed expression.
  [[nodiscard]] static Result<CronSchedule> Parse(std::string_view expression);
  // The first minute strictly after `t` that matches; searches at most 4 years ahead
  // (an expression like "0 0 30 2 *" never matches: returns 0).
  UnixSeconds Next(UnixSeconds t) const;

 private:
  std::bitset<60> minute_;
  std::bitset<24> hour_;
  std::bitset<32> dom_;
  std::bitset<13> month_;
  std::bitset<8> dow_;
  bool dom_any_ = true, dow_any_ = true;
};

// A job's schedule: a fixed interval or a cron expression.
struct Schedule {
  std::int64_t every = 0;  // seconds; 0: use cron
  CronSchedule cron;
  // The next run after a run that started at `last` (0: never ran) seen at `now`.
  UnixSeconds NextRun(UnixSeconds last, UnixSeconds now) const;
};

}  // namespace mica::watch
