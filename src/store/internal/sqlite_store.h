// The SQLite back end of Store; Store::Open picks it for a plain file path. Private to
// the store module.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/internal/sqlite.h"
#include "store/internal/wal_checkpointer.h"
#include "store/internal/sqlite_people.h"
#include "store/store.h"

namespace mica::store::internal {

[[nodiscard]] Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

using BindValue = std::variant<std::int64_t, std::string>;
using x509::Identity;

// Columns every event query selects (table alias e), in the order ReadEvent reads them
// starting at column `first`.
inline constexpr std::string_view kEventColumns =
    "e.id, e.at, e.type, e.severity, e.scan_id, e.location_id, e.location, e.before_fp, "
    "e.after_fp, e.subject, e.owner, e.detail, e.dedup_key, e.audit_seq";
inline constexpr int kEventColumnCount = 14;
Event ReadEvent(const Statement& s, int first);
// The place columns of a sighting, from column `first` on: location kind, host, path,
// port, sni, the seven file-fact columns (mode NULL: no facts), position, first_seen,
// last_seen (sqlite_store.cpp).
void ReadSightingPlace(const Statement& s, int first, SightingRow& row);

// The methods are split by subject over sqlite_store.cpp (scans, identities, queries),
// sqlite_present.cpp (the whole present inventory, streamed), sqlite_events.cpp (events,
// audit log, findings) and sqlite_outbox.cpp (alerts).
class SqliteStore final : public Store {
 public:
  explicit SqliteStore(Database db) : db_(std::move(db)) {}

  [[nodiscard]] Status Init();

  Result<std::int64_t> BeginScan(const ScanStart& start) override;
  Status Record(std::int64_t scan_id, const std::vector<Observation>& observations,
                const std::vector<ScanError>& errors, UnixSeconds seen_at) override;
  Status FinishScan(std::int64_t scan_id, const ScanStats& stats, UnixSeconds finished_at,
                    const ChangeClassifier& classify,
                    const BaselineClassifier& baseline) override;
  Status FailScan(std::int64_t scan_id, const std::string& reason,
                  UnixSeconds finished_at) override;

  Result<std::vector<IdentityRow>> ListIdentities(const IdentityFilter& filter) override;
  Result<std::vector<IdentityRow>> FindByFingerprint(const std::string& prefix) override;
  Result<std::vector<SightingRow>> Sightings(std::int64_t identity_id) override;
  Result<std::vector<SightingRow>> AllPresentSightings() override;
  Status ForEachPresentIdentity(const std::function<void(PresentIdentity&)>& visit) override;
  Result<std::vector<IdentityRow>> FindBySpki(const std::string& spki_sha256) override;
  Result<Summary> Summarize(UnixSeconds now, std::int64_t expiry_window,
                            int list_limit) override;
  Result<std::vector<ScanRow>> ListScans(const ScanFilter& filter) override;
  Result<std::vector<ScanError>> ScanErrors(std::int64_t scan_id) override;
  Result<std::vector<EndpointRow>> ListEndpoints(const EndpointFilter& filter) override;

  // Events, audit log, findings (sqlite_events.cpp).
  Result<std::vector<std::int64_t>> AppendEvents(const std::vector<Event>& events) override;
  Result<std::vector<Event>> ListEvents(const EventFilter& filter) override;
  void SetCheckpointInterval(std::int64_t interval) override { checkpoint_interval_ = interval; }
  Result<AuditHead> GetAuditHead() override;
  Result<AuditCheckpoint> Checkpoint(UnixSeconds at) override;
  Result<std::vector<AuditCheckpoint>> ListCheckpoints(bool unsigned_only) override;
  Status SignCheckpoint(std::int64_t size, const std::string& key_id,
                        const std::string& algorithm, const Bytes& signature) override;
  Result<std::vector<AuditEntry>> ReadAudit(std::int64_t from, std::int64_t limit) override;
  Status ScanAudit(const std::function<void(const AuditEntry&)>& visit) override;
  Result<FindingDelta> SyncFindings(const std::vector<std::string>& rules,
                                    const std::vector<FindingRecord>& current, UnixSeconds now,
                                    const FindingClassifier& classify) override;
  Result<std::vector<FindingRecord>> ListFindings(const FindingFilter& filter) override;

