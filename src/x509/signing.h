// Signing and verifying short messages with an operator's key (Ed25519 or ECDSA P-256 /
// P-384 with SHA-256 / SHA-384): the audit log's checkpoints, later transparency-log
// entries. No OpenSSL handle crosses this header; a SigningKey owns its key.
//
// Errors: kNotFound / kPermission for an unreadable key file, kInput for a file that is
// not a supported private key (the message names the path and the reason).
#pragma once

#include <memory>
#include <string>

#include "core/encoding.h"
#include "core/error.h"

namespace mica::x509 {

class SigningKey {
 public:
  // Reads an unencrypted PEM private key (PKCS#8, or SEC1 for EC).
  [[nodiscard]] static Result<SigningKey> Load(const std::string& path);
  // Same, from PEM text; `name` is used in error messages.
  [[nodiscard]] static Result<SigningKey> FromPem(std::string_view pem, const std::string& name);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  [[nodiscard]] Result<Bytes> Sign(ByteView message) const;
  // "ed25519", "ecdsa-p256-sha256", "ecdsa-p384-sha384"
  const std::string& algorithm() const { return algorithm_; }
  // SHA-256 hex of the public key's SubjectPublicKeyInfo: what a checkpoint names.
  const std::string& key_id() const { return key_id_; }
  const Bytes& public_spki() const { return spki_; }

 private:
  struct Impl;
  SigningKey();
  std::unique_ptr<Impl> impl_;
  std::string algorithm_, key_id_;
  Bytes spki_;
};

// Verifies `signature` over `message` with the public key in `spki_der`; false when it
// does not verify (or the key is not a supported type).
bool VerifySignature(ByteView spki_der, ByteView message, ByteView signature);

// Reads the SubjectPublicKeyInfo (DER) from a PEM public key or private key file.
[[nodiscard]] Result<Bytes> ReadPublicKey(const std::string& path);

}  // namespace mica::x509
