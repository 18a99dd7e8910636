// Events and the audit log in the SQLite back end (docs/SCHEMA.md, docs/AUDIT.md); findings
// are in sqlite_findings.cpp.
//
// Every event is also the next leaf of the audit log's Merkle tree, written in the same
// transaction. The tree head and its compact range live in audit_head, so an append
// reads one row and hashes O(log n) nodes; checkpoints (tree heads to be signed) are
// recorded at every multiple of checkpoint_interval_ entries and on request.
#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/merkle.h"
#include "store/internal/sqlite_store.h"

namespace mica::store::internal {

namespace {

Bytes PackFrontier(const std::vector<merkle::Hash>& frontier) {
  Bytes out;
  out.reserve(frontier.size() * 32);
  for (const auto& h : frontier) out.insert(out.end(), h.begin(), h.end());
  return out;
}

std::string LocationName(const std::string& kind, const std::string& host, const std::string& path,
                         std::int64_t port, const std::string& sni) {
  if (kind == "file") return path;
  std::string out = "tls://";
  out.append(host).append(":").append(std::to_string(port));
  if (!sni.empty() && sni != host) out.append(" (sni ").append(sni).append(")");
  return out;
}

constexpr std::string_view kChangeIdentityColumns =
    "i.id, i.kind, i.fingerprint, coalesce(i.subject, ''), coalesce(i.issuer, ''), "
    "i.spki_sha256, coalesce(i.is_ca, 0), coalesce(i.self_signed, 0), "
    // No other EKU name contains "code_signing" (x509::EkuName).
    "coalesce(instr(i.eku, 'code_signing') > 0, 0), i.private_encrypted, "
    "coalesce(i.not_after, 0), s.position, "
    // Asked only where it changes an event (code signing): CASE evaluates lazily.
    "CASE WHEN instr(i.eku, 'code_signing') > 0 THEN "
    "NOT EXISTS (SELECT 1 FROM sighting o WHERE o.identity_id = i.id AND o.announced = 1) "
    "ELSE 0 END, "
    "l.id, l.kind, l.host, l.path, l.port, l.sni, l.first_scan_id IS s.last_scan_id";

ChangeIdentity ReadChangeIdentity(const Statement& s) {
  ChangeIdentity c;
  c.id = s.Int(0);
  c.kind = s.Text(1);
  c.fingerprint = s.Text(2);
  c.subject = s.Text(3);
  c.issuer = s.Text(4);
  c.spki_sha256 = s.Text(5);
  c.is_ca = s.Int(6) != 0;
  c.self_signed = s.Int(7) != 0;
  c.code_signing = s.Int(8) != 0;
  if (auto enc = s.OptionalInt(9)) c.private_encrypted = *enc != 0;
  c.not_after = s.Int(10);
  c.position = s.Text(11);
  c.new_identity = s.Int(12) != 0;
  return c;
}

}  // namespace

Event ReadEvent(const Statement& s, int first) {
  Event e;
  e.id = s.Int(first);
  e.at = s.Int(first + 1);
  e.type = s.Text(first + 2);
  e.severity = s.Text(first + 3);
  e.scan_id = s.OptionalInt(first + 4).value_or(0);
  e.location_id = s.OptionalInt(first + 5).value_or(0);
  e.location = s.Text(first + 6);
  e.before = s.Text(first + 7);
  e.after = s.Text(first + 8);
  e.subject = s.Text(first + 9);
  e.owner = s.Text(first + 10);
  e.detail = s.Text(first + 11);
  e.dedup_key = s.IsNull(first + 12) ? "" : s.Text(first + 12);
  e.audit_seq = s.Int(first + 13);
  return e;
}

Result<std::vector<std::int64_t>> SqliteStore::AppendEventsLocked(std::vector<Event> events) {
  std::vector<std::int64_t> ids;
  if (events.empty()) return ids;
  // The head as of this transaction: another process may have appended since we last
  // looked, and BEGIN IMMEDIATE holds the write lock until commit.
  auto head = db_.Prepare("SELECT size, frontier FROM audit_head WHERE id = 1");
  if (!head) return tl::unexpected(head.error());
  auto row = head->Step();
  if (!row) return tl::unexpected(row.error());
  merkle::CompactRange range;
  if (*row) {
    const auto size = static_cast<std::uint64_t>(head->Int(0));
    const Bytes packed = head->Blob(1);
    std::vector<merkle::Hash> frontier(packed.size() / 32);
    for (std::size_t i = 0; i < frontier.size(); ++i)
      std::copy_n(packed.begin() + static_cast<std::ptrdiff_t>(i * 32), 32, frontier[i].begin());
    auto restored = merkle::CompactRange::Restore(size, std::move(frontier));
    if (!restored || packed.size() % 32 != 0)
      return Fail(ErrorCode::kInput,
                  "audit_head is inconsistent (size " + std::to_string(size) +
                      " does not match its compact range); run 'mica audit verify'");
    range = std::move(*restored);
  }
  head->Reset();

  // The event id is known before the insert (ids only grow in this transaction), so
  // the leaf hash, which covers it, goes in with the row.
  auto next_id = db_.Prepare("SELECT coalesce(max(id), 0) + 1 FROM event");
  if (!next_id) return tl::unexpected(next_id.error());
  auto id_row = next_id->Step();
  if (!id_row) return tl::unexpected(id_row.error());
  std::int64_t id = next_id->Int(0);
  next_id->Reset();
  auto seen = db_.Prepare("SELECT 1 FROM event WHERE dedup_key = ?1");
  if (!seen) return tl::unexpected(seen.error());
  auto insert_event = db_.Prepare(
      "INSERT INTO event (id, at, type, severity, scan_id, location_id, location, before_fp, "
      "after_fp, subject, owner, detail, dedup_key, audit_seq, leaf_hash) VALUES (?1, ?2, ?3, "
      "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
  if (!insert_event) return tl::unexpected(insert_event.error());
  auto insert_checkpoint = db_.Prepare(
      "INSERT INTO audit_checkpoint (size, root, at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (size) DO NOTHING");
  if (!insert_checkpoint) return tl::unexpected(insert_checkpoint.error());

  ids.reserve(events.size());
  std::string body;
  for (Event& e : events) {
    const auto seq = static_cast<std::int64_t>(range.size());
    if (!e.dedup_key.empty()) {
      auto dup = seen->Bind(e.dedup_key).Step();
      if (!dup) return tl::unexpected(dup.error());
      seen->Reset();
      if (*dup) continue;  // recorded before
    }
    e.id = id++;
    e.audit_seq = seq;
    body.clear();
    AppendCanonicalEventBody(e, body);
    const merkle::Hash leaf = merkle::LeafHash(AsBytes(body));
    if (auto s =
            insert_event
                ->Bind(e.id, e.at, e.type, e.severity,
                       e.scan_id ? std::optional<std::int64_t>(e.scan_id) : std::nullopt,
                       e.location_id ? std::optional<std::int64_t>(e.location_id) : std::nullopt,
                       e.location, e.before, e.after, e.subject, e.owner, e.detail,
                       e.dedup_key.empty() ? std::optional<std::string>() : e.dedup_key, seq,
                       ByteView(leaf))
                .Run();
        !s)
      return tl::unexpected(s.error());
    range.Append(leaf);
    if (checkpoint_interval_ > 0 &&
        static_cast<std::int64_t>(range.size()) % checkpoint_interval_ == 0) {
      if (auto s = insert_checkpoint
                       ->Bind(static_cast<std::int64_t>(range.size()), ByteView(range.Root()), e.at)
                       .Run();
          !s)
        return tl::unexpected(s.error());
    }
    ids.push_back(e.id);
  }
  if (ids.empty()) return ids;
  auto update = db_.Prepare(
      "INSERT INTO audit_head (id, size, root, frontier) VALUES (1, ?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, "
      "frontier = excluded.frontier");
  if (!update) return tl::unexpected(update.error());
  if (auto s = update
                   ->Bind(static_cast<std::int64_t>(range.size()), ByteView(range.Root()),
                          PackFrontier(range.frontier()))
                   .Run();
      !s)
    return tl::unexpected(s.error());
  return ids;
}

Result<std::vector<std::int64_t>> SqliteStore::AppendEvents(const std::vector<Event>& events) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  auto ids = AppendEventsLocked(events);
  if (!ids) return Failed(ids.error());
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return ids;
}

Result<std::vector<Event>> SqliteStore::ListEvents(const EventFilter& f) {
  std::string sql = "SELECT " + std::string(kEventColumns) +
                    " FROM event e WHERE e.id > ?1 AND e.at >= ?2 AND (?3 = '' OR e.type = ?3) "
                    "ORDER BY e.id";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  auto stmt = db_.Prepare(sql);
  if (!stmt) return Failed(stmt.error());
  stmt->Bind(f.after_id, f.since, f.type);
  std::vector<Event> out;
  if (auto s = ForEachRow(*stmt, [&](const Statement& r) { out.push_back(ReadEvent(r, 0)); }); !s)
    return Failed(s.error());
  return out;
}

Result<AuditHead> SqliteStore::GetAuditHead() {
  AuditHead h;
  h.root = merkle::ToBytes(merkle::EmptyRoot());
  auto stmt = db_.Prepare("SELECT size, root, frontier FROM audit_head WHERE id = 1");
  if (!stmt) return Failed(stmt.error());
  auto row = stmt->Step();
  if (!row) return Failed(row.error());
  if (!*row) return h;
  h.size = stmt->Int(0);
  h.root = stmt->Blob(1);
  const Bytes packed = stmt->Blob(2);
  for (std::size_t i = 0; i + 32 <= packed.size(); i += 32)
    h.frontier.emplace_back(packed.begin() + static_cast<std::ptrdiff_t>(i),
                            packed.begin() + static_cast<std::ptrdiff_t>(i + 32));
  return h;
}

namespace {

AuditCheckpoint ReadCheckpoint(const Statement& s) {
  AuditCheckpoint c;
  c.size = s.Int(0);
  c.root = s.Blob(1);
  c.at = s.Int(2);
  c.key_id = s.IsNull(3) ? "" : s.Text(3);
  c.algorithm = s.IsNull(4) ? "" : s.Text(4);
  if (!s.IsNull(5)) c.signature = s.Blob(5);
  return c;
}

}  // namespace

Result<AuditCheckpoint> SqliteStore::Checkpoint(UnixSeconds at) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  auto head = GetAuditHead();
  if (!head) return tl::unexpected(head.error());
  auto insert = db_.Prepare(
      "INSERT INTO audit_checkpoint (size, root, at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (size) DO NOTHING");
  if (!insert) return Failed(insert.error());
  if (auto s = insert->Bind(head->size, head->root, at).Run(); !s) return Failed(s.error());
  auto read = db_.Prepare(
      "SELECT size, root, at, key_id, algorithm, signature FROM audit_checkpoint WHERE size = ?1");
  if (!read) return Failed(read.error());
  auto row = read->Bind(head->size).Step();
  if (!row) return Failed(row.error());
  if (!*row) return Fail(ErrorCode::kInternal, "checkpoint just written is missing");
  AuditCheckpoint c = ReadCheckpoint(*read);
  read->Reset();
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return c;
}

