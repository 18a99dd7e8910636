// Chain validation over OpenSSL's X509_verify_cert (see verify.h).
#include "x509/verify.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "core/system_trust.h"
#include "x509/internal/openssl.h"

namespace mica::x509 {

namespace {

using internal::BioPtr;
using internal::DrainErrors;
using internal::MemBio;
using internal::X509Ptr;
using StorePtr = internal::Ptr<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = internal::Ptr<X509_STORE_CTX, X509_STORE_CTX_free>;
using CrlPtr = internal::Ptr<X509_CRL, X509_CRL_free>;
using VerifyParamPtr = internal::Ptr<X509_VERIFY_PARAM, X509_VERIFY_PARAM_free>;
using EkuPtr = internal::Ptr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using PolicyTreePtr = internal::Ptr<X509_POLICY_TREE, X509_policy_tree_free>;
inline void FreeShallowX509Stack(STACK_OF(X509) * s) { sk_X509_free(s); }
using ShallowX509StackPtr = internal::Ptr<STACK_OF(X509), FreeShallowX509Stack>;
inline void FreeAsn1ObjectStack(STACK_OF(ASN1_OBJECT) * s) { sk_ASN1_OBJECT_pop_free(s, ASN1_OBJECT_free); }
using Asn1ObjectStackPtr = internal::Ptr<STACK_OF(ASN1_OBJECT), FreeAsn1ObjectStack>;

// Stable snake_case names of the X509_V_ERR_* codes a user is most likely to meet; other
// codes come out as "x509_v_err_<number>".
std::string ErrorToken(int code) {
  switch (code) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: return "unable_to_get_issuer_cert";
    case X509_V_ERR_UNABLE_TO_GET_CRL: return "unable_to_get_crl";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "cert_signature_failure";
    case X509_V_ERR_CRL_SIGNATURE_FAILURE: return "crl_signature_failure";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "cert_not_yet_valid";
    case X509_V_ERR_CERT_HAS_EXPIRED: return "cert_has_expired";
    case X509_V_ERR_CRL_NOT_YET_VALID: return "crl_not_yet_valid";
    case X509_V_ERR_CRL_HAS_EXPIRED: return "crl_has_expired";
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: return "error_in_cert_not_before_field";
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return "error_in_cert_not_after_field";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return "depth_zero_self_signed_cert";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "self_signed_cert_in_chain";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return "unable_to_get_issuer_cert_locally";
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "unable_to_verify_leaf_signature";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG: return "cert_chain_too_long";
    case X509_V_ERR_CERT_REVOKED: return "cert_revoked";
    case X509_V_ERR_INVALID_CA: return "invalid_ca";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return "path_length_exceeded";
    case X509_V_ERR_INVALID_PURPOSE: return "invalid_purpose";
    case X509_V_ERR_CERT_UNTRUSTED: return "cert_untrusted";
    case X509_V_ERR_CERT_REJECTED: return "cert_rejected";
    case X509_V_ERR_SUBJECT_ISSUER_MISMATCH: return "subject_issuer_mismatch";
    case X509_V_ERR_AKID_SKID_MISMATCH: return "akid_skid_mismatch";
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN: return "keyusage_no_certsign";
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER: return "unable_to_get_crl_issuer";
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION: return "unhandled_critical_extension";
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN: return "keyusage_no_crl_sign";
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION: return "unhandled_critical_crl_extension";
    case X509_V_ERR_INVALID_NON_CA: return "invalid_non_ca";
    case X509_V_ERR_INVALID_EXTENSION: return "invalid_extension";
    case X509_V_ERR_INVALID_POLICY_EXTENSION: return "invalid_policy_extension";
    case X509_V_ERR_NO_EXPLICIT_POLICY: return "no_explicit_policy";
    case X509_V_ERR_DIFFERENT_CRL_SCOPE: return "different_crl_scope";
    case X509_V_ERR_PERMITTED_VIOLATION: return "permitted_violation";
    case X509_V_ERR_EXCLUDED_VIOLATION: return "excluded_violation";
    case X509_V_ERR_SUBTREE_MINMAX: return "subtree_minmax";
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX: return "unsupported_name_syntax";
    case X509_V_ERR_HOSTNAME_MISMATCH: return "hostname_mismatch";
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return "ip_address_mismatch";
    case X509_V_ERR_CA_KEY_TOO_SMALL: return "ca_key_too_small";
    case X509_V_ERR_EE_KEY_TOO_SMALL: return "ee_key_too_small";
    case X509_V_ERR_CA_MD_TOO_WEAK: return "ca_md_too_weak";
    case X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA: return "pathlen_invalid_for_non_ca";
    case X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA: return "ku_key_cert_sign_invalid_for_non_ca";
    case X509_V_ERR_CA_BCONS_NOT_CRITICAL: return "ca_bcons_not_critical";
    case X509_V_ERR_UNSPECIFIED: return "unspecified";
    default: return "x509_v_err_" + std::to_string(code);
  }
}

Result<X509Ptr> DecodeX509(ByteView der, const std::string& what) {
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // owned
  if (!x) return Fail(ErrorCode::kInput, what + ": not a DER certificate (" + DrainErrors() + ")");
  return x;
}

std::string CertFingerprint(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(x, EVP_sha256(), md, &n) != 1) {
    DrainErrors();
    return "";
  }
  return ToHex(ByteView(md, n));
}

