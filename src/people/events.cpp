#include "people/events.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "core/time.h"

namespace mica::people {

namespace {

using internal::JsonMember;
using internal::JsonType;

constexpr const char* kFields[] = {"time",   "person", "source_ip",  "device", "user_agent",
                                   "action", "target", "mfa_device", "session"};

bool StartsWithKind(std::string_view action, std::string_view kind) {
  return action.size() >= kind.size() && action.substr(0, kind.size()) == kind &&
         (action.size() == kind.size() || action[kind.size()] == '.' ||
          action[kind.size()] == '_' || action[kind.size()] == '-');
}

// Times as RFC 3339 text or as a number of Unix seconds (milliseconds when > 1e11).
std::optional<UnixSeconds> ParseTime(std::string_view text, bool number) {
  if (!number) {
    auto t = ParseRfc3339(text);
    if (!t) return std::nullopt;
    return *t;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0 || v > 1e15) return std::nullopt;
  if (v > 1e11) v /= 1000;
  return static_cast<UnixSeconds>(v);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

int MonthOf(std::string_view m) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i + 1;
  return 0;
}

std::string_view NextToken(std::string_view& s) {
  s = Trim(s);
  auto sp = s.find(' ');
  auto tok = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return tok;
}

}  // namespace

Result<EventFormat> ParseEventFormat(std::string_view name) {
  if (name == "mica") return EventFormat::kMica;
  if (name == "json") return EventFormat::kJson;
  if (name == "auth.log" || name == "authlog" || name == "auth-log") return EventFormat::kAuthLog;
  return Fail(ErrorCode::kInvalidArgument,
              "event format '" + std::string(name) + "' is not one of mica, json, auth.log");
}

Status FieldMap::Add(std::string_view spec) {
  auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size())
    return Fail(ErrorCode::kInvalidArgument,
                "--field '" + std::string(spec) + "' must be FIELD=PATH, e.g. person=actor.alternateId");
  std::string field(spec.substr(0, eq));
  bool known = false;
  for (const char* f : kFields) known = known || field == f;
  if (!known)
    return Fail(ErrorCode::kInvalidArgument,
                "--field '" + field + "' is not an event field (time, person, source_ip, device, "
                                      "user_agent, action, target, mfa_device, session)");
  paths[field] = std::string(spec.substr(eq + 1));
  return {};
}

bool IsInteractive(std::string_view a) {
  for (std::string_view k : {"sso", "vpn", "ssh", "login", "rdp", "sign", "issue", "web"})
    if (StartsWithKind(a, k)) return true;
  return false;
}

bool IsSensitive(std::string_view a) {
  return StartsWithKind(a, "sign") || StartsWithKind(a, "ssh") || StartsWithKind(a, "issue");
}

EventReader::EventReader(EventFormat format, FieldMap fields, int year)
    : format_(format), fields_(std::move(fields)), year_(year) {}

LineResult EventReader::Error(std::string why) {
  error_ = std::move(why);
  return LineResult::kError;
}

LineResult EventReader::Read(std::string_view line, store::AccessEvent& out) {
  line = Trim(line);
  if (line.empty() || line.front() == '#') return LineResult::kSkip;
  // Clear rather than reassign: the strings keep their capacity across lines.
  out.at = 0;
  out.asn = 0;
  for (std::string* f : {&out.person, &out.source_ip, &out.device, &out.user_agent, &out.action,
                         &out.target, &out.mfa_device, &out.session, &out.country, &out.intel})
    f->clear();
  switch (format_) {
    case EventFormat::kMica: return ReadMica(line, out);
    case EventFormat::kJson: return ReadJson(line, out);
    case EventFormat::kAuthLog: return ReadAuthLog(line, out);
  }
  return Error("unknown format");
}

