// Key, keystore and container parsers behind ParseContent. Private to the x509 module.
//
// Each parser appends what it finds to a ParsedContent; `prefix` is prepended to every
// position it writes ("pem:3/" for a PKCS#7 inside the third PEM block, "" at top level).
// None of them prompts for a password: every OpenSSL call that could ask gets a callback
// that refuses.
#pragma once

#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "core/error.h"
#include "x509/identity.h"
#include "x509/parse.h"

namespace mica::x509::internal {

// Type, bits, curve and spki_sha256 of any OpenSSL key (borrowed). With `spki_out`, also
// the DER SubjectPublicKeyInfo (what Identity::der holds for keys).
[[nodiscard]] Result<KeyInfo> KeyInfoFromPkey(const EVP_PKEY* pkey, Bytes* spki_out = nullptr);

// Makes sure OpenSSL's "legacy" provider (RC2, 3DES PBEs of old PKCS#12 files) is loaded
// beside "default". Idempotent and thread-safe; a missing legacy provider is not an error.
void LoadLegacyProviderOnce();

// A clear private key in DER. `format` is "pkcs8", "pkcs1", "sec1" or "dsa"; "" tries
// them all in that order and records the one that matched.
[[nodiscard]] Result<Identity> ParsePrivateKeyDer(ByteView der, std::string_view format);
// An EncryptedPrivateKeyInfo (RFC 5958 section 3): the key type stays unknown.
[[nodiscard]] Result<Identity> ParseEncryptedPkcs8Der(ByteView der);
// A traditional OpenSSL "Proc-Type: 4,ENCRYPTED" key; `label` is "RSA PRIVATE KEY" etc.
[[nodiscard]] Identity TraditionalEncryptedKey(ByteView der, std::string_view label,
                                               std::string_view dek_info);
// A SubjectPublicKeyInfo (RFC 5280 section 4.1.2.7).
[[nodiscard]] Result<Identity> ParseSpkiDer(ByteView der);
// A PKCS#1 RSAPublicKey (RFC 8017 appendix A.1.1), reported by its SPKI fingerprint.
[[nodiscard]] Result<Identity> ParseRsaPublicKeyDer(ByteView der);

// A certificate through DecodeCertificate; failures become an issue at `position`.
void AddCertificate(ByteView der, std::string position, ParsedContent& out);

// PKCS#7 SignedData (RFC 2315 section 9.1): every certificate in it. Returns false when
// `der` is not a PKCS#7 structure at all.
bool ParsePkcs7Der(ByteView der, std::string_view prefix, ParsedContent& out);
// PKCS#12 (RFC 7292). Returns false when `der` is not a PKCS#12 structure at all.
bool ParsePkcs12Der(ByteView der, const ParseOptions& options, std::string_view prefix,
                    ParsedContent& out);
// Java KeyStore (JKS, 0xFEEDFEED) and JCE KeyStore (JCEKS, 0xCECECECE).
void ParseJavaKeystore(ByteView data, ParsedContent& out);

}  // namespace mica::x509::internal
