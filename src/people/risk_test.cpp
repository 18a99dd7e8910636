// Scoring on the synthetic week (people/testing/synthetic.h) through the real store, and
// each signal on hand-made aggregates.
#include "people/risk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "fixtures.h"
#include "people/enforce.h"
#include "people/hr_import.h"
#include "people/ingest.h"
#include "people/ownership.h"
#include "people/testing/synthetic.h"
#include "store/store.h"

namespace mica::people {
namespace {

using mica::testing::TempDir;
using mica::testing::WriteFile;
using testing::kSyntheticEnd;

const store::SignalHit* Hit(const store::RiskScore& s, const std::string& signal) {
  for (const auto& h : s.signals)
    if (h.signal == signal) return &h;
  return nullptr;
}

std::string AllEvidence(const store::RiskScore& s) {
  std::string out;
  for (const auto& h : s.signals)
    for (const auto& e : h.evidence) out += h.signal + ": " + e + "\n";
  return out;
}

class SyntheticWeekTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_ = testing::MakeSyntheticWorld();
    for (const auto& [name, content] : world_.intel_files) WriteFile(intel_ / name, content);
    auto set = IntelSet::Load(intel_.path());
    ASSERT_TRUE(set) << set.error().message;
    intel_set_ = std::move(*set);
    auto s = store::Store::Open(dir_ / "mica.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto people = ParsePeople(world_.people_csv, "hr.csv");
    ASSERT_TRUE(people) << people.error().message;
    ASSERT_EQ(people->size(), 50u);
    ASSERT_TRUE(store_->People().UpsertPeople(*people, kSyntheticEnd - 30 * 86400));
    std::vector<store::Device> devices;
    std::istringstream dev(world_.devices_jsonl);
    for (std::string line; std::getline(dev, line);) {
      auto d = ParseDeviceLine(line);
      ASSERT_TRUE(d) << d.error().message;
      devices.push_back(*d);
    }
    ASSERT_TRUE(store_->People().UpsertDevices(devices));
    config_ = DefaultRiskConfig();
    // A small batch so the week spans several transactions and aggregates merge.
    Ingestor ingestor(store_->People(), &intel_set_, config_, 1000);
    ASSERT_TRUE(ingestor.Begin());
    EventReader reader(EventFormat::kMica);
    std::istringstream in(world_.events_jsonl);
    ASSERT_TRUE(ingestor.AddStream(in, "events.jsonl", reader));
    ASSERT_TRUE(ingestor.Finish());
    EXPECT_EQ(ingestor.stats().errors, 0) << (ingestor.stats().error_samples.empty() ? "" : ingestor.stats().error_samples[0]);
    EXPECT_EQ(ingestor.stats().events, world_.events);
    auto w = WindowFor(config_, kSyntheticEnd);
    auto input = store_->People().LoadRiskInput(w.from, w.to, w.changes_from);
    ASSERT_TRUE(input) << input.error().message;
    scores_ = Score(*input, config_, kSyntheticEnd);
    ASSERT_EQ(scores_.size(), 50u);
  }

  const store::RiskScore& ScoreOf(const std::string& id) {
    for (const auto& s : scores_)
      if (s.person == id) return s;
    ADD_FAILURE() << "no score for " << id;
    return scores_.front();
  }

