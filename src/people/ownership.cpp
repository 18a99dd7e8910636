#include "people/ownership.h"

#include <algorithm>
#include <unordered_map>

namespace mica::people {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int Rank(const std::string& kind) {
  if (kind == "fingerprint") return 0;
  if (kind == "tag") return 1;
  if (kind == "path") return 2;
  if (kind == "san") return 3;
  return 4;  // issuer
}

bool SanMatch(const std::string& pattern, const std::string& san) {
  std::string p = Lower(pattern), s = Lower(san);
  if (p.starts_with("*.")) p = p.substr(2);
  if (s.starts_with("*.")) s = s.substr(2);
  return s == p || (s.size() > p.size() && s.ends_with(p) && s[s.size() - p.size() - 1] == '.');
}

bool Matches(const store::OwnerRule& r, const OwnedIdentity& id) {
  if (r.kind == "fingerprint") return Lower(id.fingerprint) == Lower(r.pattern);
  if (r.kind == "tag")
    return std::find(id.tags.begin(), id.tags.end(), r.pattern) != id.tags.end();
  if (r.kind == "path")
    return std::any_of(id.paths.begin(), id.paths.end(),
                       [&](const std::string& p) { return GlobMatch(r.pattern, p); });
  if (r.kind == "san")
    return std::any_of(id.sans.begin(), id.sans.end(),
                       [&](const std::string& s) { return SanMatch(r.pattern, s); });
  if (r.kind == "issuer") return Lower(id.issuer).find(Lower(r.pattern)) != std::string::npos;
  return false;
}

}  // namespace

bool GlobMatch(std::string_view p, std::string_view t) {
  // Iterative matcher with one backtrack point for '*': linear in practice, no recursion.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Status ValidateRule(const store::OwnerRule& r) {
  if (r.kind != "fingerprint" && r.kind != "path" && r.kind != "san" && r.kind != "issuer" &&
      r.kind != "tag")
    return Fail(ErrorCode::kInvalidArgument,
                "owner rule kind '" + r.kind + "' is not fingerprint, path, san, issuer or tag");
  if (r.pattern.empty()) return Fail(ErrorCode::kInvalidArgument, "owner rule pattern is empty");
  if (r.owner.empty()) return Fail(ErrorCode::kInvalidArgument, "owner rule owner is empty");
  if (r.kind == "path" && r.pattern.front() != '/' && r.pattern.front() != '*')
    return Fail(ErrorCode::kInvalidArgument,
                "path rule '" + r.pattern + "' must be an absolute glob (e.g. /etc/nginx/*)");
  return {};
}

std::vector<store::OwnerAssignment> ResolveOwners(const std::vector<store::OwnerRule>& rules,
                                                  const std::vector<OwnedIdentity>& identities) {
  std::vector<const store::OwnerRule*> ordered;
  for (const auto& r : rules) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    if (Rank(a->kind) != Rank(b->kind)) return Rank(a->kind) < Rank(b->kind);
    if (a->pattern.size() != b->pattern.size()) return a->pattern.size() > b->pattern.size();
    return a->id < b->id;
  });
  std::vector<store::OwnerAssignment> out;
  for (const auto& id : identities) {
    for (const auto* r : ordered) {
      if (!Matches(*r, id)) continue;
      out.push_back({id.fingerprint, r->owner,
                     "rule:" + std::to_string(r->id) + " " + r->kind + " " + r->pattern});
      break;
    }
  }
  return out;
}

Result<OwnershipResult> ApplyOwnership(store::Store& store, store::PeopleStore& people,
                                       UnixSeconds now) {
  auto rules = people.ListOwnerRules();
  if (!rules) return tl::unexpected(rules.error());
  auto tags = people.Tags();
  if (!tags) return tl::unexpected(tags.error());
  auto ids = store.ListIdentities({});
  if (!ids) return tl::unexpected(ids.error());
  auto sightings = store.AllPresentSightings();
  if (!sightings) return tl::unexpected(sightings.error());
  std::unordered_map<std::int64_t, std::vector<std::string>> paths;
  for (const auto& s : *sightings)
    if (s.location.kind == store::LocationKind::kFile) paths[s.identity_id].push_back(s.location.path);
  std::vector<OwnedIdentity> owned;
  for (const auto& row : *ids) {
    OwnedIdentity o;
    o.fingerprint = row.identity.fingerprint;
    if (auto it = paths.find(row.id); it != paths.end()) o.paths = it->second;
    if (row.identity.cert) {
      o.sans = row.identity.cert->san_dns;
      o.issuer = row.identity.cert->issuer;
    }
    if (auto it = tags->find(o.fingerprint); it != tags->end()) o.tags = it->second;
    owned.push_back(std::move(o));
  }
  auto resolved = ResolveOwners(*rules, owned);
  auto before = people.OwnersByFingerprint();
  if (!before) return tl::unexpected(before.error());
  std::vector<store::Event> events;
  std::map<std::string, std::string> after;
  for (const auto& a : resolved) after[a.fingerprint] = a.owner;
  auto changed = [&](const std::string& fp, const std::string& from, const std::string& to,
                     const std::string& source) {
    store::Event e;
    e.at = now;
    e.type = "owner_changed";
    e.severity = "info";
    e.before = fp;
    e.after = fp;
    e.owner = to;
    e.detail = "owner of " + fp + ": " + (from.empty() ? "(none)" : from) + " -> " +
               (to.empty() ? "(none)" : to) + (source.empty() ? "" : " by " + source);
    events.push_back(std::move(e));
  };
  for (const auto& a : resolved) {
    auto it = before->find(a.fingerprint);
    std::string old = it == before->end() ? "" : it->second;
    if (old != a.owner) changed(a.fingerprint, old, a.owner, a.source);
  }
  for (const auto& [fp, owner] : *before)
    if (!after.count(fp)) changed(fp, owner, "", "");
  if (auto s = people.ReplaceOwners(resolved, now); !s) return tl::unexpected(s.error());
  if (!events.empty())
    if (auto r = store.AppendEvents(events); !r) return tl::unexpected(r.error());
  OwnershipResult res;
  res.identities = static_cast<std::int64_t>(ids->size());
  res.owned = static_cast<std::int64_t>(resolved.size());
  res.changed = static_cast<std::int64_t>(events.size());
  return res;
}

}  // namespace mica::people
