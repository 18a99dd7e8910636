#include "store/events.h"

#include <cstdio>

namespace mica::store {

namespace {

// RFC 8259 string escaping: '"', '\\' and control characters; every other byte as is
// (invalid UTF-8 included, so the body of any stored value is defined).
void AppendString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out.append(buf);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Every key but the first follows a value.
void AppendKey(std::string& out, const char* key) {
  out.append(",\"");
  out.append(key);
  out.append("\":");
}

}  // namespace

std::string CanonicalEventBody(const Event& e) {
  std::string out;
  AppendCanonicalEventBody(e, out);
  return out;
}

void AppendCanonicalEventBody(const Event& e, std::string& out) {
  out.reserve(out.size() + 256 + e.detail.size() + e.subject.size() + e.location.size());
  out.append("{\"after\":");
  AppendString(out, e.after);
  AppendKey(out, "at");
  out.append(std::to_string(e.at));
  AppendKey(out, "before");
  AppendString(out, e.before);
  AppendKey(out, "detail");
  AppendString(out, e.detail);
  AppendKey(out, "event_id");
  out.append(std::to_string(e.id));
  AppendKey(out, "location");
  AppendString(out, e.location);
  AppendKey(out, "owner");
  AppendString(out, e.owner);
  AppendKey(out, "scan_id");
  out.append(std::to_string(e.scan_id));
  AppendKey(out, "severity");
  AppendString(out, e.severity);
  AppendKey(out, "subject");
  AppendString(out, e.subject);
  AppendKey(out, "type");
  AppendString(out, e.type);
  out.push_back('}');
}

}  // namespace mica::store
