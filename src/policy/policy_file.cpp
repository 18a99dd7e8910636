// Policy file parsing with toml++ (format in docs/POLICY.md).
#include "policy/policy_file.h"

#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace mica::policy {

namespace {

std::string At(const std::string& file, const toml::source_region& r) {
  return file + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// Rejects keys of `t` not in `allowed`.
Status OnlyKeys(const std::string& file, const toml::table& t, const std::set<std::string>& allowed,
                const std::string& what) {
  for (const auto& [k, v] : t) {
    if (!allowed.count(std::string(k.str())))
      return Fail(ErrorCode::kInput, At(file, k.source()) + ": unknown key '" + std::string(k.str()) +
                                         "' in " + what);
  }
  return {};
}

template <class T>
Result<std::optional<T>> Opt(const std::string& file, const toml::table& t, const char* key,
                             const std::string& what, const char* type) {
  const toml::node* n = t.get(key);
  if (!n) return std::optional<T>();
  auto v = n->value<T>();
  if (!v) return Fail(ErrorCode::kInput, At(file, n->source()) + ": " + what + "." + key + " must be " + type);
  return std::optional<T>(*v);
}

Result<std::vector<std::string>> Strings(const std::string& file, const toml::table& t, const char* key,
                                         const std::string& what) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (!n) return out;
  const toml::array* a = n->as_array();
  if (!a) return Fail(ErrorCode::kInput, At(file, n->source()) + ": " + what + "." + key + " must be an array of strings");
  for (const auto& el : *a) {
    auto s = el.value<std::string>();
    if (!s) return Fail(ErrorCode::kInput, At(file, el.source()) + ": " + what + "." + key + " must hold only strings");
    out.push_back(*s);
  }
  return out;
}

#define MICA_TRY(var, expr)                       \
  auto var = (expr);                              \
  if (!var) return tl::unexpected(var.error())

Result<std::int64_t> Duration(const std::string& file, const toml::table& t, const char* key,
                              std::int64_t fallback) {
  MICA_TRY(s, Opt<std::string>(file, t, key, "settings", "a duration string such as \"30d\""));
  if (!*s) return fallback;
  auto d = ParseDurationSeconds(**s);
  if (!d) return Fail(ErrorCode::kInput, At(file, t.get(key)->source()) + ": settings." + key + ": " + d.error().message);
  return *d;
}

Status ParseSettings(const std::string& file, const toml::table& t, Policy& p) {
  if (auto s = OnlyKeys(file, t,
                        {"expiry_warning", "expiry_critical", "max_validity_days", "min_rsa_bits",
                         "min_ec_bits", "issuer_allow", "code_signing_locations"},
                        "[settings]");
      !s)
    return s;
  MICA_TRY(w, Duration(file, t, "expiry_warning", p.expiry_warning));
  MICA_TRY(c, Duration(file, t, "expiry_critical", p.expiry_critical));
  p.expiry_warning = *w;
  p.expiry_critical = *c;
  for (auto [key, dst] : {std::pair{"max_validity_days", &p.max_validity_days},
                          std::pair{"min_rsa_bits", &p.min_rsa_bits}, std::pair{"min_ec_bits", &p.min_ec_bits}}) {
    MICA_TRY(v, Opt<std::int64_t>(file, t, key, "settings", "an integer"));
    if (*v) {
      if (**v <= 0 || **v > 1000000)
        return Fail(ErrorCode::kInput, At(file, t.get(key)->source()) + ": settings." + key + " must be a positive integer");
      *dst = static_cast<int>(**v);
    }
  }
  MICA_TRY(ia, Strings(file, t, "issuer_allow", "settings"));
  MICA_TRY(cs, Strings(file, t, "code_signing_locations", "settings"));
  p.issuer_allow = *ia;
  p.code_signing_locations = *cs;
  return {};
}

Status ParseRule(const std::string& file, const std::string& id, const toml::table& t, RuleConfig& rc) {
  const std::string what = "rules." + id;
  if (auto s = OnlyKeys(file, t, {"enabled", "severity", "scope"}, "[" + what + "]"); !s) return s;
  MICA_TRY(en, Opt<bool>(file, t, "enabled", what, "true or false"));
  if (*en) rc.enabled = **en;
  MICA_TRY(sev, Opt<std::string>(file, t, "severity", what, "a string"));
  if (*sev) {
    auto s = RuleSeverityFromName(**sev);
    if (!s)
      return Fail(ErrorCode::kInput, At(file, t.get("severity")->source()) + ": " + what + ".severity '" + **sev +
                                         "': use info, low, medium, high or critical");
    rc.severity = *s;
  }
  if (const toml::node* n = t.get("scope")) {
    const toml::table* st = n->as_table();
    if (!st) return Fail(ErrorCode::kInput, At(file, n->source()) + ": " + what + ".scope must be a table");
    const std::string sw = what + ".scope";
    if (auto s = OnlyKeys(file, *st, {"locations", "issuer", "kind", "eku"}, sw); !s) return s;
    MICA_TRY(loc, Strings(file, *st, "locations", sw));
    MICA_TRY(iss, Opt<std::string>(file, *st, "issuer", sw, "a string"));
    MICA_TRY(kind, Opt<std::string>(file, *st, "kind", sw, "a string"));
    MICA_TRY(eku, Opt<std::string>(file, *st, "eku", sw, "a string"));
    rc.scope.locations = *loc;
    rc.scope.issuer = iss->value_or("");
    rc.scope.kind = kind->value_or("");
    rc.scope.eku = eku->value_or("");
    if (!rc.scope.kind.empty() && !x509::KindFromName(rc.scope.kind))
      return Fail(ErrorCode::kInput, At(file, st->get("kind")->source()) + ": " + sw + ".kind '" + rc.scope.kind +
                                         "' is not a kind (certificate, private_key, ...)");
  }
  return {};
}

Result<UnixSeconds> ParseDate(const std::string& file, const toml::node& n, const std::string& what) {
  std::string text;
  if (auto d = n.value<toml::date>()) {
    return DaysFromCivil(d->year, d->month, d->day) * 86400;
  } else if (auto s = n.value<std::string>()) {
    text = *s;
  } else {
    return Fail(ErrorCode::kInput, At(file, n.source()) + ": " + what + " must be a date (2026-12-31)");
  }
  if (text.size() == 10) text += "T00:00:00Z";
  auto t = ParseRfc3339(text);
  if (!t) return Fail(ErrorCode::kInput, At(file, n.source()) + ": " + what + ": " + t.error().message);
  return *t;
}

Status ParseException(const std::string& file, const toml::table& t, std::size_t index, Policy& p) {
  const std::string what = "exceptions[" + std::to_string(index) + "]";
  if (auto s = OnlyKeys(file, t, {"fingerprint", "rule", "until", "by", "reason"}, what); !s) return s;
  RuleException e;
  MICA_TRY(fp, Opt<std::string>(file, t, "fingerprint", what, "a string"));
  MICA_TRY(rule, Opt<std::string>(file, t, "rule", what, "a string"));
  MICA_TRY(by, Opt<std::string>(file, t, "by", what, "a string"));
  MICA_TRY(reason, Opt<std::string>(file, t, "reason", what, "a string"));
  auto at = [&] { return At(file, t.source()) + ": " + what; };
  if (!*fp || (*fp)->size() < 16)
    return Fail(ErrorCode::kInput, at() + " needs fingerprint (at least 16 hex digits of the identity)");
  if (!*by || (*by)->empty()) return Fail(ErrorCode::kInput, at() + " needs by (who accepted the risk)");
  if (!*reason || (*reason)->empty()) return Fail(ErrorCode::kInput, at() + " needs reason");
  e.fingerprint = **fp;
  e.rule = rule->value_or("*");
  if (e.rule != "*" && !FindRule(e.rule))
    return Fail(ErrorCode::kInput, At(file, t.get("rule")->source()) + ": " + what + ".rule '" + e.rule + "' is not a rule id");
  if (const toml::node* u = t.get("until")) {
    auto d = ParseDate(file, *u, what + ".until");
    if (!d) return tl::unexpected(d.error());
    e.until = *d;
  }
  e.by = **by;
  e.reason = **reason;
  p.exceptions.push_back(std::move(e));
  return {};
}

}  // namespace

