// `mica people ...` and `mica intel ...` (docs/PEOPLE.md).
//
// Exit codes: 0 ok; 1 `people risk` found someone at or above the threshold, or `people
// check` refused the action; 2 usage; 3 an input could not be read (an ingest with bad
// lines still stores the good ones and exits 3); 4 internal.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/verbs.h"
#include "people/enforce.h"
#include "people/events.h"
#include "people/hr_import.h"
#include "people/ingest.h"
#include "people/intel.h"
#include "people/ownership.h"
#include "people/risk.h"

namespace mica::cli {

namespace {

using nlohmann::json;

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, path + ": cannot be read (does it exist?)");
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

Result<people::RiskConfig> Config(Context& ctx) { return people::LoadRiskConfig(ctx.config.source); }

std::string IntelRoot(Context& ctx, const people::RiskConfig& c) {
  return c.intel_dir.empty() ? ctx.db_path + ".intel" : c.intel_dir;
}

Result<UnixSeconds> AtOrNow(const std::string& at) {
  if (at.empty()) return SystemClock().Now();
  auto t = ParseRfc3339(at);
  if (!t) return Fail(ErrorCode::kInvalidArgument, "--at: " + t.error().message);
  return *t;
}

std::string Blank(const std::string& s) { return s.empty() ? "-" : s; }

json PersonJson(const store::Person& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"email", p.email},
          {"type", p.type},
          {"country", p.country},
          {"city", p.city},
          {"timezone", p.timezone},
          {"manager", p.manager},
          {"start_date", p.start_date},
          {"phone_hash", p.phone_hash},
          {"payment_hash", p.payment_hash},
          {"payment_type", p.payment_type},
          {"address_hash", p.address_hash},
          {"resume_hash", p.resume_hash},
          {"referred_by", p.referred_by},
          {"laptop_serial", p.laptop_serial},
          {"shipping_address_hash", p.shipping_address_hash},
          {"created_at", FormatRfc3339(p.created_at)},
          {"updated_at", FormatRfc3339(p.updated_at)},
          {"blocked", p.blocked},
          {"blocked_at", p.blocked ? json(FormatRfc3339(p.blocked_at)) : json(nullptr)},
          {"blocked_reason", p.blocked_reason},
          {"approved_by", p.approved_by}};
}

json ScoreJson(const store::RiskScore& s) {
  json signals = json::array();
  for (const auto& h : s.signals)
    signals.push_back({{"signal", h.signal},
                       {"points", h.points},
                       {"explanation", h.explanation},
                       {"evidence", h.evidence}});
  return {{"person", s.person},
          {"score", s.score},
          {"at", FormatRfc3339(s.at)},
          {"window_from", FormatRfc3339(s.window_from)},
          {"window_to", FormatRfc3339(s.window_to)},
          {"signals", signals}};
}

json EventJson(const store::AccessEvent& e) {
  return {{"time", FormatRfc3339(e.at)}, {"person", e.person},   {"source_ip", e.source_ip},
          {"device", e.device},          {"user_agent", e.user_agent}, {"action", e.action},
          {"target", e.target},          {"mfa_device", e.mfa_device}, {"session", e.session},
          {"country", e.country},        {"asn", e.asn},         {"intel", e.intel}};
}

std::string SignalList(const store::RiskScore& s) {
  std::string out;
  for (const auto& h : s.signals)
    out.append(out.empty() ? "" : " ").append(fmt::format("{}({:.0f})", h.signal, h.points));
  return out;
}

void PrintEvidence(const store::RiskScore& s) {
  std::cout << fmt::format("\n{}  score {:.0f}\n", s.person, s.score);
  for (const auto& h : s.signals) {
    std::cout << fmt::format("  +{:<3.0f} {}: {}\n", h.points, h.signal, h.explanation);
    for (const auto& e : h.evidence) std::cout << "         " << e << "\n";
  }
}

// ---------------------------------------------------------------------------------------

