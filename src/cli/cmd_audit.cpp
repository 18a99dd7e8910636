// `mica events`, `mica audit verify | proof | tail | export | checkpoint` (docs/AUDIT.md,
// docs/EVENTS.md), and the change classifier every scan verb finishes with.
//
// Exit codes: audit verify 0 when the log verifies, 1 when it does not (the first bad
// entry is named), 3 when a key or the inventory cannot be read.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/verbs.h"
#include "core/time.h"
#include "watch/audit.h"
#include "store/people.h"
#include "watch/changes.h"
#include "x509/signing.h"

namespace mica::cli {

using nlohmann::json;

Result<watch::ChangeRecording> ChangeRecordingFor(Context& ctx, const store::ScanStart& start) {
  watch::ChangeRules rules;
  if (!ctx.config.trust_store_globs.empty()) rules.trust_store_globs = ctx.config.trust_store_globs;
  rules.quiet_baseline = ctx.config.quiet_baseline;
  auto owners = ctx.store->People().OwnersByFingerprint();
  if (!owners) return tl::unexpected(owners.error());
  rules.owners = std::move(*owners);
  auto known = ctx.store->HasCompleteScan(start);
  if (!known) return tl::unexpected(known.error());
  return watch::MakeChangeRecording(std::move(rules), !*known);
}

Result<int> SignAuditCheckpoints(Context& ctx, UnixSeconds now) {
  if (ctx.config.audit_signing_key.empty()) {
    auto c = ctx.store->Checkpoint(now);
    if (!c) return tl::unexpected(c.error());
    return 0;
  }
  auto key = x509::SigningKey::Load(ctx.config.audit_signing_key);
  if (!key) return Wrap(key.error(), "[audit] signing_key");
  return watch::SignCheckpoints(*ctx.store, *key, now);
}

namespace {

json EventJson(const store::Event& e) {
  return json{{"id", e.id},           {"time", FormatRfc3339(e.at)}, {"type", e.type},
              {"severity", e.severity}, {"scan_id", e.scan_id},      {"location", e.location},
              {"before", e.before},   {"after", e.after},           {"subject", e.subject},
              {"owner", e.owner},     {"detail", e.detail},         {"audit_seq", e.audit_seq}};
}

struct EventFlags {
  std::string since, type;
  int limit = 0;
  OutputFlags out;
};

int ListEvents(Context& ctx, const EventFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  store::EventFilter filter;
  filter.type = f.type;
  filter.limit = f.limit;
  if (!f.since.empty()) {
    auto t = ParseRfc3339(f.since);
    if (!t) {
      auto d = ParseDurationSeconds(f.since);
      if (!d)
        return ctx.ReportError({ErrorCode::kInvalidArgument,
                                "--since '" + f.since + "' is neither an RFC 3339 time nor a "
                                                        "duration like 24h"});
      filter.since = SystemClock().Now() - *d;
    } else {
      filter.since = *t;
    }
  }
  auto events = ctx.store->ListEvents(filter);
  if (!events) return ctx.ReportError(events.error());
  if (f.out.json) {
    json arr = json::array();
    for (const auto& e : *events) arr.push_back(EventJson(e));
    std::cout << json{{"events", arr}}.dump(2) << "\n";
    return 0;
  }
  Table t{{"id", "time", "severity", "type", "location", "before", "after", "detail"}, {}};
  for (const auto& e : *events)
    t.rows.push_back({std::to_string(e.id), FormatRfc3339(e.at), e.severity, e.type,
                      e.location.empty() ? "-" : e.location, e.before.substr(0, 16),
                      e.after.substr(0, 16), e.detail});
  if (f.out.csv)
    PrintCsv(std::cout, t);
  else
    PrintTable(std::cout, t);
  return 0;
}

Result<std::optional<Bytes>> TrustedKey(const Config& c, const std::string& flag) {
  const std::string path = !flag.empty()                  ? flag
                           : !c.audit_verify_key.empty() ? c.audit_verify_key
                                                         : c.audit_signing_key;
  if (path.empty()) return std::optional<Bytes>();
  auto spki = x509::ReadPublicKey(path);
  if (!spki) return tl::unexpected(spki.error());
  return std::optional<Bytes>(std::move(*spki));
}

struct AuditFlags {
  std::string key;
  std::int64_t index = -1, size = 0;
  int tail = 20;
  std::string since;
  bool json = false;
};

int Verify(Context& ctx, const AuditFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  auto key = TrustedKey(ctx.config, f.key);
  if (!key) return ctx.ReportError(key.error());
  auto r = watch::VerifyAudit(*ctx.store, *key);
  if (!r) return ctx.ReportError(r.error());
  if (f.json) {
    json problems = json::array();
    for (const auto& p : r->problems)
      problems.push_back({{"seq", p.seq < 0 ? json(nullptr) : json(p.seq)}, {"what", p.what}});
    std::cout << json{{"ok", r->ok},
                      {"entries", r->entries},
                      {"root", r->root_hex},
                      {"checkpoints", r->checkpoints},
                      {"signatures_verified", r->signatures_verified},
                      {"unsigned_checkpoints", r->unsigned_checkpoints},
                      {"first_bad_entry",
                       r->problems.empty() || r->problems[0].seq < 0 ? json(nullptr)
                                                                      : json(r->problems[0].seq)},
                      {"problems", problems},
                      {"warnings", r->warnings}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& w : r->warnings) std::cerr << "mica: warning: " << w << "\n";
    if (r->ok) {
      std::cout << "audit log verifies: " << r->entries << " entries, root " << r->root_hex
                << ", " << r->checkpoints << " checkpoints (" << r->signatures_verified
                << " signatures verified)\n";
    } else {
      std::cout << "audit log does NOT verify (" << r->entries << " entries read):\n";
      for (const auto& p : r->problems) std::cout << "  " << p.what << "\n";
    }
  }
  return r->ok ? 0 : 1;
}

int Proof(Context& ctx, const AuditFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  auto p = watch::ProveInclusion(*ctx.store, f.index, f.size);
  if (!p) return ctx.ReportError(p.error());
  json path = json::array();
  for (const auto& h : p->path) path.push_back(ToHex(h));
  std::cout << json{{"index", p->index},
                    {"tree_size", p->tree_size},
                    {"leaf_hash", ToHex(p->leaf_hash)},
                    {"root_hash", ToHex(p->root)},
                    {"inclusion_path", path},
                    {"verified", p->verified}}
                   .dump(2)
            << "\n";
  return p->verified ? 0 : 1;
}

int Tail(Context& ctx, const AuditFlags& f, bool since_mode) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  std::int64_t from = 0;
  UnixSeconds since = 0;
  if (since_mode) {
    if (!f.since.empty()) {
      auto t = ParseRfc3339(f.since);
      if (!t)
        return ctx.ReportError({ErrorCode::kInvalidArgument,
                                "--since '" + f.since + "' is not an RFC 3339 time"});
      since = *t;
    }
  } else {
    auto head = ctx.store->GetAuditHead();
    if (!head) return ctx.ReportError(head.error());
    from = std::max<std::int64_t>(0, head->size - f.tail);
  }
  // JSON lines: the entry's body is exactly the leaf input, so a reader can recompute
  // leaf_hash = SHA-256(0x00 || body) and the tree from an export alone.
  auto visit = [&](const store::AuditEntry& e) {
    if (e.at < since) return;
    std::cout << json{{"seq", e.seq}, {"leaf_hash", ToHex(e.leaf_hash)}, {"body", e.body}}.dump()
              << "\n";
  };
  if (since_mode) {
    if (auto s = ctx.store->ScanAudit(visit); !s) return ctx.ReportError(s.error());
    auto cps = ctx.store->ListCheckpoints(false);
    if (!cps) return ctx.ReportError(cps.error());
    for (const auto& c : *cps)
      std::cout << json{{"checkpoint", {{"size", c.size},
                                        {"root", ToHex(c.root)},
                                        {"time", FormatRfc3339(c.at)},
                                        {"key_id", c.key_id},
                                        {"algorithm", c.algorithm},
                                        {"signature", Base64Encode(c.signature)}}}}
                       .dump()
                << "\n";
    return 0;
  }
  auto entries = ctx.store->ReadAudit(from, 0);
  if (!entries) return ctx.ReportError(entries.error());
  for (const auto& e : *entries) visit(e);
  return 0;
}

int Checkpoint(Context& ctx) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  auto n = SignAuditCheckpoints(ctx, SystemClock().Now());
  if (!n) return ctx.ReportError(n.error());
  auto head = ctx.store->GetAuditHead();
  if (!head) return ctx.ReportError(head.error());
  std::cout << "checkpoint at " << head->size << " entries, root " << ToHex(head->root) << "; "
            << *n << " checkpoint(s) signed"
            << (ctx.config.audit_signing_key.empty() ? " (no [audit] signing_key configured)" : "")
            << "\n";
  return 0;
}

}  // namespace

