// `mica weak-keys gcd | check | scan` (docs/CLI.md "weak-keys", docs/WEAK_KEYS.md).
//
// Exit codes: 0 nothing weak; 1 a finding of severity high or critical (a shared factor,
// ROCA, a blocklisted key, ...); 2 usage; 3 an input could not be read (and nothing weak
// was found in the rest); 4 internal.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/render.h"
#include "cli/verbs.h"
#include "policy/batch_gcd.h"
#include "policy/weak_keys.h"
#include "x509/parse.h"
#include "x509/rsa_key.h"

namespace mica::cli {

namespace {

using nlohmann::json;
using policy::Severity;
using policy::WeakKeyFinding;

struct WeakKeyFlags {
  std::string moduli;
  std::vector<std::string> files, blocklists;
  std::string state;
  bool no_gcd = false, no_state = false;
  int threads = 0, weak_bits = 1024, warn_bits = 2048;
  OutputFlags out;
};

policy::RsaCheckOptions CheckOptions(const WeakKeyFlags& f) {
  policy::RsaCheckOptions o;
  o.weak_bits = f.weak_bits;
  o.warn_bits = f.warn_bits;
  return o;
}

bool Fails(const std::vector<WeakKeyFinding>& f) {
  return std::any_of(f.begin(), f.end(),
                     [](const WeakKeyFinding& x) { return x.severity != Severity::kWarning; });
}

json FindingJson(const WeakKeyFinding& f) {
  return json{{"check", f.check}, {"severity", policy::SeverityName(f.severity)}, {"detail", f.detail}};
}

Result<policy::Blocklist> LoadBlocklists(const std::vector<std::string>& paths) {
  policy::Blocklist bl;
  for (const auto& p : paths)
    if (auto s = bl.Load(p); !s) return tl::unexpected(s.error());
  return bl;
}

// ---------------------------------------------------------------------------------------
// weak-keys gcd

int Gcd(Context& ctx, const WeakKeyFlags& f) {
  (void)ctx;
  std::ifstream in(f.moduli);
  if (!in) return Context::ReportError({ErrorCode::kNotFound, "--moduli " + f.moduli + ": cannot be read"});
  std::vector<Bytes> moduli;
  std::vector<int> lines;  // 1-based line of each modulus
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::string hex = line.substr(first, line.find_last_not_of(" \t") - first + 1);
    if (hex.starts_with("0x") || hex.starts_with("0X")) hex = hex.substr(2);
    if (hex.size() % 2) hex.insert(hex.begin(), '0');
    auto bytes = hex.find(':') == std::string::npos ? FromHex(hex) : std::nullopt;
    auto at = [&] { return f.moduli + ":" + std::to_string(number); };
    if (!bytes)
      return Context::ReportError(
          {ErrorCode::kInput, at() + ": not a hexadecimal modulus (one per line, as fastgcd reads)"});
    const auto nz = std::find_if(bytes->begin(), bytes->end(), [](auto b) { return b != 0; });
    if (nz == bytes->end() || (nz + 1 == bytes->end() && *nz == 1))
      return Context::ReportError({ErrorCode::kInput, at() + ": the modulus is 0 or 1"});
    moduli.push_back(std::move(*bytes));
    lines.push_back(number);
  }
  auto r = policy::BatchGcd(moduli, {.threads = f.threads});
  if (!r) return Context::ReportError(r.error());
  std::map<std::size_t, std::set<std::size_t>> shares, dups;
  for (const auto& p : r->pairs) {
    auto& m = p.relation == policy::GcdRelation::kDuplicate ? dups : shares;
    m[p.a].insert(p.b);
    m[p.b].insert(p.a);
  }
  std::set<std::size_t> listed;
  for (const auto& [i, _] : shares) listed.insert(i);
  for (const auto& [i, _] : dups) listed.insert(i);
  auto vec = [](const std::map<std::size_t, std::set<std::size_t>>& m, std::size_t i) {
    auto it = m.find(i);
    return it == m.end() ? std::vector<std::size_t>{}
                         : std::vector<std::size_t>(it->second.begin(), it->second.end());
  };
  if (f.out.json) {
    json weak = json::array();
    for (std::size_t i : listed)
      weak.push_back({{"index", i},
                      {"line", lines[i]},
                      {"shares_factor_with", vec(shares, i)},
                      {"duplicate_of", vec(dups, i)}});
    json pairs = json::array();
    for (const auto& p : r->pairs)
      pairs.push_back({{"a", p.a}, {"b", p.b}, {"relation", policy::GcdRelationName(p.relation)}});
    std::cout << json{{"moduli", moduli.size()},
                      {"distinct", r->distinct},
                      {"shared_factor", shares.size()},
                      {"duplicate", dups.size()},
                      {"weak", weak},
                      {"pairs", pairs}}
                     .dump(2)
              << "\n";
  } else {
    Table t{{"index", "line", "shares_factor_with", "duplicate_of"}, {}};
    auto join = [](const std::vector<std::size_t>& v) {
      std::string s;
      for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
      return s.empty() ? "-" : s;
    };
    for (std::size_t i : listed)
      t.rows.push_back({std::to_string(i), std::to_string(lines[i]), join(vec(shares, i)),
                        join(vec(dups, i))});
    if (f.out.csv) {
      PrintCsv(std::cout, t);
    } else {
      if (!t.rows.empty()) PrintTable(std::cout, t, 200);
      std::cout << fmt::format(
          "{} moduli ({} distinct): {} share a prime factor with another, {} are duplicates. "
          "Indices are 0-based positions among the moduli; line is the 1-based line.\n",
          moduli.size(), r->distinct, shares.size(), dups.size());
    }
  }
  return shares.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------------
// Checking keys (files or inventory): one Subject per key pair (SPKI).

struct Subject {
  std::string spki_sha256;
  x509::KeyInfo key;
  std::optional<x509::RsaPublicNumbers> rsa;
  std::string not_checked;  // why the RSA checks could not run ("" when they ran or non-RSA)
  std::vector<WeakKeyFinding> findings;
  // Where it was seen: for files "path (position, kind)"; for the inventory, identities.
  std::vector<json> identities;
  std::vector<std::string> where;
};

// Runs the per-key checks, the blocklist and (unless disabled) batch GCD across subjects.
// `corpus` (may be null) carries earlier moduli for the incremental inventory scan.
Status Judge(std::vector<Subject>& subjects, const policy::Blocklist& bl, const WeakKeyFlags& f,
             policy::GcdCorpus* corpus) {
  std::vector<Bytes> moduli;
  std::vector<std::size_t> subject_of;
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    auto& s = subjects[i];
    if (s.rsa) {
      s.findings = policy::CheckRsa(*s.rsa, CheckOptions(f));
      if (!s.rsa->n.empty() && !(s.rsa->n.size() == 1 && s.rsa->n[0] <= 1)) {
        moduli.push_back(s.rsa->n);
        subject_of.push_back(i);
      }
    }
    if (auto m = bl.Match(s.spki_sha256, s.rsa ? ByteView(s.rsa->n) : ByteView()))
      s.findings.push_back({"blocklisted", Severity::kCritical, "known compromised: " + *m});
  }
  if (f.no_gcd) return {};
  policy::GcdCorpus local;
  policy::GcdCorpus& c = corpus ? *corpus : local;
  std::vector<Bytes> fresh;
  for (const auto& m : moduli)
    if (!c.Find(m)) fresh.push_back(m);
  // Duplicates within `fresh` are one key pair seen twice: add each value once.
  // Ordered by size, then bytes: std::vector's own operator< makes GCC 12 at -O3 raise a
  // false -Wstringop-overread (an impossible memcmp bound) that breaks the Release build.
  std::sort(fresh.begin(), fresh.end(), [](const Bytes& a, const Bytes& b) {
    if (a.size() != b.size()) return a.size() < b.size();
    return !a.empty() && std::memcmp(a.data(), b.data(), a.size()) < 0;
  });
  fresh.erase(std::unique(fresh.begin(), fresh.end()), fresh.end());
  if (!fresh.empty()) {
    auto r = c.Add(fresh, {.threads = f.threads});
    if (!r) return tl::unexpected(r.error());
  }
  // Shared factors among distinct moduli, mapped back to the subjects.
  std::map<std::size_t, std::size_t> subject_at;  // corpus index -> subject
  for (std::size_t k = 0; k < moduli.size(); ++k)
    if (auto idx = c.Find(moduli[k])) subject_at[*idx] = subject_of[k];
  std::map<std::size_t, std::vector<std::string>> partners;
  for (const auto& p : c.All().pairs) {
    if (p.relation != policy::GcdRelation::kSharedFactor) continue;
    auto a = subject_at.find(p.a), b = subject_at.find(p.b);
    auto name = [&](decltype(a) it) {
      return it == subject_at.end() ? std::string("a key no longer in the inventory")
                                    : "key " + subjects[it->second].spki_sha256.substr(0, 16);
    };
    if (a != subject_at.end()) partners[a->second].push_back(name(b));
    if (b != subject_at.end()) partners[b->second].push_back(name(a));
  }
  for (auto& [i, names] : partners) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    subjects[i].findings.push_back({"shared_factor", Severity::kCritical,
                                    "the modulus shares a prime factor with " + list +
                                        ": both are factored (batch GCD)"});
  }
  return {};
}

