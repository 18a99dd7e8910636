// Every example key published in RFCs ($MICA_SHARED_DATA/key-formats/rfc-example-keys),
// in six encodings, must be recognised and read with the key type the reference tool
// (badkeys) reported in reference_verdicts.json.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "x509/parse.h"

namespace mica::x509 {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> ExampleKeysDir() {
  const char* root = std::getenv("MICA_SHARED_DATA");
  if (root == nullptr) return std::nullopt;
  fs::path dir = fs::path(root) / "key-formats" / "rfc-example-keys";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  return dir;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Kind ExpectedKind(const std::string& folder) {
  if (folder == "spki-pem-public" || folder == "pkcs1-pem-public") return Kind::kPublicKey;
  if (folder == "openssh-pem-private" || folder == "putty-ppk-private") return Kind::kSshPrivateKey;
  return Kind::kPrivateKey;
}

// The type from the file name ("ecdsap256-rfc6605.key"), for the PPK files the
// reference tool could not read ("notfound").
KeyType TypeFromName(const std::string& name) {
  if (name.starts_with("rsa")) return KeyType::kRsa;
  if (name.starts_with("dsa")) return KeyType::kDsa;
  if (name.starts_with("ecdsa")) return KeyType::kEc;
  if (name.starts_with("ed25519")) return KeyType::kEd25519;
  if (name.starts_with("ed448")) return KeyType::kEd448;
  return KeyType::kUnknown;
}

// badkeys files EdDSA keys under "ec" too.
bool TypeMatches(const std::string& reference, KeyType got) {
  if (reference == "rsa") return got == KeyType::kRsa;
  if (reference == "dsa") return got == KeyType::kDsa;
  if (reference == "ec") {
    return got == KeyType::kEc || got == KeyType::kEd25519 || got == KeyType::kEd448;
  }
  return false;
}

struct Parsed {
  std::string folder, name;
  Identity id;
};

std::vector<Parsed> ParseAll(const fs::path& dir, const nlohmann::json& verdicts) {
  std::vector<Parsed> all;
  for (const auto& sub : fs::directory_iterator(dir)) {
    if (!sub.is_directory()) continue;
    const std::string folder = sub.path().filename().string();
    for (const auto& file : fs::directory_iterator(sub.path())) {
      const std::string name = file.path().filename().string();
      if (name.starts_with("README") || name.starts_with("LICENSE") ||
          name.starts_with("CONVERT") || name.ends_with(".json")) {
        continue;
      }
      SCOPED_TRACE(folder + "/" + name);
      const std::string data = ReadAll(file.path());
      EXPECT_NE(Sniff(AsBytes(data)), Format::kUnknown);
      auto parsed = ParseContent(AsBytes(data), {});
      if (!parsed) {
        ADD_FAILURE() << parsed.error().message;
        continue;
      }
      EXPECT_TRUE(parsed->issues.empty()) << parsed->issues[0].position << ": "
                                          << parsed->issues[0].reason;
      if (parsed->identities.empty()) {
        ADD_FAILURE() << "no identity";
        continue;
      }
      const Identity& id = parsed->identities.front();
      EXPECT_EQ(id.kind, ExpectedKind(folder));
      EXPECT_EQ(id.key.spki_sha256.size(), 64u);
      const std::string key = "badkeys-examplekeys/" + folder + "/" + name;
      if (!verdicts.contains(key)) {
        ADD_FAILURE() << "no reference verdict";
      } else {
        const auto& v = verdicts.at(key);
        const std::string type = v.at("type").get<std::string>();
        if (type == "notfound") {
          EXPECT_EQ(id.key.type, TypeFromName(name));
        } else {
          EXPECT_TRUE(TypeMatches(type, id.key.type))
              << "reference " << type << ", got " << KeyTypeName(id.key.type);
        }
        if (!v.at("bits").is_null()) {
          EXPECT_EQ(id.key.bits, v.at("bits").get<int>());
        }
      }
      all.push_back({folder, name, id});
    }
  }
  return all;
}

TEST(KeyFormatsTest, EveryRfcExampleKeyIsReadWithItsReferenceType) {
  auto dir = ExampleKeysDir();
  if (!dir) GTEST_SKIP() << "$MICA_SHARED_DATA/key-formats/rfc-example-keys is absent";
  const nlohmann::json verdicts = nlohmann::json::parse(ReadAll(*dir / "reference_verdicts.json"));
  const std::vector<Parsed> all = ParseAll(*dir, verdicts);
  EXPECT_GE(all.size(), verdicts.size());
}

// The same RFC key in PKCS#8, SPKI, PKCS#1, traditional, OpenSSH and PPK form must link:
// one spki_sha256 for all of its encodings.
TEST(KeyFormatsTest, AllEncodingsOfOneKeyShareTheSpkiFingerprint) {
  auto dir = ExampleKeysDir();
  if (!dir) GTEST_SKIP() << "$MICA_SHARED_DATA/key-formats/rfc-example-keys is absent";
  const nlohmann::json verdicts = nlohmann::json::parse(ReadAll(*dir / "reference_verdicts.json"));
  std::map<std::string, std::set<std::string>> spki_by_key;
  for (const Parsed& p : ParseAll(*dir, verdicts)) {
    const std::string stem = p.name.substr(0, p.name.find('.'));
    spki_by_key[stem].insert(p.id.key.spki_sha256);
  }
  ASSERT_FALSE(spki_by_key.empty());
  for (const auto& [stem, spkis] : spki_by_key) {
    EXPECT_EQ(spkis.size(), 1u) << stem << " has " << spkis.size() << " different SPKIs";
  }
}

}  // namespace
}  // namespace mica::x509
