#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures.h"
#include "store/people.h"
#include "store/store.h"

namespace mica::store {
namespace {

using mica::testing::TempDir;

constexpr UnixSeconds kT0 = 1795000000;  // 2026-11-18T...

class PeopleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_ / "mica.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  PeopleStore& people() { return store_->People(); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

Person P(const std::string& id, const std::string& payment = "") {
  Person p;
  p.id = id;
  p.name = "Name " + id;
  p.type = "contractor";
  p.country = "US";
  p.payment_hash = payment;
  return p;
}

TEST_F(PeopleStoreTest, ReimportUpdatesAndNeverDuplicates) {
  auto first = people().UpsertPeople({P("a", "h1"), P("b")}, kT0);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->added, 2);
  auto again = people().UpsertPeople({P("a", "h1"), P("b")}, kT0 + 10);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->added, 0);
  EXPECT_EQ(again->unchanged, 2);
  auto changed = people().UpsertPeople({P("a", "h2")}, kT0 + 20);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->updated, 1);
  EXPECT_EQ(changed->payment_changes, 1);
  auto list = people().ListPeople();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  auto a = people().GetPerson("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->payment_hash, "h2");
  EXPECT_EQ(a->created_at, kT0);
  EXPECT_EQ(a->updated_at, kT0 + 20);
  auto changes = people().ListChanges("a");
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].field, "payment_hash");
  EXPECT_EQ((*changes)[0].before, "h1");
  EXPECT_EQ((*changes)[0].after, "h2");
  auto missing = people().GetPerson("zz");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(PeopleStoreTest, IngestAddsAggregateDeltas) {
  IngestBatch b;
  AccessEvent e;
  e.at = kT0;
  e.person = "a";
  e.source_ip = "192.0.2.1";
  e.action = "sso.login";
  b.events = {e, e};
  b.hours = {{"a", kT0 / 86400, 3, 2}};
  b.countries = {{"a", kT0 / 86400, "US", 2, kT0, kT0 + 5}};
  b.links = {{"ip", "192.0.2.1", "a", kT0, kT0 + 5, 2}, {"target", "fp1", "a", kT0, kT0, 1}};
  b.observations = {{"a", "anonymizer", "192.0.2.1", kT0 / 86400, kT0, kT0, 1, "first"}};
  b.travel = {{"a", kT0, true, 40.7, -74.0, "US", "192.0.2.1"}};
  b.uses = {{"fp1", "device", "LT-1", kT0, kT0, 1}};
  ASSERT_TRUE(people().Ingest(b));
  b.events.clear();
  b.countries = {{"a", kT0 / 86400, "US", 3, kT0 - 100, kT0 + 50}};
  b.observations = {{"a", "anonymizer", "192.0.2.1", kT0 / 86400, kT0 + 60, kT0 + 60, 4, "second"}};
  ASSERT_TRUE(people().Ingest(b));
  EXPECT_EQ(*people().CountEvents(), 2);
  auto in = people().LoadRiskInput(kT0 - 86400, kT0 + 86400, 0);
  ASSERT_TRUE(in) << in.error().message;
  ASSERT_EQ(in->hours.size(), 1u);
  EXPECT_EQ(in->hours[0].events, 4);
  ASSERT_EQ(in->countries.size(), 1u);
  EXPECT_EQ(in->countries[0].events, 5);
  EXPECT_EQ(in->countries[0].first_at, kT0 - 100);
  EXPECT_EQ(in->countries[0].last_at, kT0 + 50);
  ASSERT_EQ(in->observations.size(), 1u);
  EXPECT_EQ(in->observations[0].events, 5);
  EXPECT_EQ(in->observations[0].evidence, "first");
  // "target" links are not scoring input; TargetsOf reads them.
  ASSERT_EQ(in->links.size(), 1u);
  EXPECT_EQ(in->links[0].events, 4);
  EXPECT_EQ(*people().TargetsOf("a"), std::vector<std::string>{"fp1"});
  auto state = people().LoadIngestState();
  ASSERT_TRUE(state);
  ASSERT_EQ(state->travel.size(), 1u);
  EXPECT_NEAR(state->travel[0].lat, 40.7, 1e-9);
  ASSERT_EQ(state->uses.size(), 1u);
  EXPECT_EQ(state->uses[0].events, 2);
  // Outside the window: nothing.
  auto later = people().LoadRiskInput(kT0 + 10 * 86400, kT0 + 11 * 86400, 0);
  ASSERT_TRUE(later);
  EXPECT_TRUE(later->hours.empty());
  EXPECT_TRUE(later->links.empty());
  auto recent = people().RecentEvents("a", 1);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].source_ip, "192.0.2.1");
}

