#include "cli/config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "core/time.h"
#include "cli/alert_section.h"
#include "watch/schedule.h"

namespace mica::cli {

namespace {

std::string Where(const std::string& file, const toml::source_region& r) {
  return file + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// Walks a table and rejects keys not in `allowed` (a typo must not be silently ignored).
Status CheckKeys(const std::string& file, const toml::table& t, const std::string& prefix,
                 const std::set<std::string>& allowed) {
  for (const auto& [k, v] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (v.is_table()) {
      bool has_children = false;
      for (const auto& a : allowed)
        if (a.rfind(key + ".", 0) == 0) has_children = true;
      if (!has_children)
        return Fail(ErrorCode::kInput, Where(file, k.source()) + ": unknown section [" + key + "]");
      if (auto s = CheckKeys(file, *v.as_table(), key, allowed); !s) return s;
    } else if (!allowed.count(key)) {
      return Fail(ErrorCode::kInput, Where(file, k.source()) + ": unknown setting '" + key +
                                         "' (see docs/CONFIG.md for the settings)");
    }
  }
  return {};
}

template <class T>
Result<T> Get(const std::string& file, const toml::table& root, const char* path, T fallback) {
  auto node = root.at_path(path);
  if (!node) return fallback;
  auto v = node.value<T>();
  if (!v)
    return Fail(ErrorCode::kInput,
                Where(file, node.node()->source()) + ": '" + path + "' has the wrong type");
  return *v;
}

Result<std::vector<std::string>> GetStrings(const std::string& file, const toml::table& root,
                                            const char* path) {
  std::vector<std::string> out;
  auto node = root.at_path(path);
  if (!node) return out;
  auto* arr = node.as_array();
  if (!arr)
    return Fail(ErrorCode::kInput, Where(file, node.node()->source()) + ": '" + path +
                                       "' must be an array of strings");
  for (const auto& el : *arr) {
    auto s = el.value<std::string>();
    if (!s)
      return Fail(ErrorCode::kInput,
                  Where(file, el.source()) + ": '" + path + "' must hold only strings");
    out.push_back(*s);
  }
  return out;
}

Result<std::int64_t> GetDuration(const std::string& file, const toml::table& root,
                                 const char* path, const char* fallback) {
  auto text = Get<std::string>(file, root, path, fallback);
  if (!text) return tl::unexpected(text.error());
  auto secs = ParseDurationSeconds(*text);
  if (!secs) return Wrap(secs.error(), file + ": " + path);
  return *secs;
}

// [[watch.job]] tables: each key checked, kinds and schedules validated.
Status ParseJobs(const std::string& file, const toml::table& root, std::vector<WatchJob>& jobs) {
  auto node = root.at_path("watch.job");
  if (!node) return {};
  auto* arr = node.as_array();
  if (!arr || !arr->is_array_of_tables())
    return Fail(ErrorCode::kInput, Where(file, node.node()->source()) +
                                       ": 'watch.job' must be an array of tables ([[watch.job]])");
  static const std::set<std::string> kJobKeys = {"name",    "kind",  "every",  "cron", "timeout",
                                                 "roots",   "targets", "ports", "policy"};
  for (const auto& el : *arr) {
    const toml::table& t = *el.as_table();
    const std::string at = Where(file, t.source());
    for (const auto& [k, v] : t)
      if (!kJobKeys.count(std::string(k.str())))
        return Fail(ErrorCode::kInput, Where(file, k.source()) + ": unknown setting '" +
                                           std::string(k.str()) + "' in [[watch.job]]");
    WatchJob j;
    auto str = [&](const char* key, std::string& out) -> Status {
      if (auto n = t[key]; n) {
        auto v = n.value<std::string>();
        if (!v)
          return Fail(ErrorCode::kInput,
                      Where(file, n.node()->source()) + ": '" + key + "' must be a string");
        out = *v;
      }
      return {};
    };
    std::string every, timeout;
    for (auto [key, out] : {std::pair{"name", &j.name}, std::pair{"kind", &j.kind},
                            std::pair{"every", &every}, std::pair{"cron", &j.cron},
                            std::pair{"timeout", &timeout}, std::pair{"ports", &j.ports},
                            std::pair{"policy", &j.policy}})
      if (auto s = str(key, *out); !s) return s;
    auto roots = GetStrings(file, t, "roots");
    if (!roots) return tl::unexpected(roots.error());
    j.roots = *roots;
    auto targets = GetStrings(file, t, "targets");
    if (!targets) return tl::unexpected(targets.error());
    j.targets = *targets;
    if (j.kind != "fs" && j.kind != "tls" && j.kind != "policy" && j.kind != "expiry")
      return Fail(ErrorCode::kInput, at + ": [[watch.job]] kind '" + j.kind +
                                         "' is not one of fs, tls, policy, expiry");
    if (j.name.empty()) j.name = j.kind + "-" + std::to_string(jobs.size() + 1);
    if (every.empty() == j.cron.empty())
      return Fail(ErrorCode::kInput,
                  at + ": [[watch.job]] '" + j.name + "' needs exactly one of every or cron");
    if (!every.empty()) {
      auto secs = ParseDurationSeconds(every);
      if (!secs || *secs <= 0)
        return Fail(ErrorCode::kInput, at + ": [[watch.job]] '" + j.name + "' every '" + every +
                                           "' is not a positive duration like 15m");
      j.every = *secs;
    } else if (auto cron = watch::CronSchedule::Parse(j.cron); !cron) {
      return Fail(ErrorCode::kInput,
                  at + ": [[watch.job]] '" + j.name + "' cron: " + cron.error().message);
    }
    if (!timeout.empty()) {
      auto secs = ParseDurationSeconds(timeout);
      if (!secs || *secs <= 0)
        return Fail(ErrorCode::kInput, at + ": [[watch.job]] '" + j.name + "' timeout '" +
                                           timeout + "' is not a positive duration");
      j.timeout = *secs;
    }
    if (j.kind == "tls" && j.targets.empty())
      return Fail(ErrorCode::kInput, at + ": [[watch.job]] '" + j.name + "' needs targets");
    for (const auto& other : jobs)
      if (other.name == j.name)
        return Fail(ErrorCode::kInput, at + ": two [[watch.job]] are named '" + j.name + "'");
    jobs.push_back(std::move(j));
  }
  return {};
}

Status LoadAuditAndWatch(const std::string& file, const toml::table& root, Config& c) {
  auto key = Get<std::string>(file, root, "audit.signing_key", "");
  if (!key) return tl::unexpected(key.error());
  c.audit_signing_key = *key;
  auto verify = Get<std::string>(file, root, "audit.verify_key", "");
  if (!verify) return tl::unexpected(verify.error());
  c.audit_verify_key = *verify;
  auto interval = Get<std::int64_t>(file, root, "audit.checkpoint_interval", 1000);
  if (!interval) return tl::unexpected(interval.error());
  if (*interval <= 0)
    return Fail(ErrorCode::kInput, file + ": audit.checkpoint_interval must be positive");
  c.audit_checkpoint_interval = *interval;
  auto globs = GetStrings(file, root, "watch.trust_store_globs");
  if (!globs) return tl::unexpected(globs.error());
  c.trust_store_globs = *globs;
  auto quiet = Get<bool>(file, root, "watch.quiet_baseline", true);
  if (!quiet) return tl::unexpected(quiet.error());
  c.quiet_baseline = *quiet;
  auto thresholds = GetStrings(file, root, "watch.expiry_thresholds");
  if (!thresholds) return tl::unexpected(thresholds.error());
  for (const auto& t : *thresholds) {
    if (t == "expired") {
      c.expiry_thresholds.push_back(0);
      continue;
    }
    auto secs = ParseDurationSeconds(t);
    if (!secs || *secs <= 0)
      return Fail(ErrorCode::kInput, file + ": watch.expiry_thresholds: '" + t +
                                         "' is neither a duration like 30d nor \"expired\"");
    c.expiry_thresholds.push_back(*secs);
  }
  auto alerts = GetDuration(file, root, "watch.alert_interval", "30s");
  if (!alerts) return tl::unexpected(alerts.error());
  c.alert_interval = std::max<std::int64_t>(1, *alerts);
  return ParseJobs(file, root, c.watch_jobs);
}

}  // namespace

Result<watch::AlertConfig> LoadAlertSection(const Config& config) {
  const std::string& path = config.source;
  if (path.empty()) return watch::AlertConfig{};
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kInput, Where(path, e.source()) + ": " + std::string(e.description()));
  }
  const toml::node* alert = root.get("alert");
  if (!alert) return watch::AlertConfig{};
  if (!alert->is_table())
    return Fail(ErrorCode::kInput, Where(path, alert->source()) + ": [alert] must be a table");
  return watch::ParseAlertConfig(*alert->as_table(), path);
}

