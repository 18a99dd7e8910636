#include "people/intel.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace mica::people {

namespace fs = std::filesystem;

namespace {

constexpr unsigned __int128 kV4Mapped = static_cast<unsigned __int128>(0xffff) << 32;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "10.0.0.0/8", "2001:db8::/32", or a single address.
std::optional<IpRange> ParseCidr(std::string_view text) {
  text = Trim(text);
  auto slash = text.find('/');
  auto ip = ParseIp(text.substr(0, slash));
  if (!ip) return std::nullopt;
  int max_bits = ip->v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    auto len = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (ec != std::errc() || p != len.data() + len.size() || bits < 0 || bits > max_bits)
      return std::nullopt;
  }
  int host_bits = max_bits - bits;
  unsigned __int128 mask =
      host_bits == 128 ? ~static_cast<unsigned __int128>(0)
                       : (static_cast<unsigned __int128>(1) << host_bits) - 1;
  IpRange r;
  r.first = ip->bits & ~mask;
  r.last = ip->bits | mask;
  return r;
}

void Coalesce(std::vector<IpRange>& ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const IpRange& a, const IpRange& b) { return a.first < b.first; });
  std::vector<IpRange> out;
  for (const auto& r : ranges) {
    if (!out.empty() && (r.first <= out.back().last ||
                         (out.back().last != ~static_cast<unsigned __int128>(0) &&
                          r.first == out.back().last + 1))) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  ranges = std::move(out);
}

Result<IntelList> ParseCloudJson(std::string_view text, IntelList list) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kInput, list.name + ": " + why);
  };
  if (doc.is_discarded() || !doc.is_object())
    return bad("not valid JSON (expected AWS ip-ranges.json, GCP cloud.json or Azure service tags)");
  std::vector<std::string> prefixes;
  auto take = [&](const nlohmann::json& obj, const char* key) {
    if (obj.is_object() && obj.contains(key) && obj[key].is_string())
      prefixes.push_back(obj[key].get<std::string>());
  };
  bool known = false;
  for (const char* arr : {"prefixes", "ipv6_prefixes"}) {
    if (!doc.contains(arr)) continue;
    if (!doc[arr].is_array()) return bad(std::string("'") + arr + "' is not an array");
    known = true;
    for (const auto& p : doc[arr]) {
      take(p, "ip_prefix");
      take(p, "ipv6_prefix");
      take(p, "ipv4Prefix");
      take(p, "ipv6Prefix");
    }
  }
  if (doc.contains("values") && doc["values"].is_array()) {
    known = true;
    for (const auto& v : doc["values"]) {
      if (!v.is_object() || !v.contains("properties") || !v["properties"].is_object()) continue;
      const auto& props = v["properties"];
      if (!props.contains("addressPrefixes") || !props["addressPrefixes"].is_array()) continue;
      for (const auto& p : props["addressPrefixes"])
        if (p.is_string()) prefixes.push_back(p.get<std::string>());
    }
  }
  if (!known)
    return bad("a JSON list without 'prefixes' (AWS, GCP) or 'values' (Azure service tags)");
  for (const auto& p : prefixes) {
    auto r = ParseCidr(p);
    if (!r) return bad("'" + p + "' is not a CIDR range");
    list.ranges.push_back(*r);
  }
  list.entries = static_cast<std::int64_t>(prefixes.size());
  Coalesce(list.ranges);
  return list;
}

}  // namespace

std::optional<IpAddress> ParseIp(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[48];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    in_addr a;
    if (::inet_pton(AF_INET, buf, &a) != 1) return std::nullopt;
    ip.v4 = true;
    ip.bits = kV4Mapped | ntohl(a.s_addr);
    return ip;
  }
  in6_addr a;
  if (::inet_pton(AF_INET6, buf, &a) != 1) return std::nullopt;
  for (int i = 0; i < 16; ++i) ip.bits = (ip.bits << 8) | a.s6_addr[i];
  // An IPv4-mapped IPv6 address is the IPv4 address.
  ip.v4 = (ip.bits >> 32) == 0xffff;
  return ip;
}

bool IntelList::Contains(const IpAddress& ip) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), ip.bits,
                             [](unsigned __int128 v, const IpRange& r) { return v < r.first; });
  if (it == ranges.begin()) return false;
  --it;
  return ip.bits >= it->first && ip.bits <= it->last;
}