TEST_F(PeopleStoreTest, EventBlocksKeepEveryFieldAndOrder) {
  // Two blocks through the streaming form; RecentEvents reads newest first across blocks.
  std::vector<AccessEvent> first, second;
  for (int i = 0; i < 5; ++i) {
    AccessEvent e;
    e.at = kT0 + i;
    e.person = i % 2 ? "b" : "a";
    e.source_ip = "2001:db8::" + std::to_string(i);
    e.device = "LT-" + std::to_string(i);
    e.user_agent = "UA \"quoted\" \xc3\xa9";
    e.action = "sso.login";
    e.target = "SHA256:k" + std::to_string(i);
    e.mfa_device = "y";
    e.session = "s";
    e.country = "DE";
    e.asn = 64500 + i;
    e.intel = i == 4 ? "vpn:vpn-x.txt" : "";
    (i < 3 ? first : second).push_back(e);
  }
  ASSERT_TRUE(people().AppendAccessEvents(first));
  ASSERT_TRUE(people().AppendAccessEvents(second));
  ASSERT_TRUE(people().CommitIngest({}));
  EXPECT_EQ(*people().CountEvents(), 5);
  auto all = people().RecentEvents("", 0);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].at, kT0 + 4);
  EXPECT_EQ((*all)[0].intel, "vpn:vpn-x.txt");
  EXPECT_EQ((*all)[0].asn, 64504);
  EXPECT_EQ((*all)[4].user_agent, "UA \"quoted\" \xc3\xa9");
  auto a = people().RecentEvents("a", 2);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].source_ip, "2001:db8::4");
  EXPECT_EQ((*a)[1].source_ip, "2001:db8::2");
}

TEST_F(PeopleStoreTest, AnUncommittedIngestRollsBack) {
  AccessEvent e;
  e.at = kT0;
  e.person = "a";
  ASSERT_TRUE(people().AppendAccessEvents(std::vector<AccessEvent>{e}));
  store_.reset();  // no CommitIngest
  auto s = Store::Open(dir_ / "mica.db");
  ASSERT_TRUE(s);
  EXPECT_EQ(*(*s)->People().CountEvents(), 0);
}

TEST_F(PeopleStoreTest, OwnersRulesAndTags) {
  auto id = people().AddOwnerRule({0, "path", "/etc/nginx/*", "alice", kT0});
  ASSERT_TRUE(id);
  auto same = people().AddOwnerRule({0, "path", "/etc/nginx/*", "bob", kT0});
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, *id);
  auto rules = people().ListOwnerRules();
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].owner, "bob");
  ASSERT_TRUE(people().SetTag("fp1", "payments"));
  ASSERT_TRUE(people().SetTag("fp1", "payments"));
  EXPECT_EQ((*people().Tags())["fp1"].size(), 1u);
  ASSERT_TRUE(people().ReplaceOwners({{"fp1", "bob", "rule:1"}, {"fp2", "carol", "rule:2"}}, kT0));
  ASSERT_TRUE(people().ReplaceOwners({{"fp1", "bob", "rule:1"}}, kT0));
  auto owners = people().OwnersByFingerprint();
  ASSERT_TRUE(owners);
  ASSERT_EQ(owners->size(), 1u);
  EXPECT_EQ(owners->at("fp1"), "bob");
  ASSERT_TRUE(people().RemoveOwnerRule(*id));
  EXPECT_EQ(people().RemoveOwnerRule(*id).error().code, ErrorCode::kNotFound);
}

TEST_F(PeopleStoreTest, DevicesScoresAndBlocks) {
  ASSERT_TRUE(people().UpsertPeople({P("a")}, kT0));
  Device d;
  d.id = "LT-1";
  d.person = "a";
  d.serial = "S1";
  d.software = {"AnyDesk 7"};
  d.usb = {{"03", "1d6b", "0104", "Gadget"}};
  ASSERT_TRUE(people().UpsertDevices({d}));
  d.serial = "S2";
  ASSERT_TRUE(people().UpsertDevices({d}));
  auto devices = people().ListDevices();
  ASSERT_TRUE(devices);
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].serial, "S2");
  ASSERT_EQ((*devices)[0].usb.size(), 1u);
  EXPECT_EQ((*devices)[0].usb[0].vendor, "1d6b");

  RiskScore s;
  s.person = "a";
  s.at = kT0;
  s.score = 70;
  s.signals = {{"ip_kvm", 40, "why", {"device LT-1"}}, {"remote_access_tool", 30, "why", {}}};
  ASSERT_TRUE(people().RecordScores({s}));
  s.at = kT0 + 1;
  s.score = 75;
  ASSERT_TRUE(people().RecordScores({s}));
  auto latest = people().LatestScores();
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].score, 75);
  ASSERT_EQ((*latest)[0].signals.size(), 2u);
  EXPECT_EQ((*latest)[0].signals[0].evidence, std::vector<std::string>{"device LT-1"});
  EXPECT_EQ(people().ScoreHistory("a", 10)->size(), 2u);

  ASSERT_TRUE(people().Block("a", "risk 75", kT0));
  EXPECT_TRUE(people().GetPerson("a")->blocked);
  ASSERT_TRUE(people().Approve("a", "ciso", 75, kT0 + 5));
  auto a = people().GetPerson("a");
  EXPECT_FALSE(a->blocked);
  EXPECT_EQ(a->approved_by, "ciso");
  EXPECT_EQ(a->approved_score, 75);
  EXPECT_EQ(people().Block("nobody", "x", kT0).error().code, ErrorCode::kNotFound);
}

TEST_F(PeopleStoreTest, SurvivesReopen) {
  ASSERT_TRUE(people().UpsertPeople({P("a")}, kT0));
  store_.reset();
  auto s = Store::Open(dir_ / "mica.db");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)->People().ListPeople()->size(), 1u);
}

}  // namespace
}  // namespace mica::store
