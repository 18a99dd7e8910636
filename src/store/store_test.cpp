#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "store/internal/schema.h"
#include "fixtures.h"
#include "raw_sqlite.h"
#include "identities.h"
#include "x509/identity_json.h"
#include "x509/parse.h"

namespace mica::store {
namespace {

namespace fs = std::filesystem;
using x509::Identity;
using x509::Kind;

using testing::Cert;
using testing::File;
using testing::kDay;
using testing::Key;
using testing::kT0;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mica-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "mica.db").string();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Store& Open() {
    store_.reset();
    auto s = Store::Open(path_);
    EXPECT_TRUE(s) << s.error().message;
    if (!s) std::abort();
    store_ = std::move(*s);
    return *store_;
  }

  // Raw SQL against the database file, bypassing the store (tests/support/raw_sqlite.h).
  void RawExec(const std::string& sql) { mica::testing::RawExec(path_, sql); }
  std::int64_t RawCount(const std::string& sql) { return mica::testing::RawCount(path_, sql); }

  std::int64_t Begin(std::vector<std::string> roots, std::string host = "h1",
                     UnixSeconds at = kT0) {
    auto id = store_->BeginScan(ScanStart{"fs", host, std::move(roots), at});
    EXPECT_TRUE(id) << id.error().message;
    return id.value_or(0);
  }

  void RecordOk(std::int64_t scan, const std::vector<Observation>& obs, UnixSeconds at,
                const std::vector<ScanError>& errors = {}) {
    auto s = store_->Record(scan, obs, errors, at);
    ASSERT_TRUE(s) << s.error().message;
  }

  void FinishOk(std::int64_t scan, UnixSeconds at) {
    auto s = store_->FinishScan(scan, ScanStats{10, 5, 3, 1}, at);
    ASSERT_TRUE(s) << s.error().message;
  }

  std::vector<IdentityRow> List(IdentityFilter f = {}) {
    auto rows = store_->ListIdentities(f);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows.value_or(std::vector<IdentityRow>());
  }

  static std::vector<std::string> Fingerprints(const std::vector<IdentityRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.identity.fingerprint);
    return out;
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreatesAndReopensKeepingData) {
  Open();
  const auto scan = Begin({"/etc"});
  RecordOk(scan, {File("/etc/a.pem", {Cert("aa01", "CA One", kT0 + 10 * kDay)})}, kT0);
  FinishOk(scan, kT0 + 1);
  Open();  // reopen
  auto rows = List();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].identity.fingerprint, "aa01");
  EXPECT_EQ(rows[0].locations, 1);
  auto scans = store_->ListScans();
  ASSERT_TRUE(scans);
  ASSERT_EQ(scans->size(), 1u);
  EXPECT_EQ((*scans)[0].status, "complete");
}

TEST_F(StoreTest, MigrationsRunOnceAcrossReopens) {
  Open();
  Open();
  Open();
  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM schema_version"), internal::kSchemaVersion);
  EXPECT_EQ(RawCount("SELECT MAX(version) FROM schema_version"), internal::kSchemaVersion);
  EXPECT_EQ(RawCount("PRAGMA application_id"), internal::kApplicationId);
  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sighting'"), 1);
}

TEST_F(StoreTest, UsesWalAndForeignKeys) {
  Open();
  // journal_mode=WAL persists in the file; other readers see it.
  sqlite3* db = nullptr;
  ASSERT_EQ(::sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(::sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(::sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(::sqlite3_column_text(stmt, 0)), "wal");
  ::sqlite3_finalize(stmt);
  ::sqlite3_close(db);
}

TEST_F(StoreTest, RefusesNewerSchemaVersion) {
  Open();
  store_.reset();
  RawExec("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
  auto s = Store::Open(path_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInput);
  EXPECT_NE(s.error().message.find("999"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find(path_), std::string::npos) << s.error().message;
}

TEST_F(StoreTest, RefusesNonDatabaseFileNamingThePath) {
  {
    std::ofstream out(path_);
    out << "-----BEGIN CERTIFICATE-----\nthis is not sqlite at all, but long enough to "
           "have a header of one hundred bytes, which SQLite reads first...........\n";
  }
  auto s = Store::Open(path_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInput);
  EXPECT_NE(s.error().message.find(path_), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("not a"), std::string::npos) << s.error().message;
  // The file is untouched: no WAL switch or schema written into someone else's file.
  std::ifstream in(path_);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "-----BEGIN CERTIFICATE-----");
}

TEST_F(StoreTest, RefusesSqliteDatabaseOfAnotherProgram) {
  RawExec("CREATE TABLE moz_cookies (id INTEGER)");
  auto s = Store::Open(path_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInput);
  EXPECT_NE(s.error().message.find(path_), std::string::npos) << s.error().message;
  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'identity'"), 0);

  fs::remove(path_);
  RawExec("PRAGMA application_id = 42");
  s = Store::Open(path_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("another application"), std::string::npos) << s.error().message;
}

TEST_F(StoreTest, MissingDirectoryIsAnIoErrorNamingThePath) {
  const std::string bad = (dir_ / "no" / "such" / "dir" / "mica.db").string();
  auto s = Store::Open(bad);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().code == ErrorCode::kIo || s.error().code == ErrorCode::kPermission);
  EXPECT_NE(s.error().message.find(bad), std::string::npos) << s.error().message;
}

TEST_F(StoreTest, ReadOnlyFileIsAPermissionError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  Open();
  store_.reset();
  fs::permissions(path_, fs::perms::owner_read);
  auto s = Store::Open(path_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kPermission);
  EXPECT_NE(s.error().message.find(path_), std::string::npos) << s.error().message;
}

TEST_F(StoreTest, PostgresUrlIsNotSupportedYet) {
  auto s = Store::Open("postgresql://db/mica");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
}

TEST_F(StoreTest, RecordingTheSameFileTwiceDoesNotDuplicate) {
  Open();
  const auto obs = File("/etc/a.pem", {Cert("aa01", "CA", kT0 + kDay), Key("k1", "s1", false)});
  const auto s1 = Begin({"/etc"});
  RecordOk(s1, {obs}, kT0);
  RecordOk(s1, {obs}, kT0 + 5);  // same scan, same batch twice
  FinishOk(s1, kT0 + 6);
  const auto s2 = Begin({"/etc"}, "h1", kT0 + 100);
  RecordOk(s2, {obs}, kT0 + 100);
  FinishOk(s2, kT0 + 101);

  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM identity"), 2);
  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM location"), 1);
  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM sighting"), 2);

  auto rows = store_->FindByFingerprint("aa01");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].first_seen, kT0);
  EXPECT_EQ((*rows)[0].last_seen, kT0 + 100);
  auto sightings = store_->Sightings((*rows)[0].id);
  ASSERT_TRUE(sightings);
  ASSERT_EQ(sightings->size(), 1u);
  const SightingRow& s = (*sightings)[0];
  EXPECT_EQ(s.first_scan_id, s1);
  EXPECT_EQ(s.last_scan_id, s2);
  EXPECT_EQ(s.first_seen, kT0);
  EXPECT_EQ(s.last_seen, kT0 + 100);
  EXPECT_TRUE(s.present);
}

