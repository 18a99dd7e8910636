// Chain validation: unit cases on generated chains, and the agreement rate over the
// BoringSSL verify-chain cases and NIST PKITS (../shared/data/chain-validation). The
// corpus tests print every disagreement and fail when the rate drops below the one
// measured and explained in docs/POLICY.md.
#include "x509/verify.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "x509/internal/openssl.h"

namespace mica::x509 {
namespace {

namespace fs = std::filesystem;
using mica::testing::CertSpec;
using mica::testing::MakeCertificate;

Bytes FileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes Der(const std::string& pem) {
  auto v = ReadCertificates(ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()));
  EXPECT_TRUE(v.has_value());
  return v && !v->empty() ? v->front() : Bytes{};
}

struct Chain {
  mica::testing::CertAndKey root, inter, leaf;
};

Chain MakeChain(const std::string& leaf_san = "DNS:www.example", const std::string& eku = "serverAuth",
                long long leaf_not_after = 0) {
  Chain c;
  CertSpec root;
  root.cn = "Root";
  root.ca = true;
  c.root = MakeCertificate(root);
  CertSpec inter = root;
  inter.cn = "Inter";
  inter.issuer_cert_pem = c.root.cert_pem;
  inter.issuer_key_pem = c.root.key_pem;
  c.inter = MakeCertificate(inter);
  CertSpec leaf;
  leaf.cn = "www.example";
  leaf.not_after = leaf_not_after;
  leaf.eku = eku;
  leaf.san = leaf_san;
  leaf.issuer_cert_pem = c.inter.cert_pem;
  leaf.issuer_key_pem = c.inter.key_pem;
  c.leaf = MakeCertificate(leaf);
  return c;
}

TEST(Verify, GoodChainVerifiesAndListsIt) {
  Chain c = MakeChain();
  VerifyOptions o;
  o.system_roots = false;
  o.roots = {Der(c.root.cert_pem)};
  o.untrusted = {Der(c.inter.cert_pem)};
  o.purpose = VerifyPurpose::kServer;
  o.host = "www.example";
  auto r = VerifyChain(Der(c.leaf.cert_pem), o);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << r->error;
  ASSERT_EQ(r->chain.size(), 3u);
  EXPECT_EQ(r->chain[0], Sha256Hex(Der(c.leaf.cert_pem)));
  EXPECT_EQ(r->chain[2], Sha256Hex(Der(c.root.cert_pem)));
}

TEST(Verify, MissingIntermediateNamesDepth) {
  Chain c = MakeChain();
  VerifyOptions o;
  o.system_roots = false;
  o.roots = {Der(c.root.cert_pem)};
  auto r = VerifyChain(Der(c.leaf.cert_pem), o);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->error_code, "unable_to_get_issuer_cert_locally");
  EXPECT_EQ(r->error_depth, 0);
}

TEST(Verify, HostMismatchPurposeMismatchAndTime) {
  Chain c = MakeChain("DNS:www.example", "clientAuth");
  VerifyOptions o;
  o.system_roots = false;
  o.roots = {Der(c.root.cert_pem)};
  o.untrusted = {Der(c.inter.cert_pem)};
  o.host = "other.example";
  auto r = VerifyChain(Der(c.leaf.cert_pem), o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error_code, "hostname_mismatch");
  o.host.clear();
  o.purpose = VerifyPurpose::kServer;
  r = VerifyChain(Der(c.leaf.cert_pem), o);
  EXPECT_EQ(r->error_code, "invalid_purpose");
  o.purpose = VerifyPurpose::kCodeSigning;
  r = VerifyChain(Der(c.leaf.cert_pem), o);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->error_code, "invalid_purpose");
  o.purpose = VerifyPurpose::kClient;
  o.at = 4102444800;  // 2100-01-01: after every generated notAfter
  r = VerifyChain(Der(c.leaf.cert_pem), o);
  EXPECT_EQ(r->error_code, "cert_has_expired");
}

TEST(Verify, BadInputIsAnErrorNotACrash) {
  const Bytes junk = {0x30, 0x03, 0x02, 0x01};
  auto r = VerifyChain(junk, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("leaf"), std::string::npos);
  const std::string pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(ReadCertificates(ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size())));
  VerifyOptions o;
  o.ip = "not-an-ip";
  EXPECT_FALSE(VerifyChain(Der(MakeCertificate(CertSpec{}).cert_pem), o));
}

