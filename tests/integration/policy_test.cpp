// End-to-end: `mica policy check` and `mica lint` on an estate made here: the order and
// form of what they print, and the findings they store.
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "mica_run.h"

namespace mica::testing {
namespace {

using nlohmann::json;

const std::map<std::string, int> kSeverityRank = {
    {"info", 0}, {"low", 1}, {"medium", 2}, {"high", 3}, {"critical", 4}};

class PolicyCheckTest : public ::testing::Test {
 protected:
  MicaRun Mica(const std::string& args) { return RunMica(db_, args, dir_ / "stderr.txt"); }

  // Two certificates of one key, the same certificate in two files, an expired one, one
  // without SAN whose CN needs JSON escaping, a key readable by all with no certificate.
  void MakeEstate() {
    tree_ = dir_ / "estate";
    for (const char* d : {"/a", "/z", "/keys"}) std::filesystem::create_directories(tree_ + d);
    const long long now = std::time(nullptr);
    ASSERT_EQ(Shell("cd '" + tree_ +
                    "' && openssl genpkey -algorithm ec -pkeyopt "
                    "ec_paramgen_curve:P-256 -out shared.key 2>/dev/null && "
                    "for n in one two; do openssl req -x509 -key shared.key -subj /CN=$n.example "
                    "-addext subjectAltName=DNS:$n.example -days 30 -out a/$n.crt 2>/dev/null; "
                    "done && rm shared.key"),
              0);
    CertSpec dup;
    dup.cn = "dup.example";
    dup.san = "DNS:dup.example";
    const std::string dup_pem = MakeCertificate(dup).cert_pem;
    WriteFile(tree_ + "/z/dup.pem", dup_pem);
    WriteFile(tree_ + "/a/dup.pem", dup_pem);
    CertSpec old;
    old.cn = "old.example";
    old.san = "DNS:old.example";
    old.not_before = now - 400 * 86400LL;
    old.not_after = now - 10 * 86400LL;
    WriteFile(tree_ + "/a/old.crt", MakeCertificate(old).cert_pem);
    CertSpec odd;
    odd.cn = "Z\xc3\xbcrich \"quoted\" back\\slash";
    WriteFile(tree_ + "/a/odd.crt", MakeCertificate(odd).cert_pem);
    WriteFile(tree_ + "/keys/lonely.key", MakeCertificate(CertSpec{}).key_pem);
    ::chmod((tree_ + "/keys/lonely.key").c_str(), 0644);
  }

  json Check(int expected_status) {
    MicaRun r = Mica("policy check --json");
    EXPECT_EQ(r.status, expected_status) << r.err;
    json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(doc.is_discarded()) << r.out;
    // Byte for byte what nlohmann's dump(2) makes of the same document.
    if (!doc.is_discarded()) {
      EXPECT_EQ(doc.dump(2) + "\n", r.out);
    }
    return doc;
  }

  TempDir dir_;
  std::string db_ = dir_ / "mica.db";
  std::string tree_;
};

TEST_F(PolicyCheckTest, PrintsFindingsBySeverityAndStoresThemOnce) {
  MakeEstate();
  MicaRun scan = Mica("scan fs '" + tree_ + "'");
  ASSERT_EQ(scan.status, 0) << scan.err;

  json doc = Check(1);  // cert-expired is critical, above the default --fail-on high
  const json& findings = doc["findings"];
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(doc["checked"], 6);  // five certificates and the key
  EXPECT_EQ(doc["opened"], findings.size());
  EXPECT_EQ(doc["resolved"], 0);

  std::map<std::string, std::vector<std::string>> where;  // rule -> locations, in order
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const json& x = findings[i];
    where[x["rule"]].push_back(x["location"]);
    EXPECT_TRUE(x["accepted"].is_null());
    if (i > 0) {
      EXPECT_GE(kSeverityRank.at(findings[i - 1]["severity"]), kSeverityRank.at(x["severity"]))
          << "finding " << i << " is more severe than the one before";
    }
  }
  EXPECT_EQ(findings[0]["rule"], "cert-expired");
  // In the inventory's order (expiry, then fingerprint): either way round here.
  std::vector<std::string> reused = where["spki-reused"];
  std::sort(reused.begin(), reused.end());
  EXPECT_EQ(reused, (std::vector<std::string>{tree_ + "/a/one.crt", tree_ + "/a/two.crt"}));
  EXPECT_EQ(where["private-key-without-certificate"],
            std::vector<std::string>{tree_ + "/keys/lonely.key"});
  EXPECT_EQ(where["private-key-exposed"], std::vector<std::string>{tree_ + "/keys/lonely.key"});
  // One identity at two places: judged at each, in path order.
  std::vector<std::string> self_signed = where["leaf-self-signed"];
  auto a = std::find(self_signed.begin(), self_signed.end(), tree_ + "/a/dup.pem");
  auto z = std::find(self_signed.begin(), self_signed.end(), tree_ + "/z/dup.pem");
  ASSERT_NE(a, self_signed.end());
  ASSERT_NE(z, self_signed.end());
  EXPECT_LT(a, z);
  bool odd_seen = false;
  for (const json& x : findings)
    if (x["rule"] == "san-missing") {
      odd_seen = true;
      EXPECT_EQ(x["evidence"], "no subjectAltName (CN Z\xc3\xbcrich \"quoted\" back\\slash)");
    }
  EXPECT_TRUE(odd_seen);

  // Nothing changed: the same findings, none opened again.
  json again = Check(1);
  EXPECT_EQ(again["findings"], findings);
  EXPECT_EQ(again["opened"], 0);
  EXPECT_EQ(again["resolved"], 0);

  // The expired certificate is removed: its findings are resolved.
  std::filesystem::remove(tree_ + "/a/old.crt");
  ASSERT_EQ(Mica("scan fs '" + tree_ + "'").status, 0);
  json after = Check(1);  // the key readable by all is critical
  EXPECT_EQ(after["opened"], 0);
  EXPECT_GT(after["resolved"], 0);
  EXPECT_EQ(after["checked"], 5);

  MicaRun table = Mica("policy check");
  EXPECT_EQ(table.status, 1) << table.err;
  EXPECT_NE(table.out.find("\n5 identities checked, " + std::to_string(after["findings"].size()) +
                           " findings, " + std::to_string(after["failing"].get<int>()) +
                           " at or above high; 0 opened, 0 resolved\n"),
            std::string::npos)
      << table.out;
}

TEST_F(PolicyCheckTest, LintJsonIsTheSameDocumentNlohmannWouldPrint) {
  MakeEstate();
  MicaRun r = Mica("lint --json '" + tree_ + "/a/odd.crt' '" + tree_ + "/a/old.crt'");
  EXPECT_EQ(r.status, 1) << r.err;
  json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc.dump(2) + "\n", r.out);
  EXPECT_EQ(doc["checked"], 2);
  EXPECT_FALSE(doc.contains("opened"));
}

}  // namespace
}  // namespace mica::testing