void RegisterAuditVerbs(CLI::App& app, Context& ctx) {
  auto ef = std::make_shared<EventFlags>();
  auto* events = app.add_subcommand("events", "List change events and administrative actions");
  events->add_option("--since", ef->since, "RFC 3339 time, or a duration back from now (24h)");
  events->add_option("--type", ef->type, "Only this event type (docs/EVENTS.md)");
  events->add_option("--limit", ef->limit, "At most this many events");
  ef->out.AddTo(events);
  events->callback([&ctx, ef] { ctx.selected = [&ctx, ef] { return ListEvents(ctx, *ef); }; });

  auto f = std::make_shared<AuditFlags>();
  auto* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "Recompute the log and check every checkpoint");
  verify->add_option("--key", f->key, "Public key (PEM) the checkpoints must be signed with");
  verify->add_flag("--json", f->json, "Print one JSON document");
  verify->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Verify(ctx, *f); }; });
  auto* proof = audit->add_subcommand("proof", "Print the inclusion proof of entry N");
  proof->add_option("index", f->index, "Entry number (0-based)")->required();
  proof->add_option("--size", f->size, "Tree size to prove against (default: the whole log)");
  proof->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Proof(ctx, *f); }; });
  auto* tail = audit->add_subcommand("tail", "Print the last entries as JSON lines");
  tail->add_option("-n", f->tail, "How many entries (default 20)");
  tail->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Tail(ctx, *f, false); }; });
  auto* exp = audit->add_subcommand("export", "Print entries and checkpoints as JSON lines");
  exp->add_option("--since", f->since, "Only entries at or after this RFC 3339 time");
  exp->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Tail(ctx, *f, true); }; });
  auto* cp = audit->add_subcommand("checkpoint", "Record and sign a checkpoint of the current head");
  cp->callback([&ctx] { ctx.selected = [&ctx] { return Checkpoint(ctx); }; });
}

}  // namespace mica::cli
