// Shared state of one `mica` run: global flags, configuration, the open store, and the
// verb CLI11 selected. Every verb group registers itself on the app with a Context&.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/config.h"
#include "cli/output.h"
#include "store/store.h"

namespace mica::cli {

struct Globals {
  std::string db;
  std::string config;
  std::string log_format = "text";
  std::string log_level = "warn";
};

// Output flags shared by every verb that prints a list.
struct OutputFlags {
  bool json = false;
  bool csv = false;
  OutputFormat format() const {
    return json ? OutputFormat::kJson : csv ? OutputFormat::kCsv : OutputFormat::kTable;
  }
  // Adds --json and --csv (mutually exclusive) to `sub`.
  void AddTo(CLI::App* sub) {
    auto* j = sub->add_flag("--json", json, "Print one JSON document");
    auto* c = sub->add_flag("--csv", csv, "Print CSV (RFC 4180)");
    j->excludes(c);
  }
};

struct Context {
  Globals g;
  Config config;
  std::unique_ptr<store::Store> store;
  std::string db_path;
  int exit_code = 0;
  // Set by the parsed verb's CLI11 callback; run after parsing.
  std::function<int()> selected;

  // Resolves the config (flag > $MICA_CONFIG > ./mica.toml) and the database (flag >
  // $MICA_DB > config > ./mica.db) and opens the store when `need_store`. On failure
  // prints the error, sets exit_code and returns false.
  [[nodiscard]] bool Setup(bool need_store);
  // Prints "mica: <message>" to stderr and returns the documented exit code.
  static int ReportError(const Error& e);
};

}  // namespace mica::cli