Result<Policy> ParsePolicy(const std::string& text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kInput, At(name, e.source()) + ": " + std::string(e.description()));
  }
  Policy p = Policy::Default();
  if (auto s = OnlyKeys(name, root, {"settings", "rules", "exceptions"}, "the policy"); !s) return tl::unexpected(s.error());
  if (const toml::node* n = root.get("settings")) {
    const toml::table* t = n->as_table();
    if (!t) return Fail(ErrorCode::kInput, At(name, n->source()) + ": settings must be a table");
    if (auto s = ParseSettings(name, *t, p); !s) return tl::unexpected(s.error());
  }
  if (const toml::node* n = root.get("rules")) {
    const toml::table* t = n->as_table();
    if (!t) return Fail(ErrorCode::kInput, At(name, n->source()) + ": rules must be a table");
    for (const auto& [k, v] : *t) {
      const std::string id(k.str());
      auto it = std::find_if(p.rules.begin(), p.rules.end(), [&](const auto& r) { return r.first == id; });
      if (it == p.rules.end())
        return Fail(ErrorCode::kInput, At(name, k.source()) + ": unknown rule '" + id + "' (mica policy default lists them)");
      const toml::table* rt = v.as_table();
      if (!rt) return Fail(ErrorCode::kInput, At(name, v.source()) + ": rules." + id + " must be a table");
      if (auto s = ParseRule(name, id, *rt, it->second); !s) return tl::unexpected(s.error());
    }
  }
  if (const toml::node* n = root.get("exceptions")) {
    const toml::array* a = n->as_array();
    if (!a) return Fail(ErrorCode::kInput, At(name, n->source()) + ": exceptions must be an array of tables ([[exceptions]])");
    std::size_t i = 0;
    for (const auto& el : *a) {
      const toml::table* et = el.as_table();
      if (!et) return Fail(ErrorCode::kInput, At(name, el.source()) + ": exceptions[" + std::to_string(i) + "] must be a table");
      if (auto s = ParseException(name, *et, i, p); !s) return tl::unexpected(s.error());
      ++i;
    }
  }
  return p;
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, path + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParsePolicy(ss.str(), path);
}

