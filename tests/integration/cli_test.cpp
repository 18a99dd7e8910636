// End-to-end: `mica scan fs`, `inventory`, `show` and `summary` on fixtures made here.
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "mica_run.h"

namespace mica::testing {
namespace {

using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  MicaRun Mica(const std::string& args) { return RunMica(db_, args, dir_ / "stderr.txt"); }
  json MicaJson(const std::string& args) {
    MicaRun r = Mica(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    return json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }

  // A small estate: a server cert + key (the key readable by all), an expired cert, a
  // code-signing cert, a key with no certificate, an encrypted key, an SSH key.
  void MakeEstate() {
    tree_ = dir_ / "estate";
    std::filesystem::create_directories(tree_ + "/etc/nginx");
    std::filesystem::create_directories(tree_ + "/home/dev/.ssh");
    std::filesystem::create_directories(tree_ + "/opt/build");
    const long long now = std::time(nullptr);
    CertSpec web;
    web.cn = "www.example.test";
    web.san = "DNS:www.example.test";
    web.eku = "serverAuth";
    auto w = MakeCertificate(web);
    WriteFile(tree_ + "/etc/nginx/www.crt", w.cert_pem);
    WriteFile(tree_ + "/etc/nginx/www.key", w.key_pem);
    ::chmod((tree_ + "/etc/nginx/www.key").c_str(), 0644);
    CertSpec old;
    old.cn = "old.example.test";
    old.not_before = now - 400 * 86400LL;
    old.not_after = now - 10 * 86400LL;
    WriteFile(tree_ + "/etc/nginx/old.crt", MakeCertificate(old).cert_pem);
    CertSpec sign;
    sign.cn = "Example Code Signing";
    sign.eku = "codeSigning";
    sign.key = "rsa";
    WriteFile(tree_ + "/opt/build/signing.pem", MakeCertificate(sign).cert_pem);
    CertSpec lonely;
    auto l = MakeCertificate(lonely);
    WriteFile(tree_ + "/opt/build/lonely.key", l.key_pem);
    ::chmod((tree_ + "/opt/build/lonely.key").c_str(), 0600);
    ASSERT_EQ(Shell("openssl genpkey -algorithm ed25519 -aes-256-cbc -pass pass:secret -out '" +
                    tree_ + "/opt/build/enc.key' 2>/dev/null"),
              0);
    ASSERT_EQ(Shell("ssh-keygen -q -t ed25519 -N '' -C dev@laptop -f '" + tree_ +
                    "/home/dev/.ssh/id_ed25519'"),
              0);
  }

  TempDir dir_;
  std::string db_ = dir_ / "mica.db";
  std::string tree_;
};

TEST_F(CliTest, ScanListShowSummaryOnAnEstate) {
  MakeEstate();
  MicaRun scan = Mica("scan fs '" + tree_ + "'");
  ASSERT_EQ(scan.status, 0) << scan.err;
  EXPECT_NE(scan.out.find("scan #1"), std::string::npos) << scan.out;

  json all = MicaJson("inventory list --json");
  std::map<std::string, int> kinds;
  for (const auto& i : all["identities"]) kinds[i["kind"]]++;
  EXPECT_EQ(kinds["certificate"], 3);
  EXPECT_EQ(kinds["private_key"], 3);
  EXPECT_EQ(kinds["ssh_private_key"], 1);
  EXPECT_EQ(kinds["ssh_public_key"], 1);

  json expired = MicaJson("inventory list --expired --json");
  ASSERT_EQ(expired["count"], 1);
  EXPECT_EQ(expired["identities"][0]["certificate"]["subject_cn"], "old.example.test");

  json signing = MicaJson("inventory list --eku code-signing --json");
  ASSERT_EQ(signing["count"], 1);
  std::string fp = signing["identities"][0]["fingerprint"];

  json shown = MicaJson("show " + fp.substr(0, 12) + " --json");
  EXPECT_EQ(shown["fingerprint"], fp);
  ASSERT_EQ(shown["sightings"].size(), 1u);
  EXPECT_EQ(shown["sightings"][0]["path"], tree_ + "/opt/build/signing.pem");

  json in_nginx = MicaJson("inventory list --location '" + tree_ + "/etc/nginx/*' --json");
  EXPECT_EQ(in_nginx["count"], 3);

  json s = MicaJson("summary --json");
  EXPECT_EQ(s["expired"].size(), 1u);
  EXPECT_EQ(s["code_signing_certificates"].size(), 1u);
  std::set<std::string> exposed;
  for (const auto& x : s["exposed_private_keys"]) exposed.insert(x["path"].get<std::string>());
  EXPECT_TRUE(exposed.count(tree_ + "/etc/nginx/www.key"));      // mode 0644
  EXPECT_TRUE(exposed.count(tree_ + "/opt/build/lonely.key"));   // 0600 but unencrypted
  EXPECT_FALSE(exposed.count(tree_ + "/opt/build/enc.key"));     // 0600 and encrypted
  std::set<std::string> orphans;
  for (const auto& x : s["private_keys_without_certificate"]) orphans.insert(x["where"].get<std::string>());
  bool lonely_listed = false;
  for (const auto& o : orphans) lonely_listed |= o.find("lonely.key") != std::string::npos;
  EXPECT_TRUE(lonely_listed);
  for (const auto& o : orphans) EXPECT_EQ(o.find("www.key"), std::string::npos) << o;

  MicaRun table = Mica("summary");
  EXPECT_EQ(table.status, 0);
  EXPECT_NE(table.out.find("Code-signing certificates (1)"), std::string::npos) << table.out;

  MicaRun csv = Mica("inventory list --csv");
  EXPECT_EQ(csv.status, 0);
  EXPECT_EQ(csv.out.rfind("fingerprint,kind,name,issuer,key,not_after,locations\r\n", 0), 0u);
}

TEST_F(CliTest, RescanDoesNotDuplicateAndMarksWhatVanished) {
  MakeEstate();
  ASSERT_EQ(Mica("scan fs -q '" + tree_ + "'").status, 0);
  json first = MicaJson("inventory list --json");
  ASSERT_EQ(Mica("scan fs -q '" + tree_ + "'").status, 0);
  json second = MicaJson("inventory list --json");
  EXPECT_EQ(first["count"], second["count"]);

  json signing = MicaJson("inventory list --eku code_signing --json");
  std::string fp = signing["identities"][0]["fingerprint"];
  std::filesystem::remove(tree_ + "/opt/build/signing.pem");
  ASSERT_EQ(Mica("scan fs -q '" + tree_ + "'").status, 0);
  EXPECT_EQ(MicaJson("inventory list --eku code_signing --json")["count"], 0);
  EXPECT_EQ(MicaJson("inventory list --eku code_signing --all --json")["count"], 1);
  json shown = MicaJson("show " + fp + " --json");
  EXPECT_EQ(shown["sightings"][0]["present"], false);
  json scans = MicaJson("inventory scans --json");
  ASSERT_EQ(scans["scans"].size(), 3u);
  json latest = MicaJson("inventory scans --limit 1 --status complete --kind fs --json");
  ASSERT_EQ(latest["scans"].size(), 1u);
  EXPECT_EQ(latest["scans"][0]["id"], scans["scans"][0]["id"]);
  EXPECT_EQ(MicaJson("inventory scans --kind tls --json")["scans"].size(), 0u);
  MicaRun bad = Mica("inventory scans --status finished");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("finished"), std::string::npos);
}

TEST_F(CliTest, ScanningAnotherRootDoesNotMarkThisOneVanished) {
  MakeEstate();
  ASSERT_EQ(Mica("scan fs -q '" + tree_ + "/etc'").status, 0);
  ASSERT_EQ(Mica("scan fs -q '" + tree_ + "/opt'").status, 0);
  EXPECT_EQ(MicaJson("inventory list --expired --json")["count"], 1);
}

TEST_F(CliTest, UsageErrorsExitTwoAndNameTheProblem) {
  MicaRun r = Mica("inventory list --kind gizmo");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("gizmo"), std::string::npos);
  r = Mica("inventory list --expiring-within soon");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soon"), std::string::npos);
  r = Mica("frobnicate");
  EXPECT_EQ(r.status, 2);
  r = Mica("");
  EXPECT_EQ(r.status, 2);
  r = Mica("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("mica ", 0), 0u);
  r = Mica("help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Subcommands:"), std::string::npos) << r.out;  // mica's, not help's own
  EXPECT_NE(r.out.find("inventory"), std::string::npos) << r.out;
  r = Mica("help scan");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("fs"), std::string::npos);
}

