#include "watch/audit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/merkle.h"
#include "fixtures.h"
#include "store/store.h"

namespace mica::watch {
namespace {

using mica::testing::Shell;

constexpr UnixSeconds kT0 = 1'700'000'000;
constexpr int kEntries = 10'000;

std::vector<store::Event> MakeEvents(int n, int first) {
  std::vector<store::Event> out;
  for (int i = 0; i < n; ++i) {
    store::Event e;
    e.at = kT0 + first + i;
    e.type = "identity_added";
    e.severity = "info";
    e.location = "/srv/f" + std::to_string(first + i) + ".pem";
    e.after = "fp" + std::to_string(first + i);
    e.detail = "certificate";
    out.push_back(std::move(e));
  }
  return out;
}

// One 10,000-entry log, signed, built once and copied for each tamper.
class AuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new mica::testing::TempDir();
    key_path_ = *dir_ / "audit.key";
    ASSERT_EQ(Shell("openssl genpkey -algorithm ed25519 -out " + key_path_ + " 2>/dev/null"), 0);
    auto s = store::Store::Open(*dir_ / "pristine.db");
    ASSERT_TRUE(s) << s.error().message;
    auto key = x509::SigningKey::Load(key_path_);
    ASSERT_TRUE(key) << key.error().message;
    // Appends in batches, as scans do; a checkpoint every 1,000 entries.
    for (int i = 0; i < kEntries; i += 500) {
      auto ids = (*s)->AppendEvents(MakeEvents(500, i));
      ASSERT_TRUE(ids) << ids.error().message;
    }
    auto signed_count = SignCheckpoints(**s, *key, kT0 + kEntries);
    ASSERT_TRUE(signed_count) << signed_count.error().message;
    EXPECT_EQ(*signed_count, kEntries / 1000);  // the head is the 10,000 checkpoint
    spki_ = key->public_spki();
  }
  static void TearDownTestSuite() { delete dir_; }

  // A copy of the pristine log with `sql` applied by the sqlite3 shell, verified.
  AuditReport Tampered(const std::string& sql) {
    const std::string copy = *dir_ / ("t" + std::to_string(++copies_) + ".db");
    EXPECT_EQ(Shell("sqlite3 " + *dir_ / "pristine.db" + " \".backup " + copy + "\""), 0);
    if (!sql.empty()) {
      EXPECT_EQ(Shell("sqlite3 " + copy + " \"" + sql + "\""), 0) << sql;
    }
    auto s = store::Store::Open(copy);
    EXPECT_TRUE(s);
    auto report = VerifyAudit(**s, spki_);
    EXPECT_TRUE(report) << report.error().message;
    return *report;
  }

  static mica::testing::TempDir* dir_;
  static std::string key_path_;
  static Bytes spki_;
  static int copies_;
};

mica::testing::TempDir* AuditTest::dir_ = nullptr;
std::string AuditTest::key_path_;
Bytes AuditTest::spki_;
int AuditTest::copies_ = 0;

TEST_F(AuditTest, PristineLogVerifiesWithSignatures) {
  auto r = Tampered("");
  EXPECT_TRUE(r.ok) << (r.problems.empty() ? "" : r.problems[0].what);
  EXPECT_EQ(r.entries, kEntries);
  EXPECT_EQ(r.checkpoints, kEntries / 1000);
  EXPECT_EQ(r.signatures_verified, kEntries / 1000);
  EXPECT_TRUE(r.warnings.empty());
}

const std::vector<int> kPositions = {0, 1, 999, 1000, 4321, 9998, 9999};

TEST_F(AuditTest, EveryModifiedEntryIsNamed) {
  for (int seq : kPositions) {
    auto r = Tampered("UPDATE event SET detail = 'private_key' WHERE audit_seq = " +
                      std::to_string(seq));
    ASSERT_FALSE(r.ok) << seq;
    EXPECT_EQ(r.problems[0].seq, seq) << r.problems[0].what;
    EXPECT_NE(r.problems[0].what.find("altered"), std::string::npos) << r.problems[0].what;
  }
}

TEST_F(AuditTest, EveryDeletedEntryIsNamed) {
  for (int seq : kPositions) {
    auto r = Tampered("DELETE FROM event WHERE audit_seq = " + std::to_string(seq));
    ASSERT_FALSE(r.ok) << seq;
    EXPECT_EQ(r.problems[0].seq, seq) << r.problems[0].what;
    EXPECT_NE(r.problems[0].what.find(seq == kEntries - 1 ? "truncated" : "missing"),
              std::string::npos)
        << r.problems[0].what;
  }
}

