// Enforcement (docs/PEOPLE.md "Enforcement"): what happens when a person's score crosses
// the threshold, and the check the signing and CA parts of mica (and external systems,
// through `mica people check`) ask before acting for a person.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "people/risk.h"
#include "store/people.h"
#include "store/store.h"

namespace mica::people {

struct EnforcementResult {
  std::vector<std::string> newly_blocked;
  std::int64_t findings_opened = 0, findings_resolved = 0, at_risk = 0;
};

// Records `scores` in the history, then for every person at or above the threshold:
// blocks them for signing and issuance (unless an approval covers the current score),
// appends a risk_threshold_crossed event (severity high, owner "security") on a new
// block, and keeps a "person-at-risk" finding open on every identity the person owns or
// used; findings of people back under the threshold are resolved.
[[nodiscard]] Result<EnforcementResult> Enforce(store::Store& store, store::PeopleStore& people,
                                                const std::vector<store::RiskScore>& scores,
                                                const RiskConfig& config, UnixSeconds now);

struct Decision {
  bool allowed = true;
  std::string reason;
};

// `action`: sign, issue (blocked while the person is blocked), or ssh, login, git (never
// blocked here: those go through the organisation's identity provider).
// kInvalidArgument for another action, kNotFound for an unknown person.
[[nodiscard]] Result<Decision> CheckAction(store::PeopleStore& people, const std::string& person,
                                           const std::string& action);

}  // namespace mica::people
