#include "x509/identity_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace mica::x509 {
namespace {

Identity FullCertificate() {
  Identity id;
  id.kind = Kind::kCertificate;
  id.fingerprint = "ab12cd";
  id.position = "pem:2";
  id.key = {KeyType::kEc, 256, "prime256v1", "5p1c"};
  auto& c = id.cert.emplace();
  c.version = 3;
  c.subject = "CN=www.example.com,O=Example";
  c.issuer = "CN=Example CA,O=Example,C=DE";
  c.subject_parts = {"www.example.com", "Example", "", ""};
  c.issuer_parts = {"Example CA", "Example", "Web", "DE"};
  c.serial_hex = "0A1B";
  c.not_before = 1700000000;
  c.not_after = 1800000000;
  c.san_dns = {"www.example.com", "example.com"};
  c.san_ip = {"192.0.2.1"};
  c.san_email = {"ops@example.com"};
  c.san_uri = {"spiffe://example/x"};
  c.signature_algorithm = "ecdsa-with-SHA256";
  c.has_key_usage = true;
  c.key_usage = kKuDigitalSignature | kKuKeyAgreement | kKuDecipherOnly;
  c.eku = {"server_auth", "1.2.3.4"};
  c.has_basic_constraints = true;
  c.is_ca = true;
  c.path_len = 0;
  c.ski_hex = "0102";
  c.aki_hex = "0304";
  c.ocsp_urls = {"http://ocsp.example"};
  c.ca_issuer_urls = {"http://ca.example/ca.crt"};
  c.crl_urls = {"http://ca.example/ca.crl"};
  c.sct_count = 2;
  c.policy_oids = {"2.23.140.1.2.1"};
  c.self_issued = true;
  c.self_signed = false;
  c.sha1_hex = "ff00";
  id.der = {0x30, 0x03, 0x02, 0x01, 0x01};
  return id;
}

void ExpectSameCertificate(const CertificateInfo& a, const CertificateInfo& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.issuer, b.issuer);
  for (auto [x, y] : {std::pair{&a.subject_parts, &b.subject_parts},
                      std::pair{&a.issuer_parts, &b.issuer_parts}}) {
    EXPECT_EQ(x->cn, y->cn);
    EXPECT_EQ(x->o, y->o);
    EXPECT_EQ(x->ou, y->ou);
    EXPECT_EQ(x->c, y->c);
  }
  EXPECT_EQ(a.serial_hex, b.serial_hex);
  EXPECT_EQ(a.not_before, b.not_before);
  EXPECT_EQ(a.not_after, b.not_after);
  EXPECT_EQ(a.san_dns, b.san_dns);
  EXPECT_EQ(a.san_ip, b.san_ip);
  EXPECT_EQ(a.san_email, b.san_email);
  EXPECT_EQ(a.san_uri, b.san_uri);
  EXPECT_EQ(a.signature_algorithm, b.signature_algorithm);
  EXPECT_EQ(a.has_key_usage, b.has_key_usage);
  EXPECT_EQ(a.key_usage, b.key_usage);
  EXPECT_EQ(a.eku, b.eku);
  EXPECT_EQ(a.has_basic_constraints, b.has_basic_constraints);
  EXPECT_EQ(a.is_ca, b.is_ca);
  EXPECT_EQ(a.path_len, b.path_len);
  EXPECT_EQ(a.ski_hex, b.ski_hex);
  EXPECT_EQ(a.aki_hex, b.aki_hex);
  EXPECT_EQ(a.ocsp_urls, b.ocsp_urls);
  EXPECT_EQ(a.ca_issuer_urls, b.ca_issuer_urls);
  EXPECT_EQ(a.crl_urls, b.crl_urls);
  EXPECT_EQ(a.sct_count, b.sct_count);
  EXPECT_EQ(a.policy_oids, b.policy_oids);
  EXPECT_EQ(a.self_issued, b.self_issued);
  EXPECT_EQ(a.self_signed, b.self_signed);
  EXPECT_EQ(a.sha1_hex, b.sha1_hex);
}

