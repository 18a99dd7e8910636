// Value types of the change side of the inventory: what changed at a location between two
// scans (ChangeSet), the events made from it, stored findings, the audit log and the
// alert outbox. store.h declares the Store methods that read and write them.
//
// The store computes raw changes inside the transaction that finishes a scan and hands
// them to a classifier (watch::ClassifyChanges) that decides which events they are; the
// events, their audit-log entries and the scan's completion then commit together, so a
// crash leaves either all of them or none.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/time.h"

namespace mica::store {

// What change detection needs to know about one identity.
struct ChangeIdentity {
  std::int64_t id = 0;
  std::string kind;         // x509::KindName
  std::string fingerprint;
  std::string subject, issuer;
  std::string spki_sha256;
  bool is_ca = false;
  bool self_signed = false;
  bool code_signing = false;             // certificate with the code-signing EKU
  std::optional<bool> private_encrypted; // private keys
  UnixSeconds not_after = 0;             // certificates; 0 otherwise
  std::string position;                  // inside the location: "pem:2", "chain:0"
  bool new_identity = false;             // never announced at any location before
};

// One location where this scan saw something change.
struct LocationChange {
  std::int64_t location_id = 0;
  std::string kind;        // "file", "tls_endpoint"
  std::string name;        // "/etc/ssl/a.pem" or "tls://host:443 (sni)"
  std::string path;        // files
  bool new_location = false;
  std::vector<ChangeIdentity> added;    // present now, not announced before
  std::vector<ChangeIdentity> removed;  // vanished in this scan
  // Files whose permission bits changed in this scan, with the identities in them.
  std::optional<std::uint32_t> mode_before, mode_after;
  std::vector<ChangeIdentity> present;  // set when the mode changed
};

struct ChangeSet {
  std::int64_t scan_id = 0;
  std::string scan_kind;   // "fs", "tls"
  UnixSeconds at = 0;
  std::vector<LocationChange> locations;
};

// A change or an administrative action, as recorded in the event table and the audit log.
struct Event {
  std::int64_t id = 0;          // assigned by the store
  UnixSeconds at = 0;
  std::string type;             // identity_added, issuer_changed, ... (docs/EVENTS.md)
  std::string severity;         // info, low, medium, high, critical
  std::int64_t scan_id = 0;     // 0: not from a scan
  std::int64_t location_id = 0; // 0: no location
  std::string location;         // human-readable location
  std::string before, after;    // identity fingerprints ("" when none)
  std::string subject;
  std::string owner;            // "" until an owner is known
  std::string detail;           // one line for humans
  // Events with the same non-empty key are recorded once ("expiry:<fp>:30d").
  std::string dedup_key;
  std::int64_t audit_seq = -1;  // its leaf in the audit log, assigned by the store
};

using ChangeClassifier = std::function<std::vector<Event>(const ChangeSet&)>;

// What a baseline scan (the first complete scan of its roots) found at locations it saw
// for the first time, summed up for one event instead of one event per identity
// (docs/EVENTS.md, "Scan baseline"). Changes at locations known before are classified
// one by one as usual.
struct BaselineSummary {
  std::int64_t scan_id = 0;
  std::string scan_kind;  // "fs", "tls"
  UnixSeconds at = 0;
  std::int64_t sightings = 0;  // identity sightings summed up
  std::int64_t locations = 0;  // new locations holding them
  std::vector<std::pair<std::string, std::int64_t>> by_kind;  // x509::KindName -> count, by name
  std::int64_t code_signing = 0;         // code-signing certificate sightings
  std::int64_t ca = 0;                   // CA certificate sightings
  std::int64_t unencrypted_private = 0;  // private key sightings not encrypted
  // Lower-case hex SHA-256 of "fingerprint LF location LF position LF" for every
  // sighting summed up, in sighting id order: the audit log commits to exactly which.
  std::string sha256;
};

// Makes the one event a baseline scan records (watch::BaselineEvent).
using BaselineClassifier = std::function<Event(const BaselineSummary&)>;

struct EventFilter {
  std::int64_t after_id = 0;     // events with id > after_id
  UnixSeconds since = 0;         // at >= since
  std::string type;              // exact; "" any
  int limit = 0;                 // 0: no limit
};

// A finding as the policy reports it now, and as stored.
struct FindingRecord {
  std::int64_t id = 0;           // stored rows only
  std::string rule;
  std::string fingerprint;
  std::string location;          // "" when the finding is about the identity anywhere
  std::string severity;
  std::string evidence;
  UnixSeconds opened_at = 0, last_seen_at = 0, resolved_at = 0;
  std::string accepted_by, accepted_reason;  // set when an exception covers it
  UnixSeconds accepted_until = 0;
};

struct FindingDelta {
  std::vector<FindingRecord> opened, resolved;
  std::int64_t still_open = 0;
  // Rules this check judged for the first time in the inventory (no check of theirs
  // recorded, no finding of theirs stored): what they opened is a baseline.
  std::vector<std::string> first_checked;
};

using FindingClassifier = std::function<std::vector<Event>(const FindingDelta&)>;

struct FindingFilter {
  bool include_resolved = false;
  std::string fingerprint;  // exact; "" any
  std::string rule;         // exact; "" any
  int limit = 0;
};

// The audit log: an RFC 6962 Merkle tree whose leaf `seq` is the event recorded seq-th,
// with CanonicalEventBody(event) as the leaf input.
struct AuditEntry {
  std::int64_t seq = 0;
  std::int64_t event_id = 0;
  UnixSeconds at = 0;
  std::string kind;   // the event type
  std::string body;   // CanonicalEventBody of the event row as stored now
  Bytes leaf_hash;    // as stored when it was appended (verify recomputes it)
};

// The leaf input of an event: JSON of every field except dedup_key, audit_seq and
// location_id, keys in this (sorted) order, no whitespace, times as integers:
// {"after","at","before","detail","event_id","location","owner","scan_id","severity",
// "subject","type"}. docs/AUDIT.md shows an example; an outside verifier can rebuild it.
std::string CanonicalEventBody(const Event& e);
// The same, appended to out (one buffer reused across a batch of appends).
void AppendCanonicalEventBody(const Event& e, std::string& out);

struct AuditHead {
  std::int64_t size = 0;
  Bytes root;                   // SHA-256 of the empty string for size 0
  std::vector<Bytes> frontier;  // perfect-subtree hashes, largest first
};

struct AuditCheckpoint {
  std::int64_t size = 0;
  Bytes root;
  UnixSeconds at = 0;
  std::string key_id, algorithm;  // empty while unsigned
  Bytes signature;
};

// One alert in the outbox: an event on its way to one sink.
struct AlertRow {
  std::int64_t id = 0;
  std::int64_t event_id = 0;
  std::string sink;
  std::string idempotency_key;
  std::string digest_key;        // non-empty: held for the sink's digest
  UnixSeconds created_at = 0;
  int attempts = 0;
  UnixSeconds next_attempt_at = 0;
  UnixSeconds delivered_at = 0, gave_up_at = 0;
  std::string last_error;
  Event event;                   // the event it carries
};

// Decides whether `event` goes to a sink and, for digest sinks, its digest key (the
// owner); nullopt: not routed.
using AlertRoute = std::function<std::optional<std::string>(const Event&)>;

struct AlertFilter {
  std::string sink;              // "" any
  bool pending_only = false;     // not delivered and not given up
  int limit = 0;
};

}  // namespace mica::store
