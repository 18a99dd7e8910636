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

// How the extended key usage of the server and client purposes is enforced. RFC 5280
// 4.2.1.12 leaves EKU in CA certificates to the application; mica follows the Web PKI
// verifier (Chrome's, BoringSSL's pki/ KeyPurpose SERVER_AUTH, *_STRICT_LEAF, *_STRICT).
// The trust anchor's EKU counts only when its constraints are enforced (AnchorChecks).
enum class EkuMode {
  // Leaf and every CA below the anchor: an EKU, when present, names the purpose or
  // anyExtendedKeyUsage. A leaf without EKU is good for any purpose.
  kLenient,
  // The leaf as kStrict; the CAs as kLenient.
  kStrictLeaf,
  // The leaf must have an EKU naming the purpose itself (anyExtendedKeyUsage does not
  // count), none of codeSigning, OCSPSigning, timeStamping, and must not be a CA unless
  // it is itself trusted. A CA below the anchor with an EKU must name the purpose itself;
  // for the client purpose the leaf's issuer must have such an EKU.
  kStrict,
};
std::optional<EkuMode> EkuModeFromName(std::string_view name);  // "lenient", ...
const char* EkuModeName(EkuMode m);

// RFC 5280 6.1.1 (d): a trust anchor is a name and a key; its certificate's own fields
// are no input to path validation. Each flag below makes one group of them count again,
// as BoringSSL's TRUSTED_ANCHOR_WITH_EXPIRATION / _WITH_CONSTRAINTS /
// _REQUIRE_BASIC_CONSTRAINTS do. All on (OpenSSL's behaviour, plus the anchor's policy
// extensions) is the default; all off is the RFC's name-and-key anchor. A certificate
// that is trusted as a leaf (leaf_is_trusted) is the target, not an anchor: its validity
// and EKU are always checked.
struct AnchorChecks {
  bool validity = true;     // notBefore / notAfter
  // basicConstraints (cA, pathLen), keyUsage keyCertSign, EKU, unknown critical
  // extensions, policy constraints, policy mappings, inhibitAnyPolicy and certificate
  // policies (processed as if the anchor were the first CA of the path).
  bool constraints = true;
  // With `constraints`: an anchor without a basicConstraints extension is refused. When
  // false such an anchor counts as a CA without a path length limit.
  bool require_basic_constraints = true;
};

struct VerifyOptions {
  std::vector<Bytes> untrusted;   // intermediates offered for chain building (DER)
  std::vector<Bytes> roots;       // trust anchors (DER)
  bool system_roots = true;       // also trust OpenSSL's default paths (/etc/ssl/certs)
  std::vector<Bytes> crls;        // DER; when non-empty every certificate of the chain
                                  // must have a CRL (X509_V_FLAG_CRL_CHECK | _CHECK_ALL)
  std::string host;               // RFC 6125 name check against the leaf ("" = none)
  std::string ip;                 // IP address check against the leaf ("" = none)
  VerifyPurpose purpose = VerifyPurpose::kAny;
  EkuMode eku_mode = EkuMode::kLenient;  // server and client purposes only
  std::optional<UnixSeconds> at;  // validation time; nullopt = now
  int max_depth = -1;             // maximum number of intermediates; -1 = OpenSSL default
  bool partial_chain = false;     // accept a trusted non-self-signed certificate as anchor
  bool leaf_is_trusted = false;   // the leaf itself is trusted (pinned) and may end the path
  // With leaf_is_trusted: the leaf is only trusted when it is self-signed (its subject is
  // its issuer and its own key verifies its signature).
  bool trusted_leaf_must_be_self_signed = false;
  AnchorChecks anchor;
  // OpenSSL's X509_V_FLAG_X509_STRICT profile checks on top of RFC 5280 path validation:
  // basicConstraints critical in CAs, no pathLen or keyCertSign in non-CAs, AKID/SKID
  // presence, no explicit EC parameters, ... These are rules for issuers that RFC 5280
  // section 6 does not make path-validation failures.
  bool x509_strict = true;
  // OpenSSL security level for the chain's keys and signature digests: 1 (80 bits)
  // rejects RSA/DSA below 1024 bits and, in OpenSSL 3.0, SHA-1 and MD5 signatures.
  // 0 accepts anything.
  int auth_level = 1;
  // Accept SHA-1 signatures that auth_level rejects (keys are still held to it; MD5 is
  // not affected). For legacy chains and test suites of SHA-1's era.
  bool allow_sha1 = false;
  // RFC 5280 6.1.1 (c), (e), (f), (g): user-initial-policy-set (dotted OIDs; empty =
  // anyPolicy), initial-explicit-policy, initial-policy-mapping-inhibit,
  // initial-any-policy-inhibit. Policy processing (6.1.3 (d)-(f)) always runs.
  std::vector<std::string> initial_policies;
  bool explicit_policy = false;
  bool inhibit_policy_mapping = false;
  bool inhibit_any_policy = false;
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
