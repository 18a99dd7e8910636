// Findings in the SQLite back end (docs/POLICY.md, docs/SCHEMA.md): the open set kept
// in step with what a policy check reports, and the events that records.
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/internal/sqlite_store.h"

namespace mica::store::internal {

namespace {

using nlohmann::json;

// rule, fingerprint and location, NUL-separated (none of them holds a NUL).
std::string Key(const FindingRecord& f) {
  std::string k;
  k.reserve(f.rule.size() + f.fingerprint.size() + f.location.size() + 2);
  k.append(f.rule).push_back('\0');
  k.append(f.fingerprint).push_back('\0');
  k.append(f.location);
  return k;
}

// An open finding's last_seen_at is the last check of its rule (finding_check).
constexpr std::string_view kFindingColumns =
    "id, rule, fingerprint, location, severity, evidence, opened_at, "
    "CASE WHEN resolved_at IS NULL THEN max(last_seen_at, coalesce((SELECT checked_at FROM "
    "finding_check c WHERE c.rule = finding.rule), 0)) ELSE last_seen_at END, "
    "coalesce(resolved_at, 0), coalesce(accepted_by, ''), coalesce(accepted_reason, ''), "
    "coalesce(accepted_until, 0)";

FindingRecord ReadFinding(const Statement& s) {
  FindingRecord f;
  f.id = s.Int(0);
  f.rule = s.Text(1);
  f.fingerprint = s.Text(2);
  f.location = s.Text(3);
  f.severity = s.Text(4);
  f.evidence = s.Text(5);
  f.opened_at = s.Int(6);
  f.last_seen_at = s.Int(7);
  f.resolved_at = s.Int(8);
  f.accepted_by = s.Text(9);
  f.accepted_reason = s.Text(10);
  f.accepted_until = s.Int(11);
  return f;
}

std::optional<std::string> NonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

Result<FindingDelta> SqliteStore::SyncFindings(const std::vector<std::string>& rules,
                                               const std::vector<FindingRecord>& current,
                                               UnixSeconds now, const FindingClassifier& classify) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  auto open = db_.Prepare("SELECT " + std::string(kFindingColumns) +
                          " FROM finding WHERE resolved_at IS NULL AND (?1 = '[]' OR rule IN "
                          "(SELECT value FROM json_each(?1)))");
  if (!open) return Failed(open.error());
  open->Bind(json(rules).dump());
  std::unordered_map<std::string, FindingRecord> was_open;
  if (auto s = ForEachRow(*open,
                          [&](const Statement& r) {
                            FindingRecord f = ReadFinding(r);
                            std::string key = Key(f);
                            was_open.emplace(std::move(key), std::move(f));
                          });
      !s)
    return Failed(s.error());
  // Still-open findings are seen again now: that is one row per rule in finding_check
  // (written last), not a write of every open finding; a finding is rewritten only
  // where its content changed (usually none of 100,000).
  auto checked = db_.Prepare(
      "INSERT INTO finding_check (rule, checked_at) VALUES (?1, ?2) "
      "ON CONFLICT (rule) DO UPDATE SET checked_at = excluded.checked_at");
  if (!checked) return Failed(checked.error());
  auto insert = db_.Prepare(
      "INSERT INTO finding (rule, fingerprint, location, severity, evidence, opened_at, "
      "last_seen_at, accepted_by, accepted_reason, accepted_until) VALUES (?1, ?2, ?3, ?4, ?5, "
      "?6, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING RETURNING id");
  auto refresh = db_.Prepare(
      "UPDATE finding SET severity = ?2, evidence = ?3, accepted_by = ?4, accepted_reason = ?5, "
      "accepted_until = ?6 WHERE id = ?1");
  // A resolved finding was last seen by its rule's previous check.
  auto resolve = db_.Prepare(
      "UPDATE finding SET resolved_at = ?2, last_seen_at = max(last_seen_at, coalesce("
      "(SELECT checked_at FROM finding_check c WHERE c.rule = finding.rule), 0)) WHERE id = ?1 "
      "RETURNING last_seen_at");
  if (!insert) return Failed(insert.error());
  if (!refresh) return Failed(refresh.error());
  if (!resolve) return Failed(resolve.error());

  FindingDelta delta;
  std::unordered_set<std::string> seen;
  seen.reserve(current.size());
  for (const FindingRecord& f : current) {
    std::string key = Key(f);
    if (!seen.insert(key).second) continue;  // reported twice in one check
    // 0 = no end (an optional here trips GCC 12's -Wmaybe-uninitialized at -O3).
    const std::int64_t until = f.accepted_until;
    if (auto it = was_open.find(key); it != was_open.end()) {
      const FindingRecord& old = it->second;
      if (old.severity != f.severity || old.evidence != f.evidence ||
          old.accepted_by != f.accepted_by || old.accepted_reason != f.accepted_reason ||
          old.accepted_until != f.accepted_until) {
        if (auto s = refresh
                         ->Bind(old.id, f.severity, f.evidence, NonEmpty(f.accepted_by),
                                NonEmpty(f.accepted_reason), until)
                         .Run();
            !s)
          return Failed(s.error());
      }
      was_open.erase(it);
      ++delta.still_open;
      continue;
    }
    auto row = insert
                   ->Bind(f.rule, f.fingerprint, f.location, f.severity, f.evidence, now,
                          NonEmpty(f.accepted_by), NonEmpty(f.accepted_reason), until)
                   .Step();
    if (!row) return Failed(row.error());
    if (!*row) continue;
    FindingRecord opened = f;
    opened.id = insert->Int(0);
    opened.opened_at = opened.last_seen_at = now;
    insert->Reset();
    delta.opened.push_back(std::move(opened));
  }
  for (auto& [key, f] : was_open) {
    auto row = resolve->Bind(f.id, now).Step();
    if (!row) return Failed(row.error());
    if (*row) f.last_seen_at = resolve->Int(0);
    resolve->Reset();
    f.resolved_at = now;
    delta.resolved.push_back(std::move(f));
  }
  // The rules this check covered: the ones asked for, or every rule it reported.
  std::set<std::string> covered(rules.begin(), rules.end());
  if (rules.empty())
    for (const FindingRecord& f : current) covered.insert(f.rule);
  for (const std::string& rule : covered)
    if (auto s = checked->Bind(rule, now).Run(); !s) return Failed(s.error());
  if (classify) {
    auto recorded = AppendEventsLocked(classify(delta));
    if (!recorded) return Failed(recorded.error());
  }
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return delta;
}

Result<std::vector<FindingRecord>> SqliteStore::ListFindings(const FindingFilter& f) {
  std::string sql = "SELECT " + std::string(kFindingColumns) +
                    " FROM finding WHERE (?1 OR resolved_at IS NULL) AND (?2 = '' OR "
                    "fingerprint = ?2) AND (?3 = '' OR rule = ?3) ORDER BY id";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  auto stmt = db_.Prepare(sql);
  if (!stmt) return Failed(stmt.error());
  stmt->Bind(f.include_resolved, f.fingerprint, f.rule);
  std::vector<FindingRecord> out;
  if (auto s = ForEachRow(*stmt, [&](const Statement& r) { out.push_back(ReadFinding(r)); }); !s)
    return Failed(s.error());
  return out;
}

}  // namespace mica::store::internal
