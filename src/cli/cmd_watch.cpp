// `mica watch`: runs the [[watch.job]] entries of the config on their schedules, signs
// audit checkpoints and delivers alerts, until SIGTERM (docs/WATCH.md).
//
// Each scan or policy job runs as a child `mica` process (this same binary): a job that
// crashes, hangs past its timeout or is killed never takes the watcher down, and every
// job commits through the store's own transactions, so a kill at any point leaves either
// a finished scan with its events or a scan still "running", which the next start marks
// failed. Alerts are derived from events through the outbox's per-sink cursor, so none is
// lost; delivery is at least once and receivers deduplicate by Idempotency-Key.
//
// Signals: SIGTERM / SIGINT stop after interrupting the running job (SIGINT to the child,
// SIGKILL 30 s later); SIGHUP reloads the config (a bad config is logged and the old one
// kept). Exit codes: 0 stopped cleanly (or --once with every job ok), 1 --once with a job
// that failed, 3 the config or inventory cannot be used at start.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "cli/alert_section.h"
#include "cli/verbs.h"
#include "core/log.h"
#include "core/time.h"
#include "discover/fs_scan.h"
#include "store/people.h"
#include "watch/changes.h"
#include "watch/dispatch.h"
#include "watch/schedule.h"

extern char** environ;

namespace mica::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
extern "C" void OnWatchStop(int) { g_stop.store(true); }
extern "C" void OnWatchReload(int) { g_reload.store(true); }

struct WatchFlags {
  bool once = false;
  std::string now;  // RFC 3339: run as if the clock said this (tests; expiry thresholds)
};

// The clock `mica watch` runs on: the system clock, shifted when --now is given.
struct ShiftedClock {
  std::int64_t offset = 0;
  UnixSeconds Now() const { return SystemClock().Now() + offset; }
};

class Watcher {
 public:
  Watcher(Context& ctx, ShiftedClock clock) : ctx_(ctx), clock_(clock) {}

