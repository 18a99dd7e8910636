#include "watch/schedule.h"

#include <charconv>
#include <ctime>
#include <vector>

namespace mica::watch {

namespace {

struct Field {
  const char* name;
  int lo, hi;
};

Result<int> Number(std::string_view s, const Field& f) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return Fail(ErrorCode::kInvalidArgument,
                std::string(f.name) + ": '" + std::string(s) + "' is not a number");
  if (v < f.lo || v > f.hi)
    return Fail(ErrorCode::kInvalidArgument, std::string(f.name) + ": " + std::to_string(v) +
                                                 " is outside " + std::to_string(f.lo) + "-" +
                                                 std::to_string(f.hi));
  return v;
}

// Sets the bits of `field` text in `bits`; `any` is true for a bare "*".
template <std::size_t N>
Status ParseField(std::string_view text, const Field& f, std::bitset<N>& bits, bool& any) {
  any = text == "*";
  if (text.empty()) return Fail(ErrorCode::kInvalidArgument, std::string(f.name) + " is empty");
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty())
      return Fail(ErrorCode::kInvalidArgument, std::string(f.name) + " ends with ','");
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      auto s = Number(item.substr(slash + 1), Field{f.name, 1, f.hi});
      if (!s) return tl::unexpected(s.error());
      step = *s;
      item = item.substr(0, slash);
    }
    int from = f.lo, to = f.hi;
    if (item != "*") {
      const auto dash = item.find('-');
      auto a = Number(item.substr(0, dash), f);
      if (!a) return tl::unexpected(a.error());
      from = to = *a;
      if (dash != std::string_view::npos) {
        auto b = Number(item.substr(dash + 1), f);
        if (!b) return tl::unexpected(b.error());
        to = *b;
        if (to < from)
          return Fail(ErrorCode::kInvalidArgument,
                      std::string(f.name) + ": range " + std::string(item) + " runs backwards");
      }
    }
    for (int v = from; v <= to; v += step) bits.set(static_cast<std::size_t>(v));
  }
  return {};
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < expression.size()) {
    while (i < expression.size() && expression[i] == ' ') ++i;
    std::size_t j = i;
    while (j < expression.size() && expression[j] != ' ') ++j;
    if (j > i) parts.push_back(expression.substr(i, j - i));
    i = j;
  }
  if (parts.size() != 5)
    return Fail(ErrorCode::kInvalidArgument,
                "cron expression '" + std::string(expression) + "' has " +
                    std::to_string(parts.size()) +
                    " fields; expected 5 (minute hour day-of-month month day-of-week)");
  CronSchedule c;
  bool any = false;
  if (auto s = ParseField(parts[0], {"minute", 0, 59}, c.minute_, any); !s) return tl::unexpected(s.error());
  if (auto s = ParseField(parts[1], {"hour", 0, 23}, c.hour_, any); !s) return tl::unexpected(s.error());
  if (auto s = ParseField(parts[2], {"day-of-month", 1, 31}, c.dom_, c.dom_any_); !s)
    return tl::unexpected(s.error());
  if (auto s = ParseField(parts[3], {"month", 1, 12}, c.month_, any); !s) return tl::unexpected(s.error());
  if (auto s = ParseField(parts[4], {"day-of-week", 0, 7}, c.dow_, c.dow_any_); !s)
    return tl::unexpected(s.error());
  if (c.dow_[7]) c.dow_.set(0);
  return c;
}

UnixSeconds CronSchedule::Next(UnixSeconds t) const {
  UnixSeconds m = (t / 60 + 1) * 60;  // the next whole minute
  const UnixSeconds limit = t + 4LL * 366 * 86400;
  while (m <= limit) {
    const std::time_t tt = static_cast<std::time_t>(m);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    if (!month_[static_cast<std::size_t>(tm.tm_mon + 1)]) {
      // Skip to the first day of the next month.
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      m = static_cast<UnixSeconds>(::timegm(&tm));
      continue;
    }
    const bool dom = dom_[static_cast<std::size_t>(tm.tm_mday)];
    const bool dow = dow_[static_cast<std::size_t>(tm.tm_wday)];
    const bool day = dom_any_ && dow_any_ ? true
                     : dom_any_           ? dow
                     : dow_any_           ? dom
                                          : dom || dow;
    if (!day) {
      m += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60);
      continue;
    }
    if (!hour_[static_cast<std::size_t>(tm.tm_hour)]) {
      m += 3600 - tm.tm_min * 60;
      continue;
    }
    if (minute_[static_cast<std::size_t>(tm.tm_min)]) return m;
    m += 60;
  }
  return 0;
}

UnixSeconds Schedule::NextRun(UnixSeconds last, UnixSeconds now) const {
  if (every > 0) return last == 0 ? now : last + every;
  // A cron job that never ran waits for its first matching minute; one that missed runs
  // while mica was down runs once, not once per missed slot.
  if (last == 0) return cron.Next(now - 1) <= now ? now : cron.Next(now);
  const UnixSeconds next = cron.Next(last);
  return next != 0 && next <= now ? now : next;
}

}  // namespace mica::watch
