// The OpenSSL-API reading of a certificate: the oracle of the differential test.
// Every field is computed the way certificate.h defines it, with OpenSSL's own calls, so
// that any disagreement with the fast decoder points at the fast decoder.
#include "x509/internal/reference.h"

#include <openssl/core_names.h>
#include <openssl/ct.h>
#include <openssl/objects.h>

#include <climits>
#include <cstring>
#include <ctime>
#include <set>
#include <string>

#include <arpa/inet.h>

#include "x509/internal/openssl.h"

namespace mica::x509::internal {

namespace {

using BasicConstraintsPtr = Ptr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using Asn1BitStringPtr = Ptr<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using Asn1OctetStringPtr = Ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using AkidPtr = Ptr<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using AiaPtr = Ptr<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free>;
using CrlDpPtr = Ptr<CRL_DIST_POINTS, CRL_DIST_POINTS_free>;
using PoliciesPtr = Ptr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>;
inline void FreeEku(EXTENDED_KEY_USAGE* e) {
  sk_ASN1_OBJECT_pop_free(e, ASN1_OBJECT_free);
}
using EkuPtr = Ptr<EXTENDED_KEY_USAGE, FreeEku>;
inline void FreeScts(STACK_OF(SCT) * s) { SCT_LIST_free(s); }
using SctListPtr = Ptr<STACK_OF(SCT), FreeScts>;
inline void FreeOpenSslString(char* s) { OPENSSL_free(s); }
using OpenSslStringPtr = Ptr<char, FreeOpenSslString>;

std::string ObjText(const ASN1_OBJECT* obj, bool numeric) {
  char buf[256];
  int n = OBJ_obj2txt(buf, sizeof buf, obj, numeric ? 1 : 0);
  if (n < 0) return "";
  return std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

std::string NameString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  // RFC 4514 order and escaping, but UTF-8 kept as it is (no \XX for bytes >= 0x80).
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string FirstValue(const X509_NAME* name, int nid) {
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return "";
  // get0: the entry and its data are borrowed from the name.
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) {
    DrainErrors();
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

NameParts Parts(const X509_NAME* name) {
  return NameParts{FirstValue(name, NID_commonName), FirstValue(name, NID_organizationName),
                   FirstValue(name, NID_organizationalUnitName),
                   FirstValue(name, NID_countryName)};
}

Result<UnixSeconds> TimeOf(const ASN1_TIME* t, const char* what) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    DrainErrors();
    return Fail(ErrorCode::kInput, std::string("bad ") + what + " time");
  }
  // timegm, never mktime: certificate times are UTC.
  return static_cast<UnixSeconds>(timegm(&tm));
}

std::string AsString(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string HexOf(const ASN1_STRING* s) {
  return ToHex(ByteView(ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s))));
}

void AddGeneralNames(const GENERAL_NAMES* names, CertificateInfo& info) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    switch (gn->type) {
      case GEN_DNS:
        info.san_dns.push_back(AsString(gn->d.dNSName));
        break;
      case GEN_EMAIL:
        info.san_email.push_back(AsString(gn->d.rfc822Name));
        break;
      case GEN_URI:
        info.san_uri.push_back(AsString(gn->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = gn->d.iPAddress;
        char buf[INET6_ADDRSTRLEN] = {};
        const int len = ASN1_STRING_length(ip);
        if (len == 4 && inet_ntop(AF_INET, ASN1_STRING_get0_data(ip), buf, sizeof buf)) {
          info.san_ip.emplace_back(buf);
        } else if (len == 16 &&
                   inet_ntop(AF_INET6, ASN1_STRING_get0_data(ip), buf, sizeof buf)) {
          info.san_ip.emplace_back(buf);
        }
        // Other lengths (name-constraint style address/mask pairs) are not addresses.
        break;
      }
      default:
        break;
    }
  }
}

std::string EkuName(const ASN1_OBJECT* obj) {
  switch (OBJ_obj2nid(obj)) {
    case NID_server_auth: return "server_auth";
    case NID_client_auth: return "client_auth";
    case NID_code_sign: return "code_signing";
    case NID_email_protect: return "email_protection";
    case NID_time_stamp: return "time_stamping";
    case NID_OCSP_sign: return "ocsp_signing";
    case NID_anyExtendedKeyUsage: return "any";
    default: return ObjText(obj, true);
  }
}

