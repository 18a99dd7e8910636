// The human side of the inventory (docs/PEOPLE.md): people from an HR export, owners of
// identities, access events and the per-person aggregates that risk scoring reads,
// endpoint inventories, risk scores with their history, and blocks.
//
// The people module computes; this interface only stores. Access events arrive in large
// batches (IngestBatch): the events themselves plus the deltas the ingester folded into
// compact aggregates (per person x day x hour counts, per person x day x country counts,
// links between people and IPs / devices / MFA devices / identities, sessions,
// observations). Scoring then reads the aggregates of a window, never the raw events.
//
// A PeopleStore belongs to its Store and has the same threading rule: one thread. Errors
// are Result values (kIo for database failures naming the database, kNotFound for an
// unknown person).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/time.h"

namespace mica::store {

// One person as the HR export describes them. Hash fields hold lowercase hex SHA-256 of
// the normalised value (people/hr_import.h hashes raw values on import); raw phone
// numbers, accounts, addresses and résumés are never stored.
struct Person {
  std::string id;
  std::string name, email;
  std::string type;  // employee, contractor, vendor
  std::string country, city, timezone;  // declared; country is ISO 3166 alpha-2
  std::string manager, start_date;
  std::string phone_hash, payment_hash, address_hash, resume_hash;
  std::string payment_type;           // domestic, foreign, virtual_currency, ... ("" unknown)
  std::string referred_by;            // person id
  std::string laptop_serial;          // serial of the laptop shipped to the person
  std::string shipping_address_hash;  // where that laptop was shipped
  // Kept by the store.
  UnixSeconds created_at = 0, updated_at = 0;
  bool blocked = false;               // signing and issuance blocked pending approval
  UnixSeconds blocked_at = 0;
  std::string blocked_reason;
  std::string approved_by;            // who cleared the last block
  UnixSeconds approved_at = 0;
  double approved_score = 0;          // the score at approval: a block returns above it
};

struct ImportStats {
  std::int64_t added = 0, updated = 0, unchanged = 0;
  std::int64_t payment_changes = 0;  // people whose payment hash changed in this import
};

// A recorded change of a sensitive HR field (payment_hash, payment_type, ...).
struct PersonChange {
  std::string person, field, before, after;
  UnixSeconds at = 0;
};

// Ownership. kind: "fingerprint" (explicit, exact), "path" (fnmatch glob over file
// locations), "san" (DNS SAN equal to the pattern or a subdomain of it), "issuer"
// (case-insensitive substring), "tag" (an identity tag set with SetTag).
struct OwnerRule {
  std::int64_t id = 0;
  std::string kind, pattern, owner;
  UnixSeconds created_at = 0;
};

// The owner people::ApplyOwnership resolved for one identity; source names the rule
// ("rule:3 path /etc/nginx/*").
struct OwnerAssignment {
  std::string fingerprint, owner, source;
};

// One access event, enriched by the ingester with what the IP intelligence knew.
struct AccessEvent {
  UnixSeconds at = 0;
  std::string person, source_ip, device, user_agent, action, target, mfa_device, session;
  std::string country;  // ISO alpha-2 of source_ip, "" unknown
  std::int64_t asn = 0;
  std::string intel;    // "vpn:x4bnet-vpn", "tor:tor-exits", "hosting:aws", "" none
};

// Per-person aggregates (deltas: the store adds them to what it holds).
struct HourCount {
  std::string person;
  std::int64_t day = 0;  // days since 1970-01-01 (UTC)
  int hour = 0;          // UTC hour 0..23
  std::int64_t events = 0;
};
struct CountryCount {
  std::string person;
  std::int64_t day = 0;
  std::string country;
  std::int64_t events = 0;
  UnixSeconds first_at = 0, last_at = 0;
};
// person used `value` of `kind`: "ip", "device", "mfa", "target" (an identity),
// "sensitive_device" (a device that made a signing / SSH / issuance request).
struct Link {
  std::string kind, value, person;
  UnixSeconds first_at = 0, last_at = 0;
  std::int64_t events = 0;
};
struct Session {
  std::string session, person;
  UnixSeconds first_at = 0, last_at = 0;
  std::int64_t events = 0;
};
// Where the person last was, for impossible travel across ingest runs.
struct TravelState {
  std::string person;
  UnixSeconds at = 0;
  bool has_geo = false;
  double lat = 0, lon = 0;
  std::string country, ip;
};
// A per-event signal the ingester saw (anonymiser access, impossible travel, identity used
// from a new device or country), merged per (person, signal, key, day).
struct RiskObservation {
  std::string person, signal, key;
  std::int64_t day = 0;
  UnixSeconds first_at = 0, last_at = 0;
  std::int64_t events = 0;
  std::string evidence;  // one line for humans, from the first occurrence
};
// What (identity, device|country) pairs have been seen: the baseline of "identity used
// from a device or location never seen".
struct IdentityUse {
  std::string target, kind, value;
  UnixSeconds first_at = 0, last_at = 0;
  std::int64_t events = 0;
};

struct IngestBatch {
  std::vector<AccessEvent> events;
  std::vector<HourCount> hours;
  std::vector<CountryCount> countries;
  std::vector<Link> links;
  std::vector<Session> sessions;
  std::vector<TravelState> travel;
  std::vector<RiskObservation> observations;
  std::vector<IdentityUse> uses;
};

// What the ingester needs to continue where the last run stopped.
struct IngestState {
  std::vector<TravelState> travel;
  std::vector<IdentityUse> uses;
};

// An endpoint inventory report for one device.
struct UsbDevice {
  std::string device_class, vendor, product, name;  // class and ids as hex ("03", "1d6b")
};
struct Device {
  std::string id, person, serial;
  bool managed = true;  // listed in the asset inventory
  std::vector<std::string> software, monitors;
  std::vector<UsbDevice> usb;
  UnixSeconds reported_at = 0;
};

// The aggregates of one window, as scoring reads them.
struct RiskInput {
  UnixSeconds from = 0, to = 0;
  std::vector<Person> people;
  std::vector<HourCount> hours;
  std::vector<CountryCount> countries;
  std::vector<Link> links;         // last_at within the window
  std::vector<Session> sessions;   // overlapping the window
  std::vector<RiskObservation> observations;
  std::vector<Device> devices;
  std::vector<PersonChange> changes;  // since `changes_from`
};

// One scored signal: `points` = weight (or share for referrals), evidence for a human.
struct SignalHit {
  std::string signal;
  double points = 0;
  std::string explanation;
  std::vector<std::string> evidence;
};

struct RiskScore {
  std::string person;
  UnixSeconds at = 0;
  UnixSeconds window_from = 0, window_to = 0;
  double score = 0;
  std::vector<SignalHit> signals;
};

class PeopleStore {
 public:
  virtual ~PeopleStore() = default;