int Import(Context& ctx, const std::string& file, const OutputFlags& out) {
  auto text = ReadAll(file);
  if (!text) return Context::ReportError(text.error());
  auto parsed = people::ParsePeople(*text, file);
  if (!parsed) return Context::ReportError(parsed.error());
  auto stats = ctx.store->People().UpsertPeople(*parsed, SystemClock().Now());
  if (!stats) return Context::ReportError(stats.error());
  if (out.json) {
    std::cout << json{{"file", file},
                      {"people", parsed->size()},
                      {"added", stats->added},
                      {"updated", stats->updated},
                      {"unchanged", stats->unchanged},
                      {"payment_changes", stats->payment_changes}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format("{}: {} people ({} added, {} updated, {} unchanged; {} payment "
                             "account changes)\n",
                             file, parsed->size(), stats->added, stats->updated, stats->unchanged,
                             stats->payment_changes);
  }
  return 0;
}

int List(Context& ctx, const OutputFlags& out) {
  auto list = ctx.store->People().ListPeople();
  if (!list) return Context::ReportError(list.error());
  auto scores = ctx.store->People().LatestScores();
  if (!scores) return Context::ReportError(scores.error());
  std::map<std::string, double> score;
  for (const auto& s : *scores) score[s.person] = s.score;
  if (out.json) {
    json arr = json::array();
    for (const auto& p : *list) {
      json j = PersonJson(p);
      j["score"] = score.count(p.id) ? json(score[p.id]) : json(nullptr);
      arr.push_back(j);
    }
    std::cout << json{{"people", arr}}.dump(2) << "\n";
    return 0;
  }
  Table t{{"id", "name", "type", "country", "timezone", "score", "blocked"}, {}};
  for (const auto& p : *list)
    t.rows.push_back({p.id, p.name, p.type, Blank(p.country), Blank(p.timezone),
                      score.count(p.id) ? fmt::format("{:.0f}", score[p.id]) : "-",
                      p.blocked ? "yes" : "no"});
  if (out.csv) PrintCsv(std::cout, t);
  else PrintTable(std::cout, t);
  return 0;
}

int Show(Context& ctx, const std::string& id, const OutputFlags& out) {
  auto& ps = ctx.store->People();
  auto p = ps.GetPerson(id);
  if (!p) return Context::ReportError(p.error());
  auto history = ps.ScoreHistory(id, 10);
  auto events = ps.RecentEvents(id, 10);
  auto targets = ps.TargetsOf(id);
  auto devices = ps.ListDevices();
  auto changes = ps.ListChanges(id);
  auto owners = ps.ListOwners();
  for (const Error* e : {history ? nullptr : &history.error(), events ? nullptr : &events.error(),
                         targets ? nullptr : &targets.error(), devices ? nullptr : &devices.error(),
                         changes ? nullptr : &changes.error(), owners ? nullptr : &owners.error()})
    if (e) return Context::ReportError(*e);
  std::vector<std::string> owned;
  for (const auto& o : *owners)
    if (o.owner == id) owned.push_back(o.fingerprint);
  std::vector<const store::Device*> mine;
  for (const auto& d : *devices)
    if (d.person == id) mine.push_back(&d);
  if (out.json) {
    json j = PersonJson(*p);
    j["score"] = history->empty() ? json(nullptr) : ScoreJson(history->front());
    json hist = json::array();
    for (const auto& h : *history)
      hist.push_back({{"at", FormatRfc3339(h.at)}, {"score", h.score}});
    j["score_history"] = hist;
    json ev = json::array();
    for (const auto& e : *events) ev.push_back(EventJson(e));
    j["recent_events"] = ev;
    j["identities_used"] = *targets;
    j["identities_owned"] = owned;
    json dv = json::array();
    for (const auto* d : mine)
      dv.push_back({{"device", d->id}, {"serial", d->serial}, {"managed", d->managed},
                    {"software", d->software}, {"monitors", d->monitors}});
    j["devices"] = dv;
    json ch = json::array();
    for (const auto& c : *changes)
      ch.push_back({{"field", c.field}, {"at", FormatRfc3339(c.at)}});
    j["changes"] = ch;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{}  {} <{}>\n  type {}, declared {} {} ({}), manager {}, since {}\n",
                           p->id, p->name, p->email, p->type, Blank(p->country), p->city,
                           Blank(p->timezone), Blank(p->manager), Blank(p->start_date));
  if (p->blocked)
    std::cout << fmt::format("  BLOCKED for signing and issuance since {}: {}\n",
                             FormatRfc3339(p->blocked_at), p->blocked_reason);
  else if (!p->approved_by.empty())
    std::cout << fmt::format("  last block approved by {} at {}\n", p->approved_by,
                             FormatRfc3339(p->approved_at));
  std::cout << fmt::format("  identities owned: {}, used: {}, devices: {}\n", owned.size(),
                           targets->size(), mine.size());
  for (const auto& c : *changes)
    std::cout << fmt::format("  {} changed at {}\n", c.field, FormatRfc3339(c.at));
  if (!history->empty()) {
    std::string trend;
    for (auto it = history->rbegin(); it != history->rend(); ++it)
      trend.append(trend.empty() ? "" : " -> ").append(fmt::format("{:.0f}", it->score));
    std::cout << "  score history: " << trend << "\n";
    PrintEvidence(history->front());
  }
  if (!events->empty()) {
    std::cout << "\nrecent events:\n";
    Table t{{"time", "action", "source_ip", "country", "intel", "device", "target"}, {}};
    for (const auto& e : *events)
      t.rows.push_back({FormatRfc3339(e.at), e.action, Blank(e.source_ip), Blank(e.country),
                        Blank(e.intel), Blank(e.device), Blank(e.target)});
    PrintTable(std::cout, t, 40);
  }
  return 0;
}

struct IngestFlags {
  std::vector<std::string> files;
  std::string format = "mica";
  std::vector<std::string> fields;
  std::string intel;
  int year = 0;
  std::int64_t batch = 1000000;
  bool json = false;
};

int IngestEvents(Context& ctx, const IngestFlags& f) {
  auto format = people::ParseEventFormat(f.format);
  if (!format) return Context::ReportError(format.error());
  people::FieldMap fields;
  for (const auto& spec : f.fields)
    if (auto s = fields.Add(spec); !s) return Context::ReportError(s.error());
  auto config = Config(ctx);
  if (!config) return Context::ReportError(config.error());
  std::string intel_dir = f.intel.empty() ? people::ActiveIntelDir(IntelRoot(ctx, *config)) : f.intel;
  std::optional<people::IntelSet> intel;
  if (!intel_dir.empty()) {
    auto set = people::IntelSet::Load(intel_dir);
    if (!set) return Context::ReportError(set.error());
    intel = std::move(*set);
  }
  int year = f.year;
  if (year == 0) year = std::stoi(FormatRfc3339(SystemClock().Now()).substr(0, 4));
  people::EventReader reader(*format, fields, year);
  people::Ingestor ingestor(ctx.store->People(), intel ? &*intel : nullptr, *config,
                            static_cast<std::size_t>(std::max<std::int64_t>(1, f.batch)));
  if (auto s = ingestor.Begin(); !s) return Context::ReportError(s.error());
  for (const auto& file : f.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Context::ReportError({ErrorCode::kNotFound, file + ": cannot be read"});
    if (auto s = ingestor.AddStream(in, file, reader); !s) return Context::ReportError(s.error());
  }
  if (auto s = ingestor.Finish(); !s) return Context::ReportError(s.error());
  const auto& st = ingestor.stats();
  if (f.json) {
    std::cout << json{{"lines", st.lines},
                      {"events", st.events},
                      {"skipped", st.skipped},
                      {"errors", st.errors},
                      {"error_samples", st.error_samples},
                      {"intel", intel_dir}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format("{} lines: {} events stored, {} skipped, {} bad{}\n", st.lines,
                             st.events, st.skipped, st.errors,
                             intel_dir.empty() ? " (no intel set: mica intel load DIR)" : "");
  }
  for (const auto& e : st.error_samples) std::cerr << "mica: " << e << "\n";
  return st.errors > 0 ? 3 : 0;
}

int IngestDevices(Context& ctx, const std::vector<std::string>& files) {
  std::vector<store::Device> devices;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Context::ReportError({ErrorCode::kNotFound, file + ": cannot be read"});
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto d = people::ParseDeviceLine(line);
      if (!d)
        return Context::ReportError(
            {d.error().code, file + ":" + std::to_string(n) + ": " + d.error().message});
      devices.push_back(std::move(*d));
    }
  }
  if (auto s = ctx.store->People().UpsertDevices(devices); !s) return Context::ReportError(s.error());
  std::cout << devices.size() << " device reports stored\n";
  return 0;
}

