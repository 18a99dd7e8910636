// A minimal writer of MaxMind DB files (format spec 2.0,
// https://maxmind.github.io/MaxMind-DB/), for tests, fuzz seeds and benchmarks only:
// Debian 12 packages no MMDB writer for C or C++. It writes an IPv6 tree with 32-bit
// records; IPv4 networks sit under ::/96 where libmaxminddb looks for them. Networks
// must not overlap. Header-only so that every test binary can use it without linking
// the people module.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mica::people::testing {

struct MmdbRecord {
  std::string country;  // ISO alpha-2 -> country.iso_code
  std::string city;     // -> city.names.en
  std::optional<double> lat, lon;  // -> location.latitude / longitude
  std::uint32_t asn = 0;           // -> autonomous_system_number
  std::string asn_org;             // -> autonomous_system_organization
};

class MmdbWriter {
 public:
  // `cidr`: "203.0.113.0/24" or "2001:db8::/32". Returns false when malformed.
  bool Add(const std::string& cidr, const MmdbRecord& record) {
    auto slash = cidr.find('/');
    std::string ip = cidr.substr(0, slash);
    int len = slash == std::string::npos ? -1 : std::stoi(cidr.substr(slash + 1));
    unsigned __int128 bits = 0;
    int depth;
    in_addr a4;
    in6_addr a6;
    if (::inet_pton(AF_INET, ip.c_str(), &a4) == 1) {
      bits = ntohl(a4.s_addr);
      depth = 96 + (len < 0 ? 32 : len);
    } else if (::inet_pton(AF_INET6, ip.c_str(), &a6) == 1) {
      for (int i = 0; i < 16; ++i) bits = (bits << 8) | a6.s6_addr[i];
      depth = len < 0 ? 128 : len;
    } else {
      return false;
    }
    std::uint32_t offset = static_cast<std::uint32_t>(data_.size());
    EncodeRecord(record);
    if (nodes_.empty()) nodes_.push_back({});
    std::size_t node = 0;
    for (int i = 0; i < depth; ++i) {
      int bit = static_cast<int>((bits >> (127 - i)) & 1);
      if (i == depth - 1) {
        nodes_[node][bit] = {Kind::kData, offset};
        break;
      }
      auto& rec = nodes_[node][bit];
      if (rec.kind == Kind::kData) return false;  // overlaps a shorter network
      if (rec.kind == Kind::kEmpty) {
        nodes_.push_back({});
        nodes_[node][bit] = {Kind::kNode, static_cast<std::uint32_t>(nodes_.size() - 1)};
      }
      node = nodes_[node][bit].value;
    }
    return true;
  }

  std::string Build(const std::string& database_type = "mica-Test") const {
    std::string out;
    auto node_count = static_cast<std::uint32_t>(nodes_.empty() ? 1 : nodes_.size());
    auto nodes = nodes_;
    if (nodes.empty()) nodes.push_back({});
    for (const auto& n : nodes)
      for (const auto& r : n) {
        std::uint32_t v = r.kind == Kind::kNode   ? r.value
                          : r.kind == Kind::kData ? node_count + 16 + r.value
                                                  : node_count;
        for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(v >> s));
      }
    out.append(16, '\0');
    out += data_;
    out += std::string("\xAB\xCD\xEF", 3) + "MaxMind.com";
    std::string meta;
    Map(meta, 9);
    Str(meta, "node_count"); Uint(meta, 6, node_count);
    Str(meta, "record_size"); Uint(meta, 5, 32);
    Str(meta, "ip_version"); Uint(meta, 5, 6);
    Str(meta, "database_type"); Str(meta, database_type);
    Str(meta, "languages"); Ctrl(meta, 11, 1); Str(meta, "en");
    Str(meta, "binary_format_major_version"); Uint(meta, 5, 2);
    Str(meta, "binary_format_minor_version"); Uint(meta, 5, 0);
    Str(meta, "build_epoch"); Uint(meta, 9, 1700000000);
    Str(meta, "description"); Map(meta, 1); Str(meta, "en"); Str(meta, "mica test database");
    return out + meta;
  }

 private:
  enum class Kind { kEmpty, kNode, kData };
  struct Rec {
    Kind kind = Kind::kEmpty;
    std::uint32_t value = 0;
  };

  // Control byte (+ extended type byte) + size bytes (spec "Data Field Format").
  static void Ctrl(std::string& out, int type, std::size_t size) {
    int t = type > 7 ? 0 : type;
    std::uint8_t sz;
    std::string extra;
    if (size < 29) {
      sz = static_cast<std::uint8_t>(size);
    } else if (size < 285) {
      sz = 29;
      extra.push_back(static_cast<char>(size - 29));
    } else {
      sz = 30;
      std::size_t v = size - 285;
      extra.push_back(static_cast<char>(v >> 8));
      extra.push_back(static_cast<char>(v));
    }
    out.push_back(static_cast<char>((t << 5) | sz));
    if (type > 7) out.push_back(static_cast<char>(type - 7));
    out += extra;
  }
  static void Str(std::string& out, const std::string& s) {
    Ctrl(out, 2, s.size());
    out += s;
  }
  static void Map(std::string& out, std::size_t pairs) { Ctrl(out, 7, pairs); }
  static void Uint(std::string& out, int type, std::uint64_t v) {
    std::string bytes;
    while (v) {
      bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
      v >>= 8;
    }
    Ctrl(out, type, bytes.size());
    out += bytes;
  }
  static void Double(std::string& out, double d) {
    std::uint64_t v;
    std::memcpy(&v, &d, 8);
    Ctrl(out, 3, 8);
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>(v >> s));
  }

  void EncodeRecord(const MmdbRecord& r) {
    std::size_t pairs = (!r.country.empty()) + (!r.city.empty()) + (r.lat && r.lon) +
                        (r.asn != 0) + (!r.asn_org.empty());
    Map(data_, pairs);
    if (!r.country.empty()) {
      Str(data_, "country"); Map(data_, 1); Str(data_, "iso_code"); Str(data_, r.country);
    }
    if (!r.city.empty()) {
      Str(data_, "city"); Map(data_, 1); Str(data_, "names"); Map(data_, 1);
      Str(data_, "en"); Str(data_, r.city);
    }
    if (r.lat && r.lon) {
      Str(data_, "location"); Map(data_, 2);
      Str(data_, "latitude"); Double(data_, *r.lat);
      Str(data_, "longitude"); Double(data_, *r.lon);
    }
    if (r.asn != 0) {
      Str(data_, "autonomous_system_number"); Uint(data_, 6, r.asn);
    }
    if (!r.asn_org.empty()) {
      Str(data_, "autonomous_system_organization"); Str(data_, r.asn_org);
    }
  }

  std::vector<std::array<Rec, 2>> nodes_;
  std::string data_;
};

}  // namespace mica::people::testing
