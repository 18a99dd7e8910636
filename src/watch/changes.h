// Change detection: turns the raw changes of one scan (store::ChangeSet) into events, and
// makes the events that are not tied to a scan: an identity crossing an expiry threshold,
// findings opened or resolved, policy changes. docs/EVENTS.md lists every event type
// with its severity and why it matters.
//
// Pure functions over value types (time passed in); thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "store/events.h"
#include "store/store.h"

namespace mica::watch {

struct ChangeRules {
  // Globs (fnmatch, FNM_PATHNAME off) of trust-store paths: a CA certificate newly
  // added there is a "ca_added_to_trust_store" event.
  std::vector<std::string> trust_store_globs = {
      "/etc/ssl/certs/*",          "/usr/local/share/ca-certificates/*",
      "/usr/share/ca-certificates/*", "/etc/pki/ca-trust/*",
      "/etc/pki/tls/certs/*",      "/etc/ca-certificates/*"};
  // The first scan of a set of roots is a baseline. Quiet (the default): what it finds
  // at locations new to the inventory is one scan_baseline event (BaselineEvent) and
  // its other events are recorded at severity info, so turning mica on pages nobody.
  // Not quiet: one event per identity at its own severity.
  bool quiet_baseline = true;
  // Identity fingerprint -> owner (store::PeopleStore::OwnersByFingerprint), so alerts
  // can be routed to owners.
  std::map<std::string, std::string> owners;
};

// The events of one finished scan. `baseline` is true when no earlier complete scan of
// the same kind, host and roots exists.
std::vector<store::Event> ClassifyChanges(const store::ChangeSet& changes, const ChangeRules& rules,
                                          bool baseline);

// A classifier for Store::FinishScan.
store::ChangeClassifier MakeChangeClassifier(ChangeRules rules, bool baseline);

// The scan_baseline event of a quiet baseline scan: counts by kind, code-signing, CA and
// unencrypted private-key sightings, and the digest that commits to every one of them.
store::Event BaselineEvent(const store::BaselineSummary& summary);

// How Store::FinishScan records a scan's changes: the change classifier and, for a quiet
// baseline, the classifier of its one scan_baseline event (empty otherwise).
struct ChangeRecording {
  store::ChangeClassifier classify;
  store::BaselineClassifier baseline;
};
ChangeRecording MakeChangeRecording(ChangeRules rules, bool baseline);

// finding_opened / finding_resolved events of a SyncFindings delta.
std::vector<store::Event> ClassifyFindings(const store::FindingDelta& delta, UnixSeconds now);

// Expiry thresholds in seconds before not_after, largest first; 0 means "expired".
struct ExpiryThresholds {
  std::vector<std::int64_t> before = {30 * 86400, 7 * 86400, 0};
};

// One event per present certificate and threshold it has crossed at `now`, with a
// dedup key so that each crossing is recorded once however often this runs.
[[nodiscard]] Result<std::vector<store::Event>> ExpiryEvents(store::Store& store, UnixSeconds now,
                                                             const ExpiryThresholds& thresholds);

// A policy_changed event (an administrative action for the audit log) when the SHA-256
// of `text` differs from the policy last recorded; nullopt when it is the same.
[[nodiscard]] Result<std::optional<store::Event>> PolicyChangeEvent(store::Store& store,
                                                                   const std::string& name,
                                                                   const std::string& text,
                                                                   UnixSeconds now);

// Sets each event's owner from `owners` (identity fingerprint -> owner): the identity
// after the change, else the one before. Events of unowned identities keep "".
void SetOwners(std::vector<store::Event>& events, const std::map<std::string, std::string>& owners);

// "30d", "7d", "expired": the name of a threshold in events and dedup keys.
std::string ThresholdName(std::int64_t seconds);

}  // namespace mica::watch