// Record runs with foreign-key checks off (its ids come from its own transaction): what
// it writes must still satisfy every foreign key, checked afterwards by SQLite itself.
TEST_F(StoreTest, RecordWritesOnlyReferencesThatExist) {
  Open();
  const auto first = Begin({"/etc"});
  RecordOk(first,
           {File("/etc/a.pem", {Cert("aa01", "CA", kT0 + kDay), Cert("bb02", "CA", kT0 + kDay)}),
            File("/etc/b.pem", {Cert("aa01", "CA", kT0 + kDay)})},
           kT0, {{"/etc/c.pem", "truncated PEM"}});
  ASSERT_TRUE(store_->FinishScan(first, {}, kT0 + 1));
  const auto second = Begin({"/etc"}, "h1", kT0 + 10);
  RecordOk(second, {File("/etc/a.pem", {Cert("aa01", "CA", kT0 + kDay)})}, kT0 + 10);
  ASSERT_TRUE(store_->FinishScan(second, {}, kT0 + 11));
  EXPECT_EQ(RawCount("SELECT count(*) FROM sighting"), 3);
  EXPECT_EQ(RawCount("SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

// Within one batch, identities new to the inventory and ones met a file earlier come in
// every order (new after new, known after new, known after known, new after known); each
// sighting must land on its identity's one row.
TEST_F(StoreTest, IdentitiesNewAndKnownInAnyOrderAreEachOneRow) {
  Open();
  const auto scan = Begin({"/etc"});
  const UnixSeconds exp = kT0 + kDay;
  RecordOk(scan,
           {File("/etc/1.pem", {Cert("aa01", "CA", exp), Cert("bb02", "CA", exp)}),
            File("/etc/2.pem", {Cert("aa01", "CA", exp), Cert("bb02", "CA", exp)}),
            File("/etc/3.pem", {Cert("cc03", "CA", exp), Cert("aa01", "CA", exp)}),
            File("/etc/4.pem", {Cert("dd04", "CA", exp)})},
           kT0);
  auto rows = List();
  ASSERT_EQ(rows.size(), 4u);
  std::map<std::string, std::int64_t> locations;
  for (const auto& r : rows) {
    locations[r.identity.fingerprint] = r.locations;
    auto sightings = store_->Sightings(r.id);
    ASSERT_TRUE(sightings);
    for (const auto& s : *sightings) EXPECT_EQ(s.location.path.substr(0, 5), "/etc/");
  }
  EXPECT_EQ(locations, (std::map<std::string, std::int64_t>{
                           {"aa01", 3}, {"bb02", 2}, {"cc03", 1}, {"dd04", 1}}));
  EXPECT_EQ(RawCount("SELECT count(*) FROM sighting"), 7);
}

TEST_F(StoreTest, SameIdentityInTwoFilesIsOneIdentityWithTwoSightings) {
  Open();
  const auto scan = Begin({"/etc"});
  RecordOk(scan,
           {File("/etc/a.pem", {Cert("aa01", "CA", kT0 + kDay)}),
            File("/etc/b.pem", {Cert("aa01", "CA", kT0 + kDay)})},
           kT0);
  auto rows = List();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].locations, 2);
  auto sightings = store_->Sightings(rows[0].id);
  ASSERT_TRUE(sightings);
  ASSERT_EQ(sightings->size(), 2u);
  EXPECT_EQ((*sightings)[0].location.path, "/etc/a.pem");
  EXPECT_EQ((*sightings)[1].location.path, "/etc/b.pem");
}

TEST_F(StoreTest, SightingsCarryFileFactsRefreshedEachScan) {
  Open();
  auto obs = File("/etc/a.pem", {Key("k1", "s1", false)}, 0100600);
  auto s1 = Begin({"/etc"});
  RecordOk(s1, {obs}, kT0);
  FinishOk(s1, kT0);
  obs.file->mode = 0100640;
  obs.file->owner = "bob";
  auto s2 = Begin({"/etc"});
  RecordOk(s2, {obs}, kT0 + 1);
  auto rows = List();
  ASSERT_EQ(rows.size(), 1u);
  auto sightings = store_->Sightings(rows[0].id);
  ASSERT_TRUE(sightings);
  ASSERT_EQ(sightings->size(), 1u);
  const auto& s = (*sightings)[0];
  EXPECT_EQ(s.location.kind, LocationKind::kFile);
  EXPECT_EQ(s.location.host, "h1");
  EXPECT_EQ(s.position, "pem:1");
  ASSERT_TRUE(s.file);
  EXPECT_EQ(s.file->mode, 0100640u);
  EXPECT_EQ(s.file->owner, "bob");
  EXPECT_EQ(s.file->group, "staff");
  EXPECT_EQ(s.file->uid, 1000u);
  EXPECT_EQ(s.file->size, 1234);
  EXPECT_EQ(s.file->mtime, kT0 - 10);
}

TEST_F(StoreTest, SightingsOfUnknownIdentityIsNotFound) {
  Open();
  auto s = store_->Sightings(12345);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
}

TEST_F(StoreTest, FinishScanMarksVanishedOnlyUnderItsRoots) {
  Open();
  const auto s1 = Begin({"/a/b", "/a/bc", "/a/b_c", "/other", "/single.pem"});
  RecordOk(s1,
           {File("/a/b/x.pem", {Cert("01", "CA", kT0 + kDay)}),
            File("/a/b/deep/y.pem", {Cert("02", "CA", kT0 + kDay)}),
            File("/a/bc/x.pem", {Cert("03", "CA", kT0 + kDay)}),
            File("/a/b_c/x.pem", {Cert("04", "CA", kT0 + kDay)}),
            File("/a/b%/x.pem", {Cert("05", "CA", kT0 + kDay)}),
            File("/other/z.pem", {Cert("06", "CA", kT0 + kDay)}),
            File("/a/b", {Cert("07", "CA", kT0 + kDay)}),
            File("/single.pem", {Cert("08", "CA", kT0 + kDay)})},
           kT0);
  // Another host's file at the same path is not this scan's business.
  const auto other_host = Begin({"/a/b"}, "h2");
  RecordOk(other_host, {File("/a/b/x.pem", {Cert("09", "CA", kT0 + kDay)}, 0100644, "h2")}, kT0);
  FinishOk(other_host, kT0);
  FinishOk(s1, kT0 + 1);
  EXPECT_EQ(List().size(), 9u);

  // Rescan /a/b/ (trailing slash) and /single.pem: only 02 is still there.
  const auto s2 = Begin({"/a/b/", "/single.pem"}, "h1", kT0 + 100);
  RecordOk(s2, {File("/a/b/deep/y.pem", {Cert("02", "CA", kT0 + kDay)})}, kT0 + 100);
  FinishOk(s2, kT0 + 200);

  EXPECT_EQ(Fingerprints(List()), (std::vector<std::string>{"02", "03", "04", "05", "06", "09"}));
  IdentityFilter all;
  all.include_vanished = true;
  EXPECT_EQ(List(all).size(), 9u);

  auto gone = store_->FindByFingerprint("01");
  ASSERT_TRUE(gone);
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ((*gone)[0].locations, 0);
  auto sightings = store_->Sightings((*gone)[0].id);
  ASSERT_TRUE(sightings);
  ASSERT_EQ(sightings->size(), 1u);
  EXPECT_FALSE((*sightings)[0].present);
  EXPECT_EQ((*sightings)[0].vanished_at, kT0 + 200);
  EXPECT_EQ((*sightings)[0].last_scan_id, s1);
}

TEST_F(StoreTest, RootSlashCoversEverythingOnTheHost) {
  Open();
  const auto s1 = Begin({"/"});
  RecordOk(s1,
           {File("/etc/x.pem", {Cert("01", "CA", kT0 + kDay)}),
            File("/y.pem", {Cert("02", "CA", kT0 + kDay)})},
           kT0);
  FinishOk(s1, kT0);
  const auto s2 = Begin({"/"});
  FinishOk(s2, kT0 + 1);
  EXPECT_TRUE(List().empty());
}

TEST_F(StoreTest, VanishedSightingReturnsWhenSeenAgain) {
  Open();
  const auto obs = File("/etc/a.pem", {Cert("01", "CA", kT0 + kDay)});
  const auto s1 = Begin({"/etc"});
  RecordOk(s1, {obs}, kT0);
  FinishOk(s1, kT0);
  const auto s2 = Begin({"/etc"});
  FinishOk(s2, kT0 + 1);
  EXPECT_TRUE(List().empty());
  const auto s3 = Begin({"/etc"});
  RecordOk(s3, {obs}, kT0 + 2);
  FinishOk(s3, kT0 + 3);
  auto rows = List();
  ASSERT_EQ(rows.size(), 1u);
  auto sightings = store_->Sightings(rows[0].id);
  ASSERT_TRUE(sightings);
  ASSERT_EQ(sightings->size(), 1u);
  EXPECT_TRUE((*sightings)[0].present);
  EXPECT_EQ((*sightings)[0].vanished_at, 0);
  EXPECT_EQ((*sightings)[0].first_seen, kT0);
}

TEST_F(StoreTest, FailScanMarksNothingVanishedAndKeepsTheReason) {
  Open();
  const auto s1 = Begin({"/etc"});
  RecordOk(s1, {File("/etc/a.pem", {Cert("01", "CA", kT0 + kDay)})}, kT0);
  FinishOk(s1, kT0);
  const auto s2 = Begin({"/etc"});
  auto failed = store_->FailScan(s2, "disk vanished", kT0 + 5);
  ASSERT_TRUE(failed) << failed.error().message;
  EXPECT_EQ(List().size(), 1u);
  auto scans = store_->ListScans();
  ASSERT_TRUE(scans);
  ASSERT_EQ(scans->size(), 2u);
  EXPECT_EQ((*scans)[0].id, s2);  // newest first
  EXPECT_EQ((*scans)[0].status, "failed");
  EXPECT_EQ((*scans)[0].finished_at, 0);
  EXPECT_EQ((*scans)[1].status, "complete");
  auto errors = store_->ScanErrors(s2);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].reason, "disk vanished");
  // A failed scan is over: nothing more may be recorded into it.
  auto late = store_->Record(s2, {}, {}, kT0 + 6);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(StoreTest, RecordIntoUnknownScanIsNotFound) {
  Open();
  auto s = store_->Record(77, {File("/x", {Cert("01", "CA", kT0)})}, {}, kT0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM identity"), 0);
}

TEST_F(StoreTest, ScanRowsAndErrorsAreStored) {
  Open();
  const auto scan = Begin({"/etc", "/srv"}, "web1", kT0);
  RecordOk(scan, {}, kT0, {{"/etc/bad.pem", "truncated PEM"}, {"/srv/x", "permission denied"}});
  auto finished = store_->FinishScan(scan, ScanStats{100, 20, 7, 2}, kT0 + 30);
  ASSERT_TRUE(finished) << finished.error().message;
  auto scans = store_->ListScans(ScanFilter::Latest(5));
  ASSERT_TRUE(scans);
  ASSERT_EQ(scans->size(), 1u);
  const ScanRow& r = (*scans)[0];
  EXPECT_EQ(r.start.kind, "fs");
  EXPECT_EQ(r.start.host, "web1");
  EXPECT_EQ(r.start.roots, (std::vector<std::string>{"/etc", "/srv"}));
  EXPECT_EQ(r.start.started_at, kT0);
  EXPECT_EQ(r.finished_at, kT0 + 30);
  EXPECT_EQ(r.stats.files_seen, 100);
  EXPECT_EQ(r.stats.candidates, 20);
  EXPECT_EQ(r.stats.identities, 7);
  EXPECT_EQ(r.stats.errors, 2);
  auto errors = store_->ScanErrors(scan);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 2u);
  EXPECT_EQ((*errors)[0].where, "/etc/bad.pem");
  EXPECT_EQ((*errors)[1].reason, "permission denied");
  EXPECT_EQ(store_->ScanErrors(999).error().code, ErrorCode::kNotFound);
  // Finishing twice is refused.
  EXPECT_FALSE(store_->FinishScan(scan, {}, kT0 + 40));
}

