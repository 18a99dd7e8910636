// End-to-end: `mica intel`, `mica people` on the synthetic week (people/testing/synthetic.h):
// import, endpoint inventory, events, risk with enforcement, check, approve, owners.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "mica_run.h"
#include "people/testing/synthetic.h"

namespace mica::testing {
namespace {

using nlohmann::json;
using people::testing::MakeSyntheticWorld;

class PeopleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "mica.db";
    world_ = MakeSyntheticWorld();
    std::filesystem::create_directories(dir_ / "intel");
    for (const auto& [name, content] : world_.intel_files) WriteFile(dir_ / "intel/" + name, content);
    WriteFile(dir_ / "hr.csv", world_.people_csv);
    WriteFile(dir_ / "events.jsonl", world_.events_jsonl);
    WriteFile(dir_ / "devices.jsonl", world_.devices_jsonl);
  }
  MicaRun Mica(const std::string& args) { return RunMica(db_, args, dir_ / "stderr.txt"); }
  json Json(const std::string& args, int want_status = 0) {
    MicaRun r = Mica(args);
    EXPECT_EQ(r.status, want_status) << args << "\n" << r.err << r.out;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << args << "\n" << r.out;
    return j;
  }
  void LoadWeek() {
    ASSERT_EQ(Mica("intel load '" + dir_ / "intel" + "'").status, 0);
    ASSERT_EQ(Mica("people import '" + dir_ / "hr.csv" + "'").status, 0);
    ASSERT_EQ(Mica("people devices ingest '" + dir_ / "devices.jsonl" + "'").status, 0);
    auto ingest = Json("people events ingest --json '" + dir_ / "events.jsonl" + "'");
    ASSERT_EQ(ingest["events"], world_.events);
    ASSERT_EQ(ingest["errors"], 0);
  }

  TempDir dir_;
  std::string db_;
  people::testing::SyntheticWorld world_;
};

