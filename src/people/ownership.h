// Owners of identities (docs/PEOPLE.md "Ownership").
//
// Rules are stored (store::OwnerRule); ResolveOwners applies them to the inventory and
// ApplyOwnership stores the result, recording an owner_changed event (and so an audit-log
// entry) for every identity whose owner changed. Precedence, first match wins:
// fingerprint (explicit) > tag > path > san > issuer; within a kind, the longer pattern
// (more specific) first, then the older rule.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/people.h"
#include "store/store.h"

namespace mica::people {

// fnmatch(3)-style glob with '*' crossing '/' (so "/etc/nginx/*" covers subfolders).
bool GlobMatch(std::string_view pattern, std::string_view text);

// One identity as the rules see it.
struct OwnedIdentity {
  std::string fingerprint;
  std::vector<std::string> paths;  // file locations where it is present
  std::vector<std::string> sans;   // DNS SANs
  std::string issuer;
  std::vector<std::string> tags;
};

[[nodiscard]] Status ValidateRule(const store::OwnerRule& rule);

std::vector<store::OwnerAssignment> ResolveOwners(const std::vector<store::OwnerRule>& rules,
                                                  const std::vector<OwnedIdentity>& identities);

struct OwnershipResult {
  std::int64_t identities = 0, owned = 0, changed = 0;
};

// Resolves the rules over every present identity of `store`, replaces the stored owners
// and appends one owner_changed event per change.
[[nodiscard]] Result<OwnershipResult> ApplyOwnership(store::Store& store,
                                                     store::PeopleStore& people, UnixSeconds now);

}  // namespace mica::people