TEST_F(StoreTest, HasCompleteScanMatchesKindHostAndRootsOfCompleteScansOnly) {
  Open();
  const ScanStart same{"fs", "web1", {"/etc", "/srv"}, kT0};
  auto has = [&](const ScanStart& s) {
    auto r = store_->HasCompleteScan(s);
    EXPECT_TRUE(r) << r.error().message;
    return r.value_or(false);
  };
  EXPECT_FALSE(has(same));
  const auto running = Begin(same.roots, same.host, kT0);
  EXPECT_FALSE(has(same));  // running
  ASSERT_TRUE(store_->FailScan(running, "interrupted", kT0 + 1));
  EXPECT_FALSE(has(same));  // failed
  const auto done = Begin(same.roots, same.host, kT0 + 2);
  ASSERT_TRUE(store_->FinishScan(done, {}, kT0 + 3));
  EXPECT_TRUE(has(same));
  EXPECT_FALSE(has({"fs", "web1", {"/etc"}, kT0}));
  EXPECT_FALSE(has({"fs", "web1", {"/srv", "/etc"}, kT0}));  // roots as recorded, in order
  EXPECT_FALSE(has({"fs", "web2", {"/etc", "/srv"}, kT0}));
  EXPECT_FALSE(has({"tls", "web1", {"/etc", "/srv"}, kT0}));
}

