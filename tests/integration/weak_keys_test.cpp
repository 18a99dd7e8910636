// End-to-end: `mica weak-keys gcd | check | scan` as a user runs them.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"

namespace mica::testing {
namespace {

struct WkRun {
  int status = 0;
  std::string out;
};

class WeakKeysCliTest : public ::testing::Test {
 protected:
  WkRun Mica(const std::string& args) {
    WkRun r;
    r.out = ShellOutput(std::string(MICA_BINARY) + " --db '" + (dir_ / "mica.db") + "' " + args +
                            " 2>&1 </dev/null",
                        &r.status);
    return r;
  }
  TempDir dir_;
};

TEST_F(WeakKeysCliTest, GcdFindsModuliSharingAPrimeAndNamesBadLines) {
  // 1000003 * 1000033, 1000003 * 1000037 (share 1000003), 1000039 * 1000081 (clean).
  const unsigned long long a = 1000003ULL * 1000033ULL, b = 1000003ULL * 1000037ULL,
                           c = 1000039ULL * 1000081ULL;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%llx\n%llx\n%llx\n", a, b, c);
  WriteFile(dir_ / "moduli.hex", buf);
  WkRun r = Mica("weak-keys gcd --moduli '" + (dir_ / "moduli.hex") + "' --json");
  EXPECT_EQ(r.status, 1) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  std::string text = j.dump();
  // Both sharing moduli are reported; the clean one is not.
  EXPECT_NE(text.find("shared_factor"), std::string::npos) << text;
  EXPECT_EQ(text.find(std::to_string(1000003)), std::string::npos) << "the factor must never be printed";

  WriteFile(dir_ / "bad.hex", "abcdef\nnot-hex\n");
  r = Mica("weak-keys gcd --moduli '" + (dir_ / "bad.hex") + "'");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find(dir_ / "bad.hex"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2"), std::string::npos) << r.out;  // the line number
}

TEST_F(WeakKeysCliTest, CheckFlagsSmallRfcKeysAndPassesAStrongOne) {
  const std::string data = SharedData();
  if (data.empty()) GTEST_SKIP() << "MICA_SHARED_DATA absent: ../shared/data is not beside this clone";
  const std::string weak = data + "/key-formats/rfc-example-keys/pkcs8-pem-private/rsa512-rfc5702.key";
  if (!std::filesystem::exists(weak)) GTEST_SKIP() << weak << " absent";
  WkRun r = Mica("weak-keys check '" + weak + "'");
  EXPECT_EQ(r.status, 1) << r.out;

  CertSpec strong;
  strong.key = "rsa";
  WriteFile(dir_ / "strong.pem", MakeCertificate(strong).cert_pem);
  r = Mica("weak-keys check '" + (dir_ / "strong.pem") + "'");
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(WeakKeysCliTest, BlocklistedKeyIsCriticalInTheInventoryScan) {
  CertSpec spec;
  spec.key = "rsa";
  auto made = MakeCertificate(spec);
  std::filesystem::create_directories(dir_ / "tree");
  WriteFile(dir_ / "tree/leaf.pem", made.cert_pem);
  ASSERT_EQ(Mica("scan fs -q '" + (dir_ / "tree") + "'").status, 0);
  WkRun clean = Mica("weak-keys scan --no-state");
  EXPECT_EQ(clean.status, 0) << clean.out;
  // Block the key by its SPKI SHA-256, as a published-key list would.
  std::string spki = ShellOutput("openssl x509 -in '" + (dir_ / "tree/leaf.pem") +
                                 "' -pubkey -noout | openssl pkey -pubin -outform DER | "
                                 "sha256sum | cut -d' ' -f1");
  spki.erase(spki.find_last_not_of(" \n") + 1);
  ASSERT_EQ(spki.size(), 64u);
  WriteFile(dir_ / "block.txt", "# test list\n" + spki + "\n");
  WkRun hit = Mica("weak-keys scan --no-state --blocklist '" + (dir_ / "block.txt") + "'");
  EXPECT_EQ(hit.status, 1) << hit.out;
  EXPECT_NE(hit.out.find("blocklisted"), std::string::npos) << hit.out;
}

}  // namespace
}  // namespace mica::testing
