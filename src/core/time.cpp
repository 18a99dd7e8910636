#include "core/time.h"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace mica {

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool ReadDigits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::string FormatRfc3339(UnixSeconds t) {
  std::int64_t days = t / 86400;
  std::int64_t rem = t % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m,
                d, static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

Result<UnixSeconds> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "time '" + std::string(s) +
                    "' is not RFC 3339 (expected e.g. 2026-11-27T03:25:48Z or 2026-11-27)");
  };
  int year, mon, day, hh = 0, mm = 0, ss = 0;
  if (!ReadDigits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !ReadDigits(s, 5, 2, mon) ||
      s[7] != '-' || !ReadDigits(s, 8, 2, day))
    return bad();
  if (mon < 1 || mon > 12 || day < 1 || day > 31) return bad();
  std::int64_t offset = 0;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !ReadDigits(s, 11, 2, hh) ||
        s.size() < 19 || s[13] != ':' || !ReadDigits(s, 14, 2, mm) || s[16] != ':' ||
        !ReadDigits(s, 17, 2, ss))
      return bad();
    if (hh > 23 || mm > 59 || ss > 60) return bad();
    size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    }
    if (pos >= s.size()) return bad();
    if (s[pos] == 'Z' || s[pos] == 'z') {
      if (pos + 1 != s.size()) return bad();
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (s.size() != pos + 6 || !ReadDigits(s, pos + 1, 2, oh) || s[pos + 3] != ':' ||
          !ReadDigits(s, pos + 4, 2, om))
        return bad();
      offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    } else {
      return bad();
    }
  }
  return DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 +
         hh * 3600 + mm * 60 + ss - offset;
}

Result<std::int64_t> ParseDurationMillis(std::string_view s) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "duration '" + std::string(s) +
                    "' is not valid (expected a number and a unit: 250ms, 3s, 90m, 12h, 30d, 2w)");
  };
  if (s.empty()) return bad();
  std::int64_t total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), n);
    if (ec != std::errc() || n < 0) return bad();
    pos = static_cast<size_t>(p - s.data());
    std::int64_t unit;
    if (s.substr(pos, 2) == "ms") {
      unit = 1;
      pos += 2;
    } else if (pos < s.size()) {
      switch (s[pos]) {
        case 's': unit = 1000; break;
        case 'm': unit = 60'000; break;
        case 'h': unit = 3'600'000; break;
        case 'd': unit = 86'400'000; break;
        case 'w': unit = 7 * 86'400'000LL; break;
        default: return bad();
      }
      ++pos;
    } else {
      return bad();
    }
    if (n > (INT64_MAX / 2 - total) / unit) return bad();
    total += n * unit;
  }
  return total;
}

Result<std::int64_t> ParseDurationSeconds(std::string_view s) {
  auto ms = ParseDurationMillis(s);
  if (!ms) return tl::unexpected(ms.error());
  return *ms / 1000;
}

UnixSeconds SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mica
