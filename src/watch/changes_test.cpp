#include "watch/changes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "fixtures.h"
#include "identities.h"
#include "store/store.h"

namespace mica::watch {
namespace {

using store::Event;
using mica::testing::Cert;
using mica::testing::File;
using mica::testing::kDay;
using mica::testing::Key;
using mica::testing::kT0;

class ChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open(dir_ / "mica.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  // One filesystem scan of `roots` recording `files`, finished with change detection as
  // `mica scan` finishes it (a quiet baseline sums up its new locations in one event).
  std::vector<Event> Scan(const std::vector<store::Observation>& files, UnixSeconds at,
                          const ChangeRules& rules = {},
                          const std::vector<std::string>& roots = {"/srv"}) {
    store::ScanStart start{"fs", "h1", roots, at};
    auto known = store_->HasCompleteScan(start);
    EXPECT_TRUE(known);
    const bool baseline = !known.value_or(false);
    auto id = store_->BeginScan(start);
    EXPECT_TRUE(id) << id.error().message;
    auto before = store_->ListEvents({});
    EXPECT_TRUE(before);
    EXPECT_TRUE(store_->Record(*id, files, {}, at));
    const ChangeRecording recording = MakeChangeRecording(rules, baseline);
    auto done = store_->FinishScan(*id, {}, at, recording.classify, recording.baseline);
    EXPECT_TRUE(done) << done.error().message;
    store::EventFilter f;
    f.after_id = before->empty() ? 0 : before->back().id;
    auto events = store_->ListEvents(f);
    EXPECT_TRUE(events);
    return *events;
  }

  static std::vector<std::string> Types(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type + "/" + e.severity);
    std::sort(out.begin(), out.end());
    return out;
  }

  mica::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ChangesTest, FirstScanIsOneQuietBaselineEvent) {
  const auto files = std::vector{File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay)}),
                                 File("/srv/k.pem", {Key("k1", "s1", false)})};
  auto events = Scan(files, kT0);
  ASSERT_EQ(Types(events), (std::vector<std::string>{"scan_baseline/info"}));
  const Event& e = events[0];
  EXPECT_EQ(e.location, "");
  EXPECT_NE(e.detail.find("2 identity sightings at 2 new locations (1 certificate, 1 private_key)"),
            std::string::npos)
      << e.detail;
  EXPECT_NE(e.detail.find("1 unencrypted private keys"), std::string::npos) << e.detail;
  // The digest commits to each sighting: fingerprint, location and position lines, in
  // the order they were recorded.
  std::string lines;
  for (const auto& f : files)
    for (const auto& id : f.identities)
      lines += id.fingerprint + "\n" + f.location.path + "\n" + id.position + "\n";
  EXPECT_NE(e.detail.find("lines " + Sha256Hex(AsBytes(lines))), std::string::npos) << e.detail;
  // The next scan of the same roots is no baseline: a new file is its own event.
  auto later = Scan({files[0], files[1], File("/srv/b.pem", {Cert("b1", "CA One", kT0 + kDay)})},
                    kT0 + 60);
  EXPECT_EQ(Types(later), (std::vector<std::string>{"identity_added/info"}));
}

TEST_F(ChangesTest, LoudBaselineRecordsEveryIdentityAtItsSeverity) {
  ChangeRules loud;
  loud.quiet_baseline = false;
  auto events = Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay)}),
                      File("/srv/k.pem", {Key("k1", "s1", false)})},
                     kT0, loud);
  EXPECT_EQ(Types(events),
            (std::vector<std::string>{"identity_added/info", "private_key_added/high"}));
}