// --- mica's semantics over OpenSSL (EKU modes, anchors, policies, profile) --------------

// Certificates with arbitrary extensions ("name", "value" in openssl.cnf syntax), built
// at test time. Valid 2020-2030; evaluated at 2025-01-01.
struct Cert {
  internal::X509Ptr x509;
  internal::EvpPkeyPtr key;
  Bytes der;
};
constexpr UnixSeconds kAt = 1735689600;  // 2025-01-01

using Exts = std::vector<std::pair<std::string, std::string>>;

Cert Issue(const std::string& cn, const Exts& exts, const Cert* issuer, const EVP_MD* md = EVP_sha256(),
           long long not_after = 1893456000 /* 2030-01-01 */) {
  Cert c;
  c.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  c.x509.reset(X509_new());
  X509* x = c.x509.get();
  X509_set_version(x, X509_VERSION_3);
  static long serial = 5000;
  ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->x509.get()) : X509_get_subject_name(x));
  ASN1_TIME_set(X509_getm_notBefore(x), 1577836800);  // 2020-01-01
  ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(not_after));
  X509_set_pubkey(x, c.key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer->x509.get() : x, x, nullptr, nullptr, 0);
  for (const auto& [name, value] : exts) {
    internal::Ptr<X509_EXTENSION, X509_EXTENSION_free> ext(
        X509V3_EXT_nconf(nullptr, &ctx, name.c_str(), value.c_str()));
    EXPECT_TRUE(ext) << name << "=" << value;
    if (ext) X509_add_ext(x, ext.get(), -1);
  }
  EXPECT_GT(X509_sign(x, issuer ? issuer->key.get() : c.key.get(), md), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  c.der.assign(der, der + len);
  OPENSSL_free(der);
  return c;
}

const Exts kCa = {{"basicConstraints", "critical,CA:TRUE"}, {"keyUsage", "critical,keyCertSign,cRLSign"},
                  {"subjectKeyIdentifier", "hash"}, {"authorityKeyIdentifier", "keyid"}};

Exts With(Exts base, const Exts& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

Exts Leaf(const Exts& more = {}) {
  return With({{"basicConstraints", "CA:FALSE"}, {"authorityKeyIdentifier", "keyid"}}, more);
}

// Verifies leaf <- inter <- root with root as the only anchor.
VerifyResult RunChain(const Cert& leaf, const Cert& inter, const Cert& root, VerifyOptions o) {
  o.system_roots = false;
  o.at = kAt;
  o.roots = {root.der};
  o.untrusted = {inter.der};
  auto r = VerifyChain(leaf.der, o);
  EXPECT_TRUE(r.has_value());
  return r ? *r : VerifyResult{};
}

VerifyOptions Purpose(VerifyPurpose p, EkuMode m = EkuMode::kLenient) {
  VerifyOptions o;
  o.purpose = p;
  o.eku_mode = m;
  return o;
}

TEST(VerifyEku, LenientTakesALeafWithoutEkuOrWithAnyEkuStrictLeafDoesNot) {
  const Cert root = Issue("Root", kCa, nullptr), inter = Issue("Inter", kCa, &root);
  const Cert none = Issue("none", Leaf(), &inter);
  const Cert any = Issue("any", Leaf({{"extendedKeyUsage", "anyExtendedKeyUsage"}}), &inter);
  const Cert client = Issue("client", Leaf({{"extendedKeyUsage", "clientAuth"}}), &inter);
  EXPECT_TRUE(RunChain(none, inter, root, Purpose(VerifyPurpose::kServer)).ok);
  EXPECT_TRUE(RunChain(any, inter, root, Purpose(VerifyPurpose::kServer)).ok);
  EXPECT_EQ(RunChain(client, inter, root, Purpose(VerifyPurpose::kServer)).error_code, "invalid_purpose");
  for (const Cert* leaf : {&none, &any}) {
    const VerifyResult r = RunChain(*leaf, inter, root, Purpose(VerifyPurpose::kServer, EkuMode::kStrictLeaf));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error_code, "invalid_purpose");
    EXPECT_EQ(r.error_depth, 0);
  }
}