  TempDir dir_, intel_;
  testing::SyntheticWorld world_;
  IntelSet intel_set_;
  std::unique_ptr<store::Store> store_;
  RiskConfig config_;
  std::vector<store::RiskScore> scores_;
};

TEST_F(SyntheticWeekTest, SharedVpsAndPaymentContractorsAreFlagged) {
  for (const char* id : {"p41", "p42", "p43"}) {
    const auto& s = ScoreOf(id);
    EXPECT_GE(s.score, config_.threshold) << id << "\n" << AllEvidence(s);
    const auto* ip = Hit(s, "shared_ip");
    ASSERT_NE(ip, nullptr) << id;
    EXPECT_NE(ip->evidence[0].find("100.64.20.9"), std::string::npos) << ip->evidence[0];
    const auto* pay = Hit(s, "shared_payment");
    ASSERT_NE(pay, nullptr) << id;
    EXPECT_NE(pay->evidence[0].find("also held by"), std::string::npos);
    const auto* anon = Hit(s, "anonymizer");
    ASSERT_NE(anon, nullptr) << id;
    EXPECT_NE(anon->evidence[0].find("hosting"), std::string::npos) << anon->evidence[0];
  }
  // The other two names appear in each one's evidence.
  EXPECT_NE(Hit(ScoreOf("p41"), "shared_ip")->evidence[0].find("p42, p43"), std::string::npos);
}

TEST_F(SyntheticWeekTest, VpnThenAnotherContinentIsImpossibleTravel) {
  const auto& s = ScoreOf("p44");
  EXPECT_GE(s.score, config_.threshold) << AllEvidence(s);
  const auto* travel = Hit(s, "impossible_travel");
  ASSERT_NE(travel, nullptr) << AllEvidence(s);
  EXPECT_NE(travel->evidence[0].find("SE (100.64.30.5)"), std::string::npos) << travel->evidence[0];
  EXPECT_NE(travel->evidence[0].find("CN (100.64.40.8)"), std::string::npos);
  ASSERT_NE(Hit(s, "anonymizer"), nullptr);
  EXPECT_NE(Hit(s, "anonymizer")->evidence[0].find("vpn"), std::string::npos);
  const auto* cn = Hit(s, "country_mismatch_high_risk");
  ASSERT_NE(cn, nullptr);
  EXPECT_NE(cn->evidence[0].find("CN (declared US)"), std::string::npos) << cn->evidence[0];
}

TEST_F(SyntheticWeekTest, RemoteAccessToolAndKvmAreFlagged) {
  const auto& s = ScoreOf("p45");
  EXPECT_GE(s.score, config_.threshold) << AllEvidence(s);
  ASSERT_NE(Hit(s, "remote_access_tool"), nullptr);
  EXPECT_NE(Hit(s, "remote_access_tool")->evidence[0].find("AnyDesk"), std::string::npos);
  ASSERT_NE(Hit(s, "ip_kvm"), nullptr);
  EXPECT_NE(Hit(s, "ip_kvm")->evidence[0].find("1d6b:0104"), std::string::npos);
}

TEST_F(SyntheticWeekTest, NoCleanPersonCrossesTheThreshold) {
  std::set<std::string> planted(world_.planted.begin(), world_.planted.end());
  for (const auto& s : scores_) {
    if (planted.count(s.person)) continue;
    EXPECT_LT(s.score, config_.threshold) << s.person << "\n" << AllEvidence(s);
    // The corporate VPN egress (also inside a cloud range) never counts.
    EXPECT_EQ(Hit(s, "anonymizer"), nullptr) << s.person << "\n" << AllEvidence(s);
    EXPECT_EQ(Hit(s, "shared_ip"), nullptr) << s.person;
    EXPECT_EQ(Hit(s, "impossible_travel"), nullptr) << s.person << "\n" << AllEvidence(s);
  }
  // The travellers are seen abroad, plausibly.
  EXPECT_NE(Hit(ScoreOf("p05"), "country_mismatch"), nullptr) << AllEvidence(ScoreOf("p05"));
  EXPECT_NE(Hit(ScoreOf("p06"), "country_mismatch"), nullptr) << AllEvidence(ScoreOf("p06"));
  // Scores are sorted, planted ones first.
  EXPECT_TRUE(planted.count(scores_[0].person));
}

TEST_F(SyntheticWeekTest, EnforcementBlocksOpensFindingsAndRecordsEvents) {
  // p41 owns an identity by an explicit rule; they also used SHA256:key-p41.
  ASSERT_TRUE(store_->People().AddOwnerRule({0, "fingerprint", "aa11", "p41", kSyntheticEnd}));
  ASSERT_TRUE(store_->People().ReplaceOwners({{"aa11", "p41", "rule:1"}}, kSyntheticEnd));
  auto r = Enforce(*store_, store_->People(), scores_, config_, kSyntheticEnd);
  ASSERT_TRUE(r) << r.error().message;
  std::set<std::string> blocked(r->newly_blocked.begin(), r->newly_blocked.end());
  EXPECT_EQ(blocked, std::set<std::string>(world_.planted.begin(), world_.planted.end()));
  auto check = CheckAction(store_->People(), "p41", "sign");
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->allowed);
  EXPECT_TRUE(CheckAction(store_->People(), "p41", "ssh")->allowed);
  EXPECT_TRUE(CheckAction(store_->People(), "p01", "issue")->allowed);
  EXPECT_FALSE(CheckAction(store_->People(), "p01", "dance"));
  EXPECT_EQ(CheckAction(store_->People(), "nobody", "sign").error().code, ErrorCode::kNotFound);

