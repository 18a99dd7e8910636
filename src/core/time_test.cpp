#include "core/time.h"

#include <ctime>

#include <gtest/gtest.h>

namespace mica {
namespace {

TEST(TimeTest, DaysFromCivilMatchesTimegmAcrossCenturies) {
  for (int year : {1950, 1969, 1970, 1999, 2000, 2038, 2049, 2050, 2100, 2400, 9999}) {
    for (unsigned month : {1u, 2u, 3u, 12u}) {
      std::tm tm{};
      tm.tm_year = year - 1900;
      tm.tm_mon = static_cast<int>(month) - 1;
      tm.tm_mday = month == 2 ? 28 : 31;
      EXPECT_EQ(DaysFromCivil(year, month, static_cast<unsigned>(tm.tm_mday)) * 86400,
                static_cast<std::int64_t>(::timegm(&tm)))
          << year << "-" << month;
    }
  }
}

TEST(TimeTest, FormatsRfc3339InUtc) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(2524607999), "2049-12-31T23:59:59Z");
}

TEST(TimeTest, ParsesRfc3339WithOffsetsAndDates) {
  EXPECT_EQ(*ParseRfc3339("2026-11-27T03:25:48Z"), 1795749948);
  EXPECT_EQ(*ParseRfc3339("2026-11-27T05:25:48+02:00"), 1795749948);
  EXPECT_EQ(*ParseRfc3339("2026-11-27T03:25:48.123Z"), 1795749948);
  EXPECT_EQ(*ParseRfc3339("2026-11-27"), 1795737600);
  for (const char* bad : {"", "2026", "2026-13-01", "2026-11-27T25:00:00Z", "2026-11-27T03:25:48",
                          "2026-11-27T03:25:48Zjunk", "yesterday"}) {
    auto r = ParseRfc3339(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(std::string("'") + bad + "'"), std::string::npos);
  }
}

TEST(TimeTest, ParsesDurations) {
  EXPECT_EQ(*ParseDurationSeconds("30d"), 30 * 86400);
  EXPECT_EQ(*ParseDurationSeconds("12h"), 12 * 3600);
  EXPECT_EQ(*ParseDurationSeconds("1d12h"), 36 * 3600);
  EXPECT_EQ(*ParseDurationSeconds("2w"), 14 * 86400);
  EXPECT_EQ(*ParseDurationMillis("250ms"), 250);
  EXPECT_EQ(*ParseDurationMillis("3s"), 3000);
  for (const char* bad : {"", "d", "30", "30x", "-5s", "1.5h", "99999999999999999999d"})
    EXPECT_FALSE(ParseDurationSeconds(bad).has_value()) << bad;
}

TEST(TimeTest, FixedClockIsSettable) {
  FixedClock c(100);
  EXPECT_EQ(c.Now(), 100);
  c.Set(200);
  EXPECT_EQ(c.Now(), 200);
}

}  // namespace
}  // namespace mica
