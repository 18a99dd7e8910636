// Built-in rules (see rules.h and docs/POLICY.md).
#include "policy/rules.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace mica::policy {

namespace {

using x509::Identity;
using x509::Kind;
using x509::KeyType;

constexpr RuleSeverity kInfo = RuleSeverity::kInfo, kLow = RuleSeverity::kLow,
                       kMed = RuleSeverity::kMedium, kHigh = RuleSeverity::kHigh,
                       kCrit = RuleSeverity::kCritical;

const std::vector<RuleInfo> kRules = {
    {"cert-expired", kCrit, "an expired certificate breaks every client that checks it"},
    {"cert-expiring-critical", kHigh, "expires within the critical window: renew now"},
    {"cert-expiring-soon", kMed, "expires within the warning window: plan the renewal"},
    {"cert-not-yet-valid", kMed, "clients reject it until notBefore: a clock or issuance error"},
    {"key-rsa-too-small", kHigh, "RSA below the minimum size is within reach of factoring"},
    {"key-ec-too-small", kHigh, "EC keys below the minimum curve size give too little security"},
    {"key-dsa", kMed, "DSA is deprecated (FIPS 186-5) and unsupported by modern TLS"},
    {"sig-md5", kCrit, "MD5 signatures can be forged with chosen-prefix collisions"},
    {"sig-sha1", kHigh, "SHA-1 signatures are forgeable (SHAmbles); browsers reject them"},
    {"validity-too-long", kMed, "publicly trusted TLS certificates may last at most 398 days (CA/B BR 6.3.2)"},
    {"san-missing", kMed, "clients match names against the SAN only (RFC 6125); no SAN, no match"},
    {"cn-not-in-san", kLow, "a CN that is not among the SANs is ignored by clients and misleads people"},
    {"wildcard-forbidden", kMed, "a wildcard key stolen from one host impersonates every host"},
    {"leaf-self-signed", kMed, "a self-signed leaf trains users and clients to skip verification"},
    {"issuer-not-allowed", kHigh, "a certificate from an unapproved CA escapes revocation and oversight"},
    {"private-key-unencrypted", kMed, "a clear private key is one file read away from theft"},
    {"private-key-exposed", kCrit, "a private key readable by group or others is readable by attackers"},
    {"code-signing-outside-approved", kCrit, "code-signing identities outside approved stores are how signing keys get stolen"},
    {"rfc5280-serial", kLow, "serials must be positive and at most 20 octets (RFC 5280 4.1.2.2)"},
    {"rfc5280-ca-key-usage", kMed, "a CA certificate needs CA=true and keyCertSign; one without signs nothing valid (RFC 5280 4.2.1.3, 4.2.1.9)"},
    {"rfc5280-aki-missing", kLow, "without an AKI, chain building across key rollovers fails (RFC 5280 4.2.1.1)"},
    {"spki-reused", kMed, "one key in several certificates: revoking one leaves the key trusted elsewhere"},
    {"private-key-without-certificate", kLow, "an orphan private key is unowned, unrotated and still usable"},
    {"no-owner", kLow, "an identity nobody owns is renewed by nobody, and its alerts reach nobody"},
};

bool Glob(const std::string& pattern, const std::string& path) {
  return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0 ||
         ::fnmatch(pattern.c_str(), path.substr(path.rfind('/') + 1).c_str(), 0) == 0;
}

bool HasEku(const x509::CertificateInfo& c, std::string_view eku) {
  return std::find(c.eku.begin(), c.eku.end(), eku) != c.eku.end();
}

bool InScope(const Scope& s, const Identity& id, const Where& where) {
  if (!s.kind.empty() && s.kind != x509::KindName(id.kind)) return false;
  if (!s.locations.empty() &&
      std::none_of(s.locations.begin(), s.locations.end(),
                   [&](const std::string& g) { return Glob(g, where.path); }))
    return false;
  if (!s.issuer.empty() && (!id.cert || id.cert->issuer.find(s.issuer) == std::string::npos)) return false;
  if (!s.eku.empty() && (!id.cert || !HasEku(*id.cert, s.eku))) return false;
  return true;
}

std::string Days(std::int64_t seconds) {
  return std::to_string(seconds / 86400) + " days";
}

bool IsLeaf(const x509::CertificateInfo& c) { return !(c.has_basic_constraints && c.is_ca); }

// Octets of the DER INTEGER content for an upper-case hex serial as BN_bn2hex prints it.
std::size_t SerialOctets(const std::string& hex) {
  if (hex.empty() || hex[0] == '-') return 0;
  std::size_t n = (hex.size() + 1) / 2;
  const char top = hex.size() % 2 ? '0' : hex[0];
  if (top >= '8') ++n;  // a leading 0x00 keeps the INTEGER positive
  return n;
}

bool DnsMatchesCn(const std::vector<std::string>& dns, const std::string& cn) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  const std::string l = lower(cn);
  return std::any_of(dns.begin(), dns.end(), [&](const std::string& d) { return lower(d) == l; });
}

