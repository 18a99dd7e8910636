// ParseContent and Sniff over PEM, DER, PKCS#7 and PKCS#12 fixtures made at test time
// with the openssl CLI.
#include "x509/parse.h"

#include <gtest/gtest.h>

#include "fixtures.h"

namespace mica::x509 {
namespace {

using mica::testing::ReadFile;
using mica::testing::Shell;
using mica::testing::TempDir;
using mica::testing::WriteFile;

ParsedContent MustParse(const std::string& data, const ParseOptions& options = {}) {
  auto parsed = ParseContent(AsBytes(data), options);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : ParsedContent{};
}

const Identity* Find(const ParsedContent& p, Kind kind, int nth = 0) {
  for (const auto& id : p.identities) {
    if (id.kind == kind && nth-- == 0) return &id;
  }
  return nullptr;
}

// A self-signed RSA certificate and its key, in PEM, in a temp dir.
class ParseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = dir_ / "cert.pem";
    key_ = dir_ / "key.pem";
    mica::testing::MakeSelfSigned(cert_, key_, "parse.example", "rsa:2048");
    auto parsed = ParseContent(AsBytes(ReadFile(cert_)), {});
    ASSERT_TRUE(parsed.has_value());
    ASSERT_EQ(parsed->identities.size(), 1u);
    cert_id_ = parsed->identities[0];
  }
  int Sh(const std::string& cmd) { return Shell("cd " + dir_.path() + " && " + cmd + " 2>/dev/null"); }

  TempDir dir_;
  std::string cert_, key_;
  Identity cert_id_;
};

TEST(SniffTest, RecognisesFormatsByContent) {
  EXPECT_EQ(Sniff(AsBytes("\xFE\xED\xFE\xED\x00\x00\x00\x02")), Format::kJks);
  EXPECT_EQ(Sniff(AsBytes("\xCE\xCE\xCE\xCE\x00\x00\x00\x02")), Format::kJceks);
  EXPECT_EQ(Sniff(AsBytes("PuTTY-User-Key-File-3: ssh-ed25519\n")), Format::kPpk);
  EXPECT_EQ(Sniff(AsBytes("some notes\n-----BEGIN CERTIFICATE-----\n")), Format::kPem);
  EXPECT_EQ(Sniff(AsBytes("-----BEGIN OPENSSH PRIVATE KEY-----\n")), Format::kOpenSshPrivate);
  EXPECT_EQ(Sniff(AsBytes("# keys\n\nssh-ed25519 AAAAC3Nza me@host\n")), Format::kOpenSshPublic);
  EXPECT_EQ(Sniff(AsBytes("from=\"10.0.0.1\",no-pty ssh-rsa AAAAB3Nz x\n")), Format::kOpenSshPublic);
  EXPECT_EQ(Sniff(AsBytes("---- BEGIN SSH2 PUBLIC KEY ----\n")), Format::kOpenSshPublic);
}

TEST(SniffTest, RejectsTextAndBinariesThatAreNotIdentities) {
  EXPECT_EQ(Sniff(AsBytes("")), Format::kUnknown);
  EXPECT_EQ(Sniff(AsBytes("hello world\nssh-ed25519 is a key type\n")), Format::kUnknown);
  EXPECT_EQ(Sniff(AsBytes("\x7F" "ELF\x02\x01\x01")), Format::kUnknown);
  // SEQUENCE whose claimed length disagrees with the bytes present.
  const std::uint8_t bad_len[] = {0x30, 0x82, 0x00, 0x10, 0x30, 0x00};
  EXPECT_EQ(Sniff(bad_len), Format::kUnknown);
  // SEQUENCE holding a BOOLEAN: no certificate or key starts like that.
  Bytes odd = {0x30, 0x82, 0x01, 0x00, 0x01, 0x01, 0xFF};
  odd.resize(0x104);
  EXPECT_EQ(Sniff(odd), Format::kUnknown);
}

