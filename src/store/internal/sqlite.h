// RAII over the SQLite C API, private to the store module.
//
// Database owns one sqlite3 connection and Statement one sqlite3_stmt; both are movable,
// not copyable, and close / finalize in their destructors. Neither is thread-safe: the
// connection is opened with SQLITE_OPEN_NOMUTEX because a Store is used by one thread.
// Errors come back as mica::Error with ErrorCode::kIo (kPermission, kInput where SQLite
// says why) and SQLite's own message; callers add the database path.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/encoding.h"
#include "core/error.h"

namespace mica::store::internal {

// The mica::Error for an SQLite result code, with `what` as the message.
Error SqliteError(int rc, std::string what);

// A text or blob that SQLite reads in place (SQLITE_STATIC) instead of copying it at
// bind time. The caller keeps it alive until the statement is reset: bind borrowed
// values only inside a ResetOnExit scope (Reset clears the bindings). For the bulk
// writer, where every copy is a malloc, a memcpy and a free per column.
struct Borrowed {
  std::string_view text;
};
struct BorrowedBlob {
  ByteView bytes;
};

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Resets the statement and clears its bindings, then binds `args` to ?1, ?2, ... .
  // A binding failure is kept and returned by the next Step, so call sites stay flat.
  template <class... Args>
  Statement& Bind(const Args&... args) {
    Reset();
    int index = 0;
    (BindOne(++index, args), ...);
    return *this;
  }

  // true: a row is ready; false: done. A done statement releases its locks by itself; one
  // left before done must be Reset (ResetOnExit does it) or it blocks COMMIT.
  [[nodiscard]] Result<bool> Step();
  // Steps once more, expecting done: for statements that change rows and return none.
  [[nodiscard]] Status Run();
  void Reset();

  bool IsNull(int col) const;
  std::int64_t Int(int col) const;
  std::string Text(int col) const;
  // The text in SQLite's own buffer, valid until the next Step, Reset or column call on
  // this column: for reading many rows without a string per cell.
  std::string_view TextView(int col) const;
  Bytes Blob(int col) const;
  std::optional<std::int64_t> OptionalInt(int col) const;

  sqlite3_stmt* get() const { return stmt_.get(); }

  // Binds one value to ?index without resetting: for queries built at run time (call
  // Reset first).
  void BindOne(int index, std::int64_t v);
  void BindOne(int index, int v) { BindOne(index, static_cast<std::int64_t>(v)); }
  void BindOne(int index, std::uint32_t v) { BindOne(index, static_cast<std::int64_t>(v)); }
  void BindOne(int index, bool v) { BindOne(index, static_cast<std::int64_t>(v ? 1 : 0)); }
  void BindOne(int index, std::string_view v);
  void BindOne(int index, const std::string& v) { BindOne(index, std::string_view(v)); }
  void BindOne(int index, const char* v) { BindOne(index, std::string_view(v)); }
  void BindOne(int index, ByteView v);
  void BindOne(int index, const Bytes& v) { BindOne(index, ByteView(v)); }
  void BindOne(int index, std::nullptr_t);
  void BindOne(int index, Borrowed v);
  void BindOne(int index, BorrowedBlob v);
  template <class T>
  void BindOne(int index, const std::optional<T>& v) {
    if (v) {
      BindOne(index, *v);
    } else {
      BindOne(index, nullptr);
    }
  }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { ::sqlite3_finalize(s); }
  };

  void Check(int rc);

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  std::optional<Error> bind_error_;
};

// Steps `stmt` to the end, calling `row(stmt)` on every row: the loop every query
// shares. Returns the first SQLite error.
template <class F>
[[nodiscard]] Status ForEachRow(Statement& stmt, F&& row) {
  for (;;) {
    auto more = stmt.Step();
    if (!more) return tl::unexpected(more.error());
    if (!*more) return {};
    row(stmt);
  }
}

// Resets a statement when the scope ends, whatever path leaves it.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& s) : s_(s) {}
  ~ResetOnExit() { s_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& s_;
};

class Database {
 public:
  // Opens (creating if missing) the database file at `path`, read-write. The error names
  // `path`: kPermission when the OS refused access or the file is read-only, kIo otherwise.
  [[nodiscard]] static Result<Database> Open(const std::string& path);

  Database() = default;
  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  [[nodiscard]] Status Exec(std::string_view sql);
  [[nodiscard]] Result<Statement> Prepare(std::string_view sql);
  // The single integer the query returns in its first row (nullopt: no row or NULL).
  [[nodiscard]] Result<std::optional<std::int64_t>> QueryInt(std::string_view sql);

  sqlite3* get() const { return db_.get(); }
  const std::string& path() const { return path_; }

 private:
  struct Closer {
    // close_v2 defers the close until the last statement is finalized, so member
    // destruction order of a Database beside its Statements does not matter.
    void operator()(sqlite3* db) const noexcept { ::sqlite3_close_v2(db); }
  };

  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
};

// BEGIN IMMEDIATE on construction (a writer takes the write lock up front instead of
// failing with SQLITE_BUSY half way through); ROLLBACK on destruction unless committed.
class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  [[nodiscard]] Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // nullptr once committed or rolled back
};

}  // namespace mica::store::internal
