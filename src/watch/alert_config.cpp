#include "watch/alert_config.h"

#include <fnmatch.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace mica::watch {

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    ::OPENSSL_cleanse(value_.data(), value_.size());
    value_ = other.value_;
  }
  return *this;
}

Secret::~Secret() { ::OPENSSL_cleanse(value_.data(), value_.size()); }

const char* SinkTypeName(SinkType t) {
  switch (t) {
    case SinkType::kJsonl: return "jsonl";
    case SinkType::kWebhook: return "webhook";
    case SinkType::kSyslog: return "syslog";
    case SinkType::kSmtp: return "smtp";
  }
  return "?";
}

int SeverityRank(std::string_view severity) {
  static constexpr std::array<std::string_view, 5> kNames = {"info", "low", "medium", "high",
                                                             "critical"};
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == severity) return static_cast<int>(i);
  return -1;
}

namespace {

std::string Where(const std::string& file, const toml::source_region& r) {
  return file + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// Reads the settings of one [[alert.sink]] table, remembering which keys were used so
// that the rest can be reported as unknown.
class SinkReader {
 public:
  SinkReader(const toml::table& t, const std::string& file, std::string prefix)
      : t_(t), file_(file), prefix_(std::move(prefix)) {}

  tl::unexpected<Error> Bad(const toml::node& n, const std::string& what) const {
    return Fail(ErrorCode::kInput, Where(file_, n.source()) + ": " + what);
  }
  tl::unexpected<Error> BadKey(const std::string& key, const std::string& what) const {
    const toml::node* n = t_.get(key);
    return Fail(ErrorCode::kInput,
                Where(file_, n ? n->source() : t_.source()) + ": " + prefix_ + "." + key + " " + what);
  }

  Result<std::optional<std::string>> String(const std::string& key) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return std::nullopt;
    auto v = n->value<std::string>();
    if (!v) return BadKey(key, "must be a string");
    return *v;
  }
  Result<std::optional<std::int64_t>> Int(const std::string& key) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) return BadKey(key, "must be an integer");
    return n->value<std::int64_t>();
  }
  Result<std::vector<std::string>> Strings(const std::string& key) {
    used_.insert(key);
    std::vector<std::string> out;
    const toml::node* n = t_.get(key);
    if (!n) return out;
    const toml::array* arr = n->as_array();
    if (!arr) return BadKey(key, "must be an array of strings");
    for (const auto& el : *arr) {
      auto s = el.value<std::string>();
      if (!s) return Bad(el, prefix_ + "." + key + " must hold only strings");
      out.push_back(*s);
    }
    return out;
  }
  Result<std::map<std::string, std::string>> StringTable(const std::string& key) {
    used_.insert(key);
    std::map<std::string, std::string> out;
    const toml::node* n = t_.get(key);
    if (!n) return out;
    const toml::table* tab = n->as_table();
    if (!tab) return BadKey(key, "must be a table of strings");
    for (const auto& [k, v] : *tab) {
      auto s = v.value<std::string>();
      if (!s) return Bad(v, prefix_ + "." + key + "." + std::string(k.str()) + " must be a string");
      out[std::string(k.str())] = *s;
    }
    return out;
  }
  // A duration ("30s", "1h", "1d12h") in seconds (or milliseconds), within [min, max].
  Result<std::optional<std::int64_t>> Duration(const std::string& key, bool millis,
                                               std::int64_t min, std::int64_t max) {
    auto s = String(key);
    if (!s) return tl::unexpected(s.error());
    if (!*s) return std::nullopt;
    auto v = millis ? ParseDurationMillis(**s) : ParseDurationSeconds(**s);
    if (!v) return BadKey(key, "'" + **s + "': " + v.error().message);
    if (*v < min || *v > max) return BadKey(key, "'" + **s + "' is out of range");
    return *v;
  }

  // The first key of the table that no reader asked for.
  Status CheckUnknown(const std::string& type) const {
    for (const auto& [k, v] : t_) {
      if (!used_.count(std::string(k.str())))
        return Fail(ErrorCode::kInput, Where(file_, k.source()) + ": unknown setting '" +
                                           std::string(k.str()) + "' for a " + type +
                                           " sink (see docs/ALERTS.md)");
    }
    return {};
  }

 private:
  const toml::table& t_;
  const std::string& file_;
  std::string prefix_;
  std::set<std::string> used_;
};

