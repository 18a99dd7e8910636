// The one inventory interface. Every producer (scanners, later CA, signing, people)
// writes through it and every consumer reads through it; no caller sees SQL.
//
// A Store is NOT thread-safe: use one Store per thread (the SQLite back end opens its
// own connection; WAL lets readers and one writer work at once across processes).
// Errors are Result values: ErrorCode::kIo for database failures (the message names the
// database path and SQLite's reason), kInput for a database that is not mica's or has a
// newer schema, kNotFound for a missing identity.
//
// Data model (docs/ARCHITECTURE.md): identity (kind + fingerprint, unique), location
// (where an identity lives: a file on a host, later a TLS endpoint ...), sighting
// (identity x location, first_seen / last_seen / present), scan (who scanned what,
// when, counts and errors).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/time.h"
#include "store/events.h"
#include "store/people.h"
#include "x509/identity.h"

namespace mica::store {

enum class LocationKind { kFile, kTlsEndpoint };
const char* LocationKindName(LocationKind kind);  // "file", "tls_endpoint"

// Filesystem facts of a file location, refreshed at every scan.
struct FileFacts {
  std::uint32_t mode = 0;  // st_mode permission bits (and type bits)
  std::uint32_t uid = 0, gid = 0;
  std::string owner, group;  // names when resolvable, else ""
  std::int64_t size = 0;
  UnixSeconds mtime = 0;
};

struct Location {
  LocationKind kind = LocationKind::kFile;
  std::string host;  // the scanning host's name for files; the endpoint host otherwise
  std::string path;  // absolute path for files
  int port = 0;      // TLS endpoints
  std::string sni;   // TLS endpoints
};

// What one TLS scan learned about one endpoint (kept per scan in endpoint_result).
struct EndpointFacts {
  std::string address;          // the IP address contacted ("" when never contacted)
  bool ok = false;              // a TLS handshake completed
  std::string failure_class;    // "" when ok; else refused, connect_timeout, ... (docs/TLS.md)
  std::string error;            // the reason in words
  std::string starttls;         // "smtp", "imap", ... or "" for direct TLS
  std::string protocol;         // "TLSv1.3"
  std::string cipher;           // "TLS_AES_256_GCM_SHA384"
  std::string alpn;             // "h2", "http/1.1" or ""
  bool ocsp_stapled = false;
  std::optional<bool> name_matches;  // leaf matches the SNI / target name; unset: no name
  bool verified = false;        // chain verifies against the trust store (+ --ca-file)
  std::string verify_error;     // OpenSSL's reason when not verified
  bool versions_probed = false;
  std::vector<std::string> versions_accepted;  // "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
  double handshake_ms = 0;      // TCP connected to handshake done (STARTTLS included)
  int chain_len = 0;            // certificates presented
};

// One file (or endpoint) as one scan saw it, with everything found in it.
struct Observation {
  Location location;
  std::optional<FileFacts> file;
  std::optional<EndpointFacts> endpoint;  // TLS endpoints: recorded even without identities
  std::string format;  // x509::FormatName of the content
  std::vector<x509::Identity> identities;
};

// A failure the scan recorded and went past: "where" is a path or endpoint.
struct ScanError {
  std::string where;
  std::string reason;
};

struct ScanStart {
  std::string kind;                // "fs", later "tls"
  std::string host;                // scanning host
  std::vector<std::string> roots;  // scanned roots (absolute paths) or targets
  UnixSeconds started_at = 0;
};

struct ScanStats {
  std::int64_t files_seen = 0;
  std::int64_t candidates = 0;    // files whose content was sniffed as a possible identity
  std::int64_t identities = 0;    // identity sightings recorded
  std::int64_t errors = 0;
};

struct ScanRow {
  std::int64_t id = 0;
  ScanStart start;
  UnixSeconds finished_at = 0;  // 0 while running or when it failed
  std::string status;           // "running", "complete", "failed"
  ScanStats stats;
  std::int64_t events = 0;      // change events recorded when it finished
};

// Which scans ListScans returns, newest first. An empty field matches every scan.
struct ScanFilter {
  static ScanFilter Latest(int n) {
    ScanFilter f;
    f.limit = n;
    return f;
  }