std::optional<std::string> CategoryOfFile(std::string_view name) {
  auto end = name.find_first_of("-_.");
  std::string word(name.substr(0, end));
  std::transform(word.begin(), word.end(), word.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (word == "vpn" || word == "tor" || word == "proxy" || word == "hosting" ||
      word == "corporate")
    return word;
  if (word == "datacenter" || word == "vps" || word == "cloud") return std::string("hosting");
  return std::nullopt;
}

Result<IntelList> ParseIntelList(std::string_view text, const std::string& name,
                                 const std::string& category) {
  IntelList list;
  list.name = name;
  list.category = category;
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{')
    return ParseCloudJson(text, std::move(list));
  std::size_t pos = 0;
  for (int line_no = 1; pos < text.size(); ++line_no) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    auto where = [&] { return name + ":" + std::to_string(line_no); };
    // Tor's exit-addresses: "ExitNode ...", "Published ...", "LastStatus ...",
    // "ExitAddress 1.2.3.4 2024-01-01 00:00:00".
    if (line.starts_with("ExitNode") || line.starts_with("Published") ||
        line.starts_with("LastStatus"))
      continue;
    if (line.starts_with("ExitAddress")) {
      auto rest = Trim(line.substr(11));
      auto ip = ParseCidr(rest.substr(0, rest.find(' ')));
      if (!ip) return Fail(ErrorCode::kInput, where() + ": ExitAddress without a valid address");
      list.ranges.push_back(*ip);
      ++list.entries;
      continue;
    }
    auto comma = line.find_first_of(",;\t ");
    std::string_view head = Trim(line.substr(0, comma));
    auto r = ParseCidr(head);
    if (r && comma != std::string_view::npos) {
      // "first,last[,name]": a range when the second field is also an address.
      auto rest = line.substr(comma + 1);
      auto second = Trim(rest.substr(0, rest.find_first_of(",;\t ")));
      if (second.find('/') == std::string_view::npos) {
        if (auto last = ParseIp(second)) {
          auto first_ip = ParseIp(head);
          if (first_ip && head.find('/') == std::string_view::npos) {
            if (first_ip->v4 != last->v4 || last->bits < first_ip->bits)
              return Fail(ErrorCode::kInput, where() + ": range '" + std::string(head) + " - " +
                                                 std::string(second) + "' ends before it starts");
            r = IpRange{first_ip->bits, last->bits};
          }
        }
      }
    }
    if (!r) {
      // A CSV header on the first line ("network,provider") is allowed.
      if (list.entries == 0 && line_no == 1 && comma != std::string_view::npos) continue;
      std::string shown(head.substr(0, 60));
      return Fail(ErrorCode::kInput,
                  where() + ": '" + shown + "' is not an IP address, CIDR range or first,last range");
    }
    list.ranges.push_back(*r);
    ++list.entries;
  }
  Coalesce(list.ranges);
  return list;
}

// ---------------------------------------------------------------------------------------
// MMDB

struct IntelSet::Mmdb {
  MMDB_s db{};
  bool open = false;
  std::string name, type;
  ~Mmdb() {
    if (open) ::MMDB_close(&db);
  }
};

IntelSet::IntelSet() = default;
IntelSet::~IntelSet() = default;
IntelSet::IntelSet(IntelSet&&) noexcept = default;
IntelSet& IntelSet::operator=(IntelSet&&) noexcept = default;

Result<IntelSet> IntelSet::Load(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Fail(ErrorCode::kNotFound, "intel folder " + dir + " does not exist or is not a folder");
  std::vector<fs::path> paths;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto file = it->path().filename().string();
    if (file.starts_with(".") || file == "README" || file.ends_with(".md")) continue;
    paths.push_back(it->path());
  }
  if (ec) return Fail(ErrorCode::kIo, "reading intel folder " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  IntelSet set;
  for (const auto& p : paths) {
    const std::string file = p.filename().string();
    if (p.extension() == ".mmdb") {
      auto m = std::make_unique<Mmdb>();
      int rc = ::MMDB_open(p.c_str(), MMDB_MODE_MMAP, &m->db);
      if (rc != MMDB_SUCCESS)
        return Fail(ErrorCode::kInput, p.string() + ": not a readable MaxMind DB (" +
                                           ::MMDB_strerror(rc) + ")");
      m->open = true;
      m->name = file;
      m->type = m->db.metadata.database_type ? m->db.metadata.database_type : "";
      set.files_.push_back({file, "mmdb (" + m->type + ")",
                            static_cast<std::int64_t>(m->db.metadata.node_count)});
      set.mmdbs_.push_back(std::move(m));
      continue;
    }
    auto category = CategoryOfFile(file);
    if (!category)
      return Fail(ErrorCode::kInput,
                  p.string() + ": cannot tell what this list holds; name it vpn-*, tor-*, "
                               "proxy-*, hosting-* (datacenter-*, vps-*, cloud-*) or corporate-*");
    std::ifstream in(p, std::ios::binary);
    if (!in) return Fail(ErrorCode::kIo, p.string() + ": cannot be read");
    std::stringstream buf;
    buf << in.rdbuf();
    auto list = ParseIntelList(buf.str(), file, *category);
    if (!list) return Wrap(list.error(), dir);
    set.files_.push_back({file, *category, list->entries});
    set.lists_.push_back(std::move(*list));
  }
  // Corporate ranges are looked up first: they win over any other list.
  std::stable_partition(set.lists_.begin(), set.lists_.end(),
                        [](const IntelList& l) { return l.category == "corporate"; });
  return set;
}

namespace {

std::string MmdbString(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (::MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING)
    return "";
  return std::string(data.utf8_string, data.data_size);
}

std::optional<double> MmdbDouble(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (::MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data) return std::nullopt;
  if (data.type == MMDB_DATA_TYPE_DOUBLE) return data.double_value;
  if (data.type == MMDB_DATA_TYPE_FLOAT) return data.float_value;
  return std::nullopt;
}

std::int64_t MmdbUint(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (::MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data) return 0;
  switch (data.type) {
    case MMDB_DATA_TYPE_UINT16: return data.uint16;
    case MMDB_DATA_TYPE_UINT32: return data.uint32;
    case MMDB_DATA_TYPE_UINT64: return static_cast<std::int64_t>(data.uint64);
    default: return 0;
  }
}

}  // namespace

IpInfo IntelSet::Lookup(std::string_view text) const {
  IpInfo info;
  auto ip = ParseIp(text);
  if (!ip) return info;
  for (const auto& list : lists_) {
    if (list.Contains(*ip)) {
      info.category = list.category;
      info.list = list.name;
      break;
    }
  }
  if (mmdbs_.empty()) return info;
  sockaddr_storage ss{};
  if (ip->v4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(static_cast<std::uint32_t>(ip->bits & 0xffffffffu));
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    for (int i = 15; i >= 0; --i)
      sin6->sin6_addr.s6_addr[i] = static_cast<std::uint8_t>(ip->bits >> (8 * (15 - i)));
  }
  static const char* const kCountry[] = {"country", "iso_code", nullptr};
  static const char* const kCity[] = {"city", "names", "en", nullptr};
  static const char* const kLat[] = {"location", "latitude", nullptr};
  static const char* const kLon[] = {"location", "longitude", nullptr};
  static const char* const kAsn[] = {"autonomous_system_number", nullptr};
  static const char* const kAsnOrg[] = {"autonomous_system_organization", nullptr};
  for (const auto& m : mmdbs_) {
    int mmdb_error = 0;
    auto r = ::MMDB_lookup_sockaddr(&m->db, reinterpret_cast<const sockaddr*>(&ss), &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !r.found_entry) continue;
    if (info.country.empty()) info.country = MmdbString(&r.entry, kCountry);
    if (info.city.empty()) info.city = MmdbString(&r.entry, kCity);
    if (!info.has_geo) {
      auto lat = MmdbDouble(&r.entry, kLat);
      auto lon = MmdbDouble(&r.entry, kLon);
      if (lat && lon) {
        info.has_geo = true;
        info.lat = *lat;
        info.lon = *lon;
      }
    }
    if (info.asn == 0) info.asn = MmdbUint(&r.entry, kAsn);
    if (info.asn_org.empty()) info.asn_org = MmdbString(&r.entry, kAsnOrg);
  }
  return info;
}

// ---------------------------------------------------------------------------------------
// Installing a set

std::string ActiveIntelDir(const std::string& intel_root) {
  std::error_code ec;
  fs::path current = fs::path(intel_root) / "current";
  if (!fs::exists(current, ec)) return "";
  return current.string();
}

Result<std::vector<IntelSet::FileSummary>> InstallIntelSet(const std::string& source_dir,
                                                           const std::string& intel_root,
                                                           UnixSeconds now) {
  auto set = IntelSet::Load(source_dir);
  if (!set) return tl::unexpected(set.error());
  if (set->empty())
    return Fail(ErrorCode::kInput, "intel folder " + source_dir +
                                       " holds no MMDB file and no list (nothing to load)");
  std::error_code ec;
  fs::path sets = fs::path(intel_root) / "sets";
  fs::create_directories(sets, ec);
  if (ec) return Fail(ErrorCode::kIo, "creating " + sets.string() + ": " + ec.message());
  fs::path target;
  for (int n = 0;; ++n) {
    target = sets / (std::to_string(now) + "-" + std::to_string(n));
    if (!fs::exists(target, ec)) break;
  }
  fs::path staging = target;
  staging += ".tmp";
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return Fail(ErrorCode::kIo, "creating " + staging.string() + ": " + ec.message());
  for (const auto& f : set->files()) {
    fs::copy_file(fs::path(source_dir) / f.name, staging / f.name,
                  fs::copy_options::overwrite_existing, ec);
    if (ec) {
      fs::remove_all(staging, ec);
      return Fail(ErrorCode::kIo, "copying " + f.name + " into " + staging.string());
    }
  }
  // Validate the copy itself: what becomes active is what was checked.
  auto copied = IntelSet::Load(staging.string());
  if (!copied) {
    fs::remove_all(staging, ec);
    return tl::unexpected(copied.error());
  }
  fs::rename(staging, target, ec);
  if (ec) return Fail(ErrorCode::kIo, "renaming " + staging.string() + ": " + ec.message());
  // rename(2) of a symlink over "current" is atomic: a reader sees the old or new set.
  fs::path link_tmp = fs::path(intel_root) / "current.tmp";
  fs::remove(link_tmp, ec);
  fs::create_directory_symlink(fs::path("sets") / target.filename(), link_tmp, ec);
  if (ec) return Fail(ErrorCode::kIo, "linking " + link_tmp.string() + ": " + ec.message());
  fs::rename(link_tmp, fs::path(intel_root) / "current", ec);
  if (ec) return Fail(ErrorCode::kIo, "activating the intel set: " + ec.message());
  return set->files();
}

double HaversineKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 6371.0 * 2 * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

}  // namespace mica::people
