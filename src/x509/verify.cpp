// Chain validation over OpenSSL's X509_verify_cert (see verify.h).
#include "x509/verify.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

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

// Verify callback used when the anchor's own fields are not checked (check_anchor=false):
// errors about a certificate that came from the trust store (index >= number of
// untrusted certificates in the chain) and concern its validity period, CA-ness, key
// usage, EKU or path length are ignored; every other error stays fatal.
int IgnoreAnchorFields(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  if (depth < X509_STORE_CTX_get_num_untrusted(ctx)) return ok;
  switch (X509_STORE_CTX_get_error(ctx)) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return 1;
    default:
      return ok;
  }
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
  if (o.system_roots && X509_STORE_set_default_paths(store.get()) != 1)
    DrainErrors();  // a missing system bundle only means fewer anchors
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
  unsigned long flags = X509_V_FLAG_X509_STRICT;
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
  if (!o.host.empty() && X509_VERIFY_PARAM_set1_host(param, o.host.c_str(), o.host.size()) != 1)
    return Fail(ErrorCode::kInvalidArgument, "host " + o.host + ": rejected (" + DrainErrors() + ")");
  if (!o.ip.empty() && X509_VERIFY_PARAM_set1_ip_asc(param, o.ip.c_str()) != 1)
    return Fail(ErrorCode::kInvalidArgument, "ip " + o.ip + ": not an IPv4 or IPv6 address");
  int purpose = 0;
  switch (o.purpose) {
    case VerifyPurpose::kServer: purpose = X509_PURPOSE_SSL_SERVER; break;
    case VerifyPurpose::kClient: purpose = X509_PURPOSE_SSL_CLIENT; break;
    case VerifyPurpose::kEmail: purpose = X509_PURPOSE_SMIME_SIGN; break;
    case VerifyPurpose::kCodeSigning:  // OpenSSL 3.0 has no code-signing purpose: EKU below
    case VerifyPurpose::kAny: purpose = 0; break;
  }
  if (purpose != 0 && X509_VERIFY_PARAM_set_purpose(param, purpose) != 1)
    return Fail(ErrorCode::kInternal, "X509_VERIFY_PARAM_set_purpose: " + DrainErrors());

  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf->get(), untrusted.get()) != 1)
    return Fail(ErrorCode::kInternal, "X509_STORE_CTX_init: " + DrainErrors());

  if (!o.check_anchor) X509_STORE_CTX_set_verify_cb(ctx.get(), IgnoreAnchorFields);

  VerifyResult r;
  const int rc = X509_verify_cert(ctx.get());
  if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get())) {  // get0: ctx owns
    for (int i = 0; i < sk_X509_num(chain); ++i) r.chain.push_back(CertFingerprint(sk_X509_value(chain, i)));
  }
  if (rc == 1) {
    r.ok = true;
    if (o.purpose == VerifyPurpose::kCodeSigning) {
      // RFC 5280 4.2.1.12: an EKU, when present, must allow code signing. We require the
      // extension: a code-signing certificate without an explicit EKU is not one.
      const uint32_t xku = X509_get_extended_key_usage(leaf->get());
      if (X509_get_extension_flags(leaf->get()) & EXFLAG_XKUSAGE ? !(xku & XKU_CODE_SIGN) : true) {
        r.ok = false;
        r.error = "leaf certificate has no code-signing extended key usage";
        r.error_code = "invalid_purpose";
        r.error_depth = 0;
      }
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
