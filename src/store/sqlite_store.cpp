// The SQLite back end of Store. docs/SCHEMA.md describes the tables.
//
// Speed: the filesystem scanner hands Record batches of thousands of files. Each batch
// is one transaction, every statement of the write path is prepared once and reused,
// and an identity already in the inventory costs one index lookup: its JSON details are
// built only when it is new, and its row (kilobytes with the DER) is never rewritten,
// because "last seen" lives in the small sighting rows. Rewriting the identity row on
// every sighting put a full page per identity into the WAL and made rescans 3x slower.
#include "store/internal/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "store/internal/schema.h"
#include "store/internal/sqlite.h"
#include "store/store.h"
#include "x509/certificate.h"
#include "x509/identity_json.h"

namespace mica::store::internal {

namespace {

using nlohmann::json;
using x509::Identity;

std::string Join(std::initializer_list<const std::vector<std::string>*> lists) {
  std::string out;
  for (const auto* list : lists) {
    for (const auto& item : *list) {
      if (!out.empty()) out += ',';
      out += item;
    }
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool IsHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

// The smallest string greater than every string that starts with `prefix`, for the
// range `prefix <= x < PrefixEnd(prefix)` that an index can serve (LIKE 'ab%' cannot
// with the default case-insensitive LIKE, and would treat '_' and '%' as wildcards).
// Fingerprints and paths compared here are byte strings; a prefix ending in 0xff bytes
// drops them and increments the byte before.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

std::optional<LocationKind> LocationKindFromName(std::string_view name) {
  if (name == "file") return LocationKind::kFile;
  if (name == "tls_endpoint") return LocationKind::kTlsEndpoint;
  return std::nullopt;
}

// Columns every identity query selects, in the order ReadIdentityRow reads them.
constexpr std::string_view kIdentityColumns =
    "i.id, i.details, i.der, i.first_seen, "
    "(SELECT MAX(s.last_seen) FROM sighting s WHERE s.identity_id = i.id), "
    "(SELECT COUNT(DISTINCT s.location_id) FROM sighting s "
    " WHERE s.identity_id = i.id AND s.present = 1), "
    "(SELECT s.position FROM sighting s WHERE s.identity_id = i.id ORDER BY s.id LIMIT 1), "
    "i.kind";

constexpr std::string_view kPresent =
    "EXISTS (SELECT 1 FROM sighting s WHERE s.identity_id = i.id AND s.present = 1)";

// Columns every sighting query selects, in the order ReadSightingRow reads them.
constexpr std::string_view kSightingColumns =
    "s.identity_id, l.kind, l.host, l.path, l.port, l.sni, l.mode, l.uid, l.gid, l.owner, "
    "l.group_name, l.size, l.mtime, s.position, s.first_seen, s.last_seen, s.present, "
    "s.vanished_at, s.first_scan_id, s.last_scan_id";

constexpr std::string_view kScanColumns =
    "id, kind, host, roots, started_at, finished_at, status, files_seen, candidates, "
    "identities, errors, events";

constexpr std::string_view kAllKinds =
    "('certificate', 'private_key', 'public_key', 'ssh_public_key', 'ssh_private_key', "
    "'ssh_certificate', 'keystore_entry')";

// The private key kinds that Summarize checks for exposure.
constexpr std::string_view kPrivateKinds = "('private_key', 'ssh_private_key', 'keystore_entry')";

}  // namespace


Status SqliteStore::Init() {
  // Not a file access: safe before we know what the file is.
  if (auto s = db_.Exec("PRAGMA busy_timeout = 5000"); !s) return Failed(s.error());
  if (auto s = CheckIsMica(); !s) return s;
  // WAL: readers (the CLI, the web UI) never block the scanner's writer. NORMAL
  // synchronous is durable across application crashes; a power loss may lose the last
  // transactions but never corrupts the file.
  // A 64 MiB page cache keeps the identity indexes (random fingerprints land on random
  // pages) in memory through a large scan; the default 2 MiB made every insert a read.
  // Checkpoints every 64 MiB of WAL rather than SQLite's 4 MiB: a bulk scan rewrites the
  // same hot index pages in every transaction, and each checkpoint copies them again.
  // No memory map (PRAGMA mmap_size): it made the change-set reads ~25% cheaper, but
  // every page read through it counts in the process's RSS, and the first scan of a
  // 100,000-file tree went from 222 MiB to 436 MiB (docs/PERFORMANCE.md).
  // Temporary files in memory: every upsert in a multi-statement transaction (UNIQUE
  // and foreign-key constraints can abort it) keeps a statement journal, and once one
  // passes 64 KiB SQLite spills it to a file in /var/tmp. That was 1.4 million pwrite
  // calls of 4 bytes + one page each in the first scan of a 100,000-file tree, a third
  // of its CPU. In memory they cost what the pages they copy cost, and live one statement.
  if (auto s = db_.Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                        "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; "
                        "PRAGMA wal_autocheckpoint = 16384; PRAGMA temp_store = MEMORY");
      !s)
    return Failed(s.error());
  if (auto s = Migrate(); !s) return s;
  if (auto s = PrepareStatements(); !s) return s;
  people_ = std::make_unique<SqlitePeopleStore>(db_);
  return people_->Init();
}

Status SqliteStore::CheckIsMica() {
  // The first read of the file: a file that is not SQLite fails here with SQLITE_NOTADB,
  // before anything (such as switching to WAL) could write to it.
  auto app_id = db_.QueryInt("PRAGMA application_id");
  if (!app_id) {
    return Fail(app_id.error().code,
                db_.path() + " is not a mica inventory: " + app_id.error().message);
  }
  const std::int64_t id = app_id->value_or(0);
  if (id == kApplicationId) return {};
  if (id != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08llx", static_cast<unsigned long long>(id) & 0xffffffffULL);
    return Fail(ErrorCode::kInput, db_.path() +
                                       " is not a mica inventory: it is the SQLite database of "
                                       "another application (application_id " +
                                       hex + ")");
  }
  auto objects = db_.QueryInt("SELECT COUNT(*) FROM sqlite_schema");
  if (!objects) return Failed(objects.error());
  if (objects->value_or(0) != 0)
    return Fail(ErrorCode::kInput, db_.path() +
                                       " is not a mica inventory: it is an SQLite database "
                                       "with tables mica did not create");
  return {};  // a new, empty database
}

Status SqliteStore::Migrate() {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  if (auto s = db_.Exec("CREATE TABLE IF NOT EXISTS schema_version ("
                        "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      !s)
    return Failed(s.error());
  auto current = db_.QueryInt("SELECT MAX(version) FROM schema_version");
  if (!current) return Failed(current.error());
  const std::int64_t version = current->value_or(0);
  if (version > kSchemaVersion) {
    return Fail(ErrorCode::kInput, db_.path() + " has inventory schema version " +
                                       std::to_string(version) +
                                       ", newer than this mica understands (" +
                                       std::to_string(kSchemaVersion) + "); use a newer mica");
  }
  if (version == kSchemaVersion) return {};  // the transaction rolls back: nothing written
  auto record =
      db_.Prepare("INSERT INTO schema_version (version, applied_at) VALUES (?1, unixepoch())");
  if (!record) return Failed(record.error());
  for (auto v = version + 1; v <= kSchemaVersion; ++v) {
    if (auto s = db_.Exec(kMigrations[static_cast<size_t>(v - 1)]); !s)
      return Failed(Error{s.error().code, "migration to schema version " + std::to_string(v) +
                                              " failed: " + s.error().message});
    if (auto s = record->Bind(v).Run(); !s) return Failed(s.error());
  }
  if (auto s = db_.Exec("PRAGMA application_id = " + std::to_string(kApplicationId)); !s)
    return Failed(s.error());
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

Status SqliteStore::PrepareStatements() {
  const std::pair<Statement*, const char*> statements[] = {
      {&scan_status_, "SELECT status FROM scan WHERE id = ?1"},
      {&begin_scan_,
       "INSERT INTO scan (kind, host, roots, started_at, status) "
       "VALUES (?1, ?2, ?3, ?4, 'running') RETURNING id"},
      {&find_identity_, "SELECT id FROM identity WHERE kind = ?1 AND fingerprint = ?2"},
      {&insert_identity_,
       "INSERT INTO identity (kind, fingerprint, subject, issuer, subject_cn, issuer_cn, "
       "serial, not_before, not_after, key_type, key_bits, curve, spki_sha256, "
       "signature_algorithm, is_ca, self_signed, eku, san, private_encrypted, first_seen, "
       "details, der) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
       // Only reached after the lookup missed, inside the same write transaction: no
       // conflict clause, and no RETURNING (the id is sqlite3_last_insert_rowid).
       "?18, ?19, ?20, ?21, ?22)"},
      {&upsert_location_,
       "INSERT INTO location (kind, host, path, port, sni, mode, uid, gid, owner, group_name, "
       "size, mtime, first_seen, last_seen, last_scan_id, first_scan_id) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?14) "
       "ON CONFLICT (kind, host, path, port, sni) DO UPDATE SET "
       // The mode before this scan, for "private key newly readable" (change detection).
       // Every SET expression reads the old row; a second upsert in the same scan keeps
       // the first one's prev_mode.
       "prev_mode = CASE WHEN last_scan_id IS excluded.last_scan_id THEN prev_mode "
       "ELSE mode END, last_scan_id = excluded.last_scan_id, "
       // An observation without file facts keeps the ones known from before.
       "mode = coalesce(excluded.mode, mode), uid = coalesce(excluded.uid, uid), "
       "gid = coalesce(excluded.gid, gid), owner = coalesce(excluded.owner, owner), "
       "group_name = coalesce(excluded.group_name, group_name), "
       "size = coalesce(excluded.size, size), mtime = coalesce(excluded.mtime, mtime), "
       "last_seen = max(last_seen, excluded.last_seen) RETURNING id"},
      {&upsert_sighting_,
       "INSERT INTO sighting (identity_id, location_id, position, first_seen, last_seen, "
       "first_scan_id, last_scan_id, present, announced) "
       "VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?5, 1, 0) "
       "ON CONFLICT (identity_id, location_id, position) DO UPDATE SET "
       "last_seen = max(last_seen, excluded.last_seen), last_scan_id = excluded.last_scan_id, "
       // A sighting that comes back after it vanished is announced again.
       "announced = CASE WHEN present = 0 THEN 0 ELSE announced END, "
       "present = 1, vanished_at = NULL, vanished_scan_id = NULL"},
      {&insert_endpoint_,
       "INSERT INTO endpoint_result (scan_id, location_id, seen_at, address, ok, failure_class, "
       "error, starttls, protocol, cipher, alpn, ocsp_stapled, name_matches, verified, "
       "verify_error, versions_probed, versions_accepted, handshake_ms, chain_len) VALUES "
       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
       "?18 / 1000.0, ?19)"},
      {&insert_error_, "INSERT INTO scan_error (scan_id, target, reason) VALUES (?1, ?2, ?3)"},
  };
  for (auto& [stmt, sql] : statements) {
    auto prepared = db_.Prepare(sql);
    if (!prepared) return Failed(prepared.error());
    *stmt = std::move(*prepared);
  }
  return {};
}

Status SqliteStore::CheckRunning(std::int64_t scan_id) {
  ResetOnExit reset(scan_status_);
  auto row = scan_status_.Bind(scan_id).Step();
  if (!row) return Failed(row.error());
  if (!*row)
    return Fail(ErrorCode::kNotFound, "scan " + std::to_string(scan_id) + " does not exist");
  const std::string status = scan_status_.Text(0);
  if (status != "running")
    return Fail(ErrorCode::kInvalidArgument,
                "scan " + std::to_string(scan_id) + " is " + status + ", not running");
  return {};
}

Result<std::int64_t> SqliteStore::BeginScan(const ScanStart& start) {
  // A scan is the bulk writer: its checkpoints move to a thread of their own. Not for
  // an in-memory database (no file, no WAL), and a checkpointer that cannot start
  // leaves SQLite's automatic checkpoint in place: slower, never wrong.
  const char* file = ::sqlite3_db_filename(db_.get(), "main");
  if (!checkpointer_ && file != nullptr && *file != '\0') {
    if (auto c = WalCheckpointer::Attach(db_)) checkpointer_ = std::move(*c);
  }
  ResetOnExit reset(begin_scan_);
  auto row =
      begin_scan_.Bind(start.kind, start.host, json(start.roots).dump(), start.started_at).Step();
  if (!row) return Failed(row.error());
  if (!*row) return Failed(Error{ErrorCode::kInternal, "INSERT ... RETURNING gave no row"});
  return begin_scan_.Int(0);
}

Result<std::int64_t> SqliteStore::UpsertIdentity(const Identity& id, UnixSeconds seen_at) {
  const char* kind = x509::KindName(id.kind);
  {
    ResetOnExit reset(find_identity_);
    auto row = find_identity_.Bind(kind, id.fingerprint).Step();
    if (!row) return tl::unexpected(row.error());
    if (*row) return find_identity_.Int(0);
  }
  // New to the inventory: the filter columns and, for what is not a certificate, the
  // full JSON. Strings are bound in place (Borrowed): `id` outlives the step.
  std::optional<Borrowed> subject, issuer, subject_cn, issuer_cn, serial, sig_alg;
  std::optional<std::string> eku, san, ssh_serial;
  std::optional<std::int64_t> not_before, not_after, is_ca, self_signed, encrypted;
  if (id.cert) {
    const auto& c = *id.cert;
    subject = Borrowed{c.subject};
    issuer = Borrowed{c.issuer};
    subject_cn = Borrowed{c.subject_parts.cn};
    issuer_cn = Borrowed{c.issuer_parts.cn};
    serial = Borrowed{c.serial_hex};
    not_before = c.not_before;
    not_after = c.not_after;
    sig_alg = Borrowed{c.signature_algorithm};
    is_ca = c.is_ca ? 1 : 0;
    self_signed = c.self_signed ? 1 : 0;
    eku = Join({&c.eku});
    san = Join({&c.san_dns, &c.san_ip, &c.san_email, &c.san_uri});
  } else if (id.ssh && id.kind == x509::Kind::kSshCertificate) {
    // SSH certificates share the validity and issuer filters: the key id stands in for
    // the subject, the CA key's fingerprint for the issuer, principals for the SANs.
    const auto& s = *id.ssh;
    subject = Borrowed{s.key_id};
    issuer = Borrowed{s.ca_fingerprint};
    ssh_serial = std::to_string(s.serial);
    serial = Borrowed{*ssh_serial};
    not_before = s.valid_after;
    not_after = s.valid_before;
    sig_alg = Borrowed{s.algorithm};
    san = Join({&s.principals});
  }
  if (id.private_key) encrypted = id.private_key->encrypted ? 1 : 0;
  // Fingerprints are stored lower-case; the parsers already make them so.
  const std::string& spki = id.key.spki_sha256;
  const bool spki_lower = std::none_of(spki.begin(), spki.end(),
                                       [](char c) { return c >= 'A' && c <= 'Z'; });
  std::optional<std::string> spki_lowered;
  if (!spki_lower) spki_lowered = Lower(spki);
  // A certificate is stored as its DER alone and decoded again when read (decoding is
  // cheaper than parsing its JSON, and halves the row, which is what a bulk scan pays
  // for in page writes).
  std::optional<std::string> details;
  if (id.kind != x509::Kind::kCertificate || id.der.empty()) details = x509::ToJson(id).dump();
  std::optional<BorrowedBlob> der;
  if (!id.der.empty()) der = BorrowedBlob{id.der};

  ResetOnExit reset(insert_identity_);
  auto done = insert_identity_
                  .Bind(Borrowed{kind}, Borrowed{id.fingerprint}, subject, issuer, subject_cn,
                        issuer_cn, serial, not_before, not_after,
                        Borrowed{x509::KeyTypeName(id.key.type)}, id.key.bits,
                        Borrowed{id.key.curve}, Borrowed{spki_lowered ? *spki_lowered : spki},
                        sig_alg, is_ca, self_signed, eku, san, encrypted, seen_at, details, der)
                  .Run();
  if (!done) return tl::unexpected(done.error());
  // The lookup above missed in this write transaction, so the row is the one just
  // inserted (a conflict would have failed the INSERT).
  return ::sqlite3_last_insert_rowid(db_.get());
}

Result<std::int64_t> SqliteStore::UpsertLocation(const Observation& o, std::int64_t scan_id,
                                                UnixSeconds seen_at) {
  const Location& l = o.location;
  std::optional<std::int64_t> mode, uid, gid, size, mtime;
  std::optional<Borrowed> owner, group;  // `o` outlives the step
  if (o.file) {
    mode = o.file->mode;
    uid = o.file->uid;
    gid = o.file->gid;
    owner = Borrowed{o.file->owner};
    group = Borrowed{o.file->group};
    size = o.file->size;
    mtime = o.file->mtime;
  }
  ResetOnExit reset(upsert_location_);
  auto row = upsert_location_
                 .Bind(Borrowed{LocationKindName(l.kind)}, Borrowed{l.host}, Borrowed{l.path},
                       l.port, Borrowed{l.sni}, mode, uid, gid, owner, group, size, mtime,
                       seen_at, scan_id)
                 .Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return Fail(ErrorCode::kInternal, "INSERT ... RETURNING gave no row");
  return upsert_location_.Int(0);
}

Status SqliteStore::Record(std::int64_t scan_id, const std::vector<Observation>& observations,
                           const std::vector<ScanError>& errors, UnixSeconds seen_at) {
  if (auto s = CheckRunning(scan_id); !s) return s;
  // No foreign-key checks while recording: every id written below was inserted or looked
  // up in this same transaction (identity, location) or checked just above (the scan),
  // so SQLite's lookups (four per sighting: identity, location, first and last scan)
  // would only repeat them; they were 0.2 s of the first scan of the 200,000-file tree.
  // The pragma does nothing inside a transaction, so it goes around it, and is back on
  // before Record returns, whatever happens.
  if (auto s = db_.Exec("PRAGMA foreign_keys = OFF"); !s) return Failed(s.error());
  struct ForeignKeysBackOn {
    Database& db;
    ~ForeignKeysBackOn() { (void)db.Exec("PRAGMA foreign_keys = ON"); }
  } back_on{db_};
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  for (const Observation& o : observations) {
    // Nothing to place there; a TLS endpoint is recorded even when it failed.
    if (o.identities.empty() && !o.endpoint) continue;
    auto location_id = UpsertLocation(o, scan_id, seen_at);
    if (!location_id) return Failed(Wrap(location_id.error(), o.location.path).value());
    for (const Identity& id : o.identities) {
      auto identity_id = UpsertIdentity(id, seen_at);
      if (!identity_id) return Failed(Wrap(identity_id.error(), o.location.path).value());
      ResetOnExit reset(upsert_sighting_);
      if (auto s = upsert_sighting_
                       .Bind(*identity_id, *location_id, Borrowed{id.position}, seen_at, scan_id)
                       .Run();
          !s)
        return Failed(Wrap(s.error(), o.location.path).value());
    }
    if (o.endpoint) {
      const EndpointFacts& f = *o.endpoint;
      std::string versions;
      for (const auto& v : f.versions_accepted) versions += (versions.empty() ? "" : ",") + v;
      std::optional<std::int64_t> name_matches;
      if (f.name_matches) name_matches = *f.name_matches ? 1 : 0;
      // Statement binds integers: microseconds go in, the SQL divides to milliseconds.
      auto stmt = &insert_endpoint_;
      stmt->Bind(scan_id, *location_id, seen_at, f.address, f.ok, f.failure_class, f.error,
                 f.starttls, f.protocol, f.cipher, f.alpn, f.ocsp_stapled, name_matches, f.verified,
                 f.verify_error, f.versions_probed, versions,
                 static_cast<std::int64_t>(f.handshake_ms * 1000), f.chain_len);
      if (auto s = stmt->Run(); !s) return Failed(s.error());
    }
  }
  for (const ScanError& e : errors) {
    if (auto s = insert_error_.Bind(scan_id, e.where, e.reason).Run(); !s) return Failed(s.error());
  }
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

Status SqliteStore::FinishScan(std::int64_t scan_id, const ScanStats& stats,
                               UnixSeconds finished_at, const ChangeClassifier& classify,
                               const BaselineClassifier& baseline) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  if (auto s = CheckRunning(scan_id); !s) return s;
  auto scan = db_.Prepare(
      "UPDATE scan SET status = 'complete', finished_at = ?2, files_seen = ?3, candidates = ?4, "
      "identities = ?5, errors = ?6 WHERE id = ?1 RETURNING host, roots, kind");
  if (!scan) return Failed(scan.error());
  auto row = scan->Bind(scan_id, finished_at, stats.files_seen, stats.candidates, stats.identities,
                        stats.errors)
                 .Step();
  if (!row) return Failed(row.error());
  if (!*row) return Fail(ErrorCode::kNotFound, "scan " + std::to_string(scan_id) + " vanished");
  const std::string host = scan->Text(0);
  const std::string scan_kind = scan->Text(2);
  const json roots = json::parse(scan->Text(1), nullptr, /*allow_exceptions=*/false);
  scan->Reset();
  if (!roots.is_array())
    return Failed(Error{ErrorCode::kInput,
                        "scan " + std::to_string(scan_id) + " roots are not a JSON array"});

  // Sightings come only from scans: with no other scan in the inventory (its first
  // scan) nothing can have vanished, and the two updates below would walk every
  // location of the tree for nothing.
  auto others = db_.QueryInt("SELECT EXISTS (SELECT 1 FROM scan WHERE id != " +
                             std::to_string(scan_id) + ")");
  if (!others) return Failed(others.error());
  if (others->value_or(1) != 0) {
    std::vector<std::string> paths;
    for (const json& r : roots)
      if (r.is_string()) paths.push_back(r.get<std::string>());
    if (auto s = MarkVanished(scan_id, host, paths, finished_at); !s) return s;
  }
  if (classify) {
    auto recorded = RecordChanges(scan_id, scan_kind, finished_at, classify, baseline);
    if (!recorded) return Failed(recorded.error());
    if (auto s = db_.Exec("UPDATE scan SET events = " + std::to_string(*recorded) +
                          " WHERE id = " + std::to_string(scan_id));
        !s)
      return Failed(s.error());
  }
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

Status SqliteStore::MarkVanished(std::int64_t scan_id, const std::string& host,
                                 const std::vector<std::string>& roots, UnixSeconds finished_at) {
  // A sighting under a root this scan walked, that this scan did not see, is gone. The
  // subtree is the range [root + "/", root + "0") ('0' follows '/' in ASCII): exact
  // where LIKE would need escaping of '%' and '_', and served by the location index.
  auto vanish = db_.Prepare(
      "UPDATE sighting SET present = 0, vanished_at = ?1, vanished_scan_id = ?2 "
      "WHERE present = 1 AND last_scan_id IS NOT ?2 AND location_id IN ("
      "  SELECT id FROM location WHERE kind = 'file' AND host = ?3 "
      "  AND (path = ?4 OR (path >= ?5 AND path < ?6)))");
  if (!vanish) return Failed(vanish.error());
  for (std::string root : roots) {
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    if (root.empty()) continue;
    const std::string subtree = root == "/" ? root : root + "/";
    if (auto s = vanish->Bind(finished_at, scan_id, host, root, subtree, PrefixEnd(subtree)).Run();
        !s)
      return Failed(s.error());
  }
  // TLS: the "roots" of an endpoint scan are the endpoints that completed a handshake in
  // it. A certificate such an endpoint no longer presents (at that chain position) is
  // gone. An endpoint that failed this time (down, timed out) keeps what it presented
  // before: an outage is not a replacement.
  if (auto s = db_.Exec(
          "UPDATE sighting SET present = 0, vanished_at = " + std::to_string(finished_at) +
          ", vanished_scan_id = " + std::to_string(scan_id) + " WHERE present = 1 AND last_scan_id IS NOT " + std::to_string(scan_id) +
          " AND location_id IN (SELECT location_id FROM endpoint_result WHERE scan_id = " +
          std::to_string(scan_id) + " AND ok = 1)");
      !s)
    return Failed(s.error());
  return {};
}

Status SqliteStore::FailScan(std::int64_t scan_id, const std::string& reason,
                             UnixSeconds finished_at) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  if (auto s = CheckRunning(scan_id); !s) return s;
  auto scan = db_.Prepare("UPDATE scan SET status = 'failed', failed_at = ?2 WHERE id = ?1");
  if (!scan) return Failed(scan.error());
  if (auto s = scan->Bind(scan_id, finished_at).Run(); !s) return Failed(s.error());
  if (auto s = insert_error_.Bind(scan_id, "scan", reason).Run(); !s) return Failed(s.error());
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

Result<Statement> SqliteStore::PrepareBound(const std::string& sql,
                                            const std::vector<BindValue>& binds) {
  auto stmt = db_.Prepare(sql);
  if (!stmt) return Failed(stmt.error());
  int index = 0;
  for (const BindValue& b : binds) {
    ++index;
    std::visit([&](const auto& v) { stmt->BindOne(index, v); }, b);
  }
  return stmt;
}

Result<IdentityRow> ReadIdentityRow(const Statement& s) {
  IdentityRow row;
  row.id = s.Int(0);
  Result<Identity> identity;
  if (s.Text(7) == "certificate" && s.IsNull(1)) {
    identity = x509::DecodeCertificate(s.Blob(2));
    if (identity) identity->position = s.Text(6);
  } else {
    const json details = json::parse(s.Text(1), nullptr, /*allow_exceptions=*/false);
    identity = x509::IdentityFromJson(details);
    if (identity) identity->der = s.Blob(2);
  }
  if (!identity)
    return Fail(ErrorCode::kInput, "identity " + std::to_string(row.id) +
                                       " cannot be read back: " + identity.error().message);
  row.identity = std::move(*identity);
  row.first_seen = s.Int(3);
  row.last_seen = s.Int(4);
  row.locations = static_cast<int>(s.Int(5));
  return row;
}

Result<std::vector<IdentityRow>> SqliteStore::QueryIdentities(const std::string& sql,
                                                              const std::vector<BindValue>& binds) {
  auto stmt = PrepareBound(sql, binds);
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<IdentityRow> out;
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    auto row = ReadIdentityRow(*stmt);
    if (!row) return Failed(row.error());
    out.push_back(std::move(*row));
  }
  return out;
}

Result<std::vector<IdentityRow>> SqliteStore::ListIdentities(const IdentityFilter& f) {
  std::string sql = "SELECT " + std::string(kIdentityColumns) + " FROM identity i WHERE 1";
  std::vector<BindValue> binds;
  auto add = [&](std::string_view condition, auto... values) {
    sql += " AND ";
    sql += condition;
    (binds.emplace_back(values), ...);
  };
  // With an expiry filter the not_after index must drive the query: `+i.kind` keeps the
  // planner off the (kind, fingerprint) index, through which it would read every row of
  // the kind at random (see Summarize). A kind alone is best served by that index.
  const bool by_expiry = f.expiring_before || f.expired_at;
  if (f.kind) add(by_expiry ? "+i.kind = ?" : "i.kind = ?", std::string(x509::KindName(*f.kind)));
  if (f.expiring_before)
    add("i.not_after < ? AND i.not_after > ?", std::int64_t{*f.expiring_before},
        std::int64_t{f.now});
  if (f.expired_at) add("i.not_after < ?", std::int64_t{*f.expired_at});
  if (!f.issuer_contains.empty()) add("instr(lower(i.issuer), lower(?)) > 0", f.issuer_contains);
  if (f.key_type) add("i.key_type = ?", std::string(x509::KeyTypeName(*f.key_type)));
  if (!f.location_glob.empty()) {
    add(f.include_vanished
            ? "EXISTS (SELECT 1 FROM sighting s JOIN location l ON l.id = s.location_id "
              "WHERE s.identity_id = i.id AND l.kind = 'file' AND l.path GLOB ?)"
            : "EXISTS (SELECT 1 FROM sighting s JOIN location l ON l.id = s.location_id "
              "WHERE s.identity_id = i.id AND s.present = 1 AND l.kind = 'file' "
              "AND l.path GLOB ?)",
        f.location_glob);
  }
  if (f.self_signed) add("i.self_signed = ?", std::int64_t{*f.self_signed ? 1 : 0});
  if (f.is_ca) add("i.is_ca = ?", std::int64_t{*f.is_ca ? 1 : 0});
  // Whole items of the comma-joined list: "code_signing" must not match "x_code_signing".
  if (!f.eku.empty()) add("instr(',' || i.eku || ',', ',' || ? || ',') > 0", f.eku);
  if (!f.include_vanished) add(kPresent);
  sql += " ORDER BY i.not_after IS NULL, i.not_after, i.fingerprint";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  return QueryIdentities(sql, binds);
}

Result<std::vector<IdentityRow>> SqliteStore::FindByFingerprint(const std::string& prefix) {
  std::string p;
  if (prefix.size() >= 7 && Lower(prefix.substr(0, 7)) == "sha256:") {
    // OpenSSH fingerprints are base64: case matters after the tag.
    p = "SHA256:" + prefix.substr(7);
  } else if (prefix.size() >= 5 && Lower(prefix.substr(0, 5)) == "blob:") {
    p = Lower(prefix);
  } else {
    // Hex, as printed by mica (lower case) or by openssl ("AB:CD:...").
    for (char c : prefix)
      if (c != ':') p += c;
    if (!IsHex(p))
      return Fail(ErrorCode::kInvalidArgument,
                  "fingerprint prefix '" + prefix + "' is neither hex nor SHA256:<base64>");
    p = Lower(p);
  }
  if (p.empty() || p == "SHA256:")
    return Fail(ErrorCode::kInvalidArgument, "fingerprint prefix is empty");
  // Naming every kind lets the range use the UNIQUE (kind, fingerprint) index, one seek
  // per kind, so no second index on fingerprint has to be kept up to date on insert.
  return QueryIdentities("SELECT " + std::string(kIdentityColumns) +
                             " FROM identity i WHERE i.kind IN " + std::string(kAllKinds) +
                             " AND i.fingerprint >= ? AND i.fingerprint < ? "
                             "ORDER BY i.fingerprint, i.kind",
                         {p, PrefixEnd(p)});
}

Result<std::vector<IdentityRow>> SqliteStore::FindBySpki(const std::string& spki_sha256) {
  if (spki_sha256.empty()) return std::vector<IdentityRow>();  // unknown SPKI links nothing
  return QueryIdentities("SELECT " + std::string(kIdentityColumns) +
                             " FROM identity i WHERE i.spki_sha256 = ? "
                             "ORDER BY i.kind, i.fingerprint",
                         {Lower(spki_sha256)});
}

void ReadSightingPlace(const Statement& s, int first, SightingRow& row) {
  row.location.kind = LocationKindFromName(s.Text(first)).value_or(LocationKind::kFile);
  row.location.host = s.Text(first + 1);
  row.location.path = s.Text(first + 2);
  row.location.port = static_cast<int>(s.Int(first + 3));
  row.location.sni = s.Text(first + 4);
  if (!s.IsNull(first + 5)) {
    FileFacts f;
    f.mode = static_cast<std::uint32_t>(s.Int(first + 5));
    f.uid = static_cast<std::uint32_t>(s.Int(first + 6));
    f.gid = static_cast<std::uint32_t>(s.Int(first + 7));
    f.owner = s.Text(first + 8);
    f.group = s.Text(first + 9);
    f.size = s.Int(first + 10);
    f.mtime = s.Int(first + 11);
    row.file = std::move(f);
  }
  row.position = s.Text(first + 12);
  row.first_seen = s.Int(first + 13);
  row.last_seen = s.Int(first + 14);
}

SightingRow ReadSightingRow(const Statement& s) {
  SightingRow row;
  row.identity_id = s.Int(0);
  ReadSightingPlace(s, 1, row);
  row.present = s.Int(16) != 0;
  row.vanished_at = s.OptionalInt(17).value_or(0);
  row.first_scan_id = s.OptionalInt(18).value_or(0);
  row.last_scan_id = s.OptionalInt(19).value_or(0);
  return row;
}

Result<std::vector<SightingRow>> SqliteStore::QuerySightings(const std::string& sql,
                                                             const std::vector<BindValue>& binds) {
  auto stmt = PrepareBound(sql, binds);
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<SightingRow> out;
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    out.push_back(ReadSightingRow(*stmt));
  }
  return out;
}

Result<std::vector<SightingRow>> SqliteStore::AllPresentSightings() {
  return QuerySightings("SELECT " + std::string(kSightingColumns) +
                            " FROM sighting s JOIN location l ON l.id = s.location_id "
                            "WHERE s.present = 1 ORDER BY s.identity_id, l.path, s.position",
                        {});
}

Result<std::vector<SightingRow>> SqliteStore::Sightings(std::int64_t identity_id) {
  auto rows = QuerySightings("SELECT " + std::string(kSightingColumns) +
                                 " FROM sighting s JOIN location l ON l.id = s.location_id "
                                 "WHERE s.identity_id = ? "
                                 "ORDER BY s.present DESC, l.host, l.path, s.position",
                             {identity_id});
  if (!rows || !rows->empty()) return rows;
  auto exists = PrepareBound("SELECT 1 FROM identity WHERE id = ?", {identity_id});
  if (!exists) return tl::unexpected(exists.error());
  auto found = exists->Step();
  if (!found) return Failed(found.error());
  if (!*found)
    return Fail(ErrorCode::kNotFound,
                "identity " + std::to_string(identity_id) + " does not exist");
  return rows;
}

Result<Summary> SqliteStore::Summarize(UnixSeconds now, std::int64_t expiry_window,
                                       int list_limit) {
  // One read transaction: every figure describes the same moment even while a scanner
  // writes (WAL gives this reader a snapshot).
  if (auto s = db_.Exec("BEGIN"); !s) return Failed(s.error());
  struct EndRead {
    Database& db;
    ~EndRead() { (void)db.Exec("COMMIT"); }
  } end_read{db_};

  const std::string present(kPresent);
  const std::string select =
      "SELECT " + std::string(kIdentityColumns) + " FROM identity i WHERE " + present + " AND ";
  Summary out;
  // Counts by kind, issuer (certificates) and key type in one read of the table: each was
  // a full read of its own, and the table is mostly DER.
  {
    auto rows = db_.Prepare(
        "SELECT i.kind, "
        "CASE WHEN i.kind = 'certificate' THEN coalesce(nullif(i.issuer_cn, ''), i.issuer) END, "
        "CASE WHEN i.key_type = 'ec' AND i.curve != '' THEN 'ec-' || i.curve "
        "WHEN i.key_type IN ('rsa', 'dsa', 'ec') AND i.key_bits > 0 "
        "THEN i.key_type || '-' || i.key_bits ELSE i.key_type END "
        "FROM identity i WHERE " +
        present);
    if (!rows) return Failed(rows.error());
    std::unordered_map<std::string, std::int64_t> kinds, issuers, key_types;
    auto status = ForEachRow(*rows, [&](const Statement& r) {
      const std::string_view kind = r.TextView(0);
      ++kinds[std::string(kind)];
      if (kind == "certificate") ++issuers[std::string(r.TextView(1))];
      ++key_types[std::string(r.TextView(2))];
      ++out.identities;
    });
    if (!status) return tl::unexpected(status.error());
    // Most first, then by name (bytewise, as SQLite's ORDER BY 2 DESC, 1 did).
    auto ranked = [](const std::unordered_map<std::string, std::int64_t>& counts,
                     std::size_t limit) {
      std::vector<Count> v;
      v.reserve(counts.size());
      for (const auto& [key, n] : counts) v.push_back(Count{key, n});
      std::sort(v.begin(), v.end(), [](const Count& a, const Count& b) {
        return a.count != b.count ? a.count > b.count : a.key < b.key;
      });
      if (v.size() > limit) v.resize(limit);
      return v;
    };
    out.by_kind = ranked(kinds, kinds.size());
    out.by_issuer = ranked(issuers, 20);
    out.by_key_type = ranked(key_types, key_types.size());
  }

  // Each list: the first `list_limit` rows in order, and the full count.
  const std::string limit = " LIMIT " + std::to_string(std::max(list_limit, 0));
  auto count = [&](const std::string& from_where,
                   const std::vector<BindValue>& binds) -> Result<std::int64_t> {
    auto stmt = PrepareBound("SELECT COUNT(*) " + from_where, binds);
    if (!stmt) return tl::unexpected(stmt.error());
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    return *more ? stmt->Int(0) : 0;
  };
  auto list = [&](const std::string& where, const std::string& order,
                  const std::vector<BindValue>& binds, std::vector<IdentityRow>& rows_out,
                  std::int64_t& total_out) -> Status {
    auto rows = QueryIdentities(select + where + " ORDER BY " + order + limit, binds);
    if (!rows) return tl::unexpected(rows.error());
    rows_out = std::move(*rows);
    auto n = count("FROM identity i WHERE " + present + " AND " + where, binds);
    if (!n) return tl::unexpected(n.error());
    total_out = *n;
    return {};
  };

  // `+i.kind`: the unary plus keeps SQLite from driving the lists below by the (kind,
  // fingerprint) index. Through it, every certificate row is read in fingerprint order,
  // that is at random over a table of DER (about two rows per page) bigger than the page
  // cache; without it the expiry lists walk the not_after index and stop at their limit,
  // and their counts read the table in order (docs/PERFORMANCE.md, "mica summary").
  const std::string certs = "+i.kind IN ('certificate', 'ssh_certificate')";
  if (auto st = list(certs + " AND i.not_after > ? AND i.not_after <= ?",
                     "i.not_after, i.fingerprint", {now, now + expiry_window}, out.expiring,
                     out.expiring_total);
      !st)
    return tl::unexpected(st.error());
  // Most recently expired first: those are the ones someone still relies on.
  if (auto st = list(certs + " AND i.not_after <= ?", "i.not_after DESC, i.fingerprint", {now},
                     out.expired, out.expired_total);
      !st)
    return tl::unexpected(st.error());

  const std::string exposed_from =
      "FROM sighting s JOIN location l ON l.id = s.location_id "
      "JOIN identity i ON i.id = s.identity_id "
      "WHERE s.present = 1 AND i.kind IN " +
      std::string(kPrivateKinds) +
      " AND (coalesce(i.private_encrypted, 0) = 0 OR "
      "(l.mode IS NOT NULL AND (l.mode & 36) != 0))";  // 36 == 0044: group/other read
  auto exposed = QuerySightings("SELECT " + std::string(kSightingColumns) + " " + exposed_from +
                                    " ORDER BY l.host, l.path, s.position" + limit,
                                {});
  if (!exposed) return tl::unexpected(exposed.error());
  out.exposed_keys = std::move(*exposed);
  auto exposed_n = count(exposed_from, {});
  if (!exposed_n) return tl::unexpected(exposed_n.error());
  out.exposed_total = *exposed_n;

  if (auto st = list("i.kind = 'private_key' AND i.spki_sha256 != '' AND NOT EXISTS ("
                     "SELECT 1 FROM identity c WHERE c.kind = 'certificate' "
                     "AND c.spki_sha256 = i.spki_sha256 AND EXISTS (SELECT 1 FROM sighting cs "
                     "WHERE cs.identity_id = c.id AND cs.present = 1))",
                     "i.fingerprint", {}, out.orphan_keys, out.orphan_total);
      !st)
    return tl::unexpected(st.error());

  if (auto st = list("+i.kind = 'certificate' AND "
                     "instr(',' || i.eku || ',', ',code_signing,') > 0",
                     "i.not_after, i.fingerprint", {}, out.code_signing, out.code_signing_total);
      !st)
    return tl::unexpected(st.error());

  auto n = db_.QueryInt("SELECT COUNT(DISTINCT location_id) FROM sighting WHERE present = 1");
  if (!n) return Failed(n.error());
  out.locations = n->value_or(0);

  auto scans = ListScans(ScanFilter::Latest(1));
  if (!scans) return tl::unexpected(scans.error());
  if (!scans->empty()) out.last_scan = std::move(scans->front());
  return out;
}

Result<std::vector<ScanRow>> SqliteStore::ListScans(const ScanFilter& f) {
  std::string where;
  std::vector<BindValue> binds;
  auto clause = [&](const std::string& condition) {
    where += (where.empty() ? " WHERE " : " AND ") + condition;
  };
  auto match = [&](const char* column, std::string value) {
    clause(std::string(column) + " = ?");
    binds.emplace_back(std::move(value));
  };
  if (!f.kind.empty()) match("kind", f.kind);
  if (!f.host.empty()) match("host", f.host);
  if (!f.status.empty()) {
    // A literal, not a parameter: the planner can then use the partial index of the
    // running scans (scan_running), which a bound value would hide from it.
    if (f.status != "running" && f.status != "complete" && f.status != "failed")
      return Fail(ErrorCode::kInput, "unknown scan status '" + f.status +
                                         "' (running, complete or failed)");
    clause("status = '" + f.status + "'");
  }
  // The roots as BeginScan stores them: the same serialisation compares equal.
  if (f.roots) match("roots", json(*f.roots).dump());
  std::string sql =
      "SELECT " + std::string(kScanColumns) + " FROM scan" + where + " ORDER BY id DESC";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  auto stmt = PrepareBound(sql, binds);
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<ScanRow> out;
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    ScanRow r;
    r.id = stmt->Int(0);
    r.start.kind = stmt->Text(1);
    r.start.host = stmt->Text(2);
    const json roots = json::parse(stmt->Text(3), nullptr, /*allow_exceptions=*/false);
    if (roots.is_array())
      for (const json& root : roots)
        if (root.is_string()) r.start.roots.push_back(root.get<std::string>());
    r.start.started_at = stmt->Int(4);
    r.finished_at = stmt->OptionalInt(5).value_or(0);
    r.status = stmt->Text(6);
    r.stats = {stmt->Int(7), stmt->Int(8), stmt->Int(9), stmt->Int(10)};
    r.events = stmt->Int(11);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<ScanError>> SqliteStore::ScanErrors(std::int64_t scan_id) {
  auto exists = PrepareBound("SELECT 1 FROM scan WHERE id = ?", {scan_id});
  if (!exists) return tl::unexpected(exists.error());
  auto found = exists->Step();
  if (!found) return Failed(found.error());
  if (!*found)
    return Fail(ErrorCode::kNotFound, "scan " + std::to_string(scan_id) + " does not exist");
  auto stmt = PrepareBound("SELECT target, reason FROM scan_error WHERE scan_id = ? ORDER BY id",
                           {scan_id});
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<ScanError> out;
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    out.push_back(ScanError{stmt->Text(0), stmt->Text(1)});
  }
  return out;
}

Result<std::vector<EndpointRow>> SqliteStore::ListEndpoints(const EndpointFilter& f) {
  // The latest result of each endpoint (the highest id: results are only appended), and
  // the leaf it presents now.
  std::string sql =
      "SELECT l.id, l.host, l.port, l.sni, l.first_seen, l.last_seen, r.scan_id, r.seen_at, "
      "r.address, r.ok, r.failure_class, r.error, r.starttls, r.protocol, r.cipher, r.alpn, "
      "r.ocsp_stapled, r.name_matches, r.verified, r.verify_error, r.versions_probed, "
      "r.versions_accepted, CAST(round(r.handshake_ms * 1000) AS INTEGER), r.chain_len, "
      "i.fingerprint, i.subject, i.issuer, i.not_after "
      "FROM location l "
      "JOIN endpoint_result r ON r.id = (SELECT MAX(x.id) FROM endpoint_result x "
      "  WHERE x.location_id = l.id) "
      "LEFT JOIN sighting s ON s.id = (SELECT MIN(y.id) FROM sighting y WHERE "
      "  y.location_id = l.id AND y.position = 'chain:0' AND y.present = 1) "
      "LEFT JOIN identity i ON i.id = s.identity_id "
      "WHERE l.kind = 'tls_endpoint'";
  std::vector<BindValue> binds;
  if (f.failing) sql += " AND r.ok = 0";
  if (f.expiring_before) {
    sql += " AND i.not_after < ?";
    binds.emplace_back(std::int64_t{*f.expiring_before});
  }
  if (!f.issuer_contains.empty()) {
    sql += " AND instr(lower(i.issuer), lower(?)) > 0";
    binds.emplace_back(f.issuer_contains);
  }
  if (!f.protocol.empty()) {
    sql += " AND r.protocol = ?";
    binds.emplace_back(f.protocol);
  }
  sql += " ORDER BY l.host, l.port, l.sni";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  auto stmt = PrepareBound(sql, binds);
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<EndpointRow> out;
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    const Statement& q = *stmt;
    EndpointRow e;
    e.location_id = q.Int(0);
    e.location.kind = LocationKind::kTlsEndpoint;
    e.location.host = q.Text(1);
    e.location.port = static_cast<int>(q.Int(2));
    e.location.sni = q.Text(3);
    e.first_seen = q.Int(4);
    e.last_seen = q.Int(5);
    e.scan_id = q.Int(6);
    e.scanned_at = q.Int(7);
    EndpointFacts& x = e.facts;
    x.address = q.Text(8);
    x.ok = q.Int(9) != 0;
    x.failure_class = q.Text(10);
    x.error = q.Text(11);
    x.starttls = q.Text(12);
    x.protocol = q.Text(13);
    x.cipher = q.Text(14);
    x.alpn = q.Text(15);
    x.ocsp_stapled = q.Int(16) != 0;
    if (auto m = q.OptionalInt(17)) x.name_matches = *m != 0;
    x.verified = q.Int(18) != 0;
    x.verify_error = q.Text(19);
    x.versions_probed = q.Int(20) != 0;
    std::string versions = q.Text(21);
    for (std::size_t pos = 0; pos < versions.size();) {
      auto comma = versions.find(',', pos);
      if (comma == std::string::npos) comma = versions.size();
      x.versions_accepted.push_back(versions.substr(pos, comma - pos));
      pos = comma + 1;
    }
    x.handshake_ms = static_cast<double>(q.Int(22)) / 1000.0;
    x.chain_len = static_cast<int>(q.Int(23));
    if (!q.IsNull(24)) {
      e.leaf_fingerprint = q.Text(24);
      e.leaf_subject = q.Text(25);
      e.leaf_issuer = q.Text(26);
      e.leaf_not_after = q.OptionalInt(27).value_or(0);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  auto db = Database::Open(path);
  if (!db) return tl::unexpected(db.error());
  auto store = std::make_unique<SqliteStore>(std::move(*db));
  if (auto s = store->Init(); !s) return tl::unexpected(s.error());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace mica::store::internal