  std::string kind;    // "fs", "tls"
  std::string host;
  std::string status;  // "running", "complete", "failed"
  std::optional<std::vector<std::string>> roots;  // exactly these roots, as BeginScan got them
  int limit = 0;                                  // 0: no limit
};

struct IdentityRow {
  std::int64_t id = 0;
  x509::Identity identity;
  UnixSeconds first_seen = 0;
  UnixSeconds last_seen = 0;
  int locations = 0;         // locations where it is present now
};

struct SightingRow {
  std::int64_t identity_id = 0;
  Location location;
  std::optional<FileFacts> file;
  std::string position;      // inside the file: "pem:2"
  UnixSeconds first_seen = 0;
  UnixSeconds last_seen = 0;
  bool present = true;       // false once a later scan of the same root no longer saw it
  UnixSeconds vanished_at = 0;
  std::int64_t first_scan_id = 0, last_scan_id = 0;
};

// One identity present somewhere now, with every place it is present, as
// Store::ForEachPresentIdentity hands it to its visitor.
struct PresentIdentity {
  std::int64_t id = 0;
  // position: as stored; for a certificate kept as its DER alone, that of its first
  // present sighting.
  x509::Identity identity;
  // Its present sightings, ordered by path, then position.
  std::vector<SightingRow> sightings;
};

struct IdentityFilter {
  std::optional<x509::Kind> kind;
  std::optional<UnixSeconds> expiring_before;  // not_after < this and not yet expired at `now`
  std::optional<UnixSeconds> expired_at;       // not_after < this
  UnixSeconds now = 0;
  std::string issuer_contains;                 // case-insensitive substring of the issuer
  std::optional<x509::KeyType> key_type;
  std::string location_glob;                   // fnmatch-style over file paths
  std::optional<bool> self_signed;
  std::optional<bool> is_ca;
  std::string eku;                             // e.g. "code_signing"
  bool include_vanished = false;               // identities no longer present anywhere
  int limit = 0;                               // 0: no limit
};

struct Count {
  std::string key;
  std::int64_t count = 0;
};

struct Summary {
  std::vector<Count> by_kind, by_issuer, by_key_type;   // key type as "rsa-2048", "ec-prime256v1"
  std::vector<IdentityRow> expiring;        // certificates expiring within the window
  std::vector<IdentityRow> expired;
  std::vector<SightingRow> exposed_keys;    // private keys unencrypted or readable by others
  std::vector<IdentityRow> orphan_keys;     // private keys with no certificate of the same SPKI
  std::vector<IdentityRow> code_signing;    // code-signing certificates
  // The lists above hold at most `list_limit` rows each; these are the full counts.
  std::int64_t expiring_total = 0, expired_total = 0, exposed_total = 0, orphan_total = 0,
               code_signing_total = 0;
  std::int64_t identities = 0, locations = 0;
  std::optional<ScanRow> last_scan;
};

// One TLS endpoint with the facts of its latest scan and its present leaf certificate.
struct EndpointRow {
  std::int64_t location_id = 0;
  Location location;
  UnixSeconds first_seen = 0, last_seen = 0;
  std::int64_t scan_id = 0;     // the scan the facts come from
  UnixSeconds scanned_at = 0;
  EndpointFacts facts;
  // The present leaf ("chain:0"); empty fingerprint when none is known.
  std::string leaf_fingerprint, leaf_subject, leaf_issuer;
  UnixSeconds leaf_not_after = 0;
};

struct EndpointFilter {
  bool failing = false;                        // latest scan did not complete a handshake
  std::optional<UnixSeconds> expiring_before;  // leaf not_after < this
  std::string issuer_contains;                 // leaf issuer, case-insensitive
  std::string protocol;                        // exact, e.g. "TLSv1.2"
  int limit = 0;
};

class Store {
 public:
  // Opens (creating and migrating as needed) the inventory at `path` ("mica.db"). Later
  // a "postgresql://" URL selects the PostgreSQL back end.
  [[nodiscard]] static Result<std::unique_ptr<Store>> Open(const std::string& path);

  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Scans. A scan is Begin, any number of Record calls (each batch commits in one
  // transaction), then Finish, which marks sightings under the scan's roots that this
  // scan did not see as vanished. A scan never Finished stays "running" (or is marked
  // "failed" by FailScan) and marks nothing vanished.
  [[nodiscard]] virtual Result<std::int64_t> BeginScan(const ScanStart& start) = 0;
  [[nodiscard]] virtual Status Record(std::int64_t scan_id,
                                      const std::vector<Observation>& observations,
                                      const std::vector<ScanError>& errors,
                                      UnixSeconds seen_at) = 0;
  // With a `classify`, FinishScan also computes the scan's ChangeSet (sightings added,
  // vanished, file modes changed), records the events `classify` makes of it and appends
  // them to the audit log, all in the transaction that completes the scan. With a
  // `baseline` too, what the scan added at locations new to the inventory is summed up
  // (BaselineSummary) into the one event `baseline` makes, instead of being classified.
  [[nodiscard]] virtual Status FinishScan(std::int64_t scan_id, const ScanStats& stats,
                                          UnixSeconds finished_at,
                                          const ChangeClassifier& classify = {},
                                          const BaselineClassifier& baseline = {}) = 0;
  [[nodiscard]] virtual Status FailScan(std::int64_t scan_id, const std::string& reason,
                                        UnixSeconds finished_at) = 0;

  // Queries.
  [[nodiscard]] virtual Result<std::vector<IdentityRow>> ListIdentities(
      const IdentityFilter& filter) = 0;
  // Identities whose fingerprint starts with `prefix` (hex, or "SHA256:..." for SSH).
  [[nodiscard]] virtual Result<std::vector<IdentityRow>> FindByFingerprint(
      const std::string& prefix) = 0;
  [[nodiscard]] virtual Result<std::vector<SightingRow>> Sightings(std::int64_t identity_id) = 0;
  // Every present sighting of every identity, ordered by identity_id: one query for
  // consumers that judge the whole inventory (policy check), instead of one per identity.
  [[nodiscard]] virtual Result<std::vector<SightingRow>> AllPresentSightings() = 0;
  // Calls `visit` once for every identity present somewhere now, in id order, with its
  // present sightings: one query, identities decoded a few hundred at a time (on a helper
  // thread; `visit` runs on the caller's), so that a consumer judging the whole inventory
  // (policy check) never holds all of it. What `visit` gets lives until it returns (move
  // out what must outlive the call). All identities come from one snapshot of the
  // inventory. Errors: kIo, and kInput for an identity that cannot be decoded (nothing
  // after it is visited).
  [[nodiscard]] virtual Status ForEachPresentIdentity(
      const std::function<void(PresentIdentity&)>& visit) = 0;
  // Identities sharing `spki_sha256` (certificates and keys of one key pair).
  [[nodiscard]] virtual Result<std::vector<IdentityRow>> FindBySpki(
      const std::string& spki_sha256) = 0;
  // Each list of the summary holds at most `list_limit` rows (the most urgent first);
  // the *_total fields count them all.
  [[nodiscard]] virtual Result<Summary> Summarize(UnixSeconds now, std::int64_t expiry_window,
                                                  int list_limit = 100) = 0;
  // Asked of the database: an inventory `mica watch` feeds holds one row per scan.
  [[nodiscard]] virtual Result<std::vector<ScanRow>> ListScans(const ScanFilter& filter = {}) = 0;
  // True when a complete scan of the same kind, host and roots as `start` exists: the
  // scan about to run is then not the baseline of its roots. One ListScans filter, so a
  // back end has nothing more to implement (store.cpp).
  [[nodiscard]] Result<bool> HasCompleteScan(const ScanStart& start);
  [[nodiscard]] virtual Result<std::vector<ScanError>> ScanErrors(std::int64_t scan_id) = 0;
  // TLS endpoints with their latest facts, ordered by host, port, SNI.
  [[nodiscard]] virtual Result<std::vector<EndpointRow>> ListEndpoints(
      const EndpointFilter& filter) = 0;

  // Events and the audit log (store/events.h). Every event appended here or by
  // FinishScan / SyncFindings also becomes the next audit-log entry, in one transaction.
  // Events whose dedup_key is already recorded are skipped. Returns the ids recorded.
  [[nodiscard]] virtual Result<std::vector<std::int64_t>> AppendEvents(
      const std::vector<Event>& events) = 0;
  [[nodiscard]] virtual Result<std::vector<Event>> ListEvents(const EventFilter& filter) = 0;
  // Unsigned tree heads are recorded at every multiple of `interval` entries (default
  // 1000); Checkpoint records the current head. Signing happens outside the store.
  virtual void SetCheckpointInterval(std::int64_t interval) = 0;
  [[nodiscard]] virtual Result<AuditHead> GetAuditHead() = 0;
  [[nodiscard]] virtual Result<AuditCheckpoint> Checkpoint(UnixSeconds at) = 0;
  [[nodiscard]] virtual Result<std::vector<AuditCheckpoint>> ListCheckpoints(
      bool unsigned_only) = 0;
  [[nodiscard]] virtual Status SignCheckpoint(std::int64_t size, const std::string& key_id,
                                              const std::string& algorithm,
                                              const Bytes& signature) = 0;
  // Entries with seq in [from, from + limit), in order; limit 0: to the end.
  [[nodiscard]] virtual Result<std::vector<AuditEntry>> ReadAudit(std::int64_t from,
                                                                  std::int64_t limit) = 0;
  // Calls `visit` on every entry in seq order without holding them all in memory.
  [[nodiscard]] virtual Status ScanAudit(
      const std::function<void(const AuditEntry&)>& visit) = 0;

  // Findings. SyncFindings takes every finding of the rules in `rules` (empty: every
  // rule) reported now: opens the new ones, refreshes the open ones, resolves open ones
  // of those rules no longer reported (other rules' findings are left alone), and records
  // the events `classify` makes of the delta, in one transaction.
  [[nodiscard]] virtual Result<FindingDelta> SyncFindings(
      const std::vector<std::string>& rules, const std::vector<FindingRecord>& current,
      UnixSeconds now, const FindingClassifier& classify = {}) = 0;
  [[nodiscard]] virtual Result<std::vector<FindingRecord>> ListFindings(
      const FindingFilter& filter) = 0;

  // The alert outbox. RouteAlerts reads the events after `sink`'s cursor, enqueues
  // one alert per event `route` accepts and advances the cursor, in one transaction:
  // an event is routed to a sink exactly once. Returns the number enqueued.
  [[nodiscard]] virtual Result<std::int64_t> RouteAlerts(const std::string& sink,
                                                          const AlertRoute& route,
                                                          UnixSeconds now) = 0;
  // Undelivered alerts of `sink` due at `now` (next_attempt_at <= now), oldest first.
  [[nodiscard]] virtual Result<std::vector<AlertRow>> DueAlerts(const std::string& sink,
                                                                 UnixSeconds now,
                                                                 int limit) = 0;
  [[nodiscard]] virtual Status MarkDelivered(const std::vector<std::int64_t>& alert_ids,
                                             UnixSeconds at) = 0;
  [[nodiscard]] virtual Status MarkRetry(std::int64_t alert_id, UnixSeconds next_attempt_at,
                                         const std::string& error) = 0;
  [[nodiscard]] virtual Status MarkGaveUp(std::int64_t alert_id, UnixSeconds at,
                                          const std::string& error) = 0;
  [[nodiscard]] virtual Result<std::vector<AlertRow>> ListAlerts(const AlertFilter& filter) = 0;

  // The human side: people, owners, access events, risk (store/people.h). Owned by the
  // store; valid while it lives.
  virtual PeopleStore& People() = 0;

 protected:
  Store() = default;
};

}  // namespace mica::store
