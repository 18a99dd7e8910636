#include "cli/commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "core/time.h"
#include "discover/fs_scan.h"
#include "cli/render.h"
#include "cli/verbs.h"
#include "x509/identity_json.h"

namespace mica::cli {

namespace {

using nlohmann::json;

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

std::string FirstNonEmpty(std::initializer_list<std::string> values) {
  for (const auto& v : values)
    if (!v.empty()) return v;
  return "";
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Reads one password per line; the buffer holding the file is wiped afterwards.
Result<std::vector<std::string>> ReadPasswords(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return Fail(ErrorCode::kNotFound, "PKCS#12 password file " + path + " cannot be read");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

// Live progress on stderr while a scan runs, only when stderr is a terminal.
class ProgressLine {
 public:
  ProgressLine(const discover::FsScanProgress& p, const std::vector<std::string>& roots,
               bool enabled)
      : p_(p), roots_(roots) {
    if (!enabled) return;
    thread_ = std::jthread([this](std::stop_token st) {
      auto start = std::chrono::steady_clock::now();
      while (!st.stop_requested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        int r = p_.current_root.load();
        std::string root = r >= 0 && r < static_cast<int>(roots_.size()) ? roots_[r] : "";
        std::cerr << fmt::format("\r\033[Kfiles {}  identities {}  errors {}  {:.0f} files/s  {}",
                                 p_.files_seen.load(), p_.identities.load(), p_.errors.load(),
                                 secs > 0 ? p_.files_seen.load() / secs : 0.0, root)
                  << std::flush;
      }
      std::cerr << "\r\033[K" << std::flush;
    });
  }

 private:
  const discover::FsScanProgress& p_;
  const std::vector<std::string>& roots_;
  std::jthread thread_;
};

}  // namespace

int Context::ReportError(const Error& e) {
  std::cerr << "mica: " << e.message << "\n";
  return ExitCodeFor(e.code);
}

void Commands::Register(CLI::App& app) {
  auto add_output = [this](CLI::App* sub) { out_.AddTo(sub); };

  // scan
  auto* scan = app.add_subcommand("scan", "Discover machine identities");
  scan->require_subcommand(1);
  auto* fs = scan->add_subcommand("fs", "Scan files and directories for certificates and keys");
  fs->add_option("path", scan_paths_,
                 "Files or directories (default: the configured roots, else the standard "
                 "locations: /etc/ssl /etc/pki /usr/local/share/ca-certificates /etc/ssh /root "
                 "/home /opt /srv /var/lib /etc)");
  fs->add_option("--exclude", scan_excludes_, "Glob of paths or names to skip (repeatable)");
  fs->add_option("--max-file-size", scan_max_size_,
                 "Candidate files larger than this are recorded as errors, not parsed (8MiB)");
  fs->add_flag("--cross-filesystems", scan_cross_fs_, "Descend into other mounted filesystems");
  fs->add_option("--threads", scan_threads_, "Worker threads (default: one per core)")
      ->check(CLI::Range(0, 256));
  fs->add_option("--pkcs12-passwords", scan_pkcs12_passwords_,
                 "File with passwords to try on PKCS#12 files, one per line");
  fs->add_flag("--quiet,-q", scan_quiet_, "No progress line and no result line");
  add_output(fs);
  fs->callback([this] { ctx_.selected = [this] { return ScanFs(); }; });

  // inventory
  auto* inv = app.add_subcommand("inventory", "Query the inventory");
  inv->require_subcommand(1);
  auto* list = inv->add_subcommand("list", "List identities");
  list->add_option("--kind", list_kind_,
                   "certificate, private_key, public_key, ssh_public_key, ssh_private_key, "
                   "ssh_certificate, keystore_entry");
  list->add_option("--expiring-within", list_expiring_, "e.g. 30d: not yet expired, expires within");
  list->add_flag("--expired", list_expired_, "Only expired certificates");
  list->add_option("--issuer", list_issuer_, "Issuer contains this text (case-insensitive)");
  list->add_option("--key-type", list_key_type_, "rsa, ec, ed25519, ed448, dsa");
  list->add_option("--location", list_location_, "Glob over file paths, e.g. '/etc/nginx/*'");
  list->add_flag("--self-signed", list_self_signed_, "Only self-signed certificates");
  list->add_flag("--ca", list_ca_, "Only CA certificates");
  list->add_option("--eku", list_eku_,
                   "server_auth, client_auth, code_signing (or code-signing), email_protection, "
                   "time_stamping, ocsp_signing, any");
  list->add_flag("--all", list_include_vanished_, "Include identities no longer seen anywhere");
  list->add_flag("--locations", list_with_locations_,
                 "Add where each identity is (JSON: every sighting; table: a 'where' column)");
  list->add_option("--limit", list_limit_, "At most this many rows")->check(CLI::NonNegativeNumber);
  add_output(list);
  list->callback([this] { ctx_.selected = [this] { return InventoryList(); }; });

  auto* scans = inv->add_subcommand("scans", "List scans, newest first");
  scans->add_option("--kind", scans_filter_.kind, "Only scans of this kind (fs, tls)");
  scans->add_option("--status", scans_filter_.status, "Only scans in this state")
      ->check(CLI::IsMember({"running", "complete", "failed"}));
  scans->add_option("--limit", scans_filter_.limit, "At most this many (default: all)")
      ->check(CLI::NonNegativeNumber);
  add_output(scans);
  scans->callback([this] { ctx_.selected = [this] { return InventoryScans(); }; });

  auto* errors = inv->add_subcommand("errors", "Errors recorded by a scan (default: the last)");
  errors->add_option("--scan", errors_scan_, "Scan id");
  add_output(errors);
  errors->callback([this] { ctx_.selected = [this] { return InventoryErrors(); }; });

  // show
  auto* show = app.add_subcommand("show", "Everything known about one identity");
  show->add_option("fingerprint", show_prefix_, "Fingerprint or a unique prefix of it")
      ->required();
  show->add_option("--kind", show_kind_,
                   "Pick one kind when a key's fingerprint is shared (private_key, public_key)");
  add_output(show);
  show->callback([this] { ctx_.selected = [this] { return Show(); }; });

  // summary
  auto* summary = app.add_subcommand("summary", "What a security engineer wants to see first");
  summary->add_option("--window", summary_window_, "Expiry warning window (default 30d)");
  add_output(summary);
  summary->callback([this] { ctx_.selected = [this] { return Summary(); }; });
}

bool Context::Setup(bool need_store) {
  std::string config_path = FirstNonEmpty({g.config, Env("MICA_CONFIG")});
  auto config = LoadConfig(config_path.empty() ? "mica.toml" : config_path, !config_path.empty());
  if (!config) {
    exit_code = ReportError(config.error());
    return false;
  }
  this->config = std::move(*config);
  std::string db = FirstNonEmpty({g.db, Env("MICA_DB"), this->config.db});
  if (!need_store) return true;
  auto store = store::Store::Open(db);
  if (!store) {
    exit_code = ReportError(store.error());
    return false;
  }
  this->store = std::move(*store);
  this->store->SetCheckpointInterval(this->config.audit_checkpoint_interval);
  db_path = db;
  return true;
}

std::vector<std::string> ScanRoots(const Context& ctx, const std::vector<std::string>& requested) {
  const std::vector<std::string>& roots = !requested.empty()              ? requested
                                          : !ctx.config.fs_roots.empty() ? ctx.config.fs_roots
                                                                         : discover::DefaultRoots();
  std::vector<std::string> out;
  for (const auto& r : roots) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(r, ec);
    std::string root = ec ? r : abs.lexically_normal().string();
    if (root.size() > 1 && root.back() == '/') root.pop_back();
    out.push_back(root);
  }
  return out;
}

int Commands::ScanFs() {
  if (!ctx_.Setup(true)) return ctx_.exit_code;
  discover::FsScanOptions opts;
  opts.roots = !scan_paths_.empty()       ? scan_paths_
               : !ctx_.config.fs_roots.empty() ? ctx_.config.fs_roots
                                           : discover::DefaultRoots();
  opts.excludes = ctx_.config.fs_exclude;
  opts.excludes.insert(opts.excludes.end(), scan_excludes_.begin(), scan_excludes_.end());
  // The inventory itself (and its WAL) is not an identity source.
  opts.max_file_size = ctx_.config.fs_max_file_size;
  if (!scan_max_size_.empty()) {
    auto s = ParseSize(scan_max_size_);
    if (!s) return ctx_.ReportError(Error{s.error().code, "--max-file-size: " + s.error().message});
    opts.max_file_size = *s;
  }
  opts.cross_filesystems = scan_cross_fs_ || ctx_.config.fs_cross_filesystems;
  opts.threads = scan_threads_ ? scan_threads_ : ctx_.config.fs_threads;
  std::string pw_file = FirstNonEmpty({scan_pkcs12_passwords_, ctx_.config.pkcs12_passwords_file});
  if (!pw_file.empty()) {
    auto pws = ReadPasswords(pw_file);
    if (!pws) return ctx_.ReportError(pws.error());
    opts.parse.pkcs12_passwords = std::move(*pws);
  }
  for (const auto& p : opts.roots) {
    if (p.empty()) return ctx_.ReportError(Error{ErrorCode::kInvalidArgument, "empty path given to scan fs"});
  }

  SystemClock clock;
  store::ScanStart start;
  start.kind = "fs";
  start.host = discover::LocalHostName();
  start.roots = ScanRoots(ctx_, scan_paths_);
  start.started_at = clock.Now();
  auto recording = ChangeRecordingFor(ctx_, start);
  if (!recording) return ctx_.ReportError(recording.error());
  auto scan_id = ctx_.store->BeginScan(start);
  if (!scan_id) return ctx_.ReportError(scan_id.error());

  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  discover::FsScanProgress progress;
  std::optional<ProgressLine> line;
  line.emplace(progress, start.roots, !scan_quiet_ && ::isatty(STDERR_FILENO));
  // Batches from the walker are gathered into larger transactions: every commit
  // rewrites the index pages it touched, so fewer, larger commits write far less.
  constexpr std::size_t kIdentitiesPerCommit = 8192;
  std::vector<store::Observation> pending_obs;
  std::vector<store::ScanError> pending_errs;
  std::size_t pending_ids = 0;
  auto flush = [&]() -> Status {
    if (pending_obs.empty() && pending_errs.empty()) return {};
    auto s = ctx_.store->Record(*scan_id, pending_obs, pending_errs, clock.Now());
    pending_obs.clear();
    pending_errs.clear();
    pending_ids = 0;
    return s;
  };
  auto stats = discover::ScanFilesystem(
      opts,
      [&](std::vector<store::Observation>&& obs, std::vector<store::ScanError>&& errs) -> Status {
        for (auto& o : obs) {
          pending_ids += o.identities.size();
          pending_obs.push_back(std::move(o));
        }
        for (auto& e : errs) pending_errs.push_back(std::move(e));
        if (pending_ids >= kIdentitiesPerCommit || pending_errs.size() >= kIdentitiesPerCommit)
          return flush();
        return {};
      },
      &progress, &g_interrupted);
  if (stats) {
    if (auto s = flush(); !s) stats = tl::unexpected(s.error());
  }
  line.reset();
  if (!stats) {
    (void)ctx_.store->FailScan(*scan_id, stats.error().message, clock.Now());
    return ctx_.ReportError(stats.error());
  }
  if (g_interrupted.load()) {
    // An interrupted walk saw only part of the tree: record what it found but do not
    // mark anything vanished.
    (void)ctx_.store->FailScan(*scan_id, "interrupted", clock.Now());
    std::cerr << "mica: scan interrupted; what was found is stored, nothing marked vanished\n";
    return 130;
  }
  if (auto s = ctx_.store->FinishScan(*scan_id, *stats, clock.Now(), recording->classify,
                                      recording->baseline);
      !s)
    return ctx_.ReportError(s.error());

  if (out_.json) {
    auto scans = ctx_.store->ListScans(store::ScanFilter::Latest(1));
    if (scans && !scans->empty()) std::cout << ScanJson(scans->front()).dump(2) << "\n";
  } else if (!scan_quiet_) {
    auto scans = ctx_.store->ListScans(store::ScanFilter::Latest(1));
    const std::int64_t events = scans && !scans->empty() ? scans->front().events : 0;
    std::cout << fmt::format(
        "scan #{}: {} files, {} candidates, {} identity sightings, {} errors, {} change events "
        "-> {}\n",
        *scan_id, stats->files_seen, stats->candidates, stats->identities, stats->errors, events,
        ctx_.db_path);
    if (stats->errors)
      std::cout << "  errors: mica inventory errors --scan " << *scan_id << "\n";
  }
  return 0;
}

int Commands::InventoryList() {
  if (!ctx_.Setup(true)) return ctx_.exit_code;
  SystemClock clock;
  store::IdentityFilter f;
  f.now = clock.Now();
  if (!list_kind_.empty()) {
    auto k = x509::KindFromName(list_kind_);
    if (!k)
      return ctx_.ReportError({ErrorCode::kInvalidArgument,
                          "--kind '" + list_kind_ +
                              "' is not a kind (certificate, private_key, public_key, "
                              "ssh_public_key, ssh_private_key, ssh_certificate, keystore_entry)"});
    f.kind = *k;
  }
  if (!list_expiring_.empty()) {
    auto d = ParseDurationSeconds(list_expiring_);
    if (!d) return ctx_.ReportError({d.error().code, "--expiring-within: " + d.error().message});
    f.expiring_before = f.now + *d;
  }
  if (list_expired_) f.expired_at = f.now;
  f.issuer_contains = list_issuer_;
  if (!list_key_type_.empty()) {
    static const std::map<std::string, x509::KeyType> kTypes = {
        {"rsa", x509::KeyType::kRsa},         {"ec", x509::KeyType::kEc},
        {"ecdsa", x509::KeyType::kEc},        {"ed25519", x509::KeyType::kEd25519},
        {"ed448", x509::KeyType::kEd448},     {"dsa", x509::KeyType::kDsa},
        {"x25519", x509::KeyType::kX25519},   {"x448", x509::KeyType::kX448}};
    auto it = kTypes.find(list_key_type_);
    if (it == kTypes.end())
      return ctx_.ReportError({ErrorCode::kInvalidArgument,
                          "--key-type '" + list_key_type_ + "' is not one of rsa, ec, ed25519, "
                          "ed448, dsa, x25519, x448"});
    f.key_type = it->second;
  }
  f.location_glob = list_location_;
  if (list_self_signed_) f.self_signed = true;
  if (list_ca_) f.is_ca = true;
  f.eku = list_eku_;
  for (auto& c : f.eku)
    if (c == '-') c = '_';
  f.include_vanished = list_include_vanished_;
  f.limit = list_limit_;
  auto rows = ctx_.store->ListIdentities(f);
  if (!rows) return ctx_.ReportError(rows.error());

  // Present sightings of one identity, fetched only when --locations asks for them.
  auto sightings_of = [&](const store::IdentityRow& r) -> Result<std::vector<store::SightingRow>> {
    auto sg = ctx_.store->Sightings(r.id);
    if (!sg) return sg;
    std::erase_if(*sg, [&](const store::SightingRow& x) { return !x.present && !f.include_vanished; });
    return sg;
  };
  if (out_.json) {
    json arr = json::array();
    for (const auto& r : *rows) {
      json j = RowJson(r);
      if (list_with_locations_) {
        auto sg = sightings_of(r);
        if (!sg) return ctx_.ReportError(sg.error());
        json locs = json::array();
        for (const auto& x : *sg) locs.push_back(SightingJson(x));
        j["sightings"] = std::move(locs);
      }
      arr.push_back(std::move(j));
    }
    std::cout << json{{"identities", arr}, {"count", rows->size()}}.dump(2) << "\n";
    return 0;
  }
  Table t;
  t.columns = {"fingerprint", "kind", "name", "issuer", "key", "not_after", "locations"};
  if (list_with_locations_) t.columns.push_back("where");
  for (const auto& r : *rows) {
    const auto& id = r.identity;
    std::string not_after = id.cert ? FormatRfc3339(id.cert->not_after)
                            : id.ssh && id.kind == x509::Kind::kSshCertificate
                                ? FormatRfc3339(id.ssh->valid_before)
                                : "";
    t.rows.push_back({out_.csv ? id.fingerprint : id.fingerprint.substr(0, 16),
                      x509::KindName(id.kind), Label(id), IssuerLabel(id), KeyLabel(id.key),
                      out_.csv ? not_after : not_after.substr(0, 10), std::to_string(r.locations)});
    if (list_with_locations_) {
      auto sg = sightings_of(r);
      if (!sg) return ctx_.ReportError(sg.error());
      t.rows.back().push_back(sg->empty() ? "" : Where(sg->front()));
    }
  }
  if (out_.csv) {
    PrintCsv(std::cout, t);
  } else {
    PrintTable(std::cout, t);
    std::cout << rows->size() << " identities\n";
  }
  return 0;
}

int Commands::InventoryScans() {
  if (!ctx_.Setup(true)) return ctx_.exit_code;
  auto scans = ctx_.store->ListScans(scans_filter_);
  if (!scans) return ctx_.ReportError(scans.error());
  if (out_.json) {
    json arr = json::array();
    for (const auto& s : *scans) arr.push_back(ScanJson(s));
    std::cout << json{{"scans", arr}}.dump(2) << "\n";
    return 0;
  }
  Table t;
  t.columns = {"id", "kind", "status", "started_at", "files", "candidates", "identities", "errors",
               "roots"};
  for (const auto& s : *scans)
    t.rows.push_back({std::to_string(s.id), s.start.kind, s.status,
                      FormatRfc3339(s.start.started_at), std::to_string(s.stats.files_seen),
                      std::to_string(s.stats.candidates), std::to_string(s.stats.identities),
                      std::to_string(s.stats.errors), Join(s.start.roots, " ")});
  out_.csv ? PrintCsv(std::cout, t) : PrintTable(std::cout, t, 80);
  return 0;
}

int Commands::InventoryErrors() {
  if (!ctx_.Setup(true)) return ctx_.exit_code;
  std::int64_t id = errors_scan_;
  if (id == 0) {
    auto scans = ctx_.store->ListScans(store::ScanFilter::Latest(1));
    if (!scans) return ctx_.ReportError(scans.error());
    if (scans->empty()) return ctx_.ReportError({ErrorCode::kNotFound, "no scan yet: run mica scan fs"});
    id = scans->front().id;
  }
  auto errs = ctx_.store->ScanErrors(id);
  if (!errs) return ctx_.ReportError(errs.error());
  if (out_.json) {
    json arr = json::array();
    for (const auto& e : *errs) arr.push_back({{"where", e.where}, {"reason", e.reason}});
    std::cout << json{{"scan_id", id}, {"errors", arr}}.dump(2) << "\n";
    return 0;
  }
  Table t;
  t.columns = {"where", "reason"};
  for (const auto& e : *errs) t.rows.push_back({e.where, e.reason});
  out_.csv ? PrintCsv(std::cout, t) : PrintTable(std::cout, t, 100);
  return 0;
}

int Commands::Show() {
  if (!ctx_.Setup(true)) return ctx_.exit_code;
  auto rows = ctx_.store->FindByFingerprint(show_prefix_);
  if (!rows) return ctx_.ReportError(rows.error());
  if (!show_kind_.empty()) {
    auto k = x509::KindFromName(show_kind_);
    if (!k) return ctx_.ReportError({ErrorCode::kInvalidArgument, "--kind '" + show_kind_ + "' is not a kind"});
    std::erase_if(*rows, [&](const store::IdentityRow& r) { return r.identity.kind != *k; });
  }
  if (rows->empty())
    return ctx_.ReportError({ErrorCode::kNotFound, "no identity has a fingerprint starting with '" +
                                                  show_prefix_ +
                                                  "' (list them with mica inventory list)"});
  if (rows->size() > 1) {
    std::cerr << "mica: '" << show_prefix_ << "' matches " << rows->size()
              << " identities; give more of the fingerprint, or --kind:\n";
    for (const auto& r : *rows)
      std::cerr << "  " << r.identity.fingerprint << "  " << x509::KindName(r.identity.kind) << "  "
                << Label(r.identity) << "\n";
    return 2;
  }
  const auto& row = rows->front();
  auto sightings = ctx_.store->Sightings(row.id);
  if (!sightings) return ctx_.ReportError(sightings.error());
  std::vector<store::IdentityRow> related;
  if (!row.identity.key.spki_sha256.empty()) {
    auto r = ctx_.store->FindBySpki(row.identity.key.spki_sha256);
    if (!r) return ctx_.ReportError(r.error());
    for (auto& x : *r)
      if (x.id != row.id) related.push_back(std::move(x));
  }
  if (out_.json || out_.csv) {
    json j = RowJson(row);
    json locs = json::array();
    for (const auto& s : *sightings) locs.push_back(SightingJson(s));
    j["sightings"] = locs;
    json rel = json::array();
    for (const auto& r : related)
      rel.push_back({{"fingerprint", r.identity.fingerprint}, {"kind", x509::KindName(r.identity.kind)}});
    j["same_key"] = rel;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const auto& id = row.identity;
  auto kv = [](const std::string& k, const std::string& v) {
    if (!v.empty()) std::cout << fmt::format("  {:<22}{}\n", k, v);
  };
  std::cout << x509::KindName(id.kind) << " " << id.fingerprint << "\n";
  kv("key", KeyLabel(id.key) + (id.key.bits ? " (" + std::to_string(id.key.bits) + " bits)" : ""));
  kv("spki_sha256", id.key.spki_sha256);
  if (const auto& c = id.cert) {
    kv("subject", c->subject);
    kv("issuer", c->issuer);
    kv("serial", c->serial_hex);
    kv("not_before", FormatRfc3339(c->not_before));
    kv("not_after", FormatRfc3339(c->not_after));
    kv("san_dns", Join(c->san_dns, ", "));
    kv("san_ip", Join(c->san_ip, ", "));
    kv("san_email", Join(c->san_email, ", "));
    kv("san_uri", Join(c->san_uri, ", "));
    kv("signature", c->signature_algorithm);
    kv("key_usage", Join(x509::KeyUsageNames(c->key_usage), ", "));
    kv("extended_key_usage", Join(c->eku, ", "));
    if (c->has_basic_constraints)
      kv("basic_constraints", std::string(c->is_ca ? "CA" : "not CA") +
                                  (c->path_len >= 0 ? ", path length " + std::to_string(c->path_len) : ""));
    kv("subject_key_id", c->ski_hex);
    kv("authority_key_id", c->aki_hex);
    kv("ocsp", Join(c->ocsp_urls, ", "));
    kv("ca_issuers", Join(c->ca_issuer_urls, ", "));
    kv("crl", Join(c->crl_urls, ", "));
    kv("embedded_scts", c->sct_count ? std::to_string(c->sct_count) : "");
    kv("policies", Join(c->policy_oids, ", "));
    kv("self_signed", c->self_signed ? "yes" : c->self_issued ? "self-issued, signature not valid" : "");
    kv("sha1", c->sha1_hex);
  }
  if (const auto& p = id.private_key) {
    kv("format", p->format);
    kv("encrypted", p->encrypted ? "yes (" + p->cipher + ")" : "NO");
  }
  if (const auto& s = id.ssh) {
    kv("algorithm", s->algorithm);
    kv("comment", s->comment);
    kv("options", s->options);
    if (id.kind == x509::Kind::kSshCertificate) {
      kv("cert_type", s->cert_type);
      kv("key_id", s->key_id);
      kv("serial", std::to_string(s->serial));
      kv("principals", Join(s->principals, ", "));
      kv("valid_after", FormatRfc3339(s->valid_after));
      kv("valid_before", FormatRfc3339(s->valid_before));
      kv("signing_ca", s->ca_fingerprint);
      kv("critical_options", Join(s->critical_options, ", "));
      kv("extensions", Join(s->extensions, ", "));
    }
  }
  kv("first_seen", FormatRfc3339(row.first_seen));
  kv("last_seen", FormatRfc3339(row.last_seen));
  std::cout << "\nlocations (history)\n";
  Table t;
  t.columns = {"where", "position", "mode", "owner", "first_seen", "last_seen", "state"};
  for (const auto& s : *sightings)
    t.rows.push_back({Where(s), s.position, s.file ? Mode(s.file->mode) : "",
                      s.file ? s.file->owner + ":" + s.file->group : "", FormatRfc3339(s.first_seen),
                      FormatRfc3339(s.last_seen),
                      s.present ? "present" : "gone since " + FormatRfc3339(s.vanished_at)});
  PrintTable(std::cout, t, 90);
  if (!related.empty()) {
    std::cout << "\nsame key pair (SPKI SHA-256)\n";
    for (const auto& r : related)
      std::cout << "  " << x509::KindName(r.identity.kind) << " " << r.identity.fingerprint << "  "
                << Label(r.identity) << "\n";
  }
  return 0;
}

int Commands::Summary() {
  if (!ctx_.Setup(true)) return ctx_.exit_code;
  std::int64_t window = ctx_.config.expiry_window;
  if (!summary_window_.empty()) {
    auto d = ParseDurationSeconds(summary_window_);
    if (!d) return ctx_.ReportError({d.error().code, "--window: " + d.error().message});
    window = *d;
  }
  SystemClock clock;
  const UnixSeconds now = clock.Now();
  auto s = ctx_.store->Summarize(now, window);
  if (!s) return ctx_.ReportError(s.error());

  // The first location of each listed identity, for tables and JSON.
  auto first_where = [&](const store::IdentityRow& r) -> std::string {
    auto sg = ctx_.store->Sightings(r.id);
    if (!sg) return "";
    for (const auto& x : *sg)
      if (x.present) return Where(x) + (x.position.empty() ? "" : " [" + x.position + "]");
    return "";
  };
  auto counts_json = [](const std::vector<store::Count>& v) {
    json o = json::object();
    for (const auto& c : v) o[c.key] = c.count;
    return o;
  };
  if (out_.json) {
    json j;
    j["generated_at"] = FormatRfc3339(now);
    j["expiry_window_seconds"] = window;
    j["identities"] = s->identities;
    j["locations"] = s->locations;
    j["by_kind"] = counts_json(s->by_kind);
    j["by_issuer"] = counts_json(s->by_issuer);
    j["by_key_type"] = counts_json(s->by_key_type);
    auto list = [&](const std::vector<store::IdentityRow>& rows) {
      json arr = json::array();
      for (const auto& r : rows) {
        json e = RowJson(r);
        e["where"] = first_where(r);
        arr.push_back(std::move(e));
      }
      return arr;
    };
    j["expiring"] = list(s->expiring);
    j["expired"] = list(s->expired);
    json exposed = json::array();
    for (const auto& x : s->exposed_keys) exposed.push_back(SightingJson(x));
    j["exposed_private_keys"] = exposed;
    j["private_keys_without_certificate"] = list(s->orphan_keys);
    j["code_signing_certificates"] = list(s->code_signing);
    j["totals"] = {{"expired", s->expired_total},
                   {"expiring", s->expiring_total},
                   {"exposed_private_keys", s->exposed_total},
                   {"private_keys_without_certificate", s->orphan_total},
                   {"code_signing_certificates", s->code_signing_total}};
    if (s->last_scan) j["last_scan"] = ScanJson(*s->last_scan);
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  constexpr std::size_t kShow = 15;
  auto section = [&](const std::string& title, std::int64_t n) {
    std::cout << "\n== " << title << " (" << n << ")\n";
  };
  auto more = [&](std::int64_t n, const std::string& cmd) {
    if (n > static_cast<std::int64_t>(kShow))
      std::cout << "  ... and " << (n - static_cast<std::int64_t>(kShow)) << " more: " << cmd << "\n";
  };
  auto ident_table = [&](const std::vector<store::IdentityRow>& rows) {
    Table t;
    t.columns = {"not_after", "name", "issuer", "key", "where", "fingerprint"};
    for (std::size_t i = 0; i < rows.size() && i < kShow; ++i) {
      const auto& id = rows[i].identity;
      t.rows.push_back({id.cert ? ShortDate(id.cert->not_after) : "", Label(id), IssuerLabel(id),
                        KeyLabel(id.key), first_where(rows[i]), id.fingerprint.substr(0, 16)});
    }
    if (!t.rows.empty()) PrintTable(std::cout, t, 50);
  };
  auto counts = [&](const std::vector<store::Count>& v, std::size_t max) {
    for (std::size_t i = 0; i < v.size() && i < max; ++i)
      std::cout << fmt::format("  {:>8}  {}\n", v[i].count, v[i].key);
  };

  std::cout << fmt::format("mica summary of {}: {} identities at {} locations, {}\n", ctx_.db_path,
                           s->identities, s->locations, FormatRfc3339(now));
  if (s->last_scan) {
    const auto& l = *s->last_scan;
    std::cout << fmt::format("last scan #{} ({}, {}): {} files, {} candidates, {} errors\n", l.id,
                             l.start.kind, l.status, l.stats.files_seen, l.stats.candidates,
                             l.stats.errors);
  }
  std::cout << "\n== By kind\n";
  counts(s->by_kind, 20);
  std::cout << "\n== By key type\n";
  counts(s->by_key_type, 20);
  std::cout << "\n== By issuer (top 10)\n";
  counts(s->by_issuer, 10);

  section("EXPIRED certificates", s->expired_total);
  ident_table(s->expired);
  more(s->expired_total, "mica inventory list --expired");
  section("Expiring within " + std::to_string(window / 86400) + " days", s->expiring_total);
  ident_table(s->expiring);
  more(s->expiring_total, "mica inventory list --expiring-within " +
                               std::to_string(window / 86400) + "d");

  section("Private keys unencrypted or readable by others", s->exposed_total);
  {
    Table t;
    t.columns = {"where", "mode", "owner", "why"};
    for (std::size_t i = 0; i < s->exposed_keys.size() && i < kShow; ++i) {
      const auto& x = s->exposed_keys[i];
      std::string why;
      if (x.file && (x.file->mode & 0044)) why = "readable by group/others";
      t.rows.push_back({Where(x) + (x.position.empty() ? "" : " [" + x.position + "]"),
                        x.file ? Mode(x.file->mode) : "", x.file ? x.file->owner : "",
                        why.empty() ? "unencrypted" : why});
    }
    if (!t.rows.empty()) PrintTable(std::cout, t, 70);
    more(s->exposed_total, "mica summary --json");
  }
  section("Private keys with no certificate", s->orphan_total);
  ident_table(s->orphan_keys);
  more(s->orphan_total, "mica inventory list --kind private_key");
  section("Code-signing certificates", s->code_signing_total);
  ident_table(s->code_signing);
  more(s->code_signing_total, "mica inventory list --eku code_signing --locations");
  return 0;
}

}  // namespace mica::cli
