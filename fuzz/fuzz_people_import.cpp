// libFuzzer entry point for the HR export reader (CSV with RFC 4180 quoting, JSON array,
// {"people": [...]}, JSON lines) and the time-zone parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "people/hr_import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)mica::people::ParsePeople(text, "fuzz.csv");
  (void)mica::people::TimezoneOffsetMinutes(text.substr(0, 64));
  return 0;
}