  store::FindingFilter ff;
  ff.rule = "person-at-risk";
  auto findings = store_->ListFindings(ff);
  ASSERT_TRUE(findings) << findings.error().message;
  std::set<std::string> fps;
  for (const auto& f : *findings) fps.insert(f.fingerprint);
  EXPECT_TRUE(fps.count("aa11"));
  EXPECT_TRUE(fps.count("SHA256:key-p41"));
  EXPECT_TRUE(fps.count("SHA256:key-p45"));
  EXPECT_FALSE(fps.count("SHA256:key-p01"));

  store::EventFilter ef;
  ef.type = "risk_threshold_crossed";
  auto events = store_->ListEvents(ef);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), world_.planted.size());
  EXPECT_EQ(events->front().owner, "security");
  EXPECT_EQ(events->front().severity, "high");

  // A second run does not block or alert again.
  auto again = Enforce(*store_, store_->People(), scores_, config_, kSyntheticEnd + 60);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->newly_blocked.empty());
  EXPECT_EQ(again->findings_opened, 0);
  // Approval clears the block and holds while the score does not rise.
  ASSERT_TRUE(store_->People().Approve("p45", "ciso", ScoreOf("p45").score, kSyntheticEnd + 120));
  EXPECT_TRUE(CheckAction(store_->People(), "p45", "sign")->allowed);
  auto third = Enforce(*store_, store_->People(), scores_, config_, kSyntheticEnd + 180);
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->newly_blocked.empty());
  // Back under the threshold: findings resolve.
  auto fourth = Enforce(*store_, store_->People(), {}, config_, kSyntheticEnd + 240);
  ASSERT_TRUE(fourth);
  EXPECT_GT(fourth->findings_resolved, 0);
  EXPECT_EQ(store_->People().ScoreHistory("p41", 10)->size(), 3u);
}

TEST_F(SyntheticWeekTest, ReingestingContinuesTravelState) {
  // A later event for p44 from New York right after Shenyang is impossible travel too,
  // although it arrives in a separate run.
  Ingestor ingestor(store_->People(), &intel_set_, config_);
  ASSERT_TRUE(ingestor.Begin());
  store::AccessEvent e;
  e.at = kSyntheticEnd - 5 * 86400 + 13 * 3600;  // 70 minutes after Shenyang
  e.person = "p44";
  e.source_ip = "198.51.100.200";
  e.action = "sso.login";
  ASSERT_TRUE(ingestor.Add(e));
  ASSERT_TRUE(ingestor.Finish());
  auto w = WindowFor(config_, kSyntheticEnd);
  auto input = store_->People().LoadRiskInput(w.from, w.to, w.changes_from);
  ASSERT_TRUE(input);
  auto scores = Score(*input, config_, kSyntheticEnd);
  auto it = std::find_if(scores.begin(), scores.end(), [](const auto& s) { return s.person == "p44"; });
  ASSERT_NE(it, scores.end());
  const auto* travel = Hit(*it, "impossible_travel");
  ASSERT_NE(travel, nullptr);
  EXPECT_EQ(travel->evidence.size(), 2u) << AllEvidence(*it);
}

// ---------------------------------------------------------------------------------------
// Signals on hand-made aggregates.

store::Person P(const std::string& id, const std::string& country = "US",
                const std::string& tz = "America/New_York") {
  store::Person p;
  p.id = id;
  p.country = country;
  p.timezone = tz;
  return p;
}

