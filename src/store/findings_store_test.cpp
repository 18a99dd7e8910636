// Store::SyncFindings and ListFindings on a real SQLite file: what opens, what is
// refreshed, what resolves, what is never duplicated, and which rules a check judges for
// the first time (docs/POLICY.md, "Stored findings").
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "raw_sqlite.h"
#include "fixtures.h"
#include "store/store.h"

namespace mica::store {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kT0 = 1'790'000'000;

FindingRecord Finding(std::string rule, std::string fingerprint, std::string location,
                      std::string evidence = "seen", std::string severity = "medium") {
  FindingRecord f;
  f.rule = std::move(rule);
  f.fingerprint = std::move(fingerprint);
  f.location = std::move(location);
  f.evidence = std::move(evidence);
  f.severity = std::move(severity);
  return f;
}

class FindingsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(path_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  FindingDelta Sync(const std::vector<std::string>& rules,
                    const std::vector<FindingRecord>& current, UnixSeconds now) {
    auto d = store_->SyncFindings(rules, current, now);
    EXPECT_TRUE(d) << d.error().message;
    return d ? *d : FindingDelta{};
  }

  std::vector<FindingRecord> All() {
    FindingFilter f;
    f.include_resolved = true;
    auto rows = store_->ListFindings(f);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : std::vector<FindingRecord>{};
  }

  // Raw SQL against the file, bypassing the store (set-up only).
  void RawExec(const std::string& sql) { mica::testing::RawExec(path_, sql); }

  mica::testing::TempDir dir_;  // declared first: removed after the store closes
  std::string path_ = dir_ / "mica.db";
  std::unique_ptr<Store> store_;
};

TEST_F(FindingsStoreTest, RefreshesChangedContentWithoutOpeningAgain) {
  const std::vector<FindingRecord> first = {
      Finding("cert-expired", "a1", "/srv/a.pem", "1 day ago"),
      Finding("san-missing", "a1", "/srv/a.pem")};
  auto d1 = Sync({}, first, kT0);
  ASSERT_EQ(d1.opened.size(), 2u);
  EXPECT_NE(d1.opened[0].id, d1.opened[1].id);
  EXPECT_EQ(d1.opened[0].opened_at, kT0);

  std::vector<FindingRecord> second = first;
  second[0].evidence = "2 days ago";
  second[0].severity = "critical";
  second[1].accepted_by = "alice";
  second[1].accepted_reason = "legacy device";
  second[1].accepted_until = kT0 + 86400 * 30;
  auto d2 = Sync({}, second, kT0 + 86400);
  EXPECT_TRUE(d2.opened.empty());
  EXPECT_TRUE(d2.resolved.empty());
  EXPECT_EQ(d2.still_open, 2);

  auto rows = All();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, d1.opened[0].id);  // the same rows, rewritten
  EXPECT_EQ(rows[0].evidence, "2 days ago");
  EXPECT_EQ(rows[0].severity, "critical");
  EXPECT_EQ(rows[0].opened_at, kT0);
  EXPECT_EQ(rows[0].last_seen_at, kT0 + 86400);
  EXPECT_EQ(rows[1].accepted_by, "alice");
  EXPECT_EQ(rows[1].accepted_reason, "legacy device");
  EXPECT_EQ(rows[1].accepted_until, kT0 + 86400 * 30);

  // The acceptance is withdrawn: that is a change too.
  second[1].accepted_by.clear();
  second[1].accepted_reason.clear();
  second[1].accepted_until = 0;
  Sync({}, second, kT0 + 2 * 86400);
  rows = All();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].accepted_by, "");
  EXPECT_EQ(rows[1].accepted_until, 0);
}