int ListDevices(Context& ctx, const OutputFlags& out) {
  auto devices = ctx.store->People().ListDevices();
  if (!devices) return Context::ReportError(devices.error());
  auto config = Config(ctx);
  if (!config) return Context::ReportError(config.error());
  Table t{{"device", "person", "serial", "managed", "remote_tool", "kvm"}, {}};
  json arr = json::array();
  for (const auto& d : *devices) {
    auto tool = people::FindRemoteTool(d, *config);
    auto kvm = people::FindKvm(d, *config);
    t.rows.push_back({d.id, Blank(d.person), Blank(d.serial), d.managed ? "yes" : "no",
                      Blank(tool), Blank(kvm)});
    arr.push_back({{"device", d.id}, {"person", d.person}, {"serial", d.serial},
                   {"managed", d.managed}, {"remote_tool", tool}, {"kvm", kvm}});
  }
  if (out.json) std::cout << json{{"devices", arr}}.dump(2) << "\n";
  else if (out.csv) PrintCsv(std::cout, t);
  else PrintTable(std::cout, t);
  return 0;
}

struct RiskFlags {
  std::string at;
  bool no_enforce = false, all = false;
  OutputFlags out;
};

int Risk(Context& ctx, const RiskFlags& f) {
  auto now = AtOrNow(f.at);
  if (!now) return Context::ReportError(now.error());
  auto config = Config(ctx);
  if (!config) return Context::ReportError(config.error());
  auto& ps = ctx.store->People();
  auto w = people::WindowFor(*config, *now);
  auto input = ps.LoadRiskInput(w.from, w.to, w.changes_from);
  if (!input) return Context::ReportError(input.error());
  auto scores = people::Score(*input, *config, *now);
  people::EnforcementResult enforced;
  if (f.no_enforce) {
    if (auto s = ps.RecordScores(scores); !s) return Context::ReportError(s.error());
  } else {
    auto r = people::Enforce(*ctx.store, ps, scores, *config, *now);
    if (!r) return Context::ReportError(r.error());
    enforced = *r;
  }
  bool at_risk = false;
  for (const auto& s : scores) at_risk = at_risk || s.score >= config->threshold;
  if (f.out.json) {
    json arr = json::array();
    for (const auto& s : scores)
      if (f.all || s.score > 0) arr.push_back(ScoreJson(s));
    std::cout << json{{"at", FormatRfc3339(*now)},
                      {"window_from", FormatRfc3339(w.from)},
                      {"threshold", config->threshold},
                      {"scores", arr},
                      {"newly_blocked", enforced.newly_blocked},
                      {"findings_opened", enforced.findings_opened},
                      {"findings_resolved", enforced.findings_resolved}}
                     .dump(2)
              << "\n";
    return at_risk ? 1 : 0;
  }
  Table t{{"person", "score", "at_risk", "signals"}, {}};
  for (const auto& s : scores)
    if (f.all || s.score > 0)
      t.rows.push_back({s.person, fmt::format("{:.0f}", s.score),
                        s.score >= config->threshold ? "yes" : "no", SignalList(s)});
  if (f.out.csv) {
    PrintCsv(std::cout, t);
    return at_risk ? 1 : 0;
  }
  std::cout << fmt::format("window {} .. {}, threshold {:.0f}\n", FormatRfc3339(w.from),
                           FormatRfc3339(w.to), config->threshold);
  PrintTable(std::cout, t, 100);
  for (const auto& s : scores)
    if (s.score > 0) PrintEvidence(s);
  if (!enforced.newly_blocked.empty()) {
    std::string who;
    for (const auto& b : enforced.newly_blocked) who.append(who.empty() ? "" : ", ").append(b);
    std::cout << "\nblocked for signing and issuance pending approval: " << who << "\n";
  }
  if (enforced.findings_opened || enforced.findings_resolved)
    std::cout << fmt::format("person-at-risk findings: {} opened, {} resolved\n",
                             enforced.findings_opened, enforced.findings_resolved);
  return at_risk ? 1 : 0;
}