std::string DefaultPolicyToml() {
  const Policy d = Policy::Default();
  std::ostringstream o;
  o << "# mica policy (docs/POLICY.md). Every key is optional; omitted ones keep these defaults.\n\n"
       "[settings]\n"
       "# Certificates expiring within these windows are reported (cert-expiring-*).\n"
       "expiry_warning = \"30d\"\n"
       "expiry_critical = \"7d\"\n"
       "# Longest validity of a leaf certificate (CA/B Forum BR: 398 days today, 47 by 2029).\n"
       "max_validity_days = "
    << d.max_validity_days
    << "\n"
       "min_rsa_bits = "
    << d.min_rsa_bits
    << "\n"
       "min_ec_bits = "
    << d.min_ec_bits
    << "\n"
       "# Substrings of the issuer DNs you allow; empty = issuer-not-allowed is silent.\n"
       "issuer_allow = []\n"
       "# Globs of the approved homes of code-signing certificates and keys; anything else is a finding.\n"
       "code_signing_locations = []\n\n"
       "# One table per rule: enabled, severity (info, low, medium, high, critical) and an\n"
       "# optional scope = { locations = [\"/etc/*\"], issuer = \"...\", kind = \"certificate\", eku = \"server_auth\" }.\n";
  for (const auto& r : BuiltinRules()) {
    const RuleConfig* c = d.Rule(r.id);
    o << "\n# " << r.why << "\n[rules." << r.id << "]\nenabled = " << (c->enabled ? "true" : "false")
      << "\nseverity = \"" << RuleSeverityName(c->severity) << "\"\n";
  }
  o << "\n# Accepted risks, shown beside the finding they cover:\n"
       "# [[exceptions]]\n"
       "# fingerprint = \"3f2a9c...\"   # at least 16 hex digits of the identity\n"
       "# rule = \"sig-sha1\"           # or \"*\"\n"
       "# until = 2026-12-31\n"
       "# by = \"alice@example.com\"\n"
       "# reason = \"legacy device, replaced in Q4\"\n";
  return o.str();
}

}  // namespace mica::policy