TEST(IdentityJsonTest, CertificateRoundTripsEveryField) {
  const Identity in = FullCertificate();
  auto out = IdentityFromJson(ToJson(in));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->kind, in.kind);
  EXPECT_EQ(out->fingerprint, in.fingerprint);
  EXPECT_EQ(out->position, in.position);
  EXPECT_EQ(out->key.type, in.key.type);
  EXPECT_EQ(out->key.bits, in.key.bits);
  EXPECT_EQ(out->key.curve, in.key.curve);
  EXPECT_EQ(out->key.spki_sha256, in.key.spki_sha256);
  ASSERT_TRUE(out->cert);
  ExpectSameCertificate(*out->cert, *in.cert);
  EXPECT_FALSE(out->private_key);
  EXPECT_FALSE(out->ssh);
  EXPECT_TRUE(out->der.empty()) << "the DER is not part of the JSON";
}

TEST(IdentityJsonTest, UsesStableSnakeCaseNamesAndRfc3339Times) {
  const nlohmann::json j = ToJson(FullCertificate());
  EXPECT_EQ(j["kind"], "certificate");
  EXPECT_EQ(j["key"]["type"], "ec");
  EXPECT_EQ(j["key"]["spki_sha256"], "5p1c");
  const auto& c = j["certificate"];
  EXPECT_EQ(c["not_before"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(c["subject_cn"], "www.example.com");
  EXPECT_EQ(c["issuer_cn"], "Example CA");
  EXPECT_EQ(c["serial"], "0A1B");
  EXPECT_EQ(c["sans"]["dns"][1], "example.com");
  EXPECT_EQ(c["key_usage"],
            nlohmann::json({"digital_signature", "key_agreement", "decipher_only"}));
  EXPECT_EQ(c["basic_constraints"]["ca"], true);
  EXPECT_EQ(c["basic_constraints"]["path_len"], 0);
  EXPECT_FALSE(j.contains("der"));
  EXPECT_FALSE(c.contains("der"));
}

TEST(IdentityJsonTest, AbsentExtensionsStayAbsent) {
  Identity in = FullCertificate();
  in.cert->has_key_usage = false;
  in.cert->key_usage = 0;
  in.cert->has_basic_constraints = false;
  in.cert->is_ca = false;
  in.cert->path_len = -1;
  const auto j = ToJson(in);
  EXPECT_TRUE(j["certificate"]["key_usage"].is_null());
  EXPECT_TRUE(j["certificate"]["basic_constraints"].is_null());
  auto out = IdentityFromJson(j);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_FALSE(out->cert->has_key_usage);
  EXPECT_FALSE(out->cert->has_basic_constraints);
  EXPECT_EQ(out->cert->path_len, -1);
}

TEST(IdentityJsonTest, EmptyKeyUsageIsDistinctFromAbsent) {
  Identity in = FullCertificate();
  in.cert->key_usage = 0;
  in.cert->path_len = -1;
  auto out = IdentityFromJson(ToJson(in));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(out->cert->has_key_usage);
  EXPECT_EQ(out->cert->key_usage, 0);
  EXPECT_TRUE(out->cert->has_basic_constraints);
  EXPECT_EQ(out->cert->path_len, -1);
}

TEST(IdentityJsonTest, PrivateKeyRoundTrips) {
  Identity in;
  in.kind = Kind::kPrivateKey;
  in.fingerprint = "blob:99";
  in.key = {KeyType::kRsa, 4096, "", ""};
  in.private_key = PrivateKeyInfo{"pkcs8_encrypted", true, "AES-256-CBC"};
  auto out = IdentityFromJson(ToJson(in));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->kind, Kind::kPrivateKey);
  EXPECT_EQ(out->fingerprint, "blob:99");
  EXPECT_EQ(out->key.bits, 4096);
  ASSERT_TRUE(out->private_key);
  EXPECT_EQ(out->private_key->format, "pkcs8_encrypted");
  EXPECT_TRUE(out->private_key->encrypted);
  EXPECT_EQ(out->private_key->cipher, "AES-256-CBC");
  EXPECT_FALSE(out->cert);
}

TEST(IdentityJsonTest, SshCertificateValidForeverRoundTrips) {
  Identity in;
  in.kind = Kind::kSshCertificate;
  in.fingerprint = "SHA256:abc+/def";
  in.key = {KeyType::kEd25519, 256, "", "aa"};
  auto& s = in.ssh.emplace();
  s.algorithm = "ssh-ed25519-cert-v01@openssh.com";
  s.comment = "me@host";
  s.options = "no-pty";
  s.serial = std::numeric_limits<std::uint64_t>::max();
  s.cert_type = "user";
  s.key_id = "alice";
  s.principals = {"alice", "root"};
  s.valid_after = 0;
  s.valid_before = std::numeric_limits<std::int64_t>::max();
  s.ca_fingerprint = "SHA256:ca";
  s.critical_options = {"force-command"};
  s.extensions = {"permit-pty"};
  const auto j = ToJson(in);
  EXPECT_EQ(j["ssh"]["valid_after"], "1970-01-01T00:00:00Z");
  EXPECT_TRUE(j["ssh"]["valid_before"].is_number_integer());
  auto out = IdentityFromJson(j);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE(out->ssh);
  EXPECT_EQ(out->ssh->serial, s.serial);
  EXPECT_EQ(out->ssh->valid_before, s.valid_before);
  EXPECT_EQ(out->ssh->valid_after, 0);
  EXPECT_EQ(out->ssh->principals, s.principals);
  EXPECT_EQ(out->ssh->critical_options, s.critical_options);
  EXPECT_EQ(out->ssh->extensions, s.extensions);
  EXPECT_EQ(out->ssh->options, "no-pty");
  EXPECT_EQ(out->ssh->comment, "me@host");
  EXPECT_EQ(out->ssh->ca_fingerprint, "SHA256:ca");
  EXPECT_EQ(out->ssh->cert_type, "user");
  EXPECT_EQ(out->ssh->key_id, "alice");
}

TEST(IdentityJsonTest, RejectsUnknownKindNamingIt) {
  auto out = IdentityFromJson({{"kind", "banana"}});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kInput);
  EXPECT_NE(out.error().message.find("banana"), std::string::npos);
}

