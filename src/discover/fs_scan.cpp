#include "discover/fs_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace mica::discover {

namespace {

constexpr std::size_t kSniffBytes = 4096;
// The first read of every file: the sniff bytes and, for most identity files, the rest.
constexpr std::size_t kHeadBytes = 16 * 1024;

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Resolves uid/gid to names once per thread.
class NameCache {
 public:
  std::string User(uid_t uid) {
    auto it = users_.find(uid);
    if (it != users_.end()) return it->second;
    std::string name;
    struct passwd pw, *res = nullptr;
    char buf[4096];
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) name = res->pw_name;
    return users_[uid] = name;
  }
  std::string Group(gid_t gid) {
    auto it = groups_.find(gid);
    if (it != groups_.end()) return it->second;
    std::string name;
    struct group gr, *res = nullptr;
    char buf[4096];
    if (::getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res) name = res->gr_name;
    return groups_[gid] = name;
  }

 private:
  std::unordered_map<uid_t, std::string> users_;
  std::unordered_map<gid_t, std::string> groups_;
};

struct DirWork {
  std::string path;
  dev_t root_dev;
  int root_index;
};

struct Batch {
  std::vector<store::Observation> observations;
  std::vector<store::ScanError> errors;
};

// The shared state of one scan: a LIFO of directories to list (depth-first keeps the
// queue small), and a bounded queue of finished batches for the sink thread.
class Walk {
 public:
  Walk(const FsScanOptions& options, FsScanProgress& progress, const std::atomic<bool>* cancel)
      : options_(options), progress_(progress), cancel_(cancel) {
    ::clock_gettime(CLOCK_REALTIME, &started_);
  }

  // True when the file was modified (or its inode changed) since two seconds before the
  // walk started: a file some process may be writing while it is read. Two seconds
  // cover filesystems with coarse timestamps.
  bool RecentlyChanged(const struct stat& st) const {
    const auto after = [&](const struct timespec& t) { return t.tv_sec >= started_.tv_sec - 2; };
    return after(st.st_mtim) || after(st.st_ctim);
  }

  void PushDir(DirWork w) {
    std::lock_guard lock(mu_);
    dirs_.push_back(std::move(w));
    ++pending_;
    work_cv_.notify_one();
  }

  // Blocks until a directory is available or the walk is over.
  std::optional<DirWork> PopDir() {
    std::unique_lock lock(mu_);
    work_cv_.wait(lock, [&] { return !dirs_.empty() || pending_ == 0 || stopped_; });
    if (stopped_ || dirs_.empty()) return std::nullopt;
    DirWork w = std::move(dirs_.back());
    dirs_.pop_back();
    return w;
  }

  void DoneDir() {
    std::lock_guard lock(mu_);
    if (--pending_ == 0) {
      work_cv_.notify_all();
    }
  }

  // Hands a full batch to the sink thread; blocks while too many are waiting, so memory
  // stays bounded by threads x batch size whatever the tree holds.
  void Emit(Batch&& b) {
    if (b.observations.empty() && b.errors.empty()) return;
    std::unique_lock lock(mu_);
    out_cv_.wait(lock, [&] { return out_.size() < kMaxQueuedBatches || stopped_; });
    if (stopped_) return;
    out_.push_back(std::move(b));
    sink_cv_.notify_one();
  }

  void WorkerExited() {
    std::lock_guard lock(mu_);
    ++workers_done_;
    sink_cv_.notify_one();
  }

  // Sink side: the next batch, or nullopt when all workers are done and nothing is left.
  std::optional<Batch> NextBatch(int workers) {
    std::unique_lock lock(mu_);
    sink_cv_.wait(lock, [&] { return !out_.empty() || workers_done_ == workers; });
    if (out_.empty()) return std::nullopt;
    Batch b = std::move(out_.front());
    out_.pop_front();
    out_cv_.notify_one();
    return b;
  }

  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    work_cv_.notify_all();
    out_cv_.notify_all();
  }

  void SetRootFiles(std::vector<std::pair<std::string, int>> files) {
    root_files_ = std::move(files);
  }
  std::optional<std::pair<std::string, int>> PopRootFile() {
    std::lock_guard lock(mu_);
    if (root_files_.empty() || stopped_) return std::nullopt;
    auto f = std::move(root_files_.back());
    root_files_.pop_back();
    return f;
  }

  bool Cancelled() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }

  const FsScanOptions& options() const { return options_; }
  FsScanProgress& progress() { return progress_; }

 private:
  static constexpr std::size_t kMaxQueuedBatches = 4;
  const FsScanOptions& options_;
  FsScanProgress& progress_;
  const std::atomic<bool>* cancel_;
  struct timespec started_ {};
  std::mutex mu_;
  std::condition_variable work_cv_, out_cv_, sink_cv_;
  std::vector<DirWork> dirs_;
  std::int64_t pending_ = 0;  // directories pushed and not yet fully listed
  std::vector<std::pair<std::string, int>> root_files_;  // roots that are files
  std::deque<Batch> out_;
  int workers_done_ = 0;
  bool stopped_ = false;
};