// Both readers: PEM blocks of `pem_name` when the content looks like PEM, else one DER.
template <class T, class Decode>
Result<std::vector<Bytes>> ReadPemOrDer(ByteView content, const char* pem_name, const char* what,
                                        Decode decode) {
  std::vector<Bytes> out;
  const std::string_view text(reinterpret_cast<const char*>(content.data()), content.size());
  if (text.find("-----BEGIN ") != std::string_view::npos) {
    BioPtr bio = MemBio(content);
    int index = 0;
    for (;;) {
      char* name = nullptr;
      char* header = nullptr;
      unsigned char* data = nullptr;
      long len = 0;
      if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
        ERR_clear_error();  // end of input is reported as an error
        break;
      }
      ++index;
      const std::string block = name;
      Bytes der(data, data + len);
      OPENSSL_free(name);
      OPENSSL_free(header);
      OPENSSL_free(data);
      if (block != pem_name) continue;
      if (!decode(ByteView(der)))
        return Fail(ErrorCode::kInput, "PEM block " + std::to_string(index) + " (" + block +
                                           "): not a valid " + what + " (" + DrainErrors() + ")");
      out.push_back(std::move(der));
    }
    if (out.empty()) return Fail(ErrorCode::kInput, std::string("no ") + pem_name + " PEM block");
    return out;
  }
  if (!decode(content))
    return Fail(ErrorCode::kInput, std::string("neither PEM nor a DER ") + what + " (" + DrainErrors() + ")");
  out.emplace_back(content.begin(), content.end());
  return out;
}

bool DecodesAsCert(ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  return x && p == der.data() + der.size();
}