TEST(ScoreTest, HoursSessionsAndOffHours) {
  store::RiskInput in;
  in.people = {P("a"), P("b")};
  for (int h = 0; h < 22; ++h) in.hours.push_back({"a", 20000, h, 3});
  // b: 30 events between 03:00 and 08:00 UTC = 22:00-03:00 in New York.
  for (int h = 3; h < 8; ++h) in.hours.push_back({"b", 20000, h, 6});
  in.sessions.push_back({"s1", "b", 1000, 1000 + 3 * 86400, 50});
  auto scores = Score(in, DefaultRiskConfig(), 2000000000);
  const auto& a = scores[0].person == "a" ? scores[0] : scores[1];
  const auto& b = scores[0].person == "b" ? scores[0] : scores[1];
  EXPECT_NE(Hit(a, "day_over_20h"), nullptr);
  EXPECT_EQ(Hit(a, "off_hours"), nullptr);  // only 6 of 22 hours at night
  ASSERT_NE(Hit(b, "off_hours"), nullptr);
  EXPECT_NE(Hit(b, "off_hours")->evidence[0].find("30 of 30"), std::string::npos)
      << Hit(b, "off_hours")->evidence[0];
  EXPECT_NE(Hit(b, "long_session"), nullptr);
}

TEST(ScoreTest, InventoryPaymentSerialReferral) {
  store::RiskInput in;
  auto a = P("a");
  a.laptop_serial = "SHIPPED-1";
  a.payment_type = "virtual_currency";
  a.address_hash = "aaa";
  a.shipping_address_hash = "bbb";
  auto r = P("r");
  r.referred_by = "a";
  in.people = {a, r, P("c")};
  store::Device d;
  d.id = "LT-x";
  d.person = "a";
  d.serial = "OTHER-9";
  d.software = {"TeamViewer 15"};
  d.monitors = {"TinyPilot Voyager"};
  in.devices = {d};
  in.links = {{"sensitive_device", "LT-unknown", "c", 10, 20, 4}, {"sensitive_device", "LT-x", "a", 10, 20, 1}};
  in.changes = {{"a", "payment_hash", "h1", "h2", 100}, {"a", "payment_hash", "h2", "h3", 200},
                {"c", "payment_hash", "", "h9", 100}};
  auto cfg = DefaultRiskConfig();
  auto scores = Score(in, cfg, 1000);
  auto of = [&](const std::string& id) {
    return *std::find_if(scores.begin(), scores.end(), [&](const auto& s) { return s.person == id; });
  };
  auto sa = of("a");
  for (const char* sig : {"serial_mismatch", "shipped_elsewhere", "payment_risky_type",
                          "payment_changes", "remote_access_tool", "ip_kvm"})
    EXPECT_NE(Hit(sa, sig), nullptr) << sig << "\n" << AllEvidence(sa);
  EXPECT_EQ(Hit(sa, "unmanaged_device"), nullptr);
  auto sc = of("c");
  EXPECT_NE(Hit(sc, "unmanaged_device"), nullptr);
  EXPECT_EQ(Hit(sc, "payment_changes"), nullptr);  // a first payment account is no change
  auto sr = of("r");
  ASSERT_NE(Hit(sr, "referral"), nullptr);
  EXPECT_DOUBLE_EQ(Hit(sr, "referral")->points, cfg.referral_share * sa.score);
  // Weight 0 switches a signal off.
  cfg.weights["ip_kvm"] = 0;
  auto off = Score(in, cfg, 1000);
  for (const auto& s : off) {
    if (s.person == "a") {
      EXPECT_EQ(Hit(s, "ip_kvm"), nullptr);
    }
  }
}

TEST(ScoreTest, CountriesAndSharedHashes) {
  store::RiskInput in;
  auto a = P("a"), b = P("b");
  a.phone_hash = b.phone_hash = "ph";
  a.resume_hash = b.resume_hash = "rh";
  in.people = {a, b};
  in.countries = {{"a", 1, "US", 5, 86400, 86500}, {"a", 1, "GB", 1, 86600, 86600},
                  {"a", 1, "FR", 1, 86700, 86700}, {"b", 1, "RU", 1, 86400, 86400}};
  in.links = {{"mfa", "yubikey-7", "a", 1, 2, 1}, {"mfa", "yubikey-7", "b", 1, 2, 1}};
  auto scores = Score(in, DefaultRiskConfig(), 100000);
  for (const auto& s : scores) {
    EXPECT_NE(Hit(s, "shared_phone"), nullptr);
    EXPECT_NE(Hit(s, "shared_resume"), nullptr);
    EXPECT_NE(Hit(s, "shared_mfa"), nullptr);
    if (s.person == "a") {
      EXPECT_NE(Hit(s, "many_countries_day"), nullptr);
      EXPECT_NE(Hit(s, "country_mismatch"), nullptr);
      EXPECT_EQ(Hit(s, "country_mismatch_high_risk"), nullptr);
    } else {
      EXPECT_NE(Hit(s, "country_mismatch_high_risk"), nullptr);
    }
  }
}

