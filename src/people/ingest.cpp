#include "people/ingest.h"

#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

namespace mica::people {

namespace {

struct Travel {
  bool known = false;
  store::TravelState s;
};

// Events handed to the store at a time (reused slots).
constexpr std::size_t kChunk = 4096;

std::int64_t DayOf(UnixSeconds t) { return t >= 0 ? t / 86400 : (t - 86399) / 86400; }

std::string Key(std::initializer_list<std::string_view> parts) {
  std::string k;
  for (auto p : parts) k.append(p).push_back('\x1f');
  return k;
}

struct Agg {
  UnixSeconds first_at = 0, last_at = 0;
  std::int64_t events = 0;
  void Add(UnixSeconds at) {
    if (events == 0 || at < first_at) first_at = at;
    if (events == 0 || at > last_at) last_at = at;
    ++events;
  }
};

enum LinkKind : int { kIp, kDevice, kMfa, kTarget, kSensitive, kSession };
constexpr const char* kLinkNames[] = {"ip", "device", "mfa", "target", "sensitive_device", "session"};
enum UseKind : int { kUseDevice, kUseCountry };
constexpr const char* kUseNames[] = {"device", "country"};

// What one person did in the current batch. A person touches few distinct values (a home
// address, a laptop, an MFA device, a key, a session a day), so each list is scanned
// linearly: cheaper than hashing every field of every event into global maps.
struct LinkEntry {
  int kind;
  std::string value;
  Agg agg;
};
struct CountryEntry {
  std::int64_t day;
  std::string country;
  Agg agg;
};
struct HourEntry {
  std::int64_t day;
  int hour;
  std::int64_t events;
};
// Devices and countries an identity was used from (the identity_new_device baseline),
// and the uses of the current batch.
struct TargetState {
  std::vector<std::pair<int, std::string>> seen;
  std::vector<LinkEntry> batch;  // kind = UseKind
  bool dirty = false;
};

struct PersonState {
  std::string id;
  Travel travel;
  bool travel_dirty = false;
  bool dirty = false;  // has entries in this batch
  std::vector<LinkEntry> links;
  std::vector<CountryEntry> countries;
  std::vector<HourEntry> hours;
  // The intel of the last address seen (most events repeat it).
  std::string last_ip;
  const IpInfo* last_info = nullptr;
  std::uint64_t last_info_epoch = 0;
  // The identity of the last event (map nodes are stable, so the pointer stays valid).
  std::string last_target;
  TargetState* last_target_state = nullptr;

  Agg& Link(int kind, const std::string& value) {
    for (auto& l : links)
      if (l.kind == kind && l.value == value) return l.agg;
    links.push_back({kind, value, {}});
    return links.back().agg;
  }
};

}  // namespace

struct Ingestor::State {
  std::unordered_map<std::string, std::uint32_t> person_index;
  std::vector<PersonState> people;
  std::unordered_map<std::string, TargetState> targets;
  // IP -> intel (bounded cache; cleared when full, which bumps the epoch so that the
  // per-person pointers into it are not used any more).
  std::unordered_map<std::string, IpInfo> intel_cache;
  std::uint64_t intel_epoch = 1;
  std::unordered_map<std::string, store::RiskObservation> observations;
  std::vector<std::uint32_t> dirty_people;
  store::IngestBatch batch;  // aggregates only; events go through `chunk`
  std::vector<store::AccessEvent> chunk;
  std::size_t used = 0;               // filled slots of `chunk`
  std::size_t since_flush = 0;        // events since the last aggregate flush

  // The writer thread: it alone talks to the store between Begin and Finish, in the
  // order jobs were queued (event chunks, then the aggregates that cover them), while
  // this thread parses and aggregates the next events. Chunks come back through `spare`
  // so their strings keep their capacity.
  struct Job {
    std::vector<store::AccessEvent> events;
    std::size_t count = 0;
    std::unique_ptr<store::IngestBatch> aggregates;
  };
  std::thread writer;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> jobs;                       // guarded by mu
  std::vector<std::vector<store::AccessEvent>> spare;  // guarded by mu
  std::optional<Error> error;                 // guarded by mu: the writer's first failure
  bool stop = false;                          // guarded by mu
  static constexpr std::size_t kMaxJobs = 8;  // bounds memory: kMaxJobs x kChunk events

