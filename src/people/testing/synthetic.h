// A synthetic but realistic organisation for tests and benchmarks (docs/PEOPLE.md
// "Synthetic data"): an HR export, a week of access events, endpoint inventories and an
// intel folder (an MMDB built with MmdbWriter plus range lists), with planted cases:
//
//   p41, p42, p43  contractors declaring the US who share one VPS egress IP and one
//                  payment account (and log in from that hosting range);
//   p44            declares the US, logs in from a VPN exit (SE) and from CN an hour later;
//   p45            AnyDesk installed and a PiKVM-like USB gadget plus a PiKVM monitor;
//   p05, p06       clean travellers (New York -> Tokyo over 20 hours; Berlin -> London ->
//                  Paris by train) who must stay below the threshold;
// and everyone else working office hours from home and over the corporate VPN, whose
// egress is also inside a cloud range (the corporate list must win).
//
// Deterministic: the same arguments give the same bytes. Header-only, so tests, the
// integration test and bench/ share it without linking anything.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "people/testing/mmdb_writer.h"

namespace mica::people::testing {

// 2026-11-20T00:00:00Z: the end of the synthetic week.
inline constexpr std::int64_t kSyntheticEnd = 1795132800;

struct SyntheticWorld {
  std::string people_csv;
  std::string events_jsonl;
  std::string devices_jsonl;
  std::map<std::string, std::string> intel_files;  // file name -> content
  std::vector<std::string> planted;                // ids that must cross the threshold
  std::int64_t events = 0;
};

class SyntheticRng {
 public:
  explicit SyntheticRng(std::uint64_t seed) : s_(seed ? seed : 1) {}
  std::uint64_t Next() {  // xorshift64*
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 2685821657736338717ull;
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t s_;
};

namespace synthetic_internal {

inline std::string Time(std::int64_t t) {
  std::int64_t days = t / 86400, secs = t % 86400;
  // civil_from_days (Howard Hinnant).
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

inline std::string Event(std::int64_t at, const std::string& person, const std::string& ip,
                         const std::string& device, const std::string& action,
                         const std::string& target, const std::string& mfa,
                         const std::string& session) {
  std::string out;
  out.reserve(256);
  out.append("{\"time\":\"").append(Time(at));
  out.append("\",\"person\":\"").append(person);
  out.append("\",\"source_ip\":\"").append(ip);
  out.append("\",\"device\":\"").append(device);
  out.append("\",\"user_agent\":\"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Chrome/126.0");
  out.append("\",\"action\":\"").append(action);
  out.append("\",\"target\":\"").append(target);
  out.append("\",\"mfa_device\":\"").append(mfa);
  out.append("\",\"session\":\"").append(session);
  out.append("\"}\n");
  return out;
}

inline MmdbRecord Geo(const char* country, const char* city, double lat, double lon,
                      std::uint32_t asn, const char* org) {
  MmdbRecord r;
  r.country = country;
  r.city = city;
  r.lat = lat;
  r.lon = lon;
  r.asn = asn;
  r.asn_org = org;
  return r;
}

}  // namespace synthetic_internal

// The intel folder of the synthetic world.
inline std::map<std::string, std::string> SyntheticIntel() {
  using synthetic_internal::Geo;
  MmdbWriter w;
  w.Add("198.51.100.0/24", Geo("US", "New York", 40.71, -74.00, 64500, "Home ISP US"));
  w.Add("203.0.113.0/24", Geo("DE", "Berlin", 52.52, 13.40, 64501, "Home ISP DE"));
  w.Add("100.64.1.0/24", Geo("GB", "London", 51.51, -0.13, 64502, "Hotel ISP GB"));
  w.Add("100.64.2.0/24", Geo("FR", "Paris", 48.86, 2.35, 64503, "Hotel ISP FR"));
  w.Add("100.64.10.0/24", Geo("US", "Ashburn", 39.04, -77.49, 16509, "Cloud provider"));
  w.Add("100.64.20.0/24", Geo("NL", "Amsterdam", 52.37, 4.90, 64510, "Cheap VPS BV"));
  w.Add("100.64.30.0/24", Geo("SE", "Stockholm", 59.33, 18.07, 64520, "VPN Exit AB"));
  w.Add("100.64.40.0/24", Geo("CN", "Shenyang", 41.80, 123.43, 64530, "Telecom CN"));
  w.Add("100.64.50.0/24", Geo("DE", "Frankfurt", 50.11, 8.68, 64540, "Tor relay host"));
  w.Add("100.64.60.0/24", Geo("JP", "Tokyo", 35.68, 139.69, 64550, "Hotel ISP JP"));
  std::map<std::string, std::string> files;
  files["GeoLite2-City.mmdb"] = w.Build("GeoLite2-City");
  files["corporate.txt"] = "# our VPN egress\n100.64.10.0/28\n";
  files["cloud-aws.json"] =
      R"({"syncToken":"1","prefixes":[{"ip_prefix":"100.64.10.0/24","region":"us-east-1","service":"EC2"}],"ipv6_prefixes":[]})";
  files["hosting-x4bnet.txt"] = "# X4BNet datacenter list format\n100.64.20.0/24\n";
  files["vpn-x4bnet.txt"] = "100.64.30.0/24\n";
  files["tor-exits.txt"] = "ExitNode 0011\nExitAddress 100.64.50.7 2026-11-19 10:00:00\n";
  return files;
}

// `sink` receives the events in chunks (the week is ~7,000 events; benchmarks scale
// `events_per_day` and `people` up and stream to a file).
inline SyntheticWorld MakeSyntheticWorld(int people = 50, int days = 7, int events_per_day = 20,
                                         const std::function<void(const std::string&)>& sink = {}) {
  using synthetic_internal::Event;
  SyntheticWorld w;
  w.intel_files = SyntheticIntel();
  SyntheticRng rng(42);
  const std::int64_t start = kSyntheticEnd - static_cast<std::int64_t>(days) * 86400;
  std::string buffer;
  auto emit = [&](const std::string& line) {
    ++w.events;
    if (sink) {
      buffer += line;
      if (buffer.size() > (1 << 20)) {
        sink(buffer);
        buffer.clear();
      }
    } else {
      w.events_jsonl += line;
    }
  };
  w.people_csv =
      "id,name,email,type,country,city,timezone,manager,start_date,phone,payment_account,"
      "payment_type,address,resume,referred_by,laptop_serial,shipping_address\n";
  auto id_of = [](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "p%02d", i);
    return std::string(buf);
  };
  for (int i = 1; i <= people; ++i) {
    std::string id = id_of(i);
    bool de = i % 3 == 0 && (i < 41 || i > 45);
    bool contractor = i >= 41 && i <= 44;
    std::string payment = (i >= 41 && i <= 43) ? "NL91 ABNA 0417 1643 00" : "ACCT-" + id + "-0001";
    std::string phone = "+1 555 010 " + std::to_string(1000 + i);
    std::string address = std::to_string(i) + " Main Street, Springfield";
    w.people_csv += id + ",Person " + id + "," + id + "@example.com," +
                    (contractor ? "contractor" : "employee") + "," + (de ? "DE,Berlin,Europe/Berlin" : "US,New York,America/New_York") +
                    ",p01,2024-01-15," + phone + "," + payment + ",domestic,\"" + address +
                    "\",Resume of " + id + ",,SN-" + id + ",\"" + address + "\"\n";
  }
  // Clean activity: office hours in the declared zone, from home and the corporate VPN.
  for (int i = 1; i <= people; ++i) {
    std::string id = id_of(i);
    if (i >= 41 && i <= 44) continue;  // planted below
    bool de = i % 3 == 0 && (i < 41 || i > 45);
    const std::int64_t office_start_utc = de ? 8 * 3600 : 14 * 3600;  // 09:00 CET, 09:00 EST
    std::string home = de ? "203.0.113." + std::to_string(i) : "198.51.100." + std::to_string(i);
    std::string device = "LT-" + id, mfa = "mfa-" + id, key = "SHA256:key-" + id;
    for (int d = 0; d < days; ++d) {
      std::int64_t day0 = start + static_cast<std::int64_t>(d) * 86400 + office_start_utc;
      std::string session = "s-" + id + "-" + std::to_string(d);
      for (int e = 0; e < events_per_day; ++e) {
        std::int64_t at = day0 + (static_cast<std::int64_t>(e) * 8 * 3600) / events_per_day +
                          rng.Below(300);
        std::string ip = home;
        // p05 flies New York -> Tokyo on day 3 (last event 22:00Z, lands 20 hours later).
        if (i == 5 && d >= 3) {
          ip = "100.64.60." + std::to_string(i);
          at = start + static_cast<std::int64_t>(d) * 86400 + 16 * 3600 + d * 0 +
               (static_cast<std::int64_t>(e) * 8 * 3600) / events_per_day + 86400 / 4;
          if (d == 3) at += 4 * 3600;
        }
        // p06 takes the train Berlin -> London (day 2) -> Paris (day 4).
        if (i == 6 && d >= 2) ip = d >= 4 ? "100.64.2.6" : "100.64.1.6";
        const char* action = e == 0 ? "sso.login" : e % 5 == 1 ? "vpn.connect" : e % 7 == 2 ? "ssh.login" : e % 11 == 3 ? "sign.request" : "git.push";
        if (std::string(action) == "vpn.connect") ip = "100.64.10." + std::to_string(1 + i % 10);
        emit(Event(at, id, ip, device, action, key, mfa, session));
      }
    }
  }
  // p41..p43: three "different" contractors behind one VPS egress, one payment account.
  for (int i = 41; i <= 43 && i <= people; ++i) {
    std::string id = id_of(i);
    for (int d = 0; d < days; ++d)
      for (int e = 0; e < events_per_day; ++e) {
        std::int64_t at = start + static_cast<std::int64_t>(d) * 86400 + 1 * 3600 +
                          (static_cast<std::int64_t>(e) * 8 * 3600) / events_per_day + rng.Below(300);
        emit(Event(at, id, "100.64.20.9", "LT-" + id, e % 4 == 0 ? "sso.login" : "git.push",
                   "SHA256:key-" + id, "mfa-" + id, "s-" + id + "-" + std::to_string(d)));
      }
  }
  // p44: VPN exit in Stockholm, then Shenyang an hour later.
  if (people >= 44) {
    std::string id = "p44";
    std::int64_t t = start + 2 * 86400 + 10 * 3600;
    emit(Event(t, id, "100.64.30.5", "LT-p44", "sso.login", "SHA256:key-p44", "mfa-p44", "s-p44-a"));
    emit(Event(t + 3600, id, "100.64.40.8", "LT-p44", "sso.login", "SHA256:key-p44", "mfa-p44",
               "s-p44-b"));
    for (int e = 0; e < 5; ++e)
      emit(Event(t + 3600 + 600 * (e + 1), id, "100.64.40.8", "LT-p44", "git.push",
                 "SHA256:key-p44", "mfa-p44", "s-p44-b"));
  }
  if (sink && !buffer.empty()) sink(buffer);
  // Endpoint inventory: one managed laptop each, with the shipped serial.
  for (int i = 1; i <= people; ++i) {
    std::string id = id_of(i);
    std::string sw = i == 45 ? R"(["Slack 4.38","AnyDesk 8.0.9","Google Chrome 126"])"
                             : R"(["Slack 4.38","Google Chrome 126","Zoom 6.0"])";
    std::string usb = i == 45 ? R"([{"class":"03","vendor":"1d6b","product":"0104","name":"Multifunction Composite Gadget"}])"
                              : R"([{"class":"03","vendor":"046d","product":"c52b","name":"Logitech Unifying Receiver"}])";
    std::string monitors = i == 45 ? R"(["PiKVM"])" : R"(["DELL U2720Q"])";
    w.devices_jsonl += "{\"device\":\"LT-" + id + "\",\"person\":\"" + id + "\",\"serial\":\"SN-" +
                       id + "\",\"managed\":true,\"software\":" + sw + ",\"usb\":" + usb +
                       ",\"monitors\":" + monitors + "}\n";
  }
  for (const char* p : {"p41", "p42", "p43", "p44", "p45"})
    if (std::stoi(std::string(p).substr(1)) <= people) w.planted.push_back(p);
  return w;
}

}  // namespace mica::people::testing
