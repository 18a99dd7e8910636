#include "watch/schedule.h"

#include <gtest/gtest.h>

namespace mica::watch {
namespace {

UnixSeconds At(const char* rfc3339) { return ParseRfc3339(rfc3339).value(); }

TEST(CronTest, EveryFiveMinutes) {
  auto c = CronSchedule::Parse("*/5 * * * *");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Next(At("2026-11-27T06:02:10Z")), At("2026-11-27T06:05:00Z"));
  EXPECT_EQ(c->Next(At("2026-11-27T06:05:00Z")), At("2026-11-27T06:10:00Z"));
}

TEST(CronTest, DailyAtTimeCrossesMonthAndYear) {
  auto c = CronSchedule::Parse("30 2 * * *");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Next(At("2026-12-31T03:00:00Z")), At("2027-01-01T02:30:00Z"));
}

TEST(CronTest, DayOfWeekAndMonthEitherMatches) {
  // 1st of the month or any Monday, at 09:00.
  auto c = CronSchedule::Parse("0 9 1 * 1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Next(At("2026-11-27T10:00:00Z")), At("2026-11-30T09:00:00Z"));  // Monday
  EXPECT_EQ(c->Next(At("2026-11-30T10:00:00Z")), At("2026-12-01T09:00:00Z"));  // the 1st
  auto sunday = CronSchedule::Parse("0 0 * * 7");
  ASSERT_TRUE(sunday);
  EXPECT_EQ(sunday->Next(At("2026-11-27T00:00:00Z")), At("2026-11-29T00:00:00Z"));
}

TEST(CronTest, RangesListsAndMonths) {
  auto c = CronSchedule::Parse("0 8-10/2,23 * 3 *");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Next(At("2026-11-27T00:00:00Z")), At("2027-03-01T08:00:00Z"));
  EXPECT_EQ(c->Next(At("2027-03-01T08:00:00Z")), At("2027-03-01T10:00:00Z"));
  EXPECT_EQ(c->Next(At("2027-03-01T10:00:00Z")), At("2027-03-01T23:00:00Z"));
}

TEST(CronTest, ImpossibleDateNeverMatchesAndEnds) {
  auto c = CronSchedule::Parse("0 0 30 2 *");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Next(At("2026-11-27T00:00:00Z")), 0);
}

TEST(CronTest, MalformedExpressionsNameTheField) {
  for (const char* bad : {"* * * *", "61 * * * *", "* 24 * * *", "* * 0 * *", "*/0 * * * *",
                          "5-1 * * * *", "a * * * *", "1, * * * *", "* * * 13 *"}) {
    auto c = CronSchedule::Parse(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_FALSE(c.error().message.empty());
  }
  EXPECT_NE(CronSchedule::Parse("* 24 * * *").error().message.find("hour"), std::string::npos);
}

TEST(ScheduleTest, IntervalRunsImmediatelyThenEveryPeriod) {
  Schedule s;
  s.every = 600;
  EXPECT_EQ(s.NextRun(0, 1000), 1000);
  EXPECT_EQ(s.NextRun(1000, 1200), 1600);
}

TEST(ScheduleTest, MissedCronSlotsRunOnce) {
  Schedule s;
  s.cron = CronSchedule::Parse("0 * * * *").value();
  const UnixSeconds last = At("2026-11-27T01:00:00Z");
  const UnixSeconds now = At("2026-11-27T05:30:00Z");
  EXPECT_EQ(s.NextRun(last, now), now);
  EXPECT_EQ(s.NextRun(At("2026-11-27T05:00:00Z"), now), At("2026-11-27T06:00:00Z"));
}

}  // namespace
}  // namespace mica::watch
