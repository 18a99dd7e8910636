// `mica policy default | check` and `mica lint` (docs/CLI.md, docs/POLICY.md).
//
// Exit codes: 0 no finding at or above --fail-on (accepted risks never count); 1 such
// findings exist; 2 usage; 3 an input (policy file, linted file) cannot be read.
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cli/output.h"
#include "cli/verbs.h"
#include "core/encoding.h"
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

// SARIF 2.1.0 (OASIS): one run, the rule catalogue as tool.driver.rules.
json Sarif(const std::vector<Finding*>& findings, const std::vector<std::uint32_t>& order) {
  json rules = json::array();
  for (const auto& r : policy::BuiltinRules())
    rules.push_back({{"id", r.id}, {"shortDescription", {{"text", r.why}}}});
  json results = json::array();
  for (std::uint32_t i : order) {
    const Finding& f = *findings[i];
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

// Appends `s` as a JSON string literal exactly as nlohmann::json::dump escapes it: the
// common case (printable ASCII without quote or backslash) is copied, the rest (control
// characters, UTF-8, and its validation) goes through nlohmann.
void AppendJsonString(std::string& out, std::string_view s) {
  const bool plain = std::all_of(
      s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    out += json(std::string(s)).dump();
    return;
  }
  out += '"';
  out.append(s);
  out += '"';
}

// The --json document of `policy check` and `lint`, byte for byte as nlohmann's dump(2)
// writes it (keys sorted, two-space indent) but streamed: building the json tree of
// 140,000 findings first took most of the ~2 s --json added. `order` lists the findings
// to print.
void PrintJson(std::ostream& os, const PolicyFlags& f, const std::vector<Finding*>& findings,
               const std::vector<std::uint32_t>& order, std::size_t checked, std::size_t failing,
               const std::optional<Stored>& stored) {
  std::string out;
  out.reserve(1 << 16);
  auto flush = [&](bool force) {
    if (force || out.size() >= (1 << 16)) {
      os.write(out.data(), static_cast<std::streamsize>(out.size()));
      out.clear();
    }
  };
  auto field = [&](const char* indent, const char* key, std::string_view value, bool last) {
    out.append(indent).append("\"").append(key).append("\": ");
    AppendJsonString(out, value);
    out.append(last ? "\n" : ",\n");
  };
  out.append("{\n  \"checked\": ").append(std::to_string(checked));
  out.append(",\n  \"fail_on\": ");
  AppendJsonString(out, f.fail_on);
  out.append(",\n  \"failing\": ").append(std::to_string(failing));
  out.append(",\n  \"findings\": ");
  if (order.empty()) out.append("[]");
  for (std::size_t n = 0; n < order.size(); ++n) {
    const Finding& x = *findings[order[n]];
    out.append(n == 0 ? "[\n    {\n" : ",\n    {\n");
    if (x.accepted) {
      out.append("      \"accepted\": {\n");
      field("        ", "by", x.accepted->by, false);
      field("        ", "reason", x.accepted->reason, false);
      field("        ", "until", x.accepted->until ? FormatRfc3339(x.accepted->until) : "", true);
      out.append("      },\n");
    } else {
      out.append("      \"accepted\": null,\n");
    }
    field("      ", "evidence", x.evidence, false);
    field("      ", "fingerprint", x.fingerprint, false);
    field("      ", "location", x.location, false);
    field("      ", "rule", x.rule, false);
    field("      ", "severity", policy::RuleSeverityName(x.severity), true);
    out.append("    }");
    if (n + 1 == order.size()) out.append("\n  ]");
    flush(false);
  }
  if (stored) {
    out.append(",\n  \"opened\": ").append(std::to_string(stored->opened));
    out.append(",\n  \"resolved\": ").append(std::to_string(stored->resolved));
  }
  out.append("\n}\n");
  flush(true);
}

// The findings table, from views of the findings (PrintTableRows) instead of a Table of
// copies: five strings per row for 140,589 rows made the table ~0.4 s slower than --json.
void PrintFindingsTable(std::ostream& os, const std::vector<Finding*>& findings,
                        const std::vector<std::uint32_t>& order) {
  std::string scratch;  // the evidence of an accepted finding, with its exception
  PrintTableRows(os, {"severity", "rule", "fingerprint", "location", "evidence"}, order.size(),
                 [&](std::size_t r, std::vector<std::string_view>& cells) {
                   const Finding& x = *findings[order[r]];
                   std::string_view ev = x.evidence;
                   if (x.accepted) {
                     scratch = x.evidence;
                     scratch.append(" [accepted by ").append(x.accepted->by);
                     if (x.accepted->until)
                       scratch.append(" until ").append(FormatRfc3339(x.accepted->until));
                     scratch.append(": ").append(x.accepted->reason).append("]");
                     ev = scratch;
                   }
                   cells = {policy::RuleSeverityName(x.severity), x.rule,
                            std::string_view(x.fingerprint).substr(0, 16),
                            x.location.empty() ? std::string_view("-")
                                               : std::string_view(x.location),
                            ev};
                 });
}

// Prints `findings` most severe first; within one severity in the order given.
int Print(const PolicyFlags& f, const std::vector<Finding*>& findings, std::size_t checked,
          const std::optional<Stored>& stored = std::nullopt) {
  auto threshold = policy::RuleSeverityFromName(f.fail_on);
  // A stable counting sort of indices by severity (the old stable_sort moved the
  // ~280-byte Findings themselves).
  std::vector<std::uint32_t> order;
  order.reserve(findings.size());
  for (int sev = static_cast<int>(RuleSeverity::kCritical);
       sev >= static_cast<int>(RuleSeverity::kInfo); --sev)
    for (std::size_t i = 0; i < findings.size(); ++i)
      if (static_cast<int>(findings[i]->severity) == sev)
        order.push_back(static_cast<std::uint32_t>(i));
  std::size_t failing = 0;
  for (const Finding* x : findings)
    if (!x->accepted && x->severity >= *threshold) ++failing;
  if (f.sarif) {
    std::cout << Sarif(findings, order).dump(2) << "\n";
  } else if (f.json) {
    PrintJson(std::cout, f, findings, order, checked, failing, stored);
  } else {
    PrintFindingsTable(std::cout, findings, order);
    std::cout << checked << " identities checked, " << findings.size() << " findings, " << failing
              << " at or above " << f.fail_on;
    if (stored) std::cout << "; " << stored->opened << " opened, " << stored->resolved << " resolved";
    std::cout << "\n";
  }
  return failing ? 1 : 0;
}

std::vector<Finding*> Pointers(std::vector<Finding>& findings) {
  std::vector<Finding*> out;
  out.reserve(findings.size());
  for (Finding& x : findings) out.push_back(&x);
  return out;
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
  const int rc = Print(f, Pointers(findings), ids.size());
  return rc ? rc : input_errors ? 3 : 0;
}

// The events of what a check changed (docs/EVENTS.md): a finding_opened or
// finding_resolved event per finding, except for the rules judged for the first time.
// What such a rule opens is its baseline, recorded as one finding_baseline event (info)
// that counts the findings by severity and commits to which they are: the SHA-256 of
// "fingerprint LF location LF" of each, in the order they were stored (finding id). The
// first check of 100,000 certificates opened 140,589 findings, and an event each was
// about a fifth of its CPU time, an audit-log copy of rows the finding table keeps, and a
// page per finding to any sink routing finding_opened.
std::vector<store::Event> FindingEvents(const store::FindingDelta& d,
                                        const std::map<std::string, std::string>& owners,
                                        UnixSeconds now) {
  if (d.first_checked.empty()) {
    auto events = watch::ClassifyFindings(d, now);
    watch::SetOwners(events, owners);
    return events;
  }
  struct Baseline {
    std::size_t count = 0, bytes = 0;
    std::map<std::string, std::size_t> by_severity;
    std::string keys;
  };
  std::map<std::string, Baseline, std::less<>> baselines;  // by rule: a stable order
  for (const std::string& rule : d.first_checked) baselines.try_emplace(rule);
  store::FindingDelta rest;
  rest.resolved = d.resolved;  // a rule judged for the first time resolves nothing
  for (const store::FindingRecord& f : d.opened) {  // sized first: 20 MB for 140,589
    auto it = baselines.find(f.rule);
    if (it != baselines.end()) it->second.bytes += f.fingerprint.size() + f.location.size() + 2;
  }
  for (auto& [rule, b] : baselines) b.keys.reserve(b.bytes);
  for (const store::FindingRecord& f : d.opened) {
    auto it = baselines.find(f.rule);
    if (it == baselines.end()) {
      rest.opened.push_back(f);
      continue;
    }
    Baseline& b = it->second;
    ++b.count;
    ++b.by_severity[f.severity];
    b.keys.append(f.fingerprint).append("\n").append(f.location).append("\n");
  }
  std::vector<store::Event> events;
  for (const auto& [rule, b] : baselines) {
    if (b.count == 0) continue;
    store::Event e;
    e.at = now;
    e.type = "finding_baseline";
    e.severity = "info";
    e.detail = rule;
    e.detail.append(": first check, ").append(std::to_string(b.count)).append(" findings opened (");
    bool first = true;
    for (const char* sev : {"critical", "high", "medium", "low", "info"}) {
      auto n = b.by_severity.find(sev);
      if (n == b.by_severity.end()) continue;
      e.detail.append(first ? "" : ", ").append(std::to_string(n->second)).append(" ").append(sev);
      first = false;
    }
    e.detail.append("); sha256 of their fingerprint and location lines ")
        .append(Sha256Hex(AsBytes(b.keys)));
    events.push_back(std::move(e));
  }
  auto each = watch::ClassifyFindings(rest, now);
  watch::SetOwners(each, owners);
  std::move(each.begin(), each.end(), std::back_inserter(events));
  return events;
}

// Records a policy_changed event when the policy differs from the one last recorded, then
// syncs the findings (opened / resolved, never duplicated) with their events.
// `owners` (OwnersByFingerprint) name the owner of each finding's events.
Result<Stored> StoreFindings(Context& ctx, const PolicyFlags& f,
                             const std::vector<Finding*>& findings,
                             const std::map<std::string, std::string>& owners, UnixSeconds now) {
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
  // The records borrow the findings' strings (SyncFindings only reads them) and give them
  // back when this returns, instead of copying four strings of every finding.
  std::vector<store::FindingRecord> records(findings.size());
  for (std::size_t i = 0; i < findings.size(); ++i) {
    Finding& x = *findings[i];
    store::FindingRecord& r = records[i];
    r.rule = std::move(x.rule);
    r.fingerprint = std::move(x.fingerprint);
    r.location = std::move(x.location);
    r.severity = policy::RuleSeverityName(x.severity);
    r.evidence = std::move(x.evidence);
    if (x.accepted) {
      r.accepted_by = x.accepted->by;
      r.accepted_reason = x.accepted->reason;
      r.accepted_until = x.accepted->until;
    }
  }
  struct GiveBack {
    const std::vector<Finding*>& findings;
    std::vector<store::FindingRecord>& records;
    ~GiveBack() {
      for (std::size_t i = 0; i < findings.size(); ++i) {
        findings[i]->rule = std::move(records[i].rule);
        findings[i]->fingerprint = std::move(records[i].fingerprint);
        findings[i]->location = std::move(records[i].location);
        findings[i]->evidence = std::move(records[i].evidence);
      }
    }
  } give_back{findings, records};
  auto delta = ctx.store->SyncFindings(rules, records, now, [&](const store::FindingDelta& d) {
    return FindingEvents(d, owners, now);
  });
  if (!delta) return tl::unexpected(delta.error());
  return Stored{delta->opened.size(), delta->resolved.size()};
}

// Where an identity present at `s` was seen, as the rules see it.
policy::Where WhereOf(const store::SightingRow& s) {
  policy::Where w;
  if (s.location.kind == store::LocationKind::kFile) {
    w.path = s.location.path;
  } else {
    w.path = s.location.host;
    w.path.append(":").append(std::to_string(s.location.port));
  }
  if (s.file) w.mode = static_cast<int>(s.file->mode & 07777);
  return w;
}

// One identity as checked: where its findings are, and the key the inventory listing
// sorts by (the store's not_after column: a certificate's notAfter, an SSH certificate's
// valid-before, none for keys, which come last; then the fingerprint).
struct Checked {
  bool no_expiry = false;
  UnixSeconds expiry = 0;
  std::int64_t id = 0;
  std::string fingerprint;
  std::uint32_t first = 0, count = 0;  // its findings in CheckIdentity's output
};

void SetExpiry(const x509::Identity& id, Checked& c) {
  c.no_expiry = false;
  if (id.cert) {
    c.expiry = id.cert->not_after;
  } else if (id.ssh && id.kind == x509::Kind::kSshCertificate) {
    c.expiry = id.ssh->valid_before;
  } else {
    c.no_expiry = true;
  }
}

int Check(Context& ctx, const PolicyFlags& f) {
  // The inventory streams through in batches that are freed as fast as they are made,
  // and the findings vectors grow to tens of MB by doubling. With glibc's defaults freed
  // memory went back to the kernel (trim; blocks over the mmap threshold unmapped) and
  // was faulted in again: kept in the heap for this one-shot process, a re-check of the
  // 100k corpus takes ~60,600 page faults instead of ~70,500 (the rest is its peak
  // memory). 32 MiB is the largest mmap threshold glibc accepts. This tunes glibc's
  // malloc only: the release `mica` links tcmalloc, which ignores mallopt (and checks
  // faster still, docs/PERFORMANCE.md); it matters for -DMICA_TCMALLOC=OFF builds.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (!ctx.Setup(true)) return ctx.exit_code;
  auto p = LoadPolicy(f);
  if (!p) return Context::ReportError(p.error());
  const UnixSeconds now = SystemClock().Now();
  // One identity at a time: the per-identity rules run at once on each place it is
  // present; the rules over the set keep ~200 bytes of it. Holding 100,000 decoded
  // identities (and copying them) was most of the time and of the 1 GiB this took.
  std::vector<Finding> per_identity;
  std::vector<Checked> checked;
  policy::InventoryChecker inventory(*p, now);
  auto streamed = ctx.store->ForEachPresentIdentity([&](store::PresentIdentity& present) {
    const x509::Identity& id = present.identity;
    Checked& c = checked.emplace_back();
    c.id = present.id;
    c.fingerprint = id.fingerprint;
    SetExpiry(id, c);
    c.first = static_cast<std::uint32_t>(per_identity.size());
    for (const store::SightingRow& s : present.sightings) {
      auto one = policy::CheckIdentity(id, WhereOf(s), *p, now);
      std::move(one.begin(), one.end(), std::back_inserter(per_identity));
    }
    c.count = static_cast<std::uint32_t>(per_identity.size()) - c.first;
    inventory.Add(id, WhereOf(present.sightings.front()));
  });
  if (!streamed) return Context::ReportError(streamed.error());

  // The order findings always had: the inventory listing's (expiry, keys last, then
  // fingerprint), each identity's places by path; then the findings over the set.
  std::vector<std::uint32_t> order(checked.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](std::uint32_t ia, std::uint32_t ib) {
    const Checked& a = checked[ia];
    const Checked& b = checked[ib];
    if (a.no_expiry != b.no_expiry) return b.no_expiry;
    if (a.expiry != b.expiry) return a.expiry < b.expiry;
    const int c = a.fingerprint.compare(b.fingerprint);
    return c != 0 ? c < 0 : a.id < b.id;
  });
  auto owners = ctx.store->People().OwnersByFingerprint();
  if (!owners) return Context::ReportError(owners.error());
  auto inv = inventory.Finish(&*owners, order);
  // Listed, not moved: the per-identity findings in the order above, then the rest.
  std::vector<Finding*> findings;
  findings.reserve(per_identity.size() + inv.size());
  for (std::uint32_t i : order)
    for (std::uint32_t k = checked[i].first; k < checked[i].first + checked[i].count; ++k)
      findings.push_back(&per_identity[k]);
  for (Finding& x : inv) findings.push_back(&x);
  auto stored = StoreFindings(ctx, f, findings, *owners, now);
  if (!stored) return Context::ReportError(stored.error());
  return Print(f, findings, inventory.size(), *stored);
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
