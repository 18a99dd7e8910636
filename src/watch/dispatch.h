// The alert dispatcher: moves events from the store's outbox to the configured sinks
// (docs/ALERTS.md "Delivery").
//
// RunOnce, for each sink in config order: routes new events into the outbox
// (Store::RouteAlerts), takes the alerts due now, sends them, and records the outcome:
// delivered after the sink's acknowledgement, a retry with exponential backoff and full
// jitter after a failure, or given up when a failure happens after the sink's
// give_up_after age. A sink's round stops at its first failure (the receiver is most
// likely down; the rest stay due and are tried next round), so a dead receiver costs one
// timeout per round, not one per alert. Digest sinks send, once per aligned interval, one
// message per digest key (owner) holding the alerts of the intervals that have ended.
//
// Time and randomness are passed in. A Dispatcher owns its sinks; it is not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/time.h"
#include "store/store.h"
#include "watch/alert_config.h"
#include "watch/sinks.h"

namespace mica::watch {

// Uniform random numbers in [0, 1); the jitter source.
using Uniform = std::function<double()>;

// The delay before attempt `attempt + 1` after `attempt` (>= 1) failed ones: uniform in
// [1, min(max_backoff, initial_backoff * 2^(attempt-1))] seconds ("full jitter"), drawn
// with `u` in [0, 1).
std::int64_t BackoffDelay(const RetrySettings& retry, int attempt, double u);

// The start of the digest interval holding `t` (intervals are aligned to the epoch).
UnixSeconds DigestWindowStart(UnixSeconds t, std::int64_t interval);

struct SinkCounts {
  std::string sink;
  std::int64_t routed = 0;     // alerts enqueued from new events
  std::int64_t delivered = 0;  // alerts acknowledged
  std::int64_t messages = 0;   // messages acknowledged (a digest carries several alerts)
  std::int64_t retried = 0;    // alerts that failed and will be tried again
  std::int64_t gave_up = 0;    // alerts that failed for good
  std::int64_t deferred = 0;   // due but not tried: the round stopped at a failure
  std::string last_error;      // of the failure that stopped the round
};

struct DispatchCounts {
  std::vector<SinkCounts> sinks;
  std::int64_t routed = 0, delivered = 0, messages = 0, retried = 0, gave_up = 0, deferred = 0;
  // Everything that was due was delivered.
  bool AllDelivered() const { return retried == 0 && gave_up == 0 && deferred == 0; }
};

class Dispatcher {
 public:
  // Makes the sinks of `config`. `tags` answers tag routing rules (may be empty: a rule
  // with tags then matches nothing).
  [[nodiscard]] static Result<Dispatcher> Create(const AlertConfig& config, Uniform uniform,
                                                 TagLookup tags = {});
  // With sinks made by the caller (tests): sinks[i] serves configs[i].
  Dispatcher(std::vector<SinkConfig> configs, std::vector<std::unique_ptr<Sink>> sinks,
             Uniform uniform, TagLookup tags = {});

  Dispatcher(Dispatcher&&) noexcept = default;
  Dispatcher& operator=(Dispatcher&&) noexcept = default;

  // One round over every sink at time `now`. A store error ends the round and is
  // returned; sink failures are counted, never returned.
  [[nodiscard]] Result<DispatchCounts> RunOnce(store::Store& store, UnixSeconds now);

  const std::vector<SinkConfig>& sinks() const { return configs_; }

 private:
  [[nodiscard]] Status RunSink(std::size_t i, store::Store& store, UnixSeconds now,
                               SinkCounts& counts);
  // Records a failed attempt of `alert`: retry later, or give up when it is too old.
  [[nodiscard]] Status Failed(const SinkConfig& config, const store::AlertRow& alert,
                              store::Store& store, UnixSeconds now, const std::string& error,
                              SinkCounts& counts);

  std::vector<SinkConfig> configs_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::vector<store::AlertRoute> routes_;
  Uniform uniform_;
};

}  // namespace mica::watch
