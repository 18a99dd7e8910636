#include "openssl_fields.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "core/unique_handle.h"

namespace mica::bench {
namespace {

using ::mica::Ptr;

void FreeOpenSslString(char* s) { OPENSSL_free(s); }
void FreeGeneralNames(GENERAL_NAMES* p) { GENERAL_NAMES_free(p); }
void FreeEku(EXTENDED_KEY_USAGE* p) { EXTENDED_KEY_USAGE_free(p); }
void FreeAia(AUTHORITY_INFO_ACCESS* p) { AUTHORITY_INFO_ACCESS_free(p); }
void FreeCrlDp(CRL_DIST_POINTS* p) { CRL_DIST_POINTS_free(p); }
void FreePolicies(CERTIFICATEPOLICIES* p) { CERTIFICATEPOLICIES_free(p); }
void FreeScts(STACK_OF(SCT) * p) { SCT_LIST_free(p); }

using X509Ptr = Ptr<X509, X509_free>;
using BioPtr = Ptr<BIO, BIO_free_all>;
using BignumPtr = Ptr<BIGNUM, BN_free>;
using OsslString = Ptr<char, FreeOpenSslString>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES, FreeGeneralNames>;
using EkuPtr = Ptr<EXTENDED_KEY_USAGE, FreeEku>;
using AiaPtr = Ptr<AUTHORITY_INFO_ACCESS, FreeAia>;
using CrlDpPtr = Ptr<CRL_DIST_POINTS, FreeCrlDp>;
using PoliciesPtr = Ptr<CERTIFICATEPOLICIES, FreePolicies>;
using SctsPtr = Ptr<STACK_OF(SCT), FreeScts>;

// RFC 4514 string with UTF-8 kept as UTF-8 (not \XX escaped).
std::string NameString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string FirstValue(const X509_NAME* name, int nid) {
  int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return {};
  // get0: the entry and its data belong to the name.
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

x509::NameParts Parts(const X509_NAME* name) {
  return {FirstValue(name, NID_commonName), FirstValue(name, NID_organizationName),
          FirstValue(name, NID_organizationalUnitName), FirstValue(name, NID_countryName)};
}

UnixSeconds TimeOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<UnixSeconds>(timegm(&tm));
}

std::string AsString(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string IpString(const ASN1_OCTET_STRING* ip) {
  const unsigned char* p = ASN1_STRING_get0_data(ip);
  char buf[64];
  if (ASN1_STRING_length(ip) == 4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    return buf;
  }
  return ToHex(ByteView(p, static_cast<size_t>(ASN1_STRING_length(ip))));
}

std::string OidText(const ASN1_OBJECT* oid) {
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, oid, 1);
  return buf;
}

std::string EkuName(const ASN1_OBJECT* oid) {
  switch (OBJ_obj2nid(oid)) {
    case NID_server_auth: return "server_auth";
    case NID_client_auth: return "client_auth";
    case NID_code_sign: return "code_signing";
    case NID_email_protect: return "email_protection";
    case NID_time_stamp: return "time_stamping";
    case NID_OCSP_sign: return "ocsp_signing";
    case NID_anyExtendedKeyUsage: return "any";
    default: return OidText(oid);
  }
}

std::uint16_t KeyUsageBits(std::uint32_t ku) {
  static constexpr std::pair<std::uint32_t, std::uint16_t> kMap[] = {
      {KU_DIGITAL_SIGNATURE, x509::kKuDigitalSignature}, {KU_NON_REPUDIATION, x509::kKuNonRepudiation},
      {KU_KEY_ENCIPHERMENT, x509::kKuKeyEncipherment},   {KU_DATA_ENCIPHERMENT, x509::kKuDataEncipherment},
      {KU_KEY_AGREEMENT, x509::kKuKeyAgreement},         {KU_KEY_CERT_SIGN, x509::kKuKeyCertSign},
      {KU_CRL_SIGN, x509::kKuCrlSign},                   {KU_ENCIPHER_ONLY, x509::kKuEncipherOnly},
      {KU_DECIPHER_ONLY, x509::kKuDecipherOnly}};
  std::uint16_t out = 0;
  for (auto [from, to] : kMap)
    if (ku & from) out |= to;
  return out;
}

x509::KeyInfo KeyOf(X509* x) {
  x509::KeyInfo key;
  // get0: the key belongs to the certificate (decoded by d2i_X509 already).
  EVP_PKEY* pkey = X509_get0_pubkey(x);
  if (pkey != nullptr) {
    switch (EVP_PKEY_get_base_id(pkey)) {
      case EVP_PKEY_RSA: key.type = x509::KeyType::kRsa; break;
      case EVP_PKEY_EC: key.type = x509::KeyType::kEc; break;
      case EVP_PKEY_ED25519: key.type = x509::KeyType::kEd25519; break;
      case EVP_PKEY_ED448: key.type = x509::KeyType::kEd448; break;
      case EVP_PKEY_DSA: key.type = x509::KeyType::kDsa; break;
      default: break;
    }
    key.bits = EVP_PKEY_get_bits(pkey);
    if (key.type == x509::KeyType::kEc) {
      char group[64];
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len))
        key.curve.assign(group, len);
    }
  }
  // get0: the X509_PUBKEY belongs to the certificate; i2d allocates the DER we own.
  unsigned char* spki = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
  if (n > 0) {
    key.spki_sha256 = Sha256Hex(ByteView(spki, static_cast<size_t>(n)));
    OPENSSL_free(spki);
  }
  return key;
}

