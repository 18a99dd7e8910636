#include "people/enforce.h"

#include <set>

#include <fmt/format.h>

namespace mica::people {

Result<EnforcementResult> Enforce(store::Store& store, store::PeopleStore& people,
                                  const std::vector<store::RiskScore>& scores,
                                  const RiskConfig& config, UnixSeconds now) {
  EnforcementResult result;
  if (auto s = people.RecordScores(scores); !s) return tl::unexpected(s.error());
  auto owners = people.OwnersByFingerprint();
  if (!owners) return tl::unexpected(owners.error());
  std::vector<store::FindingRecord> findings;
  std::vector<store::Event> events;
  for (const auto& sc : scores) {
    if (sc.score < config.threshold) continue;
    ++result.at_risk;
    auto person = people.GetPerson(sc.person);
    if (!person) return tl::unexpected(person.error());
    std::string signals;
    for (const auto& h : sc.signals) signals.append(signals.empty() ? "" : ", ").append(h.signal);
    std::string evidence = fmt::format("person {} ({}) risk {:.0f} >= {:.0f}: {}", sc.person,
                                       person->name, sc.score, config.threshold, signals);
    // An approval holds while the score does not rise above the approved one.
    bool covered = person->approved_at > 0 && person->approved_at >= person->blocked_at &&
                   sc.score <= person->approved_score;
    if (!person->blocked && !covered) {
      if (auto s = people.Block(sc.person, evidence, now); !s) return tl::unexpected(s.error());
      result.newly_blocked.push_back(sc.person);
      store::Event e;
      e.at = now;
      e.type = "risk_threshold_crossed";
      e.severity = "high";
      e.owner = "security";
      e.subject = sc.person;
      e.detail = evidence + "; signing and issuance blocked pending approval";
      e.dedup_key = "risk:" + sc.person + ":" + std::to_string(now);
      events.push_back(std::move(e));
    }
    std::set<std::string> fps;
    for (const auto& [fp, owner] : *owners)
      if (owner == sc.person) fps.insert(fp);
    auto used = people.TargetsOf(sc.person);
    if (!used) return tl::unexpected(used.error());
    fps.insert(used->begin(), used->end());
    for (const auto& fp : fps) {
      store::FindingRecord f;
      f.rule = "person-at-risk";
      f.fingerprint = fp;
      f.severity = "high";
      f.evidence = evidence + " — review or rotate this identity";
      findings.push_back(std::move(f));
    }
  }
  if (!events.empty())
    if (auto r = store.AppendEvents(events); !r) return tl::unexpected(r.error());
  auto classify = [now](const store::FindingDelta& d) {
    std::vector<store::Event> out;
    for (const auto& f : d.opened) {
      store::Event e;
      e.at = now;
      e.type = "finding_opened";
      e.severity = f.severity;
      e.after = f.fingerprint;
      e.owner = "security";
      e.detail = f.rule + ": " + f.evidence;
      out.push_back(std::move(e));
    }
    for (const auto& f : d.resolved) {
      store::Event e;
      e.at = now;
      e.type = "finding_resolved";
      e.severity = "info";
      e.before = f.fingerprint;
      e.owner = "security";
      e.detail = f.rule + " resolved";
      out.push_back(std::move(e));
    }
    return out;
  };
  auto delta = store.SyncFindings({"person-at-risk"}, findings, now, classify);
  if (!delta) return tl::unexpected(delta.error());
  result.findings_opened = static_cast<std::int64_t>(delta->opened.size());
  result.findings_resolved = static_cast<std::int64_t>(delta->resolved.size());
  return result;
}

Result<Decision> CheckAction(store::PeopleStore& people, const std::string& person,
                             const std::string& action) {
  bool gated = action == "sign" || action == "signing" || action == "issue" || action == "issuance";
  bool open = action == "ssh" || action == "login" || action == "git";
  if (!gated && !open)
    return Fail(ErrorCode::kInvalidArgument,
                "action '" + action + "' is not sign, issue, ssh, login or git");
  auto p = people.GetPerson(person);
  if (!p) return tl::unexpected(p.error());
  Decision d;
  if (gated && p->blocked) {
    d.allowed = false;
    d.reason = "blocked since " + FormatRfc3339(p->blocked_at) + " pending approval: " +
               p->blocked_reason;
  } else {
    d.reason = gated ? "not blocked" : "not gated by mica";
  }
  return d;
}

}  // namespace mica::people