LineResult EventReader::ReadMica(std::string_view line, store::AccessEvent& out) {
  if (!json_.Parse(line)) return Error("not a JSON object: " + json_.error());
  bool have_time = false;
  for (const JsonMember& m : json_.members()) {
    const auto& k = m.key;
    if (m.type == JsonType::kNull) continue;
    if (k == "time") {
      auto t = ParseTime(m.value, m.type == JsonType::kNumber);
      if (!t)
        return Error("\"time\" '" + std::string(m.value.substr(0, 40)) +
                     "' is not RFC 3339 (2026-11-20T09:00:00Z) or Unix seconds");
      out.at = *t;
      have_time = true;
      continue;
    }
    std::string* field = k == "person"       ? &out.person
                         : k == "source_ip"  ? &out.source_ip
                         : k == "device"     ? &out.device
                         : k == "user_agent" ? &out.user_agent
                         : k == "action"     ? &out.action
                         : k == "target"     ? &out.target
                         : k == "mfa_device" ? &out.mfa_device
                         : k == "session"    ? &out.session
                                             : nullptr;
    if (!field) continue;  // other members (source, id, ...) are allowed and ignored
    if (m.type != JsonType::kString)
      return Error("\"" + std::string(k) + "\" must be a string");
    field->assign(m.value);
  }
  if (!have_time) return Error("\"time\" is missing");
  if (out.person.empty()) return Error("\"person\" is missing or empty");
  if (out.action.empty()) return Error("\"action\" is missing or empty");
  return LineResult::kEvent;
}

LineResult EventReader::ReadJson(std::string_view line, store::AccessEvent& out) {
  auto doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Error("not a JSON object");
  bool have_time = false;
  for (const char* f : kFields) {
    auto it = fields_.paths.find(f);
    std::string path = it == fields_.paths.end() ? f : it->second;
    const nlohmann::json* node = &doc;
    std::size_t pos = 0;
    while (node && pos <= path.size()) {
      auto dot = path.find('.', pos);
      if (dot == std::string::npos) dot = path.size();
      std::string part = path.substr(pos, dot - pos);
      if (!node->is_object()) {
        node = nullptr;
        break;
      }
      auto child = node->find(part);
      node = child == node->end() ? nullptr : &*child;
      pos = dot + 1;
    }
    if (!node || node->is_null()) continue;
    if (std::string_view(f) == "time") {
      std::optional<UnixSeconds> t;
      if (node->is_string()) t = ParseTime(node->get_ref<const std::string&>(), false);
      else if (node->is_number()) t = ParseTime(node->dump(), true);
      if (!t) return Error("'" + path + "' is not an RFC 3339 time or Unix seconds");
      out.at = *t;
      have_time = true;
      continue;
    }
    std::string value = node->is_string() ? node->get<std::string>() : node->dump();
    std::string_view name = f;
    if (name == "person") out.person = value;
    else if (name == "source_ip") out.source_ip = value;
    else if (name == "device") out.device = value;
    else if (name == "user_agent") out.user_agent = value;
    else if (name == "action") out.action = value;
    else if (name == "target") out.target = value;
    else if (name == "mfa_device") out.mfa_device = value;
    else if (name == "session") out.session = value;
  }
  auto path_of = [&](const char* f) {
    auto it = fields_.paths.find(f);
    return it == fields_.paths.end() ? std::string(f) : it->second;
  };
  if (!have_time) return Error("no time at '" + path_of("time") + "'");
  if (out.person.empty()) return Error("no person at '" + path_of("person") + "'");
  if (out.action.empty()) return Error("no action at '" + path_of("action") + "'");
  return LineResult::kEvent;
}