class Checker {
 public:
  Checker(const Identity& id, const Where& where, const Policy& p, std::vector<Finding>& out)
      : id_(id), where_(where), p_(p), out_(out) {}

  // Adds a finding for `rule` when it is enabled and `id_` is in its scope.
  void Add(const char* rule, std::string evidence) {
    const RuleConfig* rc = p_.Rule(rule);
    if (!rc || !rc->enabled || !InScope(rc->scope, id_, where_)) return;
    out_.push_back({rule, rc->severity, id_.fingerprint, where_.path, std::move(evidence), std::nullopt});
  }

 private:
  const Identity& id_;
  const Where& where_;
  const Policy& p_;
  std::vector<Finding>& out_;
};

void CheckCertificate(const Identity& id, const x509::CertificateInfo& c, const Policy& p,
                      UnixSeconds now, Checker& add) {
  // Validity.
  if (c.not_after < now) {
    add.Add("cert-expired", "expired " + FormatRfc3339(c.not_after) + " (" + Days(now - c.not_after) + " ago)");
  } else if (c.not_after - now < p.expiry_critical) {
    add.Add("cert-expiring-critical", "expires " + FormatRfc3339(c.not_after) + " (in " + Days(c.not_after - now) + ")");
  } else if (c.not_after - now < p.expiry_warning) {
    add.Add("cert-expiring-soon", "expires " + FormatRfc3339(c.not_after) + " (in " + Days(c.not_after - now) + ")");
  }
  if (c.not_before > now) add.Add("cert-not-yet-valid", "valid from " + FormatRfc3339(c.not_before));

  // Keys.
  (void)id;
  const x509::KeyInfo& k = id.key;
  if (k.type == KeyType::kRsa && k.bits > 0 && k.bits < p.min_rsa_bits)
    add.Add("key-rsa-too-small", "RSA " + std::to_string(k.bits) + " bits < " + std::to_string(p.min_rsa_bits));
  if (k.type == KeyType::kEc && k.bits > 0 && k.bits < p.min_ec_bits)
    add.Add("key-ec-too-small", "EC " + std::to_string(k.bits) + " bits (" + k.curve + ") < " + std::to_string(p.min_ec_bits));
  if (k.type == KeyType::kDsa) add.Add("key-dsa", "DSA " + std::to_string(k.bits) + " bits");

  // Signatures: a self-signed root's own signature is never checked by clients.
  std::string sig = c.signature_algorithm;
  std::transform(sig.begin(), sig.end(), sig.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (!c.self_signed) {
    if (sig.find("md5") != std::string::npos || sig.find("md2") != std::string::npos)
      add.Add("sig-md5", "signed with " + c.signature_algorithm);
    else if (sig.find("sha1") != std::string::npos || sig == "dsawithsha1" ||
             sig.find("sha-1") != std::string::npos)
      add.Add("sig-sha1", "signed with " + c.signature_algorithm);
  }

  const bool leaf = IsLeaf(c);
  if (leaf) {
    // CA/B BR 6.3.2 and RFC 5280 4.1.2.5: both ends are inclusive, so one second more.
    const std::int64_t seconds = c.not_after - c.not_before + 1;
    if (seconds > std::int64_t{p.max_validity_days} * 86400)
      add.Add("validity-too-long", "valid for " + std::to_string(seconds / 86400) + " days " +
                                       std::to_string(seconds % 86400) + " s > " +
                                       std::to_string(p.max_validity_days) + " days");
    const bool has_san = !c.san_dns.empty() || !c.san_ip.empty() || !c.san_email.empty() || !c.san_uri.empty();
    if (!has_san) {
      add.Add("san-missing", "no subjectAltName" + (c.subject_parts.cn.empty() ? std::string() : " (CN " + c.subject_parts.cn + ")"));
    } else if (!c.subject_parts.cn.empty() && !DnsMatchesCn(c.san_dns, c.subject_parts.cn) &&
               std::find(c.san_ip.begin(), c.san_ip.end(), c.subject_parts.cn) == c.san_ip.end() &&
               std::find(c.san_email.begin(), c.san_email.end(), c.subject_parts.cn) == c.san_email.end()) {
      add.Add("cn-not-in-san", "CN " + c.subject_parts.cn + " is not among the SANs");
    }
    for (const auto& d : c.san_dns)
      if (d.starts_with("*")) {
        add.Add("wildcard-forbidden", "wildcard name " + d);
        break;
      }
    if (c.self_signed) add.Add("leaf-self-signed", "self-signed: " + c.subject);
  }
  if (!p.issuer_allow.empty() && !c.self_signed &&
      std::none_of(p.issuer_allow.begin(), p.issuer_allow.end(),
                   [&](const std::string& a) { return c.issuer.find(a) != std::string::npos; }))
    add.Add("issuer-not-allowed", "issuer " + c.issuer + " is not on the allow-list");

  // RFC 5280 structure.
  const std::size_t octets = SerialOctets(c.serial_hex);
  if (c.serial_hex.empty() || c.serial_hex[0] == '-' ||
      c.serial_hex.find_first_not_of('0') == std::string::npos)
    add.Add("rfc5280-serial", "serial " + c.serial_hex + " is not positive");
  else if (octets > 20)
    add.Add("rfc5280-serial", "serial is " + std::to_string(octets) + " octets > 20");
  if (c.has_basic_constraints && c.is_ca && c.has_key_usage && !(c.key_usage & x509::kKuKeyCertSign))
    add.Add("rfc5280-ca-key-usage", "CA=true but keyUsage lacks keyCertSign");
  if (c.has_key_usage && (c.key_usage & x509::kKuKeyCertSign) && !(c.has_basic_constraints && c.is_ca))
    add.Add("rfc5280-ca-key-usage", "keyCertSign without basicConstraints CA=true");
  if (c.version == 3 && !c.self_issued && c.aki_hex.empty())
    add.Add("rfc5280-aki-missing", "no authorityKeyIdentifier on a certificate issued by " + c.issuer);
}

// The rules InventoryChecker judges, by their bit in InventoryChecker::Entry::rules.
constexpr const char* kInventoryRules[] = {"spki-reused", "private-key-without-certificate",
                                           "no-owner"};
constexpr std::size_t kSpkiReused = 0, kOrphanKey = 1, kNoOwner = 2;

bool CodeSigning(const Identity& id) {
  return id.cert && HasEku(*id.cert, "code_signing");
}

}  // namespace

