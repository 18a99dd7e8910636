#include "watch/dispatch.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/log.h"

namespace mica::watch {

namespace {

// Stored errors stay short; the full reason went to the log.
constexpr std::size_t kMaxErrorLength = 500;
// Digest sinks read their whole due set at once so one owner's alerts are never split
// over two messages; this bounds it.
constexpr int kDigestLimit = 100'000;
// Batches of an immediate sink per round: bounds one round on a huge backlog.
constexpr int kMaxBatches = 1000;

std::string Short(std::string s) {
  if (s.size() > kMaxErrorLength) s = s.substr(0, kMaxErrorLength) + "...";
  return s;
}

}  // namespace

std::int64_t BackoffDelay(const RetrySettings& retry, int attempt, double u) {
  std::int64_t cap = std::max<std::int64_t>(1, retry.initial_backoff);
  for (int i = 1; i < attempt && cap < retry.max_backoff; ++i) cap *= 2;  // saturates early
  cap = std::min(cap, std::max<std::int64_t>(1, retry.max_backoff));
  if (!(u >= 0.0)) u = 0.0;  // NaN too
  if (u >= 1.0) u = std::nextafter(1.0, 0.0);
  return std::min(cap, 1 + static_cast<std::int64_t>(std::floor(u * static_cast<double>(cap))));
}

UnixSeconds DigestWindowStart(UnixSeconds t, std::int64_t interval) {
  if (interval <= 0) return t;
  std::int64_t q = t / interval;
  if (t % interval != 0 && t < 0) --q;
  return q * interval;
}

Result<Dispatcher> Dispatcher::Create(const AlertConfig& config, Uniform uniform, TagLookup tags) {
  std::vector<std::unique_ptr<Sink>> sinks;
  for (const auto& c : config.sinks) {
    auto s = MakeSink(c);
    if (!s) return Wrap(s.error(), "alert sink " + c.name);
    sinks.push_back(std::move(*s));
  }
  return Dispatcher(config.sinks, std::move(sinks), std::move(uniform), std::move(tags));
}

Dispatcher::Dispatcher(std::vector<SinkConfig> configs, std::vector<std::unique_ptr<Sink>> sinks,
                       Uniform uniform, TagLookup tags)
    : configs_(std::move(configs)), sinks_(std::move(sinks)), uniform_(std::move(uniform)) {
  for (const auto& c : configs_) routes_.push_back(MakeRoute(c, tags));
}

Result<DispatchCounts> Dispatcher::RunOnce(store::Store& store, UnixSeconds now) {
  DispatchCounts total;
  for (std::size_t i = 0; i < configs_.size() && i < sinks_.size(); ++i) {
    SinkCounts c;
    c.sink = configs_[i].name;
    if (auto s = RunSink(i, store, now, c); !s) return tl::unexpected(s.error());
    total.routed += c.routed;
    total.delivered += c.delivered;
    total.messages += c.messages;
    total.retried += c.retried;
    total.gave_up += c.gave_up;
    total.deferred += c.deferred;
    total.sinks.push_back(std::move(c));
  }
  return total;
}

Status Dispatcher::Failed(const SinkConfig& config, const store::AlertRow& alert,
                          store::Store& store, UnixSeconds now, const std::string& error,
                          SinkCounts& counts) {
  const std::string stored = Short(error);
  if (now - alert.created_at >= config.retry.give_up_after) {
    ++counts.gave_up;
    spdlog::error("alert {} ({}) to sink {}: giving up after {} attempts: {}",
                  alert.idempotency_key, alert.event.type, config.name, alert.attempts + 1, stored);
    return store.MarkGaveUp(alert.id, now, stored);
  }
  ++counts.retried;
  const std::int64_t delay = BackoffDelay(config.retry, alert.attempts + 1, uniform_());
  return store.MarkRetry(alert.id, now + delay, stored);
}

Status Dispatcher::RunSink(std::size_t i, store::Store& store, UnixSeconds now, SinkCounts& counts) {
  const SinkConfig& config = configs_[i];
  Sink& sink = *sinks_[i];
  auto routed = store.RouteAlerts(config.name, routes_[i], now);
  if (!routed) return tl::unexpected(routed.error());
  counts.routed = *routed;

  if (config.digest_interval > 0) {
    // Only intervals that have ended are sent: their alerts were created (or became due
    // again) before the current interval began.
    const UnixSeconds window = DigestWindowStart(now, config.digest_interval);
    auto due = store.DueAlerts(config.name, window - 1, kDigestLimit);
    if (!due) return tl::unexpected(due.error());
    std::map<std::string, std::vector<store::AlertRow>> groups;
    for (auto& a : *due) groups[a.digest_key].push_back(std::move(a));
    bool stopped = false;
    for (auto& [owner, alerts] : groups) {
      if (stopped) {
        counts.deferred += static_cast<std::int64_t>(alerts.size());
        continue;
      }
      Outgoing m{config.name, DigestIdempotencyKey(alerts), owner, now, std::move(alerts)};
      if (auto s = sink.Send(m); s) {
        std::vector<std::int64_t> ids;
        for (const auto& a : m.alerts) ids.push_back(a.id);
        if (auto st = store.MarkDelivered(ids, now); !st) return st;
        counts.delivered += static_cast<std::int64_t>(ids.size());
        ++counts.messages;
      } else {
        counts.last_error = s.error().message;
        spdlog::warn("alert digest {} for {} to sink {}: {}", m.idempotency_key, owner,
                     config.name, s.error().message);
        for (const auto& a : m.alerts)
          if (auto st = Failed(config, a, store, now, s.error().message, counts); !st) return st;
        stopped = true;
      }
    }
    return {};
  }

  for (int batch = 0; batch < kMaxBatches; ++batch) {
    auto due = store.DueAlerts(config.name, now, config.batch);
    if (!due) return tl::unexpected(due.error());
    for (std::size_t k = 0; k < due->size(); ++k) {
      store::AlertRow& a = (*due)[k];
      Outgoing m{config.name, a.idempotency_key, "", now, {}};
      m.alerts.push_back(std::move(a));
      if (auto s = sink.Send(m); s) {
        // Marked right after the acknowledgement: a crash here re-sends one alert at most.
        if (auto st = store.MarkDelivered({m.alerts.front().id}, now); !st) return st;
        ++counts.delivered;
        ++counts.messages;
      } else {
        counts.last_error = s.error().message;
        spdlog::warn("alert {} ({}) to sink {}: {}", m.idempotency_key,
                     m.alerts.front().event.type, config.name, s.error().message);
        if (auto st = Failed(config, m.alerts.front(), store, now, s.error().message, counts); !st)
          return st;
        counts.deferred += static_cast<std::int64_t>(due->size() - k - 1);
        return {};
      }
    }
    if (due->size() < static_cast<std::size_t>(config.batch)) break;
  }
  return {};
}

}  // namespace mica::watch
