// Change detection and audit-log figures for docs/PERFORMANCE.md ("Change detection and
// the audit log"), driven by bench/run_watch.sh:
//
//   bench_watch diff DB N PERCENT [same-issuer]
//                                   two filesystem scans of N files; the second replaces
//                                   PERCENT% of the certificates, by another issuer (an
//                                   issuer_changed event each) or, with same-issuer, as
//                                   a renewal (an identity_replaced event each). Times
//                                   FinishScan of the second scan (change set + events +
//                                   audit appends).
//   bench_watch append DB N BATCH   appends N events, BATCH per transaction, with an
//                                   Ed25519-signed checkpoint every 1,000 entries.
//   bench_watch verify DB KEY       `audit verify` of the log in DB (made by append).
//
// Generation is not timed; each result is one line "name value unit".
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "identities.h"
#include "store/store.h"
#include "watch/audit.h"
#include "watch/changes.h"
#include "x509/signing.h"

namespace {

using mica::UnixSeconds;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int Die(const std::string& what) {
  std::fprintf(stderr, "bench_watch: %s\n", what.c_str());
  return 1;
}

// One fs scan of N files /srv/f<i>.pem; file i holds certificate "<generation>-<i>"
// unless it is among the first `changed` files, which hold generation+1.
int Scan(mica::store::Store& store, int n, int changed, int generation, UnixSeconds at,
         bool same_issuer, double* finish_seconds, std::int64_t* events) {
  mica::store::ScanStart start{"fs", "h1", {"/srv"}, at};  // File() records host h1
  auto known = store.HasCompleteScan(start);
  if (!known) return Die(known.error().message);
  const bool baseline = !*known;
  auto id = store.BeginScan(start);
  if (!id) return Die(id.error().message);
  std::vector<mica::store::Observation> batch;
  for (int i = 0; i < n; ++i) {
    const int gen = i < changed ? generation + 1 : generation;
    char fp[64];
    std::snprintf(fp, sizeof fp, "%016x%016x", gen, i);
    char issuer[32];
    std::snprintf(issuer, sizeof issuer, "CA %d", same_issuer ? 0 : gen % 2);
    batch.push_back(mica::testing::File("/srv/f" + std::to_string(i) + ".pem",
                                        {mica::testing::Cert(fp, issuer, at + 90 * 86400)}));
    if (batch.size() == 8192 || i + 1 == n) {
      if (auto s = store.Record(*id, batch, {}, at); !s) return Die(s.error().message);
      batch.clear();
    }
  }
  const auto t0 = Clock::now();
  // As `mica scan` records changes: a quiet baseline is one summary event, anything
  // later one event per change.
  const auto recording = mica::watch::MakeChangeRecording({}, baseline);
  auto done = store.FinishScan(*id, {}, at + 1, recording.classify, recording.baseline);
  *finish_seconds = Seconds(t0);
  if (!done) return Die(done.error().message);
  auto rows = store.ListScans(mica::store::ScanFilter::Latest(1));
  *events = rows && !rows->empty() ? rows->front().events : -1;
  return 0;
}

int Diff(const std::string& db, int n, int percent, bool same_issuer) {
  auto store = mica::store::Store::Open(db);
  if (!store) return Die(store.error().message);
  double first = 0, second = 0;
  std::int64_t e1 = 0, e2 = 0;
  const UnixSeconds t = 1'800'000'000;
  if (int rc = Scan(**store, n, 0, 0, t, same_issuer, &first, &e1)) return rc;
  if (int rc = Scan(**store, n, n * percent / 100, 0, t + 3600, same_issuer, &second, &e2))
    return rc;
  std::printf("baseline_finish_seconds %.3f s\nbaseline_events %lld events\n", first,
              static_cast<long long>(e1));
  std::printf("diff_locations %d locations\ndiff_changed_percent %d %%\ndiff_same_issuer %d\n", n,
              percent, same_issuer ? 1 : 0);
  std::printf("diff_seconds %.3f s\ndiff_events %lld events\ndiff_events_per_second %.0f events/s\n",
              second, static_cast<long long>(e2), static_cast<double>(e2) / second);
  std::printf("diff_locations_per_second %.0f locations/s\n", n / second);
  return 0;
}

std::vector<mica::store::Event> Events(int n, int first) {
  std::vector<mica::store::Event> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    mica::store::Event e;
    e.at = 1'800'000'000 + first + i;
    e.type = "identity_added";
    e.severity = "info";
    e.location = "/srv/f" + std::to_string(first + i) + ".pem";
    e.after = std::to_string(first + i) + "0000000000000000000000000000000000000000000000000000000";
    e.subject = "CN=host" + std::to_string(first + i) + ".example.com";
    e.detail = "certificate at a new location (pem:1)";
    out.push_back(std::move(e));
  }
  return out;
}

