// Chain building and validation (RFC 5280 section 6) through OpenSSL's X509_verify_cert.
//
// Value-typed: certificates and CRLs go in as DER bytes, the result comes out as plain
// fields; no OpenSSL handle crosses this header. `mica verify` and the policy rule
// "chain does not verify" share this engine. Thread-safe: every call builds its own
// X509_STORE; the system roots are loaded per call (callers that verify many leaves
// against the same roots pass them in `roots` instead).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/error.h"
#include "core/time.h"

namespace mica::x509 {

enum class VerifyPurpose { kAny, kServer, kClient, kCodeSigning, kEmail };
std::optional<VerifyPurpose> VerifyPurposeFromName(std::string_view name);  // "server", ...
const char* VerifyPurposeName(VerifyPurpose p);

struct VerifyOptions {
  std::vector<Bytes> untrusted;   // intermediates offered for chain building (DER)
  std::vector<Bytes> roots;       // trust anchors (DER)
  bool system_roots = true;       // also trust OpenSSL's default paths (/etc/ssl/certs)
  std::vector<Bytes> crls;        // DER; when non-empty every certificate of the chain
                                  // must have a CRL (X509_V_FLAG_CRL_CHECK | _CHECK_ALL)
  std::string host;               // RFC 6125 name check against the leaf ("" = none)
  std::string ip;                 // IP address check against the leaf ("" = none)
  VerifyPurpose purpose = VerifyPurpose::kAny;
  std::optional<UnixSeconds> at;  // validation time; nullopt = now
  int max_depth = -1;             // maximum number of intermediates; -1 = OpenSSL default
  bool partial_chain = false;     // accept a trusted non-self-signed certificate as anchor
  bool leaf_is_trusted = false;   // the leaf itself is a trust anchor (TRUSTED_LEAF)
  // RFC 5280 section 6.1.1 (d): a trust anchor is a name and a key; its certificate's own
  // validity, basicConstraints, key usage and EKU are not inputs to path validation. When
  // false (OpenSSL's default, `true` here), errors raised on the anchor are still fatal.
  bool check_anchor = true;
  // OpenSSL security level for the chain's keys and signature digests: 1 (80 bits)
  // rejects RSA/DSA below 1024 bits and, in OpenSSL 3.0, SHA-1 and MD5 signatures.
  // 0 accepts anything.
  int auth_level = 1;
};

struct VerifyResult {
  bool ok = false;
  std::string error;        // "" when ok; OpenSSL's X509_verify_cert_error_string text
  std::string error_code;   // stable token: "certificate_has_expired", ... ("" when ok)
  int error_depth = -1;     // index in the chain of the certificate at fault; -1 when ok
  std::vector<std::string> chain;  // SHA-256 hex fingerprints, leaf first, as built
};

// Errors (the Result's error) are bad inputs: a certificate or CRL that does not decode,
// a malformed IP address. A chain that fails to verify is a VerifyResult with ok=false.
[[nodiscard]] Result<VerifyResult> VerifyChain(ByteView leaf_der, const VerifyOptions& options);

// Reads every certificate of a PEM (any number of CERTIFICATE blocks) or DER file.
[[nodiscard]] Result<std::vector<Bytes>> ReadCertificates(ByteView content);
// Reads every CRL of a PEM (X509 CRL blocks) or DER file.
[[nodiscard]] Result<std::vector<Bytes>> ReadCrls(ByteView content);

}  // namespace mica::x509