Result<std::string> ReadSecretFile(const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Fail(ErrorCode::kInput, where + ": cannot read the secret file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  // The file's final newline is not part of the secret.
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return Fail(ErrorCode::kInput, where + ": the secret file " + path + " is empty");
  return s;
}

Result<int> FacilityCode(const std::string& name) {
  // RFC 5424 section 6.2.1, table 1.
  static const std::map<std::string, int> kFacilities = {
      {"kern", 0},     {"user", 1},     {"mail", 2},     {"daemon", 3},   {"auth", 4},
      {"syslog", 5},   {"lpr", 6},      {"news", 7},     {"uucp", 8},     {"cron", 9},
      {"authpriv", 10}, {"ftp", 11},    {"ntp", 12},     {"audit", 13},   {"alert", 14},
      {"clock", 15},   {"local0", 16},  {"local1", 17},  {"local2", 18},  {"local3", 19},
      {"local4", 20},  {"local5", 21},  {"local6", 22},  {"local7", 23}};
  auto it = kFacilities.find(name);
  if (it == kFacilities.end()) return Fail(ErrorCode::kInput, "unknown facility");
  return it->second;
}

// "udp://host:port" / "tcp://host:port" (host may be [v6]) or an absolute socket path.
Status ParseSyslogAddress(const std::string& address, SyslogSettings& s) {
  if (!address.empty() && address[0] == '/') {
    s.transport = SyslogTransport::kUnix;
    s.path = address;
    return {};
  }
  std::string rest;
  if (address.rfind("udp://", 0) == 0) {
    s.transport = SyslogTransport::kUdp;
    rest = address.substr(6);
  } else if (address.rfind("tcp://", 0) == 0) {
    s.transport = SyslogTransport::kTcp;
    rest = address.substr(6);
  } else {
    return Fail(ErrorCode::kInput,
                "must be a socket path, udp://host:port or tcp://host:port");
  }
  std::string host = rest, port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return Fail(ErrorCode::kInput, "has an unclosed [");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return Fail(ErrorCode::kInput, "has junk after ]");
      port = rest.substr(close + 2);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Fail(ErrorCode::kInput, "has no host");
  s.host = host;
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return Fail(ErrorCode::kInput, "has a bad port");
    s.port = p;
  } else {
    s.port = s.transport == SyslogTransport::kTcp ? 601 : 514;  // RFC 6587 / RFC 5426
  }
  return {};
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
  });
}

// Pulls the value out of a Result<optional<T>> into `dest` when present; returns the
// error otherwise. Keeps ParseSink flat.
#define MICA_TRY_SET(dest, expr)                   \
  do {                                             \
    auto mica_v_ = (expr);                         \
    if (!mica_v_) return tl::unexpected(mica_v_.error()); \
    if (*mica_v_) dest = **mica_v_;                \
  } while (0)
#define MICA_TRY_ASSIGN(dest, expr)                \
  do {                                             \
    auto mica_v_ = (expr);                         \
    if (!mica_v_) return tl::unexpected(mica_v_.error()); \
    dest = std::move(*mica_v_);                    \
  } while (0)

constexpr std::int64_t kMaxTimeoutMs = 300'000;
constexpr std::int64_t kYear = 366 * 86'400;