TEST(VerifyEku, StrictLeafRefusesACaLeafAndCodeSigningBesideServerAuth) {
  const Cert root = Issue("Root", kCa, nullptr), inter = Issue("Inter", kCa, &root);
  const Cert ca_leaf = Issue("ca", With(kCa, {{"extendedKeyUsage", "serverAuth"}}), &inter);
  const Cert many = Issue("many", Leaf({{"extendedKeyUsage", "serverAuth,codeSigning"}}), &inter);
  for (const Cert* leaf : {&ca_leaf, &many}) {
    EXPECT_TRUE(RunChain(*leaf, inter, root, Purpose(VerifyPurpose::kServer)).ok);
    EXPECT_FALSE(RunChain(*leaf, inter, root, Purpose(VerifyPurpose::kServer, EkuMode::kStrictLeaf)).ok);
  }
}

TEST(VerifyEku, IntermediateEkuBindsTheAnchorsOnlyWhenItsConstraintsCount) {
  const Cert root = Issue("Root", kCa, nullptr);
  const Cert client_inter = Issue("Inter", With(kCa, {{"extendedKeyUsage", "clientAuth"}}), &root);
  const Cert leaf = Issue("leaf", Leaf({{"extendedKeyUsage", "serverAuth"}}), &client_inter);
  VerifyResult r = RunChain(leaf, client_inter, root, Purpose(VerifyPurpose::kServer));
  EXPECT_EQ(r.error_code, "invalid_purpose");
  EXPECT_EQ(r.error_depth, 1);
  // anyExtendedKeyUsage on a CA passes lenient, not strict.
  const Cert any_inter = Issue("Inter", With(kCa, {{"extendedKeyUsage", "anyExtendedKeyUsage"}}), &root);
  const Cert leaf2 = Issue("leaf", Leaf({{"extendedKeyUsage", "serverAuth"}}), &any_inter);
  EXPECT_TRUE(RunChain(leaf2, any_inter, root, Purpose(VerifyPurpose::kServer)).ok);
  EXPECT_FALSE(RunChain(leaf2, any_inter, root, Purpose(VerifyPurpose::kServer, EkuMode::kStrict)).ok);
  // The anchor's EKU: checked by default, not for a name-and-key anchor.
  const Cert client_root = Issue("Root", With(kCa, {{"extendedKeyUsage", "clientAuth"}}), nullptr);
  const Cert inter = Issue("Inter", kCa, &client_root);
  const Cert leaf3 = Issue("leaf", Leaf({{"extendedKeyUsage", "serverAuth"}}), &inter);
  r = RunChain(leaf3, inter, client_root, Purpose(VerifyPurpose::kServer));
  EXPECT_EQ(r.error_code, "invalid_purpose");
  EXPECT_EQ(r.error_depth, 2);
  VerifyOptions o = Purpose(VerifyPurpose::kServer);
  o.anchor.constraints = false;
  EXPECT_TRUE(RunChain(leaf3, inter, client_root, o).ok);
}

TEST(VerifyEku, StrictClientAuthWantsTheIssuerDedicatedToIt) {
  const Cert root = Issue("Root", kCa, nullptr), inter = Issue("Inter", kCa, &root);
  const Cert leaf = Issue("leaf", Leaf({{"extendedKeyUsage", "clientAuth"}}), &inter);
  EXPECT_TRUE(RunChain(leaf, inter, root, Purpose(VerifyPurpose::kClient, EkuMode::kStrictLeaf)).ok);
  const VerifyResult r = RunChain(leaf, inter, root, Purpose(VerifyPurpose::kClient, EkuMode::kStrict));
  EXPECT_EQ(r.error_code, "invalid_purpose");
  EXPECT_EQ(r.error_depth, 1);
  EXPECT_TRUE(RunChain(leaf, inter, root, Purpose(VerifyPurpose::kServer, EkuMode::kStrict)).ok == false);
}

