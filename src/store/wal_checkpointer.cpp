// Background WAL checkpoints for the bulk writer (see internal/wal_checkpointer.h).
#include "store/internal/wal_checkpointer.h"

#include <utility>

namespace mica::store::internal {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Attach(Database& writer,
                                                                 int wake_frames) {
  auto own = Database::Open(writer.path());
  if (!own) return tl::unexpected(own.error());
  // The thread waits for the writer's read locks rather than failing at once.
  if (auto s = own->Exec("PRAGMA busy_timeout = 5000"); !s) return tl::unexpected(s.error());
  // A new connection learns the journal mode only when it first reads the file; until
  // then sqlite3_wal_checkpoint_v2 returns SQLITE_OK having copied nothing (log and
  // checkpointed frames -1). Reading the mode opens it, and checks it is WAL.
  {
    auto mode = own->Prepare("PRAGMA journal_mode");
    if (!mode) return tl::unexpected(mode.error());
    auto row = mode->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row || mode->Text(0) != "wal")
      return Fail(ErrorCode::kInternal, writer.path() + " is not in WAL mode");
  }
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(writer, std::move(*own), wake_frames));
  // Replaces the automatic checkpoint (sqlite3_wal_autocheckpoint is this same hook).
  ::sqlite3_wal_hook(writer.get(), &WalCheckpointer::OnCommit, c.get());
  return c;
}

WalCheckpointer::WalCheckpointer(Database& writer, Database own, int wake_frames)
    : writer_(writer), own_(std::move(own)), wake_frames_(wake_frames) {
  thread_ = std::thread([this] { Run(); });
}

WalCheckpointer::~WalCheckpointer() {
  // Back to SQLite's automatic checkpoint before the hook's target goes away.
  ::sqlite3_wal_autocheckpoint(writer_.get(), wake_frames_);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (frames >= 4 * c->wake_frames_) {
    // The thread is behind: copy what it can here, as the automatic checkpoint did.
    // PASSIVE never waits on the thread's own checkpoint; SQLITE_BUSY is not an error.
    (void)::sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    std::lock_guard lock(c->mu_);
    ++c->by_writer_;
    return SQLITE_OK;
  }
  if (frames >= c->wake_frames_) {
    {
      std::lock_guard lock(c->mu_);
      c->pending_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;  // a commit is never failed by its checkpoint
}

void WalCheckpointer::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return pending_ || stop_; });
    if (stop_) break;
    pending_ = false;
    lock.unlock();
    // Errors (SQLITE_BUSY while another checkpoint runs) leave the frames for the next
    // one; nothing is lost, the WAL is only longer for a while.
    int copied = 0;
    int log = 0;
    const int rc = ::sqlite3_wal_checkpoint_v2(own_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               &log, &copied);
    lock.lock();
    if (rc == SQLITE_OK && copied > 0) ++background_;
  }
  lock.unlock();
  own_ = Database();  // closed on this thread, before the writer's connection
}

int WalCheckpointer::background_checkpoints() const {
  std::lock_guard lock(mu_);
  return background_;
}

int WalCheckpointer::writer_checkpoints() const {
  std::lock_guard lock(mu_);
  return by_writer_;
}

}  // namespace mica::store::internal
