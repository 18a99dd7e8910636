#include "x509/identity.h"

#include <array>
#include <utility>

namespace mica::x509 {

namespace {
constexpr std::array<std::pair<Kind, const char*>, 7> kKindNames{{
    {Kind::kCertificate, "certificate"},
    {Kind::kPrivateKey, "private_key"},
    {Kind::kPublicKey, "public_key"},
    {Kind::kSshPublicKey, "ssh_public_key"},
    {Kind::kSshPrivateKey, "ssh_private_key"},
    {Kind::kSshCertificate, "ssh_certificate"},
    {Kind::kKeystoreEntry, "keystore_entry"},
}};
}  // namespace

const char* KindName(Kind kind) {
  for (const auto& [k, name] : kKindNames)
    if (k == kind) return name;
  return "unknown";
}

std::optional<Kind> KindFromName(std::string_view name) {
  for (const auto& [k, n] : kKindNames)
    if (name == n) return k;
  return std::nullopt;
}

const char* KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa: return "rsa";
    case KeyType::kEc: return "ec";
    case KeyType::kEd25519: return "ed25519";
    case KeyType::kEd448: return "ed448";
    case KeyType::kDsa: return "dsa";
    case KeyType::kX25519: return "x25519";
    case KeyType::kX448: return "x448";
    case KeyType::kUnknown: break;
  }
  return "unknown";
}

std::vector<std::string> KeyUsageNames(std::uint16_t bits) {
  static constexpr const char* kNames[] = {
      "digital_signature", "non_repudiation", "key_encipherment",
      "data_encipherment", "key_agreement",   "key_cert_sign",
      "crl_sign",          "encipher_only",   "decipher_only"};
  std::vector<std::string> out;
  for (int i = 0; i < 9; ++i)
    if (bits & (1u << i)) out.emplace_back(kNames[i]);
  return out;
}

}  // namespace mica::x509
