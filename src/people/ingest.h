// Streaming ingest of access events (docs/PEOPLE.md "Ingest").
//
// The Ingestor enriches each event with the IP intelligence, folds it into compact
// per-person aggregates (hour and country counts, links to IPs / devices / MFA devices /
// identities, sessions) and runs the detectors that need consecutive events
// (impossible travel, anonymiser access, an identity used from a device or country it
// was never seen on). Every `batch_size` events it writes the events and the aggregate
// deltas to the store in one transaction, so memory stays bounded by the batch and by the
// number of distinct keys, never by the number of events. Events are parsed into a small
// chunk of reused slots and handed to the store's open transaction chunk by chunk, so
// the strings of an event are allocated once per slot, not once per event.
//
// Events of one person should arrive in time order (as logs do); an event older than
// the person's last one is stored and counted but not used for travel.
//
// Not thread-safe; one Ingestor per store. Between Begin and Finish a writer thread owns
// the store (it writes chunks of events and the aggregate batches in order, while the
// calling thread parses the next lines): do not use the store yourself in between.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "people/events.h"
#include "people/intel.h"
#include "people/risk.h"
#include "store/people.h"

namespace mica::people {

struct IngestStats {
  std::int64_t lines = 0, events = 0, skipped = 0, errors = 0;
  std::vector<std::string> error_samples;  // "file:line: reason", the first 20
};

class Ingestor {
 public:
  // `intel` may be null (no enrichment: no anonymiser or travel signals).
  Ingestor(store::PeopleStore& store, const IntelSet* intel, const RiskConfig& config,
           std::size_t batch_size = 1000000);
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Loads the travel state and identity baselines of earlier runs.
  [[nodiscard]] Status Begin();
  [[nodiscard]] Status Add(store::AccessEvent event);
  // Reads `in` line by line with `reader`; bad lines are counted and sampled in stats()
  // ("name:line: reason") and skipped. Fails only when the store fails.
  [[nodiscard]] Status AddStream(std::istream& in, const std::string& name, EventReader& reader);
  // Writes what is left. Call once at the end.
  [[nodiscard]] Status Finish();

  const IngestStats& stats() const { return stats_; }

 private:
  struct State;
  // Folds the event in the current chunk slot into the aggregates.
  [[nodiscard]] Status Process(store::AccessEvent& ev);
  [[nodiscard]] Status Flush();
  // Hands the current chunk (and, with `with_aggregates`, the aggregate batch) to the
  // writer thread; fails with the writer's error once it had one.
  [[nodiscard]] Status Enqueue(bool with_aggregates);
  void WriterLoop();
  void StopWriter();

  store::PeopleStore& store_;
  const IntelSet* intel_;
  RiskConfig config_;
  std::size_t batch_size_;
  IngestStats stats_;
  std::unique_ptr<State> state_;
};

}  // namespace mica::people
