#include "watch/changes.h"

#include <fnmatch.h>

#include <algorithm>

namespace mica::watch {

namespace {

using store::ChangeIdentity;
using store::Event;
using store::LocationChange;

bool IsPrivate(const ChangeIdentity& id) {
  return id.kind == "private_key" || id.kind == "ssh_private_key" || id.kind == "keystore_entry";
}

bool MatchesAny(const std::vector<std::string>& globs, const std::string& path) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) {
    return ::fnmatch(g.c_str(), path.c_str(), 0) == 0;
  });
}

Event Base(const store::ChangeSet& set, const LocationChange& l, std::string type,
           std::string severity) {
  Event e;
  e.at = set.at;
  e.scan_id = set.scan_id;
  e.location_id = l.location_id;
  e.location = l.name;
  e.type = std::move(type);
  e.severity = std::move(severity);
  return e;
}

// Pairs what vanished with what appeared at one location: same position first (a file
// rewritten in place, a chain slot), then in order among identities of the same kind.
// The three vectors are the caller's, reused across locations.
void Pair(const LocationChange& l, std::vector<const ChangeIdentity*>& added_left,
          std::vector<const ChangeIdentity*>& removed_left,
          std::vector<std::pair<const ChangeIdentity*, const ChangeIdentity*>>& pairs) {
  added_left.clear();
  removed_left.clear();
  pairs.clear();
  for (const auto& a : l.added) added_left.push_back(&a);
  for (const auto& r : l.removed) removed_left.push_back(&r);
  auto take = [&](auto same) {
    for (auto ri = removed_left.begin(); ri != removed_left.end();) {
      auto ai = std::find_if(added_left.begin(), added_left.end(),
                             [&](const ChangeIdentity* a) { return same(**ri, *a); });
      if (ai == added_left.end()) {
        ++ri;
        continue;
      }
      pairs.emplace_back(*ri, *ai);
      added_left.erase(ai);
      ri = removed_left.erase(ri);
    }
  };
  take([](const ChangeIdentity& r, const ChangeIdentity& a) {
    return r.position == a.position && r.kind == a.kind;
  });
  take([](const ChangeIdentity& r, const ChangeIdentity& a) { return r.kind == a.kind; });
}

}  // namespace

std::vector<Event> ClassifyChanges(const store::ChangeSet& set, const ChangeRules& rules,
                                   bool baseline) {
  std::vector<Event> out;
  std::size_t expected = 0;  // about one event for each identity that came or went
  for (const LocationChange& l : set.locations) expected += l.added.size() + l.removed.size();
  out.reserve(expected);
  std::vector<const ChangeIdentity*> added, removed;
  std::vector<std::pair<const ChangeIdentity*, const ChangeIdentity*>> pairs;
  for (const LocationChange& l : set.locations) {
    const bool tls = l.kind == "tls_endpoint";
    Pair(l, added, removed, pairs);
    // One event per replacement, of the most specific type: a replacement by another
    // issuer is an issuer_changed event (which also says whether the key changed), so
    // a route for it never needs the identity_replaced event of the same change.
    for (const auto& [before, after] : pairs) {
      const bool same_key = before->spki_sha256 == after->spki_sha256;
      const bool new_issuer = before->kind == "certificate" && before->issuer != after->issuer;
      Event& e =
          out.emplace_back(new_issuer ? Base(set, l, "issuer_changed", tls ? "high" : "medium")
                                      : Base(set, l, "identity_replaced", "low"));
      e.before = before->fingerprint;
      e.after = after->fingerprint;
      e.subject = after->subject;
      if (new_issuer) {
        e.detail.append("issuer was '")
            .append(before->issuer)
            .append("', now '")
            .append(after->issuer)
            .append("'; ");
      }
      e.detail.append(same_key ? "renewed with the same key" : "new key")
          .append(" (")
          .append(after->position)
          .append(")");
      if (new_issuer && tls) e.detail.append("; the endpoint may be intercepted");
    }
    for (const ChangeIdentity* a : added) {
      Event e = Base(set, l, "identity_added", "info");
      if (IsPrivate(*a)) {
        e.type = "private_key_added";
        e.severity = a->private_encrypted.value_or(false) ? "medium" : "high";
      }
      e.after = a->fingerprint;
      e.subject = a->subject;
      e.detail = a->kind + (l.new_location ? " at a new location" : "") + " (" + a->position + ")";
      out.push_back(std::move(e));
    }
    for (const ChangeIdentity* r : removed) {
      Event e = Base(set, l, "identity_removed", tls ? "low" : "info");
      e.before = r->fingerprint;
      e.subject = r->subject;
      e.detail = r->kind + " no longer " + (tls ? "presented" : "found") + " (" + r->position + ")";
      out.push_back(std::move(e));
    }
    // Events about what arrived, replaced or not.
    for (const ChangeIdentity& a : l.added) {
      if (a.kind == "certificate" && a.is_ca && !tls && MatchesAny(rules.trust_store_globs, l.path)) {
        Event e = Base(set, l, "ca_added_to_trust_store", "high");
        e.after = a.fingerprint;
        e.subject = a.subject;
        e.detail = "CA certificate added to a trust store path";
        out.push_back(std::move(e));
      }
      if (a.code_signing) {
        Event e = Base(set, l, "code_signing_seen", "high");
        e.after = a.fingerprint;
        e.subject = a.subject;
        e.detail = a.new_identity ? "code-signing certificate never seen before"
                                  : "known code-signing certificate at a new location";
        if (tls) e.detail += ", presented by a TLS endpoint";
        out.push_back(std::move(e));
      }
    }
    if (l.mode_before && l.mode_after && (*l.mode_before & 044) == 0 && (*l.mode_after & 044) != 0) {
      for (const ChangeIdentity& p : l.present) {
        if (!IsPrivate(p)) continue;
        Event e = Base(set, l, "private_key_exposed", "high");
        e.after = p.fingerprint;
        char modes[64];
        std::snprintf(modes, sizeof modes, "mode %04o -> %04o", *l.mode_before & 07777,
                      *l.mode_after & 07777);
        e.detail = std::string("private key newly readable by group or others: ") + modes;
        out.push_back(std::move(e));
      }
    }
  }
  SetOwners(out, rules.owners);
  if (baseline && rules.quiet_baseline) {
    for (Event& e : out) {
      e.severity = "info";
      e.detail += " (baseline scan)";
    }
  }
  return out;
}

