#include "discover/targets.h"

#include <arpa/inet.h>

#include <algorithm>
#include <iterator>
#include <charconv>
#include <cstring>

namespace mica::discover {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A targets / exclude file line without its comment and surrounding blanks.
std::string_view StripLine(std::string_view line) {
  if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  return Trim(line);
}

// Calls `fn(line_number, content)` for every non-blank, non-comment line of `path`;
// `what` names the file in errors ("targets file", "exclude file"). The first error of
// `fn` stops the read and is returned with the file and line named.
template <class Fn>
Status ForEachListLine(const std::string& what, const std::string& path, Fn fn) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, what + " " + path + " cannot be read");
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string_view v = StripLine(line);
    if (v.empty()) continue;
    if (Status st = fn(v); !st)
      return Fail(ErrorCode::kInvalidArgument,
                  what + " " + path + " line " + std::to_string(n) + ": " + st.error().message);
  }
  if (in.bad()) return Fail(ErrorCode::kIo, what + " " + path + " could not be read to the end");
  return {};
}

std::optional<int> ParseInt(std::string_view s, int lo, int hi) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

Error Invalid(std::string_view what, std::string_view text, std::string_view why) {
  return Error{ErrorCode::kInvalidArgument,
               std::string(what) + " '" + std::string(text) + "': " + std::string(why)};
}

// RFC 1123 host name: letters, digits, '-', '.', and '_' (seen in the wild); labels of
// 1..63 characters, 253 in all.
bool IsHostName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int MaxPrefix(const IpAddress& a) { return a.family == AF_INET ? 32 : 128; }

// base + offset, in the address's own width (the caller keeps offset < Size()).
IpAddress AddOffset(IpAddress a, std::uint64_t offset) {
  int i = a.family == AF_INET ? 3 : 15;
  unsigned carry = 0;
  while (i >= 0 && (offset != 0 || carry != 0)) {
    unsigned sum = a.bytes[static_cast<std::size_t>(i)] + static_cast<unsigned>(offset & 0xff) + carry;
    a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum & 0xff);
    carry = sum >> 8;
    offset >>= 8;
    --i;
  }
  return a;
}

std::uint64_t SatMul(std::uint64_t a, std::uint64_t b) {
  constexpr std::uint64_t kMax = std::uint64_t{1} << 63;
  if (a == 0 || b == 0) return 0;
  if (a > kMax / b) return kMax;
  return a * b;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

IpAddress IpAddress::FromSockaddr(const sockaddr* sa) {
  IpAddress a;
  if (sa->sa_family == AF_INET6) {
    a.family = AF_INET6;
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  } else {
    a.family = AF_INET;
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  }
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

socklen_t IpAddress::ToSockaddr(int port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (family == AF_INET6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(out);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&s6->sin6_addr, bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(out);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(static_cast<std::uint16_t>(port));
  std::memcpy(&s4->sin_addr, bytes.data(), 4);
  return sizeof(sockaddr_in);
}

Result<Cidr> Cidr::Parse(std::string_view text) {
  text = Trim(text);
  std::string_view addr = text;
  std::optional<int> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    prefix = ParseInt(text.substr(slash + 1), 0, 128);
    if (!prefix) return tl::unexpected(Invalid("CIDR", text, "the prefix length is not a number 0..128"));
  }
  auto a = IpAddress::Parse(addr);
  if (!a) return tl::unexpected(Invalid("CIDR", text, "not an IPv4 or IPv6 address"));
  Cidr c;
  c.prefix = prefix.value_or(MaxPrefix(*a));
  if (c.prefix > MaxPrefix(*a))
    return tl::unexpected(Invalid("CIDR", text, "the prefix is longer than the address"));
  c.base = *a;
  // Clear the host bits.
  for (int bit = c.prefix; bit < MaxPrefix(*a); ++bit)
    c.base.bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return c;
}

bool Cidr::Contains(const IpAddress& a) const {
  if (a.family != base.family) return false;
  int full = prefix / 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<std::size_t>(full)) != 0) return false;
  if (int rest = prefix % 8; rest != 0) {
    auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
    if ((a.bytes[static_cast<std::size_t>(full)] & mask) != base.bytes[static_cast<std::size_t>(full)])
      return false;
  }
  return true;
}

std::uint64_t Cidr::Size() const {
  int host_bits = MaxPrefix(base) - prefix;
  if (host_bits >= 63) return std::uint64_t{1} << 63;
  return std::uint64_t{1} << host_bits;
}

std::string Cidr::ToString() const { return base.ToString() + "/" + std::to_string(prefix); }

namespace {

// Address order: IPv4 before IPv6, then the address bytes (network order compares as
// numbers do).
bool AddressLess(const IpAddress& a, const IpAddress& b) {
  if (a.family != b.family) return a.family == AF_INET;
  const std::size_t n = a.family == AF_INET ? 4 : 16;
  return std::memcmp(a.bytes.data(), b.bytes.data(), n) < 0;
}

}  // namespace