TEST_F(ParseTest, SniffsDerCertificateAndPkcs12) {
  ASSERT_EQ(Sh("openssl x509 -in cert.pem -outform DER -out cert.der"), 0);
  ASSERT_EQ(Sh("openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass: -out a.p12"), 0);
  EXPECT_EQ(Sniff(AsBytes(ReadFile(dir_ / "cert.der"))), Format::kDer);
  EXPECT_EQ(Sniff(AsBytes(ReadFile(dir_ / "a.p12"))), Format::kPkcs12);
}

TEST_F(ParseTest, PemWithTextBetweenBlocksKeepsGoodBlocksPastABadOne) {
  const std::string text = "Bag Attributes: junk\nsubject=CN = x\n" + ReadFile(cert_) +
                           "\nrandom words\n-----BEGIN CERTIFICATE-----\nMIIB!!notbase64$$\n"
                           "-----END CERTIFICATE-----\ntrailer\n" + ReadFile(key_) + "bye\n";
  ParsedContent p = MustParse(text);
  EXPECT_EQ(p.format, Format::kPem);
  ASSERT_EQ(p.identities.size(), 2u);
  EXPECT_EQ(p.identities[0].kind, Kind::kCertificate);
  EXPECT_EQ(p.identities[0].position, "pem:1");
  EXPECT_EQ(p.identities[1].kind, Kind::kPrivateKey);
  EXPECT_EQ(p.identities[1].position, "pem:3");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].position, "pem:2");
  EXPECT_EQ(p.issues[0].reason, "bad base64");
}

TEST_F(ParseTest, ClearPkcs8KeyLinksToItsCertificate) {
  ParsedContent p = MustParse(ReadFile(key_));
  ASSERT_EQ(p.identities.size(), 1u);
  const Identity& k = p.identities[0];
  EXPECT_EQ(k.kind, Kind::kPrivateKey);
  EXPECT_EQ(k.key.type, KeyType::kRsa);
  EXPECT_EQ(k.key.bits, 2048);
  ASSERT_TRUE(k.private_key);
  EXPECT_EQ(k.private_key->format, "pkcs8");
  EXPECT_FALSE(k.private_key->encrypted);
  EXPECT_EQ(k.fingerprint, k.key.spki_sha256);
  EXPECT_EQ(k.key.spki_sha256, cert_id_.key.spki_sha256);
}

TEST_F(ParseTest, EncryptedPkcs8RecordsItsPbes2Cipher) {
  ASSERT_EQ(Sh("openssl pkcs8 -topk8 -in key.pem -v2 aes-256-cbc -passout pass:secret -out enc.pem"), 0);
  ParsedContent p = MustParse(ReadFile(dir_ / "enc.pem"));
  ASSERT_EQ(p.identities.size(), 1u);
  const Identity& k = p.identities[0];
  EXPECT_EQ(k.kind, Kind::kPrivateKey);
  EXPECT_EQ(k.key.type, KeyType::kUnknown);
  EXPECT_TRUE(k.fingerprint.starts_with("blob:"));
  ASSERT_TRUE(k.private_key);
  EXPECT_EQ(k.private_key->format, "pkcs8_encrypted");
  EXPECT_TRUE(k.private_key->encrypted);
  EXPECT_EQ(k.private_key->cipher, "aes-256-cbc");
}