bool Excluded(const std::vector<std::string>& globs, const std::string& path,
              std::string_view name) {
  for (const auto& g : globs) {
    if (::fnmatch(g.c_str(), path.c_str(), 0) == 0) return true;
    if (::fnmatch(g.c_str(), std::string(name).c_str(), 0) == 0) return true;
  }
  return false;
}

// One worker: lists directories and reads files, filling batches.
class Worker {
 public:
  Worker(Walk& walk, const std::string& host) : walk_(walk), host_(host) {
    buf_.resize(kHeadBytes);
  }

  void Run() {
    while (auto file = walk_.PopRootFile()) {
      if (walk_.Cancelled()) break;
      walk_.progress().current_root.store(file->second, std::memory_order_relaxed);
      ScanFile(file->first, AT_FDCWD, file->first.c_str(), /*maybe_link=*/true);
    }
    while (auto dir = walk_.PopDir()) {
      if (!walk_.Cancelled()) ListDir(*dir);
      walk_.DoneDir();
      if (walk_.Cancelled()) {
        // Drain the remaining directories without listing them.
        continue;
      }
    }
    Flush();
    walk_.WorkerExited();
  }

 private:
  void Error(const std::string& where, std::string reason) {
    batch_.errors.push_back({where, std::move(reason)});
    walk_.progress().errors.fetch_add(1, std::memory_order_relaxed);
    MaybeFlush();
  }

  void MaybeFlush() {
    if (batch_.observations.size() + batch_.errors.size() >= walk_.options().batch_files) Flush();
  }

  void Flush() {
    walk_.Emit(std::move(batch_));
    batch_ = Batch{};
  }

