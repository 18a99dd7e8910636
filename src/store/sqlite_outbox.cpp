// The alert outbox of the SQLite store (docs/ALERTS.md "Delivery", docs/SCHEMA.md).
//
// An alert row is written in the transaction that advances its sink's cursor past the
// event, so an event is routed to a sink exactly once however often a router runs or
// crashes; it leaves the outbox only when marked delivered (after the sink acknowledged
// it) or given up. Delivery is therefore at least once: a crash between the sink's
// acknowledgement and MarkDelivered sends the alert again, with the same idempotency key.
#include <string>

#include "core/encoding.h"
#include "store/internal/sqlite_store.h"

namespace mica::store::internal {

namespace {

// Events read per statement while routing: bounds memory on a large backlog.
constexpr int kRouteBatch = 1000;

// Stable for (sink, event): the same pair always gives the same key, and keys of two
// databases differ unless the events themselves are equal (time, type, identities).
std::string IdempotencyKey(const std::string& sink, const Event& e) {
  std::string input = "mica-alert";
  for (const std::string& part :
       {sink, std::to_string(e.id), std::to_string(e.at), e.type, e.location, e.before, e.after}) {
    input.push_back('\0');
    input.append(part);
  }
  return "mica-" + std::to_string(e.id) + "-" + Sha256Hex(AsBytes(input)).substr(0, 32);
}

constexpr std::string_view kAlertColumns =
    "a.id, a.event_id, a.sink, a.idempotency_key, a.digest_key, a.created_at, a.attempts, "
    "a.next_attempt_at, a.delivered_at, a.gave_up_at, a.last_error";
constexpr int kAlertColumnCount = 11;

AlertRow ReadAlert(const Statement& s) {
  AlertRow a;
  a.id = s.Int(0);
  a.event_id = s.Int(1);
  a.sink = s.Text(2);
  a.idempotency_key = s.Text(3);
  a.digest_key = s.IsNull(4) ? "" : s.Text(4);
  a.created_at = s.Int(5);
  a.attempts = static_cast<int>(s.Int(6));
  a.next_attempt_at = s.Int(7);
  a.delivered_at = s.OptionalInt(8).value_or(0);
  a.gave_up_at = s.OptionalInt(9).value_or(0);
  a.last_error = s.Text(10);
  a.event = ReadEvent(s, kAlertColumnCount);
  return a;
}

std::string AlertSelect() {
  return "SELECT " + std::string(kAlertColumns) + ", " + std::string(kEventColumns) +
         " FROM alert a JOIN event e ON e.id = a.event_id";
}

}  // namespace

Result<std::int64_t> SqliteStore::RouteAlerts(const std::string& sink, const AlertRoute& route,
                                              UnixSeconds now) {
  if (sink.empty()) return Fail(ErrorCode::kInvalidArgument, "RouteAlerts: empty sink name");
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  auto cursor = db_.Prepare("SELECT last_event_id FROM alert_cursor WHERE sink = ?1");
  if (!cursor) return Failed(cursor.error());
  auto row = cursor->Bind(sink).Step();
  if (!row) return Failed(row.error());
  std::int64_t last = *row ? cursor->Int(0) : 0;
  cursor->Reset();

  auto events = db_.Prepare("SELECT " + std::string(kEventColumns) +
                            " FROM event e WHERE e.id > ?1 ORDER BY e.id LIMIT ?2");
  if (!events) return Failed(events.error());
  // A key already present (a second router that raced this one before the cursor moved
  // cannot exist under BEGIN IMMEDIATE, but a restored cursor can) is kept as it is.
  auto insert = db_.Prepare(
      "INSERT INTO alert (event_id, sink, idempotency_key, digest_key, created_at, "
      "next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (idempotency_key) DO NOTHING");
  if (!insert) return Failed(insert.error());

  std::int64_t routed = 0;
  for (;;) {
    std::vector<Event> batch;
    events->Bind(last, kRouteBatch);
    for (;;) {
      auto more = events->Step();
      if (!more) return Failed(more.error());
      if (!*more) break;
      batch.push_back(ReadEvent(*events, 0));
    }
    if (batch.empty()) break;
    for (const Event& e : batch) {
      last = e.id;
      std::optional<std::string> digest = route(e);
      if (!digest) continue;
      std::optional<std::string> digest_key;
      if (!digest->empty()) digest_key = *digest;
      if (auto s = insert->Bind(e.id, sink, IdempotencyKey(sink, e), digest_key, now).Run(); !s)
        return Failed(s.error());
      routed += ::sqlite3_changes(db_.get());
    }
    if (batch.size() < static_cast<std::size_t>(kRouteBatch)) break;
  }

  auto advance = db_.Prepare(
      "INSERT INTO alert_cursor (sink, last_event_id) VALUES (?1, ?2) "
      "ON CONFLICT (sink) DO UPDATE SET last_event_id = excluded.last_event_id");
  if (!advance) return Failed(advance.error());
  if (auto s = advance->Bind(sink, last).Run(); !s) return Failed(s.error());
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return routed;
}

Result<std::vector<AlertRow>> SqliteStore::DueAlerts(const std::string& sink, UnixSeconds now,
                                                     int limit) {
  // Served by the partial index alert_due (sink, next_attempt_at).
  auto stmt = db_.Prepare(AlertSelect() +
                          " WHERE a.sink = ?1 AND a.delivered_at IS NULL AND a.gave_up_at IS NULL"
                          " AND a.next_attempt_at <= ?2 ORDER BY a.next_attempt_at, a.id LIMIT ?3");
  if (!stmt) return Failed(stmt.error());
  stmt->Bind(sink, now, limit > 0 ? static_cast<std::int64_t>(limit) : std::int64_t{-1});
  std::vector<AlertRow> out;
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    out.push_back(ReadAlert(*stmt));
  }
  return out;
}