Result<SinkConfig> ParseSink(const toml::table& t, const std::string& file,
                             const std::string& prefix) {
  SinkReader r(t, file, prefix);
  SinkConfig s;
  auto name = r.String("name");
  if (!name) return tl::unexpected(name.error());
  if (!*name)
    return Fail(ErrorCode::kInput, Where(file, t.source()) + ": " + prefix + " has no name");
  if (!ValidName(**name))
    return r.BadKey("name", "'" + **name + "' must be 1-64 letters, digits, '-', '_' or '.'");
  s.name = **name;
  auto type = r.String("type");
  if (!type) return tl::unexpected(type.error());
  if (!*type)
    return Fail(ErrorCode::kInput, Where(file, t.source()) + ": sink '" + s.name +
                                       "' has no type (jsonl, webhook, syslog or smtp)");
  if (**type == "jsonl") s.type = SinkType::kJsonl;
  else if (**type == "webhook") s.type = SinkType::kWebhook;
  else if (**type == "syslog") s.type = SinkType::kSyslog;
  else if (**type == "smtp") s.type = SinkType::kSmtp;
  else
    return r.BadKey("type", "'" + **type + "' is not a sink type (jsonl, webhook, syslog or smtp)");

  // Routing.
  std::string severity = s.rule.min_severity;
  MICA_TRY_SET(severity, r.String("min_severity"));
  if (SeverityRank(severity) < 0)
    return r.BadKey("min_severity", "'" + severity + "' is not one of info, low, medium, high, critical");
  s.rule.min_severity = severity;
  MICA_TRY_ASSIGN(s.rule.events, r.Strings("events"));
  MICA_TRY_ASSIGN(s.rule.tags, r.Strings("tags"));
  MICA_TRY_ASSIGN(s.rule.owners, r.Strings("owners"));

  // Retry, digest, batch.
  MICA_TRY_SET(s.retry.initial_backoff, r.Duration("initial_backoff", false, 1, kYear));
  MICA_TRY_SET(s.retry.max_backoff, r.Duration("max_backoff", false, 1, kYear));
  MICA_TRY_SET(s.retry.give_up_after, r.Duration("give_up_after", false, 1, 10 * kYear));
  if (s.retry.max_backoff < s.retry.initial_backoff)
    return r.BadKey("max_backoff", "is shorter than initial_backoff");
  MICA_TRY_SET(s.digest_interval, r.Duration("digest", false, 60, kYear));
  std::int64_t batch = s.batch;
  MICA_TRY_SET(batch, r.Int("batch"));
  if (batch < 1 || batch > 100'000) return r.BadKey("batch", "must be between 1 and 100000");
  s.batch = static_cast<int>(batch);

  switch (s.type) {
    case SinkType::kJsonl: {
      MICA_TRY_SET(s.jsonl.path, r.String("path"));
      if (s.jsonl.path.empty()) return r.BadKey("path", "is empty (\"-\" is standard output)");
      break;
    }
    case SinkType::kWebhook: {
      auto& w = s.webhook;
      MICA_TRY_SET(w.url, r.String("url"));
      if (w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0)
        return w.url.empty()
                   ? Fail(ErrorCode::kInput, Where(file, t.source()) + ": webhook sink '" +
                                                 s.name + "' needs a url")
                   : r.BadKey("url", "must start with http:// or https://");
      auto secret = r.String("secret");
      if (!secret) return tl::unexpected(secret.error());
      auto secret_file = r.String("secret_file");
      if (!secret_file) return tl::unexpected(secret_file.error());
      if (*secret && *secret_file) return r.BadKey("secret_file", "and secret are both set; keep one");
      if (*secret) {
        if ((*secret)->empty()) return r.BadKey("secret", "is empty");
        w.secret = Secret(std::move(**secret));
      }
      if (*secret_file) {
        auto v = ReadSecretFile(**secret_file, Where(file, t.get("secret_file")->source()) +
                                                   ": " + prefix + ".secret_file");
        if (!v) return tl::unexpected(v.error());
        w.secret = Secret(std::move(*v));
      }
      MICA_TRY_SET(w.timeout_ms, r.Duration("timeout", true, 1, kMaxTimeoutMs));
      MICA_TRY_ASSIGN(w.headers, r.StringTable("headers"));
      for (const auto& [k, v] : w.headers) {
        std::string lower = k;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower == "idempotency-key" || lower.rfind("x-mica-", 0) == 0 ||
            lower == "content-type" || lower == "content-length" || lower == "host")
          return r.BadKey("headers", "may not set " + k + " (mica sets it)");
        if (k.empty() || k.find_first_of(":\r\n ") != std::string::npos ||
            v.find_first_of("\r\n") != std::string::npos)
          return r.BadKey("headers", "has a malformed header '" + k + "'");
      }
      MICA_TRY_SET(w.ca_file, r.String("ca_file"));
      break;
    }
    case SinkType::kSyslog: {
      auto& y = s.syslog;
      auto address = r.String("address");
      if (!address) return tl::unexpected(address.error());
      if (*address)
        if (auto st = ParseSyslogAddress(**address, y); !st)
          return r.BadKey("address", "'" + **address + "' " + st.error().message);
      auto facility = r.String("facility");
      if (!facility) return tl::unexpected(facility.error());
      if (*facility) {
        auto code = FacilityCode(**facility);
        if (!code) return r.BadKey("facility", "'" + **facility + "' is not a syslog facility");
        y.facility = *code;
      }
      MICA_TRY_SET(y.app_name, r.String("app_name"));
      if (y.app_name.empty() || y.app_name.size() > 48 ||
          !std::all_of(y.app_name.begin(), y.app_name.end(),
                       [](char c) { return c > 32 && c < 127; }))
        return r.BadKey("app_name", "must be 1-48 printable ASCII characters without spaces");
      MICA_TRY_SET(y.hostname, r.String("hostname"));
      if (y.hostname.size() > 255 ||
          !std::all_of(y.hostname.begin(), y.hostname.end(),
                       [](char c) { return c > 32 && c < 127; }))
        return r.BadKey("hostname", "must be up to 255 printable ASCII characters");
      MICA_TRY_SET(y.timeout_ms, r.Duration("timeout", true, 1, kMaxTimeoutMs));
      break;
    }
    case SinkType::kSmtp: {
      auto& m = s.smtp;
      MICA_TRY_SET(m.url, r.String("url"));
      if (m.url.rfind("smtp://", 0) != 0 && m.url.rfind("smtps://", 0) != 0)
        return m.url.empty()
                   ? Fail(ErrorCode::kInput, Where(file, t.source()) + ": smtp sink '" + s.name +
                                                 "' needs a url (smtp://host:port)")
                   : r.BadKey("url", "must start with smtp:// or smtps://");
      MICA_TRY_SET(m.from, r.String("from"));
      if (m.from.empty() || m.from.find('@') == std::string::npos)
        return Fail(ErrorCode::kInput, Where(file, t.source()) + ": smtp sink '" + s.name +
                                           "' needs a from address");
      MICA_TRY_ASSIGN(m.to, r.Strings("to"));
      if (m.to.empty())
        return Fail(ErrorCode::kInput, Where(file, t.source()) + ": smtp sink '" + s.name +
                                           "' needs at least one address in to");
      for (const auto& a : m.to)
        if (a.find('@') == std::string::npos || a.find_first_of("<>\r\n ,") != std::string::npos)
          return r.BadKey("to", "has a malformed address '" + a + "'");
      if (m.from.find_first_of("<>\r\n ,") != std::string::npos)
        return r.BadKey("from", "is a malformed address");
      std::string starttls = "required";
      MICA_TRY_SET(starttls, r.String("starttls"));
      if (starttls == "required") m.starttls = StartTls::kRequired;
      else if (starttls == "optional") m.starttls = StartTls::kOptional;
      else return r.BadKey("starttls", "'" + starttls + "' must be required or optional");
      MICA_TRY_SET(m.ca_file, r.String("ca_file"));
      MICA_TRY_SET(m.username, r.String("username"));
      auto pw_file = r.String("password_file");
      if (!pw_file) return tl::unexpected(pw_file.error());
      if (*pw_file) {
        auto v = ReadSecretFile(**pw_file, Where(file, t.get("password_file")->source()) + ": " +
                                               prefix + ".password_file");
        if (!v) return tl::unexpected(v.error());
        m.password = Secret(std::move(*v));
      }
      if (!m.password.empty() && m.username.empty())
        return r.BadKey("password_file", "is set without a username");
      MICA_TRY_SET(m.timeout_ms, r.Duration("timeout", true, 1, kMaxTimeoutMs));
      break;
    }
  }
  if (auto st = r.CheckUnknown(SinkTypeName(s.type)); !st) return tl::unexpected(st.error());
  return s;
}