TEST_F(ParseTest, TraditionalKeysClearAndEncrypted) {
  ASSERT_EQ(Sh("openssl rsa -in key.pem -traditional -out rsa.pem"), 0);
  ASSERT_EQ(Sh("openssl rsa -in key.pem -traditional -aes128 -passout pass:pw -out rsa_enc.pem"), 0);
  ASSERT_EQ(Sh("openssl ecparam -name secp384r1 -genkey -out ec.pem"), 0);  // with EC PARAMETERS

  ParsedContent clear = MustParse(ReadFile(dir_ / "rsa.pem"));
  ASSERT_EQ(clear.identities.size(), 1u);
  EXPECT_EQ(clear.identities[0].private_key->format, "pkcs1");
  EXPECT_EQ(clear.identities[0].key.spki_sha256, cert_id_.key.spki_sha256);

  ParsedContent enc = MustParse(ReadFile(dir_ / "rsa_enc.pem"));
  ASSERT_EQ(enc.identities.size(), 1u);
  const Identity& e = enc.identities[0];
  EXPECT_EQ(e.key.type, KeyType::kRsa);
  EXPECT_TRUE(e.private_key->encrypted);
  EXPECT_EQ(e.private_key->cipher, "AES-128-CBC");
  EXPECT_TRUE(e.fingerprint.starts_with("blob:"));

  ParsedContent ec = MustParse(ReadFile(dir_ / "ec.pem"));
  EXPECT_TRUE(ec.issues.empty());
  ASSERT_EQ(ec.identities.size(), 1u);  // the EC PARAMETERS block is not an identity
  EXPECT_EQ(ec.identities[0].private_key->format, "sec1");
  EXPECT_EQ(ec.identities[0].key.curve, "secp384r1");
  EXPECT_EQ(ec.identities[0].key.bits, 384);
}

TEST_F(ParseTest, PublicKeysInSpkiAndPkcs1FormShareTheKeysSpki) {
  ASSERT_EQ(Sh("openssl pkey -in key.pem -pubout -out spki.pem"), 0);
  ASSERT_EQ(Sh("openssl rsa -in key.pem -RSAPublicKey_out -out pkcs1.pem"), 0);
  for (const char* name : {"spki.pem", "pkcs1.pem"}) {
    SCOPED_TRACE(name);
    ParsedContent p = MustParse(ReadFile(dir_ / name));
    ASSERT_EQ(p.identities.size(), 1u);
    EXPECT_EQ(p.identities[0].kind, Kind::kPublicKey);
    EXPECT_EQ(p.identities[0].key.bits, 2048);
    EXPECT_EQ(p.identities[0].key.spki_sha256, cert_id_.key.spki_sha256);
    EXPECT_EQ(p.identities[0].fingerprint, cert_id_.key.spki_sha256);
  }
}

TEST_F(ParseTest, TrustedCertificateDecodesTheLeadingCertificate) {
  ASSERT_EQ(Sh("openssl x509 -in cert.pem -trustout -addtrust serverAuth -out trusted.pem"), 0);
  const std::string text = ReadFile(dir_ / "trusted.pem");
  ASSERT_NE(text.find("BEGIN TRUSTED CERTIFICATE"), std::string::npos);
  ParsedContent p = MustParse(text);
  ASSERT_EQ(p.identities.size(), 1u);
  EXPECT_EQ(p.identities[0].fingerprint, cert_id_.fingerprint);
}

TEST_F(ParseTest, DerCertificateAndKeysAreDecidedByParsing) {
  ASSERT_EQ(Sh("openssl x509 -in cert.pem -outform DER -out cert.der"), 0);
  ASSERT_EQ(Sh("openssl pkey -in key.pem -outform DER -out key.der"), 0);
  ASSERT_EQ(Sh("openssl pkey -in key.pem -pubout -outform DER -out pub.der"), 0);
  ASSERT_EQ(Sh("openssl rsa -in key.pem -traditional -outform DER -out rsa.der"), 0);
  ParsedContent cert = MustParse(ReadFile(dir_ / "cert.der"));
  ASSERT_EQ(cert.identities.size(), 1u);
  EXPECT_EQ(cert.format, Format::kDer);
  EXPECT_EQ(cert.identities[0].position, "der");
  EXPECT_EQ(cert.identities[0].fingerprint, cert_id_.fingerprint);
  const std::pair<const char*, Kind> keys[] = {{"key.der", Kind::kPrivateKey},
                                               {"pub.der", Kind::kPublicKey},
                                               {"rsa.der", Kind::kPrivateKey}};
  for (const auto& [name, kind] : keys) {
    SCOPED_TRACE(name);
    ParsedContent p = MustParse(ReadFile(dir_ / name));
    ASSERT_EQ(p.identities.size(), 1u);
    EXPECT_EQ(p.identities[0].kind, kind);
    EXPECT_EQ(p.identities[0].key.spki_sha256, cert_id_.key.spki_sha256);
  }
}