  // The alert outbox (sqlite_outbox.cpp).
  Result<std::int64_t> RouteAlerts(const std::string& sink, const AlertRoute& route,
                                   UnixSeconds now) override;
  Result<std::vector<AlertRow>> DueAlerts(const std::string& sink, UnixSeconds now,
                                          int limit) override;
  Status MarkDelivered(const std::vector<std::int64_t>& alert_ids, UnixSeconds at) override;
  Status MarkRetry(std::int64_t alert_id, UnixSeconds next_attempt_at,
                   const std::string& error) override;
  Status MarkGaveUp(std::int64_t alert_id, UnixSeconds at, const std::string& error) override;
  Result<std::vector<AlertRow>> ListAlerts(const AlertFilter& filter) override;

  // People (sqlite_people.cpp), created by Init once the schema is current.
  PeopleStore& People() override { return *people_; }

 private:
  // Every error leaving the store names the database.
  tl::unexpected<Error> Failed(const Error& e) const { return Wrap(e, "inventory " + db_.path()); }
  [[nodiscard]] Status CheckIsMica();
  [[nodiscard]] Status Migrate();
  [[nodiscard]] Status PrepareStatements();
  // OK when scan `id` exists and is running; kNotFound / kInvalidArgument otherwise.
  [[nodiscard]] Status CheckRunning(std::int64_t scan_id);
  [[nodiscard]] Result<std::int64_t> UpsertIdentity(const Identity& id, UnixSeconds seen_at);
  [[nodiscard]] Result<std::int64_t> UpsertLocation(const Observation& o, std::int64_t scan_id,
                                                   UnixSeconds seen_at);

  // Runs `sql` with `binds` and reads identity rows (the query selects kIdentityColumns).
  [[nodiscard]] Result<std::vector<IdentityRow>> QueryIdentities(
      const std::string& sql, const std::vector<BindValue>& binds);
  [[nodiscard]] Result<std::vector<SightingRow>> QuerySightings(
      const std::string& sql, const std::vector<BindValue>& binds);
  [[nodiscard]] Result<Statement> PrepareBound(const std::string& sql,
                                               const std::vector<BindValue>& binds);

  // Inside an open transaction: records `events` (skipping known dedup keys) and appends
  // each to the audit log. Returns the ids recorded (sqlite_events.cpp).
  [[nodiscard]] Result<std::vector<std::int64_t>> AppendEventsLocked(std::vector<Event> events);
  // Inside FinishScan's transaction: reads the changes of scan `scan_id`, classifies them
  // (with a `baseline`, sums up what came at new locations instead) and appends the
  // events; returns how many were recorded (sqlite_events.cpp).
  [[nodiscard]] Result<std::int64_t> RecordChanges(std::int64_t scan_id, const std::string& kind,
                                                   UnixSeconds at,
                                                   const ChangeClassifier& classify,
                                                   const BaselineClassifier& baseline);
  // Inside FinishScan's transaction: marks the sightings under the scan's `roots` (files)
  // and at its endpoints that answered (TLS) that the scan did not see as vanished.
  [[nodiscard]] Status MarkVanished(std::int64_t scan_id, const std::string& host,
                                    const std::vector<std::string>& roots,
                                    UnixSeconds finished_at);
  // The BaselineSummary of what scan `scan_id` added at locations it saw first.
  [[nodiscard]] Result<BaselineSummary> SummarizeBaseline(std::int64_t scan_id,
                                                          const std::string& kind, UnixSeconds at);

  Database db_;
  std::int64_t checkpoint_interval_ = 1000;
  // The write path's statements, prepared once (see PrepareStatements).
  Statement scan_status_, begin_scan_, find_identity_, insert_identity_, upsert_location_,
      upsert_sighting_, insert_error_, insert_endpoint_;
  // Declared after db_, so destroyed before it.
  std::unique_ptr<SqlitePeopleStore> people_;
  // Started by the first scan on a file database (BeginScan); see wal_checkpointer.h.
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace mica::store::internal