#undef MICA_TRY_SET
#undef MICA_TRY_ASSIGN

bool Glob(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

bool AnyGlob(const std::vector<std::string>& patterns, const std::string& text) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return Glob(p, text); });
}

}  // namespace

Result<AlertConfig> ParseAlertConfig(const toml::table& alert, const std::string& file) {
  AlertConfig out;
  for (const auto& [k, v] : alert) {
    if (k.str() != "sink")
      return Fail(ErrorCode::kInput, Where(file, k.source()) + ": unknown setting 'alert." +
                                         std::string(k.str()) + "' (see docs/ALERTS.md)");
  }
  const toml::node* sinks = alert.get("sink");
  if (!sinks) return out;
  const toml::array* arr = sinks->as_array();
  if (!arr || !arr->is_array_of_tables())
    return Fail(ErrorCode::kInput, Where(file, sinks->source()) +
                                       ": alert.sink must be an array of tables ([[alert.sink]])");
  std::set<std::string> names;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table& t = *arr->get(i)->as_table();
    auto sink = ParseSink(t, file, "alert.sink[" + std::to_string(i) + "]");
    if (!sink) return tl::unexpected(sink.error());
    if (!names.insert(sink->name).second)
      return Fail(ErrorCode::kInput, Where(file, t.get("name")->source()) + ": sink name '" +
                                         sink->name + "' is used twice");
    out.sinks.push_back(std::move(*sink));
  }
  return out;
}

bool Matches(const RoutingRule& rule, const store::Event& event, const TagLookup& tags) {
  // An unknown severity is treated as the highest: an alert is never lost to a typo in
  // a classifier.
  int rank = SeverityRank(event.severity);
  if (rank < 0) rank = 4;
  if (rank < SeverityRank(rule.min_severity)) return false;
  if (!rule.events.empty() && !AnyGlob(rule.events, event.type)) return false;
  if (!rule.owners.empty() && !AnyGlob(rule.owners, event.owner)) return false;
  if (!rule.tags.empty()) {
    if (!tags) return false;
    const std::vector<std::string> have = tags(event);
    bool any = std::any_of(have.begin(), have.end(), [&](const std::string& t) {
      return std::find(rule.tags.begin(), rule.tags.end(), t) != rule.tags.end();
    });
    if (!any) return false;
  }
  return true;
}

store::AlertRoute MakeRoute(const SinkConfig& sink, TagLookup tags) {
  return [rule = sink.rule, digest = sink.digest_interval > 0,
          tags = std::move(tags)](const store::Event& e) -> std::optional<std::string> {
    if (!Matches(rule, e, tags)) return std::nullopt;
    if (!digest) return std::string();
    return e.owner.empty() ? std::string("unowned") : e.owner;
  };
}

}  // namespace mica::watch