TEST_F(StoreTest, ListScansFiltersByKindHostStatusAndRootsNewestFirst) {
  Open();
  const auto old_etc = Begin({"/etc"}, "web1", kT0);
  ASSERT_TRUE(store_->FinishScan(old_etc, {}, kT0 + 1));
  const auto srv = Begin({"/srv"}, "web1", kT0 + 2);
  const auto other_host = Begin({"/etc"}, "web2", kT0 + 3);
  const auto new_etc = Begin({"/etc"}, "web1", kT0 + 4);
  auto ids = [&](const ScanFilter& f) {
    std::vector<std::int64_t> out;
    auto scans = store_->ListScans(f);
    EXPECT_TRUE(scans) << scans.error().message;
    if (scans)
      for (const auto& s : *scans) out.push_back(s.id);
    return out;
  };
  using Ids = std::vector<std::int64_t>;
  EXPECT_EQ(ids({}), (Ids{new_etc, other_host, srv, old_etc}));
  EXPECT_EQ(ids(ScanFilter::Latest(2)), (Ids{new_etc, other_host}));
  ScanFilter running;
  running.host = "web1";
  running.status = "running";
  EXPECT_EQ(ids(running), (Ids{new_etc, srv}));
  ScanFilter etc = ScanFilter::Latest(1);
  etc.kind = "fs";
  etc.roots = std::vector<std::string>{"/etc"};
  EXPECT_EQ(ids(etc), (Ids{new_etc}));
  etc.status = "complete";
  EXPECT_EQ(ids(etc), (Ids{old_etc}));
  etc.kind = "tls";
  EXPECT_EQ(ids(etc), Ids{});
  ScanFilter bad;
  bad.status = "done'; DROP TABLE scan; --";
  auto refused = store_->ListScans(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInput);
  EXPECT_EQ(ids({}).size(), 4u);
}