bool DecodesAsCrl(ByteView der) {
  const unsigned char* p = der.data();
  CrlPtr c(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  return c && p == der.data() + der.size();
}

bool HasExtension(X509* x, int nid) { return X509_get_ext_by_NID(x, nid, -1) >= 0; }

bool SignedWithSha1(X509* x) {
  int md_nid = NID_undef;
  // Fails (0) for algorithms without a separate digest (Ed25519, RSA-PSS with unusual
  // parameters): those are not SHA-1 either.
  if (X509_get_signature_info(x, &md_nid, nullptr, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  return md_nid == NID_sha1;
}

// Microsoft's application policies extension (1.3.6.1.4.1.311.21.10), which AD CS writes
// beside the EKU with the same purposes, often critical. With an EKU present mica (like
// Chrome) enforces the EKU and counts the extension as understood; without one it stays an
// unknown critical extension.
bool OnlyUnderstoodCriticalExtensions(X509* x) {
  static const internal::Asn1ObjectPtr kMsApplicationPolicies(OBJ_txt2obj("1.3.6.1.4.1.311.21.10", 1));
  const bool has_eku = HasExtension(x, NID_ext_key_usage);
  for (int i = 0; i < X509_get_ext_count(x); ++i) {
    X509_EXTENSION* ext = X509_get_ext(x, i);  // get0: owned by x
    if (!X509_EXTENSION_get_critical(ext) || X509_supported_extension(ext)) continue;
    if (has_eku && kMsApplicationPolicies &&
        OBJ_cmp(X509_EXTENSION_get_object(ext), kMsApplicationPolicies.get()) == 0)
      continue;
    return false;
  }
  return true;
}

// RFC 5280 4.2: a critical extension with information the verifier cannot process fails
// the certificate. A critical certificatePolicies extension whose qualifiers are other
// than the two RFC 5280 4.2.1.4 defines (CPS pointer, user notice) is such a one. OpenSSL
// ignores qualifiers.
bool HasUnknownCriticalPolicyQualifier(X509* x) {
  int crit = 0;
  using PoliciesPtr = internal::Ptr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>;
  PoliciesPtr policies(static_cast<CERTIFICATEPOLICIES*>(X509_get_ext_d2i(x, NID_certificate_policies, &crit, nullptr)));
  ERR_clear_error();  // absent, or undecodable (which OpenSSL's policy check reports)
  if (!policies || crit != 1) return false;
  for (int i = 0; i < sk_POLICYINFO_num(policies.get()); ++i) {
    const POLICYINFO* info = sk_POLICYINFO_value(policies.get(), i);
    for (int j = 0; j < sk_POLICYQUALINFO_num(info->qualifiers); ++j) {
      const int nid = OBJ_obj2nid(sk_POLICYQUALINFO_value(info->qualifiers, j)->pqualid);
      if (nid != NID_id_qt_cps && nid != NID_id_qt_unotice) return true;
    }
  }
  return false;
}

// Which of the anchor's own fields an X509_V_ERR_* code is about (AnchorChecks).
enum class AnchorField { kNone, kValidity, kConstraints };

AnchorField AnchorFieldOf(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
      return AnchorField::kValidity;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_INVALID_POLICY_EXTENSION:
    // The X509_STRICT profile checks, when they concern the anchor certificate.
    case X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA:
    case X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA:
    case X509_V_ERR_CA_BCONS_NOT_CRITICAL:
    case X509_V_ERR_CA_CERT_MISSING_KEY_USAGE:
    case X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER:
    case X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER:
    case X509_V_ERR_EXTENSIONS_REQUIRE_VERSION_3:
    case X509_V_ERR_EMPTY_SUBJECT_ALT_NAME:
    case X509_V_ERR_EMPTY_SUBJECT_SAN_NOT_CRITICAL:
    case X509_V_ERR_SIGNATURE_ALGORITHM_INCONSISTENCY:
    case X509_V_ERR_ISSUER_NAME_EMPTY:
    case X509_V_ERR_SUBJECT_NAME_EMPTY:
    case X509_V_ERR_AUTHORITY_KEY_IDENTIFIER_CRITICAL:
    case X509_V_ERR_SUBJECT_KEY_IDENTIFIER_CRITICAL:
      return AnchorField::kConstraints;
    default:
      return AnchorField::kNone;
  }
}

// The verify callback: OpenSSL reports every error it finds through it, and an error
// this returns 1 for does not fail the chain. Two kinds are forgiven, each only where
// the options ask: SHA-1 signatures (allow_sha1) and errors about the anchor's own
// fields that AnchorChecks turns off. Every other error stays fatal.
int VerifyCallback(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  const auto* o = static_cast<const VerifyOptions*>(X509_STORE_CTX_get_app_data(ctx));
  const int err = X509_STORE_CTX_get_error(ctx);
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);  // get0: owned by ctx
  if (o == nullptr || cert == nullptr) return ok;
  if (err == X509_V_ERR_CA_MD_TOO_WEAK && o->allow_sha1 && SignedWithSha1(cert)) return 1;
  if (err == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION && OnlyUnderstoodCriticalExtensions(cert)) return 1;
  // The anchor is the last certificate of the chain and came from the trust store. A
  // trusted leaf alone (depth 0) is the target, whose fields always count.
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);  // get0: owned by ctx
  const bool is_anchor = depth > 0 && chain != nullptr && depth == sk_X509_num(chain) - 1 &&
                         depth >= X509_STORE_CTX_get_num_untrusted(ctx);
  if (!is_anchor) return ok;
  switch (AnchorFieldOf(err)) {
    case AnchorField::kValidity:
      return o->anchor.validity ? ok : 1;
    case AnchorField::kConstraints:
      if (!o->anchor.constraints) return 1;
      // An anchor without basicConstraints counts as a CA unless it must have them.
      if (!o->anchor.require_basic_constraints && !HasExtension(cert, NID_basic_constraints) &&
          (err == X509_V_ERR_INVALID_CA || err == X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA))
        return 1;
      return ok;
    case AnchorField::kNone:
      return ok;
  }
  return ok;
}