Result<std::vector<AuditCheckpoint>> SqliteStore::ListCheckpoints(bool unsigned_only) {
  auto stmt = db_.Prepare(
      std::string("SELECT size, root, at, key_id, algorithm, signature FROM audit_checkpoint ") +
      (unsigned_only ? "WHERE signature IS NULL " : "") + "ORDER BY size");
  if (!stmt) return Failed(stmt.error());
  std::vector<AuditCheckpoint> out;
  if (auto s = ForEachRow(*stmt, [&](const Statement& r) { out.push_back(ReadCheckpoint(r)); }); !s)
    return Failed(s.error());
  return out;
}

Status SqliteStore::SignCheckpoint(std::int64_t size, const std::string& key_id,
                                   const std::string& algorithm, const Bytes& signature) {
  auto stmt = db_.Prepare(
      "UPDATE audit_checkpoint SET key_id = ?2, algorithm = ?3, signature = ?4 "
      "WHERE size = ?1 AND signature IS NULL");
  if (!stmt) return Failed(stmt.error());
  if (auto s = stmt->Bind(size, key_id, algorithm, signature).Run(); !s) return Failed(s.error());
  return {};
}

namespace {

AuditEntry ReadAuditEntry(const Statement& s) {
  const Event e = ReadEvent(s, 0);
  return {e.audit_seq, e.id, e.at, e.type, CanonicalEventBody(e), s.Blob(kEventColumnCount)};
}

}  // namespace

