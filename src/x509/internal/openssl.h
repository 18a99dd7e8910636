// RAII over OpenSSL for the x509 module (private: no other module includes this).
//
// Every OpenSSL object goes straight into one of these owners; no *_free call appears
// anywhere else. Callers note at each OpenSSL call whether it returns a borrowed (get0)
// or owned (get1) object.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>

#include "core/unique_handle.h"
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/encoding.h"

namespace mica::x509::internal {

using ::mica::Deleter;
using ::mica::Ptr;

using X509Ptr = Ptr<X509, X509_free>;
using X509NamePtr = Ptr<X509_NAME, X509_NAME_free>;
using EvpPkeyPtr = Ptr<EVP_PKEY, EVP_PKEY_free>;
using BioPtr = Ptr<BIO, BIO_free_all>;
using BignumPtr = Ptr<BIGNUM, BN_free>;
using Pkcs7Ptr = Ptr<PKCS7, PKCS7_free>;
using Pkcs12Ptr = Ptr<PKCS12, PKCS12_free>;
using Asn1ObjectPtr = Ptr<ASN1_OBJECT, ASN1_OBJECT_free>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES, GENERAL_NAMES_free>;
using X509SigPtr = Ptr<X509_SIG, X509_SIG_free>;
using Pkcs8Ptr = Ptr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>;
using EvpMdCtxPtr = Ptr<EVP_MD_CTX, EVP_MD_CTX_free>;

inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = Ptr<STACK_OF(X509), FreeX509Stack>;

// Pops the whole OpenSSL error queue of this thread into one readable string ("" when
// empty). Call after every failed OpenSSL call so the queue never stays dirty.
inline std::string DrainErrors() { return DrainOpenSslErrors(); }

// A memory BIO over borrowed bytes (read-only; the bytes must outlive the BIO).
inline BioPtr MemBio(ByteView data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

}  // namespace mica::x509::internal