TEST_F(ChangesTest, BaselineOfNewRootsStillClassifiesLocationsKnownBefore) {
  Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay, "spkiA")})}, kT0);
  // A first scan of /srv and /opt together is a baseline of those roots: /opt/b.pem is
  // new and summed up; /srv/a.pem was known, and its replacement is still an event
  // (quiet: info, marked as a baseline's).
  auto events = Scan({File("/srv/a.pem", {Cert("a2", "Other CA", kT0 + 400 * kDay, "spkiB")}),
                      File("/opt/b.pem", {Cert("b1", "CA One", kT0 + 100 * kDay)})},
                     kT0 + 60, ChangeRules{}, {"/opt", "/srv"});
  ASSERT_EQ(Types(events), (std::vector<std::string>{"issuer_changed/info", "scan_baseline/info"}));
  for (const auto& e : events) {
    if (e.type == "issuer_changed") {
      EXPECT_EQ(e.after, "a2");
      EXPECT_NE(e.detail.find("(baseline scan)"), std::string::npos) << e.detail;
    } else {
      EXPECT_NE(e.detail.find("1 identity sightings at 1 new locations"), std::string::npos) << e.detail;
    }
  }
}

TEST_F(ChangesTest, UnchangedRescanRecordsNothing) {
  const auto files = std::vector{File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay)})};
  Scan(files, kT0);
  EXPECT_TRUE(Scan(files, kT0 + 60).empty());
}

TEST_F(ChangesTest, ReplacementFromAnotherIssuerIsFlagged) {
  Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay, "spkiA")})}, kT0);
  auto events = Scan({File("/srv/a.pem", {Cert("a2", "Other CA", kT0 + 400 * kDay, "spkiB")})},
                     kT0 + 60);
  // One event for the one change: the replacement, typed by what matters most.
  ASSERT_EQ(Types(events), (std::vector<std::string>{"issuer_changed/medium"}));
  EXPECT_EQ(events[0].before, "a1");
  EXPECT_EQ(events[0].after, "a2");
  EXPECT_EQ(events[0].location, "/srv/a.pem");
  EXPECT_NE(events[0].detail.find("issuer was 'CN=CA One"), std::string::npos) << events[0].detail;
  EXPECT_NE(events[0].detail.find("new key"), std::string::npos) << events[0].detail;
}

TEST_F(ChangesTest, RenewalWithSameKeyAndIssuerIsOnlyAReplacement) {
  Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 10 * kDay, "spkiA")})}, kT0);
  auto events = Scan({File("/srv/a.pem", {Cert("a2", "CA One", kT0 + 90 * kDay, "spkiA")})},
                     kT0 + 60);
  ASSERT_EQ(Types(events), (std::vector<std::string>{"identity_replaced/low"}));
  EXPECT_NE(events[0].detail.find("same key"), std::string::npos);
}

TEST_F(ChangesTest, NewPrivateKeyAndVanishedCertificate) {
  Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay)})}, kT0);
  auto events = Scan({File("/srv/www/leak.key", {Key("k9", "s9", false)})}, kT0 + 60);
  EXPECT_EQ(Types(events),
            (std::vector<std::string>{"identity_removed/info", "private_key_added/high"}));
}

TEST_F(ChangesTest, KeyNewlyReadableByOthers) {
  Scan({File("/srv/k.pem", {Key("k1", "s1", false)}, 0100600)}, kT0);
  auto events = Scan({File("/srv/k.pem", {Key("k1", "s1", false)}, 0100644)}, kT0 + 60);
  ASSERT_EQ(Types(events), (std::vector<std::string>{"private_key_exposed/high"}));
  EXPECT_NE(events[0].detail.find("0600 -> 0644"), std::string::npos);
  // Tightening again is not an exposure.
  EXPECT_TRUE(Scan({File("/srv/k.pem", {Key("k1", "s1", false)}, 0100600)}, kT0 + 120).empty());
}

