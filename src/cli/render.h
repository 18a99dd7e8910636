// Shared rendering of inventory rows for every verb: labels for tables, JSON documents.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace mica::cli {

std::string Mode(std::uint32_t mode);  // "0644"
std::string Join(const std::vector<std::string>& v, const char* sep = ",");
// The short human name of an identity for tables: CN, else subject, else comment.
std::string Label(const x509::Identity& id);
std::string IssuerLabel(const x509::Identity& id);
std::string KeyLabel(const x509::KeyInfo& k);  // "rsa-2048", "ec-prime256v1", "ed25519"
std::string ShortDate(UnixSeconds t);          // "2026-11-27"
// "path" for files, "host:port" for endpoints.
std::string Where(const store::SightingRow& s);

// JSON documents (docs/CLI.md lists their fields).
nlohmann::json RowJson(const store::IdentityRow& r);
nlohmann::json SightingJson(const store::SightingRow& s);
nlohmann::json ScanJson(const store::ScanRow& s);

}  // namespace mica::cli