void FillKey(X509* x, KeyInfo& key) {
  // get0: the X509_PUBKEY belongs to the certificate.
  X509_PUBKEY* pub = X509_get_X509_PUBKEY(x);
  unsigned char* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(pub, &spki);
  if (spki_len > 0) {
    key.spki_sha256 = Sha256Hex(ByteView(spki, static_cast<size_t>(spki_len)));
    OPENSSL_free(spki);
  }
  // get0: borrowed; NULL when OpenSSL cannot decode the key (unknown algorithm, bad key).
  FillKeyFromPkey(X509_get0_pubkey(x), key);
}

}  // namespace

void FillKeyFromPkey(const EVP_PKEY* pkey, KeyInfo& key) {
  if (pkey == nullptr) {
    DrainErrors();
    return;
  }
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: key.type = KeyType::kRsa; break;
    case EVP_PKEY_EC: key.type = KeyType::kEc; break;
    case EVP_PKEY_ED25519: key.type = KeyType::kEd25519; break;
    case EVP_PKEY_ED448: key.type = KeyType::kEd448; break;
    case EVP_PKEY_X25519: key.type = KeyType::kX25519; break;
    case EVP_PKEY_X448: key.type = KeyType::kX448; break;
    case EVP_PKEY_DSA: key.type = KeyType::kDsa; break;
    default: key.type = KeyType::kUnknown; break;
  }
  key.bits = EVP_PKEY_get_bits(pkey);
  if (key.bits < 0) key.bits = 0;
  if (key.type == KeyType::kEc) {
    char group[80] = {};
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &glen) == 1) {
      // The provider prints NIST names ("P-256"); keep OpenSSL's short name of the OID.
      int nid = OBJ_txt2nid(group);
      if (nid == NID_undef) nid = EC_curve_nist2nid(group);
      key.curve = nid != NID_undef ? OBJ_nid2sn(nid) : group;
    }
  }
  DrainErrors();
}

Result<KeyInfo> DecodeSpkiWithOpenSsl(ByteView spki_der) {
  const unsigned char* p = spki_der.data();
  // get1: the key is owned by pkey.
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pkey) {
    return Fail(ErrorCode::kInput, "not a DER SubjectPublicKeyInfo OpenSSL can read: " +
                                       DrainErrors());
  }
  if (p != spki_der.data() + spki_der.size()) {
    return Fail(ErrorCode::kInput, "trailing bytes after the SubjectPublicKeyInfo at offset " +
                                       std::to_string(p - spki_der.data()));
  }
  KeyInfo key;
  key.spki_sha256 = Sha256Hex(spki_der);
  FillKeyFromPkey(pkey.get(), key);
  return key;
}