TEST_F(ChangesTest, CodeSigningAndTrustStoreAdditions) {
  Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay)})}, kT0);
  auto signer = Cert("cs1", "Code CA", kT0 + 300 * kDay);
  signer.cert->eku = {"code_signing"};
  auto events = Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay)}),
                      File("/srv/laptop/sign.pem", {signer})},
                     kT0 + 60);
  EXPECT_EQ(Types(events),
            (std::vector<std::string>{"code_signing_seen/high", "identity_added/info"}));

  store::ChangeSet set;
  set.at = kT0;
  store::LocationChange l;
  l.kind = "file";
  l.path = l.name = "/etc/ssl/certs/evil.pem";
  store::ChangeIdentity ca;
  ca.kind = "certificate";
  ca.is_ca = true;
  ca.fingerprint = "ca1";
  l.added.push_back(ca);
  set.locations.push_back(l);
  auto classified = ClassifyChanges(set, ChangeRules{}, /*baseline=*/false);
  EXPECT_EQ(Types(classified),
            (std::vector<std::string>{"ca_added_to_trust_store/high", "identity_added/info"}));
}

// The store reads a scan's changes 8,192 location ids at a time: a scan spanning
// several windows records every change once, and replacements still pair per location.
TEST_F(ChangesTest, ChangesAcrossSeveralLocationWindowsAreEachRecordedOnce) {
  constexpr int kFiles = 17000;  // location ids 1..17001: three windows
  auto tree = [&](int generation) {
    std::vector<store::Observation> files;
    for (int i = 0; i < kFiles; ++i) {
      const bool changed = generation > 0 && i % 4000 == 7;  // 5 files, in 3 windows
      files.push_back(File("/srv/f" + std::to_string(i) + ".pem",
                           {Cert((changed ? "new" : "old") + std::to_string(i),
                                 changed ? "Other CA" : "CA One", kT0 + 100 * kDay)}));
    }
    if (generation > 0) {
      files.pop_back();  // the last file vanishes
      files.push_back(File("/srv/zz.pem", {Cert("late", "CA One", kT0 + 100 * kDay)}));
    }
    return files;
  };
  ChangeRules loud;  // the first scan too records an event per identity, across windows
  loud.quiet_baseline = false;
  EXPECT_EQ(Scan(tree(0), kT0, loud).size(), static_cast<std::size_t>(kFiles));
  auto events = Scan(tree(1), kT0 + 60);
  std::vector<std::string> expected{"identity_added/info", "identity_removed/info"};
  expected.insert(expected.end(), 5, "issuer_changed/medium");
  EXPECT_EQ(Types(events), expected);
  for (const auto& e : events) {
    if (e.type != "issuer_changed") continue;
    EXPECT_EQ(e.before, "old" + e.after.substr(3)) << e.location;
    EXPECT_EQ(e.location, "/srv/f" + e.after.substr(3) + ".pem");
  }
}

TEST_F(ChangesTest, EventsCarryTheOwnerOfTheIdentity) {
  store::ChangeSet set;
  store::LocationChange l;
  l.kind = "file";
  l.path = l.name = "/srv/a.pem";
  store::ChangeIdentity before, after;
  before.kind = after.kind = "certificate";
  before.fingerprint = "old";
  after.fingerprint = "new";
  l.removed.push_back(before);
  l.added.push_back(after);
  store::ChangeIdentity gone;
  gone.kind = "private_key";
  gone.fingerprint = "key";
  l.removed.push_back(gone);
  set.locations.push_back(l);
  ChangeRules rules;
  rules.owners = {{"new", "p007"}, {"key", "p009"}};
  auto events = ClassifyChanges(set, rules, /*baseline=*/false);
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) EXPECT_EQ(e.owner, e.type == "identity_replaced" ? "p007" : "p009");
}

TEST_F(ChangesTest, ReappearingIdentityIsAnnouncedAgain) {
  const auto a = File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 100 * kDay)});
  Scan({a}, kT0);
  EXPECT_EQ(Types(Scan({}, kT0 + 60)), (std::vector<std::string>{"identity_removed/info"}));
  EXPECT_EQ(Types(Scan({a}, kT0 + 120)), (std::vector<std::string>{"identity_added/info"}));
}

