// The [alert] section of the configuration, parsed by the watch module (docs/ALERTS.md).
// Kept out of config.h so that only the verbs that send alerts compile toml++ and curl
// headers.
#pragma once

#include "cli/config.h"
#include "watch/alert_config.h"

namespace mica::cli {

// Reads `config.source` again and parses its [alert] section; no file or no section
// yields no sinks. Errors name file:line:col (defined in config.cpp).
[[nodiscard]] Result<watch::AlertConfig> LoadAlertSection(const Config& config);

}  // namespace mica::cli