TEST_F(PeopleCliTest, IntelLoadValidatesAndKeepsTheOldSetOnError) {
  ASSERT_EQ(Mica("intel load '" + dir_ / "intel" + "'").status, 0);
  auto j = Json("intel show --json 100.64.20.9 100.64.10.3 100.64.40.8");
  ASSERT_EQ(j["lookups"].size(), 3u);
  EXPECT_EQ(j["lookups"][0]["category"], "hosting");
  EXPECT_EQ(j["lookups"][0]["country"], "NL");
  EXPECT_EQ(j["lookups"][1]["category"], "corporate");
  EXPECT_EQ(j["lookups"][2]["country"], "CN");
  EXPECT_EQ(j["lookups"][2]["city"], "Shenyang");

  std::filesystem::create_directories(dir_ / "bad");
  WriteFile(dir_ / "bad/vpn-list.txt", "10.0.0.0/8\nnot-an-address\n");
  MicaRun bad = Mica("intel load '" + dir_ / "bad" + "'");
  EXPECT_EQ(bad.status, 3);
  EXPECT_NE(bad.err.find("vpn-list.txt:2"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("kept"), std::string::npos) << bad.err;
  auto still = Json("intel show --json 100.64.20.9");
  EXPECT_EQ(still["lookups"][0]["category"], "hosting");
  EXPECT_EQ(Mica("intel show nonsense").status, 2);
}

TEST_F(PeopleCliTest, ImportTwiceUpdatesWithoutDuplicates) {
  auto first = Json("people import --json '" + dir_ / "hr.csv" + "'");
  EXPECT_EQ(first["added"], 50);
  auto second = Json("people import --json '" + dir_ / "hr.csv" + "'");
  EXPECT_EQ(second["added"], 0);
  EXPECT_EQ(second["unchanged"], 50);
  auto list = Json("people list --json");
  EXPECT_EQ(list["people"].size(), 50u);
  // Hashes only: the raw phone number appears nowhere in the output.
  EXPECT_EQ(list.dump().find("555 010"), std::string::npos);
  WriteFile(dir_ / "bad.csv", "id,type\np1,pirate\n");
  MicaRun bad = Mica("people import '" + dir_ / "bad.csv" + "'");
  EXPECT_EQ(bad.status, 3);
  EXPECT_NE(bad.err.find("bad.csv:2"), std::string::npos) << bad.err;
}

TEST_F(PeopleCliTest, RiskFlagsThePlantedCasesEnforcesAndChecks) {
  LoadWeek();
  auto risk = Json("people risk --json --all --at 2026-11-20T00:00:00Z", 1);
  const double threshold = risk["threshold"];
  std::set<std::string> planted(world_.planted.begin(), world_.planted.end());
  ASSERT_EQ(risk["scores"].size(), 50u);
  for (const auto& s : risk["scores"]) {
    std::string id = s["person"];
    if (planted.count(id)) {
      EXPECT_GE(s["score"].get<double>(), threshold) << s.dump(2);
      EXPECT_FALSE(s["signals"].empty());
      for (const auto& h : s["signals"]) EXPECT_FALSE(h["evidence"].empty()) << h.dump();
    } else {
      EXPECT_LT(s["score"].get<double>(), threshold) << s.dump(2);
    }
  }
  std::set<std::string> blocked;
  for (const auto& b : risk["newly_blocked"]) blocked.insert(b.get<std::string>());
  EXPECT_EQ(blocked, planted);
  EXPECT_GT(risk["findings_opened"].get<int>(), 0);

  EXPECT_EQ(Mica("people check p41 sign").status, 1);
  EXPECT_EQ(Mica("people check p41 issue").status, 1);
  EXPECT_EQ(Mica("people check p41 ssh").status, 0);
  EXPECT_EQ(Mica("people check p01 sign").status, 0);
  EXPECT_EQ(Mica("people check nobody sign").status, 3);
  EXPECT_EQ(Mica("people check p01 dance").status, 2);

  auto show = Json("people show --json p44");
  EXPECT_TRUE(show["blocked"].get<bool>());
  EXPECT_FALSE(show["recent_events"].empty());
  EXPECT_NE(show.dump().find("impossible_travel"), std::string::npos);
  MicaRun table = Mica("people risk --at 2026-11-20T00:00:00Z");
  EXPECT_EQ(table.status, 1);
  EXPECT_NE(table.out.find("100.64.20.9 also used by"), std::string::npos) << table.out;

  EXPECT_EQ(Mica("people approve p41 --by ciso --reason 'verified in person'").status, 0);
  EXPECT_EQ(Mica("people check p41 sign").status, 0);
  auto audit = Json("people show --json p41");
  EXPECT_EQ(audit["approved_by"], "ciso");
}

TEST_F(PeopleCliTest, IngestReportsBadLinesWithFileAndLine) {
  ASSERT_EQ(Mica("people import '" + dir_ / "hr.csv" + "'").status, 0);
  WriteFile(dir_ / "mixed.jsonl",
            "{\"time\":\"2026-11-19T10:00:00Z\",\"person\":\"p01\",\"action\":\"sso.login\"}\n"
            "{\"time\":\"2026-11-19T10:00:00Z\",\"person\":\"p01\"\n"
            "{\"time\":\"2026-11-19T11:00:00Z\",\"person\":\"p01\",\"action\":\"git.push\"}\n");
  MicaRun r = Mica("people events ingest '" + dir_ / "mixed.jsonl" + "'");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("mixed.jsonl:2"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("2 events stored"), std::string::npos) << r.out;

  WriteFile(dir_ / "auth.log",
            "Nov 19 10:00:01 bastion sshd[1]: Accepted publickey for p02 from 198.51.100.2 port "
            "5000 ssh2: ED25519 SHA256:key-p02\n"
            "Nov 19 10:00:02 bastion sshd[1]: Failed password for root from 100.64.50.7 port 1 ssh2\n");
  auto auth = Json("people events ingest --json --format auth.log --year 2026 '" + dir_ / "auth.log" + "'");
  EXPECT_EQ(auth["events"], 1);
  EXPECT_EQ(auth["skipped"], 1);
  WriteFile(dir_ / "okta.jsonl",
            "{\"published\":\"2026-11-19T12:00:00Z\",\"eventType\":\"user.session.start\","
            "\"actor\":{\"alternateId\":\"p03\"},\"client\":{\"ipAddress\":\"203.0.113.3\"}}\n");
  auto okta = Json("people events ingest --json --format json --field person=actor.alternateId "
                   "--field time=published --field action=eventType --field "
                   "source_ip=client.ipAddress '" + dir_ / "okta.jsonl" + "'");
  EXPECT_EQ(okta["events"], 1);
  EXPECT_EQ(Mica("people events ingest --format json --field colour=x '" + dir_ / "okta.jsonl" + "'").status, 2);
}

TEST_F(PeopleCliTest, OwnersByRulesAndUnowned) {
  std::filesystem::create_directories(dir_ / "estate/etc/nginx");
  std::filesystem::create_directories(dir_ / "estate/srv");
  CertSpec web;
  web.cn = "www.example.test";
  web.san = "DNS:www.example.test";
  WriteFile(dir_ / "estate/etc/nginx/www.crt", MakeCertificate(web).cert_pem);
  CertSpec other;
  other.cn = "other.example.org";
  WriteFile(dir_ / "estate/srv/other.crt", MakeCertificate(other).cert_pem);
  ASSERT_EQ(Mica("scan fs '" + dir_ / "estate" + "'").status, 0);
  ASSERT_EQ(Mica("people owners add path '" + dir_ / "estate/etc/nginx/*" + "' p01").status, 0);
  EXPECT_EQ(Mica("people owners add colour red p01").status, 2);
  ASSERT_EQ(Mica("people owners apply").status, 0);
  auto list = Json("people owners list --json");
  int owned = 0, unowned = 0;
  for (const auto& i : list["identities"]) (i["owner"].is_null() ? unowned : owned)++;
  EXPECT_EQ(owned, 1);
  EXPECT_EQ(unowned, 1);
  auto only = Json("people owners list --unowned --json");
  ASSERT_EQ(only["identities"].size(), 1u);
  EXPECT_EQ(only["identities"][0]["subject"].get<std::string>().find("other"), 3u);
}

}  // namespace
}  // namespace mica::testing
