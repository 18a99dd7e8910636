// The reference certificate decoder: every CertificateInfo field read through OpenSSL's
// own API (d2i_X509, X509_get_*, X509_NAME_print_ex, X509_get_ext_d2i ...).
//
// It is slow (OpenSSL decodes the key eagerly and takes locks) and exists as the oracle
// that certificate_diff_test.cpp compares the fast decoder (certificate.h) against; the
// field definitions in certificate.h are what this file computes. Thread-safe.
#pragma once

#include <openssl/evp.h>

#include "core/error.h"
#include "x509/identity.h"

namespace mica::x509::internal {

// Same contract as DecodeCertificate: the whole input must be one DER certificate.
[[nodiscard]] Result<Identity> DecodeCertificateWithOpenSsl(ByteView der);

// DecodeSpki through d2i_PUBKEY: the oracle for KeyInfo, and the fast decoder's fallback
// for keys it does not read itself (explicit EC parameters, unknown algorithms).
[[nodiscard]] Result<KeyInfo> DecodeSpkiWithOpenSsl(ByteView spki_der);

// Fills type, bits and curve of `key` from an OpenSSL key (nullptr leaves them unknown).
void FillKeyFromPkey(const EVP_PKEY* pkey, KeyInfo& key);

}  // namespace mica::x509::internal