// OpenSSH via syslog, in the classic ("Nov 20 09:00:01 host sshd[12]: ...") or the
// RFC 3339 ("2026-11-20T09:00:01.123+00:00 host sshd[12]: ...") timestamp form:
//   Accepted publickey for alice from 203.0.113.5 port 52100 ssh2: ED25519 SHA256:abc
//   Accepted password for bob from 2001:db8::1 port 4022 ssh2
// Only accepted logins become events ("ssh.login", device = the logged-in host, target =
// the key fingerprint); every other line is skipped.
LineResult EventReader::ReadAuthLog(std::string_view line, store::AccessEvent& out) {
  std::string_view rest = line;
  auto first = NextToken(rest);
  if (first.size() >= 10 && first[4] == '-') {
    auto t = ParseRfc3339(first);
    if (!t) return Error("timestamp '" + std::string(first) + "' is not RFC 3339");
    out.at = *t;
  } else {
    int month = MonthOf(first);
    auto day_tok = NextToken(rest);
    auto time_tok = NextToken(rest);
    int day = 0, hh = 0, mm = 0, ss = 0;
    auto num = [](std::string_view s, int& v) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && p == s.data() + s.size();
    };
    if (month == 0 || !num(day_tok, day) || day < 1 || day > 31 || time_tok.size() != 8 ||
        !num(time_tok.substr(0, 2), hh) || !num(time_tok.substr(3, 2), mm) ||
        !num(time_tok.substr(6, 2), ss) || hh > 23 || mm > 59 || ss > 60)
      return Error("not a syslog line (expected 'Mon DD HH:MM:SS host program: message')");
    out.at = DaysFromCivil(year_, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
             hh * 3600 + mm * 60 + ss;
  }
  auto host = NextToken(rest);
  auto program = NextToken(rest);
  if (host.empty() || program.empty()) return Error("syslog line without host and program");
  if (!program.starts_with("sshd")) return LineResult::kSkip;
  rest = Trim(rest);
  if (!rest.starts_with("Accepted ")) return LineResult::kSkip;
  rest.remove_prefix(9);
  auto method = NextToken(rest);
  if (NextToken(rest) != "for") return Error("'Accepted' line without 'for USER'");
  auto user = NextToken(rest);
  if (user == "invalid" ) return LineResult::kSkip;
  if (NextToken(rest) != "from") return Error("'Accepted' line without 'from ADDRESS'");
  auto ip = NextToken(rest);
  if (user.empty() || ip.empty()) return Error("'Accepted' line without user or address");
  out.person.assign(user);
  out.source_ip.assign(ip);
  out.device.assign(host);
  out.action = "ssh.login";
  out.user_agent = "sshd " + std::string(method);
  // "... ssh2: ED25519 SHA256:xxxx" names the key.
  auto fp = rest.find("SHA256:");
  if (fp != std::string_view::npos) {
    auto tail = rest.substr(fp);
    out.target.assign(tail.substr(0, tail.find(' ')));
  }
  return LineResult::kEvent;
}

Result<store::Device> ParseDeviceLine(std::string_view line) {
  auto doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Fail(ErrorCode::kInput, "not a JSON object");
  store::Device d;
  auto str = [&](const char* key, std::string& out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return {};
    if (!it->is_string()) return Fail(ErrorCode::kInput, std::string("\"") + key + "\" must be a string");
    out = it->get<std::string>();
    return {};
  };
  auto strings = [&](const char* key, std::vector<std::string>& out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return {};
    if (!it->is_array())
      return Fail(ErrorCode::kInput, std::string("\"") + key + "\" must be an array of strings");
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v.get<std::string>());
      else if (v.is_object() && v.contains("name") && v["name"].is_string())
        out.push_back(v["name"].get<std::string>());
      else
        return Fail(ErrorCode::kInput, std::string("\"") + key + "\" must hold strings or {\"name\": ...}");
    }
    return {};
  };
  for (auto [k, f] : {std::pair{"device", &d.id}, {"person", &d.person}, {"serial", &d.serial}})
    if (auto s = str(k, *f); !s) return tl::unexpected(s.error());
  if (d.id.empty()) return Fail(ErrorCode::kInput, "\"device\" is missing or empty");
  if (auto it = doc.find("managed"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) return Fail(ErrorCode::kInput, "\"managed\" must be true or false");
    d.managed = it->get<bool>();
  }
  if (auto s = strings("software", d.software); !s) return tl::unexpected(s.error());
  if (auto s = strings("monitors", d.monitors); !s) return tl::unexpected(s.error());
  if (auto it = doc.find("usb"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return Fail(ErrorCode::kInput, "\"usb\" must be an array of objects");
    for (const auto& u : *it) {
      if (!u.is_object()) return Fail(ErrorCode::kInput, "\"usb\" must be an array of objects");
      store::UsbDevice usb;
      for (auto [k, f] : {std::pair{"class", &usb.device_class}, {"vendor", &usb.vendor},
                          {"product", &usb.product}, {"name", &usb.name}}) {
        auto v = u.find(k);
        if (v == u.end() || v->is_null()) continue;
        if (!v->is_string())
          return Fail(ErrorCode::kInput, std::string("usb \"") + k + "\" must be a string");
        *f = v->get<std::string>();
      }
      d.usb.push_back(std::move(usb));
    }
  }
  std::string reported;
  if (auto s = str("reported_at", reported); !s) return tl::unexpected(s.error());
  if (!reported.empty()) {
    auto t = ParseRfc3339(reported);
    if (!t) return Fail(ErrorCode::kInput, "\"reported_at\": " + t.error().message);
    d.reported_at = *t;
  }
  return d;
}

}  // namespace mica::people
