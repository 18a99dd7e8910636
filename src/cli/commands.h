// The foundation verbs of `mica`: scan fs, inventory, show, summary.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace mica::cli {

class Commands {
 public:
  explicit Commands(Context& ctx) : ctx_(ctx) {}
  void Register(CLI::App& app);

 private:
  int ScanFs();
  int InventoryList();
  int InventoryScans();
  int InventoryErrors();
  int Show();
  int Summary();

  Context& ctx_;

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
  store::ScanFilter scans_filter_;
  // show
  std::string show_prefix_;
  std::string show_kind_;
  // summary
  std::string summary_window_;
};

}  // namespace mica::cli
