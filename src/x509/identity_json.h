// JSON form of x509::Identity: the stable, documented shape that `--json` output, the
// HTTP API and the inventory's `identity.details` column all share.
//
// Field names are snake_case and stable (docs/SCHEMA.md lists them). Times are RFC 3339
// strings in UTC; a time outside years 0000..9999 (an OpenSSH certificate valid
// "forever" is clamped to INT64_MAX) is written as integer Unix seconds instead, so that
// IdentityFromJson(ToJson(x)) == x for every value. The certificate DER is never
// included: it is large, and the store keeps it in its own column.
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "x509/identity.h"

namespace mica::x509 {

[[nodiscard]] nlohmann::json ToJson(const Identity& identity);

// Reads what ToJson writes. Missing optional fields take their defaults; a field of the
// wrong type, an unknown kind / key type / key usage name or a malformed time is
// ErrorCode::kInput naming the field. The result's `der` is empty.
[[nodiscard]] Result<Identity> IdentityFromJson(const nlohmann::json& json);

// The inverse of KeyTypeName ("rsa" -> kRsa); nullopt for an unknown name.
[[nodiscard]] std::optional<KeyType> KeyTypeFromName(std::string_view name);

}  // namespace mica::x509
