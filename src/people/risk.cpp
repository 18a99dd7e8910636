#include "people/risk.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "people/hr_import.h"

namespace mica::people {

namespace {

constexpr std::size_t kMaxEvidence = 8;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Day(std::int64_t day) { return FormatRfc3339(day * 86400).substr(0, 10); }

// Accumulates the hits of one person.
class Hits {
 public:
  void Add(const std::string& signal, double points, const std::string& explanation,
           std::string evidence) {
    auto& h = hits_[signal];
    if (h.signal.empty()) {
      h.signal = signal;
      h.points = points;
      h.explanation = explanation;
    }
    h.points = std::max(h.points, points);
    if (h.evidence.size() < kMaxEvidence) {
      h.evidence.push_back(std::move(evidence));
    } else {
      ++more_[signal];
    }
  }
  std::vector<store::SignalHit> Take() {
    std::vector<store::SignalHit> out;
    for (auto& [name, h] : hits_) {
      if (auto it = more_.find(name); it != more_.end())
        h.evidence.push_back("... and " + std::to_string(it->second) + " more");
      out.push_back(std::move(h));
    }
    return out;
  }
  bool Has(const std::string& s) const { return hits_.count(s) != 0; }

 private:
  std::map<std::string, store::SignalHit> hits_;
  std::map<std::string, int> more_;
};

const char* LinkNoun(const std::string& kind) {
  if (kind == "ip") return "egress IP";
  if (kind == "device") return "device";
  if (kind == "mfa") return "MFA device";
  return "value";
}

}  // namespace

std::map<std::string, double> RiskConfig::DefaultWeights() {
  return {
      {"anonymizer", 25},         {"country_mismatch", 15},   {"country_mismatch_high_risk", 40},
      {"impossible_travel", 35},  {"many_countries_day", 20}, {"shared_ip", 30},
      {"shared_device", 40},      {"shared_mfa", 40},         {"shared_payment", 45},
      {"shared_phone", 35},       {"shared_address", 30},     {"shared_resume", 35},
      {"off_hours", 20},          {"remote_access_tool", 30}, {"ip_kvm", 40},
      {"long_session", 15},       {"day_over_20h", 25},       {"identity_new_device", 20},
      {"serial_mismatch", 35},    {"shipped_elsewhere", 25},  {"payment_changes", 25},
      {"payment_risky_type", 30}, {"unmanaged_device", 25},
  };
}

double RiskConfig::Weight(const std::string& signal) const {
  auto it = weights.find(signal);
  return it == weights.end() ? 0 : it->second;
}

RiskConfig DefaultRiskConfig() {
  RiskConfig c;
  c.weights = RiskConfig::DefaultWeights();
  return c;
}

Window WindowFor(const RiskConfig& config, UnixSeconds now) {
  return {now - config.window, now, now - config.payment_window};
}

Result<RiskConfig> LoadRiskConfig(const std::string& path) {
  RiskConfig c = DefaultRiskConfig();
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return c;
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kInput, path + ":" + std::to_string(e.source().begin.line) + ":" +
                                       std::to_string(e.source().begin.column) + ": " +
                                       std::string(e.description()));
  }
  auto* people = root.get_as<toml::table>("people");
  if (!people) return c;
  auto where = [&](const toml::node& n) {
    return path + ":" + std::to_string(n.source().begin.line) + ":" +
           std::to_string(n.source().begin.column);
  };
  auto bad = [&](const toml::node& n, const std::string& key, const char* want) {
    return Fail(ErrorCode::kInput, where(n) + ": 'people." + key + "' must be " + want);
  };
  auto number = [](const toml::node& n) -> std::optional<double> {
    if (auto i = n.value<std::int64_t>(); i && n.is_integer()) return static_cast<double>(*i);
    if (auto d = n.value<double>(); d && n.is_floating_point()) return *d;
    return std::nullopt;
  };
  auto duration = [&](const toml::node& n, const std::string& key,
                      std::int64_t& out) -> Status {
    auto s = n.value<std::string>();
    if (!s) return bad(n, key, "a duration string such as \"7d\"");
    auto secs = ParseDurationSeconds(*s);
    if (!secs) return Fail(ErrorCode::kInput, where(n) + ": people." + key + ": " + secs.error().message);
    out = *secs;
    return {};
  };
  auto strings = [&](const toml::node& n, const std::string& key,
                     std::vector<std::string>& out) -> Status {
    auto* arr = n.as_array();
    if (!arr) return bad(n, key, "an array of strings");
    out.clear();
    for (const auto& el : *arr) {
      auto s = el.value<std::string>();
      if (!s) return bad(el, key, "an array of strings");
      out.push_back(*s);
    }
    return {};
  };
  for (const auto& [k, v] : *people) {
    std::string key(k.str());
    Status st;
    if (key == "weights") {
      auto* t = v.as_table();
      if (!t) return bad(v, key, "a table of signal = points");
      for (const auto& [sk, sv] : *t) {
        std::string signal(sk.str());
        if (!c.weights.count(signal))
          return Fail(ErrorCode::kInput, where(sv) + ": unknown signal 'people.weights." + signal +
                                             "' (docs/PEOPLE.md lists the signals)");
        auto n = number(sv);
        if (!n || *n < 0) return bad(sv, "weights." + signal, "a number >= 0");
        c.weights[signal] = *n;
      }
    } else if (key == "threshold" || key == "travel_speed_kmh" || key == "travel_min_km" ||
               key == "off_hours_share" || key == "referral_share") {
      auto n = number(v);
      if (!n || *n < 0) return bad(v, key, "a number >= 0");
      (key == "threshold"          ? c.threshold
       : key == "travel_speed_kmh" ? c.travel_speed_kmh
       : key == "travel_min_km"    ? c.travel_min_km
       : key == "off_hours_share"  ? c.off_hours_share
                                   : c.referral_share) = *n;
    } else if (key == "many_countries" || key == "day_hours_max" || key == "payment_changes" ||
               key == "off_hours_min_events") {
      auto n = v.value<std::int64_t>();
      if (!n || !v.is_integer() || *n < 1) return bad(v, key, "an integer >= 1");
      if (key == "many_countries") c.many_countries = static_cast<int>(*n);
      else if (key == "day_hours_max") c.day_hours_max = static_cast<int>(*n);
      else if (key == "payment_changes") c.payment_changes = static_cast<int>(*n);
      else c.off_hours_min_events = *n;
    } else if (key == "window") {
      st = duration(v, key, c.window);
    } else if (key == "payment_window") {
      st = duration(v, key, c.payment_window);
    } else if (key == "long_session") {
      st = duration(v, key, c.long_session);
    } else if (key == "high_risk_countries") {
      st = strings(v, key, c.high_risk_countries);
    } else if (key == "risky_payment_types") {
      st = strings(v, key, c.risky_payment_types);
    } else if (key == "remote_tools") {
      st = strings(v, key, c.remote_tools);
    } else if (key == "kvm_names") {
      st = strings(v, key, c.kvm_names);
    } else if (key == "kvm_usb_ids") {
      st = strings(v, key, c.kvm_usb_ids);
    } else if (key == "intel_dir") {
      if (!v.is_string()) return bad(v, key, "a folder path");
      c.intel_dir = *v.value<std::string>();
    } else {
      return Fail(ErrorCode::kInput, where(v) + ": unknown setting 'people." + key +
                                         "' (see docs/PEOPLE.md for the settings)");
    }
    if (!st) return tl::unexpected(st.error());
  }
  return c;
}

