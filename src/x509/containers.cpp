// Certificate containers: PKCS#7 SignedData "certs-only" bundles (RFC 2315, as made by
// `openssl crl2pkcs7 -nocrl`) and PKCS#12 (RFC 7292).
#include <openssl/objects.h>

#include "x509/internal/keys.h"
#include "x509/internal/openssl.h"

namespace mica::x509::internal {
namespace {

Result<Bytes> CertDer(X509* cert) {
  const int n = i2d_X509(cert, nullptr);
  if (n <= 0) return Fail(ErrorCode::kInput, "cannot re-encode certificate: " + DrainErrors());
  Bytes der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d_X509(cert, &p);
  return der;
}

void AddX509(X509* cert, std::string position, ParsedContent& out) {
  auto der = CertDer(cert);
  if (!der) {
    out.issues.push_back({std::move(position), der.error().message});
    return;
  }
  AddCertificate(*der, std::move(position), out);
}

}  // namespace

bool ParsePkcs7Der(ByteView der, std::string_view prefix, ParsedContent& out) {
  const unsigned char* p = der.data();
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7 || p != der.data() + der.size()) {
    DrainErrors();
    return false;
  }
  STACK_OF(X509)* certs = nullptr;  // borrowed from p7
  switch (OBJ_obj2nid(p7->type)) {
    case NID_pkcs7_signed:
      if (p7->d.sign != nullptr) certs = p7->d.sign->cert;
      break;
    case NID_pkcs7_signedAndEnveloped:
      if (p7->d.signed_and_enveloped != nullptr) certs = p7->d.signed_and_enveloped->cert;
      break;
    default:
      out.issues.push_back({std::string(prefix) + "pkcs7", "PKCS#7 without certificates"});
      return true;
  }
  const int n = certs != nullptr ? sk_X509_num(certs) : 0;
  for (int i = 0; i < n; ++i) {
    AddX509(sk_X509_value(certs, i),  // get0: borrowed
            std::string(prefix) + "pkcs7:" + std::to_string(i + 1), out);
  }
  return true;
}

// Opened with the empty password, a PKCS#12 protects nothing: its key is reported with
// encrypted=false. Opened with a configured password, encrypted=true (the key is at rest
// behind a password, which is what an inventory wants to know).
bool ParsePkcs12Der(ByteView der, const ParseOptions& options, std::string_view prefix,
                    ParsedContent& out) {
  LoadLegacyProviderOnce();
  const unsigned char* p = der.data();
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12 || p != der.data() + der.size()) {
    DrainErrors();
    return false;
  }
  // PKCS12_parse itself tries both a NULL and an empty password for "".
  std::vector<const std::string*> candidates;
  static const std::string kEmpty;
  candidates.push_back(&kEmpty);
  for (const auto& pw : options.pkcs12_passwords) {
    if (!pw.empty()) candidates.push_back(&pw);
  }
  for (const std::string* pw : candidates) {
    EVP_PKEY* raw_key = nullptr;
    X509* raw_cert = nullptr;
    STACK_OF(X509)* raw_ca = nullptr;
    const int ok = PKCS12_parse(p12.get(), pw->c_str(), &raw_key, &raw_cert, &raw_ca);
    // All three are get1: we own them.
    EvpPkeyPtr key(raw_key);
    X509Ptr cert(raw_cert);
    X509StackPtr ca(raw_ca);
    if (ok != 1) {
      DrainErrors();
      continue;
    }
    int n = 0;
    if (cert) AddX509(cert.get(), std::string(prefix) + "pkcs12:cert:" + std::to_string(++n), out);
    const int extra = ca ? sk_X509_num(ca.get()) : 0;
    for (int i = 0; i < extra; ++i) {
      AddX509(sk_X509_value(ca.get(), i),
              std::string(prefix) + "pkcs12:cert:" + std::to_string(++n), out);
    }
    if (key) {
      Bytes spki;
      auto info = KeyInfoFromPkey(key.get(), &spki);
      if (!info) {
        out.issues.push_back({std::string(prefix) + "pkcs12:key", info.error().message});
      } else {
        Identity id;
        id.kind = Kind::kPrivateKey;
        id.fingerprint = info->spki_sha256;
        id.key = std::move(*info);
        id.der = std::move(spki);
        id.private_key = PrivateKeyInfo{"pkcs12_entry", !pw->empty(), ""};
        id.position = std::string(prefix) + "pkcs12:key";
        out.identities.push_back(std::move(id));
      }
    }
    DrainErrors();
    return true;
  }
  Identity id;
  id.kind = Kind::kKeystoreEntry;
  id.fingerprint = "blob:" + Sha256Hex(der);
  id.private_key = PrivateKeyInfo{"pkcs12_entry", true, ""};
  id.position = std::string(prefix) + "pkcs12";
  out.identities.push_back(std::move(id));
  out.issues.push_back({std::string(prefix) + "pkcs12", "encrypted, not opened"});
  return true;
}

}  // namespace mica::x509::internal
