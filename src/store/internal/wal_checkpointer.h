// Copies the write-ahead log back into the database file on a thread of its own, so
// that a bulk writer (a filesystem or TLS scan) does not stop every 64 MiB to do it.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses the WAL threshold,
// on the writer's thread: in the first scan of a 100,000-file tree that was 0.7-1.3 s
// of the writer's CPU, and the writer is the scan's critical path (the walkers wait
// for it). A PASSIVE checkpoint from a second connection copies committed frames while
// the writer goes on appending new ones (https://sqlite.org/wal.html#ckpt); the WAL is
// rewound by the writer's next transaction once a checkpoint has copied all of it.
//
// Started for one connection by WalCheckpointer::Attach, which replaces the connection's
// automatic checkpoint with a WAL hook that wakes the thread. Should the thread fall
// behind, the writer checkpoints itself once the WAL passes 4x that, so the WAL
// stays bounded whatever the thread does. Destroy it before the connection it watches:
// the thread finishes its checkpoint and closes its own connection first, so the
// writer's connection is the last one and checkpoints and removes the WAL when it
// closes, as it did before.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"
#include "store/internal/sqlite.h"

namespace mica::store::internal {

class WalCheckpointer {
 public:
  // WAL frames (pages) after a commit that wake the thread: 32 MiB with 4 KiB pages.
  // Half the writer's own automatic threshold (wal_autocheckpoint = 16384): the thread
  // copies smaller slices while the writer works, and less is left for the final
  // checkpoint at close. The first scan of the 200,000-file tree was 0.1-0.3 s faster
  // than with 16384 in 6 of 7 paired runs (docs/PERFORMANCE.md).
  static constexpr int kWakeFrames = 8192;

  // Starts a checkpointer for `writer`, a connection to a database file in WAL mode.
  // The thread wakes when a commit leaves `wake_frames` or more frames in the WAL; the
  // writer checkpoints itself past 4 x `wake_frames`. Fails when the second connection
  // cannot be opened; the caller then keeps SQLite's automatic checkpoint.
  [[nodiscard]] static Result<std::unique_ptr<WalCheckpointer>> Attach(
      Database& writer, int wake_frames = kWakeFrames);

  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints by the thread that copied frames, and checkpoints the writer ran itself
  // (for tests and benchmarks).
  int background_checkpoints() const;
  int writer_checkpoints() const;

 private:
  WalCheckpointer(Database& writer, Database own, int wake_frames);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void Run();

  Database& writer_;
  Database own_;
  const int wake_frames_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stop_ = false;
  int background_ = 0;
  int by_writer_ = 0;
  std::thread thread_;
};

}  // namespace mica::store::internal