Status ExcludeList::Add(std::string_view cidr) {
  auto c = Cidr::Parse(cidr);
  if (!c) return tl::unexpected(Error{ErrorCode::kInvalidArgument, "--exclude: " + c.error().message});
  cidrs_.push_back(*c);
  Normalize();
  return {};
}

Status ExcludeList::AddFile(const std::string& path) {
  auto s = ForEachListLine("exclude file", path, [&](std::string_view v) -> Status {
    auto c = Cidr::Parse(v);
    if (!c) return tl::unexpected(c.error());
    cidrs_.push_back(*c);
    return {};
  });
  Normalize();  // also after an error: the lines read so far stay usable and sorted
  return s;
}

void ExcludeList::Normalize() {
  // A range sorts before the ranges inside it (same start, shorter prefix first).
  std::sort(cidrs_.begin(), cidrs_.end(), [](const Cidr& x, const Cidr& y) {
    if (AddressLess(x.base, y.base)) return true;
    if (AddressLess(y.base, x.base)) return false;
    return x.prefix < y.prefix;
  });
  std::vector<Cidr> kept;
  kept.reserve(cidrs_.size());
  for (const Cidr& c : cidrs_)
    if (kept.empty() || !kept.back().Contains(c.base)) kept.push_back(c);
  cidrs_ = std::move(kept);
}

bool ExcludeList::Contains(const IpAddress& a) const {
  // The first range starting after `a`; the one before it is the only candidate.
  auto after = std::upper_bound(cidrs_.begin(), cidrs_.end(), a,
                                [](const IpAddress& x, const Cidr& c) { return AddressLess(x, c.base); });
  return after != cidrs_.begin() && std::prev(after)->Contains(a);
}

Result<TargetSpec> TargetSpec::Parse(std::string_view text) {
  const std::string_view original = text;
  text = Trim(text);
  if (text.empty()) return tl::unexpected(Invalid("target", original, "empty"));
  if (text.find("://") != std::string_view::npos)
    return tl::unexpected(Invalid("target", original, "give a host, host:port, address or CIDR, not a URL"));
  TargetSpec t;
  std::string_view host = text;
  auto set_port = [&](std::string_view p) -> Status {
    auto port = ParseInt(p, 1, 65535);
    if (!port) return tl::unexpected(Invalid("target", original, "the port is not a number 1..65535"));
    t.port = *port;
    return {};
  };
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return tl::unexpected(Invalid("target", original, "'[' without a closing ']'"));
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return tl::unexpected(Invalid("target", original, "expected ':port' after ']'"));
      if (auto s = set_port(rest.substr(1)); !s) return tl::unexpected(s.error());
    }
    if (!IpAddress::Parse(host))
      return tl::unexpected(Invalid("target", original, "brackets hold an IPv6 address only"));
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    if (auto s = set_port(text.substr(colon + 1)); !s) return tl::unexpected(s.error());
  }
  if (host.find('/') != std::string_view::npos) {
    auto c = Cidr::Parse(host);
    if (!c) return tl::unexpected(Invalid("target", original, c.error().message));
    if (c->Size() > kMaxCidrSize)
      return tl::unexpected(Invalid("target", original,
                                    "the range has more than 2^24 addresses; split it or use a longer prefix"));
    t.kind = c->prefix == MaxPrefix(c->base) ? Kind::kAddress : Kind::kCidr;
    t.cidr = *c;
    return t;
  }
  if (auto a = IpAddress::Parse(host)) {
    t.kind = Kind::kAddress;
    t.cidr = Cidr{*a, MaxPrefix(*a)};
    return t;
  }
  if (!IsHostName(host))
    return tl::unexpected(Invalid("target", original,
                                  "not a host name, IPv4/IPv6 address or CIDR (IPv6 with a port: [addr]:port)"));
  t.kind = Kind::kName;
  t.name = Lower(host);
  return t;
}

Result<std::vector<int>> ParsePorts(std::string_view text) {
  std::vector<int> out;
  // Seen ports, so duplicates keep their first place: linear, where a search of `out`
  // per port made `--ports 1-65535` take 4 billion comparisons (found by fuzzing).
  std::vector<bool> seen(65536, false);
  std::string_view rest = text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    auto dash = item.find('-');
    auto lo = ParseInt(item.substr(0, dash), 1, 65535);
    auto hi = dash == std::string_view::npos ? lo : ParseInt(item.substr(dash + 1), 1, 65535);
    if (!lo || !hi || *hi < *lo)
      return tl::unexpected(Invalid("port", item, "expected a port 1..65535 or a range like 8000-8010"));
    for (int p = *lo; p <= *hi; ++p) {
      if (seen[static_cast<std::size_t>(p)]) continue;
      seen[static_cast<std::size_t>(p)] = true;
      out.push_back(p);
    }
  }
  if (out.empty()) return tl::unexpected(Invalid("--ports", text, "no port given"));
  return out;
}