TEST_F(StoreTest, DetailsRoundTripTheWholeIdentity) {
  Open();
  Identity in = Cert("ab12", "Round Trip CA", kT0 + 7 * kDay, "5p1c");
  in.cert->has_key_usage = true;
  in.cert->key_usage = x509::kKuDigitalSignature | x509::kKuKeyCertSign;
  in.cert->has_basic_constraints = true;
  in.cert->is_ca = true;
  in.cert->path_len = 1;
  in.cert->ocsp_urls = {"http://ocsp"};
  in.cert->policy_oids = {"1.2.3"};
  in.cert->sct_count = 3;
  in.position = "pem:4";
  const auto scan = Begin({"/etc"});
  RecordOk(scan, {File("/etc/a.pem", {in})}, kT0);
  auto rows = List();
  ASSERT_EQ(rows.size(), 1u);
  const Identity& out = rows[0].identity;
  EXPECT_EQ(x509::ToJson(out), x509::ToJson(in));
  EXPECT_EQ(out.der, in.der);
  EXPECT_EQ(out.position, "pem:4");
  ASSERT_TRUE(out.cert);
  EXPECT_EQ(out.cert->path_len, 1);
  EXPECT_EQ(out.cert->key_usage, in.cert->key_usage);
}

TEST_F(StoreTest, CertificateWithDerIsStoredAsDerAndReadBackWhole) {
  Open();
  mica::testing::CertSpec spec;
  spec.cn = "der.example";
  spec.san = "DNS:der.example,IP:127.0.0.1";
  spec.eku = "serverAuth,codeSigning";
  const auto made = mica::testing::MakeCertificate(spec);
  auto parsed = x509::ParseContent(AsBytes(made.cert_pem), {});
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->identities.size(), 1u);
  Identity in = parsed->identities[0];
  ASSERT_FALSE(in.der.empty());
  const auto scan = Begin({"/etc"});
  RecordOk(scan, {File("/etc/der.pem", {in})}, kT0);
  // The row holds the DER and no JSON copy of what the DER already says.
  EXPECT_EQ(RawCount("SELECT COUNT(*) FROM identity WHERE details IS NULL AND der IS NOT NULL"), 1);
  auto rows = List();
  ASSERT_EQ(rows.size(), 1u);
  const Identity& out = rows[0].identity;
  EXPECT_EQ(x509::ToJson(out), x509::ToJson(in));
  EXPECT_EQ(out.der, in.der);
  EXPECT_EQ(out.position, in.position);
  IdentityFilter f;
  f.eku = "code_signing";
  EXPECT_EQ(List(f).size(), 1u);
}

// Fixture for the filters: a small, varied inventory.
class StoreFilterTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    Open();
    Identity ca = Cert("c0", "Root CA", kT0 + 3650 * kDay);
    ca.cert->is_ca = true;
    ca.cert->self_signed = true;
    ca.cert->self_issued = true;
    ca.cert->eku.clear();
    Identity soon = Cert("c1", "Let's Encrypt R3", kT0 + 10 * kDay);
    Identity expired = Cert("c2", "Old CA", kT0 - kDay);
    Identity signer = Cert("c3", "Code CA", kT0 + 100 * kDay);
    signer.cert->eku = {"code_signing"};
    Identity lookalike = Cert("c4", "Code CA", kT0 + 200 * kDay);
    lookalike.cert->eku = {"1.2.3.code_signing_not", "server_auth"};
    lookalike.key = {x509::KeyType::kEc, 256, "prime256v1", ""};
    Identity gone = Cert("c5", "Gone CA", kT0 + 5 * kDay);
    const auto s1 = Begin({"/etc", "/tmp"});
    RecordOk(s1,
             {File("/etc/ssl/ca.pem", {ca}), File("/etc/ssl/le.pem", {soon}),
              File("/etc/old/expired.crt", {expired}), File("/srv/sign/signer.pem", {signer}),
              File("/srv/web/look.pem", {lookalike}), File("/tmp/gone.pem", {gone}),
              File("/etc/ssl/private/k.key", {Key("k1", "s1", false)})},
             kT0);
    FinishOk(s1, kT0);
    const auto s2 = Begin({"/tmp"});
    FinishOk(s2, kT0 + 1);  // c5 vanishes
  }
};

TEST_F(StoreFilterTest, DefaultListsPresentIdentitiesByExpiryThenFingerprint) {
  // Keys have no not_after and sort last.
  EXPECT_EQ(Fingerprints(List()), (std::vector<std::string>{"c2", "c1", "c3", "c4", "c0", "k1"}));
}

TEST_F(StoreFilterTest, FiltersByKind) {
  IdentityFilter f;
  f.kind = Kind::kPrivateKey;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"k1"}));
}

TEST_F(StoreFilterTest, FiltersExpiringBeforeExcludingAlreadyExpired) {
  IdentityFilter f;
  f.now = kT0;
  f.expiring_before = kT0 + 30 * kDay;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c1"}));
  f.include_vanished = true;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c5", "c1"}));
}

TEST_F(StoreFilterTest, FiltersExpired) {
  IdentityFilter f;
  f.expired_at = kT0;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c2"}));
}

TEST_F(StoreFilterTest, FiltersIssuerCaseInsensitively) {
  IdentityFilter f;
  f.issuer_contains = "code ca";
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c3", "c4"}));
  f.issuer_contains = "LET'S";
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c1"}));
  f.issuer_contains = "%";  // no wildcard meaning
  EXPECT_TRUE(List(f).empty());
}

