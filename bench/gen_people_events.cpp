// Generates the people benchmark input (bench/run_people.sh): an HR export of --people
// people, --events access events in mica's JSON-lines schema spread over one week in
// time order, and an intel folder (an MMDB of /8 networks in 12 countries built with
// the test MmdbWriter, hosting / VPN / Tor / corporate lists).
//
// Cardinalities are those of a real organisation rather than of the worst case: each
// person has a home address, a laptop, an MFA device, an SSH key and a session a day;
// 10% of events come through the corporate VPN, 2% from travel abroad, and 1% of the
// people also use VPN exits and VPS addresses.
//
//   gen_people_events --events 10000000 --people 5000 --out DIR
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "people/testing/mmdb_writer.h"
#include "people/testing/synthetic.h"

namespace {

using mica::people::testing::MmdbRecord;
using mica::people::testing::MmdbWriter;
using mica::people::testing::SyntheticRng;

struct Country {
  const char* code;
  const char* city;
  double lat, lon;
  const char* tz;
};

// Country i is the network (20 + i).0.0.0/8.
constexpr Country kCountries[] = {
    {"US", "New York", 40.71, -74.00, "America/New_York"},
    {"US", "San Francisco", 37.77, -122.42, "America/Los_Angeles"},
    {"DE", "Berlin", 52.52, 13.40, "Europe/Berlin"},
    {"GB", "London", 51.51, -0.13, "Europe/London"},
    {"FR", "Paris", 48.86, 2.35, "Europe/Paris"},
    {"IN", "Bangalore", 12.97, 77.59, "Asia/Kolkata"},
    {"JP", "Tokyo", 35.68, 139.69, "Asia/Tokyo"},
    {"BR", "Sao Paulo", -23.55, -46.63, "America/Sao_Paulo"},
    {"PL", "Warsaw", 52.23, 21.01, "Europe/Warsaw"},
    {"CA", "Toronto", 43.65, -79.38, "America/Toronto"},
    {"NL", "Amsterdam", 52.37, 4.90, "Europe/Amsterdam"},  // VPS range
    {"SE", "Stockholm", 59.33, 18.07, "Europe/Stockholm"},  // VPN exits
};
constexpr int kHomeCountries = 10;
constexpr int kVps = 10, kVpn = 11;

// "20+net.a.b": inside the /8 of country `net`.
std::string Ip(int net, int a, int b) {
  return std::to_string(20 + net) + "." + std::to_string(a) + "." + std::to_string(b);
}
std::string Ip4(int net, int a, int b, int c) { return Ip(net, a, b) + "." + std::to_string(c); }

}  // namespace

int main(int argc, char** argv) {
  long long events = 10'000'000;
  int people = 5000;
  std::string out = ".";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--events")) events = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--people")) people = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--out")) out = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: gen_people_events --events N --people N --out DIR\n");
      return 2;
    }
  }
  namespace fs = std::filesystem;
  fs::create_directories(fs::path(out) / "intel");
  MmdbWriter w;
  int n = 0;
  for (const auto& c : kCountries) {
    MmdbRecord r;
    r.country = c.code;
    r.city = c.city;
    r.lat = c.lat;
    r.lon = c.lon;
    r.asn = 64500 + static_cast<std::uint32_t>(n);
    r.asn_org = std::string("AS of ") + c.city;
    w.Add(std::to_string(20 + n) + ".0.0.0/8", r);
    ++n;
  }
  std::ofstream(fs::path(out) / "intel/GeoLite2-City.mmdb", std::ios::binary) << w.Build("GeoLite2-City");
  std::ofstream(fs::path(out) / "intel/corporate.txt") << "20.255.0.0/24\n";
  std::ofstream(fs::path(out) / "intel/hosting-x4bnet.txt") << Ip(kVps, 0, 0) << ".0/8\n";
  std::ofstream(fs::path(out) / "intel/vpn-x4bnet.txt") << Ip(kVpn, 0, 0) << ".0/8\n";
  std::ofstream(fs::path(out) / "intel/tor-exits.txt") << "ExitAddress " << Ip4(kVpn, 9, 9, 9) << " 2026-11-19\n";

  SyntheticRng rng(7);
  std::vector<int> home(static_cast<std::size_t>(people));
  {
    std::ofstream hr(fs::path(out) / "hr.csv");
    hr << "id,name,email,type,country,city,timezone,payment_account,laptop_serial\n";
    for (int p = 0; p < people; ++p) {
      home[static_cast<std::size_t>(p)] = rng.Below(kHomeCountries);
      const auto& c = kCountries[home[static_cast<std::size_t>(p)]];
      hr << "u" << p << ",User " << p << ",u" << p << "@example.com,"
         << (p % 10 == 0 ? "contractor" : "employee") << "," << c.code << "," << c.city << ","
         << c.tz << ",ACCT-" << p << ",SN-" << p << "\n";
    }
  }
  std::FILE* f = std::fopen((fs::path(out) / "events.jsonl").c_str(), "wb");
  if (!f) {
    std::perror("events.jsonl");
    return 1;
  }
  const long long start = mica::people::testing::kSyntheticEnd - 7 * 86400;
  static const char* kActions[] = {"sso.login", "git.push", "git.pull", "vpn.connect",
                                   "ssh.login", "git.push", "sign.request", "git.pull"};
  std::string buf;
  buf.reserve(1 << 22);
  for (long long i = 0; i < events; ++i) {
    long long at = start + i * (7LL * 86400) / events;
    int p = rng.Below(people);
    auto up = static_cast<std::size_t>(p);
    int roll = rng.Below(100);
    const char* action = kActions[rng.Below(8)];
    std::string ip;
    if (std::strcmp(action, "vpn.connect") == 0 || roll < 10) {
      ip = Ip4(0, 255, 0, rng.Below(16));  // corporate egress
    } else if (roll < 12) {
      ip = Ip4(rng.Below(kHomeCountries), 100 + rng.Below(50), rng.Below(256), rng.Below(256));  // travel
    } else if (p % 100 == 1 && roll < 20) {
      ip = Ip4(roll % 2 ? kVps : kVpn, rng.Below(4), rng.Below(256), rng.Below(256));
    } else {
      ip = Ip4(home[up], p / 256 % 256, p % 256, 10);  // home
    }
    int day = static_cast<int>((at - start) / 86400);
    char line[512];
    int len = std::snprintf(
        line, sizeof line,
        "{\"time\":\"%s\",\"person\":\"u%d\",\"source_ip\":\"%s\",\"device\":\"LT-%d\","
        "\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0\",\"action\":\"%s\","
        "\"target\":\"SHA256:key-u%d\",\"mfa_device\":\"mfa-%d\",\"session\":\"s-%d-%d\"}\n",
        mica::people::testing::synthetic_internal::Time(at).c_str(), p, ip.c_str(), p, action, p,
        p, p, day);
    buf.append(line, static_cast<std::size_t>(len));
    if (buf.size() > (1 << 22) - 1024) {
      std::fwrite(buf.data(), 1, buf.size(), f);
      buf.clear();
    }
  }
  std::fwrite(buf.data(), 1, buf.size(), f);
  std::fclose(f);
  std::fprintf(stderr, "wrote %lld events of %d people to %s\n", events, people, out.c_str());
  return 0;
}
