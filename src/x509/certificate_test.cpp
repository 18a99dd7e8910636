// Unit tests of the fast certificate decoder, on certificates built at test time with
// OpenSSL's API (exact times, serials and names), each also checked against the OpenSSL
// reference reading.
#include "x509/certificate.h"

#include <gtest/gtest.h>

#include <openssl/ec.h>
#include <openssl/rsa.h>

#include <string>
#include <vector>

#include "x509/internal/openssl.h"
#include "x509/internal/reference.h"

namespace mica::x509 {
namespace {

using internal::EvpPkeyPtr;
using internal::X509Ptr;

using ExtensionPtr = internal::Ptr<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1IntegerPtr = internal::Ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using PkeyCtxPtr = internal::Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

EvpPkeyPtr MakeKey(const char* kind) {
  std::string k = kind;
  if (k == "rsa2048") return EvpPkeyPtr(EVP_RSA_gen(2048));
  if (k == "p256") return EvpPkeyPtr(EVP_EC_gen("P-256"));
  if (k == "p384") return EvpPkeyPtr(EVP_EC_gen("P-384"));
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, kind));  // "ED25519", "ED448", ...
}

struct NameField {
  const char* field;
  std::string value;
  bool same_rdn = false;  // joins the previous RDN (multi-valued RDN)
  int type = MBSTRING_UTF8;
};

struct CertSpec {
  std::vector<NameField> subject = {{"CN", "leaf.example"}, {"O", "Example"}};
  std::vector<NameField> issuer;  // empty: same as subject (self-issued)
  long serial = 4660;
  bool serial_set = true;
  const char* not_before = "20240101000000Z";
  const char* not_after = "20300101120000Z";
  std::vector<std::pair<int, std::string>> extensions;
  const char* key = "rsa2048";
  EVP_PKEY* signing_key = nullptr;  // default: its own key
};

void AddName(X509_NAME* name, const std::vector<NameField>& fields) {
  for (const auto& f : fields) {
    ASSERT_EQ(1, X509_NAME_add_entry_by_txt(name, f.field, f.type,
                                            reinterpret_cast<const unsigned char*>(f.value.data()),
                                            static_cast<int>(f.value.size()), -1,
                                            f.same_rdn ? -1 : 0))
        << f.field;
  }
}