TEST_F(StoreFilterTest, FiltersKeyType) {
  IdentityFilter f;
  f.key_type = x509::KeyType::kEc;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c4", "k1"}));
}

TEST_F(StoreFilterTest, FiltersLocationGlob) {
  IdentityFilter f;
  f.location_glob = "/etc/ssl/*";
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c1", "c0", "k1"}));
  f.location_glob = "*.crt";
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c2"}));
  f.location_glob = "/tmp/*";
  EXPECT_TRUE(List(f).empty()) << "vanished sightings do not match";
  f.include_vanished = true;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c5"}));
}

TEST_F(StoreFilterTest, FiltersSelfSignedAndCa) {
  IdentityFilter f;
  f.self_signed = true;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c0"}));
  f = {};
  f.is_ca = true;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c0"}));
  f.is_ca = false;  // certificates only: keys have no CA flag
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c2", "c1", "c3", "c4"}));
}

TEST_F(StoreFilterTest, FiltersEkuByWholeItem) {
  IdentityFilter f;
  f.eku = "code_signing";
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c3"}));
  f.eku = "server_auth";
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c2", "c1", "c4"}));
}

TEST_F(StoreFilterTest, CombinesFiltersAndLimits) {
  IdentityFilter f;
  f.kind = Kind::kCertificate;
  f.issuer_contains = "ca";
  f.limit = 2;
  EXPECT_EQ(Fingerprints(List(f)), (std::vector<std::string>{"c2", "c3"}));
}

TEST_F(StoreFilterTest, FindByFingerprintPrefix) {
  Identity a = Cert("abcdef01", "X", kT0);
  Identity b = Cert("abcd9999", "X", kT0);
  Identity ssh;
  ssh.kind = Kind::kSshPublicKey;
  ssh.fingerprint = "SHA256:AbCd+/xyz";
  ssh.ssh.emplace().algorithm = "ssh-ed25519";
  ssh.key.type = x509::KeyType::kEd25519;
  const auto scan = Begin({"/home"});
  RecordOk(scan, {File("/home/a.pem", {a, b}), File("/home/.ssh/id.pub", {ssh})}, kT0);

  auto fps = [&](const std::string& prefix) {
    auto rows = store_->FindByFingerprint(prefix);
    EXPECT_TRUE(rows) << rows.error().message;
    return Fingerprints(rows.value_or(std::vector<IdentityRow>()));
  };
  EXPECT_EQ(fps("abcd"), (std::vector<std::string>{"abcd9999", "abcdef01"}));
  EXPECT_EQ(fps("ABCDEF"), (std::vector<std::string>{"abcdef01"}));
  EXPECT_EQ(fps("AB:CD:EF"), (std::vector<std::string>{"abcdef01"}));
  EXPECT_EQ(fps("abcdef01"), (std::vector<std::string>{"abcdef01"}));
  EXPECT_TRUE(fps("abce").empty());
  EXPECT_EQ(fps("SHA256:AbCd"), (std::vector<std::string>{"SHA256:AbCd+/xyz"}));
  EXPECT_EQ(fps("sha256:AbCd+"), (std::vector<std::string>{"SHA256:AbCd+/xyz"}));
  EXPECT_TRUE(fps("SHA256:abcd").empty()) << "base64 is case-sensitive";
  EXPECT_FALSE(store_->FindByFingerprint(""));
  EXPECT_FALSE(store_->FindByFingerprint("xyz"));
}

TEST_F(StoreTest, FindBySpkiLinksCertificateAndKey) {
  Open();
  const auto scan = Begin({"/etc"});
  RecordOk(scan,
           {File("/etc/a.pem", {Cert("c1", "CA", kT0 + kDay, "spki1")}),
            File("/etc/a.key", {Key("k1", "spki1", false)}),
            File("/etc/b.key", {Key("k2", "spki2", false)})},
           kT0);
  auto rows = store_->FindBySpki("SPKI1");
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(Fingerprints(*rows), (std::vector<std::string>{"c1", "k1"}));
  rows = store_->FindBySpki("");
  ASSERT_TRUE(rows);
  EXPECT_TRUE(rows->empty());
}

TEST_F(StoreTest, SummaryCountsRankMostFirstThenByNameAndKeepTwentyIssuers) {
  Open();
  const auto scan = Begin({"/etc"});
  std::vector<Observation> files;
  for (int i = 0; i < 22; ++i) {
    const std::string n = (i < 10 ? "0" : "") + std::to_string(i);
    files.push_back(File("/etc/" + n + ".pem", {Cert("f" + n, "Issuer " + n, kT0 + kDay)}));
  }
  for (int i = 0; i < 3; ++i)
    files.push_back(File("/etc/z" + std::to_string(i) + ".pem",
                         {Cert("z" + std::to_string(i), "Issuer Z", kT0 + kDay)}));
  RecordOk(scan, files, kT0);
  FinishOk(scan, kT0);
  auto sum = store_->Summarize(kT0, 30 * kDay);
  ASSERT_TRUE(sum) << sum.error().message;
  EXPECT_EQ(sum->identities, 25);
  ASSERT_EQ(sum->by_kind.size(), 1u);
  EXPECT_EQ(sum->by_kind[0].count, 25);
  ASSERT_EQ(sum->by_issuer.size(), 20u);
  EXPECT_EQ(sum->by_issuer[0].key, "Issuer Z");
  EXPECT_EQ(sum->by_issuer[0].count, 3);
  EXPECT_EQ(sum->by_issuer[1].key, "Issuer 00");
  EXPECT_EQ(sum->by_issuer[19].key, "Issuer 18");
}