const char* RuleSeverityName(RuleSeverity s) {
  switch (s) {
    case RuleSeverity::kInfo: return "info";
    case RuleSeverity::kLow: return "low";
    case RuleSeverity::kMedium: return "medium";
    case RuleSeverity::kHigh: return "high";
    case RuleSeverity::kCritical: return "critical";
  }
  return "medium";
}

std::optional<RuleSeverity> RuleSeverityFromName(std::string_view n) {
  for (auto s : {kInfo, kLow, kMed, kHigh, kCrit})
    if (n == RuleSeverityName(s)) return s;
  return std::nullopt;
}

const std::vector<RuleInfo>& BuiltinRules() { return kRules; }

const RuleInfo* FindRule(std::string_view id) {
  for (const auto& r : kRules)
    if (id == r.id) return &r;
  return nullptr;
}

Policy Policy::Default() {
  Policy p;
  for (const auto& r : kRules) {
    RuleConfig c;
    c.severity = r.severity;
    // Off until the owner says where wildcards are forbidden.
    if (std::string_view(r.id) == "wildcard-forbidden") c.enabled = false;
    p.rules.emplace_back(r.id, c);
  }
  return p;
}

const RuleConfig* Policy::Rule(std::string_view id) const {
  for (const auto& [rid, c] : rules)
    if (rid == id) return &c;
  return nullptr;
}