const std::vector<int>& DefaultPorts() {
  static const std::vector<int> kPorts = {443, 465,  636,  853,  990, 993, 995, 5061, 6443, 8443,
                                          9443, 21, 25, 110, 143, 389, 587, 5222, 5432};
  return kPorts;
}

std::string Endpoint::ToString() const {
  std::string h = address && address->family == AF_INET6 ? "[" + host + "]" : host;
  std::string out = h + ":" + std::to_string(port);
  if (!sni.empty() && sni != host) out += " (sni " + sni + ")";
  return out;
}

Result<std::unique_ptr<TargetStream>> TargetStream::Open(TargetOptions options,
                                                         const ExcludeList* exclude) {
  std::unique_ptr<TargetStream> s(new TargetStream());
  if (options.ports.empty()) options.ports = DefaultPorts();
  for (const auto& n : options.sni)
    if (!IsHostName(n)) return tl::unexpected(Invalid("--sni", n, "not a host name"));
  const std::uint64_t snis = options.sni.empty() ? 1 : options.sni.size();
  auto count = [&](const TargetSpec& t) {
    std::uint64_t n = t.kind == TargetSpec::Kind::kCidr ? t.cidr.Size() : 1;
    std::uint64_t ports = t.port ? 1 : options.ports.size();
    s->total_ = std::min<std::uint64_t>(s->total_ + SatMul(SatMul(n, ports), snis),
                                        std::uint64_t{1} << 63);
  };
  for (const auto& a : options.targets) {
    auto t = TargetSpec::Parse(a);
    if (!t) return tl::unexpected(t.error());
    count(*t);
  }
  // Validate every file now, streaming: only the count is kept.
  for (const auto& path : options.target_files) {
    if (Status st = ForEachListLine("targets file", path, [&](std::string_view v) -> Status {
          auto t = TargetSpec::Parse(v);
          if (!t) return tl::unexpected(t.error());
          count(*t);
          return {};
        });
        !st)
      return tl::unexpected(st.error());
  }
  s->options_ = std::move(options);
  s->exclude_ = exclude;
  return s;
}

bool TargetStream::NextSpec() {
  current_.reset();
  offset_ = 0;
  port_index_ = 0;
  sni_index_ = 0;
  if (arg_index_ < options_.targets.size()) {
    auto t = TargetSpec::Parse(options_.targets[arg_index_++]);
    if (t) current_ = std::move(*t);  // validated by Open
    return true;
  }
  while (file_index_ < options_.target_files.size()) {
    if (!file_) {
      file_ = std::make_unique<std::ifstream>(options_.target_files[file_index_]);
      file_line_ = 0;
      if (!*file_) {
        error_ = Error{ErrorCode::kIo,
                       "targets file " + options_.target_files[file_index_] + " became unreadable"};
        return false;
      }
    }
    std::string line;
    while (std::getline(*file_, line)) {
      ++file_line_;
      std::string_view v = StripLine(line);
      if (v.empty()) continue;
      auto t = TargetSpec::Parse(v);
      if (!t) {
        error_ = Error{ErrorCode::kInput, "targets file " + options_.target_files[file_index_] +
                                              " changed during the scan: line " +
                                              std::to_string(file_line_) + ": " + t.error().message};
        return false;
      }
      current_ = std::move(*t);
      return true;
    }
    file_.reset();
    ++file_index_;
  }
  return false;
}

std::optional<Endpoint> TargetStream::Next() {
  for (;;) {
    if (!current_) {
      if (!NextSpec()) return std::nullopt;
      if (!current_) continue;
    }
    const TargetSpec& t = *current_;
    const std::uint64_t n = t.kind == TargetSpec::Kind::kCidr ? t.cidr.Size() : 1;
    const std::size_t ports = t.port ? 1 : options_.ports.size();
    const std::size_t snis = options_.sni.empty() ? 1 : options_.sni.size();
    if (offset_ >= n) {
      current_.reset();
      continue;
    }
    Endpoint e;
    if (t.kind == TargetSpec::Kind::kName) {
      e.host = t.name;
    } else {
      IpAddress a = AddOffset(t.cidr.base, offset_);
      if (exclude_ && exclude_->Contains(a)) {
        // Skip the whole address: every port and name of it.
        excluded_ += ports * snis;
        ++offset_;
        port_index_ = sni_index_ = 0;
        continue;
      }
      e.host = a.ToString();
      e.address = a;
    }
    e.port = t.port ? *t.port : options_.ports[port_index_];
    if (!options_.sni.empty()) {
      e.sni = options_.sni[sni_index_];
    } else if (t.kind == TargetSpec::Kind::kName) {
      e.sni = t.name;
    }
    if (++sni_index_ >= snis) {
      sni_index_ = 0;
      if (++port_index_ >= ports) {
        port_index_ = 0;
        ++offset_;
      }
    }
    return e;
  }
}

}  // namespace mica::discover