TEST_F(StoreTest, SummarizeCountsPresentIdentities) {
  Open();
  Identity signer = Cert("cs", "Code CA", kT0 + 100 * kDay, "spki-cs");
  signer.cert->eku = {"code_signing"};
  Identity ssh;
  ssh.kind = Kind::kSshPrivateKey;
  ssh.fingerprint = "SHA256:ssh1";
  ssh.key = {x509::KeyType::kEd25519, 256, "", "spki-ssh"};
  ssh.private_key = x509::PrivateKeyInfo{"openssh", true, "aes256-ctr"};
  const auto s1 = Begin({"/etc", "/gone"});
  RecordOk(s1,
           {File("/etc/soon.pem", {Cert("c1", "Issuer A", kT0 + 5 * kDay, "spki-a")}),
            File("/etc/later.pem", {Cert("c2", "Issuer A", kT0 + 90 * kDay, "spki-b")}),
            File("/etc/old.pem", {Cert("c3", "", kT0 - kDay, "spki-c")}),
            File("/etc/sign.pem", {signer}),
            // Exposure: unencrypted at 0600, encrypted at 0644, encrypted at 0600 (safe).
            File("/etc/plain.key", {Key("k1", "spki-a", false)}, 0100600),
            File("/etc/wide.key", {Key("k2", "spki-orphan", true)}, 0100644),
            File("/etc/safe.key", {Key("k3", "spki-b", true)}, 0100600),
            File("/etc/ssh/id_ed25519", {ssh}, 0100600),
            File("/gone/vanished.key", {Key("k4", "spki-x", false)}, 0100644)},
           kT0);
  FinishOk(s1, kT0);
  const auto s2 = Begin({"/gone"});
  FinishOk(s2, kT0 + 1);

  auto sum = store_->Summarize(kT0, 30 * kDay);
  ASSERT_TRUE(sum) << sum.error().message;
  EXPECT_EQ(sum->identities, 8);
  EXPECT_EQ(sum->locations, 8);
  auto count = [](const std::vector<Count>& counts, const std::string& key) -> std::int64_t {
    for (const auto& c : counts)
      if (c.key == key) return c.count;
    return 0;
  };
  EXPECT_EQ(count(sum->by_kind, "certificate"), 4);
  EXPECT_EQ(count(sum->by_kind, "private_key"), 3);
  EXPECT_EQ(count(sum->by_kind, "ssh_private_key"), 1);
  EXPECT_EQ(sum->by_issuer.front().key, "Issuer A");
  EXPECT_EQ(sum->by_issuer.front().count, 2);
  // No CN: the issuer string stands in.
  EXPECT_EQ(count(sum->by_issuer, "CN=,O=Example Org"), 1);
  EXPECT_EQ(count(sum->by_key_type, "rsa-2048"), 4);
  EXPECT_EQ(count(sum->by_key_type, "ec-prime256v1"), 3);
  EXPECT_EQ(count(sum->by_key_type, "ed25519"), 1);

  EXPECT_EQ(Fingerprints(sum->expiring), (std::vector<std::string>{"c1"}));
  EXPECT_EQ(Fingerprints(sum->expired), (std::vector<std::string>{"c3"}));

  std::vector<std::string> exposed;
  for (const auto& s : sum->exposed_keys) exposed.push_back(s.location.path);
  EXPECT_EQ(exposed, (std::vector<std::string>{"/etc/plain.key", "/etc/wide.key"}));

  EXPECT_EQ(Fingerprints(sum->orphan_keys), (std::vector<std::string>{"k2"}));
  EXPECT_EQ(Fingerprints(sum->code_signing), (std::vector<std::string>{"cs"}));
  ASSERT_TRUE(sum->last_scan);
  EXPECT_EQ(sum->last_scan->id, s2);
}

TEST_F(StoreTest, ExpiryWindowIsHalfOpen) {
  Open();
  const auto scan = Begin({"/etc"});
  RecordOk(scan,
           {File("/etc/now.pem", {Cert("at-now", "CA", kT0)}),
            File("/etc/edge.pem", {Cert("at-edge", "CA", kT0 + 30 * kDay)}),
            File("/etc/past.pem", {Cert("past-edge", "CA", kT0 + 30 * kDay + 1)})},
           kT0);
  auto sum = store_->Summarize(kT0, 30 * kDay);
  ASSERT_TRUE(sum) << sum.error().message;
  EXPECT_EQ(Fingerprints(sum->expiring), (std::vector<std::string>{"at-edge"}));
  EXPECT_EQ(Fingerprints(sum->expired), (std::vector<std::string>{"at-now"}));
  EXPECT_EQ(sum->last_scan->finished_at, 0) << "still running";
}

TEST_F(StoreTest, EmptyInventorySummarizes) {
  Open();
  auto sum = store_->Summarize(kT0, kDay);
  ASSERT_TRUE(sum) << sum.error().message;
  EXPECT_EQ(sum->identities, 0);
  EXPECT_TRUE(sum->by_kind.empty());
  EXPECT_FALSE(sum->last_scan);
}

TEST(LocationKindTest, HasStableNames) {
  EXPECT_STREQ(LocationKindName(LocationKind::kFile), "file");
  EXPECT_STREQ(LocationKindName(LocationKind::kTlsEndpoint), "tls_endpoint");
}

}  // namespace
}  // namespace mica::store

