// The verbs of `mica`. Register() declares them on a CLI11 app; Execute() runs the one
// that was parsed and returns the exit code.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

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
};

class Commands {
 public:
  explicit Commands(Globals& globals) : g_(globals) {}
  void Register(CLI::App& app);
  int Execute();

 private:
  // Resolves config and database path (flag > environment > config > default) and opens
  // the store. Prints the error and sets `exit_code` on failure.
  [[nodiscard]] bool Setup(bool need_store);

  int ScanFs();
  int InventoryList();
  int InventoryScans();
  int InventoryErrors();
  int Show();
  int Summary();

  int ReportError(const Error& e);

  Globals& g_;
  Config config_;
  std::unique_ptr<store::Store> store_;
  std::string db_path_;
  int exit_code_ = 0;
  std::function<int()> selected_;

  OutputFlags out_;
  // scan fs
  std::vector<std::string> scan_paths_;
  std::vector<std::string> scan_excludes_;
  std::string scan_max_size_;
  bool scan_cross_fs_ = false;
  int scan_threads_ = 0;
  bool scan_quiet_ = false;
  std::string scan_pkcs12_passwords_;
  // inventory list
  std::string list_kind_, list_expiring_, list_issuer_, list_key_type_, list_location_, list_eku_;
  bool list_expired_ = false, list_self_signed_ = false, list_ca_ = false,
       list_include_vanished_ = false;
  int list_limit_ = 0;
  bool list_with_locations_ = false;
  // inventory errors
  std::int64_t errors_scan_ = 0;
  // show
  std::string show_prefix_;
  std::string show_kind_;
  // summary
  std::string summary_window_;
};

}  // namespace mica::cli
