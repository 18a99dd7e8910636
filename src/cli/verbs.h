// Registration of verb groups, one function per group, each in its own cmd_<group>.cpp.
// A group adds its subcommands to `app` and sets ctx.selected in their callbacks.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace mica::cli {

// Calls every Register* below; defined in app.cpp.
void RegisterVerbs(CLI::App& app, Context& ctx);

// `scan tls`, `inventory endpoints` (cmd_tls.cpp).
void RegisterTlsVerbs(CLI::App& app, Context& ctx);

// `weak-keys gcd | check | scan` (cmd_weak_keys.cpp).
void RegisterWeakKeysVerbs(CLI::App& app, Context& ctx);

// `verify` (cmd_verify.cpp).
void RegisterVerifyVerbs(CLI::App& app, Context& ctx);

// `policy default | check`, `lint` (cmd_policy.cpp).
void RegisterPolicyVerbs(CLI::App& app, Context& ctx);

// `alerts list | send` (cmd_alerts.cpp).
void RegisterAlertsVerbs(CLI::App& app, Context& ctx);

}  // namespace mica::cli
