// Plain value types for every machine identity mica understands.
//
// These cross module boundaries (discover, store, cli, policy ...); they hold no OpenSSL
// handle. An Identity is one certificate, key or SSH object found in some content; its
// `fingerprint` together with its `kind` is its key in the inventory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/time.h"

namespace mica::x509 {

enum class Kind {
  kCertificate,     // X.509 certificate
  kPrivateKey,      // PKCS#8 / PKCS#1 / SEC1 / DSA private key, clear or encrypted
  kPublicKey,       // SPKI or PKCS#1 public key
  kSshPublicKey,    // OpenSSH public key or authorized_keys line
  kSshPrivateKey,   // OpenSSH or PuTTY private key
  kSshCertificate,  // OpenSSH certificate (*-cert-v01@openssh.com)
  kKeystoreEntry,   // a protected entry of a keystore that could not be opened
};

// "certificate", "private_key", ... : the stable names used in JSON, CSV and the store.
const char* KindName(Kind kind);
std::optional<Kind> KindFromName(std::string_view name);

enum class KeyType { kUnknown, kRsa, kEc, kEd25519, kEd448, kDsa, kX25519, kX448 };
const char* KeyTypeName(KeyType type);  // "rsa", "ec", "ed25519", ...

struct KeyInfo {
  KeyType type = KeyType::kUnknown;
  int bits = 0;        // RSA modulus / DSA p bits; EC field bits; as EVP_PKEY_get_bits
  std::string curve;   // OpenSSL short name of the named curve ("prime256v1"), else ""
  // Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo: links certificates, private
  // keys, public keys and SSH keys of the same key pair. Empty when unknown (an
  // encrypted private key whose public half is not stored beside it).
  std::string spki_sha256;
};

// Key usage bits, in RFC 5280 section 4.2.1.3 order.
enum KeyUsageBit : std::uint16_t {
  kKuDigitalSignature = 1 << 0,
  kKuNonRepudiation = 1 << 1,
  kKuKeyEncipherment = 1 << 2,
  kKuDataEncipherment = 1 << 3,
  kKuKeyAgreement = 1 << 4,
  kKuKeyCertSign = 1 << 5,
  kKuCrlSign = 1 << 6,
  kKuEncipherOnly = 1 << 7,
  kKuDecipherOnly = 1 << 8,
};
// "digital_signature", "key_cert_sign", ... for the bits set.
std::vector<std::string> KeyUsageNames(std::uint16_t bits);

struct NameParts {
  std::string cn, o, ou, c;  // first value of each attribute, UTF-8; "" when absent
};

struct CertificateInfo {
  int version = 0;           // 1, 2 or 3
  std::string subject;       // RFC 4514 string, see docs/FORMATS.md for the exact form
  std::string issuer;
  NameParts subject_parts;
  NameParts issuer_parts;
  std::string serial_hex;    // upper-case hex as OpenSSL's BN_bn2hex prints it
  UnixSeconds not_before = 0;
  UnixSeconds not_after = 0;
  std::vector<std::string> san_dns, san_ip, san_email, san_uri;
  std::string signature_algorithm;  // OpenSSL long name, e.g. "sha256WithRSAEncryption"
  bool has_key_usage = false;
  std::uint16_t key_usage = 0;      // KeyUsageBit set
  // Extended key usage: "server_auth", "client_auth", "code_signing", "email_protection",
  // "time_stamping", "ocsp_signing", "any", or the dotted OID of anything else.
  std::vector<std::string> eku;
  bool has_basic_constraints = false;
  bool is_ca = false;
  int path_len = -1;                // -1: no pathLenConstraint
  std::string ski_hex, aki_hex;     // lower-case hex key identifiers, "" when absent
  std::vector<std::string> ocsp_urls, ca_issuer_urls, crl_urls;
  int sct_count = 0;                // embedded SCTs (RFC 6962 section 3.3)
  std::vector<std::string> policy_oids;
  bool self_issued = false;         // subject and issuer names match
  bool self_signed = false;         // self-issued and the signature verifies with its own key
  std::string sha1_hex;             // for display only
};

struct PrivateKeyInfo {
  // "pkcs8", "pkcs8_encrypted", "pkcs1", "sec1", "dsa", "openssh", "ppk",
  // "pkcs12_entry", "jks_entry"
  std::string format;
  bool encrypted = false;
  std::string cipher;  // e.g. "aes256-ctr", "AES-256-CBC", "none"
};

struct SshInfo {
  std::string algorithm;        // "ssh-ed25519", "rsa-sha2-512", "ssh-rsa-cert-v01@openssh.com"
  std::string comment;
  std::string options;          // authorized_keys options, verbatim
  // OpenSSH certificates only:
  std::uint64_t serial = 0;
  std::string cert_type;        // "user" or "host"
  std::string key_id;
  std::vector<std::string> principals;
  UnixSeconds valid_after = 0;
  UnixSeconds valid_before = 0; // UINT64_MAX "forever" is clamped to INT64_MAX
  std::string ca_fingerprint;   // "SHA256:..." of the signing CA key
  std::vector<std::string> critical_options, extensions;
};

struct Identity {
  Kind kind = Kind::kCertificate;
  // Certificates: hex SHA-256 of the DER. Private / public keys: hex SHA-256 of the SPKI
  // (of the encrypted blob when the public half is unknown, prefixed "blob:"). SSH keys
  // and certificates: "SHA256:<base64>" as `ssh-keygen -l` prints it.
  std::string fingerprint;
  KeyInfo key;
  std::optional<CertificateInfo> cert;
  std::optional<PrivateKeyInfo> private_key;
  std::optional<SshInfo> ssh;
  // Where inside the content this came from: "pem:3" (third PEM block), "der",
  // "pkcs7:2", "pkcs12:cert:1", "jks:alias", "line:12".
  std::string position;
  // Certificates: the DER certificate. Keys whose public half is known (private, public
  // and SSH keys, SSH certificates): the DER SubjectPublicKeyInfo of that public key.
  // Kept so that later checks (chain building, weak keys) need no re-read; empty when
  // unknown (encrypted keys, keystore entries).
  Bytes der;
};

}  // namespace mica::x509
