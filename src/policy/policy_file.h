// The policy file (TOML): settings, per-rule severity / enabled / scope, and exceptions.
// docs/POLICY.md shows the format; DefaultPolicyToml() is the commented built-in policy
// (`mica policy default`). Unknown keys and wrong types are errors naming
// file:line:column.
#pragma once

#include <string>

#include "core/error.h"
#include "policy/rules.h"

namespace mica::policy {

// Parses `text`; `name` is used in error messages (a path, or "<default>").
[[nodiscard]] Result<Policy> ParsePolicy(const std::string& text, const std::string& name);
// Reads and parses the file at `path`.
[[nodiscard]] Result<Policy> LoadPolicyFile(const std::string& path);
// The built-in policy as commented TOML; ParsePolicy of it equals Policy::Default().
std::string DefaultPolicyToml();

}  // namespace mica::policy