std::vector<Finding> CheckIdentity(const Identity& id, const Where& where, const Policy& p,
                                   UnixSeconds now) {
  std::vector<Finding> out;
  Checker add(id, where, p, out);
  if (id.kind == Kind::kCertificate && id.cert) CheckCertificate(id, *id.cert, p, now, add);
  if (id.kind == Kind::kPrivateKey || id.kind == Kind::kSshPrivateKey) {
    if (id.private_key && !id.private_key->encrypted)
      add.Add("private-key-unencrypted", "private key stored in clear (" + id.private_key->format + ")");
    if (where.mode >= 0 && (where.mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", where.mode & 07777);
      add.Add("private-key-exposed", std::string("file mode ") + mode + " lets group or others read it");
    }
  }
  if (CodeSigning(id) &&
      std::none_of(p.code_signing_locations.begin(), p.code_signing_locations.end(),
                   [&](const std::string& g) { return Glob(g, where.path); }))
    add.Add("code-signing-outside-approved",
            "code-signing certificate at " + (where.path.empty() ? std::string("an unknown place") : where.path) +
                ", not under an approved location");
  ApplyExceptions(out, p, now);
  return out;
}

std::vector<Finding> CheckInventory(const std::vector<Identity>& ids, const std::vector<Where>& wheres,
                                    const Policy& p, UnixSeconds now,
                                    const std::map<std::string, std::string>* owners) {
  InventoryChecker checker(p, now);
  for (std::size_t i = 0; i < ids.size(); ++i) checker.Add(ids[i], wheres[i]);
  return checker.Finish(owners);
}

InventoryChecker::InventoryChecker(const Policy& policy, UnixSeconds now)
    : policy_(policy), now_(now) {
  static_assert(std::size(kInventoryRules) == std::extent_v<decltype(configs_)>);
  for (std::size_t r = 0; r < std::size(kInventoryRules); ++r)
    configs_[r] = policy_.Rule(kInventoryRules[r]);
}

void InventoryChecker::Add(const Identity& id, const Where& where) {
  std::uint8_t rules = 0;
  for (std::size_t r = 0; r < std::size(kInventoryRules); ++r) {
    const RuleConfig* rc = configs_[r];
    if (rc && rc->enabled && InScope(rc->scope, id, where))
      rules |= static_cast<std::uint8_t>(1u << r);
  }
  // Only certificates and private keys take part in the SPKI rules.
  const bool spki = id.kind == Kind::kCertificate || id.kind == Kind::kPrivateKey;
  entries_.push_back(
      {id.kind, rules, id.fingerprint, spki ? id.key.spki_sha256 : std::string(), where.path});
}

std::vector<Finding> InventoryChecker::Finish(const std::map<std::string, std::string>* owners,
                                              const std::vector<std::uint32_t>& order) const {
  std::vector<std::uint32_t> listed = order;
  if (listed.empty()) {
    listed.resize(entries_.size());
    for (std::size_t i = 0; i < listed.size(); ++i) listed[i] = static_cast<std::uint32_t>(i);
  }
  std::vector<Finding> out;
  out.reserve(listed.size());  // usually enough: spki-reused alone can list every certificate
  auto add = [&](std::size_t rule, const Entry& e, std::string evidence) {
    if (!(e.rules & (1u << rule))) return;
    out.push_back({kInventoryRules[rule], configs_[rule]->severity, e.fingerprint, e.path,
                   std::move(evidence), std::nullopt});
  };
  // Certificates by SPKI, then in listed order: the order of a map from SPKI to indices,
  // without a node per certificate.
  // The SPKIs are numbered in string order first, so the sort compares integers: a
  // stable sort of 100,000 indices by 64-character strings, most of them equal (renewals
  // keep their key), was a quarter of this function.
  std::unordered_map<std::string_view, std::uint32_t> spki_ids;
  std::vector<std::string_view> spkis;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> keyed;  // (SPKI id, entry)
  for (std::uint32_t i : listed) {
    const Entry& e = entries_[i];
    if (e.kind != Kind::kCertificate || e.spki_sha256.empty()) continue;
    auto [it, fresh] =
        spki_ids.try_emplace(e.spki_sha256, static_cast<std::uint32_t>(spkis.size()));
    if (fresh) spkis.push_back(e.spki_sha256);
    keyed.emplace_back(it->second, i);
  }
  std::vector<std::uint32_t> by_string(spkis.size()), rank(spkis.size());
  for (std::size_t k = 0; k < by_string.size(); ++k) by_string[k] = static_cast<std::uint32_t>(k);
  std::sort(by_string.begin(), by_string.end(),
            [&](std::uint32_t a, std::uint32_t b) { return spkis[a] < spkis[b]; });
  for (std::size_t r = 0; r < by_string.size(); ++r)
    rank[by_string[r]] = static_cast<std::uint32_t>(r);
  for (auto& [id, i] : keyed) id = rank[id];
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::uint32_t> certs(keyed.size());
  for (std::size_t k = 0; k < keyed.size(); ++k) certs[k] = keyed[k].second;
  for (std::size_t g = 0; g < certs.size();) {
    const std::string& spki = entries_[certs[g]].spki_sha256;
    std::size_t end = g + 1;
    while (end < certs.size() && entries_[certs[end]].spki_sha256 == spki) ++end;
    if (end - g >= 2) {
      // Renewals with the same key are common and deliberate only when the old one is
      // gone: count the certificates still alive.
      const std::string evidence =
          "key " + spki.substr(0, 16) + "... is in " + std::to_string(end - g) + " certificates";
      for (std::size_t k = g; k < end; ++k) add(kSpkiReused, entries_[certs[k]], evidence);
    }
    g = end;
  }
  auto has_cert = [&](const std::string& spki) {
    auto it = std::lower_bound(
        certs.begin(), certs.end(), spki,
        [&](std::uint32_t c, const std::string& s) { return entries_[c].spki_sha256 < s; });
    return it != certs.end() && entries_[*it].spki_sha256 == spki;
  };
  for (std::uint32_t i : listed) {
    const Entry& e = entries_[i];
    if (e.kind != Kind::kPrivateKey || e.spki_sha256.empty() || has_cert(e.spki_sha256)) continue;
    add(kOrphanKey, e, "no certificate in the inventory has this key");
  }
  // "Once owners exist": an inventory where nobody has assigned any owner is not judged
  // on ownership.
  if (owners && !owners->empty()) {
    for (std::uint32_t i : listed) {
      if (owners->count(entries_[i].fingerprint)) continue;
      add(kNoOwner, entries_[i],
          "no owner rule or assignment covers this identity (mica people owners)");
    }
  }
  ApplyExceptions(out, policy_, now_);
  return out;
}

void ApplyExceptions(std::vector<Finding>& findings, const Policy& p, UnixSeconds now) {
  for (auto& f : findings) {
    if (f.accepted) continue;
    for (const auto& e : p.exceptions) {
      if (e.rule != "*" && e.rule != f.rule) continue;
      if (!f.fingerprint.starts_with(e.fingerprint)) continue;
      if (e.until != 0 && now >= e.until) continue;
      f.accepted = e;
      break;
    }
  }
}

}  // namespace mica::policy
