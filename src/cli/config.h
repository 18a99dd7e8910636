// The mica.toml configuration file (docs/CONFIG.md). Every setting has a default, so no
// file is needed to start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace mica::cli {

// One scheduled job of `mica watch` ([[watch.job]], docs/WATCH.md).
struct WatchJob {
  std::string name;
  std::string kind;                   // "fs", "tls", "policy", "expiry"
  std::int64_t every = 0;             // seconds; 0 when `cron` is set
  std::string cron;                   // five-field cron expression, UTC
  std::int64_t timeout = 3600;        // seconds before the job is killed
  std::vector<std::string> roots;     // fs: roots ("" = [discover.fs] roots)
  std::vector<std::string> targets;   // tls: targets
  std::string ports;                  // tls: --ports value ("" = default ports)
  std::string policy;                 // policy: policy file ("" = built-in)
};

struct Config {
  std::string source;  // the file read, "" when defaults only
  // [store]
  std::string db = "mica.db";
  // [discover.fs]
  std::vector<std::string> fs_roots;     // empty: discover::DefaultRoots()
  std::vector<std::string> fs_exclude;
  std::int64_t fs_max_file_size = 8 << 20;
  bool fs_cross_filesystems = false;
  int fs_threads = 0;
  std::string pkcs12_passwords_file;     // one password per line; never logged
  // [summary]
  std::int64_t expiry_window = 30 * 86400;
  // [audit]
  std::string audit_signing_key;   // PEM private key (Ed25519 / ECDSA) signing checkpoints
  std::string audit_verify_key;    // PEM public key for `audit verify` ("" = from signing_key)
  std::int64_t audit_checkpoint_interval = 1000;
  // [watch]
  std::vector<std::string> trust_store_globs;      // empty: watch::ChangeRules defaults
  bool quiet_baseline = true;
  std::vector<std::int64_t> expiry_thresholds;     // seconds; empty: 30d, 7d, expired
  std::int64_t alert_interval = 30;                // seconds between alert deliveries
  std::vector<WatchJob> watch_jobs;
};

// Loads `path`. `required` is false for the implicit ./mica.toml: a missing file then
// yields the defaults. Unknown keys and wrong types are kInput errors naming the file,
// line and column.
[[nodiscard]] Result<Config> LoadConfig(const std::string& path, bool required);

// Parses "8MiB", "512KiB", "1GiB", "4096" into bytes.
[[nodiscard]] Result<std::int64_t> ParseSize(std::string_view text);

}  // namespace mica::cli