TEST(VerifyAnchor, ExpiryAndBasicConstraintsCountOnlyWhereAsked) {
  const Cert expired_root = Issue("Root", kCa, nullptr, EVP_sha256(), 1704067200 /* 2024-01-01 */);
  const Cert inter = Issue("Inter", kCa, &expired_root);
  const Cert leaf = Issue("leaf", Leaf(), &inter);
  EXPECT_EQ(RunChain(leaf, inter, expired_root, {}).error_code, "cert_has_expired");
  VerifyOptions o;
  o.anchor.validity = false;
  EXPECT_TRUE(RunChain(leaf, inter, expired_root, o).ok);

  const Cert bare_root = Issue("Root", {{"keyUsage", "critical,keyCertSign"}, {"subjectKeyIdentifier", "hash"}}, nullptr);
  const Cert inter2 = Issue("Inter", kCa, &bare_root);
  const Cert leaf2 = Issue("leaf", Leaf(), &inter2);
  o = {};
  o.x509_strict = false;
  EXPECT_EQ(RunChain(leaf2, inter2, bare_root, o).error_code, "invalid_ca");  // required by default
  o.anchor.require_basic_constraints = false;
  EXPECT_TRUE(RunChain(leaf2, inter2, bare_root, o).ok);
  o = {};
  o.anchor.constraints = false;  // name and key: even X509_STRICT's complaints are moot
  EXPECT_TRUE(RunChain(leaf2, inter2, bare_root, o).ok);
}

TEST(VerifyPolicy, TheAnchorsPolicyConstraintsApplyWithItsConstraints) {
  const Cert root = Issue("Root", With(kCa, {{"policyConstraints", "critical,requireExplicitPolicy:0"}}), nullptr);
  const Cert inter = Issue("Inter", kCa, &root);
  const Cert leaf = Issue("leaf", Leaf(), &inter);
  const VerifyResult r = RunChain(leaf, inter, root, {});
  EXPECT_EQ(r.error_code, "no_explicit_policy");
  EXPECT_EQ(r.error_depth, 2);
  VerifyOptions o;
  o.anchor.constraints = false;
  EXPECT_TRUE(RunChain(leaf, inter, root, o).ok);
}

TEST(VerifyPolicy, InitialPolicySetAndExplicitPolicy) {
  const Cert root = Issue("Root", kCa, nullptr);
  const Cert inter = Issue("Inter", With(kCa, {{"certificatePolicies", "DER:3007300506032A0304"}}), &root);
  const Cert leaf = Issue("leaf", Leaf({{"certificatePolicies", "DER:3007300506032A0304"}}), &inter);
  VerifyOptions o;
  o.explicit_policy = true;
  EXPECT_TRUE(RunChain(leaf, inter, root, o).ok);  // anyPolicy is the default initial set
  o.initial_policies = {"1.2.3.5"};
  EXPECT_EQ(RunChain(leaf, inter, root, o).error_code, "no_explicit_policy");
  o.initial_policies = {"1.2.3.4"};
  EXPECT_TRUE(RunChain(leaf, inter, root, o).ok);
  o.initial_policies = {"not-an-oid"};
  o.system_roots = false;
  EXPECT_FALSE(VerifyChain(leaf.der, o).has_value());
  // A CA requiring an explicit policy is honoured without any option (OpenSSL skips
  // policy processing unless asked). It has certificatePolicies too: OpenSSL 3.0 leaks the
  // decoded policyConstraints of a CA without them (pcy_cache.c), which LSan reports.
  const Cert inter2 = Issue("Inter", With(kCa, {{"policyConstraints", "critical,requireExplicitPolicy:0"},
                                                {"certificatePolicies", "DER:3007300506032A0304"}}),
                            &root);
  const Cert leaf2 = Issue("leaf", Leaf(), &inter2);
  EXPECT_EQ(RunChain(leaf2, inter2, root, {}).error_code, "no_explicit_policy");
}

