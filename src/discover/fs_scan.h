// Filesystem discovery: walks many roots in parallel and parses every file whose content
// looks like a machine identity.
//
// Files are recognised by content (x509::Sniff on the first 4 KiB), never by name. The
// walk never follows a symlinked directory (so it cannot loop), follows symlinked files
// (the link path is the location), skips special files, stays on each root's filesystem
// unless asked, and records every failure (permission, I/O, oversized candidate, parse
// issue) as a ScanError with the path and reason, then goes on.
//
// Thread-safety: ScanFilesystem is reentrant; it runs its own worker pool and calls the
// sink from the calling thread only, so the sink (typically a Store) needs no locking.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/store.h"
#include "x509/parse.h"

namespace mica::discover {

struct FsScanOptions {
  std::vector<std::string> roots;     // files or directories; made absolute
  std::vector<std::string> excludes;  // fnmatch globs, matched against the full path and the name
  std::int64_t max_file_size = 8 << 20;  // larger files are sniffed but not parsed
  bool cross_filesystems = false;     // descend into other mounts below a root
  int threads = 0;                    // 0: one per core
  std::size_t batch_files = 2000;     // observations handed to the sink at a time
  std::string host;                   // location host; "" = this machine's hostname
  x509::ParseOptions parse;
};

// Live counters, readable from another thread for progress display.
struct FsScanProgress {
  std::atomic<std::int64_t> files_seen{0};
  std::atomic<std::int64_t> candidates{0};
  std::atomic<std::int64_t> identities{0};
  std::atomic<std::int64_t> errors{0};
  std::atomic<std::int64_t> bytes_read{0};
  std::atomic<int> current_root{-1};  // index into FsScanOptions::roots
};

// Receives batches in the calling thread. A sink error stops the scan and is returned.
using FsScanSink = std::function<Status(std::vector<store::Observation>&& observations,
                                        std::vector<store::ScanError>&& errors)>;

// Walks the roots. Returns the totals, or the first sink error. A root that does not
// exist or cannot be read is a recorded error, not a failure. `cancel`, when set by
// another thread (SIGINT), ends the walk early; what was handed to the sink stays.
[[nodiscard]] Result<store::ScanStats> ScanFilesystem(const FsScanOptions& options,
                                                      const FsScanSink& sink,
                                                      FsScanProgress* progress = nullptr,
                                                      const std::atomic<bool>* cancel = nullptr);

// This machine's host name ("localhost" if it cannot be read).
std::string LocalHostName();

// The default roots of `mica scan fs` with no path and of `make demo`.
std::vector<std::string> DefaultRoots();

}  // namespace mica::discover
