// Java keystores: JKS (magic 0xFEEDFEED) and JCEKS (0xCECECECE), as written by
// sun.security.provider.JavaKeyStore and com.sun.crypto.provider.JceKeyStore:
//
//   magic u32, version u32 (1 or 2), count u32, then per entry:
//     tag u32 (1 private key, 2 trusted certificate, 3 secret key: JCEKS only)
//     alias: Java modified UTF-8 (u16 length + bytes), timestamp u64 (ms)
//     tag 1: protected key (u32 length + EncryptedPrivateKeyInfo DER),
//            chain count u32, certificates
//     tag 2: one certificate
//     certificate: (version 2: cert type as u16-length UTF) u32 length + DER
//   then a 20-byte keyed SHA-1 over everything (needs the store password: not checked).
//
// Every length is checked against the bytes left, so a count of 2^31 entries costs at
// most one failed read, never an allocation.
#include <optional>

#include <openssl/objects.h>

#include "x509/internal/keys.h"
#include "x509/internal/openssl.h"

namespace mica::x509::internal {
namespace {

class BigEndianReader {
 public:
  explicit BigEndianReader(ByteView data) : data_(data) {}
  std::optional<std::uint64_t> Uint(std::size_t n) {
    if (data_.size() - pos_ < n) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_++];
    return v;
  }
  std::optional<ByteView> Take(std::uint64_t n) {
    if (data_.size() - pos_ < n) return std::nullopt;
    ByteView out = data_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  std::optional<std::string> Utf() {
    auto len = Uint(2);
    if (!len) return std::nullopt;
    auto bytes = Take(*len);
    if (!bytes) return std::nullopt;
    return std::string(AsChars(*bytes));
  }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

// The cipher named by the EncryptedPrivateKeyInfo that protects a key entry.
std::string KeyProtection(ByteView protected_key) {
  auto parsed = ParseEncryptedPkcs8Der(protected_key);
  if (!parsed || !parsed->private_key) return "";
  const std::string& oid = parsed->private_key->cipher;
  // Sun's proprietary OIDs (sun.security.provider.KeyProtector, JceKeyStore).
  if (oid == "1.3.6.1.4.1.42.2.17.1.1") return "jks-keyprotector";
  if (oid == "1.3.6.1.4.1.42.2.19.1") return "pbe-md5-3des";
  return oid;
}

}  // namespace

void ParseJavaKeystore(ByteView data, ParsedContent& out) {
  BigEndianReader r(data);
  auto truncated = [&out](const std::string& where) {
    out.issues.push_back({where, "truncated keystore"});
  };
  const auto magic = r.Uint(4);
  const auto version = r.Uint(4);
  const auto count = r.Uint(4);
  if (!magic || !version || !count) return truncated("jks");
  const bool jceks = *magic == 0xCECECECEu;
  if (*version != 1 && *version != 2) {
    out.issues.push_back({"jks", "unsupported keystore version " + std::to_string(*version)});
    return;
  }
  auto read_cert = [&](const std::string& position) -> bool {
    if (*version == 2 && !r.Utf()) return false;  // certificate type, "X.509"
    auto len = r.Uint(4);
    if (!len) return false;
    auto der = r.Take(*len);
    if (!der) return false;
    AddCertificate(*der, position, out);
    return true;
  };
  for (std::uint64_t i = 0; i < *count; ++i) {
    const auto tag = r.Uint(4);
    auto alias = r.Utf();
    if (!tag || !alias || !r.Uint(8)) return truncated("jks:entry" + std::to_string(i + 1));
    const std::string position = "jks:" + *alias;
    if (*tag == 2) {
      if (!read_cert(position)) return truncated(position);
    } else if (*tag == 1) {
      auto key_len = r.Uint(4);
      if (!key_len) return truncated(position);
      auto protected_key = r.Take(*key_len);
      auto chain = r.Uint(4);
      if (!protected_key || !chain) return truncated(position);
      const std::size_t first_cert = out.identities.size();
      for (std::uint64_t c = 0; c < *chain; ++c) {
        if (!read_cert(position + "/chain:" + std::to_string(c + 1))) return truncated(position);
      }
      Identity id;
      id.kind = Kind::kKeystoreEntry;
      id.fingerprint = "blob:" + Sha256Hex(*protected_key);
      id.position = position;
      id.private_key = PrivateKeyInfo{"jks_entry", true, KeyProtection(*protected_key)};
      // The leaf certificate carries the public half: it links the entry to its key.
      if (*chain > 0 && out.identities.size() > first_cert &&
          out.identities[first_cert].position == position + "/chain:1") {
        id.key = out.identities[first_cert].key;
      }
      out.identities.push_back(std::move(id));
    } else if (*tag == 3 && jceks) {
      // A SecretKeyEntry is a Java serialized SealedObject: reading it would need a
      // Java deserializer, and its length is not stored, so nothing after it can be found.
      out.issues.push_back({position, "JCEKS secret key entry not supported; entries after it not listed"});
      return;
    } else {
      out.issues.push_back({position, "unknown keystore entry tag " + std::to_string(*tag)});
      return;
    }
  }
  if (!r.Take(20)) truncated("jks");  // the keyed SHA-1 that closes the store
}

}  // namespace mica::x509::internal
