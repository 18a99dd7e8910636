// `mica policy default | check` and `mica lint` (docs/CLI.md, docs/POLICY.md).
//
// Exit codes: 0 no finding at or above --fail-on (accepted risks never count); 1 such
// findings exist; 2 usage; 3 an input (policy file, linted file) cannot be read.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/verbs.h"
#include "core/time.h"
#include "policy/policy_file.h"
#include "policy/rules.h"
#include "store/people.h"
#include "watch/changes.h"
#include "x509/parse.h"

namespace mica::cli {

namespace {

using nlohmann::json;
using policy::Finding;
using policy::RuleSeverity;

struct PolicyFlags {
  std::string policy_file, fail_on = "high";
  std::vector<std::string> files;
  bool json = false, sarif = false;
};

Result<policy::Policy> LoadPolicy(const PolicyFlags& f) {
  if (f.policy_file.empty()) return policy::Policy::Default();
  return policy::LoadPolicyFile(f.policy_file);
}

json ExceptionJson(const std::optional<policy::RuleException>& e) {
  if (!e) return nullptr;
  return json{{"by", e->by}, {"reason", e->reason}, {"until", e->until ? FormatRfc3339(e->until) : ""}};
}

// SARIF 2.1.0 (OASIS): one run, the rule catalogue as tool.driver.rules.
json Sarif(const std::vector<Finding>& findings) {
  json rules = json::array();
  for (const auto& r : policy::BuiltinRules())
    rules.push_back({{"id", r.id}, {"shortDescription", {{"text", r.why}}}});
  json results = json::array();
  for (const auto& f : findings) {
    const char* level = f.severity >= RuleSeverity::kHigh     ? "error"
                        : f.severity >= RuleSeverity::kMedium ? "warning"
                                                              : "note";
    json r{{"ruleId", f.rule},
           {"level", level},
           {"message", {{"text", f.evidence + " [" + f.fingerprint + "]"}}},
           {"properties", {{"severity", policy::RuleSeverityName(f.severity)}, {"fingerprint", f.fingerprint}}}};
    if (!f.location.empty())
      r["locations"] = json::array({{{"physicalLocation", {{"artifactLocation", {{"uri", f.location}}}}}}});
    if (f.accepted)
      r["suppressions"] = json::array({{{"kind", "external"}, {"justification", f.accepted->reason + " (" + f.accepted->by + ")"}}});
    results.push_back(std::move(r));
  }
  return json{{"version", "2.1.0"},
              {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"runs", json::array({{{"tool", {{"driver", {{"name", "mica"}, {"rules", rules}}}}},
                                     {"results", results}}})}};
}

// What SyncFindings did, for the output of `policy check`; absent for lint.
struct Stored {
  std::size_t opened = 0, resolved = 0;
};

int Print(const PolicyFlags& f, std::vector<Finding> findings, std::size_t checked,
          const std::optional<Stored>& stored = std::nullopt) {
  auto threshold = policy::RuleSeverityFromName(f.fail_on);
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  std::size_t failing = 0;
  for (const auto& x : findings)
    if (!x.accepted && x.severity >= *threshold) ++failing;
  if (f.sarif) {
    std::cout << Sarif(findings).dump(2) << "\n";
  } else if (f.json) {
    json arr = json::array();
    for (const auto& x : findings)
      arr.push_back({{"rule", x.rule},
                     {"severity", policy::RuleSeverityName(x.severity)},
                     {"fingerprint", x.fingerprint},
                     {"location", x.location},
                     {"evidence", x.evidence},
                     {"accepted", ExceptionJson(x.accepted)}});
    json doc{{"checked", checked}, {"findings", arr}, {"failing", failing}, {"fail_on", f.fail_on}};
    if (stored) {
      doc["opened"] = stored->opened;
      doc["resolved"] = stored->resolved;
    }
    std::cout << doc.dump(2) << "\n";
  } else {
    Table t{{"severity", "rule", "fingerprint", "location", "evidence"}, {}};
    for (const auto& x : findings) {
      std::string ev = x.evidence;
      if (x.accepted)
        ev += " [accepted by " + x.accepted->by + (x.accepted->until ? " until " + FormatRfc3339(x.accepted->until) : "") +
              ": " + x.accepted->reason + "]";
      t.rows.push_back({policy::RuleSeverityName(x.severity), x.rule, x.fingerprint.substr(0, 16),
                        x.location.empty() ? "-" : x.location, ev});
    }
    PrintTable(std::cout, t);
    std::cout << checked << " identities checked, " << findings.size() << " findings, " << failing
              << " at or above " << f.fail_on;
    if (stored) std::cout << "; " << stored->opened << " opened, " << stored->resolved << " resolved";
    std::cout << "\n";
  }
  return failing ? 1 : 0;
}

int Lint(const PolicyFlags& f) {
  auto p = LoadPolicy(f);
  if (!p) return Context::ReportError(p.error());
  const UnixSeconds now = SystemClock().Now();
  std::vector<Finding> findings;
  std::vector<x509::Identity> ids;
  std::vector<policy::Where> wheres;
  int input_errors = 0;
  for (const auto& path : f.files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      Context::ReportError({ErrorCode::kNotFound, path + ": cannot be read"});
      ++input_errors;
      continue;
    }
    Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = x509::ParseContent(bytes, {});
    if (!parsed || parsed->identities.empty()) {
      Context::ReportError({ErrorCode::kInput, path + ": " + (parsed ? std::string("no certificate or key found")
                                                                     : parsed.error().message)});
      ++input_errors;
      continue;
    }
    for (const auto& issue : parsed->issues) std::cerr << "mica: " << path << " [" << issue.position << "]: " << issue.reason << "\n";
    struct stat st {};
    policy::Where w{path, ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1};
    for (auto& id : parsed->identities) {
      auto one = policy::CheckIdentity(id, w, *p, now);
      findings.insert(findings.end(), one.begin(), one.end());
      ids.push_back(std::move(id));
      wheres.push_back(w);
    }
  }
  auto inv = policy::CheckInventory(ids, wheres, *p, now);
  findings.insert(findings.end(), inv.begin(), inv.end());
  const int rc = Print(f, std::move(findings), ids.size());
  return rc ? rc : input_errors ? 3 : 0;
}

// Records a policy_changed event when the policy differs from the one last recorded, then
// syncs the findings (opened / resolved, never duplicated) with their events.
Result<Stored> StoreFindings(Context& ctx, const PolicyFlags& f, const std::vector<Finding>& findings,
                             UnixSeconds now) {
  std::string text = policy::DefaultPolicyToml();
  if (!f.policy_file.empty()) {
    std::ifstream in(f.policy_file, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto changed = watch::PolicyChangeEvent(*ctx.store, f.policy_file.empty() ? "<built-in>" : f.policy_file,
                                          text, now);
  if (!changed) return tl::unexpected(changed.error());
  if (*changed) {
    if (auto r = ctx.store->AppendEvents({**changed}); !r) return tl::unexpected(r.error());
  }
  std::vector<std::string> rules;
  for (const auto& r : policy::BuiltinRules()) rules.emplace_back(r.id);
  std::vector<store::FindingRecord> records;
  records.reserve(findings.size());
  for (const auto& x : findings) {
    store::FindingRecord r;
    r.rule = x.rule;
    r.fingerprint = x.fingerprint;
    r.location = x.location;
    r.severity = policy::RuleSeverityName(x.severity);
    r.evidence = x.evidence;
    if (x.accepted) {
      r.accepted_by = x.accepted->by;
      r.accepted_reason = x.accepted->reason;
      r.accepted_until = x.accepted->until;
    }
    records.push_back(std::move(r));
  }
  auto owners = ctx.store->People().OwnersByFingerprint();
  if (!owners) return tl::unexpected(owners.error());
  auto delta = ctx.store->SyncFindings(rules, records, now, [&](const store::FindingDelta& d) {
    auto events = watch::ClassifyFindings(d, now);
    watch::SetOwners(events, *owners);
    return events;
  });
  if (!delta) return tl::unexpected(delta.error());
  return Stored{delta->opened.size(), delta->resolved.size()};
}

int Check(Context& ctx, const PolicyFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  auto p = LoadPolicy(f);
  if (!p) return Context::ReportError(p.error());
  const UnixSeconds now = SystemClock().Now();
  store::IdentityFilter filter;
  filter.now = now;
  auto rows = ctx.store->ListIdentities(filter);
  if (!rows) return Context::ReportError(rows.error());
  // All sightings in one query (one per identity made a 100k inventory take minutes).
  auto all_sightings = ctx.store->AllPresentSightings();
  if (!all_sightings) return Context::ReportError(all_sightings.error());
  std::unordered_map<std::int64_t, std::vector<const store::SightingRow*>> by_identity;
  by_identity.reserve(rows->size());
  for (const auto& s : *all_sightings) by_identity[s.identity_id].push_back(&s);
  std::vector<Finding> findings;
  std::vector<x509::Identity> ids;
  std::vector<policy::Where> wheres;
  ids.reserve(rows->size());
  for (auto& row : *rows) {
    policy::Where first;
    bool any = false;
    auto it = by_identity.find(row.id);
    if (it == by_identity.end()) continue;
    for (const store::SightingRow* sp : it->second) {
      const store::SightingRow& s = *sp;
      policy::Where w;
      w.path = s.location.kind == store::LocationKind::kFile
                   ? s.location.path
                   : s.location.host + ":" + std::to_string(s.location.port);
      if (s.file) w.mode = static_cast<int>(s.file->mode & 07777);
      auto one = policy::CheckIdentity(row.identity, w, *p, now);
      findings.insert(findings.end(), one.begin(), one.end());
      if (!any) first = w;
      any = true;
    }
    if (!any) continue;
    ids.push_back(std::move(row.identity));
    wheres.push_back(first);
  }
  auto owners = ctx.store->People().OwnersByFingerprint();
  if (!owners) return Context::ReportError(owners.error());
  auto inv = policy::CheckInventory(ids, wheres, *p, now, &*owners);
  findings.insert(findings.end(), inv.begin(), inv.end());
  auto stored = StoreFindings(ctx, f, findings, now);
  if (!stored) return Context::ReportError(stored.error());
  return Print(f, std::move(findings), ids.size(), *stored);
}

void AddOutput(CLI::App* sub, PolicyFlags& f) {
  auto* j = sub->add_flag("--json", f.json, "Print one JSON document");
  auto* s = sub->add_flag("--sarif", f.sarif, "Print SARIF 2.1.0");
  j->excludes(s);
  sub->add_option("--policy", f.policy_file, "Policy file (TOML; default: the built-in policy)");
  sub->add_option("--fail-on", f.fail_on, "Exit 1 when a finding at or above this severity exists")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
}

}  // namespace

void RegisterPolicyVerbs(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<PolicyFlags>();
  auto* pol = app.add_subcommand("policy", "Judge the inventory against the policy");
  pol->require_subcommand(1);
  auto* def = pol->add_subcommand("default", "Print the built-in policy as commented TOML");
  def->callback([&ctx] {
    ctx.selected = [] {
      std::cout << policy::DefaultPolicyToml();
      return 0;
    };
  });
  auto* check = pol->add_subcommand("check", "Evaluate every identity in the inventory");
  AddOutput(check, *f);
  check->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Check(ctx, *f); }; });

  auto* lint = app.add_subcommand("lint", "Run the certificate and key rules on files");
  lint->add_option("file", f->files, "Files in any format the parser reads")->required();
  AddOutput(lint, *f);
  lint->callback([&ctx, f] {
    ctx.selected = [&ctx, f] {
      if (!ctx.Setup(false)) return ctx.exit_code;
      return Lint(*f);
    };
  });
}

}  // namespace mica::cli