// --- the purpose layer (EkuMode) -------------------------------------------------------

struct Ekus {
  bool present = false, any = false, server = false, client = false, code_signing = false,
       ocsp_signing = false, time_stamping = false;
};

// From the EKU extension itself: OpenSSL's cached XKU_* bits count Netscape and
// Microsoft Server Gated Crypto as server auth, which the Web PKI no longer does.
Ekus ReadEkus(X509* x) {
  Ekus e;
  int crit = 0;
  auto* eku = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(x, NID_ext_key_usage, &crit, nullptr));
  EkuPtr owned(eku);  // d2i: the caller owns it
  if (eku == nullptr) {
    ERR_clear_error();  // absent (crit == -1) or undecodable; OpenSSL fails the latter itself
    return e;
  }
  e.present = true;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
    switch (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i))) {
      case NID_anyExtendedKeyUsage: e.any = true; break;
      case NID_server_auth: e.server = true; break;
      case NID_client_auth: e.client = true; break;
      case NID_code_sign: e.code_signing = true; break;
      case NID_OCSP_sign: e.ocsp_signing = true; break;
      case NID_time_stamp: e.time_stamping = true; break;
      default: break;
    }
  }
  return e;
}

// A failure of mica's checks after OpenSSL accepted the chain, as VerifyResult reports it.
struct LayerFailure {
  int depth;
  std::string code;  // ErrorToken vocabulary
  std::string message;
};

// Runs after OpenSSL accepted `chain` (leaf first, anchor last). Only the server and
// client purposes come here; OpenSSL's own purpose check is off for them.
std::optional<LayerFailure> CheckEku(STACK_OF(X509)* chain, const VerifyOptions& o) {
  const bool server = o.purpose == VerifyPurpose::kServer;
  const char* name = server ? "serverAuth" : "clientAuth";
  const int n = sk_X509_num(chain);
  // A lone trusted leaf is the target; otherwise the last certificate is the anchor.
  const int last_checked = n == 1 ? 0 : (o.anchor.constraints ? n - 1 : n - 2);
  for (int i = 0; i <= last_checked; ++i) {
    X509* x = sk_X509_value(chain, i);  // get0: owned by the chain
    const Ekus e = ReadEkus(x);
    const bool has_purpose = server ? e.server : e.client;
    const bool strict = i == 0 ? o.eku_mode != EkuMode::kLenient : o.eku_mode == EkuMode::kStrict;
    if (i == 0 && strict) {
      if (!has_purpose)
        return LayerFailure{0, "invalid_purpose", std::string("leaf certificate's extended key usage does not name ") + name};
      if (e.code_signing || e.ocsp_signing || e.time_stamping)
        return LayerFailure{0, "invalid_purpose", std::string("leaf certificate's extended key usage names codeSigning, "
                                             "OCSPSigning or timeStamping beside ") + name};
      if (n > 1 && (X509_get_extension_flags(x) & EXFLAG_CA))
        return LayerFailure{0, "invalid_purpose", "leaf certificate is a CA certificate"};
      continue;
    }
    if (e.present && !has_purpose && (strict || !e.any))
      return LayerFailure{i, "invalid_purpose", std::string(i == 0 ? "leaf" : "CA") +
                                   " certificate's extended key usage does not allow " + name};
    // Chrome's root program: a CA issuing TLS client certificates is dedicated to it.
    if (i == 1 && strict && !server && !e.present)
      return LayerFailure{1, "invalid_purpose", "the leaf's issuer has no extended key usage naming clientAuth"};
  }
  return std::nullopt;
}

