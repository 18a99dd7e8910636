// Hand-built identities and observations for store and watch tests: just the fields the
// inventory keeps, no DER (a certificate without DER is stored through its JSON).
// Header-only, so the support library stays free of mica's own libraries.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"
#include "x509/identity.h"

namespace mica::testing {

inline constexpr UnixSeconds kT0 = 1'700'000'000;
inline constexpr std::int64_t kDay = 86'400;

inline x509::Identity Cert(std::string fp, std::string issuer_cn, UnixSeconds not_after,
                           std::string spki = "") {
  x509::Identity id;
  id.kind = x509::Kind::kCertificate;
  id.fingerprint = std::move(fp);
  id.position = "pem:1";
  id.key = {x509::KeyType::kRsa, 2048, "", std::move(spki)};
  auto& c = id.cert.emplace();
  c.version = 3;
  c.subject = "CN=leaf." + id.fingerprint;
  c.subject_parts.cn = "leaf." + id.fingerprint;
  c.issuer = "CN=" + issuer_cn + ",O=Example Org";
  c.issuer_parts = {issuer_cn, "Example Org", "", ""};
  c.serial_hex = "01";
  c.not_before = not_after - 365 * kDay;
  c.not_after = not_after;
  c.san_dns = {"leaf.example"};
  c.signature_algorithm = "sha256WithRSAEncryption";
  c.eku = {"server_auth"};
  c.sha1_hex = "00";
  return id;
}

inline x509::Identity Key(std::string fp, std::string spki, bool encrypted) {
  x509::Identity id;
  id.kind = x509::Kind::kPrivateKey;
  id.fingerprint = std::move(fp);
  id.position = "pem:1";
  id.key = {x509::KeyType::kEc, 256, "prime256v1", std::move(spki)};
  id.private_key = x509::PrivateKeyInfo{encrypted ? "pkcs8_encrypted" : "pkcs8", encrypted,
                                        encrypted ? "AES-256-CBC" : "none"};
  return id;
}

inline store::Observation File(std::string path, std::vector<x509::Identity> ids,
                               std::uint32_t mode = 0100644, std::string host = "h1") {
  store::Observation o;
  o.location = store::Location{store::LocationKind::kFile, std::move(host), std::move(path), 0, ""};
  o.file = store::FileFacts{mode, 1000, 1000, "alice", "staff", 1234, kT0 - 10};
  o.format = "pem";
  o.identities = std::move(ids);
  return o;
}

}  // namespace mica::testing
