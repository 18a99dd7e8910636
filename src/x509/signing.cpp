#include "x509/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "x509/internal/openssl.h"

namespace mica::x509 {

using internal::BioPtr;
using internal::EvpMdCtxPtr;
using internal::EvpPkeyPtr;

struct SigningKey::Impl {
  EvpPkeyPtr key;
  const EVP_MD* md = nullptr;  // nullptr for Ed25519 (one-shot, no pre-hash)
};

SigningKey::SigningKey() : impl_(std::make_unique<Impl>()) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

namespace {

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, "key file " + path + " cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<Bytes> SpkiOf(EVP_PKEY* key, const std::string& name) {
  unsigned char* der = nullptr;
  const int len = ::i2d_PUBKEY(key, &der);  // allocates; freed below
  if (len <= 0) {
    DrainOpenSslErrors();
    return Fail(ErrorCode::kInput, name + ": cannot encode the public key");
  }
  Bytes out(der, der + len);
  ::OPENSSL_free(der);
  return out;
}

}  // namespace

Result<SigningKey> SigningKey::Load(const std::string& path) {
  auto text = ReadText(path);
  if (!text) return tl::unexpected(text.error());
  return FromPem(*text, path);
}

Result<SigningKey> SigningKey::FromPem(std::string_view pem, const std::string& name) {
  BioPtr bio(::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Fail(ErrorCode::kInternal, "BIO_new_mem_buf failed");
  // No password callback: an encrypted key fails here instead of prompting.
  EvpPkeyPtr key(::PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>("")));
  if (!key) {
    const std::string why = DrainOpenSslErrors();
    return Fail(ErrorCode::kInput, name + " is not an unencrypted PEM private key (" + why + ")");
  }
  SigningKey k;
  const int type = ::EVP_PKEY_get_base_id(key.get());
  if (type == EVP_PKEY_ED25519) {
    k.algorithm_ = "ed25519";
  } else if (type == EVP_PKEY_EC) {
    const int bits = ::EVP_PKEY_get_bits(key.get());
    if (bits == 256) {
      k.algorithm_ = "ecdsa-p256-sha256";
      k.impl_->md = ::EVP_sha256();
    } else if (bits == 384) {
      k.algorithm_ = "ecdsa-p384-sha384";
      k.impl_->md = ::EVP_sha384();
    } else {
      return Fail(ErrorCode::kInput, name + ": EC key of " + std::to_string(bits) +
                                         " bits; use P-256, P-384 or Ed25519");
    }
  } else {
    return Fail(ErrorCode::kInput, name + ": unsupported key type for signing; use Ed25519 or "
                                          "ECDSA P-256 / P-384");
  }
  auto spki = SpkiOf(key.get(), name);
  if (!spki) return tl::unexpected(spki.error());
  k.spki_ = std::move(*spki);
  k.key_id_ = Sha256Hex(k.spki_);
  k.impl_->key = std::move(key);
  return k;
}

Result<Bytes> SigningKey::Sign(ByteView message) const {
  EvpMdCtxPtr ctx(::EVP_MD_CTX_new());
  if (!ctx) return Fail(ErrorCode::kInternal, "EVP_MD_CTX_new failed");
  std::size_t len = 0;
  if (::EVP_DigestSignInit(ctx.get(), nullptr, impl_->md, nullptr, impl_->key.get()) != 1 ||
      ::EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return Fail(ErrorCode::kInternal, "signing failed: " + DrainOpenSslErrors());
  }
  Bytes sig(len);
  if (::EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
    return Fail(ErrorCode::kInternal, "signing failed: " + DrainOpenSslErrors());
  sig.resize(len);
  return sig;
}

bool VerifySignature(ByteView spki_der, ByteView message, ByteView signature) {
  const unsigned char* p = spki_der.data();
  EvpPkeyPtr key(::d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!key) {
    DrainOpenSslErrors();
    return false;
  }
  const EVP_MD* md = nullptr;
  if (::EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC)
    md = ::EVP_PKEY_get_bits(key.get()) == 384 ? ::EVP_sha384() : ::EVP_sha256();
  EvpMdCtxPtr ctx(::EVP_MD_CTX_new());
  const bool ok = ctx &&
                  ::EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) == 1 &&
                  ::EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                     message.data(), message.size()) == 1;
  DrainOpenSslErrors();
  return ok;
}

Result<Bytes> ReadPublicKey(const std::string& path) {
  auto text = ReadText(path);
  if (!text) return tl::unexpected(text.error());
  BioPtr bio(::BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  if (!bio) return Fail(ErrorCode::kInternal, "BIO_new_mem_buf failed");
  if (EvpPkeyPtr pub(::PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)); pub)
    return SpkiOf(pub.get(), path);
  DrainOpenSslErrors();
  auto key = SigningKey::FromPem(*text, path);
  if (!key) return Fail(ErrorCode::kInput, path + " holds neither a PEM public key nor a "
                                                  "supported private key");
  return key->public_spki();
}

}  // namespace mica::x509
