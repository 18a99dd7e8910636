// Offline IP intelligence (docs/PEOPLE.md "IP intelligence"): MaxMind-format MMDB files
// (country, city with coordinates, ASN) read with libmaxminddb, and range lists (CIDR or
// IP per line, start,end CSV, X4BNet lists, Tor exit lists, AWS / GCP / Azure range JSON).
//
// A set is one folder. Every *.mmdb file in it is a database; every other file is a
// list whose category is the file name's first word: vpn-*, tor-*, proxy-*, hosting-*
// (also datacenter-*, vps-*, cloud-*), corporate-* (the organisation's own egress
// ranges, which no signal counts against anyone). Load validates every file and fails
// naming the first bad file and line; InstallIntelSet swaps a validated set in
// atomically and leaves the active one in place on any error.
//
// An IntelSet is immutable after Load and safe to share between threads for lookups.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/time.h"

namespace mica::people {

// An IPv4 or IPv6 address as 128 bits (IPv4 as ::ffff:a.b.c.d).
struct IpAddress {
  unsigned __int128 bits = 0;
  bool v4 = false;
};
// Parses a dotted IPv4 or an RFC 4291 IPv6 text address; nullopt when malformed.
std::optional<IpAddress> ParseIp(std::string_view text);

struct IpRange {
  unsigned __int128 first = 0, last = 0;
};

// One range list, sorted and coalesced.
struct IntelList {
  std::string name;      // file name
  std::string category;  // vpn, tor, proxy, hosting, corporate
  std::vector<IpRange> ranges;
  std::int64_t entries = 0;  // entries read (before coalescing)
  bool Contains(const IpAddress& ip) const;
};

// Parses the text of one list. The format is recognised from the content: a JSON object
// (AWS ip-ranges.json "prefixes[].ip_prefix", GCP cloud.json "prefixes[].ipv4Prefix",
// Azure service tags "values[].properties.addressPrefixes"), Tor's exit-addresses
// ("ExitAddress 1.2.3.4 ..."), or lines of "CIDR", "IP", "CIDR,anything" or
// "first-IP,last-IP,anything" with # comments. Errors name `name` and the line.
[[nodiscard]] Result<IntelList> ParseIntelList(std::string_view text, const std::string& name,
                                               const std::string& category);

// The category of a list file from its name ("vpn-x4bnet.txt" -> "vpn"); nullopt when the
// name says none.
std::optional<std::string> CategoryOfFile(std::string_view file_name);

struct IpInfo {
  std::string country;   // ISO alpha-2, "" unknown
  std::string city;
  bool has_geo = false;
  double lat = 0, lon = 0;
  std::int64_t asn = 0;
  std::string asn_org;
  std::string category;  // vpn, tor, proxy, hosting, corporate or ""
  std::string list;      // the list that gave the category
  // "vpn:vpn-x4bnet.txt": the form stored with each access event.
  std::string Tag() const { return category.empty() ? "" : category + ":" + list; }
};

class IntelSet {
 public:
  IntelSet();
  ~IntelSet();
  IntelSet(IntelSet&&) noexcept;
  IntelSet& operator=(IntelSet&&) noexcept;
  IntelSet(const IntelSet&) = delete;
  IntelSet& operator=(const IntelSet&) = delete;

  // Loads and validates every file of `dir`. kNotFound when the folder is missing,
  // kInput naming the file (and line) for a malformed file.
  [[nodiscard]] static Result<IntelSet> Load(const std::string& dir);

  // An unparsable address yields an empty IpInfo.
  IpInfo Lookup(std::string_view ip) const;

  struct FileSummary {
    std::string name, kind;  // kind: "mmdb (GeoLite2-City)" or the list category
    std::int64_t entries = 0;
  };
  const std::vector<FileSummary>& files() const { return files_; }
  bool empty() const { return files_.empty(); }

 private:
  struct Mmdb;
  std::vector<std::unique_ptr<Mmdb>> mmdbs_;
  std::vector<IntelList> lists_;
  std::vector<FileSummary> files_;
};

// Validates `source_dir` with IntelSet::Load, copies it to `intel_root`/sets/<stamp> and
// points `intel_root`/current at it with an atomic rename of a symlink. On any error the
// previous set stays active. Returns the loaded set's summary.
[[nodiscard]] Result<std::vector<IntelSet::FileSummary>> InstallIntelSet(
    const std::string& source_dir, const std::string& intel_root, UnixSeconds now);

// `intel_root`/current, or "" when no set was installed.
std::string ActiveIntelDir(const std::string& intel_root);

// Great-circle distance in kilometres.
double HaversineKm(double lat1, double lon1, double lat2, double lon2);

}  // namespace mica::people
