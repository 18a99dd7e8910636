// The SQLite implementation of PeopleStore, over the SqliteStore's connection. Private
// to the store module.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "store/internal/sqlite.h"
#include "store/people.h"

namespace mica::store::internal {

class SqlitePeopleStore final : public PeopleStore {
 public:
  // `db` must outlive this object (SqliteStore owns both and destroys this one first).
  explicit SqlitePeopleStore(Database& db) : db_(db) {}

  // Prepares the ingest statements; call after the migrations ran.
  [[nodiscard]] Status Init();

  Result<ImportStats> UpsertPeople(const std::vector<Person>& people, UnixSeconds now) override;
  Result<std::vector<Person>> ListPeople() override;
  Result<Person> GetPerson(const std::string& id) override;
  Result<std::vector<PersonChange>> ListChanges(const std::string& person) override;

  Result<std::int64_t> AddOwnerRule(const OwnerRule& rule) override;
  Status RemoveOwnerRule(std::int64_t id) override;
  Result<std::vector<OwnerRule>> ListOwnerRules() override;
  Status SetTag(const std::string& fingerprint, const std::string& tag) override;
  Result<std::map<std::string, std::vector<std::string>>> Tags() override;
  Status ReplaceOwners(const std::vector<OwnerAssignment>& assignments, UnixSeconds now) override;
  Result<std::map<std::string, std::string>> OwnersByFingerprint() override;
  Result<std::vector<OwnerAssignment>> ListOwners() override;

  Status Ingest(const IngestBatch& batch) override;
  Status AppendAccessEvents(std::span<const AccessEvent> events) override;
  Status CommitIngest(const IngestBatch& aggregates) override;
  Result<IngestState> LoadIngestState() override;
  Result<std::vector<AccessEvent>> RecentEvents(const std::string& person, int limit) override;
  Result<std::int64_t> CountEvents() override;
  Result<std::vector<std::string>> TargetsOf(const std::string& person) override;

  Status UpsertDevices(const std::vector<Device>& devices) override;
  Result<std::vector<Device>> ListDevices() override;

  Result<RiskInput> LoadRiskInput(UnixSeconds from, UnixSeconds to,
                                  UnixSeconds changes_from) override;
  Status RecordScores(const std::vector<RiskScore>& scores) override;
  Result<std::vector<RiskScore>> LatestScores() override;
  Result<std::vector<RiskScore>> ScoreHistory(const std::string& person, int limit) override;

  Status Block(const std::string& person, const std::string& reason, UnixSeconds at) override;
  Status Approve(const std::string& person, const std::string& by, double score,
                 UnixSeconds at) override;

 private:
  tl::unexpected<Error> Failed(const Error& e) const { return Wrap(e, "inventory " + db_.path()); }
  Result<std::vector<Person>> QueryPeople(const std::string& where, const std::string& bind);
  Result<std::vector<RiskScore>> QueryScores(const std::string& sql, const std::string& bind,
                                             int limit);

  Database& db_;
  std::optional<Transaction> ingest_;  // open between AppendAccessEvents and CommitIngest
  std::string pack_;                   // the block being written, reused
  Statement insert_event_, upsert_hour_, upsert_country_, upsert_link_, upsert_session_,
      upsert_travel_, upsert_observation_, upsert_use_;
};

}  // namespace mica::store::internal