template <class T>
T* Ext(X509* x, int nid) {
  // get1-like: X509_get_ext_d2i returns a new decoded copy the caller owns.
  return static_cast<T*>(X509_get_ext_d2i(x, nid, nullptr, nullptr));
}

}  // namespace

Result<x509::Identity> DecodeWithOpenSsl(ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) return Fail(ErrorCode::kInput, "d2i_X509: " + DrainOpenSslErrors());
  if (p != der.data() + der.size()) return Fail(ErrorCode::kInput, "trailing bytes after certificate");

  x509::Identity id;
  id.kind = x509::Kind::kCertificate;
  id.fingerprint = Sha256Hex(der);
  id.der.assign(der.begin(), der.end());
  id.position = "der";
  id.key = KeyOf(x.get());

  x509::CertificateInfo& c = id.cert.emplace();
  c.version = static_cast<int>(X509_get_version(x.get())) + 1;
  // get0: names belong to the certificate.
  const X509_NAME* subject = X509_get_subject_name(x.get());
  const X509_NAME* issuer = X509_get_issuer_name(x.get());
  c.subject = NameString(subject);
  c.issuer = NameString(issuer);
  c.subject_parts = Parts(subject);
  c.issuer_parts = Parts(issuer);
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x.get()), nullptr));
  if (serial) {
    OsslString hex(BN_bn2hex(serial.get()));
    if (hex) c.serial_hex = hex.get();
  }
  c.not_before = TimeOf(X509_get0_notBefore(x.get()));
  c.not_after = TimeOf(X509_get0_notAfter(x.get()));
  c.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(x.get()));

  if (GeneralNamesPtr sans{Ext<GENERAL_NAMES>(x.get(), NID_subject_alt_name)}) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      switch (gn->type) {
        case GEN_DNS: c.san_dns.push_back(AsString(gn->d.dNSName)); break;
        case GEN_IPADD: c.san_ip.push_back(IpString(gn->d.iPAddress)); break;
        case GEN_EMAIL: c.san_email.push_back(AsString(gn->d.rfc822Name)); break;
        case GEN_URI: c.san_uri.push_back(AsString(gn->d.uniformResourceIdentifier)); break;
        default: break;
      }
    }
  }

  // Computes and caches the extension flags (and OpenSSL's own SHA-1 of the DER).
  const std::uint32_t flags = X509_get_extension_flags(x.get());
  c.has_key_usage = (flags & EXFLAG_KUSAGE) != 0;
  if (c.has_key_usage) c.key_usage = KeyUsageBits(X509_get_key_usage(x.get()));
  if (EkuPtr eku{Ext<EXTENDED_KEY_USAGE>(x.get(), NID_ext_key_usage)}) {
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i)
      c.eku.push_back(EkuName(sk_ASN1_OBJECT_value(eku.get(), i)));
  }
  c.has_basic_constraints = (flags & EXFLAG_BCONS) != 0;
  c.is_ca = (flags & EXFLAG_CA) != 0;
  c.path_len = static_cast<int>(X509_get_pathlen(x.get()));
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(x.get()))  // get0
    c.ski_hex = ToHex(ByteView(ASN1_STRING_get0_data(ski), static_cast<size_t>(ASN1_STRING_length(ski))));
  if (const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x.get()))  // get0
    c.aki_hex = ToHex(ByteView(ASN1_STRING_get0_data(aki), static_cast<size_t>(ASN1_STRING_length(aki))));
  if (AiaPtr aia{Ext<AUTHORITY_INFO_ACCESS>(x.get(), NID_info_access)}) {
    for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
      const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
      if (ad->location->type != GEN_URI) continue;
      std::string url = AsString(ad->location->d.uniformResourceIdentifier);
      int nid = OBJ_obj2nid(ad->method);
      if (nid == NID_ad_OCSP) c.ocsp_urls.push_back(std::move(url));
      if (nid == NID_ad_ca_issuers) c.ca_issuer_urls.push_back(std::move(url));
    }
  }
  if (CrlDpPtr dps{Ext<CRL_DIST_POINTS>(x.get(), NID_crl_distribution_points)}) {
    for (int i = 0; i < sk_DIST_POINT_num(dps.get()); ++i) {
      const DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
      if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
      const GENERAL_NAMES* names = dp->distpoint->name.fullname;
      for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
        if (gn->type == GEN_URI) c.crl_urls.push_back(AsString(gn->d.uniformResourceIdentifier));
      }
    }
  }
  if (SctsPtr scts{Ext<STACK_OF(SCT)>(x.get(), NID_ct_precert_scts)}) c.sct_count = sk_SCT_num(scts.get());
  if (PoliciesPtr pols{Ext<CERTIFICATEPOLICIES>(x.get(), NID_certificate_policies)}) {
    for (int i = 0; i < sk_POLICYINFO_num(pols.get()); ++i)
      c.policy_oids.push_back(OidText(sk_POLICYINFO_value(pols.get(), i)->policyid));
  }
  c.self_issued = X509_NAME_cmp(subject, issuer) == 0;
  if (c.self_issued) {
    EVP_PKEY* pkey = X509_get0_pubkey(x.get());  // get0
    c.self_signed = pkey != nullptr && X509_verify(x.get(), pkey) == 1;
  }
  c.sha1_hex = ToHex(Sha1(der));
  ERR_clear_error();  // X509_get_ext_d2i leaves entries for absent/odd extensions
  return id;
}

}  // namespace mica::bench