Result<std::vector<AuditEntry>> SqliteStore::ReadAudit(std::int64_t from, std::int64_t limit) {
  auto stmt = db_.Prepare("SELECT " + std::string(kEventColumns) +
                          ", e.leaf_hash FROM event e WHERE e.audit_seq >= ?1 "
                          "ORDER BY e.audit_seq LIMIT ?2");
  if (!stmt) return Failed(stmt.error());
  stmt->Bind(from, limit > 0 ? limit : std::int64_t{-1});
  std::vector<AuditEntry> out;
  if (auto s = ForEachRow(*stmt, [&](const Statement& r) { out.push_back(ReadAuditEntry(r)); }); !s)
    return Failed(s.error());
  return out;
}

Status SqliteStore::ScanAudit(const std::function<void(const AuditEntry&)>& visit) {
  auto stmt = db_.Prepare("SELECT " + std::string(kEventColumns) +
                          ", e.leaf_hash FROM event e ORDER BY e.audit_seq");
  if (!stmt) return Failed(stmt.error());
  if (auto s = ForEachRow(*stmt, [&](const Statement& r) { visit(ReadAuditEntry(r)); }); !s)
    return Failed(s.error());
  return {};
}

Result<BaselineSummary> SqliteStore::SummarizeBaseline(std::int64_t scan_id,
                                                      const std::string& kind, UnixSeconds at) {
  BaselineSummary b;
  b.scan_id = scan_id;
  b.scan_kind = kind;
  b.at = at;
  // Sighting id order: the order docs/EVENTS.md gives for recomputing the digest.
  auto rows = db_.Prepare(
      "SELECT i.kind, i.fingerprint, coalesce(i.is_ca, 0), "
      "coalesce(instr(i.eku, 'code_signing') > 0, 0), i.private_encrypted, s.position, "
      "l.id, l.kind, l.host, l.path, l.port, l.sni "
      "FROM sighting s JOIN identity i ON i.id = s.identity_id "
      "JOIN location l ON l.id = s.location_id "
      "WHERE s.last_scan_id = ?1 AND s.announced = 0 AND s.present = 1 "
      "AND l.first_scan_id = ?1 ORDER BY s.id");
  if (!rows) return tl::unexpected(rows.error());
  rows->Bind(scan_id);
  std::unordered_map<std::string, std::int64_t> kinds;
  std::unordered_set<std::int64_t> locations;
  Sha256Stream digest;
  std::string line;
  auto status = ForEachRow(*rows, [&](const Statement& r) {
    ++b.sightings;
    ++kinds[std::string(r.TextView(0))];
    b.ca += r.Int(2) != 0;
    b.code_signing += r.Int(3) != 0;
    if (!r.IsNull(4) && r.Int(4) == 0) ++b.unencrypted_private;
    locations.insert(r.Int(6));
    line.assign(r.TextView(1)).append("\n");
    const std::string_view location_kind = r.TextView(7);
    if (location_kind == "file") {
      line.append(r.TextView(9));
    } else {
      line.append(LocationName(std::string(location_kind), r.Text(8), r.Text(9), r.Int(10),
                               r.Text(11)));
    }
    line.append("\n").append(r.TextView(5)).append("\n");
    digest.Update(line);
  });
  if (!status) return tl::unexpected(status.error());
  b.locations = static_cast<std::int64_t>(locations.size());
  b.by_kind.assign(kinds.begin(), kinds.end());
  std::sort(b.by_kind.begin(), b.by_kind.end());
  b.sha256 = ToHex(digest.Finish());
  return b;
}