Status SqliteStore::MarkDelivered(const std::vector<std::int64_t>& alert_ids, UnixSeconds at) {
  if (alert_ids.empty()) return {};
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  // Marking twice is harmless (a second ack of the same alert); the first time counts.
  auto mark = db_.Prepare(
      "UPDATE alert SET delivered_at = COALESCE(delivered_at, ?2), "
      "attempts = attempts + (delivered_at IS NULL), last_error = '' WHERE id = ?1");
  if (!mark) return Failed(mark.error());
  for (std::int64_t id : alert_ids) {
    if (auto s = mark->Bind(id, at).Run(); !s) return Failed(s.error());
    if (::sqlite3_changes(db_.get()) == 0)
      return Fail(ErrorCode::kNotFound, "inventory " + db_.path() + ": no alert " +
                                            std::to_string(id));
  }
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

namespace {

// Records one failed attempt; the alert must exist and still be pending.
Status MarkFailed(Database& db, std::int64_t id, const char* set, std::int64_t t,
                  const std::string& error) {
  auto stmt = db.Prepare(std::string("UPDATE alert SET attempts = attempts + 1, ") + set +
                         " = ?2, last_error = ?3 WHERE id = ?1 AND delivered_at IS NULL AND "
                         "gave_up_at IS NULL");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto s = stmt->Bind(id, t, error).Run(); !s) return s;
  if (::sqlite3_changes(db.get()) == 1) return {};
  auto exists = db.Prepare("SELECT delivered_at, gave_up_at FROM alert WHERE id = ?1");
  if (!exists) return tl::unexpected(exists.error());
  auto row = exists->Bind(id).Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return Fail(ErrorCode::kNotFound, "no alert " + std::to_string(id));
  const bool delivered = !exists->IsNull(0);
  exists->Reset();
  return Fail(ErrorCode::kInvalidArgument,
              "alert " + std::to_string(id) + " is no longer pending (" +
                  (delivered ? "delivered" : "given up") + ")");
}

}  // namespace

Status SqliteStore::MarkRetry(std::int64_t alert_id, UnixSeconds next_attempt_at,
                              const std::string& error) {
  if (auto s = MarkFailed(db_, alert_id, "next_attempt_at", next_attempt_at, error); !s)
    return Failed(s.error());
  return {};
}

Status SqliteStore::MarkGaveUp(std::int64_t alert_id, UnixSeconds at, const std::string& error) {
  if (auto s = MarkFailed(db_, alert_id, "gave_up_at", at, error); !s) return Failed(s.error());
  return {};
}

Result<std::vector<AlertRow>> SqliteStore::ListAlerts(const AlertFilter& filter) {
  std::string sql = AlertSelect() + " WHERE (?1 = '' OR a.sink = ?1)";
  if (filter.pending_only) sql += " AND a.delivered_at IS NULL AND a.gave_up_at IS NULL";
  sql += " ORDER BY a.id LIMIT ?2";
  auto stmt = db_.Prepare(sql);
  if (!stmt) return Failed(stmt.error());
  stmt->Bind(filter.sink,
             filter.limit > 0 ? static_cast<std::int64_t>(filter.limit) : std::int64_t{-1});
  std::vector<AlertRow> out;
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    out.push_back(ReadAlert(*stmt));
  }
  return out;
}

}  // namespace mica::store::internal
