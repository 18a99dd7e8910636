#include "people/internal/flat_json.h"

namespace mica::people::internal {

namespace {

constexpr int kMaxDepth = 64;

void SkipSpace(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\r' || s[pos] == '\n'))
    ++pos;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool FlatJson::Fail(std::string why, std::size_t pos) {
  error_ = std::move(why);
  error_.append(" at byte ").append(std::to_string(pos + 1));
  return false;
}

const JsonMember* FlatJson::Find(std::string_view key) const {
  for (const auto& m : members_)
    if (m.key == key) return &m;
  return nullptr;
}

bool FlatJson::ParseString(std::string_view s, std::size_t& pos, std::string_view& out) {
  // s[pos] == '"'
  std::size_t start = ++pos;
  while (pos < s.size() && s[pos] != '"' && s[pos] != '\\') {
    if (static_cast<unsigned char>(s[pos]) < 0x20) return Fail("control character in a string", pos);
    ++pos;
  }
  if (pos >= s.size()) return Fail("unterminated string", start - 1);
  if (s[pos] == '"') {
    out = s.substr(start, pos - start);
    ++pos;
    return true;
  }
  // Escapes: unescape into the scratch buffer, which was reserved to the line's size, so
  // earlier views into it stay valid (unescaped text is never longer than escaped).
  std::size_t begin = scratch_.size();
  scratch_.append(s.data() + start, pos - start);
  while (pos < s.size() && s[pos] != '"') {
    char c = s[pos];
    if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in a string", pos);
    if (c != '\\') {
      scratch_.push_back(c);
      ++pos;
      continue;
    }
    if (pos + 1 >= s.size()) return Fail("unterminated escape", pos);
    char e = s[pos + 1];
    pos += 2;
    switch (e) {
      case '"': scratch_.push_back('"'); break;
      case '\\': scratch_.push_back('\\'); break;
      case '/': scratch_.push_back('/'); break;
      case 'b': scratch_.push_back('\b'); break;
      case 'f': scratch_.push_back('\f'); break;
      case 'n': scratch_.push_back('\n'); break;
      case 'r': scratch_.push_back('\r'); break;
      case 't': scratch_.push_back('\t'); break;
      case 'u': {
        auto read4 = [&](std::size_t at, unsigned& v) {
          if (at + 4 > s.size()) return false;
          v = 0;
          for (std::size_t i = 0; i < 4; ++i) {
            int d = HexDigit(s[at + i]);
            if (d < 0) return false;
            v = v * 16 + static_cast<unsigned>(d);
          }
          return true;
        };
        unsigned cp;
        if (!read4(pos, cp)) return Fail("bad \\u escape", pos);
        pos += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (pos + 6 <= s.size() && s[pos] == '\\' && s[pos + 1] == 'u' && read4(pos + 2, lo) &&
              lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            pos += 6;
          } else {
            cp = 0xFFFD;  // a lone surrogate becomes U+FFFD
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        AppendUtf8(scratch_, cp);
        break;
      }
      default:
        return Fail("bad escape", pos - 2);
    }
  }
  if (pos >= s.size()) return Fail("unterminated string", start - 1);
  ++pos;
  out = std::string_view(scratch_).substr(begin);
  return true;
}

bool FlatJson::SkipValue(std::string_view s, std::size_t& pos, int depth) {
  if (depth > kMaxDepth) return Fail("nested too deeply", pos);
  SkipSpace(s, pos);
  if (pos >= s.size()) return Fail("value expected", pos);
  char c = s[pos];
  if (c == '"') {
    std::string_view ignored;
    return ParseString(s, pos, ignored);
  }
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    ++pos;
    SkipSpace(s, pos);
    if (pos < s.size() && s[pos] == close) {
      ++pos;
      return true;
    }
    for (;;) {
      if (c == '{') {
        SkipSpace(s, pos);
        if (pos >= s.size() || s[pos] != '"') return Fail("member name expected", pos);
        std::string_view ignored;
        if (!ParseString(s, pos, ignored)) return false;
        SkipSpace(s, pos);
        if (pos >= s.size() || s[pos] != ':') return Fail("':' expected", pos);
        ++pos;
      }
      if (!SkipValue(s, pos, depth + 1)) return false;
      SkipSpace(s, pos);
      if (pos >= s.size()) return Fail("unterminated object or array", pos);
      if (s[pos] == ',') {
        ++pos;
        continue;
      }
      if (s[pos] == close) {
        ++pos;
        return true;
      }
      return Fail("',' or end of object or array expected", pos);
    }
  }
  std::size_t start = pos;
  if (c == '-' || (c >= '0' && c <= '9')) {
    ++pos;
    while (pos < s.size() && ((s[pos] >= '0' && s[pos] <= '9') || s[pos] == '.' || s[pos] == 'e' ||
                              s[pos] == 'E' || s[pos] == '+' || s[pos] == '-'))
      ++pos;
    return true;
  }
  for (std::string_view lit : {"true", "false", "null"}) {
    if (s.substr(start, lit.size()) == lit) {
      pos += lit.size();
      return true;
    }
  }
  return Fail("unexpected character", pos);
}

bool FlatJson::Parse(std::string_view s) {
  members_.clear();
  scratch_.clear();
  scratch_.reserve(s.size());
  error_.clear();
  std::size_t pos = 0;
  SkipSpace(s, pos);
  if (pos >= s.size() || s[pos] != '{') return Fail("a JSON object expected", pos);
  ++pos;
  SkipSpace(s, pos);
  if (pos < s.size() && s[pos] == '}') {
    ++pos;
  } else {
    for (;;) {
      SkipSpace(s, pos);
      if (pos >= s.size() || s[pos] != '"') return Fail("member name expected", pos);
      JsonMember m;
      if (!ParseString(s, pos, m.key)) return false;
      SkipSpace(s, pos);
      if (pos >= s.size() || s[pos] != ':') return Fail("':' expected", pos);
      ++pos;
      SkipSpace(s, pos);
      if (pos >= s.size()) return Fail("value expected", pos);
      std::size_t start = pos;
      char c = s[pos];
      if (c == '"') {
        if (!ParseString(s, pos, m.value)) return false;
        m.type = JsonType::kString;
      } else {
        if (!SkipValue(s, pos, 1)) return false;
        m.value = s.substr(start, pos - start);
        m.type = c == '{' || c == '['  ? JsonType::kNested
                 : c == 't' || c == 'f' ? JsonType::kBool
                 : c == 'n'             ? JsonType::kNull
                                        : JsonType::kNumber;
      }
      members_.push_back(m);
      SkipSpace(s, pos);
      if (pos < s.size() && s[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        break;
      }
      return Fail("',' or '}' expected", pos);
    }
  }
  SkipSpace(s, pos);
  if (pos != s.size()) return Fail("text after the object", pos);
  return true;
}

}  // namespace mica::people::internal
