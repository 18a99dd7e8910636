// A fast reader of one flat JSON object per line (RFC 8259), for the access-event hot
// path: no allocation per member, values as string_views into the line or into a
// scratch buffer for strings with escapes. Nested objects and arrays are accepted and
// skipped (their raw text is the value, type kNested). Anything else that is not JSON
// is an error with the byte offset. Private to the people module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mica::people::internal {

enum class JsonType { kString, kNumber, kBool, kNull, kNested };

struct JsonMember {
  std::string_view key;
  std::string_view value;  // strings unescaped; numbers, true/false/null as written
  JsonType type = JsonType::kString;
};

class FlatJson {
 public:
  // Parses `line`. On failure returns false and error() says why and where. The views
  // stay valid until the next Parse and while `line` lives.
  bool Parse(std::string_view line);
  const std::vector<JsonMember>& members() const { return members_; }
  const std::string& error() const { return error_; }
  // The value of `key` (first occurrence), or nullptr.
  const JsonMember* Find(std::string_view key) const;

 private:
  bool ParseString(std::string_view s, std::size_t& pos, std::string_view& out);
  bool SkipValue(std::string_view s, std::size_t& pos, int depth);
  bool Fail(std::string why, std::size_t pos);

  std::vector<JsonMember> members_;
  std::string scratch_;
  std::string error_;
};

}  // namespace mica::people::internal