Bytes Build(const CertSpec& spec) {
  EvpPkeyPtr key = MakeKey(spec.key);
  EXPECT_TRUE(key);
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  if (spec.serial_set) ASN1_INTEGER_set(X509_get_serialNumber(x.get()), spec.serial);
  ASN1_TIME_set_string_X509(X509_getm_notBefore(x.get()), spec.not_before);
  ASN1_TIME_set_string_X509(X509_getm_notAfter(x.get()), spec.not_after);
  AddName(X509_get_subject_name(x.get()), spec.subject);
  AddName(X509_get_issuer_name(x.get()), spec.issuer.empty() ? spec.subject : spec.issuer);
  X509_set_pubkey(x.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    EXPECT_TRUE(ext) << OBJ_nid2sn(nid) << " " << internal::DrainErrors();
    if (ext) X509_add_ext(x.get(), ext.get(), -1);
  }
  EVP_PKEY* signer = spec.signing_key ? spec.signing_key : key.get();
  const bool raw = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ||
                   EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED448;
  EXPECT_GT(X509_sign(x.get(), signer, raw ? nullptr : EVP_sha256()), 0) << internal::DrainErrors();
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

using PoliciesPtr = internal::Ptr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>;

// "DER:<hex>" of a certificatePolicies value (the textual form needs a config database);
// the last policy carries a CPS pointer qualifier.
std::string PoliciesDer(const std::vector<std::string>& oids) {
  PoliciesPtr policies(sk_POLICYINFO_new_null());
  for (size_t i = 0; i < oids.size(); ++i) {
    POLICYINFO* pi = POLICYINFO_new();
    pi->policyid = OBJ_txt2obj(oids[i].c_str(), 1);
    if (i + 1 == oids.size()) {
      POLICYQUALINFO* q = POLICYQUALINFO_new();
      q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
      q->d.cpsuri = ASN1_IA5STRING_new();
      ASN1_STRING_set(q->d.cpsuri, "https://cps.example", -1);
      pi->qualifiers = sk_POLICYQUALINFO_new_null();
      sk_POLICYQUALINFO_push(pi->qualifiers, q);
    }
    sk_POLICYINFO_push(policies.get(), pi);
  }
  unsigned char* der = nullptr;
  const int len = i2d_CERTIFICATEPOLICIES(policies.get(), &der);
  std::string out = "DER:" + ToHex(ByteView(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  return out;
}

// Decodes with both decoders, expects both to succeed and agree on the fields the tests
// look at; returns the fast decoder's reading.
Identity DecodeBoth(const Bytes& der) {
  auto fast = DecodeCertificate(der);
  auto ref = internal::DecodeCertificateWithOpenSsl(der);
  EXPECT_TRUE(fast) << (fast ? "" : fast.error().message);
  EXPECT_TRUE(ref) << (ref ? "" : ref.error().message);
  if (!fast || !ref) return Identity{};
  const CertificateInfo& a = *fast->cert;
  const CertificateInfo& b = *ref->cert;
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.issuer, b.issuer);
  EXPECT_EQ(a.subject_parts.cn, b.subject_parts.cn);
  EXPECT_EQ(a.serial_hex, b.serial_hex);
  EXPECT_EQ(a.not_before, b.not_before);
  EXPECT_EQ(a.not_after, b.not_after);
  EXPECT_EQ(a.san_dns, b.san_dns);
  EXPECT_EQ(a.san_ip, b.san_ip);
  EXPECT_EQ(a.san_email, b.san_email);
  EXPECT_EQ(a.san_uri, b.san_uri);
  EXPECT_EQ(a.eku, b.eku);
  EXPECT_EQ(a.policy_oids, b.policy_oids);
  EXPECT_EQ(a.self_issued, b.self_issued);
  EXPECT_EQ(a.self_signed, b.self_signed);
  EXPECT_EQ(fast->key.type, ref->key.type);
  EXPECT_EQ(fast->key.bits, ref->key.bits);
  EXPECT_EQ(fast->key.curve, ref->key.curve);
  EXPECT_EQ(fast->key.spki_sha256, ref->key.spki_sha256);
  return *fast;
}

TEST(CertificateTest, DecodesEveryFieldOfAnRsaCertificateWithAllExtensions) {
  CertSpec spec;
  spec.extensions = {
      {NID_subject_alt_name,
       "DNS:leaf.example,DNS:*.leaf.example,IP:192.0.2.7,IP:2001:db8:0:0:0:0:0:1,"
       "email:ops@leaf.example,URI:https://leaf.example/id"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment,decipherOnly"},
      {NID_ext_key_usage, "serverAuth,codeSigning,1.3.6.1.4.1.311.10.3.13"},
      {NID_basic_constraints, "critical,CA:TRUE,pathlen:3"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
      {NID_info_access, "OCSP;URI:http://ocsp.example,caIssuers;URI:http://ca.example/ca.crt"},
      {NID_crl_distribution_points, "URI:http://crl.example/a.crl,URI:ldap://crl.example/b"},
      {NID_certificate_policies, PoliciesDer({"2.23.140.1.2.2", "1.3.6.1.4.1.99999.1"})},
  };
  const Bytes der = Build(spec);
  const Identity id = DecodeBoth(der);
  ASSERT_TRUE(id.cert);
  const CertificateInfo& c = *id.cert;
  EXPECT_EQ(id.kind, Kind::kCertificate);
  EXPECT_EQ(id.der, der);
  EXPECT_EQ(id.fingerprint, Sha256Hex(der));
  EXPECT_EQ(c.sha1_hex, ToHex(Sha1(der)));
  EXPECT_EQ(c.version, 3);
  EXPECT_EQ(c.subject, "O=Example,CN=leaf.example");
  EXPECT_EQ(c.subject_parts.cn, "leaf.example");
  EXPECT_EQ(c.subject_parts.o, "Example");
  EXPECT_EQ(c.serial_hex, "1234");
  EXPECT_EQ(c.not_before, 1704067200);  // 2024-01-01T00:00:00Z
  EXPECT_EQ(c.not_after, 1893499200);   // 2030-01-01T12:00:00Z
  EXPECT_EQ(c.signature_algorithm, "sha256WithRSAEncryption");
  EXPECT_EQ(c.san_dns, (std::vector<std::string>{"leaf.example", "*.leaf.example"}));
  EXPECT_EQ(c.san_ip, (std::vector<std::string>{"192.0.2.7", "2001:db8::1"}));
  EXPECT_EQ(c.san_email, std::vector<std::string>{"ops@leaf.example"});
  EXPECT_EQ(c.san_uri, std::vector<std::string>{"https://leaf.example/id"});
  EXPECT_TRUE(c.has_key_usage);
  EXPECT_EQ(c.key_usage, kKuDigitalSignature | kKuKeyEncipherment | kKuDecipherOnly);
  EXPECT_EQ(c.eku, (std::vector<std::string>{"server_auth", "code_signing", "1.3.6.1.4.1.311.10.3.13"}));
  EXPECT_TRUE(c.has_basic_constraints);
  EXPECT_TRUE(c.is_ca);
  EXPECT_EQ(c.path_len, 3);
  EXPECT_EQ(c.ski_hex.size(), 40u);
  EXPECT_EQ(c.aki_hex, c.ski_hex);
  EXPECT_EQ(c.ocsp_urls, std::vector<std::string>{"http://ocsp.example"});
  EXPECT_EQ(c.ca_issuer_urls, std::vector<std::string>{"http://ca.example/ca.crt"});
  EXPECT_EQ(c.crl_urls, (std::vector<std::string>{"http://crl.example/a.crl", "ldap://crl.example/b"}));
  EXPECT_EQ(c.policy_oids, (std::vector<std::string>{"2.23.140.1.2.2", "1.3.6.1.4.1.99999.1"}));
  EXPECT_EQ(c.sct_count, 0);
  EXPECT_TRUE(c.self_issued);
  EXPECT_TRUE(c.self_signed);
  EXPECT_EQ(id.key.type, KeyType::kRsa);
  EXPECT_EQ(id.key.bits, 2048);
  EXPECT_EQ(id.key.curve, "");
}

TEST(CertificateTest, ReadsEcAndEdwardsKeys) {
  struct Case {
    const char* key;
    KeyType type;
    int bits;
    const char* curve;
    const char* sig;
  };
  for (const Case& k : {Case{"p256", KeyType::kEc, 256, "prime256v1", "ecdsa-with-SHA256"},
                        Case{"p384", KeyType::kEc, 384, "secp384r1", "ecdsa-with-SHA256"},
                        Case{"ED25519", KeyType::kEd25519, 256, "", "ED25519"},
                        Case{"ED448", KeyType::kEd448, 456, "", "ED448"}}) {
    SCOPED_TRACE(k.key);
    CertSpec spec;
    spec.key = k.key;
    const Identity id = DecodeBoth(Build(spec));
    ASSERT_TRUE(id.cert);
    EXPECT_EQ(id.key.type, k.type);
    EXPECT_EQ(id.key.bits, k.bits);
    EXPECT_EQ(id.key.curve, k.curve);
    EXPECT_EQ(id.cert->signature_algorithm, k.sig);
    EXPECT_TRUE(id.cert->self_signed);
  }
}

TEST(CertificateTest, DecodeSpkiAgreesWithOpenSslForEveryKeyType) {
  for (const char* kind : {"rsa2048", "p256", "p384", "ED25519", "ED448", "X25519", "X448"}) {
    SCOPED_TRACE(kind);
    EvpPkeyPtr key = MakeKey(kind);
    ASSERT_TRUE(key);
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key.get(), &der);
    ASSERT_GT(len, 0);
    const Bytes spki(der, der + len);
    OPENSSL_free(der);
    auto fast = DecodeSpki(spki);
    auto ref = internal::DecodeSpkiWithOpenSsl(spki);
    ASSERT_TRUE(fast) << fast.error().message;
    ASSERT_TRUE(ref) << ref.error().message;
    EXPECT_EQ(fast->type, ref->type);
    EXPECT_NE(fast->type, KeyType::kUnknown);
    EXPECT_EQ(fast->bits, ref->bits);
    EXPECT_EQ(fast->curve, ref->curve);
    EXPECT_EQ(fast->spki_sha256, Sha256Hex(spki));
  }
}

TEST(CertificateTest, UsesGeneralizedTimeFrom2050AndUtcTimeBefore) {
  CertSpec spec;
  spec.not_before = "19700101000001Z";  // UTCTime 700101000001Z: YY >= 50 is 19YY
  spec.not_after = "20510601000000Z";   // GeneralizedTime (RFC 5280 4.1.2.5)
  const Bytes der = Build(spec);
  const Identity id = DecodeBoth(der);
  ASSERT_TRUE(id.cert);
  EXPECT_EQ(id.cert->not_before, 1);
  EXPECT_EQ(id.cert->not_after, 2569190400);  // 2051-06-01T00:00:00Z
}

TEST(CertificateTest, PrintsZeroAndNegativeSerialsAsOpenSsl) {
  for (long serial : {0L, -1L, -256L, 255L}) {
    SCOPED_TRACE(serial);
    CertSpec spec;
    spec.key = "p256";
    spec.serial = serial;
    const Identity id = DecodeBoth(Build(spec));
    ASSERT_TRUE(id.cert);
  }
  CertSpec spec;
  spec.key = "p256";
  spec.serial = -256;
  EXPECT_EQ(DecodeBoth(Build(spec)).cert->serial_hex, "-0100");
  spec.serial = 0;
  EXPECT_EQ(DecodeBoth(Build(spec)).cert->serial_hex, "0");
  spec.serial = 255;
  EXPECT_EQ(DecodeBoth(Build(spec)).cert->serial_hex, "FF");
}

TEST(CertificateTest, EscapesNamesLikeRfc4514AndKeepsUtf8) {
  CertSpec spec;
  spec.subject = {
      {"C", "DE"},
      {"O", "Bäckerei \"Müller\", Köln+Söhne <x>;y\\z"},
      {"OU", "#lead and trail "},
      {"OU", " space", true},  // multi-valued RDN: OU=#lead...+OU=\ space
      {"CN", "日本語 テスト"},
      {"emailAddress", "a@b.example"},
      {"1.3.6.1.4.1.99999.7", "unknown attribute"},
      {"L", std::string("tab\there\x01", 10)},
      {"ST", "#"},
      {"street", " "},
  };
  spec.issuer = {{"CN", "Issuer"}};
  const Identity id = DecodeBoth(Build(spec));
  ASSERT_TRUE(id.cert);
  const std::string& s = id.cert->subject;
  EXPECT_NE(s.find("O=Bäckerei \\\"Müller\\\"\\, Köln\\+Söhne \\<x\\>\\;y\\\\z"), std::string::npos) << s;
  // The members of a multi-valued RDN are sorted by their DER (X.690 11.6), so " space"
  // comes first in the encoding and last in the reversed string.
  EXPECT_NE(s.find("OU=\\#lead and trail\\ +OU=\\ space"), std::string::npos) << s;
  EXPECT_NE(s.find("CN=日本語 テスト"), std::string::npos) << s;
  EXPECT_NE(s.find("1.3.6.1.4.1.99999.7=#0C11"), std::string::npos) << s;
  EXPECT_NE(s.find("L=tab\\09here\\01"), std::string::npos) << s;
  EXPECT_EQ(s.rfind("street=\\ ,ST=#,", 0), 0u) << s;
  EXPECT_EQ(id.cert->subject_parts.o, "Bäckerei \"Müller\", Köln+Söhne <x>;y\\z");
  EXPECT_EQ(id.cert->subject_parts.ou, " space");
  EXPECT_EQ(id.cert->subject_parts.c, "DE");
  EXPECT_FALSE(id.cert->self_issued);
  EXPECT_FALSE(id.cert->self_signed);
}

TEST(CertificateTest, EscapesEveryAsciiCharacterExactlyAsOpenSsl) {
  std::vector<std::string> values = {" x ", "#", " ", "a#", "\\", "##", "  "};
  for (int c = 1; c < 128; c += 40) {
    std::string chunk;
    for (int k = c; k < std::min(c + 40, 128); ++k) chunk += static_cast<char>(k);
    values.push_back(chunk);
  }
  for (const std::string& v : values) {
    SCOPED_TRACE(v);
    CertSpec spec;
    spec.key = "p256";
    spec.subject = {{"CN", v}};
    const Identity id = DecodeBoth(Build(spec));  // compares subject with OpenSSL's
    ASSERT_TRUE(id.cert);
  }
}

TEST(CertificateTest, ConvertsBmpUniversalAndTeletexStringsToUtf8) {
  CertSpec spec;
  // "Zürich" in each encoding OpenSSL names: BMPString, UniversalString, T61String (Latin-1).
  spec.subject = {{"CN", std::string("\0Z\0\xfc\0r\0i\0c\0h", 12), false, MBSTRING_BMP},
                  {"O", std::string("\0\0\0Z\0\0\0\xfc", 8), false, MBSTRING_UNIV},
                  {"L", "Z\xfcrich", false, V_ASN1_T61STRING}};
  spec.issuer = {{"CN", "i"}};
  const Identity id = DecodeBoth(Build(spec));
  ASSERT_TRUE(id.cert);
  EXPECT_EQ(id.cert->subject_parts.cn, "Zürich");
  EXPECT_EQ(id.cert->subject_parts.o, "Zü");
  EXPECT_EQ(id.cert->subject, "L=Zürich,O=Zü,CN=Zürich");
}

TEST(CertificateTest, SelfIssuedComparesNamesCaseAndSpaceInsensitively) {
  // RFC 5280 7.1 (and X509_NAME_cmp): "Example  CA" and "example ca" match.
  CertSpec spec;
  spec.subject = {{"CN", "Example  CA"}};
  spec.issuer = {{"CN", "example ca"}};
  const Identity id = DecodeBoth(Build(spec));
  ASSERT_TRUE(id.cert);
  EXPECT_TRUE(id.cert->self_issued);
  EXPECT_TRUE(id.cert->self_signed);  // same key signed it
}

TEST(CertificateTest, SelfIssuedButSignedByAnotherKeyIsNotSelfSigned) {
  EvpPkeyPtr other = MakeKey("p256");
  CertSpec spec;
  spec.key = "p256";
  spec.signing_key = other.get();
  const Identity id = DecodeBoth(Build(spec));
  ASSERT_TRUE(id.cert);
  EXPECT_TRUE(id.cert->self_issued);
  EXPECT_FALSE(id.cert->self_signed);
}

TEST(CertificateTest, SelfSignedVerdictIsRememberedPerCertificateNotPerName) {
  // The decoder remembers each self-issued certificate's verdict by its fingerprint: a
  // root decoded again keeps its verdict, and a look-alike with the same names but
  // signed by another key (a different certificate) is judged on its own.
  CertSpec spec;
  spec.subject = spec.issuer = {{"CN", "Look-alike Root"}};
  spec.key = "p256";
  const Bytes genuine = Build(spec);
  EvpPkeyPtr other = MakeKey("p256");
  spec.signing_key = other.get();
  const Bytes forged = Build(spec);
  for (int round = 0; round < 2; ++round) {
    auto a = DecodeCertificate(genuine);
    auto b = DecodeCertificate(forged);
    ASSERT_TRUE(a && a->cert && b && b->cert);
    EXPECT_TRUE(a->cert->self_signed) << "round " << round;
    EXPECT_TRUE(b->cert->self_issued);
    EXPECT_FALSE(b->cert->self_signed) << "round " << round;
  }
}

TEST(CertificateTest, CountsEmbeddedScts) {
  // RFC 6962 3.3: two SCTs (v1, sha256/ecdsa, 4-byte signatures) in a TLS list.
  std::string sct(1 + 32 + 8 + 2, '\0');
  sct += std::string("\x04\x03\x00\x04sign", 8);
  std::string list;
  for (int i = 0; i < 2; ++i) {
    list += static_cast<char>(sct.size() >> 8);
    list += static_cast<char>(sct.size() & 0xff);
    list += sct;
  }
  std::string payload;
  payload += static_cast<char>(list.size() >> 8);
  payload += static_cast<char>(list.size() & 0xff);
  payload += list;
  std::string hex;
  for (unsigned char c : payload) {
    static const char* d = "0123456789ABCDEF";
    hex += d[c >> 4];
    hex += d[c & 15];
  }
  CertSpec spec;
  spec.key = "p256";
  // The extension value is an OCTET STRING holding the list (DER:04 <len> ...).
  std::string der_hex = "DER:04" + std::string(payload.size() < 128 ? "" : "81");
  const char* d = "0123456789ABCDEF";
  der_hex += d[payload.size() >> 4 & 15];
  der_hex += d[payload.size() & 15];
  der_hex += hex;
  spec.extensions = {{NID_ct_precert_scts, der_hex}};
  const Identity id = DecodeBoth(Build(spec));
  ASSERT_TRUE(id.cert);
  EXPECT_EQ(id.cert->sct_count, 2);
}

// --- rejections -------------------------------------------------------------------

Bytes SmallCert() {
  CertSpec spec;
  spec.key = "p256";
  spec.extensions = {{NID_basic_constraints, "CA:FALSE"}};
  return Build(spec);
}

void ExpectRejected(const Bytes& der, const std::string& reason) {
  auto r = DecodeCertificate(der);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInput);
  EXPECT_NE(r.error().message.find(reason), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("offset"), std::string::npos) << r.error().message;
}

TEST(CertificateTest, RejectsTruncatedDer) {
  const Bytes der = SmallCert();
  ExpectRejected(Bytes(der.begin(), der.end() - 1), "truncated");
  ExpectRejected(Bytes(der.begin(), der.begin() + 1), "truncated");
  EXPECT_FALSE(DecodeCertificate(Bytes{}));
}

TEST(CertificateTest, RejectsTrailingGarbage) {
  Bytes der = SmallCert();
  der.push_back(0x00);
  ExpectRejected(der, "trailing bytes");
}

TEST(CertificateTest, RejectsWrongOuterTag) {
  Bytes der = SmallCert();
  der[0] = 0x31;
  ExpectRejected(der, "bad tag for Certificate");
}

TEST(CertificateTest, RejectsBadAndIndefiniteLengths) {
  Bytes der = SmallCert();
  ASSERT_EQ(der[1], 0x82);  // a few hundred bytes: two length octets
  Bytes longer = der;
  longer[3] = static_cast<std::uint8_t>(longer[3] + 1);
  ExpectRejected(longer, "truncated");
  Bytes indefinite = der;
  indefinite[1] = 0x80;
  ExpectRejected(indefinite, "indefinite length");
  Bytes non_minimal = {0x30, 0x81, 0x03, 0x02, 0x01, 0x00};
  ExpectRejected(non_minimal, "non-minimal length");
}

TEST(CertificateTest, RejectsDuplicatedExtension) {
  CertSpec spec;
  spec.key = "p256";
  spec.extensions = {{NID_key_usage, "digitalSignature"}, {NID_key_usage, "keyCertSign"}};
  const Bytes der = Build(spec);
  ExpectRejected(der, "duplicate extension 2.5.29.15");
  EXPECT_FALSE(internal::DecodeCertificateWithOpenSsl(der));
}

TEST(CertificateTest, RejectsDeeplyNestedGarbageWithoutRecursing) {
  Bytes der;
  for (int i = 0; i < 100; ++i) {
    der.insert(der.begin(), {0x30, 0x00});
  }
  EXPECT_FALSE(DecodeCertificate(der));
  Bytes nested(2 * 60, 0);
  for (size_t i = 0; i < 60; ++i) {
    nested[2 * i] = 0x30;
    nested[2 * i + 1] = static_cast<std::uint8_t>(2 * (60 - i - 1));
  }
  EXPECT_FALSE(DecodeCertificate(nested));
}

}  // namespace
}  // namespace mica::x509