  std::uint32_t Person(const std::string& id) {
    if (auto it = person_index.find(id); it != person_index.end()) return it->second;
    auto index = static_cast<std::uint32_t>(people.size());
    person_index.emplace(id, index);
    people.emplace_back();
    people.back().id = id;
    return index;
  }
};

Ingestor::Ingestor(store::PeopleStore& store, const IntelSet* intel, const RiskConfig& config,
                   std::size_t batch_size)
    : store_(store),
      intel_(intel),
      config_(config),
      batch_size_(batch_size == 0 ? 1 : batch_size),
      state_(std::make_unique<State>()) {}

Ingestor::~Ingestor() {
  // Without Finish the open ingest transaction is left to the store, which rolls it back.
  StopWriter();
}

void Ingestor::StopWriter() {
  State& s = *state_;
  if (!s.writer.joinable()) return;
  {
    std::lock_guard lock(s.mu);
    s.stop = true;
  }
  s.cv.notify_all();
  s.writer.join();
}

void Ingestor::WriterLoop() {
  State& s = *state_;
  for (;;) {
    State::Job job;
    {
      std::unique_lock lock(s.mu);
      s.cv.wait(lock, [&] { return s.stop || !s.jobs.empty(); });
      if (s.jobs.empty()) return;  // stop requested and nothing left
      job = std::move(s.jobs.front());
      s.jobs.pop_front();
    }
    s.cv.notify_all();
    bool failed;
    {
      std::lock_guard lock(s.mu);
      failed = s.error.has_value();
    }
    Status st;
    if (!failed) {
      st = job.aggregates ? store_.CommitIngest(*job.aggregates)
                          : store_.AppendAccessEvents(std::span(job.events.data(), job.count));
    }
    std::lock_guard lock(s.mu);
    if (!st && !s.error) s.error = st.error();
    if (!job.events.empty()) s.spare.push_back(std::move(job.events));
  }
}

Status Ingestor::Enqueue(bool with_aggregates) {
  State& s = *state_;
  std::vector<store::AccessEvent> next;
  {
    std::unique_lock lock(s.mu);
    s.cv.wait(lock, [&] { return s.jobs.size() < State::kMaxJobs || s.error; });
    if (s.error) return tl::unexpected(*s.error);
    if (s.used > 0) {
      s.jobs.push_back({std::move(s.chunk), s.used, nullptr});
      if (!s.spare.empty()) {
        next = std::move(s.spare.back());
        s.spare.pop_back();
      }
    }
    if (with_aggregates)
      s.jobs.push_back({{}, 0, std::make_unique<store::IngestBatch>(std::move(s.batch))});
  }
  s.cv.notify_all();
  if (s.used > 0) {
    if (next.empty()) next.resize(kChunk);
    s.chunk = std::move(next);
    s.used = 0;
  }
  if (with_aggregates) s.batch = store::IngestBatch{};
  return {};
}

Status Ingestor::Begin() {
  auto st = store_.LoadIngestState();
  if (!st) return tl::unexpected(st.error());
  State& s = *state_;
  for (const auto& t : st->travel) s.people[s.Person(t.person)].travel = {true, t};
  for (const auto& u : st->uses)
    s.targets[u.target].seen.emplace_back(u.kind == "country" ? kUseCountry : kUseDevice, u.value);
  s.chunk.resize(kChunk);
  s.writer = std::thread([this] { WriterLoop(); });
  return {};
}

Status Ingestor::Add(store::AccessEvent ev) {
  State& s = *state_;
  if (s.chunk.empty()) s.chunk.resize(kChunk);  // Begin() not called
  s.chunk[s.used] = std::move(ev);
  return Process(s.chunk[s.used]);
}

Status Ingestor::Process(store::AccessEvent& ev) {
  State& s = *state_;
  ++stats_.events;
  const std::uint32_t pi = s.Person(ev.person);
  PersonState& p = s.people[pi];
  static const IpInfo kNone;
  const IpInfo* found = &kNone;
  if (intel_ && !ev.source_ip.empty()) {
    if (p.last_info && p.last_info_epoch == s.intel_epoch && p.last_ip == ev.source_ip) {
      found = p.last_info;
    } else {
      auto it = s.intel_cache.find(ev.source_ip);
      if (it == s.intel_cache.end()) {
        if (s.intel_cache.size() > 1'000'000) {
          s.intel_cache.clear();
          ++s.intel_epoch;
        }
        it = s.intel_cache.emplace(ev.source_ip, intel_->Lookup(ev.source_ip)).first;
      }
      found = &it->second;
      p.last_ip = ev.source_ip;
      p.last_info = found;
      p.last_info_epoch = s.intel_epoch;
    }
  }
  const IpInfo& info = *found;
  ev.country = info.country;
  ev.asn = info.asn;
  if (!info.category.empty()) ev.intel = info.Tag();
  const bool corporate = info.category == "corporate";
  if (!p.dirty) {
    p.dirty = true;
    s.dirty_people.push_back(pi);
  }
  const std::int64_t day = DayOf(ev.at);
  const int hour = static_cast<int>((ev.at - day * 86400) / 3600);
  {
    bool hit = false;
    for (auto it = p.hours.rbegin(); it != p.hours.rend(); ++it)
      if (it->day == day && it->hour == hour) {
        ++it->events;
        hit = true;
        break;
      }
    if (!hit) p.hours.push_back({day, hour, 1});
  }
  // Corporate egress says nothing about where the person is or who shares with whom.
  if (!corporate && !ev.country.empty()) {
    bool hit = false;
    for (auto& c : p.countries)
      if (c.day == day && c.country == ev.country) {
        c.agg.Add(ev.at);
        hit = true;
        break;
      }
    if (!hit) {
      p.countries.push_back({day, ev.country, {}});
      p.countries.back().agg.Add(ev.at);
    }
  }
  auto observe = [&](const char* signal, const std::string& key, const std::string& evidence) {
    auto& o = s.observations[Key({ev.person, signal, key, std::to_string(day)})];
    if (o.events == 0) {
      o.person = ev.person;
      o.signal = signal;
      o.key = key;
      o.day = day;
      o.first_at = o.last_at = ev.at;
      o.evidence = evidence;
    }
    ++o.events;
    o.first_at = std::min(o.first_at, ev.at);
    o.last_at = std::max(o.last_at, ev.at);
  };
  if (!ev.source_ip.empty() && !corporate) p.Link(kIp, ev.source_ip).Add(ev.at);
  if (!ev.device.empty()) {
    p.Link(kDevice, ev.device).Add(ev.at);
    if (IsSensitive(ev.action)) p.Link(kSensitive, ev.device).Add(ev.at);
  }
  if (!ev.mfa_device.empty()) p.Link(kMfa, ev.mfa_device).Add(ev.at);
  if (!ev.session.empty()) p.Link(kSession, ev.session).Add(ev.at);
  if (!ev.target.empty()) {
    p.Link(kTarget, ev.target).Add(ev.at);
    if (!p.last_target_state || p.last_target != ev.target) {
      p.last_target_state = &s.targets[ev.target];
      p.last_target = ev.target;
    }
    TargetState& t = *p.last_target_state;
    auto use = [&](int kind, const std::string& value) {
      bool seen = false, any = false;
      for (const auto& [k, v] : t.seen) {
        if (k != kind) continue;
        any = true;
        if (v == value) {
          seen = true;
          break;
        }
      }
      if (!seen) {
        if (any)
          observe("identity_new_device", ev.target + " " + kUseNames[kind] + " " + value,
                  fmt::format("{} {} used from {} {} at {}, where it was never used before",
                              ev.action, ev.target, kUseNames[kind], value, FormatRfc3339(ev.at)));
        t.seen.emplace_back(kind, value);
      }
      t.dirty = true;
      for (auto& u : t.batch)
        if (u.kind == kind && u.value == value) {
          u.agg.Add(ev.at);
          return;
        }
      t.batch.push_back({kind, value, {}});
      t.batch.back().agg.Add(ev.at);
    };
    if (!ev.device.empty()) use(kUseDevice, ev.device);
    if (!corporate && !ev.country.empty()) use(kUseCountry, ev.country);
  }
  if (!corporate && !info.category.empty() && IsInteractive(ev.action)) {
    std::string where = info.country.empty() ? "" : " in " + info.country;
    observe("anonymizer", ev.source_ip,
            fmt::format("{} from {} ({} range, list {}{}{}) at {}", ev.action, ev.source_ip,
                        info.category, info.list, where,
                        info.asn ? fmt::format(", AS{}", info.asn) : std::string(),
                        FormatRfc3339(ev.at)));
  }
  if (info.has_geo && !corporate) {
    Travel& t = p.travel;
    if (!t.known || ev.at >= t.s.at) {
      if (t.known && t.s.has_geo) {
        double km = HaversineKm(t.s.lat, t.s.lon, info.lat, info.lon);
        double hours = static_cast<double>(ev.at - t.s.at) / 3600.0;
        double speed = hours > 0 ? km / hours : INFINITY;
        if (km > config_.travel_min_km && speed > config_.travel_speed_kmh)
          observe("impossible_travel", t.s.ip + " > " + ev.source_ip,
                  fmt::format("{} ({}) at {} then {} ({}) at {}: {:.0f} km in {:.1f} h "
                              "({:.0f} km/h)",
                              t.s.country.empty() ? "?" : t.s.country, t.s.ip,
                              FormatRfc3339(t.s.at), info.country.empty() ? "?" : info.country,
                              ev.source_ip, FormatRfc3339(ev.at), km, hours,
                              std::isinf(speed) ? 0.0 : speed));
      }
      t.known = true;
      t.s.person = ev.person;
      t.s.at = ev.at;
      t.s.has_geo = true;
      t.s.lat = info.lat;
      t.s.lon = info.lon;
      if (t.s.ip != ev.source_ip) {
        t.s.country = info.country;
        t.s.ip = ev.source_ip;
      }
      p.travel_dirty = true;
    }
  }
  if (++s.used == s.chunk.size()) {
    if (!s.writer.joinable()) {  // Begin() not called: write on this thread
      if (auto st = store_.AppendAccessEvents(std::span(s.chunk.data(), s.used)); !st) return st;
      s.used = 0;
    } else if (auto st = Enqueue(false); !st) {
      return st;
    }
  }
  if (++s.since_flush >= batch_size_) return Flush();
  return {};
}

Status Ingestor::Flush() {
  State& s = *state_;
  if (s.used > 0 && !s.writer.joinable()) {
    if (auto st = store_.AppendAccessEvents(std::span(s.chunk.data(), s.used)); !st) return st;
    s.used = 0;
  }
  s.since_flush = 0;
  auto& b = s.batch;
  for (std::uint32_t pi : s.dirty_people) {
    PersonState& p = s.people[pi];
    for (const auto& h : p.hours) b.hours.push_back({p.id, h.day, h.hour, h.events});
    for (const auto& c : p.countries)
      b.countries.push_back({p.id, c.day, c.country, c.agg.events, c.agg.first_at, c.agg.last_at});
    for (const auto& l : p.links) {
      if (l.kind == kSession)
        b.sessions.push_back({l.value, p.id, l.agg.first_at, l.agg.last_at, l.agg.events});
      else
        b.links.push_back({kLinkNames[l.kind], l.value, p.id, l.agg.first_at, l.agg.last_at,
                           l.agg.events});
    }
    if (p.travel_dirty) {
      b.travel.push_back(p.travel.s);
      p.travel_dirty = false;
    }
    p.hours.clear();
    p.countries.clear();
    p.links.clear();
    p.dirty = false;
  }
  s.dirty_people.clear();
  for (auto& [name, t] : s.targets) {
    if (!t.dirty) continue;
    for (const auto& u : t.batch)
      b.uses.push_back({name, kUseNames[u.kind], u.value, u.agg.first_at, u.agg.last_at,
                        u.agg.events});
    t.batch.clear();
    t.dirty = false;
  }
  for (auto& [k, v] : s.observations) b.observations.push_back(std::move(v));
  s.observations.clear();
  // The writer thread takes the aggregates with its next block; without one they go in now.
  auto st = s.writer.joinable() ? Enqueue(true) : store_.CommitIngest(b);
  b.hours.clear();
  b.countries.clear();
  b.links.clear();
  b.sessions.clear();
  b.travel.clear();
  b.observations.clear();
  b.uses.clear();
  return st;
}

Status Ingestor::AddStream(std::istream& in, const std::string& name, EventReader& reader) {
  // Large reads split by hand: getline on a 10-million-line file costs more than parsing.
  constexpr std::size_t kReadSize = 1 << 20;
  std::string carry;
  std::vector<char> chunk(kReadSize);
  std::int64_t line_no = 0;
  if (state_->chunk.empty()) state_->chunk.resize(kChunk);  // Begin() not called
  auto handle = [&](std::string_view line) -> Status {
    ++line_no;
    ++stats_.lines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    store::AccessEvent& slot = state_->chunk[state_->used];
    switch (reader.Read(line, slot)) {
      case LineResult::kEvent:
        return Process(slot);
      case LineResult::kSkip:
        ++stats_.skipped;
        return {};
      case LineResult::kError:
        ++stats_.errors;
        if (stats_.error_samples.size() < 20)
          stats_.error_samples.push_back(name + ":" + std::to_string(line_no) + ": " + reader.error());
        return {};
    }
    return {};
  };
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::size_t got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    std::string_view data(chunk.data(), got);
    std::size_t pos = 0;
    while (pos < data.size()) {
      auto nl = data.find('\n', pos);
      if (nl == std::string_view::npos) {
        carry.append(data.substr(pos));
        break;
      }
      if (!carry.empty()) {
        carry.append(data.substr(pos, nl - pos));
        if (auto st = handle(carry); !st) return st;
        carry.clear();
      } else if (auto st = handle(data.substr(pos, nl - pos)); !st) {
        return st;
      }
      pos = nl + 1;
    }
  }
  if (!carry.empty())
    if (auto st = handle(carry); !st) return st;
  return {};
}

Status Ingestor::Finish() {
  auto st = Flush();
  State& s = *state_;
  if (!s.writer.joinable()) return st;
  StopWriter();  // drains the queue first
  if (!st) return st;
  if (s.error) return tl::unexpected(*s.error);
  return {};
}

}  // namespace mica::people
