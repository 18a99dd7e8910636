#include "store/internal/sqlite.h"

#include <cerrno>
#include <mutex>

namespace mica::store::internal {

Error SqliteError(int rc, std::string what) {
  ErrorCode code = ErrorCode::kIo;
  switch (rc & 0xff) {  // the primary code of an extended result code
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      code = ErrorCode::kPermission;
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = ErrorCode::kInput;
      break;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      code = ErrorCode::kInternal;
      break;
    default:
      break;
  }
  return Error{code, std::move(what)};
}

namespace {
std::string Message(sqlite3* db, int rc) {
  return db != nullptr ? ::sqlite3_errmsg(db) : ::sqlite3_errstr(rc);
}
}  // namespace

Result<bool> Statement::Step() {
  if (bind_error_) {
    Error e = std::move(*bind_error_);
    bind_error_.reset();
    return tl::unexpected(std::move(e));
  }
  const int rc = ::sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // sqlite3_db_handle is borrowed: the statement does not own its connection.
  Error e = SqliteError(rc, Message(::sqlite3_db_handle(stmt_.get()), rc));
  Reset();
  return tl::unexpected(std::move(e));
}

Status Statement::Run() {
  auto row = Step();
  if (!row) return tl::unexpected(row.error());
  Reset();
  return {};
}

void Statement::Reset() {
  // sqlite3_reset repeats the error of the last step, which Step already reported.
  (void)::sqlite3_reset(stmt_.get());
  (void)::sqlite3_clear_bindings(stmt_.get());
}

void Statement::Check(int rc) {
  if (rc != SQLITE_OK && !bind_error_)
    bind_error_ = SqliteError(rc, Message(::sqlite3_db_handle(stmt_.get()), rc));
}

void Statement::BindOne(int index, std::int64_t v) {
  Check(::sqlite3_bind_int64(stmt_.get(), index, v));
}
void Statement::BindOne(int index, std::string_view v) {
  // SQLITE_TRANSIENT: SQLite copies, so temporaries may die before the step.
  Check(
      ::sqlite3_bind_text64(stmt_.get(), index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}
void Statement::BindOne(int index, ByteView v) {
  if (v.empty()) return Check(::sqlite3_bind_zeroblob(stmt_.get(), index, 0));
  Check(::sqlite3_bind_blob64(stmt_.get(), index, v.data(), v.size(), SQLITE_TRANSIENT));
}
void Statement::BindOne(int index, Borrowed v) {
  // A null data pointer would bind SQL NULL; an empty view is the empty string.
  const char* data = v.text.data() != nullptr ? v.text.data() : "";
  Check(::sqlite3_bind_text64(stmt_.get(), index, data, v.text.size(), SQLITE_STATIC, SQLITE_UTF8));
}
void Statement::BindOne(int index, BorrowedBlob v) {
  if (v.bytes.empty()) return Check(::sqlite3_bind_zeroblob(stmt_.get(), index, 0));
  Check(::sqlite3_bind_blob64(stmt_.get(), index, v.bytes.data(), v.bytes.size(), SQLITE_STATIC));
}
void Statement::BindOne(int index, std::nullptr_t) {
  Check(::sqlite3_bind_null(stmt_.get(), index));
}

bool Statement::IsNull(int col) const {
  return ::sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}
std::int64_t Statement::Int(int col) const { return ::sqlite3_column_int64(stmt_.get(), col); }
std::optional<std::int64_t> Statement::OptionalInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}
std::string Statement::Text(int col) const { return std::string(TextView(col)); }
std::string_view Statement::TextView(int col) const {
  // column_text before column_bytes, as the SQLite docs ask.
  const auto* p = ::sqlite3_column_text(stmt_.get(), col);
  const int n = ::sqlite3_column_bytes(stmt_.get(), col);
  if (p == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}
Bytes Statement::Blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(::sqlite3_column_blob(stmt_.get(), col));
  const int n = ::sqlite3_column_bytes(stmt_.get(), col);
  if (p == nullptr || n <= 0) return {};
  return Bytes(p, p + n);
}

namespace {

// Process-wide SQLite settings, applied once before the library initialises.
// Memory statistics off: with them on, every sqlite3_malloc and sqlite3_free takes a
// global mutex to keep the counters, a few percent of a bulk scan's CPU (mica never
// reads the counters). Fails harmlessly (SQLITE_MISUSE) if something in the process
// initialised SQLite first.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

Result<Database> Database::Open(const std::string& path) {
  ConfigureSqliteOnce();
  sqlite3* raw = nullptr;
  const int rc = ::sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  Database db;
  db.db_.reset(raw);  // sqlite3_open_v2 allocates a handle even on failure
  db.path_ = path;
  if (rc != SQLITE_OK) {
    const int sys = raw != nullptr ? ::sqlite3_system_errno(raw) : 0;
    Error e = SqliteError(rc, "cannot open " + path + ": " + Message(raw, rc));
    if (sys == EACCES || sys == EPERM || sys == EROFS) {
      e.code = ErrorCode::kPermission;
      e.message += " (permission denied)";
    }
    return tl::unexpected(std::move(e));
  }
  // READWRITE silently falls back to read-only for a write-protected file; say so now
  // rather than at the first write.
  if (::sqlite3_db_readonly(raw, "main") == 1)
    return Fail(ErrorCode::kPermission, "cannot open " + path + " for writing: read-only");
  return db;
}

Status Database::Exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = ::sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string message = err != nullptr ? err : ::sqlite3_errstr(rc);
  ::sqlite3_free(err);
  return tl::unexpected(SqliteError(rc, std::move(message)));
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = ::sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  Statement out(stmt);
  if (rc != SQLITE_OK)
    return tl::unexpected(SqliteError(rc, Message(db_.get(), rc) + " in: " + std::string(sql)));
  return out;
}

Result<std::optional<std::int64_t>> Database::QueryInt(std::string_view sql) {
  auto stmt = Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<std::int64_t>();
  return stmt->OptionalInt(0);
}

Result<Transaction> Transaction::Begin(Database& db) {
  if (auto s = db.Exec("BEGIN IMMEDIATE"); !s) return tl::unexpected(s.error());
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Database* db = std::exchange(db_, nullptr);
  auto s = db->Exec("COMMIT");
  if (!s) (void)db->Exec("ROLLBACK");
  return s;
}

}  // namespace mica::store::internal