std::string FindRemoteTool(const store::Device& d, const RiskConfig& c) {
  for (const auto& sw : d.software) {
    std::string l = Lower(sw);
    for (const auto& tool : c.remote_tools)
      if (l.find(Lower(tool)) != std::string::npos) return sw;
  }
  return "";
}

std::string FindKvm(const store::Device& d, const RiskConfig& c) {
  auto named = [&](const std::string& s) {
    std::string l = Lower(s);
    for (const auto& n : c.kvm_names)
      if (l.find(Lower(n)) != std::string::npos) return true;
    return false;
  };
  for (const auto& u : d.usb) {
    if (named(u.name)) return "USB " + u.vendor + ":" + u.product + " '" + u.name + "'";
    std::string id = Lower(u.vendor + ":" + u.product);
    bool hid = u.device_class == "03" || u.device_class == "3" || Lower(u.device_class) == "hid";
    for (const auto& k : c.kvm_usb_ids)
      if (hid && id == Lower(k))
        return "USB " + id + " class " + u.device_class + " '" + u.name +
               "' (the Linux USB gadget keyboard/mouse that IP-KVMs present)";
  }
  for (const auto& m : d.monitors)
    if (named(m)) return "monitor '" + m + "'";
  return "";
}

std::vector<store::RiskScore> Score(const store::RiskInput& in, const RiskConfig& c,
                                    UnixSeconds now) {
  std::unordered_map<std::string, const store::Person*> people;
  for (const auto& p : in.people) people[p.id] = &p;
  std::map<std::string, Hits> hits;
  auto add = [&](const std::string& person, const std::string& signal, const std::string& why,
                 std::string evidence) {
    if (!people.count(person)) return;  // events of unknown people are not scored
    double w = c.Weight(signal);
    if (w <= 0) return;
    hits[person].Add(signal, w, why, std::move(evidence));
  };

  // Hours: > day_hours_max active hours in a UTC day; off-hours share in the declared zone.
  {
    std::map<std::pair<std::string, std::int64_t>, std::set<int>> active;
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> night;  // person -> night, total
    for (const auto& h : in.hours) {
      if (h.events <= 0) continue;
      active[{h.person, h.day}].insert(h.hour);
      auto it = people.find(h.person);
      if (it == people.end()) continue;
      auto offset = TimezoneOffsetMinutes(it->second->timezone);
      if (it->second->timezone.empty() || !offset) continue;
      int local = static_cast<int>(((h.hour * 60 + *offset) % 1440 + 1440) % 1440) / 60;
      auto& n = night[h.person];
      n.second += h.events;
      if (local >= 22 || local < 6) n.first += h.events;
    }
    for (const auto& [key, hours] : active)
      if (static_cast<int>(hours.size()) > c.day_hours_max)
        add(key.first, "day_over_20h",
            "active in more than " + std::to_string(c.day_hours_max) + " hours of one day",
            Day(key.second) + ": events in " + std::to_string(hours.size()) + " of 24 hours");
    for (const auto& [person, n] : night) {
      if (n.second < c.off_hours_min_events) continue;
      double share = static_cast<double>(n.first) / static_cast<double>(n.second);
      if (share > c.off_hours_share)
        add(person, "off_hours",
            "most activity falls at night in the declared time zone",
            fmt::format("{} of {} events ({:.0f}%) between 22:00 and 06:00 in {}", n.first,
                        n.second, share * 100, people[person]->timezone));
    }
  }

  // Countries.
  {
    std::map<std::pair<std::string, std::int64_t>, std::set<std::string>> per_day;
    std::map<std::pair<std::string, std::string>, std::vector<const store::CountryCount*>> away;
    for (const auto& cc : in.countries) {
      per_day[{cc.person, cc.day}].insert(cc.country);
      auto it = people.find(cc.person);
      if (it == people.end() || it->second->country.empty() || cc.country == it->second->country)
        continue;
      away[{cc.person, cc.country}].push_back(&cc);
    }
    for (const auto& [key, list] : away) {
      const auto& [person, country] = key;
      bool high = std::find(c.high_risk_countries.begin(), c.high_risk_countries.end(), country) !=
                  c.high_risk_countries.end();
      std::int64_t events = 0;
      UnixSeconds first = list.front()->first_at, last = list.front()->last_at;
      for (const auto* cc : list) {
        events += cc->events;
        first = std::min(first, cc->first_at);
        last = std::max(last, cc->last_at);
      }
      add(person, high ? "country_mismatch_high_risk" : "country_mismatch",
          high ? "activity from a high-risk country other than the declared one"
               : "activity from a country other than the declared one",
          fmt::format("{} events from {} (declared {}) between {} and {}", events, country,
                      people[person]->country, FormatRfc3339(first), FormatRfc3339(last)));
    }
    for (const auto& [key, set] : per_day) {
      if (static_cast<int>(set.size()) < c.many_countries) continue;
      std::string list;
      for (const auto& s : set) list.append(list.empty() ? "" : ", ").append(s);
      add(key.first, "many_countries_day", "activity from several countries in one day",
          Day(key.second) + ": " + list);
    }
  }

  // Shared infrastructure, and sensitive requests from devices outside the inventory.
  {
    std::map<std::pair<std::string, std::string>, std::set<std::string>> users;
    for (const auto& l : in.links)
      if (l.kind == "ip" || l.kind == "device" || l.kind == "mfa") users[{l.kind, l.value}].insert(l.person);
    for (const auto& [key, set] : users) {
      if (set.size() < 2) continue;
      for (const auto& person : set) {
        std::string others;
        for (const auto& o : set)
          if (o != person) others.append(others.empty() ? "" : ", ").append(o);
        add(person, "shared_" + key.first,
            std::string("the same ") + LinkNoun(key.first) + " is used by other people",
            std::string(LinkNoun(key.first)) + " " + key.second + " also used by " + others);
      }
    }
    std::set<std::string> inventory;
    for (const auto& d : in.devices)
      if (d.managed) inventory.insert(d.id);
    if (!inventory.empty()) {
      for (const auto& l : in.links)
        if (l.kind == "sensitive_device" && !inventory.count(l.value))
          add(l.person, "unmanaged_device",
              "signing, SSH or issuance requests from a device not in the asset inventory",
              fmt::format("device {}: {} requests, {} to {}", l.value, l.events,
                          FormatRfc3339(l.first_at), FormatRfc3339(l.last_at)));
    }
  }

  // Shared HR hashes.
  {
    struct HashField {
      const char* signal;
      const char* noun;
      std::string store::Person::*field;
    };
    const HashField fields[] = {{"shared_payment", "payment account", &store::Person::payment_hash},
                                {"shared_phone", "phone number", &store::Person::phone_hash},
                                {"shared_address", "address", &store::Person::address_hash},
                                {"shared_resume", "résumé", &store::Person::resume_hash}};
    for (const auto& f : fields) {
      std::map<std::string, std::vector<std::string>> by_hash;
      for (const auto& p : in.people)
        if (!(p.*f.field).empty()) by_hash[p.*f.field].push_back(p.id);
      for (const auto& [hash, ids] : by_hash) {
        if (ids.size() < 2) continue;
        for (const auto& id : ids) {
          std::string others;
          for (const auto& o : ids)
            if (o != id) others.append(others.empty() ? "" : ", ").append(o);
          add(id, f.signal, std::string("the same ") + f.noun + " as other people (HR hashes)",
              std::string(f.noun) + " hash " + hash.substr(0, 12) + "… also held by " + others);
        }
      }
    }
  }

  // Sessions.
  for (const auto& s : in.sessions)
    if (s.last_at - s.first_at > c.long_session)
      add(s.person, "long_session", "a session lasting longer than a day",
          fmt::format("session {} from {} to {} ({:.1f} h, {} events)", s.session,
                      FormatRfc3339(s.first_at), FormatRfc3339(s.last_at),
                      static_cast<double>(s.last_at - s.first_at) / 3600.0, s.events));

  // Observations made at ingest.
  for (const auto& o : in.observations) {
    const char* why = o.signal == "anonymizer"
                          ? "interactive or signing access from a VPN, proxy, Tor exit or hosting address"
                      : o.signal == "impossible_travel"
                          ? "consecutive events too far apart for the time between them"
                          : "an identity used from a device or country it was never seen on";
    std::string ev = o.evidence;
    if (o.events > 1) ev += fmt::format(" ({} times until {})", o.events, FormatRfc3339(o.last_at));
    add(o.person, o.signal, why, ev);
  }

  // Endpoint inventory.
  {
    std::map<std::string, std::vector<const store::Device*>> by_person;
    for (const auto& d : in.devices) {
      if (d.person.empty()) continue;
      by_person[d.person].push_back(&d);
      if (auto tool = FindRemoteTool(d, c); !tool.empty())
        add(d.person, "remote_access_tool", "a remote-access tool is installed on the person's device",
            "device " + d.id + ": " + tool);
      if (auto kvm = FindKvm(d, c); !kvm.empty())
        add(d.person, "ip_kvm", "IP-KVM hardware is attached to the person's device",
            "device " + d.id + ": " + kvm);
    }
    for (const auto& p : in.people) {
      if (!p.laptop_serial.empty()) {
        auto it = by_person.find(p.id);
        if (it != by_person.end()) {
          bool match = false;
          std::string seen;
          for (const auto* d : it->second) {
            if (d->serial == p.laptop_serial) match = true;
            if (!d->serial.empty()) seen.append(seen.empty() ? "" : ", ").append(d->id + " " + d->serial);
          }
          if (!match && !seen.empty())
            add(p.id, "serial_mismatch", "the enrolled laptop is not the one shipped to the person",
                "shipped serial " + p.laptop_serial + "; enrolled: " + seen);
        }
      }
      if (!p.shipping_address_hash.empty() && !p.address_hash.empty() &&
          p.shipping_address_hash != p.address_hash)
        add(p.id, "shipped_elsewhere", "the laptop was shipped to an address other than the declared one",
            "shipping address hash " + p.shipping_address_hash.substr(0, 12) +
                "… differs from the declared address hash " + p.address_hash.substr(0, 12) + "…");
      if (!p.payment_type.empty() &&
          std::find(c.risky_payment_types.begin(), c.risky_payment_types.end(), p.payment_type) !=
              c.risky_payment_types.end())
        add(p.id, "payment_risky_type", "paid into a virtual-currency or foreign account",
            "payment account type: " + p.payment_type);
    }
  }

  // Payment changes.
  {
    std::map<std::string, std::vector<const store::PersonChange*>> changes;
    for (const auto& ch : in.changes)
      if (ch.field == "payment_hash" && !ch.before.empty()) changes[ch.person].push_back(&ch);
    for (const auto& [person, list] : changes) {
      if (static_cast<int>(list.size()) < c.payment_changes) continue;
      for (const auto* ch : list)
        add(person, "payment_changes", "the payment account changed repeatedly",
            "payment account changed on " + FormatRfc3339(ch->at));
    }
  }

  std::vector<store::RiskScore> scores;
  std::map<std::string, double> base;
  for (const auto& p : in.people) {
    store::RiskScore s;
    s.person = p.id;
    s.at = now;
    s.window_from = in.from;
    s.window_to = in.to;
    if (auto it = hits.find(p.id); it != hits.end()) s.signals = it->second.Take();
    for (const auto& h : s.signals) s.score += h.points;
    base[p.id] = s.score;
    scores.push_back(std::move(s));
  }
  // Referral: a share of the referrer's score when the referrer is at risk (one level).
  for (auto& s : scores) {
    const auto* p = people[s.person];
    if (p->referred_by.empty()) continue;
    auto it = base.find(p->referred_by);
    if (it == base.end() || it->second < c.threshold || c.referral_share <= 0) continue;
    store::SignalHit h;
    h.signal = "referral";
    h.points = c.referral_share * it->second;
    h.explanation = "referred by a person who is at risk (a share of the referrer's score)";
    h.evidence.push_back(fmt::format("referred by {} (score {:.0f}); share {:.2f}", p->referred_by,
                                     it->second, c.referral_share));
    s.score += h.points;
    s.signals.push_back(std::move(h));
  }
  for (auto& s : scores)
    std::sort(s.signals.begin(), s.signals.end(), [](const auto& a, const auto& b) {
      return a.points != b.points ? a.points > b.points : a.signal < b.signal;
    });
  std::sort(scores.begin(), scores.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score > b.score : a.person < b.person;
  });
  return scores;
}

}  // namespace mica::people
