// Fast X.509 certificate decoding into CertificateInfo.
//
// The bulk inventory path decodes certificates with mica's own strict DER reader and
// does not decode the public key eagerly (OpenSSL's d2i_X509 does, and is ~10x slower);
// OpenSSL still does all cryptography: the self-signature check of self-issued
// certificates, and, lazily, keys in algorithms the fast path does not know.
// docs/ARCHITECTURE.md explains the choice; x509/certificate_diff_test.cpp compares
// every field with OpenSSL's reading of the same certificates.
//
// Thread-safe: no shared mutable state except an internal OID-name cache (locked).
#pragma once

#include "core/error.h"
#include "x509/identity.h"

namespace mica::x509 {

// Decodes one DER certificate. The whole input must be the certificate (no trailing
// bytes). Errors are ErrorCode::kInput with the reason ("truncated", "bad tag at
// offset N", ...). Sets kind, fingerprint, key, cert and der of the returned Identity.
[[nodiscard]] Result<Identity> DecodeCertificate(ByteView der);

// Decodes a DER SubjectPublicKeyInfo into KeyInfo (type, bits, curve, spki_sha256).
[[nodiscard]] Result<KeyInfo> DecodeSpki(ByteView spki_der);

}  // namespace mica::x509