TEST(IdentityJsonTest, RejectsWrongTypeNamingTheField) {
  nlohmann::json j = ToJson(FullCertificate());
  j["certificate"]["not_after"] = "yesterday";
  auto out = IdentityFromJson(j);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("certificate.not_after"), std::string::npos)
      << out.error().message;

  j = ToJson(FullCertificate());
  j["key"]["bits"] = "many";
  out = IdentityFromJson(j);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("key.bits"), std::string::npos) << out.error().message;

  j = ToJson(FullCertificate());
  j["certificate"]["key_usage"] = {"digital_signature", "fly"};
  out = IdentityFromJson(j);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("fly"), std::string::npos) << out.error().message;
}

TEST(IdentityJsonTest, RejectsNonObject) {
  EXPECT_FALSE(IdentityFromJson(nlohmann::json::array()));
  EXPECT_FALSE(IdentityFromJson(42));
}

TEST(IdentityJsonTest, KeyTypeFromNameInvertsKeyTypeName) {
  for (KeyType t : {KeyType::kUnknown, KeyType::kRsa, KeyType::kEc, KeyType::kEd25519,
                    KeyType::kEd448, KeyType::kDsa, KeyType::kX25519, KeyType::kX448})
    EXPECT_EQ(KeyTypeFromName(KeyTypeName(t)), t);
  EXPECT_FALSE(KeyTypeFromName("rsa2"));
}

}  // namespace
}  // namespace mica::x509
