// The alert outbox: routing once per event and sink, the cursor, idempotency keys,
// retry / give-up bookkeeping and digest keys (store.h "The alert outbox").
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "fixtures.h"
#include "store/store.h"

namespace mica::store {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kT0 = 1'700'000'000;

Event MakeEvent(const std::string& type, const std::string& severity, const std::string& owner,
                const std::string& after) {
  Event e;
  e.at = kT0;
  e.type = type;
  e.severity = severity;
  e.location = "/etc/ssl/" + after + ".pem";
  e.after = after;
  e.owner = owner;
  e.detail = type + " at " + e.location;
  return e;
}

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(path_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  std::vector<std::int64_t> Append(const std::vector<Event>& events) {
    auto ids = store_->AppendEvents(events);
    EXPECT_TRUE(ids) << ids.error().message;
    return ids ? *ids : std::vector<std::int64_t>{};
  }
  std::int64_t Route(const std::string& sink, const AlertRoute& route, UnixSeconds now) {
    auto n = store_->RouteAlerts(sink, route, now);
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : -1;
  }
  std::vector<AlertRow> Due(const std::string& sink, UnixSeconds now, int limit = 0) {
    auto rows = store_->DueAlerts(sink, now, limit);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : std::vector<AlertRow>{};
  }

  static std::optional<std::string> All(const Event&) { return std::string(); }

  mica::testing::TempDir dir_;  // declared first: removed after the store closes
  std::string path_ = dir_ / "mica.db";
  std::unique_ptr<Store> store_;
};

TEST_F(OutboxTest, RoutesEachEventToASinkOnceAndAdvancesTheCursor) {
  Append({MakeEvent("identity_added", "info", "", "a"), MakeEvent("identity_removed", "low", "", "b")});
  EXPECT_EQ(Route("hook", All, kT0), 2);
  // A second run finds nothing new: the cursor moved past both events.
  EXPECT_EQ(Route("hook", All, kT0 + 1), 0);
  Append({MakeEvent("issuer_changed", "high", "", "c")});
  EXPECT_EQ(Route("hook", All, kT0 + 2), 1);
  // Another sink has its own cursor and sees all three.
  EXPECT_EQ(Route("mail", All, kT0 + 3), 3);
  // The cursor and the rows survive reopening the database.
  Reopen();
  EXPECT_EQ(Route("hook", All, kT0 + 4), 0);
  auto rows = store_->ListAlerts({});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 6u);  // three for each sink
  EXPECT_EQ((*rows)[0].event.type, "identity_added");
  EXPECT_EQ((*rows)[0].event.after, "a");
  EXPECT_EQ((*rows)[0].created_at, kT0);
  EXPECT_EQ((*rows)[0].next_attempt_at, kT0);
  EXPECT_EQ((*rows)[2].event.type, "issuer_changed");
}

TEST_F(OutboxTest, EventsTheRouteRejectsAreSkippedForGood) {
  Append({MakeEvent("identity_added", "info", "", "a"), MakeEvent("issuer_changed", "high", "", "b")});
  auto high_only = [](const Event& e) -> std::optional<std::string> {
    if (e.severity == "high") return std::string();
    return std::nullopt;
  };
  EXPECT_EQ(Route("pager", high_only, kT0), 1);
  // A later, laxer route does not revisit events the cursor passed.
  EXPECT_EQ(Route("pager", All, kT0 + 1), 0);
  auto due = Due("pager", kT0);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event.type, "issuer_changed");
}

TEST_F(OutboxTest, IdempotencyKeysAreUniquePerEventAndSinkAndStable) {
  Append({MakeEvent("identity_added", "info", "", "a"), MakeEvent("identity_added", "info", "", "b")});
  ASSERT_EQ(Route("hook", All, kT0), 2);
  ASSERT_EQ(Route("mail", All, kT0), 2);
  auto rows = store_->ListAlerts({});
  ASSERT_TRUE(rows);
  std::set<std::string> keys;
  for (const auto& r : *rows) {
    EXPECT_FALSE(r.idempotency_key.empty());
    keys.insert(r.idempotency_key);
  }
  EXPECT_EQ(keys.size(), 4u);
  // Routing the same events again (a cursor reset by hand) adds no row: the key is a
  // function of sink and event, and the column is UNIQUE.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(::sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(::sqlite3_exec(db, "UPDATE alert_cursor SET last_event_id = 0", nullptr, nullptr,
                             nullptr),
              SQLITE_OK);
    ::sqlite3_close(db);
  }
  EXPECT_EQ(Route("hook", All, kT0 + 5), 0);
  auto again = store_->ListAlerts({.sink = "hook", .pending_only = false, .limit = 0});
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].idempotency_key, (*rows)[0].idempotency_key);
}