TEST(VerifyPolicy, UnknownQualifierInACriticalPoliciesExtensionFails) {
  const Cert root = Issue("Root", kCa, nullptr), inter = Issue("Inter", kCa, &root);
  // certificatePolicies { 1.2.3.4 with qualifier 1.2.3.9 = UTF8String "x" }
  const std::string der = "DER:3013301106032A0304300A300806032A03090C0178";
  const Cert critical = Issue("leaf", Leaf({{"certificatePolicies", "critical," + der}}), &inter);
  const Cert plain = Issue("leaf", Leaf({{"certificatePolicies", der}}), &inter);
  const VerifyResult r = RunChain(critical, inter, root, {});
  EXPECT_EQ(r.error_code, "unhandled_critical_extension");
  EXPECT_EQ(r.error_depth, 0);
  EXPECT_TRUE(RunChain(plain, inter, root, {}).ok);
}

// Sets an environment variable for one scope and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The system anchors are the bundle file and the hashed directory (SSL_CERT_FILE and
// SSL_CERT_DIR override OpenSSL's defaults), and nothing else: a certificate in the
// directory under another name than its subject hash is not an anchor (core/system_trust.h).
TEST(VerifySystemRoots, BundleFileAndHashedDirectoryAreTheAnchors) {
  Chain c = MakeChain();
  mica::testing::TempDir dir;
  const std::string bundle = dir / "bundle.pem";
  const std::string hashed = dir / "hashed";
  const std::string unhashed = dir / "unhashed";
  fs::create_directories(hashed);
  fs::create_directories(unhashed);
  mica::testing::WriteFile(bundle, c.root.cert_pem);
  mica::testing::WriteFile(unhashed + "/root.pem", c.root.cert_pem);
  const Bytes root_der = Der(c.root.cert_pem);
  const unsigned char* p = root_der.data();
  internal::X509Ptr root(d2i_X509(nullptr, &p, static_cast<long>(root_der.size())));
  ASSERT_TRUE(root);
  char hash_name[16];
  std::snprintf(hash_name, sizeof hash_name, "%08lx.0", X509_subject_name_hash(root.get()));
  mica::testing::WriteFile(hashed + "/" + hash_name, c.root.cert_pem);

  VerifyOptions o;
  o.untrusted = {Der(c.inter.cert_pem)};
  o.purpose = VerifyPurpose::kServer;
  const Bytes leaf = Der(c.leaf.cert_pem);
  auto verifies = [&](const std::string& file, const std::string& dir_path, bool system) {
    ScopedEnv f("SSL_CERT_FILE", file), d("SSL_CERT_DIR", dir_path);
    o.system_roots = system;
    auto r = VerifyChain(leaf, o);
    EXPECT_TRUE(r.has_value());
    return r && r->ok;
  };
  EXPECT_TRUE(verifies(bundle, unhashed, true));
  EXPECT_TRUE(verifies(dir / "missing.pem", hashed, true));
  EXPECT_FALSE(verifies(dir / "missing.pem", unhashed, true));
  EXPECT_FALSE(verifies(bundle, hashed, false));
}

TEST(VerifyTrust, TrustedLeafMustBeSelfSignedWhenAsked) {
  const Cert root = Issue("Root", kCa, nullptr), inter = Issue("Inter", kCa, &root);
  const Cert issued = Issue("leaf", Leaf(), &inter);
  const Cert self = Issue("self", Leaf(), nullptr);
  VerifyOptions o;
  o.system_roots = false;
  o.at = kAt;
  o.leaf_is_trusted = true;
  EXPECT_TRUE(VerifyChain(issued.der, o)->ok);
  o.trusted_leaf_must_be_self_signed = true;
  const VerifyResult r = *VerifyChain(issued.der, o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_code, "cert_untrusted");
  EXPECT_TRUE(VerifyChain(self.der, o)->ok);
}

TEST(VerifyProfile, Sha1AndX509StrictAreOptions) {
  const Cert root = Issue("Root", kCa, nullptr), inter = Issue("Inter", kCa, &root);
  const Cert sha1 = Issue("leaf", Leaf(), &inter, EVP_sha1());
  EXPECT_EQ(RunChain(sha1, inter, root, {}).error_code, "ca_md_too_weak");
  VerifyOptions o;
  o.allow_sha1 = true;
  EXPECT_TRUE(RunChain(sha1, inter, root, o).ok);
  // basicConstraints not critical in a CA: an issuer rule (RFC 5280 4.2.1.9), not a path
  // validation step (6.1.4 (k)).
  const Cert loose = Issue("Inter", {{"basicConstraints", "CA:TRUE"}, {"keyUsage", "critical,keyCertSign"},
                                     {"subjectKeyIdentifier", "hash"}, {"authorityKeyIdentifier", "keyid"}},
                           &root);
  const Cert leaf = Issue("leaf", Leaf(), &loose);
  EXPECT_EQ(RunChain(leaf, loose, root, {}).error_code, "ca_bcons_not_critical");
  o = {};
  o.x509_strict = false;
  EXPECT_TRUE(RunChain(leaf, loose, root, o).ok);
}

