// Raw SQL against an inventory file, bypassing the store: for test set-up (a state the
// store would never write, a table from an older schema) and for counting rows.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace mica::testing {

// Runs `sql` (statements returning no rows) on the database at `path`; fails the test
// with SQLite's message otherwise.
inline void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(::sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = ::sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err != nullptr ? err : "";
  ::sqlite3_free(err);
  ::sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

// The integer in the first column of the first row of `sql`; -1 when there is none.
inline std::int64_t RawCount(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(::sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(::sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << ::sqlite3_errmsg(db);
  std::int64_t n = -1;
  if (::sqlite3_step(stmt) == SQLITE_ROW) n = ::sqlite3_column_int64(stmt, 0);
  ::sqlite3_finalize(stmt);
  ::sqlite3_close(db);
  return n;
}

}  // namespace mica::testing
