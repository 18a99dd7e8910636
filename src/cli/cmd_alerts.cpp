// `mica alerts list | send` (docs/ALERTS.md, docs/CLI.md "alerts").
//
// Exit codes: list: 0, or 3 when the inventory cannot be read. send: 0 when every alert
// that was due was delivered (or nothing was due); 1 when some failed (retried later or
// given up) or were left for the next round; 2 usage (no sinks configured, bad --at);
// 3 the config's [alert] section is invalid or the inventory cannot be used.
#include <iostream>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/alert_section.h"
#include "cli/output.h"
#include "cli/verbs.h"
#include "core/time.h"
#include "watch/alert_config.h"
#include "watch/dispatch.h"
#include "watch/sinks.h"

namespace mica::cli {

namespace {

using nlohmann::json;

struct AlertsFlags {
  bool pending = false;
  std::string sink;
  int limit = 0;
  std::string at;
  OutputFlags out;
};

std::string AlertStatus(const store::AlertRow& a) {
  if (a.delivered_at) return "delivered";
  if (a.gave_up_at) return "gave_up";
  return "pending";
}

std::string Time(UnixSeconds t) { return t ? FormatRfc3339(t) : ""; }

json AlertJson(const store::AlertRow& a) {
  auto opt = [](UnixSeconds t) { return t ? json(FormatRfc3339(t)) : json(nullptr); };
  return json{{"id", a.id},
              {"sink", a.sink},
              {"status", AlertStatus(a)},
              {"idempotency_key", a.idempotency_key},
              {"digest_key", a.digest_key.empty() ? json(nullptr) : json(a.digest_key)},
              {"created_at", FormatRfc3339(a.created_at)},
              {"attempts", a.attempts},
              {"next_attempt_at", AlertStatus(a) == "pending" ? opt(a.next_attempt_at) : json(nullptr)},
              {"delivered_at", opt(a.delivered_at)},
              {"gave_up_at", opt(a.gave_up_at)},
              {"last_error", a.last_error},
              {"event", watch::EventJson(a.event)}};
}

int List(Context& ctx, const AlertsFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  auto rows = ctx.store->ListAlerts({.sink = f.sink, .pending_only = f.pending, .limit = f.limit});
  if (!rows) return Context::ReportError(rows.error());
  if (f.out.json) {
    json out = json::array();
    for (const auto& a : *rows) out.push_back(AlertJson(a));
    // One object per document, like every other list (`{"events": [...]}`, ...).
    std::cout << json{{"alerts", out}}.dump(2, ' ', false, json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  Table t{{"id", "sink", "status", "attempts", "next_attempt", "event", "severity", "location",
           "last_error", "idempotency_key"},
          {}};
  for (const auto& a : *rows)
    t.rows.push_back({std::to_string(a.id), a.sink, AlertStatus(a), std::to_string(a.attempts),
                      AlertStatus(a) == "pending" ? Time(a.next_attempt_at) : "", a.event.type,
                      a.event.severity, a.event.location, a.last_error, a.idempotency_key});
  if (f.out.csv) {
    PrintCsv(std::cout, t);
  } else if (t.rows.empty()) {
    std::cout << "No alerts" << (f.pending ? " pending" : "") << ".\n";
  } else {
    PrintTable(std::cout, t);
  }
  return 0;
}

int Send(Context& ctx, const AlertsFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  UnixSeconds now = SystemClock().Now();
  if (!f.at.empty()) {
    auto t = ParseRfc3339(f.at);
    if (!t)
      return Context::ReportError({ErrorCode::kInvalidArgument, "--at " + f.at + ": " + t.error().message});
    now = *t;
  }
  auto config = LoadAlertSection(ctx.config);
  if (!config) return Context::ReportError(config.error());
  if (config->sinks.empty())
    return Context::ReportError(
        {ErrorCode::kInvalidArgument,
         "no alert sinks: add [[alert.sink]] tables to " +
             (ctx.config.source.empty() ? std::string("mica.toml") : ctx.config.source) +
             " (docs/ALERTS.md)"});
  // The only randomness: the backoff jitter.
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  auto uniform = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
  auto dispatcher = watch::Dispatcher::Create(*config, uniform);
  if (!dispatcher) return Context::ReportError(dispatcher.error());
  auto counts = dispatcher->RunOnce(*ctx.store, now);
  if (!counts) return Context::ReportError(counts.error());

  // A jsonl sink may be writing alerts to standard output; the summary then goes to
  // standard error so the two never mix.
  bool stdout_sink = false;
  for (const auto& s : config->sinks)
    if (s.type == watch::SinkType::kJsonl && s.jsonl.path == "-") stdout_sink = true;
  std::ostream& out = stdout_sink ? std::cerr : std::cout;
  if (f.out.json) {
    json sinks = json::array();
    for (const auto& c : counts->sinks)
      sinks.push_back({{"sink", c.sink},
                       {"routed", c.routed},
                       {"delivered", c.delivered},
                       {"messages", c.messages},
                       {"retried", c.retried},
                       {"gave_up", c.gave_up},
                       {"deferred", c.deferred},
                       {"last_error", c.last_error}});
    out << json{{"at", FormatRfc3339(now)},
                {"all_delivered", counts->AllDelivered()},
                {"sinks", sinks}}
               .dump(2)
        << "\n";
  } else {
    for (const auto& c : counts->sinks) {
      out << fmt::format("{}: routed {}, delivered {} ({} messages), retried {}, gave up {}, "
                         "deferred {}",
                         c.sink, c.routed, c.delivered, c.messages, c.retried, c.gave_up,
                         c.deferred);
      if (!c.last_error.empty()) out << "; last error: " << c.last_error;
      out << "\n";
    }
  }
  return counts->AllDelivered() ? 0 : 1;
}

}  // namespace

void RegisterAlertsVerbs(CLI::App& app, Context& ctx) {
  auto* alerts = app.add_subcommand("alerts", "The alert outbox: list alerts, send what is due");
  alerts->require_subcommand(1);

  auto lf = std::make_shared<AlertsFlags>();
  auto* list = alerts->add_subcommand("list", "List alerts in the outbox (newest last)");
  list->add_flag("--pending", lf->pending, "Only alerts neither delivered nor given up");
  list->add_option("--sink", lf->sink, "Only this sink's alerts");
  list->add_option("--limit", lf->limit, "At most this many rows (default: all)");
  lf->out.AddTo(list);
  list->callback([&ctx, lf] { ctx.selected = [&ctx, lf] { return List(ctx, *lf); }; });

  auto sf = std::make_shared<AlertsFlags>();
  auto* send = alerts->add_subcommand(
      "send", "Route new events to the configured sinks and deliver what is due, once");
  send->add_option("--at", sf->at, "Act as of this time, RFC 3339 (default: now)");
  send->add_flag("--json", sf->out.json, "Print the summary as one JSON document");
  send->callback([&ctx, sf] { ctx.selected = [&ctx, sf] { return Send(ctx, *sf); }; });
}

}  // namespace mica::cli