TEST(VerifyProfile, MicrosoftApplicationPoliciesAreUnderstoodOnlyBesideAnEku) {
  const Cert root = Issue("Root", kCa, nullptr), inter = Issue("Inter", kCa, &root);
  const Exts ms = {{"1.3.6.1.4.1.311.21.10", "critical,DER:3000"}};
  const Cert with_eku = Issue("leaf", Leaf(With(ms, {{"extendedKeyUsage", "serverAuth"}})), &inter);
  const Cert without = Issue("leaf", Leaf(ms), &inter);
  EXPECT_TRUE(RunChain(with_eku, inter, root, Purpose(VerifyPurpose::kServer)).ok);
  EXPECT_EQ(RunChain(without, inter, root, Purpose(VerifyPurpose::kServer)).error_code, "unhandled_critical_extension");
}

// --- BoringSSL verify-chain ------------------------------------------------------------

std::optional<UnixSeconds> BoringTime(std::string t) {  // YYMMDDhhmmssZ
  // BoringSSL's test_helpers.cc: "DEFAULT" is 2021-10-05 12:00:00Z, inside the validity
  // of the generated certificates.
  if (t == "DEFAULT") t = "211005120000Z";
  if (t.size() != 13 || t[12] != 'Z') return std::nullopt;
  auto n = [&](int at) { return std::stoi(t.substr(at, 2)); };
  int yy = n(0);
  const int year = yy < 50 ? 2000 + yy : 1900 + yy;
  return DaysFromCivil(year, n(2), n(4)) * 86400 + n(6) * 3600 + n(8) * 60 + n(10);
}