int Print(const std::vector<Subject>& subjects, const std::vector<json>& errors,
          const WeakKeyFlags& f, std::size_t not_checked) {
  std::size_t weak = 0, warned = 0;
  for (const auto& s : subjects) {
    if (Fails(s.findings)) ++weak;
    else if (!s.findings.empty()) ++warned;
  }
  if (f.out.json) {
    json results = json::array();
    for (const auto& s : subjects) {
      json findings = json::array();
      for (const auto& x : s.findings) findings.push_back(FindingJson(x));
      json j{{"spki_sha256", s.spki_sha256},
             {"key", KeyLabel(s.key)},
             {"weak", Fails(s.findings)},
             {"findings", findings},
             {"identities", s.identities}};
      if (!s.not_checked.empty()) j["not_checked"] = s.not_checked;
      results.push_back(std::move(j));
    }
    std::cout << json{{"keys", subjects.size()},
                      {"weak", weak},
                      {"warnings", warned},
                      {"not_checked", not_checked},
                      {"results", results},
                      {"errors", errors}}
                     .dump(2)
              << "\n";
  } else {
    Table t{{"key", "spki_sha256", "severity", "check", "where", "detail"}, {}};
    for (const auto& s : subjects)
      for (const auto& x : s.findings) {
        std::string where = s.where.empty() ? "" : s.where.front();
        if (s.where.size() > 1) where += fmt::format(" (+{})", s.where.size() - 1);
        t.rows.push_back({KeyLabel(s.key), s.spki_sha256.substr(0, 16),
                          policy::SeverityName(x.severity), x.check, where, x.detail});
      }
    if (f.out.csv) {
      PrintCsv(std::cout, t);
    } else {
      if (!t.rows.empty()) PrintTable(std::cout, t, 100);
      std::cout << fmt::format("{} keys checked: {} weak, {} with warnings only", subjects.size(),
                               weak, warned);
      if (not_checked) std::cout << fmt::format(", {} RSA keys without a stored public key", not_checked);
      std::cout << "\n";
      for (const auto& e : errors)
        std::cerr << "mica: " << e["where"].get<std::string>() << ": " << e["reason"].get<std::string>()
                  << "\n";
    }
  }
  if (weak) return 1;
  return errors.empty() ? 0 : 3;
}

