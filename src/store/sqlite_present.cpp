// SqliteStore::ForEachPresentIdentity: the whole present inventory, one identity at a time.
//
// Speed (docs/PERFORMANCE.md, "Policy"): `policy check` over 100,000 certificates spent
// most of its time materialising ListIdentities (three correlated subqueries per row, a
// sort that carried every DER blob, 100k decoded Identity values alive at once). This
// reads identity rows in rowid order joined to their present sightings, which SQLite
// serves without a sort, decodes each identity once (on a helper thread, a few batches
// ahead) and hands it over; nothing but the batches in flight is held.
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "store/internal/sqlite_store.h"
#include "x509/certificate.h"
#include "x509/identity_json.h"

namespace mica::store::internal {

namespace {

// Forced join order (CROSS JOIN): identities in rowid order, so the rows of one identity
// are adjacent and ORDER BY i.id costs no sort; its sightings come from the UNIQUE
// (identity_id, location_id, position) index. Vanished sightings are not joined, so an
// identity present nowhere yields no row.
constexpr const char* kPresentSql =
    "SELECT i.id, i.kind, i.details, i.der, l.kind, l.host, l.path, l.port, l.sni, l.mode, "
    "l.uid, l.gid, l.owner, l.group_name, l.size, l.mtime, s.position, s.first_seen, "
    "s.last_seen, s.first_scan_id, s.last_scan_id "
    "FROM identity i CROSS JOIN sighting s ON s.identity_id = i.id AND s.present = 1 "
    "CROSS JOIN location l ON l.id = s.location_id ORDER BY i.id";

// One identity as read from the database, decoded by the Decoder.
struct Pending {
  PresentIdentity present;  // identity set once decoded
  bool from_der = false;    // a certificate kept as its DER alone (UpsertIdentity)
  Bytes der;
  std::string details;  // the JSON of every other identity
  std::optional<Error> error;
};
using Batch = std::vector<Pending>;

void Decode(Pending& p) {
  auto& rows = p.present.sightings;
  // The rows came by (location_id, position) from the index: a stable sort by path
  // leaves equal paths (other hosts) in location order.
  std::stable_sort(rows.begin(), rows.end(), [](const SightingRow& a, const SightingRow& b) {
    return std::tie(a.location.path, a.position) < std::tie(b.location.path, b.position);
  });
  Result<x509::Identity> identity;
  if (p.from_der) {
    identity = x509::DecodeCertificate(p.der);
    if (identity) identity->position = rows.front().position;
  } else {
    identity = x509::IdentityFromJson(
        nlohmann::json::parse(p.details, nullptr, /*allow_exceptions=*/false));
    if (identity) identity->der = std::move(p.der);
  }
  if (!identity) {
    p.error = Error{ErrorCode::kInput, "identity " + std::to_string(p.present.id) +
                                           " cannot be read back: " + identity.error().message};
    return;
  }
  p.present.identity = std::move(*identity);
  p.der = Bytes();
  p.details = std::string();
}

// Decodes batches of identities on a helper thread, in order, while the caller reads the
// next rows and visits the decoded ones: decoding is most of the work of a stream, and
// SQLite cannot share it (the connection belongs to the caller). At most kMaxInFlight
// batches are read ahead.
class Decoder {
 public:
  static constexpr std::size_t kBatch = 256, kMaxInFlight = 4;

  Decoder() : thread_([this] { Loop(); }) {}
  ~Decoder() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  std::size_t InFlight() {
    std::lock_guard lock(mu_);
    return in_flight_;
  }
  void Push(Batch batch) {
    {
      std::lock_guard lock(mu_);
      todo_.push_back(std::move(batch));
      ++in_flight_;
    }
    cv_.notify_all();
  }
  // The next decoded batch: waits for it when `wait`; nothing when none is ready (or,
  // waiting, when none is in flight).
  std::optional<Batch> Pop(bool wait) {
    std::unique_lock lock(mu_);
    if (wait) cv_.wait(lock, [&] { return !done_.empty() || in_flight_ == 0; });
    if (done_.empty()) return std::nullopt;
    Batch b = std::move(done_.front());
    done_.pop_front();
    --in_flight_;
    return b;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return closed_ || !todo_.empty(); });
      if (closed_) return;
      Batch b = std::move(todo_.front());
      todo_.pop_front();
      lock.unlock();
      for (Pending& p : b) Decode(p);
      lock.lock();
      done_.push_back(std::move(b));
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> todo_, done_;
  std::size_t in_flight_ = 0;  // pushed and not yet popped
  bool closed_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// The sighting columns (4 ..) of the current row into a fresh row (present: true).
void ReadPresentSighting(const Statement& s, std::int64_t identity_id, SightingRow& row) {
  row.identity_id = identity_id;
  ReadSightingPlace(s, 4, row);
  row.first_scan_id = s.OptionalInt(19).value_or(0);
  row.last_scan_id = s.OptionalInt(20).value_or(0);
}

}  // namespace

Status SqliteStore::ForEachPresentIdentity(const std::function<void(PresentIdentity&)>& visit) {
  auto stmt = db_.Prepare(kPresentSql);
  if (!stmt) return Failed(stmt.error());
  Decoder decoder;
  auto deliver = [&](Batch& batch) -> Status {
    for (Pending& p : batch) {
      if (p.error) return Failed(*p.error);
      visit(p.present);
    }
    return {};
  };
  Batch batch;
  batch.reserve(Decoder::kBatch);
  auto push = [&]() -> Status {
    while (decoder.InFlight() >= Decoder::kMaxInFlight) {
      auto done = decoder.Pop(/*wait=*/true);
      if (auto s = deliver(*done); !s) return s;
    }
    decoder.Push(std::move(batch));
    batch = Batch();
    batch.reserve(Decoder::kBatch);
    while (auto done = decoder.Pop(/*wait=*/false))
      if (auto s = deliver(*done); !s) return s;
    return {};
  };
  for (;;) {
    auto more = stmt->Step();
    if (!more) return Failed(more.error());
    if (!*more) break;
    const std::int64_t id = stmt->Int(0);
    if (batch.empty() || batch.back().present.id != id) {
      if (batch.size() == Decoder::kBatch)
        if (auto s = push(); !s) return s;
      Pending& p = batch.emplace_back();
      p.present.id = id;
      p.from_der = stmt->IsNull(2) && stmt->Text(1) == "certificate";
      if (!p.from_der) p.details = stmt->Text(2);
      p.der = stmt->Blob(3);
    }
    ReadPresentSighting(*stmt, id, batch.back().present.sightings.emplace_back());
  }
  if (!batch.empty())
    if (auto s = push(); !s) return s;
  while (auto done = decoder.Pop(/*wait=*/true))
    if (auto s = deliver(*done); !s) return s;
  return {};
}

}  // namespace mica::store::internal