namespace mica::store {
namespace {

TEST_F(StoreTest, AllPresentSightingsSkipsVanishedAndOrdersByIdentity) {
  Open();
  const auto s1 = Begin({"/etc"});
  RecordOk(s1, {File("/etc/b.pem", {Cert("bb", "CA", kT0 + kDay)}),
                File("/etc/a.pem", {Cert("aa", "CA", kT0 + kDay), Cert("bb", "CA", kT0 + kDay)})},
           kT0);
  FinishOk(s1, kT0 + 1);
  const auto s2 = Begin({"/etc"}, "h1", kT0 + 10);
  RecordOk(s2, {File("/etc/a.pem", {Cert("aa", "CA", kT0 + kDay)})}, kT0 + 10);
  FinishOk(s2, kT0 + 11);
  auto all = store_->AllPresentSightings();
  ASSERT_TRUE(all) << all.error().message;
  // /etc/b.pem vanished and bb is gone from a.pem; only aa at a.pem is present.
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].location.path, "/etc/a.pem");
  for (std::size_t i = 1; i < all->size(); ++i)
    EXPECT_LE((*all)[i - 1].identity_id, (*all)[i].identity_id);
}

}  // namespace
}  // namespace mica::store

namespace mica::store {
namespace {

// The streamed inventory that policy check reads: present identities in id order, each
// once with its present places by path; vanished ones and vanished places left out.
TEST_F(StoreTest, ForEachPresentIdentityStreamsPresentIdentitiesWithTheirPlaces) {
  Open();
  const auto s1 = Begin({"/etc"});
  RecordOk(s1,
           {File("/etc/z.pem", {Cert("aa", "CA", kT0 + kDay)}),
            File("/etc/gone.pem", {Cert("cc", "CA", kT0 + kDay)}),
            File("/etc/a.pem", {Cert("aa", "CA", kT0 + kDay), Cert("bb", "CA", kT0 + 2 * kDay)}),
            File("/etc/k.pem", {Key("dd", "spki-d", false)}, 0100600)},
           kT0);
  FinishOk(s1, kT0 + 1);
  const auto s2 = Begin({"/etc"}, "h1", kT0 + 10);
  RecordOk(s2,
           {File("/etc/z.pem", {Cert("aa", "CA", kT0 + kDay)}),
            File("/etc/a.pem", {Cert("aa", "CA", kT0 + kDay), Cert("bb", "CA", kT0 + 2 * kDay)}),
            File("/etc/k.pem", {Key("dd", "spki-d", false)}, 0100600)},
           kT0 + 10);
  FinishOk(s2, kT0 + 11);

  std::vector<std::int64_t> ids;
  std::vector<std::string> seen;
  std::map<std::string, std::vector<std::string>> places;
  auto s = store_->ForEachPresentIdentity([&](PresentIdentity& p) {
    ids.push_back(p.id);
    seen.push_back(p.identity.fingerprint);
    for (const SightingRow& r : p.sightings) {
      EXPECT_TRUE(r.present);
      EXPECT_EQ(r.identity_id, p.id);
      places[p.identity.fingerprint].push_back(r.location.path);
    }
  });
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(seen, (std::vector<std::string>{"aa", "bb", "dd"}));  // cc vanished
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(places["aa"], (std::vector<std::string>{"/etc/a.pem", "/etc/z.pem"}));
  EXPECT_EQ(places["dd"], std::vector<std::string>{"/etc/k.pem"});

  // The decoded identity is the stored one, file facts included.
  bool key_seen = false;
  ASSERT_TRUE(store_->ForEachPresentIdentity([&](PresentIdentity& p) {
    if (p.identity.fingerprint != "dd") return;
    key_seen = true;
    EXPECT_EQ(p.identity.kind, Kind::kPrivateKey);
    EXPECT_EQ(p.identity.key.spki_sha256, "spki-d");
    ASSERT_TRUE(p.sightings[0].file.has_value());
    EXPECT_EQ(p.sightings[0].file->mode & 0777, 0600u);
    EXPECT_EQ(p.sightings[0].file->owner, "alice");
  }));
  EXPECT_TRUE(key_seen);
}

TEST_F(StoreTest, ForEachPresentIdentityDecodesStoredCertificatesAndReportsBadRows) {
  Open();
  // More identities than one decoding batch, a real certificate stored as DER among them.
  const std::string pem = testing::MakeCertificate(testing::CertSpec{}).cert_pem;
  auto parsed = x509::ParseContent(
      ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()), {});
  ASSERT_TRUE(parsed && parsed->identities.size() == 1u);
  std::vector<Observation> obs;
  for (int i = 0; i < 700; ++i) {
    char fp[16];
    std::snprintf(fp, sizeof fp, "f%05d", i);
    obs.push_back(File("/etc/" + std::string(fp) + ".pem", {Cert(fp, "CA", kT0 + kDay)}));
  }
  obs.push_back(File("/etc/real.pem", {parsed->identities[0]}));
  const auto scan = Begin({"/etc"});
  RecordOk(scan, obs, kT0);
  FinishOk(scan, kT0 + 1);
  std::size_t n = 0;
  std::string real_subject;
  ASSERT_TRUE(store_->ForEachPresentIdentity([&](PresentIdentity& p) {
    ++n;
    if (p.identity.fingerprint == parsed->identities[0].fingerprint)
      real_subject = p.identity.cert ? p.identity.cert->subject : "";
  }));
  EXPECT_EQ(n, 701u);
  EXPECT_EQ(real_subject, parsed->identities[0].cert->subject);
  EXPECT_FALSE(real_subject.empty());

  // A row that cannot be decoded stops the stream with kInput naming it.
  RawExec("UPDATE identity SET details = 'not json' WHERE fingerprint = 'f00300'");
  std::size_t before = 0;
  auto s = store_->ForEachPresentIdentity([&](PresentIdentity&) { ++before; });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInput);
  EXPECT_NE(s.error().message.find("cannot be read back"), std::string::npos) << s.error().message;
  EXPECT_LT(before, 701u);
}

}  // namespace
}  // namespace mica::store
