// The rule set: named checks with stable ids, a severity, parameters and a scope, run on
// one identity at a time (docs/POLICY.md lists every rule and why it matters).
//
// Pure functions over x509 value types: no I/O, the time is passed in. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "x509/identity.h"

namespace mica::policy {

enum class RuleSeverity { kInfo, kLow, kMedium, kHigh, kCritical };
const char* RuleSeverityName(RuleSeverity s);  // "info", "low", "medium", "high", "critical"
std::optional<RuleSeverity> RuleSeverityFromName(std::string_view name);

struct RuleInfo {
  const char* id;          // stable: "cert-expired"; never renamed once released
  RuleSeverity severity;   // default severity
  const char* why;         // one line: why it matters
};
// Every built-in rule, cheapest first.
const std::vector<RuleInfo>& BuiltinRules();
const RuleInfo* FindRule(std::string_view id);

// Which identities a rule applies to. Empty fields match everything.
struct Scope {
  std::vector<std::string> locations;  // fnmatch globs over the file path
  std::string issuer;                  // substring of the issuer DN
  std::string kind;                    // x509::KindName: "certificate", "private_key", ...
  std::string eku;                     // an EKU the certificate must carry ("server_auth", "code_signing", an OID)
};

struct RuleConfig {
  bool enabled = true;
  RuleSeverity severity = RuleSeverity::kMedium;
  Scope scope;
};

// "Accepted risk until DATE, by WHOM, because ...".
struct RuleException {
  std::string fingerprint;  // identity fingerprint (a prefix of at least 16 hex digits)
  std::string rule;         // rule id, or "*" for every rule
  UnixSeconds until = 0;    // end of the acceptance (exclusive); 0 = no end
  std::string by;
  std::string reason;
};

struct Policy {
  std::vector<std::pair<std::string, RuleConfig>> rules;  // every built-in rule, by id
  std::int64_t expiry_warning = 30 * 86400;
  std::int64_t expiry_critical = 7 * 86400;
  int max_validity_days = 398;
  int min_rsa_bits = 2048;
  int min_ec_bits = 256;
  std::vector<std::string> issuer_allow;            // substrings of allowed issuer DNs
  std::vector<std::string> code_signing_locations;  // approved globs for code signing
  std::vector<RuleException> exceptions;

  // The built-in policy: every rule at its default severity; wildcard-forbidden and
  // issuer-not-allowed only do something once their parameters are set.
  static Policy Default();
  const RuleConfig* Rule(std::string_view id) const;
};

struct Finding {
  std::string rule;
  RuleSeverity severity = RuleSeverity::kMedium;
  std::string fingerprint;
  std::string location;  // file path ("" when unknown)
  std::string evidence;  // what was seen: "expired 2024-01-01T00:00:00Z (12 days ago)"
  std::optional<RuleException> accepted;  // set when an exception covers it
};

// Where an identity was seen, as far as the rules need it.
struct Where {
  std::string path;
  int mode = -1;  // POSIX permission bits of the file, -1 when unknown
};

// Runs every enabled per-identity rule in scope on `id` seen at `where`.
std::vector<Finding> CheckIdentity(const x509::Identity& id, const Where& where, const Policy& policy,
                                   UnixSeconds now);

// Rules over the set: one SPKI in several certificates (spki-reused), private keys
// with no certificate of the same key (private-key-without-certificate), and, when
// `owners` (fingerprint -> owner) holds any owner at all, identities without one
// (no-owner). `ids[i]` was seen at `wheres[i]`.
std::vector<Finding> CheckInventory(const std::vector<x509::Identity>& ids,
                                    const std::vector<Where>& wheres, const Policy& policy,
                                    UnixSeconds now,
                                    const std::map<std::string, std::string>* owners = nullptr);

// CheckInventory fed one identity at a time, for callers that stream the inventory
// instead of holding every Identity: Add keeps only what the rules over the set need
// (kind, fingerprint, SPKI, the path, and whether each of those rules is enabled and
// its scope covers the identity there), about 200 bytes per identity. Finish returns
// what CheckInventory would for the same identities in the order `order` lists them (a
// permutation of the indices of Add calls; empty: the order added). `policy` must
// outlive the checker. Not thread-safe.
class InventoryChecker {
 public:
  InventoryChecker(const Policy& policy, UnixSeconds now);
  // `id`, seen at `where` (the first place it was seen).
  void Add(const x509::Identity& id, const Where& where);
  std::size_t size() const { return entries_.size(); }
  std::vector<Finding> Finish(const std::map<std::string, std::string>* owners = nullptr,
                              const std::vector<std::uint32_t>& order = {}) const;

 private:
  struct Entry {
    x509::Kind kind;
    std::uint8_t rules;  // bit i: kInventoryRules[i] applies to this identity
    std::string fingerprint, spki_sha256, path;
  };
  const Policy& policy_;
  UnixSeconds now_;
  const RuleConfig* configs_[3];  // of the rules by their bit; null when not in the policy
  std::vector<Entry> entries_;
};

// Applies the exceptions of `policy` to `findings` (sets `accepted`).
void ApplyExceptions(std::vector<Finding>& findings, const Policy& policy, UnixSeconds now);

}  // namespace mica::policy
