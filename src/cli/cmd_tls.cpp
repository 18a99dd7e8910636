// `mica scan tls` and `mica inventory endpoints` (docs/CLI.md, docs/TLS.md).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/render.h"
#include "cli/verbs.h"
#include "core/time.h"
#include "discover/fs_scan.h"
#include "discover/tls_scan.h"

namespace mica::cli {

namespace {

using nlohmann::json;

std::atomic<bool> g_tls_interrupted{false};
void OnTlsInterrupt(int) { g_tls_interrupted.store(true); }

struct TlsFlags {
  // scan tls
  std::vector<std::string> targets, sni, excludes, exclude_files, target_files;
  std::string ports, connect_timeout = "3s", handshake_timeout = "5s", starttls = "auto", ca_file;
  int concurrency = 512, retries = 1, threads = 1;
  double rate = 0;
  bool probe_versions = false, quiet = false;
  OutputFlags out;
  // inventory endpoints
  bool failing = false;
  std::string expiring, issuer, protocol;
  int limit = 0;
  OutputFlags list_out;
};

// "done/total, rate, errors by class" on stderr while the scan runs, on a terminal only.
class TlsProgressLine {
 public:
  TlsProgressLine(discover::TlsScanProgress& p, bool enabled) : p_(p) {
    if (!enabled) return;
    thread_ = std::jthread([this](std::stop_token st) {
      auto start = std::chrono::steady_clock::now();
      while (!st.stop_requested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::string classes;
        {
          std::lock_guard lock(p_.mu);
          for (const auto& [k, v] : p_.failures) classes += fmt::format(" {} {}", k, v);
        }
        std::cerr << fmt::format("\r\033[K{}/{} endpoints  {:.0f}/s  ok {}  in flight {}{}",
                                 p_.done.load(), p_.total.load(),
                                 secs > 0 ? static_cast<double>(p_.done.load()) / secs : 0.0,
                                 p_.ok.load(), p_.in_flight.load(), classes)
                  << std::flush;
      }
      std::cerr << "\r\033[K" << std::flush;
    });
  }