TEST(VerifyCorpus, BoringSslVerifyChainAgreement) {
  const fs::path root = fs::path(mica::testing::SharedData()) / "chain-validation/boringssl-verify-chain";
  if (!fs::exists(root)) GTEST_SKIP() << "no " << root;
  int total = 0, agree = 0, agree_strict = 0;
  std::map<std::string, int> disagreement_by_trust;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".test") continue;
    std::ifstream in(e.path());
    std::map<std::string, std::string> kv;
    std::string line, errors;
    bool in_errors = false;
    while (std::getline(in, line)) {
      if (in_errors) {
        errors += line;
        continue;
      }
      if (line.starts_with("#")) continue;
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = line.substr(0, colon), value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      kv[key] = value;
      if (key == "expected_errors") in_errors = true;
    }
    // BoringSSL's test_helpers.cc: the chain is valid unless a high-severity error is
    // expected ("ERROR: ..."); "WARNING: ..." lines do not fail it.
    const bool expect_ok = errors.find("ERROR: ") == std::string::npos;
    auto certs = ReadCertificates(FileBytes(e.path().parent_path() / kv["chain"]));
    ASSERT_TRUE(certs.has_value()) << e.path() << ": " << certs.error().message;
    const std::string trust = kv["last_cert_trust"], purpose = kv["key_purpose"];
    VerifyOptions o;
    o.system_roots = false;
    o.partial_chain = true;  // BoringSSL anchors need not be self-signed
    o.at = BoringTime(kv["utc_time"]);
    // BoringSSL verifies paths, not certificate profiles: mica's RFC 5280 mode.
    o.x509_strict = false;
    // test_helpers.cc: digest_policy defaults to WEAK_ALLOW_SHA1; STRONG refuses SHA-1.
    o.allow_sha1 = kv["digest_policy"] != "STRONG";
    if (purpose.starts_with("SERVER_AUTH")) o.purpose = VerifyPurpose::kServer;
    if (purpose.starts_with("CLIENT_AUTH")) o.purpose = VerifyPurpose::kClient;
    if (purpose.ends_with("_STRICT")) o.eku_mode = EkuMode::kStrict;
    if (purpose.ends_with("_STRICT_LEAF")) o.eku_mode = EkuMode::kStrictLeaf;
    const auto& c = *certs;
    // last_cert_trust is the trust of the chain's last certificate. As a leaf it only
    // matters when that certificate is the target; as an anchor only when something
    // else is the target (a lone target that is only an anchor is no path in BoringSSL).
    const bool as_leaf = trust.starts_with("TRUSTED_LEAF") || trust == "TRUSTED_ANCHOR_OR_LEAF";
    const bool as_anchor = trust.starts_with("TRUSTED_ANCHOR");
    if (as_leaf && c.size() == 1) {
      o.leaf_is_trusted = true;  // BoringSSL still checks a trusted leaf's expiry and EKU
      o.trusted_leaf_must_be_self_signed = trust == "TRUSTED_LEAF_REQUIRE_SELF_SIGNED";
    } else if (as_anchor && c.size() > 1) {
      o.roots = {c.back()};
      // Plain TRUSTED_ANCHOR is RFC 5280's name-and-key anchor; the _WITH_* variants turn
      // on the anchor certificate's expiry and/or constraints.
      o.anchor.validity = trust.find("EXPIRATION") != std::string::npos;
      o.anchor.constraints = trust.find("WITH_CONSTRAINTS") != std::string::npos ||
                             trust.find("AND_CONSTRAINTS") != std::string::npos;
      o.anchor.require_basic_constraints = trust.find("REQUIRE_BASIC_CONSTRAINTS") != std::string::npos;
    }  // DISTRUSTED, UNSPECIFIED, or a trusted leaf that is not the target: no anchor
    for (std::size_t i = 1; i + 1 < c.size(); ++i) o.untrusted.push_back(c[i]);
    auto r = VerifyChain(c.front(), o);
    ++total;
    // The same case under `mica verify`'s profile defaults (X509_STRICT, no SHA-1).
    VerifyOptions strict_profile = o;
    strict_profile.x509_strict = true;
    strict_profile.allow_sha1 = false;
    auto strict = VerifyChain(c.front(), strict_profile);
    agree_strict += (strict && strict->ok) == expect_ok;
    const bool got_ok = r && r->ok;
    if (got_ok == expect_ok) {
      ++agree;
    } else {
      ++disagreement_by_trust[trust + " / " + purpose];
      std::cout << "DISAGREE " << fs::relative(e.path(), root).string() << ": expected "
                << (expect_ok ? "valid" : "invalid") << ", got "
                << (r ? (r->ok ? std::string("valid") : r->error_code + " at depth " + std::to_string(r->error_depth))
                      : "input error: " + r.error().message)
                << "\n";
    }
  }
  const double rate = total ? 100.0 * agree / total : 0;
  std::cout << "BoringSSL verify-chain: " << agree << "/" << total << " agree (" << rate
            << "%); with X509_STRICT and no SHA-1: " << agree_strict << "\n";
  for (const auto& [k, n] : disagreement_by_trust) std::cout << "  " << k << ": " << n << "\n";
  EXPECT_GE(total, 190);
  EXPECT_GE(agree, 189) << "agreement regressed (docs/POLICY.md records the measured rate)";
}

// --- NIST PKITS ----------------------------------------------------------------------------

// PKITS names its policies NIST-test-policy-N: 2.16.840.1.101.3.2.1.48.N.
std::vector<std::string> PkitsPolicies(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string name; std::getline(in, name, ',');) {
    if (name == "anyPolicy") out.push_back("2.5.29.32.0");
    else if (name.starts_with("NIST-test-policy-")) out.push_back("2.16.840.1.101.3.2.1.48." + name.substr(17));
  }
  return out;
}

// Both PKITS tests share this: `default_settings` picks the 177 cases without settings,
// or the 72 with some: an initial policy set / explicit policy / inhibit flag (inputs)
// and/or SetUserConstrainedPolicySet (an expected output mica does not report; only the
// validity is compared).
struct PkitsRun {
  int total = 0, agree = 0, agree_strict = 0;
};

