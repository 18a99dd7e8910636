#include "people/hr_import.h"

#include <algorithm>
#include <charconv>
#include <map>

#include <nlohmann/json.hpp>

#include "core/encoding.h"

namespace mica::people {

namespace {

// Standard offsets (minutes) of common IANA zones.
constexpr std::pair<std::string_view, int> kZones[] = {
    {"America/New_York", -300},    {"America/Chicago", -360},   {"America/Denver", -420},
    {"America/Phoenix", -420},     {"America/Los_Angeles", -480}, {"America/Anchorage", -540},
    {"Pacific/Honolulu", -600},    {"America/Toronto", -300},   {"America/Vancouver", -480},
    {"America/Mexico_City", -360}, {"America/Sao_Paulo", -180}, {"America/Argentina/Buenos_Aires", -180},
    {"America/Bogota", -300},      {"America/Lima", -300},      {"Europe/London", 0},
    {"Europe/Dublin", 0},          {"Europe/Lisbon", 0},        {"Europe/Paris", 60},
    {"Europe/Berlin", 60},         {"Europe/Madrid", 60},       {"Europe/Rome", 60},
    {"Europe/Amsterdam", 60},      {"Europe/Brussels", 60},     {"Europe/Zurich", 60},
    {"Europe/Vienna", 60},         {"Europe/Stockholm", 60},    {"Europe/Oslo", 60},
    {"Europe/Copenhagen", 60},     {"Europe/Warsaw", 60},       {"Europe/Prague", 60},
    {"Europe/Budapest", 60},       {"Europe/Athens", 120},      {"Europe/Helsinki", 120},
    {"Europe/Kyiv", 120},          {"Europe/Kiev", 120},        {"Europe/Bucharest", 120},
    {"Europe/Istanbul", 180},      {"Europe/Moscow", 180},      {"Asia/Dubai", 240},
    {"Asia/Karachi", 300},         {"Asia/Kolkata", 330},       {"Asia/Calcutta", 330},
    {"Asia/Dhaka", 360},           {"Asia/Bangkok", 420},       {"Asia/Jakarta", 420},
    {"Asia/Ho_Chi_Minh", 420},     {"Asia/Shanghai", 480},      {"Asia/Hong_Kong", 480},
    {"Asia/Singapore", 480},       {"Asia/Taipei", 480},        {"Asia/Manila", 480},
    {"Asia/Pyongyang", 540},       {"Asia/Seoul", 540},         {"Asia/Tokyo", 540},
    {"Australia/Perth", 480},      {"Australia/Sydney", 600},   {"Australia/Melbourne", 600},
    {"Australia/Brisbane", 600},   {"Pacific/Auckland", 720},   {"Africa/Lagos", 60},
    {"Africa/Cairo", 120},         {"Africa/Johannesburg", 120}, {"Africa/Nairobi", 180},
    {"Asia/Jerusalem", 120},       {"Asia/Tehran", 210},        {"Asia/Riyadh", 180},
    {"UTC", 0},                    {"Etc/UTC", 0},              {"GMT", 0},
};

constexpr const char* kHashFields[] = {"phone", "payment_account", "address", "resume",
                                       "shipping_address"};

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Sets one field of `p` from column `col`; returns an error reason or "".
std::string SetField(store::Person& p, const std::string& col, std::string_view raw) {
  std::string value(raw);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  value.erase(0, std::min(value.find_first_not_of(" \t"), value.size()));
  auto hashed = [&](std::string& out, const char* field) -> std::string {
    if (value.empty()) return "";
    out = HashSensitive(field, value);
    return "";
  };
  auto given_hash = [&](std::string& out) -> std::string {
    if (value.empty()) return "";
    if (!IsHex64(value)) return "must be a hex SHA-256 (64 characters)";
    out = Lower(value);
    return "";
  };
  if (col == "id") p.id = value;
  else if (col == "name") p.name = value;
  else if (col == "email") p.email = value;
  else if (col == "type") {
    std::string t = Lower(value);
    if (t.empty()) t = "employee";
    if (t != "employee" && t != "contractor" && t != "vendor")
      return "'" + value + "' is not employee, contractor or vendor";
    p.type = t;
  } else if (col == "country") {
    if (!value.empty() && (value.size() != 2 || !std::isalpha(static_cast<unsigned char>(value[0])) ||
                           !std::isalpha(static_cast<unsigned char>(value[1]))))
      return "'" + value + "' is not an ISO 3166 alpha-2 country code (US, DE, ...)";
    p.country = value;
    std::transform(p.country.begin(), p.country.end(), p.country.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  } else if (col == "city") p.city = value;
  else if (col == "timezone") {
    if (!value.empty() && !TimezoneOffsetMinutes(value))
      return "time zone '" + value + "' is unknown (use an offset like +05:30 or UTC-5, or a "
                                     "common IANA name)";
    p.timezone = value;
  } else if (col == "manager") p.manager = value;
  else if (col == "start_date") p.start_date = value;
  else if (col == "payment_type") p.payment_type = Lower(value);
  else if (col == "referred_by") p.referred_by = value;
  else if (col == "laptop_serial") p.laptop_serial = value;
  else if (col == "phone") return hashed(p.phone_hash, "phone");
  else if (col == "payment_account") return hashed(p.payment_hash, "payment_account");
  else if (col == "address") return hashed(p.address_hash, "address");
  else if (col == "resume") return hashed(p.resume_hash, "resume");
  else if (col == "shipping_address") return hashed(p.shipping_address_hash, "shipping_address");
  else if (col == "phone_hash") return given_hash(p.phone_hash);
  else if (col == "payment_hash") return given_hash(p.payment_hash);
  else if (col == "address_hash") return given_hash(p.address_hash);
  else if (col == "resume_hash") return given_hash(p.resume_hash);
  else if (col == "shipping_address_hash") return given_hash(p.shipping_address_hash);
  return "";
}

// RFC 4180 records; fields may hold quoted commas and line breaks. `line` is the
// 1-based line where each record starts.
struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};

Result<std::vector<CsvRecord>> SplitCsv(std::string_view text, const std::string& name) {
  std::vector<CsvRecord> out;
  CsvRecord rec;
  std::string field;
  int line = 1;
  rec.line = 1;
  bool quoted = false, field_started = false;
  std::size_t i = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // a UTF-8 BOM from spreadsheet exports
  auto end_record = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
    bool blank = rec.fields.size() == 1 && rec.fields[0].empty();
    if (!blank) out.push_back(std::move(rec));
    rec = CsvRecord{};
    rec.line = line;
    field_started = false;
  };
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      rec.fields.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n') {
      ++line;
      end_record();
    } else if (c == '\r') {
      continue;
    } else if (c == '"') {
      return Fail(ErrorCode::kInput, name + ":" + std::to_string(line) +
                                         ": a quote inside an unquoted field (RFC 4180)");
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (quoted) return Fail(ErrorCode::kInput, name + ":" + std::to_string(rec.line) + ": unterminated quoted field");
  if (!rec.fields.empty() || !field.empty()) end_record();
  return out;
}

Status Finish(store::Person& p, const std::string& where) {
  if (p.id.empty()) return Fail(ErrorCode::kInput, where + ": 'id' is missing or empty");
  if (p.type.empty()) p.type = "employee";
  return {};
}

Result<std::vector<store::Person>> ParseCsv(std::string_view text, const std::string& name) {
  auto records = SplitCsv(text, name);
  if (!records) return tl::unexpected(records.error());
  if (records->empty()) return std::vector<store::Person>{};
  std::vector<std::string> header;
  for (auto& h : records->front().fields) header.push_back(Lower(h));
  if (std::find(header.begin(), header.end(), "id") == header.end())
    return Fail(ErrorCode::kInput, name + ":1: the header has no 'id' column");
  std::vector<store::Person> people;
  for (std::size_t r = 1; r < records->size(); ++r) {
    const auto& rec = (*records)[r];
    std::string where = name + ":" + std::to_string(rec.line);
    if (rec.fields.size() != header.size())
      return Fail(ErrorCode::kInput, where + ": " + std::to_string(rec.fields.size()) +
                                         " fields, the header has " +
                                         std::to_string(header.size()));
    store::Person p;
    for (std::size_t c = 0; c < header.size(); ++c) {
      auto why = SetField(p, header[c], rec.fields[c]);
      if (!why.empty()) return Fail(ErrorCode::kInput, where + ": column '" + header[c] + "': " + why);
    }
    if (auto s = Finish(p, where); !s) return tl::unexpected(s.error());
    people.push_back(std::move(p));
  }
  return people;
}

Result<store::Person> FromJson(const nlohmann::json& obj, const std::string& where) {
  if (!obj.is_object()) return Fail(ErrorCode::kInput, where + ": not a JSON object");
  store::Person p;
  for (const auto& [k, v] : obj.items()) {
    std::string value;
    if (v.is_null()) continue;
    if (v.is_string()) value = v.get<std::string>();
    else if (v.is_number() || v.is_boolean()) value = v.dump();
    else continue;  // nested values are not part of the schema
    auto why = SetField(p, Lower(k), value);
    if (!why.empty()) return Fail(ErrorCode::kInput, where + ": '" + k + "': " + why);
  }
  if (auto s = Finish(p, where); !s) return tl::unexpected(s.error());
  return p;
}

Result<std::vector<store::Person>> ParseJson(std::string_view text, const std::string& name) {
  std::vector<store::Person> people;
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_discarded()) {
    const nlohmann::json* arr = &doc;
    if (doc.is_object() && doc.contains("people")) arr = &doc["people"];
    if (arr->is_object()) {
      auto p = FromJson(*arr, name);
      if (!p) return tl::unexpected(p.error());
      people.push_back(std::move(*p));
      return people;
    }
    if (!arr->is_array())
      return Fail(ErrorCode::kInput, name + ": expected an array of people or {\"people\": [...]}");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto p = FromJson((*arr)[i], name + ": person #" + std::to_string(i + 1));
      if (!p) return tl::unexpected(p.error());
      people.push_back(std::move(*p));
    }
    return people;
  }
  // JSON lines.
  std::size_t pos = 0;
  for (int line = 1; pos < text.size(); ++line) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto row = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (row.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string where = name + ":" + std::to_string(line);
    auto obj = nlohmann::json::parse(row, nullptr, false);
    if (obj.is_discarded()) return Fail(ErrorCode::kInput, where + ": not valid JSON");
    auto p = FromJson(obj, where);
    if (!p) return tl::unexpected(p.error());
    people.push_back(std::move(*p));
  }
  return people;
}

}  // namespace

