#include "cli/config.h"

#include <charconv>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "core/time.h"

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

}  // namespace

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
  };
  if (auto s = CheckKeys(path, root, "", kAllowed); !s) return tl::unexpected(s.error());

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
  return c;
}

}  // namespace mica::cli
