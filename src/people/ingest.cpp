#include "people/ingest.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace mica::people {

namespace {

struct Travel {
  bool known = false;
  store::TravelState s;
};

std::int64_t DayOf(UnixSeconds t) { return t >= 0 ? t / 86400 : (t - 86399) / 86400; }

std::string Key(std::initializer_list<std::string_view> parts) {
  std::string k;
  for (auto p : parts) k.append(p).push_back('\x1f');
  return k;
}

}  // namespace

struct Ingestor::State {
  // Interned people: index -> id.
  std::unordered_map<std::string, std::uint32_t> person_index;
  std::vector<std::string> person_ids;
  std::vector<Travel> travel;
  std::vector<bool> travel_dirty;
  // IP -> intel (bounded cache; cleared when full).
  std::unordered_map<std::string, IpInfo> intel_cache;
  // Aggregate deltas of the current batch.
  std::unordered_map<std::uint64_t, std::int64_t> hours;  // person<<32 | day<<5 | hour
  std::unordered_map<std::string, store::CountryCount> countries;
  std::unordered_map<std::string, store::Link> links;
  std::unordered_map<std::string, store::Session> sessions;
  std::unordered_map<std::string, store::RiskObservation> observations;
  std::unordered_map<std::string, store::IdentityUse> uses;
  // Baselines of identity use: "target kind value" pairs seen, and "target kind" with any.
  std::unordered_set<std::string> use_seen, use_any;
  store::IngestBatch batch;

  std::uint32_t Intern(const std::string& person) {
    auto [it, fresh] = person_index.emplace(person, static_cast<std::uint32_t>(person_ids.size()));
    if (fresh) {
      person_ids.push_back(person);
      travel.emplace_back();
      travel_dirty.push_back(false);
    }
    return it->second;
  }
};

Ingestor::Ingestor(store::PeopleStore& store, const IntelSet* intel, const RiskConfig& config,
                   std::size_t batch_size)
    : store_(store),
      intel_(intel),
      config_(config),
      batch_size_(batch_size == 0 ? 1 : batch_size),
      state_(std::make_unique<State>()) {}

Ingestor::~Ingestor() = default;

Status Ingestor::Begin() {
  auto st = store_.LoadIngestState();
  if (!st) return tl::unexpected(st.error());
  for (const auto& t : st->travel) {
    auto i = state_->Intern(t.person);
    state_->travel[i] = {true, t};
  }
  for (const auto& u : st->uses) {
    state_->use_seen.insert(Key({u.target, u.kind, u.value}));
    state_->use_any.insert(Key({u.target, u.kind}));
  }
  state_->batch.events.reserve(batch_size_);
  return {};
}

