#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <stdexcept>

#include "fixtures.h"

namespace mica::testing {

namespace {

template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Free<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("MakeCertificate: ") + what);
}

KeyPtr NewKey(const std::string& kind) {
  EVP_PKEY* k = nullptr;
  if (kind == "rsa") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  else if (kind == "rsa3072") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072});
  else if (kind == "ec") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  else if (kind == "ec384") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  else if (kind == "ed25519") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  Check(k != nullptr, "key generation");
  return KeyPtr(k);
}

std::string ToPem(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

CertAndKey MakeCertificate(const CertSpec& spec) {
  const long long now = static_cast<long long>(std::time(nullptr));
  KeyPtr key = NewKey(spec.key);
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  static long serial = 1000;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
  X509_NAME* name = X509_get_subject_name(cert.get());  // get0: owned by cert
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                static_cast<time_t>(spec.not_before ? spec.not_before : now - 86400));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                static_cast<time_t>(spec.not_after ? spec.not_after : now + 30 * 86400));
  X509_set_pubkey(cert.get(), key.get());

  CertPtr issuer_cert;
  KeyPtr issuer_key;
  if (!spec.issuer_cert_pem.empty()) {
    BioPtr cb(BIO_new_mem_buf(spec.issuer_cert_pem.data(), static_cast<int>(spec.issuer_cert_pem.size())));
    issuer_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    BioPtr kb(BIO_new_mem_buf(spec.issuer_key_pem.data(), static_cast<int>(spec.issuer_key_pem.size())));
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    Check(issuer_cert && issuer_key, "issuer PEM");
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* iss = issuer_cert ? issuer_cert.get() : cert.get();
  AddExt(cert.get(), iss, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  AddExt(cert.get(), iss, NID_subject_key_identifier, "hash");
  AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid");
  if (spec.ca) AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!spec.eku.empty()) AddExt(cert.get(), iss, NID_ext_key_usage, spec.eku);
  if (!spec.san.empty()) AddExt(cert.get(), iss, NID_subject_alt_name, spec.san);

  EVP_PKEY* signer = issuer_key ? issuer_key.get() : key.get();
  const EVP_MD* md = EVP_PKEY_get_id(signer) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  Check(X509_sign(cert.get(), signer, md) > 0, "sign");

  CertAndKey out;
  BioPtr cbio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cbio.get(), cert.get());
  out.cert_pem = ToPem(cbio.get());
  BioPtr kbio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(kbio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = ToPem(kbio.get());
  return out;
}

}  // namespace mica::testing