int Append(const std::string& db, int n, int batch, const std::string& key_path) {
  auto store = mica::store::Store::Open(db);
  if (!store) return Die(store.error().message);
  auto key = mica::x509::SigningKey::Load(key_path);
  if (!key) return Die(key.error().message);
  (*store)->SetCheckpointInterval(1000);
  double appending = 0, signing = 0;
  int signatures = 0;
  for (int done = 0; done < n; done += batch) {
    auto events = Events(std::min(batch, n - done), done);
    const auto t0 = Clock::now();
    auto ids = (*store)->AppendEvents(events);
    appending += Seconds(t0);
    if (!ids) return Die(ids.error().message);
    // Sign the checkpoints as they appear (every 1,000 entries), as `mica watch` does.
    if ((done + batch) / 1000 != done / 1000 || done + batch >= n) {
      const auto t1 = Clock::now();
      auto pending = (*store)->ListCheckpoints(true);
      if (!pending) return Die(pending.error().message);
      for (const auto& c : *pending) {
        auto sig = key->Sign(mica::AsBytes(mica::watch::CheckpointText(c.size, c.root)));
        if (!sig) return Die(sig.error().message);
        if (auto s = (*store)->SignCheckpoint(c.size, key->key_id(), key->algorithm(), *sig); !s)
          return Die(s.error().message);
        ++signatures;
      }
      signing += Seconds(t1);
    }
  }
  std::printf("append_events %d events\nappend_batch %d events/transaction\n", n, batch);
  std::printf("append_seconds %.3f s\nappend_signing_seconds %.3f s\nappend_signatures %d\n",
              appending, signing, signatures);
  std::printf("append_per_second %.0f entries/s\n", n / (appending + signing));
  return 0;
}

int Verify(const std::string& db, const std::string& key_path) {
  auto store = mica::store::Store::Open(db);
  if (!store) return Die(store.error().message);
  auto key = mica::x509::SigningKey::Load(key_path);
  if (!key) return Die(key.error().message);
  const auto t0 = Clock::now();
  auto r = mica::watch::VerifyAudit(**store, key->public_spki());
  const double s = Seconds(t0);
  if (!r) return Die(r.error().message);
  std::printf("verify_entries %lld entries\nverify_ok %d\nverify_signatures %lld\n",
              static_cast<long long>(r->entries), r->ok ? 1 : 0,
              static_cast<long long>(r->signatures_verified));
  std::printf("verify_seconds %.3f s\nverify_per_second %.0f entries/s\n", s, r->entries / s);
  return r->ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if ((a.size() == 4 || (a.size() == 5 && a[4] == "same-issuer")) && a[0] == "diff")
    return Diff(a[1], std::atoi(a[2].c_str()), std::atoi(a[3].c_str()), a.size() == 5);
  if (a.size() == 5 && a[0] == "append")
    return Append(a[1], std::atoi(a[2].c_str()), std::atoi(a[3].c_str()), a[4]);
  if (a.size() == 3 && a[0] == "verify") return Verify(a[1], a[2]);
  std::fprintf(stderr,
               "usage: bench_watch diff DB N PERCENT [same-issuer] | append DB N BATCH KEY | "
               "verify DB KEY\n");
  return 2;
}