  void ListDir(const DirWork& w) {
    walk_.progress().current_root.store(w.root_index, std::memory_order_relaxed);
    DIR* d = ::opendir(w.path.c_str());
    if (!d) {
      Error(w.path, "cannot open directory: " + ErrnoText(errno));
      return;
    }
    std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
    const int dfd = ::dirfd(d);
    std::vector<std::string> subdirs;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      // Built with append rather than operator+: GCC 12 at -O3 reports a false
      // -Wrestrict inside std::string's operator+ here (GCC bug 105329).
      std::string path;
      path.reserve(w.path.size() + 1 + name.size());
      path.append(w.path == "/" ? "" : w.path).append("/").append(name);
      if (!walk_.options().excludes.empty() && Excluded(walk_.options().excludes, path, name))
        continue;
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          Error(path, "cannot stat: " + ErrnoText(errno));
          continue;
        }
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
                                              : S_ISLNK(st.st_mode) ? DT_LNK
                                                                    : DT_FIFO;
      }
      if (type == DT_DIR) {
        if (!walk_.options().cross_filesystems) {
          struct stat st;
          if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            Error(path, "cannot stat: " + ErrnoText(errno));
            continue;
          }
          if (st.st_dev != w.root_dev) continue;  // another filesystem: stay on ours
        }
        subdirs.push_back(std::move(path));
      } else if (type == DT_REG || type == DT_LNK) {
        // Symlinked directories are never followed (no loops); symlinked files are read
        // below after a stat() shows a regular file.
        ScanFile(path, dfd, e->d_name, /*maybe_link=*/type == DT_LNK);
      }
      // Sockets, FIFOs and devices are skipped: reading them can block or have effects.
      errno = 0;
    }
    if (errno != 0) Error(w.path, "error reading directory: " + ErrnoText(errno));
    closer.reset();
    // Push after closing so that open directory handles stay bounded by the thread count.
    for (auto& s : subdirs) walk_.PushDir({std::move(s), w.root_dev, w.root_index});
  }

  // Reads one file: `name` relative to the directory `dirfd` (AT_FDCWD for a root given
  // by path). A regular file from readdir is opened directly with O_NOFOLLOW (a path
  // lookup saved per file); a symlink is stat()ed first so that only a link to a regular
  // file is ever opened (never a FIFO or device).
  void ScanFile(const std::string& path, int dirfd, const char* name, bool maybe_link) {
    auto& progress = walk_.progress();
    progress.files_seen.fetch_add(1, std::memory_order_relaxed);
    struct stat st;
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    if (maybe_link) {
      if (::fstatat(dirfd, name, &st, 0) != 0) {
        // A dangling symlink is not an error worth recording, everything else is.
        if (errno != ENOENT) Error(path, "cannot stat: " + ErrnoText(errno));
        return;
      }
      if (!S_ISREG(st.st_mode) || st.st_size == 0) return;
    } else {
      flags |= O_NOFOLLOW;
    }
    Fd fd(::openat(dirfd, name, flags));
    if (fd.get() < 0) {
      // ELOOP: replaced by a symlink since readdir; ENOENT: deleted since readdir.
      if (errno != ENOENT && errno != ELOOP) Error(path, "cannot open: " + ErrnoText(errno));
      return;
    }
    // The file's facts (type, size, mode, owner) are read only for a candidate. Most
    // files are not: for them the scan costs open, one read and close, as for ripgrep;
    // an fstat each was a fifth of the walkers' system calls.
    struct stat fst;
    bool have_fst = false;
    auto stat_fd = [&]() -> bool {
      have_fst = ::fstat(fd.get(), &fst) == 0 && S_ISREG(fst.st_mode);
      return have_fst;
    };
    if (maybe_link) {
      if (!stat_fd() || fst.st_ino != st.st_ino) {
        Error(path, "file was replaced while being opened");
        return;
      }
    }
    // One read for the head: a regular file's read is short only at its end. Most
    // identity files fit; a longer candidate is read whole below.
    ssize_t n;
    do {
      n = ::pread(fd.get(), buf_.data(), buf_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      const int err = errno;
      // A directory or FIFO put where readdir listed a regular file is never read.
      if (!maybe_link && !stat_fd()) return;
      Error(path, "cannot read: " + ErrnoText(err));
      return;
    }
    if (n == 0) return;
    progress.bytes_read.fetch_add(n, std::memory_order_relaxed);
    ByteView head(buf_.data(), static_cast<std::size_t>(n));
    x509::Format format = x509::Sniff(head.first(std::min<std::size_t>(head.size(), kSniffBytes)));
    if (format == x509::Format::kUnknown) return;
    // Only now: a FIFO or device that readdir called regular is dropped here.
    if (!have_fst && !stat_fd()) return;
    progress.candidates.fetch_add(1, std::memory_order_relaxed);

    const auto& opts = walk_.options();
    if (fst.st_size > opts.max_file_size) {
      Error(path, "looks like " + std::string(x509::FormatName(format)) + " but is " +
                      std::to_string(fst.st_size) + " bytes, over the limit of " +
                      std::to_string(opts.max_file_size) + " (raise --max-file-size); skipped");
      return;
    }
    Bytes content;
    ByteView data = head;
    // The head is the whole file when it has the file's size and nothing wrote to the
    // file around the time it was read. Otherwise (a longer file, a symlink stat()ed
    // before the read, a file written to since the scan started) the file is read
    // again, whole, between two fstat calls that must agree: a writer caught in the
    // middle makes it "changed while being read", never a mixed read.
    if (static_cast<std::int64_t>(n) != fst.st_size || maybe_link || walk_.RecentlyChanged(fst)) {
      if (!stat_fd()) return;
      if (fst.st_size > opts.max_file_size) {
        Error(path, "grew past the size limit while being read; skipped");
        return;
      }
      // One byte past its size, to notice growth.
      content.resize(static_cast<std::size_t>(fst.st_size) + 1);
      ssize_t m = ReadFull(fd.get(), content.data(), content.size(), 0);
      if (m < 0) {
        Error(path, "cannot read: " + ErrnoText(errno));
        return;
      }
      if (m > opts.max_file_size) {
        Error(path, "grew past the size limit while being read; skipped");
        return;
      }
      content.resize(static_cast<std::size_t>(m));
      progress.bytes_read.fetch_add(m, std::memory_order_relaxed);
      data = content;
      struct stat after;
      if (m != fst.st_size ||
          (::fstat(fd.get(), &after) == 0 &&
           (after.st_size != fst.st_size || after.st_mtim.tv_sec != fst.st_mtim.tv_sec ||
            after.st_mtim.tv_nsec != fst.st_mtim.tv_nsec))) {
        Error(path, "changed while being read; skipped (the next scan reads it again)");
        return;
      }
    }

    auto parsed = x509::ParseContent(data, opts.parse);
    if (!parsed) {
      Error(path, parsed.error().message);
      return;
    }
    for (const auto& issue : parsed->issues) Error(path + " [" + issue.position + "]", issue.reason);
    if (parsed->identities.empty()) return;

    store::Observation obs;
    obs.location.kind = store::LocationKind::kFile;
    obs.location.host = host_;
    obs.location.path = path;
    store::FileFacts facts;
    facts.mode = fst.st_mode;
    facts.uid = fst.st_uid;
    facts.gid = fst.st_gid;
    facts.owner = names_.User(fst.st_uid);
    facts.group = names_.Group(fst.st_gid);
    facts.size = fst.st_size;
    facts.mtime = fst.st_mtim.tv_sec;
    obs.file = std::move(facts);
    obs.format = x509::FormatName(parsed->format);
    progress.identities.fetch_add(static_cast<std::int64_t>(parsed->identities.size()),
                                  std::memory_order_relaxed);
    obs.identities = std::move(parsed->identities);
    batch_.observations.push_back(std::move(obs));
    MaybeFlush();
  }

  static ssize_t ReadFull(int fd, std::uint8_t* out, std::size_t want, off_t offset) {
    std::size_t got = 0;
    while (got < want) {
      ssize_t r = ::pread(fd, out + got, want - got, offset + static_cast<off_t>(got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    return static_cast<ssize_t>(got);
  }

  Walk& walk_;
  const std::string& host_;
  Bytes buf_;
  Batch batch_;
  NameCache names_;
};

}  // namespace

std::string LocalHostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

std::vector<std::string> DefaultRoots() {
  return {"/etc/ssl", "/etc/pki", "/usr/local/share/ca-certificates", "/etc/ssh", "/root",
          "/home", "/opt", "/srv", "/var/lib", "/etc"};
}

Result<store::ScanStats> ScanFilesystem(const FsScanOptions& options, const FsScanSink& sink,
                                        FsScanProgress* progress_in,
                                        const std::atomic<bool>* cancel) {
  FsScanProgress local_progress;
  FsScanProgress& progress = progress_in ? *progress_in : local_progress;
  FsScanOptions opts = options;
  if (opts.host.empty()) opts.host = LocalHostName();
  if (opts.batch_files == 0) opts.batch_files = 1;
  int threads = opts.threads > 0 ? opts.threads
                                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  Walk walk(opts, progress, cancel);
  std::vector<store::ScanError> root_errors;

  // Roots: directories go to the queue; files are scanned by a worker up front. A root
  // inside another root is listed once (the roots are de-duplicated by the caller's
  // store via unique sightings; the walk itself does not track visited files).
  std::vector<std::pair<std::string, int>> root_files;
  for (std::size_t i = 0; i < opts.roots.size(); ++i) {
    std::error_code ec;
    std::filesystem::path p = std::filesystem::absolute(opts.roots[i], ec);
    std::string path = ec ? opts.roots[i] : p.lexically_normal().string();
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      // Missing default roots (/etc/pki on Debian) are normal: note them as errors
      // the summary can show, without failing.
      root_errors.push_back({path, "cannot scan root: " + ErrnoText(errno)});
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      walk.PushDir({path, st.st_dev, static_cast<int>(i)});
    } else {
      root_files.emplace_back(path, static_cast<int>(i));
    }
  }
  progress.errors += static_cast<std::int64_t>(root_errors.size());

  walk.SetRootFiles(std::move(root_files));
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) workers.push_back(std::make_unique<Worker>(walk, opts.host));
  std::vector<std::jthread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back([w = workers[i].get()] { w->Run(); });

  Status sink_status;
  if (!root_errors.empty()) sink_status = sink({}, std::move(root_errors));
  while (auto batch = walk.NextBatch(threads)) {
    if (!sink_status) continue;  // keep draining so workers can finish
    sink_status = sink(std::move(batch->observations), std::move(batch->errors));
    if (!sink_status) walk.Stop();
  }
  pool.clear();  // joins
  if (!sink_status) return tl::unexpected(sink_status.error());

  store::ScanStats stats;
  stats.files_seen = progress.files_seen;
  stats.candidates = progress.candidates;
  stats.identities = progress.identities;
  stats.errors = progress.errors;
  return stats;
}

}  // namespace mica::discover
