// The mica.toml configuration file (docs/CONFIG.md). Every setting has a default, so no
// file is needed to start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace mica::cli {

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
};

// Loads `path`. `required` is false for the implicit ./mica.toml: a missing file then
// yields the defaults. Unknown keys and wrong types are kInput errors naming the file,
// line and column.
[[nodiscard]] Result<Config> LoadConfig(const std::string& path, bool required);

// Parses "8MiB", "512KiB", "1GiB", "4096" into bytes.
[[nodiscard]] Result<std::int64_t> ParseSize(std::string_view text);

}  // namespace mica::cli