int Check(Context& ctx, const std::string& person, const std::string& action, bool as_json) {
  auto d = people::CheckAction(ctx.store->People(), person, action);
  if (!d) return Context::ReportError(d.error());
  if (as_json)
    std::cout << json{{"person", person}, {"action", action}, {"allowed", d->allowed},
                      {"reason", d->reason}}
                     .dump(2)
              << "\n";
  else
    std::cout << (d->allowed ? "allowed: " : "blocked: ") << d->reason << "\n";
  return d->allowed ? 0 : 1;
}

int Approve(Context& ctx, const std::string& person, const std::string& by,
            const std::string& reason) {
  auto& ps = ctx.store->People();
  auto p = ps.GetPerson(person);
  if (!p) return Context::ReportError(p.error());
  auto history = ps.ScoreHistory(person, 1);
  if (!history) return Context::ReportError(history.error());
  double score = history->empty() ? 0 : history->front().score;
  UnixSeconds now = SystemClock().Now();
  if (auto s = ps.Approve(person, by, score, now); !s) return Context::ReportError(s.error());
  store::Event e;
  e.at = now;
  e.type = "person_approved";
  e.severity = "medium";
  e.owner = "security";
  e.subject = person;
  e.detail = fmt::format("{} approved {} for signing and issuance at score {:.0f}{}", by, person,
                         score, reason.empty() ? "" : ": " + reason);
  if (auto r = ctx.store->AppendEvents({e}); !r) return Context::ReportError(r.error());
  std::cout << e.detail << "\n";
  return 0;
}