  // People. Upsert by id in one transaction: a known id is updated (never duplicated);
  // changes of payment_hash / payment_type are recorded as PersonChange rows.
  [[nodiscard]] virtual Result<ImportStats> UpsertPeople(const std::vector<Person>& people,
                                                         UnixSeconds now) = 0;
  [[nodiscard]] virtual Result<std::vector<Person>> ListPeople() = 0;
  // kNotFound when no such id.
  [[nodiscard]] virtual Result<Person> GetPerson(const std::string& id) = 0;
  [[nodiscard]] virtual Result<std::vector<PersonChange>> ListChanges(const std::string& person) = 0;

  // Ownership.
  [[nodiscard]] virtual Result<std::int64_t> AddOwnerRule(const OwnerRule& rule) = 0;
  [[nodiscard]] virtual Status RemoveOwnerRule(std::int64_t id) = 0;
  [[nodiscard]] virtual Result<std::vector<OwnerRule>> ListOwnerRules() = 0;
  [[nodiscard]] virtual Status SetTag(const std::string& fingerprint, const std::string& tag) = 0;
  // fingerprint -> tags
  [[nodiscard]] virtual Result<std::map<std::string, std::vector<std::string>>> Tags() = 0;
  // Replaces every resolved owner with `assignments` in one transaction.
  [[nodiscard]] virtual Status ReplaceOwners(const std::vector<OwnerAssignment>& assignments,
                                             UnixSeconds now) = 0;
  // fingerprint -> owner, for every identity with an owner: what the "no-owner" policy
  // rule and alert routing read.
  [[nodiscard]] virtual Result<std::map<std::string, std::string>> OwnersByFingerprint() = 0;
  [[nodiscard]] virtual Result<std::vector<OwnerAssignment>> ListOwners() = 0;

  // Access events. Ingest writes one batch (events and aggregate deltas) in one
  // transaction. The streaming form does the same for batches too large to hold:
  // AppendAccessEvents opens the transaction on first use and may be called any number
  // of times; CommitIngest adds the aggregate deltas (its `events` are ignored) and
  // commits. A store destroyed with an ingest open rolls it back.
  [[nodiscard]] virtual Status Ingest(const IngestBatch& batch) = 0;
  [[nodiscard]] virtual Status AppendAccessEvents(std::span<const AccessEvent> events) = 0;
  [[nodiscard]] virtual Status CommitIngest(const IngestBatch& aggregates) = 0;
  [[nodiscard]] virtual Result<IngestState> LoadIngestState() = 0;
  // Most recent first; person "" means everyone.
  [[nodiscard]] virtual Result<std::vector<AccessEvent>> RecentEvents(const std::string& person,
                                                                      int limit) = 0;
  [[nodiscard]] virtual Result<std::int64_t> CountEvents() = 0;
  // Identities (targets) a person used.
  [[nodiscard]] virtual Result<std::vector<std::string>> TargetsOf(const std::string& person) = 0;

  // Endpoint inventory: upsert by device id.
  [[nodiscard]] virtual Status UpsertDevices(const std::vector<Device>& devices) = 0;
  [[nodiscard]] virtual Result<std::vector<Device>> ListDevices() = 0;

  // Scoring.
  [[nodiscard]] virtual Result<RiskInput> LoadRiskInput(UnixSeconds from, UnixSeconds to,
                                                        UnixSeconds changes_from) = 0;
  [[nodiscard]] virtual Status RecordScores(const std::vector<RiskScore>& scores) = 0;
  // The latest score of each person (empty before the first scoring).
  [[nodiscard]] virtual Result<std::vector<RiskScore>> LatestScores() = 0;
  [[nodiscard]] virtual Result<std::vector<RiskScore>> ScoreHistory(const std::string& person,
                                                                    int limit) = 0;

  // Blocks: kNotFound for an unknown person.
  [[nodiscard]] virtual Status Block(const std::string& person, const std::string& reason,
                                     UnixSeconds at) = 0;
  // Clears the block; `score` is the score the approval covers.
  [[nodiscard]] virtual Status Approve(const std::string& person, const std::string& by,
                                       double score, UnixSeconds at) = 0;
};

}  // namespace mica::store