TEST_F(CliTest, InputErrorsExitThreeAndNameTheInput) {
  std::string not_db = dir_ / "not-a-db";
  WriteFile(not_db, std::string(8192, 'x'));
  MicaRun r;
  r.out = ShellOutput(std::string(MICA_BINARY) + " --db '" + not_db + "' summary 2>&1", &r.status);
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find(not_db), std::string::npos) << r.out;
  EXPECT_EQ(ReadFile(not_db), std::string(8192, 'x'));  // never overwritten

  std::string cfg = dir_ / "mica.toml";
  WriteFile(cfg, "[discover.fs]\nroots = [\"/tmp\"]\nmax_files_size = \"1MiB\"\n");
  r = Mica("--config '" + cfg + "' summary");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find(cfg + ":3:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("max_files_size"), std::string::npos) << r.err;

  r = Mica("show 0123456789abcdef");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("0123456789abcdef"), std::string::npos);
}

TEST_F(CliTest, SystemTrustBundleIsFullyInventoried) {
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (!std::filesystem::exists(bundle)) GTEST_SKIP() << bundle << " absent (package ca-certificates)";
  std::string text = ReadFile(bundle);
  std::size_t blocks = 0;
  for (std::size_t p = 0; (p = text.find("-----BEGIN CERTIFICATE-----", p)) != std::string::npos; ++p)
    ++blocks;
  ASSERT_EQ(Mica("scan fs -q /etc/ssl/certs").status, 0);
  json certs = MicaJson("inventory list --kind certificate --json");
  // Every block of the bundle is one distinct root certificate in the inventory.
  EXPECT_EQ(certs["count"].get<std::size_t>(), blocks);
  json ss = MicaJson("inventory list --self-signed --json");
  EXPECT_GT(ss["count"].get<int>(), static_cast<int>(blocks) * 9 / 10);
}