// ---------------------------------------------------------------------------------------
// owners

int OwnersAdd(Context& ctx, const std::string& kind, const std::string& pattern,
              const std::string& owner) {
  store::OwnerRule r{0, kind, pattern, owner, SystemClock().Now()};
  if (auto s = people::ValidateRule(r); !s) return Context::ReportError(s.error());
  auto id = ctx.store->People().AddOwnerRule(r);
  if (!id) return Context::ReportError(id.error());
  std::cout << fmt::format("rule {}: {} {} -> {} (apply with: mica people owners apply)\n", *id,
                           kind, pattern, owner);
  return 0;
}

int OwnersRules(Context& ctx, const OutputFlags& out) {
  auto rules = ctx.store->People().ListOwnerRules();
  if (!rules) return Context::ReportError(rules.error());
  Table t{{"id", "kind", "pattern", "owner"}, {}};
  json arr = json::array();
  for (const auto& r : *rules) {
    t.rows.push_back({std::to_string(r.id), r.kind, r.pattern, r.owner});
    arr.push_back({{"id", r.id}, {"kind", r.kind}, {"pattern", r.pattern}, {"owner", r.owner}});
  }
  if (out.json) std::cout << json{{"rules", arr}}.dump(2) << "\n";
  else if (out.csv) PrintCsv(std::cout, t);
  else PrintTable(std::cout, t);
  return 0;
}

int OwnersApply(Context& ctx) {
  auto r = people::ApplyOwnership(*ctx.store, ctx.store->People(), SystemClock().Now());
  if (!r) return Context::ReportError(r.error());
  std::cout << fmt::format("{} identities: {} owned, {} unowned, {} owner changes recorded\n",
                           r->identities, r->owned, r->identities - r->owned, r->changed);
  return 0;
}