TEST_F(ParseTest, ShortFormDerEd25519KeysAreSniffedAndParsed) {
  ASSERT_EQ(Sh("openssl genpkey -algorithm ed25519 -outform DER -out ed.der"), 0);
  ASSERT_EQ(Sh("openssl pkey -inform DER -in ed.der -pubout -outform DER -out edpub.der"), 0);
  const std::string priv = ReadFile(dir_ / "ed.der");
  const std::string pub = ReadFile(dir_ / "edpub.der");
  ASSERT_LT(priv.size(), 128u);  // short-form DER length
  EXPECT_EQ(Sniff(AsBytes(priv)), Format::kDer);
  EXPECT_EQ(Sniff(AsBytes(pub)), Format::kDer);
  ParsedContent k = MustParse(priv);
  ParsedContent p = MustParse(pub);
  ASSERT_EQ(k.identities.size(), 1u);
  ASSERT_EQ(p.identities.size(), 1u);
  EXPECT_EQ(k.identities[0].key.type, KeyType::kEd25519);
  EXPECT_EQ(k.identities[0].key.spki_sha256, p.identities[0].key.spki_sha256);
  EXPECT_EQ(p.identities[0].kind, Kind::kPublicKey);
}

TEST_F(ParseTest, Pkcs7ListsEveryCertificateInPemAndDer) {
  mica::testing::MakeSelfSigned(dir_ / "c2.pem", dir_ / "k2.pem", "second.example", "ed25519");
  ASSERT_EQ(Sh("openssl crl2pkcs7 -nocrl -certfile cert.pem -certfile c2.pem -out b.p7b"), 0);
  ASSERT_EQ(Sh("openssl crl2pkcs7 -nocrl -certfile cert.pem -certfile c2.pem -outform DER -out b.p7c"), 0);
  ParsedContent pem = MustParse(ReadFile(dir_ / "b.p7b"));
  ASSERT_EQ(pem.identities.size(), 2u);
  EXPECT_EQ(pem.identities[0].position, "pem:1/pkcs7:1");
  EXPECT_EQ(pem.identities[1].position, "pem:1/pkcs7:2");
  ParsedContent der = MustParse(ReadFile(dir_ / "b.p7c"));
  ASSERT_EQ(der.identities.size(), 2u);
  EXPECT_EQ(der.identities[0].position, "pkcs7:1");
  EXPECT_EQ(der.identities[1].key.type, KeyType::kEd25519);
  EXPECT_TRUE(Find(der, Kind::kCertificate)->fingerprint == cert_id_.fingerprint ||
              Find(der, Kind::kCertificate, 1)->fingerprint == cert_id_.fingerprint);
}

TEST_F(ParseTest, Pkcs12WithEmptyPasswordOpensUnencrypted) {
  ASSERT_EQ(Sh("openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass: -out a.p12"), 0);
  ParsedContent p = MustParse(ReadFile(dir_ / "a.p12"));
  EXPECT_EQ(p.format, Format::kPkcs12);
  EXPECT_TRUE(p.issues.empty());
  const Identity* cert = Find(p, Kind::kCertificate);
  const Identity* key = Find(p, Kind::kPrivateKey);
  ASSERT_TRUE(cert && key);
  EXPECT_EQ(cert->position, "pkcs12:cert:1");
  EXPECT_EQ(cert->fingerprint, cert_id_.fingerprint);
  EXPECT_EQ(key->key.spki_sha256, cert_id_.key.spki_sha256);
  EXPECT_EQ(key->private_key->format, "pkcs12_entry");
  EXPECT_FALSE(key->private_key->encrypted);
}