 private:
  discover::TlsScanProgress& p_;
  std::jthread thread_;
};

json FactsJson(const store::EndpointFacts& f) {
  json j{{"address", f.address},
         {"ok", f.ok},
         {"failure_class", f.failure_class},
         {"error", f.error},
         {"starttls", f.starttls},
         {"protocol", f.protocol},
         {"cipher", f.cipher},
         {"alpn", f.alpn},
         {"ocsp_stapled", f.ocsp_stapled},
         {"name_matches", f.name_matches ? json(*f.name_matches) : json(nullptr)},
         {"verified", f.verified},
         {"verify_error", f.verify_error},
         {"handshake_ms", f.handshake_ms},
         {"chain_len", f.chain_len}};
  j["versions_accepted"] = f.versions_probed ? json(f.versions_accepted) : json(nullptr);
  return j;
}

std::string EndpointName(const store::Location& l) {
  std::string h = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
  return h + ":" + std::to_string(l.port);
}

int ScanTls(Context& ctx, TlsFlags& f) {
  discover::TargetOptions t;
  t.targets = f.targets;
  t.target_files = f.target_files;
  t.sni = f.sni;
  if (t.targets.empty() && t.target_files.empty())
    return ctx.ReportError({ErrorCode::kInvalidArgument,
                            "scan tls needs a TARGET (host, host:port, address or CIDR) or "
                            "--targets-file"});
  if (!f.ports.empty()) {
    auto p = discover::ParsePorts(f.ports);
    if (!p) return ctx.ReportError(p.error());
    t.ports = *p;
  }
  discover::ExcludeList exclude;
  for (const auto& e : f.excludes)
    if (auto s = exclude.Add(e); !s) return ctx.ReportError(s.error());
  for (const auto& file : f.exclude_files)
    if (auto s = exclude.AddFile(file); !s) return ctx.ReportError(s.error());
  discover::TlsScanOptions o;
  o.concurrency = f.concurrency;
  o.rate = f.rate;
  o.retries = f.retries;
  o.threads = f.threads;
  o.probe_versions = f.probe_versions;
  o.ca_file = f.ca_file;
  o.exclude = &exclude;
  auto st = discover::ParseStartTls(f.starttls);
  if (!st) return ctx.ReportError(st.error());
  o.starttls = *st;
  for (auto [text, out, flag] : {std::tuple{&f.connect_timeout, &o.connect_timeout_ms, "--connect-timeout"},
                                 std::tuple{&f.handshake_timeout, &o.handshake_timeout_ms,
                                            "--handshake-timeout"}}) {
    auto ms = ParseDurationMillis(*text);
    if (!ms || *ms <= 0)
      return ctx.ReportError({ErrorCode::kInvalidArgument,
                              std::string(flag) + " '" + *text + "' is not a positive duration like 3s or 500ms"});
    *out = *ms;
  }
  if (!o.ca_file.empty() && ::access(o.ca_file.c_str(), R_OK) != 0)
    return ctx.ReportError({ErrorCode::kNotFound, "--ca-file " + o.ca_file + " cannot be read"});
  auto stream = discover::TargetStream::Open(t, &exclude);
  if (!stream) return ctx.ReportError(stream.error());
  if (!ctx.Setup(true)) return ctx.exit_code;

  SystemClock clock;
  store::ScanStart start;
  start.kind = "tls";
  start.host = discover::LocalHostName();
  start.roots = f.targets;
  for (const auto& file : f.target_files) start.roots.push_back("@" + file);
  start.started_at = clock.Now();
  auto recording = ChangeRecordingFor(ctx, start);
  if (!recording) return ctx.ReportError(recording.error());
  auto scan_id = ctx.store->BeginScan(start);
  if (!scan_id) return ctx.ReportError(scan_id.error());

  g_tls_interrupted.store(false);
  auto previous = std::signal(SIGINT, OnTlsInterrupt);
  discover::TlsScanProgress progress;
  std::optional<TlsProgressLine> line;
  line.emplace(progress, !f.quiet && !f.out.json && ::isatty(STDERR_FILENO));
  auto stats = discover::ScanTls(
      **stream, o,
      [&](std::vector<store::Observation>&& obs, std::vector<store::ScanError>&& errs) {
        return ctx.store->Record(*scan_id, obs, errs, clock.Now());
      },
      &progress, &g_tls_interrupted);
  line.reset();
  std::signal(SIGINT, previous);
  if (!stats) {
    (void)ctx.store->FailScan(*scan_id, stats.error().message, clock.Now());
    return ctx.ReportError(stats.error());
  }
  if (g_tls_interrupted.load()) {
    (void)ctx.store->FailScan(*scan_id, "interrupted", clock.Now());
    std::cerr << "mica: scan interrupted; what was found is stored, nothing marked vanished\n";
    return 130;
  }
  store::ScanStats ss;
  ss.files_seen = static_cast<std::int64_t>(stats->endpoints);
  ss.candidates = static_cast<std::int64_t>(stats->ok);
  ss.identities = static_cast<std::int64_t>(stats->certificates);
  ss.errors = static_cast<std::int64_t>(stats->failed);
  if (auto s = ctx.store->FinishScan(*scan_id, ss, clock.Now(), recording->classify,
                                     recording->baseline);
      !s)
    return ctx.ReportError(s.error());
  json failures = json::object();
  for (const auto& [k, v] : progress.failures) failures[k] = v;
  if (f.out.json) {
    std::cout << json{{"scan_id", *scan_id},
                      {"endpoints", stats->endpoints},
                      {"ok", stats->ok},
                      {"failed", stats->failed},
                      {"certificates", stats->certificates},
                      {"excluded", (*stream)->excluded()},
                      {"failures", failures}}
                     .dump(2)
              << "\n";
  } else if (!f.quiet) {
    std::cout << fmt::format("scan #{}: {} endpoints, {} ok, {} failed, {} certificate sightings -> {}\n",
                             *scan_id, stats->endpoints, stats->ok, stats->failed,
                             stats->certificates, ctx.db_path);
    if (stats->failed)
      std::cout << "  failures: " << failures.dump() << "  (mica inventory endpoints --failing)\n";
  }
  return 0;
}

int InventoryEndpoints(Context& ctx, TlsFlags& f) {
  if (!ctx.Setup(true)) return ctx.exit_code;
  store::EndpointFilter filter;
  filter.failing = f.failing;
  filter.issuer_contains = f.issuer;
  filter.protocol = f.protocol;
  filter.limit = f.limit;
  SystemClock clock;
  if (!f.expiring.empty()) {
    auto secs = ParseDurationSeconds(f.expiring);
    if (!secs)
      return ctx.ReportError({ErrorCode::kInvalidArgument,
                              "--expiring-within '" + f.expiring + "': " + secs.error().message});
    filter.expiring_before = clock.Now() + *secs;
  }
  auto rows = ctx.store->ListEndpoints(filter);
  if (!rows) return ctx.ReportError(rows.error());
  if (f.list_out.json) {
    json arr = json::array();
    for (const auto& r : *rows) {
      json j{{"host", r.location.host},
             {"port", r.location.port},
             {"sni", r.location.sni},
             {"first_seen", FormatRfc3339(r.first_seen)},
             {"last_seen", FormatRfc3339(r.last_seen)},
             {"scan_id", r.scan_id},
             {"scanned_at", FormatRfc3339(r.scanned_at)},
             {"facts", FactsJson(r.facts)}};
      if (!r.leaf_fingerprint.empty())
        j["leaf"] = {{"fingerprint", r.leaf_fingerprint},
                     {"subject", r.leaf_subject},
                     {"issuer", r.leaf_issuer},
                     {"not_after", FormatRfc3339(r.leaf_not_after)}};
      arr.push_back(std::move(j));
    }
    std::cout << json{{"endpoints", arr}, {"count", rows->size()}}.dump(2) << "\n";
    return 0;
  }
  Table t;
  t.columns = {"endpoint", "sni", "status", "protocol", "cipher", "verified", "name", "leaf",
               "issuer", "not_after"};
  for (const auto& r : *rows) {
    const auto& x = r.facts;
    t.rows.push_back({EndpointName(r.location), r.location.sni, x.ok ? "ok" : x.failure_class,
                      x.protocol, x.cipher,
                      x.ok ? (x.verified ? "yes" : "no: " + x.verify_error) : "",
                      x.name_matches ? (*x.name_matches ? "match" : "mismatch") : "",
                      f.list_out.csv ? r.leaf_fingerprint : r.leaf_fingerprint.substr(0, 16),
                      r.leaf_issuer,
                      r.leaf_fingerprint.empty() ? ""
                      : f.list_out.csv           ? FormatRfc3339(r.leaf_not_after)
                                                 : ShortDate(r.leaf_not_after)});
  }
  if (f.list_out.csv) {
    PrintCsv(std::cout, t);
  } else {
    PrintTable(std::cout, t, 48);
    std::cout << rows->size() << " endpoints\n";
  }
  return 0;
}

}  // namespace

void RegisterTlsVerbs(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<TlsFlags>();
  CLI::App* scan = app.get_subcommand("scan");
  auto* tls = scan->add_subcommand("tls", "Scan TLS endpoints and record what each one presents");
  tls->add_option("target", f->targets,
                  "host, host:port, IPv4/IPv6 address ([v6]:port) or CIDR (repeatable)");
  tls->add_option("--ports", f->ports,
                  "Ports, e.g. 443,8443,9000-9010 (default: 443 465 636 853 990 993 995 5061 "
                  "6443 8443 9443 and the STARTTLS ports 21 25 110 143 389 587 5222 5432)");
  tls->add_option("--sni", f->sni, "Server name to send (repeatable: one scan per name)");
  tls->add_option("--targets-file", f->target_files, "File with one target per line");
  tls->add_option("--exclude", f->excludes, "CIDR or address never to contact (repeatable)");
  tls->add_option("--exclude-file", f->exclude_files, "File of CIDRs never to contact");
  tls->add_option("--concurrency", f->concurrency, "Connections in flight (512)")
      ->check(CLI::Range(1, 100000));
  tls->add_option("--rate", f->rate, "New connections per second (0: unlimited)")
      ->check(CLI::NonNegativeNumber);
  tls->add_option("--connect-timeout", f->connect_timeout, "TCP connect timeout (3s)");
  tls->add_option("--handshake-timeout", f->handshake_timeout,
                  "TLS handshake timeout, STARTTLS included (5s)");
  tls->add_option("--retries", f->retries, "Retries after a connect timeout or reset (1)")
      ->check(CLI::Range(0, 10));
  tls->add_option("--threads", f->threads, "Event loops (1; 0: one per core)")
      ->check(CLI::Range(0, 256));
  tls->add_option("--starttls", f->starttls,
                  "auto (by port), none, smtp, imap, pop3, ftp, ldap, xmpp, postgres");
  tls->add_flag("--probe-versions", f->probe_versions,
                "One more handshake per TLS 1.0/1.1/1.2/1.3: which are accepted");
  tls->add_option("--ca-file", f->ca_file, "Extra trust anchors (PEM) beside the system store");
  tls->add_flag("--quiet,-q", f->quiet, "No progress line and no result line");
  f->out.AddTo(tls);
  tls->callback([&ctx, f] { ctx.selected = [&ctx, f] { return ScanTls(ctx, *f); }; });

  CLI::App* inv = app.get_subcommand("inventory");
  auto* eps = inv->add_subcommand("endpoints", "List TLS endpoints with their latest scan facts");
  eps->add_flag("--failing", f->failing, "Only endpoints whose latest handshake failed");
  eps->add_option("--expiring-within", f->expiring, "e.g. 30d: the leaf expires within");
  eps->add_option("--issuer", f->issuer, "Leaf issuer contains this text (case-insensitive)");
  eps->add_option("--protocol", f->protocol, "Negotiated protocol, e.g. TLSv1.2");
  eps->add_option("--limit", f->limit, "At most this many rows")->check(CLI::NonNegativeNumber);
  f->list_out.AddTo(eps);
  eps->callback([&ctx, f] { ctx.selected = [&ctx, f] { return InventoryEndpoints(ctx, *f); }; });
}

}  // namespace mica::cli
