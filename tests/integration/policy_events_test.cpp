// End-to-end: the events `mica policy check` records (docs/EVENTS.md): a rule's first
// check is one finding_baseline event whose digest names its findings; later checks record
// an event per finding opened or resolved; `mica audit verify` accepts the log.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "fixtures.h"
#include "mica_run.h"

namespace mica::testing {
namespace {

using nlohmann::json;

class PolicyEventsTest : public ::testing::Test {
 protected:
  MicaRun Mica(const std::string& args) { return RunMica(db_, args, dir_ / "stderr.txt"); }

  void Cert(const std::string& path, const std::string& cn, long long not_after, bool san = true) {
    CertSpec spec;
    spec.cn = cn;
    if (san) spec.san = "DNS:" + cn;
    spec.not_before = std::time(nullptr) - 400 * 86400LL;
    spec.not_after = not_after;
    WriteFile(tree_ + path, MakeCertificate(spec).cert_pem);
  }

  std::vector<json> Events() {
    MicaRun r = Mica("events --json");
    EXPECT_EQ(r.status, 0) << r.err;
    json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(doc.is_discarded()) << r.out;
    std::vector<json> out;
    if (doc.is_discarded()) return out;
    for (const json& e : doc["events"])
      if (e["type"].get<std::string>().starts_with("finding_")) out.push_back(e);
    return out;
  }

  // SHA-256 of "fingerprint LF location LF" of the findings of `rule` opened at `at`, in
  // id order, read straight from the file.
  std::string Digest(const std::string& rule, long long at) {
    sqlite3* db = nullptr;
    EXPECT_EQ(::sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(::sqlite3_prepare_v2(db,
                                   "SELECT fingerprint, location FROM finding WHERE rule = ?1 "
                                   "AND opened_at = ?2 ORDER BY id",
                                   -1, &stmt, nullptr),
              SQLITE_OK);
    ::sqlite3_bind_text(stmt, 1, rule.c_str(), -1, SQLITE_TRANSIENT);
    ::sqlite3_bind_int64(stmt, 2, at);
    std::string lines;
    while (::sqlite3_step(stmt) == SQLITE_ROW) {
      lines.append(reinterpret_cast<const char*>(::sqlite3_column_text(stmt, 0))).append("\n");
      lines.append(reinterpret_cast<const char*>(::sqlite3_column_text(stmt, 1))).append("\n");
    }
    ::sqlite3_finalize(stmt);
    ::sqlite3_close(db);
    return Sha256Hex(AsBytes(lines));
  }

  TempDir dir_;
  std::string db_ = dir_ / "mica.db";
  std::string tree_ = dir_ / "estate";
};

TEST_F(PolicyEventsTest, FirstCheckIsABaselinePerRuleThenAnEventPerFinding) {
  std::filesystem::create_directories(tree_);
  const long long now = std::time(nullptr);
  Cert("/old1.crt", "old1.example", now - 10 * 86400LL);
  Cert("/old2.crt", "old2.example", now - 20 * 86400LL);
  Cert("/nosan.crt", "nosan.example", now + 200 * 86400LL, /*san=*/false);
  ASSERT_EQ(Mica("scan fs '" + tree_ + "'").status, 0);

  MicaRun first = Mica("policy check --json");
  ASSERT_EQ(first.status, 1) << first.err;  // expired certificates are critical
  const json doc = json::parse(first.out);
  ASSERT_GT(doc["opened"].get<int>(), 3);

  std::vector<json> events = Events();
  std::map<std::string, json> baseline;  // rule -> event
  for (const json& e : events) {
    ASSERT_EQ(e["type"], "finding_baseline") << e.dump();
    EXPECT_EQ(e["severity"], "info");
    const std::string detail = e["detail"];
    baseline[detail.substr(0, detail.find(':'))] = e;
  }
  ASSERT_TRUE(baseline.count("cert-expired"));
  ASSERT_TRUE(baseline.count("san-missing"));
  std::size_t counted = 0;
  for (const auto& [rule, e] : baseline) {
    const std::string detail = e["detail"];
    const std::string head = rule + ": first check, ";
    ASSERT_EQ(detail.substr(0, head.size()), head) << detail;
    counted += std::stoul(detail.substr(head.size()));
  }
  EXPECT_EQ(counted, doc["opened"].get<std::size_t>());  // every finding opened is counted
  EXPECT_NE(baseline["cert-expired"]["detail"].get<std::string>().find("(2 critical)"),
            std::string::npos);

  // The digest names exactly the stored findings of the rule.
  MicaRun at = Mica("events --json --type finding_baseline");
  const json listed = json::parse(at.out);
  ASSERT_FALSE(listed["events"].empty());
  sqlite3* raw = nullptr;
  ASSERT_EQ(::sqlite3_open(db_.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(
      ::sqlite3_prepare_v2(raw, "SELECT at FROM event WHERE type = 'finding_baseline' LIMIT 1", -1,
                           &stmt, nullptr),
      SQLITE_OK);
  ASSERT_EQ(::sqlite3_step(stmt), SQLITE_ROW);
  const long long opened_at = ::sqlite3_column_int64(stmt, 0);
  ::sqlite3_finalize(stmt);
  ::sqlite3_close(raw);
  for (const auto& [rule, e] : baseline) {
    const std::string detail = e["detail"];
    EXPECT_EQ(detail.substr(detail.size() - 64), Digest(rule, opened_at)) << rule;
  }

  // A new expired certificate: cert-expired was checked before, so its finding is news.
  Cert("/old3.crt", "old3.example", now - 5 * 86400LL);
  std::filesystem::remove(tree_ + "/old1.crt");
  ASSERT_EQ(Mica("scan fs '" + tree_ + "'").status, 0);
  MicaRun second = Mica("policy check --json");
  ASSERT_EQ(second.status, 1) << second.err;
  std::vector<json> later = Events();
  ASSERT_GT(later.size(), events.size());
  std::map<std::string, int> seen;  // "type rule" -> count
  for (std::size_t i = events.size(); i < later.size(); ++i) {
    const std::string detail = later[i]["detail"];
    seen[later[i]["type"].get<std::string>() + " " + detail.substr(0, detail.find(':'))]++;
  }
  EXPECT_EQ(seen["finding_opened cert-expired"], 1);
  EXPECT_EQ(seen["finding_resolved cert-expired"], 1);
  EXPECT_EQ(seen.count("finding_baseline cert-expired"), 0u);
  const json again = json::parse(second.out);
  EXPECT_EQ(static_cast<std::size_t>(again["opened"].get<int>() + again["resolved"].get<int>()),
            later.size() - events.size());

  MicaRun verify = Mica("audit verify");
  EXPECT_EQ(verify.status, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace mica::testing