std::string HashSensitive(std::string_view field, std::string_view raw) {
  std::string norm;
  if (field == "phone") {
    for (char c : raw)
      if ((c >= '0' && c <= '9') || (c == '+' && norm.empty())) norm.push_back(c);
  } else if (field == "payment_account") {
    for (char c : raw)
      if (std::isalnum(static_cast<unsigned char>(c)))
        norm.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  } else {
    bool space = false;
    for (char c : raw) {
      auto u = static_cast<unsigned char>(c);
      if (u >= 0x80 || std::isalnum(u)) {
        if (space && !norm.empty()) norm.push_back(' ');
        space = false;
        norm.push_back(static_cast<char>(std::tolower(u)));
      } else {
        space = true;
      }
    }
  }
  return Sha256Hex(AsBytes(norm));
}

std::optional<int> TimezoneOffsetMinutes(std::string_view tz) {
  for (const auto& [name, offset] : kZones)
    if (tz == name) return offset;
  std::string_view s = tz;
  for (std::string_view prefix : {"UTC", "GMT"})
    if (s.starts_with(prefix)) s.remove_prefix(prefix.size());
  if (s.empty() || s == "Z") return 0;
  if (s[0] != '+' && s[0] != '-') return std::nullopt;
  int sign = s[0] == '-' ? -1 : 1;
  s.remove_prefix(1);
  int hours = 0, minutes = 0;
  auto colon = s.find(':');
  auto hpart = s.substr(0, colon);
  auto [p, ec] = std::from_chars(hpart.data(), hpart.data() + hpart.size(), hours);
  if (ec != std::errc() || p != hpart.data() + hpart.size() || hours > 14) return std::nullopt;
  if (colon != std::string_view::npos) {
    auto mpart = s.substr(colon + 1);
    auto [q, ec2] = std::from_chars(mpart.data(), mpart.data() + mpart.size(), minutes);
    if (ec2 != std::errc() || q != mpart.data() + mpart.size() || minutes > 59) return std::nullopt;
  }
  return sign * (hours * 60 + minutes);
}

Result<std::vector<store::Person>> ParsePeople(std::string_view text, const std::string& name) {
  auto first = text.find_first_not_of(" \t\r\n");
  Result<std::vector<store::Person>> people =
      first != std::string_view::npos && (text[first] == '[' || text[first] == '{')
          ? ParseJson(text, name)
          : ParseCsv(text, name);
  if (!people) return people;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < people->size(); ++i) {
    auto [it, fresh] = seen.emplace((*people)[i].id, i);
    if (!fresh)
      return Fail(ErrorCode::kInput, name + ": person '" + (*people)[i].id +
                                         "' appears twice (records " + std::to_string(it->second + 1) +
                                         " and " + std::to_string(i + 1) + ")");
  }
  (void)kHashFields;
  return people;
}

}  // namespace mica::people