int OwnersList(Context& ctx, bool unowned_only, const OutputFlags& out) {
  auto owners = ctx.store->People().OwnersByFingerprint();
  if (!owners) return Context::ReportError(owners.error());
  auto ids = ctx.store->ListIdentities({});
  if (!ids) return Context::ReportError(ids.error());
  Table t{{"fingerprint", "kind", "subject", "owner"}, {}};
  json arr = json::array();
  for (const auto& row : *ids) {
    const auto& fp = row.identity.fingerprint;
    auto it = owners->find(fp);
    std::string owner = it == owners->end() ? "" : it->second;
    if (unowned_only && !owner.empty()) continue;
    std::string subject = row.identity.cert ? row.identity.cert->subject : "";
    t.rows.push_back({fp, x509::KindName(row.identity.kind), Blank(subject), Blank(owner)});
    arr.push_back({{"fingerprint", fp}, {"kind", x509::KindName(row.identity.kind)},
                   {"subject", subject}, {"owner", owner.empty() ? json(nullptr) : json(owner)}});
  }
  if (out.json) std::cout << json{{"identities", arr}}.dump(2) << "\n";
  else if (out.csv) PrintCsv(std::cout, t);
  else PrintTable(std::cout, t);
  return 0;
}

// ---------------------------------------------------------------------------------------
// intel

int IntelLoad(Context& ctx, const std::string& dir) {
  auto config = Config(ctx);
  if (!config) return Context::ReportError(config.error());
  auto root = IntelRoot(ctx, *config);
  auto files = people::InstallIntelSet(dir, root, SystemClock().Now());
  if (!files) {
    std::cerr << "mica: the active intel set was kept\n";
    return Context::ReportError(files.error());
  }
  for (const auto& f : *files)
    std::cout << fmt::format("  {:<32} {:<24} {} entries\n", f.name, f.kind, f.entries);
  std::cout << "intel set active: " << root << "/current\n";
  return 0;
}

int IntelShow(Context& ctx, const std::vector<std::string>& ips, bool as_json) {
  auto config = Config(ctx);
  if (!config) return Context::ReportError(config.error());
  auto dir = people::ActiveIntelDir(IntelRoot(ctx, *config));
  if (dir.empty())
    return Context::ReportError({ErrorCode::kNotFound, "no intel set is active (mica intel load DIR)"});
  auto set = people::IntelSet::Load(dir);
  if (!set) return Context::ReportError(set.error());
  json out = json::object();
  if (ips.empty()) {
    json files = json::array();
    for (const auto& f : set->files()) {
      files.push_back({{"file", f.name}, {"kind", f.kind}, {"entries", f.entries}});
      if (!as_json) std::cout << fmt::format("{:<32} {:<24} {} entries\n", f.name, f.kind, f.entries);
    }
    if (as_json) std::cout << json{{"dir", dir}, {"files", files}}.dump(2) << "\n";
    return 0;
  }
  json arr = json::array();
  for (const auto& ip : ips) {
    if (!people::ParseIp(ip))
      return Context::ReportError({ErrorCode::kInvalidArgument, "'" + ip + "' is not an IP address"});
    auto i = set->Lookup(ip);
    arr.push_back({{"ip", ip}, {"country", i.country}, {"city", i.city}, {"asn", i.asn},
                   {"asn_org", i.asn_org}, {"category", i.category}, {"list", i.list},
                   {"latitude", i.has_geo ? json(i.lat) : json(nullptr)},
                   {"longitude", i.has_geo ? json(i.lon) : json(nullptr)}});
    if (!as_json)
      std::cout << fmt::format("{}  country {}  city {}  AS{} {}  {}\n", ip, Blank(i.country),
                               Blank(i.city), i.asn, i.asn_org,
                               i.category.empty() ? "not listed" : i.category + " (" + i.list + ")");
  }
  if (as_json) std::cout << json{{"lookups", arr}}.dump(2) << "\n";
  return 0;
}

}  // namespace