TEST_F(OutboxTest, RetryMovesTheAlertOutOfTheDueSetUntilItsTime) {
  Append({MakeEvent("identity_added", "info", "", "a"), MakeEvent("identity_added", "info", "", "b")});
  ASSERT_EQ(Route("hook", All, kT0), 2);
  auto due = Due("hook", kT0);
  ASSERT_EQ(due.size(), 2u);
  ASSERT_TRUE(store_->MarkRetry(due[0].id, kT0 + 60, "connection refused"));
  // Not due before its time, due at it; the other alert is due throughout.
  auto before = Due("hook", kT0 + 59);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].id, due[1].id);
  auto at = Due("hook", kT0 + 60);
  ASSERT_EQ(at.size(), 2u);
  // Oldest due first: the untouched alert (due at kT0) before the retried one.
  EXPECT_EQ(at[0].id, due[1].id);
  EXPECT_EQ(at[1].id, due[0].id);
  EXPECT_EQ(at[1].attempts, 1);
  EXPECT_EQ(at[1].last_error, "connection refused");
  // The limit is honoured.
  EXPECT_EQ(Due("hook", kT0 + 60, 1).size(), 1u);
  // Other sinks' alerts are never returned.
  EXPECT_TRUE(Due("mail", kT0 + 60).empty());
}

TEST_F(OutboxTest, DeliveredAndGivenUpAlertsLeaveThePendingSet) {
  Append({MakeEvent("identity_added", "info", "", "a"), MakeEvent("identity_added", "info", "", "b"),
          MakeEvent("identity_added", "info", "", "c")});
  ASSERT_EQ(Route("hook", All, kT0), 3);
  auto due = Due("hook", kT0);
  ASSERT_EQ(due.size(), 3u);
  ASSERT_TRUE(store_->MarkRetry(due[0].id, kT0 + 10, "HTTP 503"));
  ASSERT_TRUE(store_->MarkDelivered({due[0].id, due[1].id}, kT0 + 20));
  ASSERT_TRUE(store_->MarkGaveUp(due[2].id, kT0 + 30, "HTTP 410"));
  EXPECT_TRUE(Due("hook", kT0 + 1000).empty());
  auto pending = store_->ListAlerts({.sink = "", .pending_only = true, .limit = 0});
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->empty());
  auto all = store_->ListAlerts({.sink = "hook", .pending_only = false, .limit = 0});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].delivered_at, kT0 + 20);
  EXPECT_EQ((*all)[0].attempts, 2);  // one failure, one success
  EXPECT_EQ((*all)[0].last_error, "");
  EXPECT_EQ((*all)[1].attempts, 1);
  EXPECT_EQ((*all)[2].gave_up_at, kT0 + 30);
  EXPECT_EQ((*all)[2].delivered_at, 0);
  EXPECT_EQ((*all)[2].last_error, "HTTP 410");
  // A second acknowledgement changes nothing; a retry of a finished alert is refused.
  ASSERT_TRUE(store_->MarkDelivered({due[0].id}, kT0 + 99));
  auto again = store_->ListAlerts({.sink = "hook", .pending_only = false, .limit = 1});
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].delivered_at, kT0 + 20);
  EXPECT_EQ((*again)[0].attempts, 2);
  auto refused = store_->MarkRetry(due[2].id, kT0 + 100, "late");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("given up"), std::string::npos);
}

TEST_F(OutboxTest, UnknownAlertIdsAreNotFound) {
  auto d = store_->MarkDelivered({42}, kT0);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kNotFound);
  EXPECT_NE(d.error().message.find(path_), std::string::npos);
  auto r = store_->MarkRetry(42, kT0, "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  auto g = store_->MarkGaveUp(42, kT0, "x");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, ErrorCode::kNotFound);
}

TEST_F(OutboxTest, DigestKeysAreStoredAndEmptyMeansNone) {
  Append({MakeEvent("expiry_threshold", "medium", "alice@example.test", "a"),
          MakeEvent("expiry_threshold", "medium", "", "b")});
  auto by_owner = [](const Event& e) -> std::optional<std::string> {
    return e.owner.empty() ? std::string("unowned") : e.owner;
  };
  ASSERT_EQ(Route("digest", by_owner, kT0), 2);
  ASSERT_EQ(Route("plain", All, kT0), 2);
  auto digest = Due("digest", kT0);
  ASSERT_EQ(digest.size(), 2u);
  EXPECT_EQ(digest[0].digest_key, "alice@example.test");
  EXPECT_EQ(digest[1].digest_key, "unowned");
  auto plain = Due("plain", kT0);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].digest_key, "");
}

TEST_F(OutboxTest, RoutesABacklogLargerThanOneBatch) {
  std::vector<Event> events;
  for (int i = 0; i < 2500; ++i)
    events.push_back(MakeEvent("identity_added", "info", "", "k" + std::to_string(i)));
  Append(events);
  int seen = 0;
  auto every_other = [&seen](const Event&) -> std::optional<std::string> {
    if (seen++ % 2 == 0) return std::string();
    return std::nullopt;
  };
  EXPECT_EQ(Route("hook", every_other, kT0), 1250);
  EXPECT_EQ(seen, 2500);
  EXPECT_EQ(Route("hook", All, kT0), 0);
  EXPECT_EQ(Due("hook", kT0).size(), 1250u);
}

TEST_F(OutboxTest, RejectsAnEmptySinkName) {
  auto n = store_->RouteAlerts("", All, kT0);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace mica::store