TEST_F(ChangesTest, ExpiryThresholdsAreCrossedOnce) {
  Scan({File("/srv/a.pem", {Cert("a1", "CA One", kT0 + 20 * kDay)}),
        File("/srv/b.pem", {Cert("b1", "CA One", kT0 + 200 * kDay)})},
       kT0);
  auto first = ExpiryEvents(*store_, kT0, ExpiryThresholds{});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].type, "expiry_threshold");
  EXPECT_EQ((*first)[0].dedup_key, "expiry:a1:30d");
  ASSERT_TRUE(store_->AppendEvents(*first));
  // Same crossing again: the dedup key keeps it single.
  auto again = ExpiryEvents(*store_, kT0 + kDay, ExpiryThresholds{});
  ASSERT_TRUE(again);
  auto recorded = store_->AppendEvents(*again);
  ASSERT_TRUE(recorded);
  EXPECT_TRUE(recorded->empty());
  // The clock is passed in: 14 days later it crosses 7d, then expires.
  auto week = ExpiryEvents(*store_, kT0 + 14 * kDay, ExpiryThresholds{});
  ASSERT_TRUE(week);
  ASSERT_EQ(week->size(), 1u);
  EXPECT_EQ((*week)[0].severity, "high");
  auto gone = ExpiryEvents(*store_, kT0 + 21 * kDay, ExpiryThresholds{});
  ASSERT_TRUE(gone);
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ((*gone)[0].type, "certificate_expired");
}

TEST_F(ChangesTest, FindingsOpenOnceAndResolve) {
  std::vector<store::FindingRecord> now = {
      {0, "cert-expired", "a1", "/srv/a.pem", "critical", "expired", 0, 0, 0, "", "", 0},
      {0, "rsa-too-small", "b1", "/srv/b.pem", "high", "1024 bits", 0, 0, 0, "", "", 0}};
  auto classify = [](const store::FindingDelta& d) { return ClassifyFindings(d, kT0); };
  auto d1 = store_->SyncFindings({}, now, kT0, classify);
  ASSERT_TRUE(d1) << d1.error().message;
  EXPECT_EQ(d1->opened.size(), 2u);
  auto d2 = store_->SyncFindings({}, now, kT0 + 60, classify);
  ASSERT_TRUE(d2);
  EXPECT_TRUE(d2->opened.empty());
  EXPECT_EQ(d2->still_open, 2);
  auto seen = store_->ListFindings({});
  ASSERT_TRUE(seen);
  ASSERT_EQ(seen->size(), 2u);
  for (const auto& f : *seen) {
    EXPECT_EQ(f.opened_at, kT0);
    EXPECT_EQ(f.last_seen_at, kT0 + 60);  // the latest check that reported it
  }
  now.pop_back();
  auto d3 = store_->SyncFindings({}, now, kT0 + 120, classify);
  ASSERT_TRUE(d3);
  ASSERT_EQ(d3->resolved.size(), 1u);
  EXPECT_EQ(d3->resolved[0].rule, "rsa-too-small");
  EXPECT_EQ(d3->resolved[0].last_seen_at, kT0 + 60);  // not reported by this check
  EXPECT_EQ(d3->resolved[0].resolved_at, kT0 + 120);
  // Another rule set leaves these findings alone.
  auto other = store_->SyncFindings({"person-at-risk"}, {}, kT0 + 180, classify);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->resolved.empty());
  auto events = store_->ListEvents({});
  ASSERT_TRUE(events);
  EXPECT_EQ(Types(*events), (std::vector<std::string>{"finding_opened/critical",
                                                      "finding_opened/high",
                                                      "finding_resolved/info"}));
  store::FindingFilter all;
  all.include_resolved = true;
  auto rows = store_->ListFindings(all);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);  // never duplicated
  for (const auto& f : *rows) {
    // The check of another rule set did not see them: kT0 + 120 is still the last.
    EXPECT_EQ(f.last_seen_at, f.rule == "cert-expired" ? kT0 + 120 : kT0 + 60) << f.rule;
    EXPECT_EQ(f.resolved_at, f.rule == "cert-expired" ? 0 : kT0 + 120) << f.rule;
  }
}

}  // namespace
}  // namespace mica::watch