void RegisterPeopleVerbs(CLI::App& app, Context& ctx) {
  auto* people = app.add_subcommand("people", "People behind machine identities: owners, access events, risk");
  people->require_subcommand(1);
  // Runs `fn` with the store open.
  auto with_store = [&ctx](std::function<int()> fn) {
    ctx.selected = [&ctx, fn] {
      if (!ctx.Setup(true)) return ctx.exit_code;
      return fn();
    };
  };

  {
    auto file = std::make_shared<std::string>();
    auto out = std::make_shared<OutputFlags>();
    auto* c = people->add_subcommand("import", "Import or update people from an HR export (CSV or JSON)");
    c->add_option("file", *file, "CSV with a header row, or JSON")->required();
    out->AddTo(c);
    c->callback([=, &ctx] { with_store([&ctx, file, out] { return Import(ctx, *file, *out); }); });
  }
  {
    auto out = std::make_shared<OutputFlags>();
    auto* c = people->add_subcommand("list", "List people with their latest risk score");
    out->AddTo(c);
    c->callback([=, &ctx] { with_store([&ctx, out] { return List(ctx, *out); }); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto out = std::make_shared<OutputFlags>();
    auto* c = people->add_subcommand("show", "One person: record, score and evidence, events, identities");
    c->add_option("id", *id, "Person id")->required();
    c->add_flag("--json", out->json, "Print one JSON document");
    c->callback([=, &ctx] { with_store([&ctx, id, out] { return Show(ctx, *id, *out); }); });
  }
  {
    auto* events = people->add_subcommand("events", "Access events");
    events->require_subcommand(1);
    auto f = std::make_shared<IngestFlags>();
    auto* c = events->add_subcommand("ingest", "Ingest access events (JSON lines, generic JSON, auth.log)");
    c->add_option("files", f->files, "Input files")->required();
    c->add_option("--format", f->format, "mica (default), json or auth.log");
    c->add_option("--field", f->fields, "For --format json: FIELD=PATH, e.g. person=actor.alternateId");
    c->add_option("--intel", f->intel, "Use this intel folder instead of the active set");
    c->add_option("--year", f->year, "Year of auth.log timestamps without one (default: this year)");
    c->add_option("--batch", f->batch, "Events per aggregate flush and transaction (default 1000000)");
    c->add_flag("--json", f->json, "Print one JSON document");
    c->callback([=, &ctx] { with_store([&ctx, f] { return IngestEvents(ctx, *f); }); });
  }
  {
    auto* devices = people->add_subcommand("devices", "Endpoint inventory");
    devices->require_subcommand(1);
    auto files = std::make_shared<std::vector<std::string>>();
    auto* c = devices->add_subcommand("ingest", "Store endpoint inventory reports (JSON lines)");
    c->add_option("files", *files, "Input files")->required();
    c->callback([=, &ctx] { with_store([&ctx, files] { return IngestDevices(ctx, *files); }); });
    auto out = std::make_shared<OutputFlags>();
    auto* l = devices->add_subcommand("list", "List devices with remote-access tools and IP-KVMs found");
    out->AddTo(l);
    l->callback([=, &ctx] { with_store([&ctx, out] { return ListDevices(ctx, *out); }); });
  }
  {
    auto f = std::make_shared<RiskFlags>();
    auto* c = people->add_subcommand("risk", "Score everyone over the rolling window, enforce, list by score");
    c->add_option("--at", f->at, "End of the window, RFC 3339 (default: now)");
    c->add_flag("--no-enforce", f->no_enforce, "Score and record only: no blocks, events or findings");
    c->add_flag("--all", f->all, "Also list people with score 0");
    f->out.AddTo(c);
    c->callback([=, &ctx] { with_store([&ctx, f] { return Risk(ctx, *f); }); });
  }
  {
    auto person = std::make_shared<std::string>();
    auto action = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto* c = people->add_subcommand("check", "Exit 0 if PERSON may do ACTION (sign, issue, ssh, login, git), 1 if blocked");
    c->add_option("person", *person, "Person id")->required();
    c->add_option("action", *action, "sign, issue, ssh, login or git")->required();
    c->add_flag("--json", *as_json, "Print one JSON document");
    c->callback([=, &ctx] {
      with_store([&ctx, person, action, as_json] { return Check(ctx, *person, *action, *as_json); });
    });
  }
  {
    auto person = std::make_shared<std::string>();
    auto by = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    auto* c = people->add_subcommand("approve", "Clear a person's block (recorded in the audit log)");
    c->add_option("person", *person, "Person id")->required();
    c->add_option("--by", *by, "Who approves")->required();
    c->add_option("--reason", *reason, "Why");
    c->callback([=, &ctx] { with_store([&ctx, person, by, reason] { return Approve(ctx, *person, *by, *reason); }); });
  }
  {
    auto* owners = people->add_subcommand("owners", "Owners of identities: rules, tags, apply, list");
    owners->require_subcommand(1);
    auto kind = std::make_shared<std::string>();
    auto pattern = std::make_shared<std::string>();
    auto owner = std::make_shared<std::string>();
    auto* add = owners->add_subcommand("add", "Add a rule: KIND (fingerprint, path, san, issuer, tag) PATTERN OWNER");
    add->add_option("kind", *kind, "fingerprint, path, san, issuer or tag")->required();
    add->add_option("pattern", *pattern, "Fingerprint, path glob, DNS name, issuer text or tag")->required();
    add->add_option("owner", *owner, "Person id (or team name)")->required();
    add->callback([=, &ctx] { with_store([&ctx, kind, pattern, owner] { return OwnersAdd(ctx, *kind, *pattern, *owner); }); });
    auto rule_id = std::make_shared<std::int64_t>(0);
    auto* rm = owners->add_subcommand("rm", "Remove a rule by id");
    rm->add_option("id", *rule_id, "Rule id")->required();
    rm->callback([=, &ctx] {
      with_store([&ctx, rule_id] {
        auto s = ctx.store->People().RemoveOwnerRule(*rule_id);
        return s ? 0 : Context::ReportError(s.error());
      });
    });
    auto rules_out = std::make_shared<OutputFlags>();
    auto* rules = owners->add_subcommand("rules", "List the rules");
    rules_out->AddTo(rules);
    rules->callback([=, &ctx] { with_store([&ctx, rules_out] { return OwnersRules(ctx, *rules_out); }); });
    auto fp = std::make_shared<std::string>();
    auto tag = std::make_shared<std::string>();
    auto* t = owners->add_subcommand("tag", "Tag an identity (for tag rules)");
    t->add_option("fingerprint", *fp, "Identity fingerprint")->required();
    t->add_option("tag", *tag, "Tag")->required();
    t->callback([=, &ctx] {
      with_store([&ctx, fp, tag] {
        auto s = ctx.store->People().SetTag(*fp, *tag);
        return s ? 0 : Context::ReportError(s.error());
      });
    });
    auto* apply = owners->add_subcommand("apply", "Resolve the rules over the inventory; record owner changes");
    apply->callback([=, &ctx] { with_store([&ctx] { return OwnersApply(ctx); }); });
    auto unowned = std::make_shared<bool>(false);
    auto list_out = std::make_shared<OutputFlags>();
    auto* list = owners->add_subcommand("list", "Identities with their owner");
    list->add_flag("--unowned", *unowned, "Only identities without an owner");
    list_out->AddTo(list);
    list->callback([=, &ctx] { with_store([&ctx, unowned, list_out] { return OwnersList(ctx, *unowned, *list_out); }); });
  }

  auto* intel = app.add_subcommand("intel", "Offline IP intelligence (MMDB files and range lists)");
  intel->require_subcommand(1);
  {
    auto dir = std::make_shared<std::string>();
    auto* c = intel->add_subcommand("load", "Validate a folder of MMDB files and lists and make it the active set");
    c->add_option("dir", *dir, "Folder")->required();
    c->callback([=, &ctx] {
      ctx.selected = [&ctx, dir] {
        if (!ctx.Setup(true)) return ctx.exit_code;
        return IntelLoad(ctx, *dir);
      };
    });
    auto ips = std::make_shared<std::vector<std::string>>();
    auto as_json = std::make_shared<bool>(false);
    auto* show = intel->add_subcommand("show", "The active set, or what it knows about IP addresses");
    show->add_option("ips", *ips, "Addresses to look up");
    show->add_flag("--json", *as_json, "Print one JSON document");
    show->callback([=, &ctx] {
      ctx.selected = [&ctx, ips, as_json] {
        if (!ctx.Setup(true)) return ctx.exit_code;
        return IntelShow(ctx, *ips, *as_json);
      };
    });
  }
}

}  // namespace mica::cli