// Adds an identity to the subject of its key pair.
Subject& SubjectFor(std::vector<Subject>& subjects, std::map<std::string, std::size_t>& by_spki,
                    const x509::Identity& id) {
  // Keys whose SPKI is unknown (encrypted) get their own subject, keyed by fingerprint.
  const std::string key = id.key.spki_sha256.empty() ? "fp:" + id.fingerprint : id.key.spki_sha256;
  auto [it, inserted] = by_spki.try_emplace(key, subjects.size());
  if (inserted) {
    subjects.emplace_back();
    subjects.back().spki_sha256 = id.key.spki_sha256;
    subjects.back().key = id.key;
  }
  Subject& s = subjects[it->second];
  if (!s.rsa && id.key.type == x509::KeyType::kRsa) {
    auto n = x509::RsaFromIdentity(id);
    if (n) {
      s.rsa = std::move(*n);
      s.not_checked.clear();
    } else if (s.not_checked.empty()) {
      s.not_checked = n.error().message;
    }
  }
  return s;
}

int Check(Context& ctx, const WeakKeyFlags& f) {
  (void)ctx;
  auto bl = LoadBlocklists(f.blocklists);
  if (!bl) return Context::ReportError(bl.error());
  std::vector<Subject> subjects;
  std::map<std::string, std::size_t> by_spki;
  std::vector<json> errors;
  for (const auto& path : f.files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      errors.push_back({{"where", path}, {"reason", "cannot be read"}});
      continue;
    }
    std::string data((std::istreambuf_iterator<char>(in)), {});
    auto parsed = x509::ParseContent(AsBytes(data), {});
    if (!parsed) {
      errors.push_back({{"where", path}, {"reason", parsed.error().message}});
      continue;
    }
    for (const auto& issue : parsed->issues)
      errors.push_back({{"where", path + " " + issue.position}, {"reason", issue.reason}});
    for (const auto& id : parsed->identities) {
      Subject& s = SubjectFor(subjects, by_spki, id);
      s.identities.push_back({{"file", path},
                              {"position", id.position},
                              {"kind", x509::KindName(id.kind)},
                              {"fingerprint", id.fingerprint},
                              {"label", Label(id)}});
      s.where.push_back(path + (id.position.empty() ? "" : " " + id.position));
    }
  }
  if (auto st = Judge(subjects, *bl, f, nullptr); !st) return Context::ReportError(st.error());
  std::size_t not_checked = 0;
  for (const auto& s : subjects) not_checked += !s.not_checked.empty() && !s.rsa;
  return Print(subjects, errors, f, not_checked);
}