Result<std::int64_t> SqliteStore::RecordChanges(std::int64_t scan_id, const std::string& kind,
                                                UnixSeconds at, const ChangeClassifier& classify,
                                                const BaselineClassifier& baseline) {
  // What changed is read, classified and appended a window of location ids at a time:
  // memory holds one window's change set and events, whatever the size of the scan (the
  // first scan of a large tree adds every sighting). Windows are independent because a
  // replacement pairs what vanished and what appeared at one location.
  constexpr std::int64_t kWindow = 8192;
  std::int64_t recorded = 0;
  std::unordered_map<std::int64_t, std::size_t> index;  // location id -> set.locations
  ChangeSet set;
  auto reset = [&] {
    set = ChangeSet{};
    set.scan_id = scan_id;
    set.scan_kind = kind;
    set.at = at;
    index.clear();
  };
  auto location_of = [&](const Statement& s, int first) -> LocationChange& {
    const std::int64_t id = s.Int(first);
    auto [it, fresh] = index.emplace(id, set.locations.size());
    if (fresh) {
      LocationChange l;
      l.location_id = id;
      l.kind = s.Text(first + 1);
      l.path = s.Text(first + 3);
      l.name = LocationName(l.kind, s.Text(first + 2), l.path, s.Int(first + 4), s.Text(first + 5));
      l.new_location = s.Int(first + 6) != 0;
      set.locations.push_back(std::move(l));
    }
    return set.locations[it->second];
  };
  auto flush = [&]() -> Status {
    if (set.locations.empty()) return {};
    auto ids = AppendEventsLocked(classify(set));
    if (!ids) return tl::unexpected(ids.error());
    recorded += static_cast<std::int64_t>(ids->size());
    reset();
    return {};
  };
  reset();

  // A baseline sums up what came at new locations in one event; the passes below then
  // only see what changed at locations known before.
  if (baseline) {
    auto summary = SummarizeBaseline(scan_id, kind, at);
    if (!summary) return tl::unexpected(summary.error());
    if (summary->sightings > 0) {
      auto ids = AppendEventsLocked({baseline(*summary)});
      if (!ids) return tl::unexpected(ids.error());
      recorded += static_cast<std::int64_t>(ids->size());
    }
  }

  // Both passes read "announced" before it is updated below. Only what was announced
  // can be removed: a sighting from a failed scan that is gone again was never an event.
  // CROSS JOIN fixes the order sighting, location, identity. SQLite chose to read the
  // identity row (a certificate's DER: about two rows per page) before the location, so
  // a baseline's pass over what is *not* at a new location read every identity of the
  // scan only to drop it: 0.24 s -> 0.05 s in the first scan of the 200,000-file tree.
  const std::string base = "SELECT " + std::string(kChangeIdentityColumns) +
                           " FROM sighting s CROSS JOIN location l ON l.id = s.location_id "
                           "CROSS JOIN identity i ON i.id = s.identity_id WHERE ";
  constexpr std::string_view kAdded = "s.last_scan_id = ?1 AND s.announced = 0 AND s.present = 1";
  constexpr std::string_view kRemoved = "s.vanished_scan_id = ?1 AND s.announced = 1";
  auto span = db_.Prepare(
      "SELECT min(lo), max(hi) FROM ("
      "SELECT min(s.location_id) AS lo, max(s.location_id) AS hi FROM sighting s WHERE " +
      std::string(kAdded) +
      " UNION ALL "
      "SELECT min(s.location_id), max(s.location_id) FROM sighting s WHERE " +
      std::string(kRemoved) + ")");
  if (!span) return tl::unexpected(span.error());
  auto row = span->Bind(scan_id).Step();
  if (!row) return tl::unexpected(row.error());
  const bool any = *row && !span->IsNull(0);
  const std::int64_t first = any ? span->Int(0) : 0, last = any ? span->Int(1) : -1;
  span->Reset();
  const std::string window = " AND s.location_id >= ?2 AND s.location_id < ?3";
  auto removed = db_.Prepare(base + std::string(kRemoved) + window);
  if (!removed) return tl::unexpected(removed.error());
  auto added = db_.Prepare(base + std::string(kAdded) +
                           (baseline ? " AND l.first_scan_id IS NOT ?1" : "") + window);
  if (!added) return tl::unexpected(added.error());
  for (std::int64_t lo = first; lo <= last; lo += kWindow) {
    for (Statement* stmt : {&*removed, &*added}) {
      stmt->Bind(scan_id, lo, lo + kWindow);
      const bool is_added = stmt == &*added;
      if (auto s = ForEachRow(*stmt,
                              [&](const Statement& r) {
                                LocationChange& l = location_of(r, 13);
                                (is_added ? l.added : l.removed).push_back(ReadChangeIdentity(r));
                              });
          !s)
        return tl::unexpected(s.error());
    }
    if (auto s = flush(); !s) return tl::unexpected(s.error());
  }

  // Files whose permission bits changed in this scan, with what they hold: few, and
  // classified on their own (an exposure does not depend on what came or went).
  auto modes = db_.Prepare(
      "SELECT " + std::string(kChangeIdentityColumns) +
      ", l.prev_mode, l.mode FROM location l JOIN sighting s ON s.location_id = l.id "
      "JOIN identity i ON i.id = s.identity_id WHERE l.last_scan_id = ?1 AND l.kind = 'file' "
      "AND l.prev_mode IS NOT NULL AND l.mode IS NOT NULL AND l.prev_mode != l.mode "
      "AND s.present = 1");
  if (!modes) return tl::unexpected(modes.error());
  modes->Bind(scan_id);
  if (auto s = ForEachRow(*modes,
                          [&](const Statement& r) {
                            LocationChange& l = location_of(r, 13);
                            l.mode_before = static_cast<std::uint32_t>(r.Int(20));
                            l.mode_after = static_cast<std::uint32_t>(r.Int(21));
                            l.present.push_back(ReadChangeIdentity(r));
                          });
      !s)
    return tl::unexpected(s.error());
  if (auto s = flush(); !s) return tl::unexpected(s.error());
  if (auto s = db_.Exec("UPDATE sighting SET announced = 1 WHERE last_scan_id = " +
                        std::to_string(scan_id) + " AND announced = 0 AND present = 1");
      !s)
    return tl::unexpected(s.error());
  return recorded;
}

}  // namespace mica::store::internal