store::ChangeClassifier MakeChangeClassifier(ChangeRules rules, bool baseline) {
  return [rules = std::move(rules), baseline](const store::ChangeSet& set) {
    return ClassifyChanges(set, rules, baseline);
  };
}

store::Event BaselineEvent(const store::BaselineSummary& b) {
  Event e;
  e.at = b.at;
  e.scan_id = b.scan_id;
  e.type = "scan_baseline";
  e.severity = "info";
  std::string kinds;
  for (const auto& [kind, n] : b.by_kind)
    kinds.append(kinds.empty() ? "" : ", ").append(std::to_string(n)).append(" ").append(kind);
  e.detail = std::to_string(b.sightings) + " identity sightings at " + std::to_string(b.locations) +
             " new locations (" + kinds + "); " + std::to_string(b.code_signing) +
             " code-signing, " + std::to_string(b.ca) + " CA, " +
             std::to_string(b.unencrypted_private) +
             " unencrypted private keys; sha256 of their fingerprint, location and position "
             "lines " +
             b.sha256;
  return e;
}

ChangeRecording MakeChangeRecording(ChangeRules rules, bool baseline) {
  ChangeRecording r;
  if (baseline && rules.quiet_baseline) r.baseline = BaselineEvent;
  r.classify = MakeChangeClassifier(std::move(rules), baseline);
  return r;
}

std::vector<Event> ClassifyFindings(const store::FindingDelta& delta, UnixSeconds now) {
  std::vector<Event> out;
  for (const bool opened : {true, false}) {
    for (const auto& f : opened ? delta.opened : delta.resolved) {
      Event e;
      e.at = now;
      e.type = opened ? "finding_opened" : "finding_resolved";
      e.severity = opened ? f.severity : "info";
      e.location = f.location;
      (opened ? e.after : e.before) = f.fingerprint;
      e.detail = f.rule + ": " + f.evidence;
      if (!f.accepted_by.empty()) e.detail += " (accepted risk, by " + f.accepted_by + ")";
      out.push_back(std::move(e));
    }
  }
  return out;
}

Result<std::optional<Event>> PolicyChangeEvent(store::Store& store, const std::string& name,
                                               const std::string& text, UnixSeconds now) {
  const std::string id = "policy:" + Sha256Hex(AsBytes(text));
  store::EventFilter filter;
  filter.type = "policy_changed";
  auto past = store.ListEvents(filter);
  if (!past) return tl::unexpected(past.error());
  if (!past->empty() && past->back().after == id) return std::optional<Event>();
  Event e;
  e.at = now;
  e.type = "policy_changed";
  e.severity = "info";
  e.location = name;
  if (!past->empty()) e.before = past->back().after;
  e.after = id;
  e.detail = past->empty() ? "first policy evaluated" : "policy changed since the last check";
  return std::optional<Event>(std::move(e));
}

void SetOwners(std::vector<Event>& events, const std::map<std::string, std::string>& owners) {
  if (owners.empty()) return;
  for (Event& e : events) {
    auto it = owners.find(e.after.empty() ? e.before : e.after);
    if (it != owners.end()) e.owner = it->second;
  }
}

std::string ThresholdName(std::int64_t seconds) {
  if (seconds <= 0) return "expired";
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds) + "s";
}

Result<std::vector<Event>> ExpiryEvents(store::Store& store, UnixSeconds now,
                                        const ExpiryThresholds& thresholds) {
  std::vector<Event> out;
  if (thresholds.before.empty()) return out;
  const std::int64_t widest = *std::max_element(thresholds.before.begin(), thresholds.before.end());
  store::IdentityFilter filter;
  filter.kind = x509::Kind::kCertificate;
  filter.expired_at = now + widest;  // not_after < now + widest, expired ones included
  filter.now = now;
  auto rows = store.ListIdentities(filter);
  if (!rows) return tl::unexpected(rows.error());
  for (const auto& row : *rows) {
    const auto& c = row.identity.cert;
    if (!c) continue;
    // Only the narrowest threshold crossed: a certificate found already expired does
    // not also produce its 30-day and 7-day warnings.
    std::int64_t crossed = -1;
    for (std::int64_t t : thresholds.before)
      if (c->not_after - now <= t && (crossed < 0 || t < crossed)) crossed = t;
    if (crossed < 0) continue;
    Event e;
    e.at = now;
    e.type = crossed == 0 ? "certificate_expired" : "expiry_threshold";
    e.severity = crossed == 0 ? "critical" : crossed <= 7 * 86400 ? "high" : "medium";
    e.after = row.identity.fingerprint;
    e.subject = c->subject;
    e.detail = crossed == 0 ? "expired at " + FormatRfc3339(c->not_after)
                            : "expires at " + FormatRfc3339(c->not_after) + " (within " +
                                  ThresholdName(crossed) + ")";
    e.dedup_key = "expiry:" + row.identity.fingerprint + ":" + ThresholdName(crossed);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace mica::watch