TEST_F(ParseTest, Pkcs12OpensWithAPasswordFromTheListIncludingLegacyCiphers) {
  ASSERT_EQ(Sh("openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:hunter2 -out a.p12"), 0);
  ASSERT_EQ(Sh("openssl pkcs12 -export -legacy -in cert.pem -inkey key.pem -passout pass:hunter2 -out old.p12"), 0);
  ParseOptions options;
  options.pkcs12_passwords = {"wrong", "hunter2"};
  for (const char* name : {"a.p12", "old.p12"}) {
    SCOPED_TRACE(name);
    ParsedContent p = MustParse(ReadFile(dir_ / name), options);
    const Identity* key = Find(p, Kind::kPrivateKey);
    ASSERT_NE(key, nullptr);
    EXPECT_TRUE(key->private_key->encrypted);
    EXPECT_EQ(key->key.spki_sha256, cert_id_.key.spki_sha256);
    ASSERT_NE(Find(p, Kind::kCertificate), nullptr);
  }
}

TEST_F(ParseTest, Pkcs12WithUnknownPasswordIsOneProtectedEntry) {
  ASSERT_EQ(Sh("openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:unguessable -out a.p12"), 0);
  const std::string data = ReadFile(dir_ / "a.p12");
  ParsedContent p = MustParse(data);
  ASSERT_EQ(p.identities.size(), 1u);
  EXPECT_EQ(p.identities[0].kind, Kind::kKeystoreEntry);
  EXPECT_EQ(p.identities[0].fingerprint, "blob:" + Sha256Hex(AsBytes(data)));
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].reason, "encrypted, not opened");
}

TEST_F(ParseTest, CertificateRequestIsSkippedWithoutIssue) {
  ASSERT_EQ(Sh("openssl req -new -key key.pem -subj /CN=csr -out req.pem"), 0);
  ParsedContent p = MustParse(ReadFile(dir_ / "req.pem"));
  EXPECT_TRUE(p.identities.empty());
  EXPECT_TRUE(p.issues.empty());
}

TEST_F(ParseTest, TruncatedAndGarbageInputsAreErrorsNotCrashes) {
  ASSERT_EQ(Sh("openssl x509 -in cert.pem -outform DER -out cert.der"), 0);
  ASSERT_EQ(Sh("openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass: -out a.p12"), 0);
  for (const char* name : {"cert.der", "a.p12"}) {
    const std::string full = ReadFile(dir_ / name);
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{4}, full.size() / 2,
                            full.size() - 1}) {
      SCOPED_TRACE(std::string(name) + " cut to " + std::to_string(len));
      auto p = ParseContent(AsBytes(std::string_view(full).substr(0, len)), {});
      if (p) {
        EXPECT_TRUE(p->identities.empty() || !p->issues.empty());
      } else {
        EXPECT_EQ(p.error().code, ErrorCode::kInput);
        EXPECT_FALSE(p.error().message.empty());
      }
    }
  }
  auto garbage = ParseContent(AsBytes("just some words\n"), {});
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInput);

  // A PEM block cut in the middle: reported, not hidden.
  const std::string pem = ReadFile(cert_);
  ParsedContent cut = MustParse(pem.substr(0, pem.size() / 2));
  EXPECT_TRUE(cut.identities.empty());
  ASSERT_EQ(cut.issues.size(), 1u);
  EXPECT_EQ(cut.issues[0].reason, "no END line");

  // Valid base64 of junk under every label.
  for (const char* label : {"CERTIFICATE", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY",
                            "PUBLIC KEY", "RSA PUBLIC KEY", "PKCS7", "OPENSSH PRIVATE KEY"}) {
    SCOPED_TRACE(label);
    ParsedContent p = MustParse(std::string("-----BEGIN ") + label + "-----\nMIIBCgKCAQEAq\n-----END " +
                                label + "-----\n");
    EXPECT_TRUE(p.identities.empty());
    ASSERT_EQ(p.issues.size(), 1u);
    EXPECT_EQ(p.issues[0].position, "pem:1");
  }
}

TEST(FormatNameTest, NamesAreStable) {
  EXPECT_STREQ(FormatName(Format::kPem), "pem");
  EXPECT_STREQ(FormatName(Format::kOpenSshPublic), "openssh_public");
  EXPECT_STREQ(FormatName(Format::kPkcs12), "pkcs12");
}

}  // namespace
}  // namespace mica::x509