int Scan(Context& ctx, const WeakKeyFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  auto bl = LoadBlocklists(f.blocklists);
  if (!bl) return Context::ReportError(bl.error());
  store::IdentityFilter filter;
  auto rows = ctx.store->ListIdentities(filter);
  if (!rows) return Context::ReportError(rows.error());
  std::vector<Subject> subjects;
  std::map<std::string, std::size_t> by_spki;
  for (const auto& row : *rows) {
    const auto& id = row.identity;
    Subject& s = SubjectFor(subjects, by_spki, id);
    json where = json::array();
    auto sightings = ctx.store->Sightings(row.id);
    if (!sightings) return Context::ReportError(sightings.error());
    for (const auto& sg : *sightings) {
      if (!sg.present) continue;
      where.push_back(Where(sg));
      s.where.push_back(Where(sg));
    }
    s.identities.push_back({{"kind", x509::KindName(id.kind)},
                            {"fingerprint", id.fingerprint},
                            {"label", Label(id)},
                            {"locations", where}});
  }
  // The batch GCD state beside the database: earlier moduli are not run again.
  std::optional<policy::GcdCorpus> corpus;
  const std::string state = !f.state.empty() ? f.state : ctx.db_path + ".weak-keys.gcd";
  if (!f.no_gcd) {
    std::error_code ec;
    if (!f.no_state && std::filesystem::exists(state, ec)) {
      auto loaded = policy::GcdCorpus::Load(state);
      if (!loaded) return Context::ReportError(loaded.error());
      corpus = std::move(*loaded);
    } else {
      corpus.emplace();
    }
  }
  if (auto st = Judge(subjects, *bl, f, corpus ? &*corpus : nullptr); !st)
    return Context::ReportError(st.error());
  if (corpus && !f.no_state) {
    if (auto st = corpus->Save(state); !st) return Context::ReportError(st.error());
  }
  std::size_t not_checked = 0;
  for (const auto& s : subjects) not_checked += !s.not_checked.empty() && !s.rsa;
  return Print(subjects, {}, f, not_checked);
}

}  // namespace

void RegisterWeakKeysVerbs(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<WeakKeyFlags>();
  auto* wk = app.add_subcommand("weak-keys", "Find broken and weak keys (batch GCD, ROCA, ...)");
  wk->require_subcommand(1);

  auto* gcd = wk->add_subcommand("gcd", "Batch GCD over a file of hex RSA moduli, one per line");
  gcd->add_option("--moduli", f->moduli, "File of hex moduli (fastgcd's input format)")->required();
  gcd->add_option("--threads", f->threads, "Worker threads (default: one per core)")
      ->check(CLI::Range(0, 256));
  f->out.AddTo(gcd);
  gcd->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Gcd(ctx, *f); }; });

  auto add_common = [f](CLI::App* sub) {
    sub->add_option("--blocklist", f->blocklists,
                    "Known-compromised keys: SPKI SHA-256 lines, openssl-blacklist lines, or "
                    "badkeys' blocklist.dat (repeatable)");
    sub->add_option("--weak-bits", f->weak_bits, "RSA moduli below this are weak (1024)");
    sub->add_option("--warn-bits", f->warn_bits, "RSA moduli below this get a warning (2048)");
    sub->add_flag("--no-gcd", f->no_gcd, "Skip batch GCD across the keys");
    sub->add_option("--threads", f->threads, "Batch GCD threads (default: one per core)")
        ->check(CLI::Range(0, 256));
    f->out.AddTo(sub);
  };
  auto* check = wk->add_subcommand("check", "Check the keys in files (any format mica reads)");
  check->add_option("file", f->files, "Certificates, keys, keystores ...")->required();
  add_common(check);
  check->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Check(ctx, *f); }; });

  auto* scan = wk->add_subcommand("scan", "Check every key in the inventory");
  scan->add_option("--state", f->state,
                   "Batch GCD state file (default: <db>.weak-keys.gcd beside the inventory)");
  scan->add_flag("--no-state", f->no_state, "Run batch GCD from scratch and keep no state");
  add_common(scan);
  scan->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Scan(ctx, *f); }; });
}

}  // namespace mica::cli