  [[nodiscard]] Status Start() {
    std::error_code ec;
    exe_ = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) return Fail(ErrorCode::kInternal, "cannot find the mica binary: " + ec.message());
    if (auto s = LoadJobs(ctx_.config); !s) return s;
    return RecoverInterruptedScans();
  }

  // Runs until SIGTERM; with `once`, runs every job once, delivers alerts and returns.
  int Run(bool once) {
    int failures = 0;
    if (once) {
      for (const auto& job : ctx_.config.watch_jobs) {
        if (g_stop.load()) break;
        if (!RunJob(job)) ++failures;
      }
      DeliverAlerts();
      return failures ? 1 : 0;
    }
    spdlog::info("watch started: {} job(s), alerts every {}s", ctx_.config.watch_jobs.size(),
                 ctx_.config.alert_interval);
    UnixSeconds next_alerts = 0;
    while (!g_stop.load()) {
      if (g_reload.exchange(false)) Reload();
      const UnixSeconds now = clock_.Now();
      for (const auto& job : ctx_.config.watch_jobs) {
        if (g_stop.load()) break;
        if (NextRun(job, now) > now) continue;
        RunJob(job);
      }
      if (clock_.Now() >= next_alerts) {
        DeliverAlerts();
        next_alerts = clock_.Now() + ctx_.config.alert_interval;
      }
      // Sleep in short steps so signals are seen within a quarter second.
      for (int i = 0; i < 4 && !g_stop.load() && !g_reload.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    spdlog::info("watch stopped");
    return 0;
  }

 private:
  UnixSeconds NextRun(const WatchJob& job, UnixSeconds now) const {
    auto it = last_run_.find(job.name);
    const UnixSeconds last = it == last_run_.end() ? 0 : it->second;
    return schedules_.at(job.name).NextRun(last, now);
  }

  Status LoadJobs(const Config& config) {
    std::map<std::string, watch::Schedule> schedules;
    for (const auto& job : config.watch_jobs) {
      watch::Schedule s;
      s.every = job.every;
      if (!job.cron.empty()) {
        auto cron = watch::CronSchedule::Parse(job.cron);
        if (!cron) return tl::unexpected(cron.error());
        s.cron = *cron;
      }
      schedules.emplace(job.name, s);
    }
    auto alerts = LoadAlertSection(config);
    if (!alerts) return tl::unexpected(alerts.error());
    auto dispatcher = watch::Dispatcher::Create(*alerts, [this] { return uniform_(rng_); });
    if (!dispatcher) return tl::unexpected(dispatcher.error());
    schedules_ = std::move(schedules);
    dispatcher_.emplace(std::move(*dispatcher));
    // A scan job resumes its interval from its last scan in the inventory, so a restart
    // neither repeats a scan that just ran nor forgets one that is due.
    for (const auto& job : config.watch_jobs) {
      if (job.kind != "fs" && job.kind != "tls") continue;
      store::ScanFilter f = store::ScanFilter::Latest(1);
      f.kind = job.kind;
      f.roots = JobRoots(job);
      auto last = ctx_.store->ListScans(f);
      if (!last) return tl::unexpected(last.error());
      if (!last->empty()) last_run_[job.name] = last->front().start.started_at;
    }
    return {};
  }

  void Reload() {
    auto config = LoadConfig(ctx_.config.source.empty() ? "mica.toml" : ctx_.config.source,
                             !ctx_.config.source.empty());
    if (!config) {
      spdlog::error("config reload failed, keeping the running config: {}", config.error().message);
      return;
    }
    Config old = ctx_.config;
    ctx_.config = std::move(*config);
    if (auto s = LoadJobs(ctx_.config); !s) {
      spdlog::error("config reload failed, keeping the running config: {}", s.error().message);
      ctx_.config = std::move(old);
      (void)LoadJobs(ctx_.config);
      return;
    }
    spdlog::info("config reloaded: {} job(s)", ctx_.config.watch_jobs.size());
  }

  // The roots a job's scan records, as the scan verb normalises them.
  std::vector<std::string> JobRoots(const WatchJob& job) const {
    if (job.kind == "tls") return job.targets;
    return ScanRoots(ctx_, job.roots);
  }

  // A scan still "running" for one of our jobs was cut off by a crash or a kill: it is
  // marked failed (nothing it saw is lost; nothing is marked vanished because of it).
  Status RecoverInterruptedScans() {
    store::ScanFilter running;
    running.host = discover::LocalHostName();
    running.status = "running";
    auto scans = ctx_.store->ListScans(running);
    if (!scans) return tl::unexpected(scans.error());
    for (const auto& s : *scans) {
      for (const auto& job : ctx_.config.watch_jobs) {
        if (s.start.kind != job.kind || s.start.roots != JobRoots(job)) continue;
        if (auto f = ctx_.store->FailScan(s.id, "interrupted: mica watch restarted", clock_.Now());
            !f)
          return f;
        spdlog::warn("scan #{} of job '{}' was interrupted; marked failed", s.id, job.name);
        break;
      }
    }
    return {};
  }

  std::vector<std::string> JobArgs(const WatchJob& job) const {
    std::vector<std::string> a = {exe_, "--db", ctx_.db_path, "--log-format", ctx_.g.log_format,
                                  "--log-level", ctx_.g.log_level};
    if (!ctx_.config.source.empty()) {
      a.push_back("--config");
      a.push_back(ctx_.config.source);
    }
    if (job.kind == "fs") {
      a.insert(a.end(), {"scan", "fs", "--quiet"});
      a.insert(a.end(), job.roots.begin(), job.roots.end());
    } else if (job.kind == "tls") {
      a.insert(a.end(), {"scan", "tls", "--quiet"});
      if (!job.ports.empty()) a.insert(a.end(), {"--ports", job.ports});
      a.insert(a.end(), job.targets.begin(), job.targets.end());
    } else if (job.kind == "policy") {
      a.insert(a.end(), {"policy", "check", "--json", "--fail-on", "critical"});
      if (!job.policy.empty()) a.insert(a.end(), {"--policy", job.policy});
    }
    return a;
  }

  // Runs one job; false when it failed. Records its start as the job's last run.
  bool RunJob(const WatchJob& job) {
    const UnixSeconds started = clock_.Now();
    last_run_[job.name] = started;
    bool ok = true;
    if (job.kind == "expiry") {
      ok = RunExpiry();
    } else {
      const int rc = RunChild(job);
      // policy check exits 1 when findings exist: that is a result, not a failure.
      ok = rc == 0 || (job.kind == "policy" && rc == 1);
      if (ok)
        spdlog::info("job '{}' done in {}s", job.name, clock_.Now() - started);
      else
        spdlog::error("job '{}' failed (exit {})", job.name, rc);
    }
    if (auto n = SignAuditCheckpoints(ctx_, clock_.Now()); !n)
      spdlog::error("audit checkpoint: {}", n.error().message);
    DeliverAlerts();
    return ok;
  }

  bool RunExpiry() {
    watch::ExpiryThresholds t;
    if (!ctx_.config.expiry_thresholds.empty()) t.before = ctx_.config.expiry_thresholds;
    auto events = watch::ExpiryEvents(*ctx_.store, clock_.Now(), t);
    if (!events) {
      spdlog::error("expiry: {}", events.error().message);
      return false;
    }
    if (auto owners = ctx_.store->People().OwnersByFingerprint(); owners)
      watch::SetOwners(*events, *owners);
    auto recorded = ctx_.store->AppendEvents(*events);
    if (!recorded) {
      spdlog::error("expiry: {}", recorded.error().message);
      return false;
    }
    if (!recorded->empty()) spdlog::info("expiry: {} threshold(s) crossed", recorded->size());
    return true;
  }

  // Spawns the job's `mica` child with stdout to /dev/null; waits, enforcing the job's
  // timeout and passing a stop request on. Returns its exit code (128+N for signal N).
  int RunChild(const WatchJob& job) {
    const auto args = JobArgs(job);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int err = ::posix_spawn(&pid, exe_.c_str(), &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
      spdlog::error("job '{}': cannot start {}: {}", job.name, exe_, std::strerror(err));
      return 127;
    }
    const auto start = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> interrupted;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
      }
      if (r < 0 && errno != EINTR) return 127;
      const auto now = std::chrono::steady_clock::now();
      const bool timed_out = now - start > std::chrono::seconds(job.timeout);
      if (!interrupted && (g_stop.load() || timed_out)) {
        if (timed_out) spdlog::error("job '{}' exceeded its {}s timeout", job.name, job.timeout);
        ::kill(pid, SIGINT);  // the scan records what it saw and marks itself failed
        interrupted = now;
      } else if (interrupted && now - *interrupted > std::chrono::seconds(30)) {
        ::kill(pid, SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  void DeliverAlerts() {
    if (!dispatcher_ || dispatcher_->sinks().empty()) return;
    auto counts = dispatcher_->RunOnce(*ctx_.store, clock_.Now());
    if (!counts) {
      spdlog::error("alerts: {}", counts.error().message);
      return;
    }
    if (counts->routed || counts->delivered || counts->retried || counts->gave_up)
      spdlog::info("alerts: {} routed, {} delivered, {} to retry, {} given up", counts->routed,
                   counts->delivered, counts->retried, counts->gave_up);
  }

  Context& ctx_;
  ShiftedClock clock_;
  std::string exe_;
  std::map<std::string, watch::Schedule> schedules_;
  std::map<std::string, UnixSeconds> last_run_;
  std::optional<watch::Dispatcher> dispatcher_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
};

int Watch(Context& ctx, const WatchFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  ShiftedClock clock;
  if (!f.now.empty()) {
    auto t = ParseRfc3339(f.now);
    if (!t)
      return ctx.ReportError({ErrorCode::kInvalidArgument,
                              "--now '" + f.now + "' is not an RFC 3339 time"});
    clock.offset = *t - SystemClock().Now();
  }
  if (ctx.config.watch_jobs.empty() && !f.once)
    return ctx.ReportError({ErrorCode::kInvalidArgument,
                            "no [[watch.job]] in the config" +
                                (ctx.config.source.empty() ? std::string(" (no config file found)")
                                                           : " " + ctx.config.source) +
                                "; see docs/WATCH.md"});
  g_stop.store(false);
  std::signal(SIGTERM, OnWatchStop);
  std::signal(SIGINT, OnWatchStop);
  std::signal(SIGHUP, OnWatchReload);
  Watcher w(ctx, clock);
  if (auto s = w.Start(); !s) return ctx.ReportError(s.error());
  return w.Run(f.once);
}

}  // namespace

void RegisterWatchVerbs(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<WatchFlags>();
  auto* w = app.add_subcommand("watch", "Run the configured scans on their schedules, record "
                                        "changes and send alerts until stopped");
  w->add_flag("--once", f->once, "Run every job once, deliver alerts, and exit");
  w->add_option("--now", f->now, "Run as if the clock said this RFC 3339 time (testing)");
  w->callback([&ctx, f] { ctx.selected = [&ctx, f] { return Watch(ctx, *f); }; });
}

}  // namespace mica::cli
