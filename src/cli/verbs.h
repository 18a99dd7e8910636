// Registration of verb groups, one function per group, each in its own cmd_<group>.cpp.
// A group adds its subcommands to `app` and sets ctx.selected in their callbacks.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"
#include "watch/changes.h"

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

// `people ...`, `intel load | show` (cmd_people.cpp).
void RegisterPeopleVerbs(CLI::App& app, Context& ctx);

// `events`, `audit verify | proof | tail | export | checkpoint` (cmd_audit.cpp).
void RegisterAuditVerbs(CLI::App& app, Context& ctx);

// `watch` (cmd_watch.cpp).
void RegisterWatchVerbs(CLI::App& app, Context& ctx);

// The roots `scan fs` walks for `requested` (empty: the config's, else the defaults),
// absolute and normalised as the scan records them (commands.cpp).
std::vector<std::string> ScanRoots(const Context& ctx, const std::vector<std::string>& requested);

// How a scan that is about to start with `start` records its changes (Store::FinishScan):
// the config's change rules, and whether it is the baseline of its roots (cmd_audit.cpp).
[[nodiscard]] Result<watch::ChangeRecording> ChangeRecordingFor(Context& ctx,
                                                                const store::ScanStart& start);

// Records a checkpoint of the audit log's head and signs the unsigned ones with the
// configured [audit] signing_key (none configured: recorded unsigned). Returns the
// number signed (cmd_audit.cpp).
[[nodiscard]] Result<int> SignAuditCheckpoints(Context& ctx, UnixSeconds now);

}  // namespace mica::cli
