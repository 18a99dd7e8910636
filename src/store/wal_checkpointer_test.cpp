#include "store/internal/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "fixtures.h"
#include "store/internal/sqlite.h"

namespace mica::store::internal {
namespace {

// A writer in WAL mode with a table of rows big enough to fill pages quickly.
Database OpenWriter(const std::string& path) {
  auto db = Database::Open(path);
  EXPECT_TRUE(db) << (db ? "" : db.error().message);
  EXPECT_TRUE(db->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                       "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)"));
  return std::move(*db);
}

// Commits `n` transactions of 16 rows of 1 KiB each (about 5 pages a transaction).
void Write(Database& db, int n, int first) {
  auto insert = db.Prepare("INSERT INTO t (id, v) VALUES (?1, zeroblob(1024))");
  ASSERT_TRUE(insert);
  for (int tx = 0; tx < n; ++tx) {
    ASSERT_TRUE(db.Exec("BEGIN"));
    for (int r = 0; r < 16; ++r) ASSERT_TRUE(insert->Bind(first + tx * 16 + r).Run());
    ASSERT_TRUE(db.Exec("COMMIT"));
  }
}

std::uintmax_t WalBytes(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path + "-wal", ec);
  return ec ? 0 : size;
}

TEST(WalCheckpointerTest, CheckpointsOnItsThreadAndLosesNothing) {
  mica::testing::TempDir dir;
  const std::string path = dir / "w.db";
  Database writer = OpenWriter(path);
  auto c = WalCheckpointer::Attach(writer, /*wake_frames=*/32);
  ASSERT_TRUE(c) << c.error().message;
  Write(writer, 400, 0);  // ~2,000 pages through the WAL
  // The thread runs when the scheduler lets it; wait for it (bounded), not for a time.
  for (int i = 0; i < 1000 && (*c)->background_checkpoints() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT((*c)->background_checkpoints(), 0);
  // Checkpoints let the writer rewind the WAL: it never grows to hold every page
  // written (2,000 pages x 4 KiB = 8 MB without them). The writer's own fallback at
  // 4 x 32 frames bounds it even if the thread never ran.
  Write(writer, 50, 400 * 16);
  EXPECT_LT(WalBytes(path), 4u << 20);
  c->reset();  // stops the thread and restores the automatic checkpoint

  auto count = writer.QueryInt("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->value_or(-1), 450 * 16);
  auto reader = Database::Open(path);
  ASSERT_TRUE(reader);
  auto seen = reader->QueryInt("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->value_or(-1), 450 * 16);
  auto ok = reader->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->Step().value_or(false));
  EXPECT_EQ(ok->Text(0), "ok");
}

TEST(WalCheckpointerTest, WriterCheckpointsItselfWhenTheThreadIsBehind) {
  mica::testing::TempDir dir;
  const std::string path = dir / "w.db";
  Database writer = OpenWriter(path);
  // A reader holding a snapshot keeps any checkpoint from copying past it, so the WAL
  // grows past the writer's bound and the writer's own attempts are counted.
  auto reader = Database::Open(path);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->Exec("BEGIN"));
  ASSERT_TRUE(reader->QueryInt("SELECT COUNT(*) FROM t"));
  auto c = WalCheckpointer::Attach(writer, /*wake_frames=*/8);
  ASSERT_TRUE(c);
  Write(writer, 20, 0);
  EXPECT_GT((*c)->writer_checkpoints(), 0);
  ASSERT_TRUE(reader->Exec("COMMIT"));
  c->reset();
  auto count = writer.QueryInt("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->value_or(-1), 20 * 16);
}

}  // namespace
}  // namespace mica::store::internal
