// The RSA public numbers (n, e) of a certificate or SubjectPublicKeyInfo, as the bytes
// they were encoded with, for the weak-key checks of policy/weak_keys.h.
//
// Read with mica's strict DER reader rather than through OpenSSL so that encodings OpenSSL
// would normalise away (a redundant leading 0x00, a negative INTEGER) stay visible as
// findings. Thread-safe, no state.
#pragma once

#include "core/encoding.h"
#include "core/error.h"
#include "x509/identity.h"

namespace mica::x509 {

struct RsaPublicNumbers {
  Bytes n;  // big-endian magnitude, no leading zero octets
  Bytes e;
  // X.690 8.3.2: the INTEGER had a redundant leading octet (0x00 before a byte < 0x80).
  bool non_minimal = false;
  // The INTEGER was negative (first content octet >= 0x80): not a valid modulus/exponent.
  bool negative = false;
};

// From a DER SubjectPublicKeyInfo with the rsaEncryption or RSASSA-PSS algorithm (RFC
// 8017 A.1.1 RSAPublicKey inside). ErrorCode::kUnsupported when the key is not RSA,
// kInput when the DER is malformed (the message says where).
[[nodiscard]] Result<RsaPublicNumbers> RsaFromSpki(ByteView spki_der);
// From a DER certificate: its subjectPublicKeyInfo (RFC 5280 section 4.1.2.7).
[[nodiscard]] Result<RsaPublicNumbers> RsaFromCertificate(ByteView cert_der);
// From a parsed identity: `der` holds the certificate (certificates) or the SPKI (keys);
// kNotFound when the identity carries neither (an encrypted key, an older inventory row).
[[nodiscard]] Result<RsaPublicNumbers> RsaFromIdentity(const Identity& id);

}  // namespace mica::x509