Result<std::int64_t> ParseSize(std::string_view text) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  std::int64_t mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB" || unit == "K" || unit == "k") mult = 1024;
  else if (unit == "MiB" || unit == "M") mult = 1024 * 1024;
  else if (unit == "GiB" || unit == "G") mult = 1024LL * 1024 * 1024;
  if (ec != std::errc() || n < 0 || mult == 0 || n > (INT64_MAX / mult))
    return Fail(ErrorCode::kInvalidArgument,
                "size '" + std::string(text) + "' is not valid (expected e.g. 4096, 512KiB, 8MiB)");
  return n * mult;
}

Result<Config> LoadConfig(const std::string& path, bool required) {
  Config c;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (required)
      return Fail(ErrorCode::kNotFound, "config file " + path +
                                            " does not exist (pass --config with an existing file)");
    return c;
  }
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kInput, Where(path, e.source()) + ": " + std::string(e.description()));
  }
  c.source = path;
  static const std::set<std::string> kAllowed = {
      "store.db",
      "discover.fs.roots",
      "discover.fs.exclude",
      "discover.fs.max_file_size",
      "discover.fs.cross_filesystems",
      "discover.fs.threads",
      "discover.fs.pkcs12_passwords_file",
      "summary.expiry_window",
      "alert.sink",  // parsed by watch::ParseAlertConfig (docs/ALERTS.md)
      "audit.signing_key",
      "audit.verify_key",
      "audit.checkpoint_interval",
      "watch.trust_store_globs",
      "watch.quiet_baseline",
      "watch.expiry_thresholds",
      "watch.alert_interval",
      "watch.job",  // checked by ParseJobs
  };
  // [people] is read and checked by people::LoadRiskConfig (docs/PEOPLE.md).
  toml::table checked = root;
  checked.erase("people");
  if (auto s = CheckKeys(path, checked, "", kAllowed); !s) return tl::unexpected(s.error());

  auto db = Get<std::string>(path, root, "store.db", c.db);
  if (!db) return tl::unexpected(db.error());
  c.db = *db;
  auto roots = GetStrings(path, root, "discover.fs.roots");
  if (!roots) return tl::unexpected(roots.error());
  c.fs_roots = *roots;
  auto ex = GetStrings(path, root, "discover.fs.exclude");
  if (!ex) return tl::unexpected(ex.error());
  c.fs_exclude = *ex;
  auto size = Get<std::string>(path, root, "discover.fs.max_file_size", "8MiB");
  if (!size) return tl::unexpected(size.error());
  auto bytes = ParseSize(*size);
  if (!bytes) return Wrap(bytes.error(), path + ": discover.fs.max_file_size");
  c.fs_max_file_size = *bytes;
  auto cross = Get<bool>(path, root, "discover.fs.cross_filesystems", false);
  if (!cross) return tl::unexpected(cross.error());
  c.fs_cross_filesystems = *cross;
  auto threads = Get<std::int64_t>(path, root, "discover.fs.threads", 0);
  if (!threads) return tl::unexpected(threads.error());
  c.fs_threads = static_cast<int>(*threads);
  auto pw = Get<std::string>(path, root, "discover.fs.pkcs12_passwords_file", "");
  if (!pw) return tl::unexpected(pw.error());
  c.pkcs12_passwords_file = *pw;
  auto window = Get<std::string>(path, root, "summary.expiry_window", "30d");
  if (!window) return tl::unexpected(window.error());
  auto secs = ParseDurationSeconds(*window);
  if (!secs) return Wrap(secs.error(), path + ": summary.expiry_window");
  c.expiry_window = *secs;
  if (auto s = LoadAuditAndWatch(path, root, c); !s) return tl::unexpected(s.error());
  return c;
}

}  // namespace mica::cli
