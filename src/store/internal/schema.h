// The inventory schema as an ordered list of migrations. docs/SCHEMA.md explains every
// table and column; keep the two in step.
//
// Migration N (1-based) brings the schema from version N-1 to N. A migration, once
// released, is never edited: a change is a new migration appended to the list. Each
// one runs inside the transaction that also records it in `schema_version`, so a
// failed migration leaves the previous version intact.
#pragma once

#include <array>
#include <cstdint>

namespace mica::store::internal {

// PRAGMA application_id of a mica inventory ("mica" in ASCII): tells a mica database
// from some other program's SQLite file even before the schema_version table exists.
inline constexpr std::int32_t kApplicationId = 0x6d696361;

inline constexpr std::array<const char*, 7> kMigrations = {
    // Version 1: identity, location, sighting, scan, scan_error.
    R"sql(
CREATE TABLE identity (
  id                  INTEGER PRIMARY KEY,
  kind                TEXT NOT NULL,
  fingerprint         TEXT NOT NULL,
  subject             TEXT,
  issuer              TEXT,
  subject_cn          TEXT,
  issuer_cn           TEXT,
  serial              TEXT,
  not_before          INTEGER,
  not_after           INTEGER,
  key_type            TEXT NOT NULL,
  key_bits            INTEGER NOT NULL,
  curve               TEXT NOT NULL,
  spki_sha256         TEXT NOT NULL,
  signature_algorithm TEXT,
  is_ca               INTEGER,
  self_signed         INTEGER,
  eku                 TEXT,
  san                 TEXT,
  private_encrypted   INTEGER,
  first_seen          INTEGER NOT NULL,
  details             TEXT,  -- JSON of the identity; NULL for certificates (decoded from der)
  der                 BLOB,
  UNIQUE (kind, fingerprint)
);
CREATE INDEX identity_spki ON identity (spki_sha256);
CREATE INDEX identity_not_after ON identity (not_after);

CREATE TABLE location (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  host        TEXT NOT NULL,
  path        TEXT NOT NULL,
  port        INTEGER NOT NULL,
  sni         TEXT NOT NULL,
  mode        INTEGER,
  uid         INTEGER,
  gid         INTEGER,
  owner       TEXT,
  group_name  TEXT,
  size        INTEGER,
  mtime       INTEGER,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  UNIQUE (kind, host, path, port, sni)
);
CREATE INDEX location_path ON location (path);

CREATE TABLE scan (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  host        TEXT NOT NULL,
  roots       TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  failed_at   INTEGER,
  status      TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
  files_seen  INTEGER NOT NULL DEFAULT 0,
  candidates  INTEGER NOT NULL DEFAULT 0,
  identities  INTEGER NOT NULL DEFAULT 0,
  errors      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE scan_error (
  id      INTEGER PRIMARY KEY,
  scan_id INTEGER NOT NULL REFERENCES scan (id) ON DELETE CASCADE,
  target  TEXT NOT NULL,
  reason  TEXT NOT NULL
);
CREATE INDEX scan_error_scan ON scan_error (scan_id);

CREATE TABLE sighting (
  id            INTEGER PRIMARY KEY,
  identity_id   INTEGER NOT NULL REFERENCES identity (id) ON DELETE CASCADE,
  location_id   INTEGER NOT NULL REFERENCES location (id) ON DELETE CASCADE,
  position      TEXT NOT NULL,
  first_seen    INTEGER NOT NULL,
  last_seen     INTEGER NOT NULL,
  first_scan_id INTEGER REFERENCES scan (id),
  last_scan_id  INTEGER REFERENCES scan (id),
  present       INTEGER NOT NULL DEFAULT 1,
  vanished_at   INTEGER,
  UNIQUE (identity_id, location_id, position)
);
CREATE INDEX sighting_location ON sighting (location_id);
)sql",
    // Version 2: what each TLS scan learnt about each endpoint (docs/SCHEMA.md).
    R"sql(
CREATE TABLE endpoint_result (
  id                INTEGER PRIMARY KEY,
  scan_id           INTEGER NOT NULL REFERENCES scan (id) ON DELETE CASCADE,
  location_id       INTEGER NOT NULL REFERENCES location (id) ON DELETE CASCADE,
  seen_at           INTEGER NOT NULL,
  address           TEXT NOT NULL,
  ok                INTEGER NOT NULL,
  failure_class     TEXT NOT NULL,
  error             TEXT NOT NULL,
  starttls          TEXT NOT NULL,
  protocol          TEXT NOT NULL,
  cipher            TEXT NOT NULL,
  alpn              TEXT NOT NULL,
  ocsp_stapled      INTEGER NOT NULL,
  name_matches      INTEGER,
  verified          INTEGER NOT NULL,
  verify_error      TEXT NOT NULL,
  versions_probed   INTEGER NOT NULL,
  versions_accepted TEXT NOT NULL,
  handshake_ms      REAL NOT NULL,
  chain_len         INTEGER NOT NULL
);
CREATE INDEX endpoint_result_location ON endpoint_result (location_id, id);
CREATE INDEX endpoint_result_scan ON endpoint_result (scan_id);
)sql",
    // Version 3: change detection (sighting.announced, vanished_scan_id, location
    // prev_mode), findings, events, the audit log and the alert outbox (docs/SCHEMA.md).
    R"sql(
-- Sightings from before this version count as announced: upgrading must not replay
-- the whole inventory as "added" events.
ALTER TABLE sighting ADD COLUMN announced INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sighting ADD COLUMN vanished_scan_id INTEGER;
CREATE INDEX sighting_unannounced ON sighting (last_scan_id) WHERE announced = 0;
CREATE INDEX sighting_vanished_scan ON sighting (vanished_scan_id)
  WHERE vanished_scan_id IS NOT NULL;
ALTER TABLE location ADD COLUMN prev_mode INTEGER;
ALTER TABLE location ADD COLUMN last_scan_id INTEGER;
ALTER TABLE location ADD COLUMN first_scan_id INTEGER;
ALTER TABLE scan ADD COLUMN events INTEGER NOT NULL DEFAULT 0;

CREATE TABLE finding (
  id              INTEGER PRIMARY KEY,
  rule            TEXT NOT NULL,
  fingerprint     TEXT NOT NULL,
  location        TEXT NOT NULL,
  severity        TEXT NOT NULL,
  evidence        TEXT NOT NULL,
  opened_at       INTEGER NOT NULL,
  last_seen_at    INTEGER NOT NULL,
  resolved_at     INTEGER,
  accepted_by     TEXT,
  accepted_reason TEXT,
  accepted_until  INTEGER
);
-- One open finding per rule, identity and location: re-checks never duplicate it.
CREATE UNIQUE INDEX finding_open ON finding (rule, fingerprint, location)
  WHERE resolved_at IS NULL;
CREATE INDEX finding_fingerprint ON finding (fingerprint);

-- Every event is also a leaf of the audit log: leaf number audit_seq (0-based) of an
-- RFC 6962 Merkle tree whose leaf input is the event's canonical JSON
-- (store::CanonicalEventBody) and whose stored hash is leaf_hash.
CREATE TABLE event (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  type        TEXT NOT NULL,
  severity    TEXT NOT NULL,
  scan_id     INTEGER,
  location_id INTEGER,
  location    TEXT NOT NULL,
  before_fp   TEXT NOT NULL,
  after_fp    TEXT NOT NULL,
  subject     TEXT NOT NULL,
  owner       TEXT NOT NULL,
  detail      TEXT NOT NULL,
  dedup_key   TEXT,
  audit_seq   INTEGER NOT NULL UNIQUE,
  leaf_hash   BLOB NOT NULL
);
-- Most events have no dedup key: a partial index keeps them out of it.
CREATE UNIQUE INDEX event_dedup ON event (dedup_key) WHERE dedup_key IS NOT NULL;

-- The tree head after the last append and the hashes of its perfect subtrees (the
-- compact range), so an append costs O(log n) instead of re-reading the log.
CREATE TABLE audit_head (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  size     INTEGER NOT NULL,
  root     BLOB NOT NULL,
  frontier BLOB NOT NULL
);
CREATE TABLE audit_checkpoint (
  size      INTEGER PRIMARY KEY,
  root      BLOB NOT NULL,
  at        INTEGER NOT NULL,
  key_id    TEXT,
  algorithm TEXT,
  signature BLOB
);

-- The durable outbox: one row per event and sink, delivered at least once; the
-- receiver deduplicates by idempotency_key.
CREATE TABLE alert (
  id              INTEGER PRIMARY KEY,
  event_id        INTEGER NOT NULL REFERENCES event (id),
  sink            TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  digest_key      TEXT,
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at    INTEGER,
  gave_up_at      INTEGER,
  last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_due ON alert (sink, next_attempt_at)
  WHERE delivered_at IS NULL AND gave_up_at IS NULL;
-- How far each sink's router has read the event table.
CREATE TABLE alert_cursor (
  sink          TEXT PRIMARY KEY,
  last_event_id INTEGER NOT NULL
);
)sql",
    // Version 4: people (docs/PEOPLE.md): HR records, owners, access events and the
    // per-person aggregates that risk scoring reads, endpoint inventory, scores, blocks.
    R"sql(
CREATE TABLE person (
  id                    TEXT PRIMARY KEY,
  name                  TEXT NOT NULL DEFAULT '',
  email                 TEXT NOT NULL DEFAULT '',
  type                  TEXT NOT NULL DEFAULT 'employee',
  country               TEXT NOT NULL DEFAULT '',
  city                  TEXT NOT NULL DEFAULT '',
  timezone              TEXT NOT NULL DEFAULT '',
  manager               TEXT NOT NULL DEFAULT '',
  start_date            TEXT NOT NULL DEFAULT '',
  phone_hash            TEXT NOT NULL DEFAULT '',
  payment_hash          TEXT NOT NULL DEFAULT '',
  address_hash          TEXT NOT NULL DEFAULT '',
  resume_hash           TEXT NOT NULL DEFAULT '',
  payment_type          TEXT NOT NULL DEFAULT '',
  referred_by           TEXT NOT NULL DEFAULT '',
  laptop_serial         TEXT NOT NULL DEFAULT '',
  shipping_address_hash TEXT NOT NULL DEFAULT '',
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  blocked               INTEGER NOT NULL DEFAULT 0,
  blocked_at            INTEGER NOT NULL DEFAULT 0,
  blocked_reason        TEXT NOT NULL DEFAULT '',
  approved_by           TEXT NOT NULL DEFAULT '',
  approved_at           INTEGER NOT NULL DEFAULT 0,
  approved_score        REAL NOT NULL DEFAULT 0
);
CREATE TABLE person_change (
  id     INTEGER PRIMARY KEY,
  person TEXT NOT NULL,
  field  TEXT NOT NULL,
  before TEXT NOT NULL,
  after  TEXT NOT NULL,
  at     INTEGER NOT NULL
);
CREATE INDEX person_change_at ON person_change (at);
CREATE TABLE owner_rule (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL,
  pattern    TEXT NOT NULL,
  owner      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (kind, pattern)
);
CREATE TABLE identity_tag (
  fingerprint TEXT NOT NULL,
  tag         TEXT NOT NULL,
  PRIMARY KEY (fingerprint, tag)
) WITHOUT ROWID;
CREATE TABLE identity_owner (
  fingerprint TEXT PRIMARY KEY,
  owner       TEXT NOT NULL,
  source      TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
-- Raw events, append-only, packed in blocks of up to 4096 (bulk ingest: one row per
-- block instead of one B-tree insert per event); scoring reads the aggregates. The blob
-- format is in sqlite_people.cpp (PackEvents).
CREATE TABLE access_event_block (
  id       INTEGER PRIMARY KEY,
  first_at INTEGER NOT NULL,
  last_at  INTEGER NOT NULL,
  events   INTEGER NOT NULL,
  data     BLOB NOT NULL
);
CREATE TABLE person_hour (
  day    INTEGER NOT NULL,
  person TEXT NOT NULL,
  hour   INTEGER NOT NULL,
  events INTEGER NOT NULL,
  PRIMARY KEY (day, person, hour)
) WITHOUT ROWID;
CREATE TABLE person_country (
  day      INTEGER NOT NULL,
  person   TEXT NOT NULL,
  country  TEXT NOT NULL,
  events   INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at  INTEGER NOT NULL,
  PRIMARY KEY (day, person, country)
) WITHOUT ROWID;
CREATE TABLE person_link (
  kind     TEXT NOT NULL,
  value    TEXT NOT NULL,
  person   TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at  INTEGER NOT NULL,
  events   INTEGER NOT NULL,
  PRIMARY KEY (kind, value, person)
) WITHOUT ROWID;
CREATE INDEX person_link_person ON person_link (person, kind);
CREATE TABLE person_session (
  session  TEXT NOT NULL,
  person   TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at  INTEGER NOT NULL,
  events   INTEGER NOT NULL,
  PRIMARY KEY (session, person)
) WITHOUT ROWID;
CREATE TABLE person_travel (
  person  TEXT PRIMARY KEY,
  at      INTEGER NOT NULL,
  has_geo INTEGER NOT NULL,
  lat     REAL NOT NULL,
  lon     REAL NOT NULL,
  country TEXT NOT NULL,
  ip      TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE risk_observation (
  day      INTEGER NOT NULL,
  person   TEXT NOT NULL,
  signal   TEXT NOT NULL,
  key      TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at  INTEGER NOT NULL,
  events   INTEGER NOT NULL,
  evidence TEXT NOT NULL,
  PRIMARY KEY (day, person, signal, key)
) WITHOUT ROWID;
CREATE TABLE identity_use (
  target   TEXT NOT NULL,
  kind     TEXT NOT NULL,
  value    TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at  INTEGER NOT NULL,
  events   INTEGER NOT NULL,
  PRIMARY KEY (target, kind, value)
) WITHOUT ROWID;
CREATE TABLE device (
  id          TEXT PRIMARY KEY,
  person      TEXT NOT NULL,
  serial      TEXT NOT NULL,
  managed     INTEGER NOT NULL,
  software    TEXT NOT NULL,
  usb         TEXT NOT NULL,
  monitors    TEXT NOT NULL,
  reported_at INTEGER NOT NULL
);
CREATE TABLE risk_score (
  id          INTEGER PRIMARY KEY,
  person      TEXT NOT NULL,
  at          INTEGER NOT NULL,
  window_from INTEGER NOT NULL,
  window_to   INTEGER NOT NULL,
  score       REAL NOT NULL,
  signals     TEXT NOT NULL
);
CREATE INDEX risk_score_person ON risk_score (person, id);
)sql",
    // Version 5: a scan's change set is collected a range of locations at a time, so
    // that a scan changing millions of sightings (the first scan of a large tree) holds
    // one range in memory, not all of them: the partial indexes lead with the scan, then
    // the location.
    R"sql(
DROP INDEX sighting_unannounced;
CREATE INDEX sighting_unannounced ON sighting (last_scan_id, location_id) WHERE announced = 0;
DROP INDEX sighting_vanished_scan;
CREATE INDEX sighting_vanished_scan ON sighting (vanished_scan_id, location_id)
  WHERE vanished_scan_id IS NOT NULL;
)sql",
    // Version 6: when each rule was last checked. An open finding was reported by every
    // check of its rule since it opened, so its "last seen" is that check's time: one
    // row per rule per check instead of rewriting every open finding (docs/SCHEMA.md).
    R"sql(
CREATE TABLE finding_check (
  rule       TEXT PRIMARY KEY,
  checked_at INTEGER NOT NULL
);
INSERT INTO finding_check (rule, checked_at)
  SELECT rule, max(last_seen_at) FROM finding WHERE resolved_at IS NULL GROUP BY rule;
)sql",
    // Version 7: `mica watch` asks for the running scans when it starts (to mark those a
    // crash cut off as failed); the inventory it feeds holds one row per scan, and at most
    // a few of them are running.
    R"sql(
CREATE INDEX scan_running ON scan (id) WHERE status = 'running';
)sql",
};

inline constexpr int kSchemaVersion = static_cast<int>(kMigrations.size());

}  // namespace mica::store::internal
