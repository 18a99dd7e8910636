// Private and public keys through OpenSSL: PKCS#8 (RFC 5958), PKCS#1 (RFC 8017),
// SEC1 (RFC 5915), DSA, SPKI (RFC 5280), and encrypted PKCS#8 / traditional PEM keys,
// whose key type cannot be read without the password.
//
// Only DER decoders are used (the PEM armour is removed by pem.cpp): none of them can
// fall back to OpenSSL's default password callback, which prompts on the terminal.
#include <algorithm>
#include <cctype>
#include <mutex>

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

#include "x509/certificate.h"
#include "x509/internal/keys.h"
#include "x509/internal/openssl.h"

namespace mica::x509::internal {
namespace {

using Pbe2ParamPtr = Ptr<PBE2PARAM, PBE2PARAM_free>;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// OpenSSL's short name of an OID ("AES-256-CBC"), or its dotted form when unknown.
std::string ObjectName(const ASN1_OBJECT* obj) {
  if (obj == nullptr) return "";
  const int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) return OBJ_nid2sn(nid);
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
  if (n <= 0 || n >= static_cast<int>(sizeof buf)) return "";
  return std::string(buf, static_cast<std::size_t>(n));
}

Identity KeyIdentity(Kind kind, KeyInfo info) {
  Identity id;
  id.kind = kind;
  id.fingerprint = info.spki_sha256;
  id.key = std::move(info);
  return id;
}

Result<EvpPkeyPtr> DecodePrivate(ByteView der, std::string_view format) {
  const unsigned char* p = der.data();
  const long len = static_cast<long>(der.size());
  EvpPkeyPtr pkey;
  if (format == "pkcs8") {
    Pkcs8Ptr p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len));
    if (p8) pkey.reset(EVP_PKCS82PKEY(p8.get()));  // get1: we own the key
  } else {
    const int type = format == "pkcs1" ? EVP_PKEY_RSA
                     : format == "sec1" ? EVP_PKEY_EC
                                        : EVP_PKEY_DSA;
    pkey.reset(d2i_PrivateKey(type, nullptr, &p, len));
  }
  std::string errors = DrainErrors();
  if (!pkey) {
    return Fail(ErrorCode::kInput, "not a " + std::string(format) + " private key" +
                                       (errors.empty() ? "" : " (" + errors + ")"));
  }
  if (p != der.data() + der.size()) {
    return Fail(ErrorCode::kInput, "trailing bytes after the " + std::string(format) + " key");
  }
  return pkey;
}

}  // namespace

Result<KeyInfo> KeyInfoFromPkey(const EVP_PKEY* pkey, Bytes* spki_out) {
  KeyInfo info;
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      info.type = KeyType::kRsa;
      break;
    case EVP_PKEY_EC:
    case EVP_PKEY_SM2:
      info.type = KeyType::kEc;
      break;
    case EVP_PKEY_ED25519: info.type = KeyType::kEd25519; break;
    case EVP_PKEY_ED448: info.type = KeyType::kEd448; break;
    case EVP_PKEY_DSA: info.type = KeyType::kDsa; break;
    case EVP_PKEY_X25519: info.type = KeyType::kX25519; break;
    case EVP_PKEY_X448: info.type = KeyType::kX448; break;
    default: info.type = KeyType::kUnknown; break;
  }
  info.bits = EVP_PKEY_get_bits(pkey);
  if (info.type == KeyType::kEc) {
    char name[80];
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof name, &len) == 1) {
      info.curve.assign(name, len);
    }
  }
  const int n = i2d_PUBKEY(pkey, nullptr);
  if (n <= 0) {
    return Fail(ErrorCode::kInput, "cannot encode the public key: " + DrainErrors());
  }
  Bytes spki(static_cast<std::size_t>(n));
  unsigned char* out = spki.data();
  if (i2d_PUBKEY(pkey, &out) != n) {
    return Fail(ErrorCode::kInternal, "i2d_PUBKEY changed its mind: " + DrainErrors());
  }
  info.spki_sha256 = Sha256Hex(spki);
  if (spki_out != nullptr) *spki_out = std::move(spki);
  DrainErrors();
  return info;
}

void LoadLegacyProviderOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Explicitly loading any provider stops OpenSSL from auto-loading "default", so
    // both are loaded. The handles stay loaded for the life of the process on purpose,
    // held in statics so that leak checkers see them as reachable.
    static OSSL_PROVIDER* default_provider = OSSL_PROVIDER_load(nullptr, "default");
    static OSSL_PROVIDER* legacy_provider = OSSL_PROVIDER_load(nullptr, "legacy");
    (void)default_provider;
    (void)legacy_provider;  // absent on some builds: carry on without it
    DrainErrors();
  });
}