TEST(RiskConfigTest, LoadsPeopleSectionAndRejectsUnknownKeys) {
  TempDir dir;
  WriteFile(dir / "mica.toml",
            "[store]\ndb = \"x.db\"\n[people]\nthreshold = 75\nwindow = \"14d\"\n"
            "high_risk_countries = [\"KP\"]\n[people.weights]\nshared_ip = 50\n");
  auto c = LoadRiskConfig(dir / "mica.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->threshold, 75);
  EXPECT_EQ(c->window, 14 * 86400);
  EXPECT_EQ(c->Weight("shared_ip"), 50);
  EXPECT_EQ(c->Weight("shared_payment"), 45);
  WriteFile(dir / "bad.toml", "[people]\nthreshhold = 75\n");
  auto bad = LoadRiskConfig(dir / "bad.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad.toml:2:"), std::string::npos) << bad.error().message;
  WriteFile(dir / "bad2.toml", "[people.weights]\nshared_ipp = 5\n");
  EXPECT_FALSE(LoadRiskConfig(dir / "bad2.toml"));
  WriteFile(dir / "bad3.toml", "[people]\nwindow = 7\n");
  EXPECT_FALSE(LoadRiskConfig(dir / "bad3.toml"));
  EXPECT_TRUE(LoadRiskConfig(""));
}

TEST(OwnershipTest, RulesByPrecedence) {
  EXPECT_TRUE(GlobMatch("/etc/nginx/*", "/etc/nginx/ssl/a.pem"));
  EXPECT_FALSE(GlobMatch("/etc/nginx/*.pem", "/etc/apache/a.pem"));
  EXPECT_TRUE(GlobMatch("*.key", "/x/y.key"));
  EXPECT_TRUE(GlobMatch("/a?c", "/abc"));
  std::vector<store::OwnerRule> rules = {
      {1, "issuer", "Let's Encrypt", "web-team", 0},
      {2, "path", "/etc/*", "ops", 0},
      {3, "path", "/etc/nginx/*", "web-team", 0},
      {4, "san", "example.com", "dns-team", 0},
      {5, "fingerprint", "FP1", "alice", 0},
      {6, "tag", "payments", "pay-team", 0},
  };
  std::vector<OwnedIdentity> ids = {
      {"fp1", {"/etc/nginx/a.pem"}, {}, "", {}},          // explicit wins (case-insensitive)
      {"fp2", {"/etc/nginx/b.pem"}, {}, "", {}},          // longer path glob wins
      {"fp3", {"/etc/other.pem"}, {}, "", {}},
      {"fp4", {"/srv/x.pem"}, {"www.example.com"}, "CN=R3,O=Let's Encrypt", {}},
      {"fp5", {"/srv/y.pem"}, {}, "CN=R3,O=Let's Encrypt", {}},
      {"fp6", {"/etc/nginx/c.pem"}, {}, "", {"payments"}},  // tag beats path
      {"fp7", {"/srv/z.pem"}, {"example.org"}, "", {}},   // no rule
  };
  auto owners = ResolveOwners(rules, ids);
  std::map<std::string, std::string> got;
  for (const auto& a : owners) got[a.fingerprint] = a.owner;
  EXPECT_EQ(got["fp1"], "alice");
  EXPECT_EQ(got["fp2"], "web-team");
  EXPECT_EQ(got["fp3"], "ops");
  EXPECT_EQ(got["fp4"], "dns-team");
  EXPECT_EQ(got["fp5"], "web-team");
  EXPECT_EQ(got["fp6"], "pay-team");
  EXPECT_FALSE(got.count("fp7"));
  EXPECT_FALSE(ValidateRule({0, "colour", "x", "y", 0}));
  EXPECT_FALSE(ValidateRule({0, "path", "relative/*", "y", 0}));
  EXPECT_TRUE(ValidateRule({0, "path", "/abs/*", "y", 0}));
}

}  // namespace
}  // namespace mica::people