TEST_F(FindingsStoreTest, ReportedTwiceInOneCheckOpensOnceWithTheFirst) {
  auto d = Sync(
      {},
      {Finding("spki-reused", "c1", "/a", "first"), Finding("spki-reused", "c1", "/a", "second"),
       Finding("spki-reused", "c1", "/b", "other place")},
      kT0);
  ASSERT_EQ(d.opened.size(), 2u);
  EXPECT_EQ(d.opened[0].evidence, "first");
  EXPECT_EQ(d.opened[1].location, "/b");
  auto again = Sync(
      {},
      {Finding("spki-reused", "c1", "/a", "first"), Finding("spki-reused", "c1", "/a", "first"),
       Finding("spki-reused", "c1", "/b", "other place")},
      kT0 + 60);
  EXPECT_TRUE(again.opened.empty());
  EXPECT_EQ(again.still_open, 2);
  EXPECT_EQ(All().size(), 2u);
}

TEST_F(FindingsStoreTest, ResolvesWhatIsNoLongerReportedAndOpensItAgainAsANewRow) {
  const FindingRecord a = Finding("cert-expired", "a1", "/srv/a.pem");
  const FindingRecord b = Finding("cert-expired", "b1", "/srv/b.pem");
  Sync({"cert-expired"}, {a, b}, kT0);
  Sync({"cert-expired"}, {a, b}, kT0 + 60);
  auto gone = Sync({"cert-expired"}, {a}, kT0 + 120);
  ASSERT_EQ(gone.resolved.size(), 1u);
  EXPECT_EQ(gone.resolved[0].fingerprint, "b1");
  EXPECT_EQ(gone.resolved[0].resolved_at, kT0 + 120);
  EXPECT_EQ(gone.resolved[0].last_seen_at, kT0 + 60);  // the last check that reported it
  EXPECT_EQ(gone.still_open, 1);

  auto back = Sync({"cert-expired"}, {a, b}, kT0 + 180);
  ASSERT_EQ(back.opened.size(), 1u);
  EXPECT_EQ(back.opened[0].fingerprint, "b1");
  EXPECT_NE(back.opened[0].id, gone.resolved[0].id);
  auto rows = All();
  ASSERT_EQ(rows.size(), 3u);  // a, b resolved, b open again
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                          [](const FindingRecord& f) { return f.resolved_at == 0; }),
            2);

  // A check of other rules leaves these alone.
  auto other = Sync({"person-at-risk"}, {}, kT0 + 240);
  EXPECT_TRUE(other.resolved.empty());
  EXPECT_EQ(All().size(), 3u);
}

TEST_F(FindingsStoreTest, FirstCheckedNamesTheRulesNeverJudgedBefore) {
  auto d1 = Sync({"cert-expired", "san-missing"}, {Finding("cert-expired", "a1", "/a")}, kT0);
  EXPECT_EQ(d1.first_checked, (std::vector<std::string>{"cert-expired", "san-missing"}));
  // san-missing had no finding, but it was checked: a later finding of it is news.
  auto d2 =
      Sync({"cert-expired", "san-missing"},
           {Finding("cert-expired", "a1", "/a"), Finding("san-missing", "a1", "/a")}, kT0 + 60);
  EXPECT_TRUE(d2.first_checked.empty());
  EXPECT_EQ(d2.opened.size(), 1u);
  // Without a rule list, the rules reported are the ones covered.
  auto d3 = Sync({},
                 {Finding("cert-expired", "a1", "/a"), Finding("san-missing", "a1", "/a"),
                  Finding("no-owner", "a1", "/a")},
                 kT0 + 120);
  EXPECT_EQ(d3.first_checked, (std::vector<std::string>{"no-owner"}));
}

TEST_F(FindingsStoreTest, ARuleWithStoredFindingsButNoCheckRowIsNotJudgedFirst) {
  // A database from before finding_check (schema 6) can hold only resolved findings of a
  // rule and no check row for it.
  Sync({"cert-expired"}, {Finding("cert-expired", "a1", "/a")}, kT0);
  Sync({"cert-expired"}, {}, kT0 + 60);
  store_.reset();
  RawExec("DELETE FROM finding_check");
  auto s = Store::Open(path_);
  ASSERT_TRUE(s) << s.error().message;
  store_ = std::move(*s);
  auto d = Sync({"cert-expired"}, {Finding("cert-expired", "a1", "/a")}, kT0 + 120);
  EXPECT_TRUE(d.first_checked.empty());
  EXPECT_EQ(d.opened.size(), 1u);
}

}  // namespace
}  // namespace mica::store