// Every key of ../shared/data/key-formats is found by `mica scan fs` and classified as
// the badkeys project's reference verdicts say.
TEST_F(CliTest, EveryKeyFormatsFileIsFoundAndClassified) {
  const std::string data = SharedData();
  if (data.empty()) GTEST_SKIP() << "MICA_SHARED_DATA absent: ../shared/data is not beside this clone";
  const std::string root = data + "/key-formats/rfc-example-keys";
  json verdicts = json::parse(ReadFile(root + "/reference_verdicts.json"));
  ASSERT_EQ(Mica("scan fs -q '" + root + "'").status, 0) << Mica("inventory errors").out;
  json all = MicaJson("inventory list --locations --json");
  // path -> key types and sizes found there
  std::map<std::string, std::set<std::string>> found;
  std::map<std::string, std::set<int>> bits;
  for (const auto& id : all["identities"]) {
    for (const auto& s : id["sightings"]) {
      found[s["path"]].insert(id["key"]["type"].get<std::string>());
      bits[s["path"]].insert(id["key"]["bits"].get<int>());
    }
  }
  int checked = 0;
  for (const auto& [name, v] : verdicts.items()) {
    std::string rel = name.substr(name.find('/') + 1);  // drop "badkeys-examplekeys/"
    std::string path = root + "/" + rel;
    ASSERT_TRUE(found.count(path)) << path << " not found by the scan";
    // The file name says what the key is ("rsa2048-", "ecdsap384-", "ed25519-",
    // "dsa1024-"); badkeys' verdict agrees where it read the file (it calls Ed25519 "ec"
    // and cannot read PPK: "notfound").
    std::string file = rel.substr(rel.find('/') + 1);
    std::string want_type;
    int want_bits = 0;
    if (file.rfind("ecdsap", 0) == 0) {
      want_type = "ec";
      want_bits = std::stoi(file.substr(6));
    } else if (file.rfind("ed25519", 0) == 0) {
      want_type = "ed25519";
    } else if (file.rfind("ed448", 0) == 0) {
      want_type = "ed448";
    } else if (file.rfind("rsa", 0) == 0) {
      want_type = "rsa";
      want_bits = std::stoi(file.substr(3));
    } else if (file.rfind("dsa", 0) == 0) {
      want_type = "dsa";
      want_bits = std::stoi(file.substr(3));
    }
    ASSERT_FALSE(want_type.empty()) << path;
    std::string verdict = v["type"];
    if (verdict != "notfound") {
      EXPECT_EQ(verdict, want_type.rfind("ed", 0) == 0 ? "ec" : want_type) << path;
      if (!v["bits"].is_null()) {
        EXPECT_EQ(v["bits"].get<int>(), want_bits) << path;
      }
    }
    EXPECT_TRUE(found[path].count(want_type)) << path << ": expected a " << want_type << " key";
    if (want_bits) {
      EXPECT_TRUE(bits[path].count(want_bits)) << path << ": expected " << want_bits << " bits";
    }
    ++checked;
  }
  EXPECT_GE(checked, 150);
}

}  // namespace
}  // namespace mica::testing