Status Ingestor::Add(store::AccessEvent ev) {
  State& s = *state_;
  ++stats_.events;
  IpInfo info;
  if (intel_ && !ev.source_ip.empty()) {
    auto it = s.intel_cache.find(ev.source_ip);
    if (it == s.intel_cache.end()) {
      if (s.intel_cache.size() > 1'000'000) s.intel_cache.clear();
      it = s.intel_cache.emplace(ev.source_ip, intel_->Lookup(ev.source_ip)).first;
    }
    info = it->second;
  }
  ev.country = info.country;
  ev.asn = info.asn;
  ev.intel = info.Tag();
  const bool corporate = info.category == "corporate";
  const std::uint32_t pi = s.Intern(ev.person);
  const std::int64_t day = DayOf(ev.at);
  const int hour = static_cast<int>((ev.at - day * 86400) / 3600);
  ++s.hours[(static_cast<std::uint64_t>(pi) << 32) | (static_cast<std::uint64_t>(day & 0x7ffffff) << 5) |
            static_cast<std::uint64_t>(hour)];

  // Corporate egress says nothing about where the person is or who shares with whom.
  if (!corporate && !ev.country.empty()) {
    auto& c = s.countries[Key({ev.person, std::to_string(day), ev.country})];
    if (c.events == 0) {
      c.person = ev.person;
      c.day = day;
      c.country = ev.country;
      c.first_at = c.last_at = ev.at;
    }
    ++c.events;
    c.first_at = std::min(c.first_at, ev.at);
    c.last_at = std::max(c.last_at, ev.at);
  }
  auto link = [&](const char* kind, const std::string& value) {
    auto& l = s.links[Key({kind, value, ev.person})];
    if (l.events == 0) {
      l.kind = kind;
      l.value = value;
      l.person = ev.person;
      l.first_at = l.last_at = ev.at;
    }
    ++l.events;
    l.first_at = std::min(l.first_at, ev.at);
    l.last_at = std::max(l.last_at, ev.at);
  };
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
  if (!ev.source_ip.empty() && !corporate) link("ip", ev.source_ip);
  if (!ev.device.empty()) {
    link("device", ev.device);
    if (IsSensitive(ev.action)) link("sensitive_device", ev.device);
  }
  if (!ev.mfa_device.empty()) link("mfa", ev.mfa_device);
  if (!ev.session.empty()) {
    auto& ss = s.sessions[Key({ev.session, ev.person})];
    if (ss.events == 0) {
      ss.session = ev.session;
      ss.person = ev.person;
      ss.first_at = ss.last_at = ev.at;
    }
    ++ss.events;
    ss.first_at = std::min(ss.first_at, ev.at);
    ss.last_at = std::max(ss.last_at, ev.at);
  }
  if (!ev.target.empty()) {
    link("target", ev.target);
    auto use = [&](const char* kind, const std::string& value) {
      if (value.empty()) return;
      std::string k = Key({ev.target, kind, value});
      if (s.use_seen.insert(k).second) {
        std::string any = Key({ev.target, kind});
        if (!s.use_any.insert(any).second)
          observe("identity_new_device", ev.target + " " + kind + " " + value,
                  fmt::format("{} {} used from {} {} at {}, where it was never used before",
                              ev.action, ev.target, kind, value, FormatRfc3339(ev.at)));
      }
      auto& u = s.uses[k];
      if (u.events == 0) {
        u.target = ev.target;
        u.kind = kind;
        u.value = value;
        u.first_at = u.last_at = ev.at;
      }
      ++u.events;
      u.first_at = std::min(u.first_at, ev.at);
      u.last_at = std::max(u.last_at, ev.at);
    };
    use("device", ev.device);
    if (!corporate) use("country", ev.country);
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
    Travel& t = s.travel[pi];
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
      t.s.country = info.country;
      t.s.ip = ev.source_ip;
      s.travel_dirty[pi] = true;
    }
  }
  s.batch.events.push_back(std::move(ev));
  if (s.batch.events.size() >= batch_size_) return Flush();
  return {};
}

Status Ingestor::Flush() {
  State& s = *state_;
  auto& b = s.batch;
  b.hours.reserve(s.hours.size());
  for (const auto& [key, n] : s.hours) {
    store::HourCount h;
    h.person = s.person_ids[key >> 32];
    h.day = static_cast<std::int64_t>((key >> 5) & 0x7ffffff);
    h.hour = static_cast<int>(key & 31);
    h.events = n;
    b.hours.push_back(std::move(h));
  }
  for (auto& [k, v] : s.countries) b.countries.push_back(std::move(v));
  for (auto& [k, v] : s.links) b.links.push_back(std::move(v));
  for (auto& [k, v] : s.sessions) b.sessions.push_back(std::move(v));
  for (auto& [k, v] : s.observations) b.observations.push_back(std::move(v));
  for (auto& [k, v] : s.uses) b.uses.push_back(std::move(v));
  for (std::size_t i = 0; i < s.travel.size(); ++i)
    if (s.travel_dirty[i]) {
      b.travel.push_back(s.travel[i].s);
      s.travel_dirty[i] = false;
    }
  auto st = store_.Ingest(b);
  s.hours.clear();
  s.countries.clear();
  s.links.clear();
  s.sessions.clear();
  s.observations.clear();
  s.uses.clear();
  b.events.clear();
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
  constexpr std::size_t kChunk = 1 << 20;
  std::string buf;
  std::string carry;
  std::vector<char> chunk(kChunk);
  std::int64_t line_no = 0;
  store::AccessEvent ev;
  auto handle = [&](std::string_view line) -> Status {
    ++line_no;
    ++stats_.lines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    switch (reader.Read(line, ev)) {
      case LineResult::kEvent:
        return Add(std::move(ev));
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

Status Ingestor::Finish() { return Flush(); }

}  // namespace mica::people
