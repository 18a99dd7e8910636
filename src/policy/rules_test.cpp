// Rules: for each rule a certificate (or key) made to break it and one made to pass it;
// the policy file's errors; exceptions.
#include "policy/rules.h"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "fixtures.h"
#include "policy/policy_file.h"
#include "x509/parse.h"

namespace mica::policy {
namespace {

using mica::testing::CertSpec;
using mica::testing::MakeCertificate;

constexpr UnixSeconds kDay = 86400;

UnixSeconds Now() { return static_cast<UnixSeconds>(::time(nullptr)); }

x509::Identity Parse(const std::string& pem, x509::Kind kind = x509::Kind::kCertificate) {
  auto r = x509::ParseContent(ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()), {});
  EXPECT_TRUE(r.has_value());
  for (auto& id : r->identities)
    if (id.kind == kind) return id;
  ADD_FAILURE() << "no identity of the kind";
  return {};
}

x509::Identity Cert(CertSpec s) { return Parse(MakeCertificate(s).cert_pem); }

CertSpec Good() {
  CertSpec s;
  s.cn = "www.example";
  s.san = "DNS:www.example";
  s.eku = "serverAuth";
  return s;
}

// A leaf issued by a CA (so it is neither self-signed nor without AKI).
x509::Identity Issued(CertSpec leaf) {
  CertSpec ca;
  ca.cn = "Test CA";
  ca.ca = true;
  auto issuer = MakeCertificate(ca);
  leaf.issuer_cert_pem = issuer.cert_pem;
  leaf.issuer_key_pem = issuer.key_pem;
  return Cert(leaf);
}

std::vector<std::string> Rules(const x509::Identity& id, const Policy& p = Policy::Default(),
                               const Where& w = {}) {
  std::vector<std::string> out;
  for (const auto& f : CheckIdentity(id, w, p, Now())) out.push_back(f.rule);
  return out;
}

bool Has(const std::vector<std::string>& v, const std::string& r) {
  return std::find(v.begin(), v.end(), r) != v.end();
}

TEST(Rules, GoodIssuedLeafHasNoFindings) {
  auto rules = Rules(Issued(Good()));
  EXPECT_TRUE(rules.empty()) << rules.front();
}

TEST(Rules, ExpiryWindows) {
  CertSpec s = Good();
  s.not_before = Now() - 10 * kDay;
  s.not_after = Now() - kDay;
  EXPECT_TRUE(Has(Rules(Issued(s)), "cert-expired"));
  s.not_after = Now() + 3 * kDay;
  EXPECT_TRUE(Has(Rules(Issued(s)), "cert-expiring-critical"));
  s.not_after = Now() + 20 * kDay;
  auto r = Rules(Issued(s));
  EXPECT_TRUE(Has(r, "cert-expiring-soon"));
  EXPECT_FALSE(Has(r, "cert-expiring-critical"));
  s.not_after = Now() + 60 * kDay;
  EXPECT_TRUE(Rules(Issued(s)).empty());
  s.not_before = Now() + kDay;
  EXPECT_TRUE(Has(Rules(Issued(s)), "cert-not-yet-valid"));
}

TEST(Rules, KeySizesAndDsa) {
  auto id = Issued(Good());
  EXPECT_FALSE(Has(Rules(id), "key-ec-too-small"));
  id.key.type = x509::KeyType::kRsa;
  id.key.bits = 1024;
  EXPECT_TRUE(Has(Rules(id), "key-rsa-too-small"));
  CertSpec rsa = Good();
  rsa.key = "rsa";
  EXPECT_FALSE(Has(Rules(Issued(rsa)), "key-rsa-too-small"));
  id.key.type = x509::KeyType::kEc;
  id.key.bits = 224;
  EXPECT_TRUE(Has(Rules(id), "key-ec-too-small"));
  id.key.type = x509::KeyType::kDsa;
  EXPECT_TRUE(Has(Rules(id), "key-dsa"));
}

TEST(Rules, WeakSignaturesButNotOnSelfSignedRoots) {
  auto id = Issued(Good());
  EXPECT_FALSE(Has(Rules(id), "sig-sha1"));
  id.cert->signature_algorithm = "sha1WithRSAEncryption";
  EXPECT_TRUE(Has(Rules(id), "sig-sha1"));
  id.cert->signature_algorithm = "md5WithRSAEncryption";
  EXPECT_TRUE(Has(Rules(id), "sig-md5"));
  CertSpec root;
  root.ca = true;
  auto r = Cert(root);
  r.cert->signature_algorithm = "sha1WithRSAEncryption";
  EXPECT_FALSE(Has(Rules(r), "sig-sha1"));
}

TEST(Rules, ValidityTooLongIsAParameter) {
  CertSpec s = Good();
  s.not_after = Now() + 500 * kDay;
  EXPECT_TRUE(Has(Rules(Issued(s)), "validity-too-long"));
  Policy p = Policy::Default();
  p.max_validity_days = 825;
  EXPECT_FALSE(Has(Rules(Issued(s), p), "validity-too-long"));
}

TEST(Rules, SanMissingAndCnNotInSan) {
  CertSpec s = Good();
  s.san = "";
  EXPECT_TRUE(Has(Rules(Issued(s)), "san-missing"));
  s.san = "DNS:other.example";
  auto r = Rules(Issued(s));
  EXPECT_TRUE(Has(r, "cn-not-in-san"));
  EXPECT_FALSE(Has(r, "san-missing"));
}

TEST(Rules, WildcardOnlyWhenEnabledAndInScope) {
  CertSpec s = Good();
  s.cn = "*.example";
  s.san = "DNS:*.example";
  auto id = Issued(s);
  EXPECT_FALSE(Has(Rules(id), "wildcard-forbidden"));  // off by default
  Policy p = Policy::Default();
  p.rules[12].second.enabled = true;
  ASSERT_EQ(p.rules[12].first, "wildcard-forbidden");
  p.rules[12].second.scope.locations = {"/srv/payments/*"};
  EXPECT_TRUE(Has(Rules(id, p, {"/srv/payments/tls.pem", -1}), "wildcard-forbidden"));
  EXPECT_FALSE(Has(Rules(id, p, {"/srv/www/tls.pem", -1}), "wildcard-forbidden"));
}

TEST(Rules, SelfSignedLeaf) {
  EXPECT_TRUE(Has(Rules(Cert(Good())), "leaf-self-signed"));
  EXPECT_FALSE(Has(Rules(Issued(Good())), "leaf-self-signed"));
}

TEST(Rules, IssuerAllowList) {
  Policy p = Policy::Default();
  p.issuer_allow = {"CN=Approved CA"};
  EXPECT_TRUE(Has(Rules(Issued(Good()), p), "issuer-not-allowed"));
  p.issuer_allow = {"CN=Test CA"};
  EXPECT_FALSE(Has(Rules(Issued(Good()), p), "issuer-not-allowed"));
}

TEST(Rules, PrivateKeys) {
  auto ck = MakeCertificate(Good());
  auto key = Parse(ck.key_pem, x509::Kind::kPrivateKey);
  auto r = Rules(key, Policy::Default(), {"/etc/ssl/private/k.pem", 0600});
  EXPECT_TRUE(Has(r, "private-key-unencrypted"));
  EXPECT_FALSE(Has(r, "private-key-exposed"));
  EXPECT_TRUE(Has(Rules(key, Policy::Default(), {"/tmp/k.pem", 0644}), "private-key-exposed"));
  key.private_key->encrypted = true;
  EXPECT_FALSE(Has(Rules(key, Policy::Default(), {"/etc/ssl/private/k.pem", 0600}), "private-key-unencrypted"));
}

TEST(Rules, CodeSigningOutsideApprovedLocations) {
  CertSpec s = Good();
  s.eku = "codeSigning";
  auto id = Issued(s);
  Policy p = Policy::Default();
  p.code_signing_locations = {"/opt/hsm-export/*"};
  EXPECT_TRUE(Has(Rules(id, p, {"/home/dev/sign.pem", -1}), "code-signing-outside-approved"));
  EXPECT_FALSE(Has(Rules(id, p, {"/opt/hsm-export/sign.pem", -1}), "code-signing-outside-approved"));
  EXPECT_FALSE(Has(Rules(Issued(Good()), p, {"/home/dev/tls.pem", -1}), "code-signing-outside-approved"));
}

TEST(Rules, Rfc5280Structure) {
  auto id = Issued(Good());
  id.cert->serial_hex = "-01";
  EXPECT_TRUE(Has(Rules(id), "rfc5280-serial"));
  id.cert->serial_hex = "00";
  EXPECT_TRUE(Has(Rules(id), "rfc5280-serial"));
  id.cert->serial_hex = std::string(40, 'F');  // 20 octets + a leading 0x00 = 21
  EXPECT_TRUE(Has(Rules(id), "rfc5280-serial"));
  id.cert->serial_hex = "7" + std::string(39, 'F');  // exactly 20
  EXPECT_FALSE(Has(Rules(id), "rfc5280-serial"));

  EXPECT_FALSE(Has(Rules(id), "rfc5280-aki-missing"));
  id.cert->aki_hex.clear();
  EXPECT_TRUE(Has(Rules(id), "rfc5280-aki-missing"));

  CertSpec ca;
  ca.ca = true;
  auto root = Cert(ca);
  EXPECT_FALSE(Has(Rules(root), "rfc5280-ca-key-usage"));
  root.cert->has_key_usage = true;
  root.cert->key_usage = x509::kKuDigitalSignature;
  EXPECT_TRUE(Has(Rules(root), "rfc5280-ca-key-usage"));
  auto leaf = Issued(Good());
  leaf.cert->has_key_usage = true;
  leaf.cert->key_usage = x509::kKuKeyCertSign;
  EXPECT_TRUE(Has(Rules(leaf), "rfc5280-ca-key-usage"));
}

TEST(Rules, InventoryRulesSpkiReuseAndOrphanKeys) {
  auto a = MakeCertificate(Good());
  auto cert = Parse(a.cert_pem);
  auto key = Parse(a.key_pem, x509::Kind::kPrivateKey);
  auto orphan = Parse(MakeCertificate(Good()).key_pem, x509::Kind::kPrivateKey);
  auto twin = cert;
  twin.fingerprint = "ff" + twin.fingerprint.substr(2);
  std::vector<x509::Identity> ids = {cert, key, orphan, twin};
  std::vector<Where> wheres(4);
  auto f = CheckInventory(ids, wheres, Policy::Default(), Now());
  int reused = 0, orphans = 0;
  for (const auto& x : f) {
    reused += x.rule == "spki-reused";
    if (x.rule == "private-key-without-certificate") {
      ++orphans;
      EXPECT_EQ(x.fingerprint, orphan.fingerprint);
    }
  }
  EXPECT_EQ(reused, 2);
  EXPECT_EQ(orphans, 1);
}

TEST(Rules, NoOwnerOnlyOnceOwnersExist) {
  auto a = Parse(MakeCertificate(Good()).cert_pem);
  auto b = Parse(MakeCertificate(Good()).cert_pem);
  std::vector<x509::Identity> ids = {a, b};
  std::vector<Where> wheres(2);
  auto count = [&](const std::map<std::string, std::string>* owners) {
    auto f = CheckInventory(ids, wheres, Policy::Default(), Now(), owners);
    return std::count_if(f.begin(), f.end(), [](const Finding& x) { return x.rule == "no-owner"; });
  };
  const std::map<std::string, std::string> none;
  EXPECT_EQ(count(nullptr), 0);
  EXPECT_EQ(count(&none), 0);  // nobody assigned owners yet: not judged
  const std::map<std::string, std::string> some = {{a.fingerprint, "p001"}};
  auto f = CheckInventory(ids, wheres, Policy::Default(), Now(), &some);
  auto it = std::find_if(f.begin(), f.end(), [](const Finding& x) { return x.rule == "no-owner"; });
  ASSERT_NE(it, f.end());
  EXPECT_EQ(it->fingerprint, b.fingerprint);
  EXPECT_EQ(count(&some), 1);
}

// What a caller streaming the inventory gets: the findings CheckInventory gives for the
// identities in the listed order, with scopes judged at the place given to Add.
TEST(Rules, InventoryCheckerFollowsTheListedOrderAndScopes) {
  auto a = MakeCertificate(Good());
  auto cert = Parse(a.cert_pem);
  auto twin = cert;
  twin.fingerprint = "ff" + twin.fingerprint.substr(2);
  auto third = cert;
  third.fingerprint = "aa" + third.fingerprint.substr(2);
  auto orphan = Parse(MakeCertificate(Good()).key_pem, x509::Kind::kPrivateKey);
  const std::vector<x509::Identity> added = {cert, twin, orphan, third};
  const std::vector<Where> places = {
      {"/etc/a.pem", -1}, {"/srv/b.pem", -1}, {"/k/o.key", 0600}, {"/etc/c.pem", -1}};
  Policy p = Policy::Default();
  for (auto& [id, rc] : p.rules)
    if (id == "spki-reused") rc.scope.locations = {"/etc/*"};
  const std::map<std::string, std::string> owners = {{cert.fingerprint, "p001"}};

  InventoryChecker checker(p, Now());
  for (std::size_t i = 0; i < added.size(); ++i) checker.Add(added[i], places[i]);
  EXPECT_EQ(checker.size(), 4u);
  const std::vector<std::uint32_t> order = {3, 2, 1, 0};
  auto streamed = checker.Finish(&owners, order);

  std::vector<x509::Identity> listed;
  std::vector<Where> listed_places;
  for (std::uint32_t i : order) {
    listed.push_back(added[i]);
    listed_places.push_back(places[i]);
  }
  auto whole = CheckInventory(listed, listed_places, p, Now(), &owners);
  ASSERT_EQ(streamed.size(), whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(streamed[i].rule, whole[i].rule) << i;
    EXPECT_EQ(streamed[i].fingerprint, whole[i].fingerprint) << i;
    EXPECT_EQ(streamed[i].location, whole[i].location) << i;
    EXPECT_EQ(streamed[i].evidence, whole[i].evidence) << i;
    EXPECT_EQ(streamed[i].severity, whole[i].severity) << i;
  }
  // The twin at /srv is out of the rule's scope; the other two come in listed order.
  std::vector<std::string> reused;
  for (const auto& x : streamed)
    if (x.rule == "spki-reused") {
      reused.push_back(x.location);
      EXPECT_NE(x.evidence.find("is in 3 certificates"), std::string::npos) << x.evidence;
    }
  EXPECT_EQ(reused, (std::vector<std::string>{"/etc/c.pem", "/etc/a.pem"}));
  // The added order when no order is given.
  auto in_added_order = checker.Finish(&owners);
  std::vector<std::string> reused_added;
  for (const auto& x : in_added_order)
    if (x.rule == "spki-reused") reused_added.push_back(x.location);
  EXPECT_EQ(reused_added, (std::vector<std::string>{"/etc/a.pem", "/etc/c.pem"}));
}

TEST(Exceptions, AcceptedRiskIsShownUntilItsDate) {
  auto id = Cert(Good());
  Policy p = Policy::Default();
  p.exceptions.push_back({id.fingerprint.substr(0, 16), "leaf-self-signed", Now() + kDay, "alice", "lab box"});
  auto f = CheckIdentity(id, {}, p, Now());
  auto it = std::find_if(f.begin(), f.end(), [](const Finding& x) { return x.rule == "leaf-self-signed"; });
  ASSERT_NE(it, f.end());
  ASSERT_TRUE(it->accepted.has_value());
  EXPECT_EQ(it->accepted->by, "alice");
  f = CheckIdentity(id, {}, p, Now() + 2 * kDay);  // expired acceptance
  it = std::find_if(f.begin(), f.end(), [](const Finding& x) { return x.rule == "leaf-self-signed"; });
  ASSERT_NE(it, f.end());
  EXPECT_FALSE(it->accepted.has_value());
}

TEST(PolicyFile, DefaultRoundTrips) {
  auto p = ParsePolicy(DefaultPolicyToml(), "<default>");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  const Policy d = Policy::Default();
  ASSERT_EQ(p->rules.size(), d.rules.size());
  for (std::size_t i = 0; i < d.rules.size(); ++i) {
    EXPECT_EQ(p->rules[i].second.enabled, d.rules[i].second.enabled);
    EXPECT_EQ(p->rules[i].second.severity, d.rules[i].second.severity);
  }
  EXPECT_EQ(p->expiry_warning, d.expiry_warning);
}

TEST(PolicyFile, SettingsRulesScopesExceptions) {
  auto p = ParsePolicy(R"(
[settings]
expiry_warning = "45d"
max_validity_days = 200
issuer_allow = ["CN=Corp CA"]
[rules.sig-sha1]
severity = "critical"
scope = { locations = ["/etc/*"], kind = "certificate" }
[rules.wildcard-forbidden]
enabled = true
[[exceptions]]
fingerprint = "0123456789abcdef"
rule = "sig-sha1"
until = 2027-01-31
by = "bob"
reason = "vendor appliance"
)", "p.toml");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->expiry_warning, 45 * kDay);
  EXPECT_EQ(p->max_validity_days, 200);
  EXPECT_EQ(p->Rule("sig-sha1")->severity, RuleSeverity::kCritical);
  EXPECT_EQ(p->Rule("sig-sha1")->scope.locations.size(), 1u);
  EXPECT_TRUE(p->Rule("wildcard-forbidden")->enabled);
  ASSERT_EQ(p->exceptions.size(), 1u);
  EXPECT_EQ(p->exceptions[0].until, DaysFromCivil(2027, 1, 31) * kDay);
}

TEST(PolicyFile, ErrorsNameFileLineAndColumn) {
  auto err = [](const std::string& text) {
    auto p = ParsePolicy(text, "p.toml");
    EXPECT_FALSE(p.has_value()) << text;
    return p ? std::string() : p.error().message;
  };
  EXPECT_EQ(err("[settings]\nbogus = 1\n").substr(0, 11), "p.toml:2:1:");
  EXPECT_NE(err("[rules.no-such-rule]\nenabled = true\n").find("p.toml:1:8: unknown rule 'no-such-rule'"),
            std::string::npos);
  EXPECT_NE(err("[rules.sig-sha1]\nseverity = \"urgent\"\n").find("p.toml:2:"), std::string::npos);
  EXPECT_NE(err("[rules.sig-sha1]\nenabled = \"yes\"\n").find("must be true or false"), std::string::npos);
  EXPECT_NE(err("[settings]\nexpiry_warning = \"soon\"\n").find("p.toml:2:"), std::string::npos);
  EXPECT_NE(err("[[exceptions]]\nfingerprint = \"ab\"\n").find("at least 16"), std::string::npos);
  EXPECT_NE(err("[settings\n").find("p.toml:1:"), std::string::npos);
}

}  // namespace
}  // namespace mica::policy