Result<Identity> DecodeCertificateWithOpenSsl(ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) {
    std::string why = DrainErrors();
    return Fail(ErrorCode::kInput, "not a DER certificate: " + why);
  }
  if (p != der.data() + der.size()) {
    return Fail(ErrorCode::kInput, "trailing bytes after the certificate at offset " +
                                       std::to_string(p - der.data()));
  }

  Identity id;
  id.kind = Kind::kCertificate;
  id.der.assign(der.begin(), der.end());
  id.fingerprint = Sha256Hex(der);
  CertificateInfo& info = id.cert.emplace();
  info.sha1_hex = ToHex(Sha1(der));
  info.version = static_cast<int>(X509_get_version(x.get())) + 1;

  // RFC 5280 4.2: a certificate must not include more than one instance of an extension.
  std::set<std::string> seen;
  for (int i = 0; i < X509_get_ext_count(x.get()); ++i) {
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(X509_get_ext(x.get(), i));
    if (!seen.insert(ObjText(obj, true)).second) {
      return Fail(ErrorCode::kInput, "duplicate extension " + ObjText(obj, true));
    }
  }

  // get0: names, serial, times and algorithms are borrowed from the certificate.
  const X509_NAME* subject = X509_get_subject_name(x.get());
  const X509_NAME* issuer = X509_get_issuer_name(x.get());
  info.subject = NameString(subject);
  info.issuer = NameString(issuer);
  info.subject_parts = Parts(subject);
  info.issuer_parts = Parts(issuer);

  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x.get()), nullptr));
  if (!serial) return Fail(ErrorCode::kInput, "bad serial number: " + DrainErrors());
  char* hex = BN_bn2hex(serial.get());
  info.serial_hex = hex ? hex : "";
  OPENSSL_free(hex);

  auto nb = TimeOf(X509_get0_notBefore(x.get()), "notBefore");
  if (!nb) return tl::unexpected(nb.error());
  auto na = TimeOf(X509_get0_notAfter(x.get()), "notAfter");
  if (!na) return tl::unexpected(na.error());
  info.not_before = *nb;
  info.not_after = *na;

  const X509_ALGOR* sig_alg = nullptr;
  X509_get0_signature(nullptr, &sig_alg, x.get());
  const ASN1_OBJECT* sig_obj = nullptr;
  X509_ALGOR_get0(&sig_obj, nullptr, nullptr, sig_alg);
  int sig_nid = OBJ_obj2nid(sig_obj);
  info.signature_algorithm = sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : ObjText(sig_obj, true);

  // get1 (X509_get_ext_d2i): each decoded extension is owned by its Ptr.
  if (GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr)));
      sans) {
    AddGeneralNames(sans.get(), info);
  }
  if (Asn1BitStringPtr ku(static_cast<ASN1_BIT_STRING*>(
          X509_get_ext_d2i(x.get(), NID_key_usage, nullptr, nullptr)));
      ku) {
    info.has_key_usage = true;
    for (int bit = 0; bit < 9; ++bit) {
      if (ASN1_BIT_STRING_get_bit(ku.get(), bit)) info.key_usage |= static_cast<std::uint16_t>(1 << bit);
    }
  }
  if (EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(x.get(), NID_ext_key_usage, nullptr, nullptr)));
      eku) {
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i)
      info.eku.push_back(EkuName(sk_ASN1_OBJECT_value(eku.get(), i)));
  }
  if (BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
          X509_get_ext_d2i(x.get(), NID_basic_constraints, nullptr, nullptr)));
      bc) {
    info.has_basic_constraints = true;
    info.is_ca = bc->ca != 0;
    if (bc->pathlen != nullptr) {
      std::int64_t v = 0;
      if (ASN1_INTEGER_get_int64(&v, bc->pathlen) == 1) {
        info.path_len = v < 0 ? -1 : v > INT_MAX ? INT_MAX : static_cast<int>(v);
      } else {
        DrainErrors();
        info.path_len = INT_MAX;  // larger than int64: as good as unlimited
      }
    }
  }
  if (Asn1OctetStringPtr ski(static_cast<ASN1_OCTET_STRING*>(
          X509_get_ext_d2i(x.get(), NID_subject_key_identifier, nullptr, nullptr)));
      ski) {
    info.ski_hex = HexOf(ski.get());
  }
  if (AkidPtr aki(static_cast<AUTHORITY_KEYID*>(
          X509_get_ext_d2i(x.get(), NID_authority_key_identifier, nullptr, nullptr)));
      aki && aki->keyid != nullptr) {
    info.aki_hex = HexOf(aki->keyid);
  }
  if (AiaPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(
          X509_get_ext_d2i(x.get(), NID_info_access, nullptr, nullptr)));
      aia) {
    for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
      const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
      if (ad->location->type != GEN_URI) continue;
      const int nid = OBJ_obj2nid(ad->method);
      if (nid == NID_ad_OCSP) info.ocsp_urls.push_back(AsString(ad->location->d.uniformResourceIdentifier));
      if (nid == NID_ad_ca_issuers)
        info.ca_issuer_urls.push_back(AsString(ad->location->d.uniformResourceIdentifier));
    }
  }
  if (CrlDpPtr dps(static_cast<CRL_DIST_POINTS*>(
          X509_get_ext_d2i(x.get(), NID_crl_distribution_points, nullptr, nullptr)));
      dps) {
    for (int i = 0; i < sk_DIST_POINT_num(dps.get()); ++i) {
      const DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
      if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
      const GENERAL_NAMES* names = dp->distpoint->name.fullname;
      for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
        if (gn->type == GEN_URI) info.crl_urls.push_back(AsString(gn->d.uniformResourceIdentifier));
      }
    }
  }
  if (SctListPtr scts(static_cast<STACK_OF(SCT)*>(
          X509_get_ext_d2i(x.get(), NID_ct_precert_scts, nullptr, nullptr)));
      scts) {
    info.sct_count = sk_SCT_num(scts.get());
  }
  if (PoliciesPtr policies(static_cast<CERTIFICATEPOLICIES*>(
          X509_get_ext_d2i(x.get(), NID_certificate_policies, nullptr, nullptr)));
      policies) {
    for (int i = 0; i < sk_POLICYINFO_num(policies.get()); ++i)
      info.policy_oids.push_back(ObjText(sk_POLICYINFO_value(policies.get(), i)->policyid, true));
  }
  DrainErrors();  // failed extension decodes above leave entries behind

  info.self_issued = X509_NAME_cmp(subject, issuer) == 0;
  info.self_signed = info.self_issued && X509_self_signed(x.get(), 1) == 1;
  DrainErrors();

  FillKey(x.get(), id.key);
  return id;
}

}  // namespace mica::x509::internal