TEST_F(AuditTest, EverySwapOfNeighboursIsNamed) {
  for (int seq : {0, 999, 4321, 9998}) {
    const std::string a = std::to_string(seq), b = std::to_string(seq + 1);
    auto r = Tampered("UPDATE event SET audit_seq = -1 WHERE audit_seq = " + a +
                      "; UPDATE event SET audit_seq = " + a + " WHERE audit_seq = " + b +
                      "; UPDATE event SET audit_seq = " + b + " WHERE audit_seq = -1;");
    ASSERT_FALSE(r.ok) << seq;
    EXPECT_EQ(r.problems[0].seq, seq) << r.problems[0].what;
    EXPECT_NE(r.problems[0].what.find("reordered"), std::string::npos) << r.problems[0].what;
    // The swapped entries keep their own leaf hashes: the signed checkpoint after them
    // no longer matches either.
  }
}

TEST_F(AuditTest, TruncationIsNamedEvenWithTheHeadRewritten) {
  auto r = Tampered("DELETE FROM event WHERE audit_seq >= 9500");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.problems[0].seq, 9500);
  EXPECT_NE(r.problems[0].what.find("truncated"), std::string::npos);
  // Rewriting the head to the shorter size still leaves the signed 10,000 checkpoint.
  auto r2 = Tampered("DELETE FROM event WHERE audit_seq >= 9500; UPDATE audit_head SET size = 9500");
  ASSERT_FALSE(r2.ok);
  EXPECT_EQ(r2.problems[0].seq, 9500) << r2.problems[0].what;
}

TEST_F(AuditTest, AlteringBodyAndHashTogetherIsCaughtByTheSignedCheckpoint) {
  // The attacker recomputes the stored leaf hash of the altered row (the leaf input is
  // documented: store::CanonicalEventBody).
  auto pristine = store::Store::Open(*dir_ / "pristine.db");
  ASSERT_TRUE(pristine);
  auto entry = (*pristine)->ReadAudit(4321, 1);
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry->size(), 1u);
  std::string altered = (*entry)[0].body;
  const std::string from = "\"detail\":\"certificate\"";
  ASSERT_NE(altered.find(from), std::string::npos) << altered;
  altered.replace(altered.find(from), from.size(), "\"detail\":\"private_key\"");
  const auto leaf = merkle::LeafHash(AsBytes(altered));
  auto r = Tampered("UPDATE event SET detail = 'private_key', leaf_hash = X'" + ToHex(leaf) +
                    "' WHERE audit_seq = 4321");
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problems[0].what.find("[4000, 5000)"), std::string::npos) << r.problems[0].what;
  // Forging the checkpoint roots too leaves signatures that do not verify.
  auto forged = Tampered("UPDATE audit_checkpoint SET root = X'00' WHERE size = 5000");
  ASSERT_FALSE(forged.ok);
  bool signature_problem = false;
  for (const auto& p : forged.problems)
    signature_problem |= p.what.find("signature that does not verify") != std::string::npos;
  EXPECT_TRUE(signature_problem);
}

TEST_F(AuditTest, InclusionProofVerifiesAndNamesTheRoot) {
  auto s = store::Store::Open(*dir_ / "pristine.db");
  ASSERT_TRUE(s);
  auto head = (*s)->GetAuditHead();
  ASSERT_TRUE(head);
  for (std::int64_t index : {0, 4321, kEntries - 1}) {
    SCOPED_TRACE(index);
    auto p = ProveInclusion(**s, index, 0);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(p->verified);
    EXPECT_EQ(p->root, head->root);
    EXPECT_LE(p->path.size(), 14u);  // ceil(log2(10000))
  }
  auto older = ProveInclusion(**s, 10, 1000);
  ASSERT_TRUE(older);
  EXPECT_TRUE(older->verified);
  EXPECT_FALSE(ProveInclusion(**s, kEntries, 0));
}

TEST(AuditKeyTest, RejectsKeysItCannotSignWith) {
  mica::testing::TempDir dir;
  const std::string rsa = dir / "rsa.key";
  ASSERT_EQ(Shell("openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out " + rsa +
                  " 2>/dev/null"),
            0);
  auto k = x509::SigningKey::Load(rsa);
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find(rsa), std::string::npos);
  auto missing = x509::SigningKey::Load(dir / "nope.key");
  ASSERT_FALSE(missing);
  const std::string ec = dir / "ec.key";
  ASSERT_EQ(Shell("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out " + ec), 0);
  auto p256 = x509::SigningKey::Load(ec);
  ASSERT_TRUE(p256) << p256.error().message;
  auto sig = p256->Sign(AsBytes("hello"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(x509::VerifySignature(p256->public_spki(), AsBytes("hello"), *sig));
  EXPECT_FALSE(x509::VerifySignature(p256->public_spki(), AsBytes("hellO"), *sig));
}

}  // namespace
}  // namespace mica::watch