Result<Identity> ParsePrivateKeyDer(ByteView der, std::string_view format) {
  static constexpr std::string_view kAll[] = {"pkcs8", "pkcs1", "sec1", "dsa"};
  Error last{ErrorCode::kInput, "not a private key"};
  for (std::string_view f : kAll) {
    if (!format.empty() && f != format) continue;
    auto pkey = DecodePrivate(der, f);
    if (!pkey) {
      last = pkey.error();
      continue;
    }
    Bytes spki;
    auto info = KeyInfoFromPkey(pkey->get(), &spki);
    if (!info) return tl::unexpected(info.error());
    Identity id = KeyIdentity(Kind::kPrivateKey, std::move(*info));
    id.der = std::move(spki);
    id.private_key = PrivateKeyInfo{std::string(f), false, ""};
    return id;
  }
  return tl::unexpected(last);
}

Result<Identity> ParseEncryptedPkcs8Der(ByteView der) {
  const unsigned char* p = der.data();
  X509SigPtr sig(d2i_X509_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) {
    DrainErrors();
    return Fail(ErrorCode::kInput, "not an EncryptedPrivateKeyInfo");
  }
  const X509_ALGOR* alg = nullptr;  // get0: borrowed from sig
  const ASN1_OCTET_STRING* digest = nullptr;
  X509_SIG_get0(sig.get(), &alg, &digest);
  std::string cipher;
  if (alg != nullptr) {
    if (OBJ_obj2nid(alg->algorithm) == NID_pbes2 && alg->parameter != nullptr) {
      // RFC 8018 section A.4: PBES2-params names the key derivation and the cipher.
      Pbe2ParamPtr params(static_cast<PBE2PARAM*>(
          ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter)));
      if (params && params->encryption != nullptr) {
        cipher = Lower(ObjectName(params->encryption->algorithm));
      }
    }
    if (cipher.empty()) cipher = ObjectName(alg->algorithm);  // e.g. "PBE-SHA1-3DES"
  }
  DrainErrors();
  Identity id;
  id.kind = Kind::kPrivateKey;
  id.fingerprint = "blob:" + Sha256Hex(der);
  id.private_key = PrivateKeyInfo{"pkcs8_encrypted", true, cipher};
  return id;
}

Identity TraditionalEncryptedKey(ByteView der, std::string_view label,
                                 std::string_view dek_info) {
  Identity id;
  id.kind = Kind::kPrivateKey;
  id.fingerprint = "blob:" + Sha256Hex(der);
  std::string format = "pkcs1";
  if (label.starts_with("RSA")) {
    id.key.type = KeyType::kRsa;
  } else if (label.starts_with("EC")) {
    id.key.type = KeyType::kEc;
    format = "sec1";
  } else if (label.starts_with("DSA")) {
    id.key.type = KeyType::kDsa;
    format = "dsa";
  }
  // RFC 1421 section 4.6.1.3: "DEK-Info: <cipher>,<IV in hex>".
  std::string_view cipher = dek_info.substr(0, dek_info.find(','));
  id.private_key = PrivateKeyInfo{format, true, std::string(cipher)};
  return id;
}

Result<Identity> ParseSpkiDer(ByteView der) {
  Bytes spki(der.begin(), der.end());
  auto info = DecodeSpki(der);
  if (!info) {
    // The fast decoder does not know every algorithm; OpenSSL may.
    const unsigned char* p = der.data();
    EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!pkey || p != der.data() + der.size()) {
      DrainErrors();
      return Fail(ErrorCode::kInput, "not a SubjectPublicKeyInfo: " + info.error().message);
    }
    info = KeyInfoFromPkey(pkey.get(), &spki);
    if (!info) return tl::unexpected(info.error());
  }
  Identity id = KeyIdentity(Kind::kPublicKey, std::move(*info));
  id.der = std::move(spki);
  return id;
}

Result<Identity> ParseRsaPublicKeyDer(ByteView der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr pkey(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  if (!pkey || p != der.data() + der.size()) {
    DrainErrors();
    return Fail(ErrorCode::kInput, "not a PKCS#1 RSAPublicKey");
  }
  Bytes spki;
  auto info = KeyInfoFromPkey(pkey.get(), &spki);
  if (!info) return tl::unexpected(info.error());
  Identity id = KeyIdentity(Kind::kPublicKey, std::move(*info));
  id.der = std::move(spki);
  return id;
}

void AddCertificate(ByteView der, std::string position, ParsedContent& out) {
  auto cert = DecodeCertificate(der);
  if (!cert) {
    out.issues.push_back({std::move(position), "certificate: " + cert.error().message});
    return;
  }
  cert->position = std::move(position);
  out.identities.push_back(std::move(*cert));
}

}  // namespace mica::x509::internal
