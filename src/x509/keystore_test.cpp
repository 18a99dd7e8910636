// JKS and JCEKS keystores made at test time with keytool.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "x509/parse.h"

namespace mica::x509 {
namespace {

using mica::testing::ReadFile;
using mica::testing::Shell;
using mica::testing::TempDir;

class KeystoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Shell("command -v keytool >/dev/null 2>&1") != 0) GTEST_SKIP() << "keytool not installed";
    mica::testing::MakeSelfSigned(dir_ / "ca.pem", dir_ / "ca.key", "Trusted Root", "rsa:2048");
  }
  int Sh(const std::string& cmd) { return Shell("cd " + dir_.path() + " && (" + cmd + ") >/dev/null 2>&1"); }
  // A keystore of `type` with a trusted certificate "root" and a key pair "server".
  std::string MakeStore(const std::string& type) {
    const std::string file = "ks." + type;
    const std::string common = " -storetype " + type + " -keystore " + file +
                               " -storepass changeit -noprompt";
    EXPECT_EQ(Sh("keytool -genkeypair -alias server -keyalg EC -groupname secp256r1 "
                 "-dname CN=server.example -keypass changeit" + common), 0);
    EXPECT_EQ(Sh("keytool -importcert -alias root -file ca.pem" + common), 0);
    return file;
  }

  TempDir dir_;
};

TEST_F(KeystoreTest, JksListsTrustedCertsAndKeyEntriesWithTheirChain) {
  const std::string data = ReadFile(dir_ / MakeStore("JKS"));
  EXPECT_EQ(Sniff(AsBytes(data)), Format::kJks);
  auto parsed = ParseContent(AsBytes(data), {});
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, Format::kJks);
  EXPECT_TRUE(parsed->issues.empty());
  const Identity* root = nullptr;
  const Identity* chain = nullptr;
  const Identity* entry = nullptr;
  for (const Identity& id : parsed->identities) {
    if (id.position == "jks:root") root = &id;
    if (id.position == "jks:server/chain:1") chain = &id;
    if (id.position == "jks:server") entry = &id;
  }
  ASSERT_TRUE(root && chain && entry);
  EXPECT_EQ(root->kind, Kind::kCertificate);
  EXPECT_EQ(root->cert->subject_parts.cn, "Trusted Root");
  EXPECT_EQ(chain->kind, Kind::kCertificate);
  EXPECT_EQ(chain->key.type, KeyType::kEc);
  EXPECT_EQ(entry->kind, Kind::kKeystoreEntry);
  EXPECT_TRUE(entry->fingerprint.starts_with("blob:"));
  EXPECT_EQ(entry->key.spki_sha256, chain->key.spki_sha256);
  ASSERT_TRUE(entry->private_key);
  EXPECT_EQ(entry->private_key->format, "jks_entry");
  EXPECT_TRUE(entry->private_key->encrypted);
  EXPECT_EQ(entry->private_key->cipher, "jks-keyprotector");
}

TEST_F(KeystoreTest, JceksSecretKeyEntryIsAnIssueNotACrash) {
  const std::string file = MakeStore("JCEKS");
  ASSERT_EQ(Sh("keytool -genseckey -alias zsecret -keyalg AES -keysize 128 -storetype JCEKS "
               "-keystore " + file + " -storepass changeit -keypass changeit"), 0);
  const std::string data = ReadFile(dir_ / file);
  EXPECT_EQ(Sniff(AsBytes(data)), Format::kJceks);
  auto parsed = ParseContent(AsBytes(data), {});
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, Format::kJceks);
  bool secret_issue = false;
  for (const ParseIssue& issue : parsed->issues) {
    if (issue.position == "jks:zsecret") secret_issue = true;
  }
  EXPECT_TRUE(secret_issue);
}

TEST_F(KeystoreTest, TruncatedKeystoresAndHugeCountsAreIssues) {
  const std::string data = ReadFile(dir_ / MakeStore("JKS"));
  for (std::size_t len = 4; len < data.size(); len += 53) {
    SCOPED_TRACE(len);
    auto parsed = ParseContent(AsBytes(std::string_view(data).substr(0, len)), {});
    ASSERT_TRUE(parsed);
    EXPECT_FALSE(parsed->issues.empty());
  }
  // 2^31 - 1 entries announced, none present: one issue, no allocation per entry.
  const std::string huge("\xFE\xED\xFE\xED\x00\x00\x00\x02\x7F\xFF\xFF\xFF", 12);
  auto parsed = ParseContent(AsBytes(huge), {});
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->identities.empty());
  ASSERT_EQ(parsed->issues.size(), 1u);
  EXPECT_EQ(parsed->issues[0].reason, "truncated keystore");

  const std::string v9("\xFE\xED\xFE\xED\x00\x00\x00\x09\x00\x00\x00\x00", 12);
  auto bad_version = ParseContent(AsBytes(v9), {});
  ASSERT_TRUE(bad_version);
  ASSERT_EQ(bad_version->issues.size(), 1u);
  EXPECT_EQ(bad_version->issues[0].reason, "unsupported keystore version 9");
}

}  // namespace
}  // namespace mica::x509
