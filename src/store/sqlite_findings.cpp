// Findings in the SQLite back end (docs/POLICY.md, docs/SCHEMA.md): the open set kept
// in step with what a policy check reports, and the events that records.
#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/internal/sqlite_store.h"

namespace mica::store::internal {

namespace {

using nlohmann::json;

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

// A text column as SQLite holds it, valid until the statement steps again: the open
// findings are compared where they lie instead of copied into ~1.1 million strings.
std::string_view TextView(const Statement& s, int col) {
  // column_text before column_bytes, as the SQLite docs ask; NULL reads as "".
  const auto* p = ::sqlite3_column_text(s.get(), col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p),
          static_cast<std::size_t>(::sqlite3_column_bytes(s.get(), col))};
}

// The findings of one check, found by (rule, fingerprint, location): an open-addressing
// table of indices into `current`, which owns the strings. The first of two findings
// with one key wins, as before (a check may report one twice).
class CurrentIndex {
 public:
  explicit CurrentIndex(const std::vector<FindingRecord>& current) : current_(current) {
    std::size_t size = 16;
    while (size < current.size() * 2) size *= 2;
    slots_.assign(size, kEmpty);
    mask_ = size - 1;
    first_.assign(current.size(), false);
    for (std::size_t i = 0; i < current.size(); ++i) {
      const FindingRecord& f = current[i];
      std::size_t& slot = Probe(f.rule, f.fingerprint, f.location);
      if (slot != kEmpty) continue;  // reported twice in one check
      slot = i;
      first_[i] = true;
    }
  }

  // The index of the finding with this key, or kEmpty.
  std::size_t Find(std::string_view rule, std::string_view fingerprint, std::string_view location) {
    return Probe(rule, fingerprint, location);
  }
  // Whether current[i] is the one kept for its key.
  bool First(std::size_t i) const { return first_[i]; }

  static constexpr std::size_t kEmpty = static_cast<std::size_t>(-1);

 private:
  std::size_t& Probe(std::string_view rule, std::string_view fingerprint,
                     std::string_view location) {
    const std::hash<std::string_view> h;
    std::size_t at = (h(rule) * 31 + h(fingerprint)) * 31 + h(location);
    for (;; at = (at + 1) & mask_) {
      std::size_t& slot = slots_[at & mask_];
      if (slot == kEmpty) return slot;
      const FindingRecord& f = current_[slot];
      if (f.fingerprint == fingerprint && f.location == location && f.rule == rule) return slot;
    }
  }

  const std::vector<FindingRecord>& current_;
  std::vector<std::size_t> slots_;
  std::size_t mask_ = 0;
  std::vector<bool> first_;
};

}  // namespace