PkitsRun RunPkits(const fs::path& root, bool default_settings) {
  std::ifstream in(root / "expectations.json");
  const auto doc = nlohmann::json::parse(in);
  PkitsRun run;
  for (const auto& t : doc["tests"]) {
    const auto& settings = t["settings"];
    if (settings.empty() != default_settings) continue;
    VerifyOptions o;
    o.system_roots = false;
    o.at = DaysFromCivil(2020, 1, 1) * 86400;  // every PKITS certificate is valid 2010-2030
    // PKITS tests RFC 5280 path validation: mica's RFC 5280 mode, and SHA-1 as the
    // suite's DSA certificates are signed with it.
    o.x509_strict = false;
    o.allow_sha1 = true;
    if (settings.contains("SetInitialPolicySet"))
      o.initial_policies = PkitsPolicies(settings["SetInitialPolicySet"].get<std::string>());
    o.explicit_policy = settings.value("SetInitialExplicitPolicy", "") == "true";
    o.inhibit_policy_mapping = settings.value("SetInitialPolicyMappingInhibit", "") == "true";
    o.inhibit_any_policy = settings.value("SetInitialInhibitAnyPolicy", "") == "true";
    std::vector<Bytes> certs;
    for (const auto& name : t["certs_root_first"])
      certs.push_back(FileBytes(root / "certs" / name.get<std::string>()));
    for (const auto& name : t["crls"]) o.crls.push_back(FileBytes(root / "crls" / name.get<std::string>()));
    o.roots = {certs.front()};
    for (std::size_t i = 1; i + 1 < certs.size(); ++i) o.untrusted.push_back(certs[i]);
    auto r = VerifyChain(certs.back(), o);
    ++run.total;
    const bool expect_ok = t["should_validate"].get<bool>();
    const bool got_ok = r && r->ok;
    if (got_ok == expect_ok) {
      ++run.agree;
    } else {
      std::cout << "DISAGREE " << t["name"].get<std::string>() << ": expected "
                << (expect_ok ? "valid" : "invalid") << ", got "
                << (r ? (r->ok ? std::string("valid") : r->error_code + " at depth " + std::to_string(r->error_depth))
                      : "input error: " + r.error().message)
                << "\n";
    }
    // The same case under `mica verify`'s defaults (X509_STRICT, no SHA-1): reported only.
    o.x509_strict = true;
    o.allow_sha1 = false;
    auto strict = VerifyChain(certs.back(), o);
    run.agree_strict += (strict && strict->ok) == expect_ok;
  }
  return run;
}

TEST(VerifyCorpus, NistPkitsDefaultSettingsAgreement) {
  const fs::path root = fs::path(mica::testing::SharedData()) / "chain-validation/nist-pkits";
  if (!fs::exists(root / "expectations.json")) GTEST_SKIP() << "no " << root;
  const PkitsRun run = RunPkits(root, true);
  std::cout << "NIST PKITS (default settings): " << run.agree << "/" << run.total << " agree ("
            << (run.total ? 100.0 * run.agree / run.total : 0) << "%); with X509_STRICT and no SHA-1: "
            << run.agree_strict << "\n";
  EXPECT_GE(run.total, 170);
  EXPECT_GE(run.agree, 170) << "agreement regressed (docs/POLICY.md records the measured rate)";
}

TEST(VerifyCorpus, NistPkitsPolicySettingsAgreement) {
  const fs::path root = fs::path(mica::testing::SharedData()) / "chain-validation/nist-pkits";
  if (!fs::exists(root / "expectations.json")) GTEST_SKIP() << "no " << root;
  const PkitsRun run = RunPkits(root, false);
  std::cout << "NIST PKITS (initial policy set / explicit / inhibit settings): " << run.agree << "/"
            << run.total << " agree (" << (run.total ? 100.0 * run.agree / run.total : 0)
            << "%); with X509_STRICT and no SHA-1: " << run.agree_strict << "\n";
  EXPECT_GE(run.total, 70);
  EXPECT_GE(run.agree, 72) << "agreement regressed (docs/POLICY.md records the measured rate)";
}

}  // namespace
}  // namespace mica::x509