// The anchor as the policy tree sees it: itself, or, when it has no certificatePolicies,
// a copy asserting anyPolicy. An anchor restricts the policies it names; one that names
// none restricts none (processed literally as a CA, it would empty the tree: RFC 5280
// 6.1.3 (e)). The copy's signature no longer verifies; X509_policy_check does not look.
Result<X509Ptr> AnchorForPolicyTree(X509* anchor) {
  if (HasExtension(anchor, NID_certificate_policies)) {
    X509_up_ref(anchor);
    return X509Ptr(anchor);
  }
  X509Ptr copy(X509_dup(anchor));  // owned
  using PoliciesPtr = internal::Ptr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>;
  PoliciesPtr policies(CERTIFICATEPOLICIES_new());
  POLICYINFO* info = POLICYINFO_new();  // owned until pushed
  if (!copy || !policies || info == nullptr) {
    POLICYINFO_free(info);
    return Fail(ErrorCode::kInternal, "anchor copy: " + DrainErrors());
  }
  ASN1_OBJECT_free(info->policyid);
  info->policyid = OBJ_nid2obj(NID_any_policy);  // static object: freeing it is a no-op
  if (sk_POLICYINFO_push(policies.get(), info) == 0) {
    POLICYINFO_free(info);
    return Fail(ErrorCode::kInternal, "anchor copy: " + DrainErrors());
  }
  if (X509_add1_ext_i2d(copy.get(), NID_certificate_policies, policies.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return Fail(ErrorCode::kInternal, "anchor copy: " + DrainErrors());
  // Re-encode so the cached extension data (EXFLAG_*, the policy cache) is computed from
  // the new extension list.
  if (i2d_re_X509_tbs(copy.get(), nullptr) <= 0)  // drops the cached TBS encoding
    return Fail(ErrorCode::kInternal, "anchor copy: " + DrainErrors());
  unsigned char* der = nullptr;
  const int len = i2d_X509(copy.get(), &der);
  if (len <= 0) return Fail(ErrorCode::kInternal, "anchor copy: " + DrainErrors());
  const unsigned char* p = der;
  X509Ptr decoded(d2i_X509(nullptr, &p, len));
  OPENSSL_free(der);
  if (!decoded) return Fail(ErrorCode::kInternal, "anchor copy: " + DrainErrors());
  return decoded;
}

// The anchor's policy extensions (AnchorChecks::constraints). OpenSSL's policy tree
// (RFC 5280 6.1.2-6.1.5) starts below the trust anchor; running X509_policy_check on the
// chain with the anchor repeated at its end makes the real anchor the first processed
// certificate, so its certificatePolicies, policyMappings, policyConstraints and
// inhibitAnyPolicy take part as a CA's would.
std::optional<LayerFailure> CheckAnchorPolicies(STACK_OF(X509)* chain, STACK_OF(ASN1_OBJECT)* policies,
                                                unsigned long flags) {
  const int n = sk_X509_num(chain);
  if (n < 2) return std::nullopt;
  X509* anchor = sk_X509_value(chain, n - 1);  // get0: owned by the chain
  if (!HasExtension(anchor, NID_certificate_policies) && !HasExtension(anchor, NID_policy_constraints) &&
      !HasExtension(anchor, NID_policy_mappings) && !HasExtension(anchor, NID_inhibit_any_policy))
    return std::nullopt;
  auto as_ca = AnchorForPolicyTree(anchor);
  if (!as_ca) return LayerFailure{n - 1, "internal", as_ca.error().message};
  ShallowX509StackPtr certs(sk_X509_new_null());  // borrows: chain and as_ca outlive it
  bool pushed = certs != nullptr;
  for (int i = 0; pushed && i < n - 1; ++i) pushed = sk_X509_push(certs.get(), sk_X509_value(chain, i)) > 0;
  pushed = pushed && sk_X509_push(certs.get(), as_ca->get()) > 0 && sk_X509_push(certs.get(), as_ca->get()) > 0;
  if (!pushed) return LayerFailure{n - 1, "internal", "out of memory checking the anchor's policies: " + DrainErrors()};
  X509_POLICY_TREE* raw_tree = nullptr;
  int explicit_policy = 0;
  const int rc = X509_policy_check(&raw_tree, &explicit_policy, certs.get(), policies,
                                   static_cast<unsigned int>(flags));
  PolicyTreePtr tree(raw_tree);  // owned by the caller
  DrainErrors();
  if (rc == X509_PCY_TREE_FAILURE)
    return LayerFailure{n - 1, "no_explicit_policy", "no valid policy once the anchor's policy extensions apply"};
  if (rc == X509_PCY_TREE_INVALID || rc == X509_PCY_TREE_INTERNAL)
    return LayerFailure{n - 1, "invalid_policy_extension", "invalid or inconsistent policy extensions with the anchor's"};
  return std::nullopt;
}

// With require_basic_constraints (BoringSSL's _REQUIRE_BASIC_CONSTRAINTS): OpenSSL takes
// a self-signed anchor with keyCertSign but no basicConstraints for a CA unless
// X509_STRICT is on; this holds regardless of the profile.
std::optional<LayerFailure> CheckAnchorBasicConstraints(STACK_OF(X509)* chain) {
  const int n = sk_X509_num(chain);
  if (n < 2 || HasExtension(sk_X509_value(chain, n - 1), NID_basic_constraints)) return std::nullopt;
  return LayerFailure{n - 1, "invalid_ca", "trust anchor has no basicConstraints"};
}

// TRUSTED_LEAF_REQUIRE_SELF_SIGNED: the subject names itself as issuer and its own key
// verifies the signature.
bool IsSelfSigned(X509* x) {
  const bool names = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
  EVP_PKEY* key = X509_get0_pubkey(x);  // get0: owned by x
  const bool signature = key != nullptr && X509_verify(x, key) == 1;
  DrainErrors();
  return names && signature;
}

}  // namespace

std::optional<VerifyPurpose> VerifyPurposeFromName(std::string_view name) {
  if (name == "any") return VerifyPurpose::kAny;
  if (name == "server") return VerifyPurpose::kServer;
  if (name == "client") return VerifyPurpose::kClient;
  if (name == "code-signing" || name == "code_signing") return VerifyPurpose::kCodeSigning;
  if (name == "email") return VerifyPurpose::kEmail;
  return std::nullopt;
}

const char* VerifyPurposeName(VerifyPurpose p) {
  switch (p) {
    case VerifyPurpose::kAny: return "any";
    case VerifyPurpose::kServer: return "server";
    case VerifyPurpose::kClient: return "client";
    case VerifyPurpose::kCodeSigning: return "code-signing";
    case VerifyPurpose::kEmail: return "email";
  }
  return "any";
}

std::optional<EkuMode> EkuModeFromName(std::string_view name) {
  if (name == "lenient") return EkuMode::kLenient;
  if (name == "strict-leaf" || name == "strict_leaf") return EkuMode::kStrictLeaf;
  if (name == "strict") return EkuMode::kStrict;
  return std::nullopt;
}

const char* EkuModeName(EkuMode m) {
  switch (m) {
    case EkuMode::kLenient: return "lenient";
    case EkuMode::kStrictLeaf: return "strict-leaf";
    case EkuMode::kStrict: return "strict";
  }
  return "lenient";
}

Result<std::vector<Bytes>> ReadCertificates(ByteView content) {
  return ReadPemOrDer<X509>(content, "CERTIFICATE", "certificate", DecodesAsCert);
}

Result<std::vector<Bytes>> ReadCrls(ByteView content) {
  return ReadPemOrDer<X509_CRL>(content, "X509 CRL", "CRL", DecodesAsCrl);
}

Result<VerifyResult> VerifyChain(ByteView leaf_der, const VerifyOptions& o) {
  auto leaf = DecodeX509(leaf_der, "leaf");
  if (!leaf) return tl::unexpected(leaf.error());

  StorePtr store(X509_STORE_new());
  if (!store) return Fail(ErrorCode::kInternal, "X509_STORE_new: " + DrainErrors());
  if (o.system_roots) AddSystemTrustAnchors(store.get());
  for (std::size_t i = 0; i < o.roots.size(); ++i) {
    auto x = DecodeX509(o.roots[i], "root " + std::to_string(i + 1));
    if (!x) return tl::unexpected(x.error());
    X509_STORE_add_cert(store.get(), x->get());  // takes its own reference
    DrainErrors();                               // a duplicate root is not an error
  }
  if (o.leaf_is_trusted) {
    X509_STORE_add_cert(store.get(), leaf->get());
    DrainErrors();
  }
  for (std::size_t i = 0; i < o.crls.size(); ++i) {
    const unsigned char* p = o.crls[i].data();
    CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(o.crls[i].size())));
    if (!crl)
      return Fail(ErrorCode::kInput, "CRL " + std::to_string(i + 1) + ": not a DER CRL (" +
                                         DrainErrors() + ")");
    X509_STORE_add_crl(store.get(), crl.get());  // takes its own reference
    DrainErrors();
  }

  internal::X509StackPtr untrusted(sk_X509_new_null());
  for (std::size_t i = 0; i < o.untrusted.size(); ++i) {
    auto x = DecodeX509(o.untrusted[i], "untrusted certificate " + std::to_string(i + 1));
    if (!x) return tl::unexpected(x.error());
    if (sk_X509_push(untrusted.get(), x->get()) == 0)
      return Fail(ErrorCode::kInternal, "sk_X509_push: " + DrainErrors());
    x->release();  // the stack owns it now
  }

  // Verification parameters.
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());  // get0: owned by store
  // RFC 5280 6.1.3 (d)-(f) and 6.1.5: OpenSSL skips policy processing unless asked.
  unsigned long flags = X509_V_FLAG_POLICY_CHECK;
  if (o.x509_strict) flags |= X509_V_FLAG_X509_STRICT;
  if (o.explicit_policy) flags |= X509_V_FLAG_EXPLICIT_POLICY;
  if (o.inhibit_policy_mapping) flags |= X509_V_FLAG_INHIBIT_MAP;
  if (o.inhibit_any_policy) flags |= X509_V_FLAG_INHIBIT_ANY;
  // Extended support: indirect CRLs, cRLIssuer, reason partitions; deltas when given.
  if (!o.crls.empty())
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_EXTENDED_CRL_SUPPORT |
             X509_V_FLAG_USE_DELTAS;
  if (o.partial_chain || o.leaf_is_trusted) flags |= X509_V_FLAG_PARTIAL_CHAIN;
  if (o.at) flags |= X509_V_FLAG_USE_CHECK_TIME;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (o.at) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*o.at));
  if (o.max_depth >= 0) X509_VERIFY_PARAM_set_depth(param, o.max_depth);
  X509_VERIFY_PARAM_set_auth_level(param, o.auth_level);
  // RFC 5280 6.1.1 (c): the user-initial-policy-set defaults to anyPolicy. OpenSSL must
  // be given it: with no set at all, its user-constrained set stays empty and every path
  // that requires an explicit policy fails.
  static const std::vector<std::string> kAnyPolicy = {"2.5.29.32.0"};
  const auto& initial = o.initial_policies.empty() ? kAnyPolicy : o.initial_policies;
  Asn1ObjectStackPtr policies(sk_ASN1_OBJECT_new_null());
  if (!policies) return Fail(ErrorCode::kInternal, "sk_ASN1_OBJECT_new_null: " + DrainErrors());
  for (const auto& oid : initial) {
    internal::Asn1ObjectPtr obj(OBJ_txt2obj(oid.c_str(), 1));  // owned; 1 = dotted only
    if (!obj) {
      DrainErrors();
      return Fail(ErrorCode::kInvalidArgument, "policy " + oid + ": not a dotted OID");
    }
    if (sk_ASN1_OBJECT_push(policies.get(), obj.get()) == 0)
      return Fail(ErrorCode::kInternal, "sk_ASN1_OBJECT_push: " + DrainErrors());
    obj.release();  // the stack owns it now
  }
  if (X509_VERIFY_PARAM_set1_policies(param, policies.get()) != 1)  // set1: copies
    return Fail(ErrorCode::kInternal, "X509_VERIFY_PARAM_set1_policies: " + DrainErrors());
  if (!o.host.empty() && X509_VERIFY_PARAM_set1_host(param, o.host.c_str(), o.host.size()) != 1)
    return Fail(ErrorCode::kInvalidArgument, "host " + o.host + ": rejected (" + DrainErrors() + ")");
  if (!o.ip.empty() && X509_VERIFY_PARAM_set1_ip_asc(param, o.ip.c_str()) != 1)
    return Fail(ErrorCode::kInvalidArgument, "ip " + o.ip + ": not an IPv4 or IPv6 address");
  // Server and client EKU are mica's own layer (CheckEku) and OpenSSL's SSL_SERVER /
  // SSL_CLIENT purposes stay off so the two do not disagree: OpenSSL would also demand
  // them of the anchor, take Server Gated Crypto for serverAuth, refuse anyEKU alone and
  // hold the leaf's keyUsage to a TLS key exchange (the TLS stack's check, RFC 8446
  // 4.4.2.2, not path validation's).
  int purpose = 0;
  switch (o.purpose) {
    case VerifyPurpose::kEmail: purpose = X509_PURPOSE_SMIME_SIGN; break;
    case VerifyPurpose::kServer:
    case VerifyPurpose::kClient:
    case VerifyPurpose::kCodeSigning:  // OpenSSL 3.0 has no code-signing purpose: EKU below
    case VerifyPurpose::kAny: purpose = 0; break;
  }
  if (purpose != 0 && X509_VERIFY_PARAM_set_purpose(param, purpose) != 1)
    return Fail(ErrorCode::kInternal, "X509_VERIFY_PARAM_set_purpose: " + DrainErrors());

  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf->get(), untrusted.get()) != 1)
    return Fail(ErrorCode::kInternal, "X509_STORE_CTX_init: " + DrainErrors());
  // The callback reads the options; they outlive ctx.
  X509_STORE_CTX_set_app_data(ctx.get(), const_cast<VerifyOptions*>(&o));
  X509_STORE_CTX_set_verify_cb(ctx.get(), VerifyCallback);

  VerifyResult r;
  const int rc = X509_verify_cert(ctx.get());
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());  // get0: ctx owns
  if (chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) r.chain.push_back(CertFingerprint(sk_X509_value(chain, i)));
  }
  if (rc == 1) {
    r.ok = true;
    std::optional<LayerFailure> failure;
    const bool lone_leaf = chain != nullptr && sk_X509_num(chain) == 1;
    if (o.leaf_is_trusted && o.trusted_leaf_must_be_self_signed && lone_leaf && !IsSelfSigned(leaf->get()))
      failure = LayerFailure{0, "cert_untrusted", "trusted leaf certificate is not self-signed"};
    if (!failure && chain != nullptr && (o.purpose == VerifyPurpose::kServer || o.purpose == VerifyPurpose::kClient))
      failure = CheckEku(chain, o);
    // Every certificate but a name-and-key anchor (whose extensions are no input).
    const int checked = chain == nullptr ? 0 : (lone_leaf || o.anchor.constraints ? sk_X509_num(chain) : sk_X509_num(chain) - 1);
    for (int i = 0; !failure && i < checked; ++i)
      if (HasUnknownCriticalPolicyQualifier(sk_X509_value(chain, i)))
        failure = LayerFailure{i, "unhandled_critical_extension",
                               "critical certificatePolicies with a qualifier other than CPS or user notice"};
    if (!failure && chain != nullptr && o.anchor.constraints && o.anchor.require_basic_constraints)
      failure = CheckAnchorBasicConstraints(chain);
    if (!failure && chain != nullptr && o.anchor.constraints)
      failure = CheckAnchorPolicies(chain, policies.get(), flags);
    if (!failure && o.purpose == VerifyPurpose::kCodeSigning) {
      // RFC 5280 4.2.1.12: an EKU, when present, must allow code signing. We require the
      // extension: a code-signing certificate without an explicit EKU is not one.
      const uint32_t xku = X509_get_extended_key_usage(leaf->get());
      if (X509_get_extension_flags(leaf->get()) & EXFLAG_XKUSAGE ? !(xku & XKU_CODE_SIGN) : true)
        failure = LayerFailure{0, "invalid_purpose", "leaf certificate has no code-signing extended key usage"};
    }
    if (failure) {
      r.ok = false;
      r.error = failure->message;
      r.error_code = failure->code;
      r.error_depth = failure->depth;
    }
  } else {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    r.ok = false;
    r.error = X509_verify_cert_error_string(err);
    r.error_code = ErrorToken(err);
    r.error_depth = X509_STORE_CTX_get_error_depth(ctx.get());
    if (rc < 0 && err == X509_V_OK) {
      r.error = "verification could not run: " + DrainErrors();
      r.error_code = "internal";
    }
  }
  DrainErrors();
  return r;
}

}  // namespace mica::x509