Result<FindingDelta> SqliteStore::SyncFindings(const std::vector<std::string>& rules,
                                               const std::vector<FindingRecord>& current,
                                               UnixSeconds now, const FindingClassifier& classify) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  // What is open now is read without its last_seen_at (finding_check), only to be told
  // apart: still open and unchanged (usually all of them), changed, or no longer reported.
  // NOT INDEXED: through the partial index finding_open SQLite visited the table in key
  // order, a random read per row (0.9 s for 140,589 open findings, cold); the table in
  // rowid order takes 0.04-0.1 s, and stays cheaper while resolved rows are fewer than
  // ~10x the open ones.
  auto open = db_.Prepare(
      "SELECT id, rule, fingerprint, location, severity, evidence, coalesce(accepted_by, ''), "
      "coalesce(accepted_reason, ''), coalesce(accepted_until, 0) FROM finding NOT INDEXED "
      "WHERE resolved_at IS NULL AND (?1 = '[]' OR rule IN (SELECT value FROM json_each(?1)))");
  if (!open) return Failed(open.error());
  open->Bind(json(rules).dump());
  CurrentIndex index(current);
  std::vector<bool> still_open(current.size(), false);
  std::vector<std::pair<std::int64_t, std::size_t>> changed;  // finding id, index in current
  std::vector<std::int64_t> gone;
  if (auto s = ForEachRow(*open,
                          [&](const Statement& r) {
                            const std::size_t i =
                                index.Find(TextView(r, 1), TextView(r, 2), TextView(r, 3));
                            if (i == CurrentIndex::kEmpty) {
                              gone.push_back(r.Int(0));
                              return;
                            }
                            still_open[i] = true;
                            const FindingRecord& f = current[i];
                            if (TextView(r, 4) != f.severity || TextView(r, 5) != f.evidence ||
                                TextView(r, 6) != f.accepted_by ||
                                TextView(r, 7) != f.accepted_reason || r.Int(8) != f.accepted_until)
                              changed.emplace_back(r.Int(0), i);
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
  // No RETURNING: SQLite runs it as a trigger, so every insert opened a statement
  // journal, which spilled to a temporary file (2.2 GB written for 140,589 findings).
  auto insert = db_.Prepare(
      "INSERT INTO finding (rule, fingerprint, location, severity, evidence, opened_at, "
      "last_seen_at, accepted_by, accepted_reason, accepted_until) VALUES (?1, ?2, ?3, ?4, ?5, "
      "?6, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING");
  auto refresh = db_.Prepare(
      "UPDATE finding SET severity = ?2, evidence = ?3, accepted_by = ?4, accepted_reason = ?5, "
      "accepted_until = ?6 WHERE id = ?1");
  // A resolved finding was last seen by its rule's previous check.
  auto resolve = db_.Prepare(
      "UPDATE finding SET resolved_at = ?2, last_seen_at = max(last_seen_at, coalesce("
      "(SELECT checked_at FROM finding_check c WHERE c.rule = finding.rule), 0)) WHERE id = ?1");
  auto resolved =
      db_.Prepare("SELECT " + std::string(kFindingColumns) + " FROM finding WHERE id = ?1");
  if (!insert) return Failed(insert.error());
  if (!refresh) return Failed(refresh.error());
  if (!resolve) return Failed(resolve.error());
  if (!resolved) return Failed(resolved.error());

  // The rules this check covered: the ones asked for, or every rule it reported.
  std::set<std::string> covered(rules.begin(), rules.end());
  if (rules.empty())
    for (const FindingRecord& f : current) covered.insert(f.rule);
  FindingDelta delta;
  {
    // Read before this check writes: a rule never checked that has no finding stored
    // (a database from before finding_check may have resolved ones) is judged first here.
    auto check_of = db_.Prepare("SELECT 1 FROM finding_check WHERE rule = ?1");
    auto finding_of = db_.Prepare("SELECT 1 FROM finding WHERE rule = ?1 LIMIT 1");
    if (!check_of) return Failed(check_of.error());
    if (!finding_of) return Failed(finding_of.error());
    for (const std::string& rule : covered) {
      auto checked_before = check_of->Bind(rule).Step();
      if (!checked_before) return Failed(checked_before.error());
      check_of->Reset();
      if (*checked_before) continue;
      auto found = finding_of->Bind(rule).Step();
      if (!found) return Failed(found.error());
      finding_of->Reset();
      if (!*found) delta.first_checked.push_back(rule);
    }
  }
  for (const auto& [id, i] : changed) {
    const FindingRecord& f = current[i];
    // 0 = no end (an optional here trips GCC 12's -Wmaybe-uninitialized at -O3).
    const std::int64_t until = f.accepted_until;
    if (auto s = refresh
                     ->Bind(id, f.severity, f.evidence, NonEmpty(f.accepted_by),
                            NonEmpty(f.accepted_reason), until)
                     .Run();
        !s)
      return Failed(s.error());
  }
  sqlite3* const handle = ::sqlite3_db_handle(insert->get());
  // New findings go in in key order (rule, fingerprint, location), so that finding_open
  // and finding_fingerprint grow at a few ends instead of at 140,589 random places: in
  // report order the inserts were a fifth of a first check. Ids, and so delta.opened and
  // the events made of it, follow that order.
  std::vector<std::uint32_t> fresh;
  for (std::size_t i = 0; i < current.size(); ++i) {
    if (!index.First(i)) continue;  // reported twice in one check
    if (still_open[i]) {
      ++delta.still_open;
      continue;
    }
    fresh.push_back(static_cast<std::uint32_t>(i));
  }
  // By rule first through a map of the few rule names, then by (fingerprint, location):
  // comparing the rule strings was most of sorting 140,589 findings.
  std::map<std::string_view, std::uint32_t> rule_rank;
  for (const std::uint32_t i : fresh) rule_rank.emplace(current[i].rule, 0);
  std::uint32_t next_rank = 0;
  for (auto& [rule, rank] : rule_rank) rank = next_rank++;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> keyed;  // (rule rank, index)
  keyed.reserve(fresh.size());
  for (const std::uint32_t i : fresh) keyed.emplace_back(rule_rank[current[i].rule], i);
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    const FindingRecord& x = current[a.second];
    const FindingRecord& y = current[b.second];
    if (const int c = x.fingerprint.compare(y.fingerprint); c != 0) return c < 0;
    return x.location < y.location;
  });
  for (std::size_t k = 0; k < keyed.size(); ++k) fresh[k] = keyed[k].second;
  delta.opened.reserve(fresh.size());
  for (const std::uint32_t i : fresh) {
    const FindingRecord& f = current[i];
    const std::int64_t until = f.accepted_until;
    if (auto s = insert
                     ->Bind(f.rule, f.fingerprint, f.location, f.severity, f.evidence, now,
                            NonEmpty(f.accepted_by), NonEmpty(f.accepted_reason), until)
                     .Run();
        !s)
      return Failed(s.error());
    if (::sqlite3_changes(handle) == 0) continue;
    FindingRecord& opened = delta.opened.emplace_back(f);
    opened.id = ::sqlite3_last_insert_rowid(handle);
    opened.opened_at = opened.last_seen_at = now;
  }
  delta.resolved.reserve(gone.size());
  for (const std::int64_t id : gone) {
    if (auto s = resolve->Bind(id, now).Run(); !s) return Failed(s.error());
    auto row = resolved->Bind(id).Step();
    if (!row) return Failed(row.error());
    if (*row) delta.resolved.push_back(ReadFinding(*resolved));
    resolved->Reset();
  }
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
