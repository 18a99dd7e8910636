// libFuzzer entry point for the access-event readers (mica JSON lines with the flat JSON
// scanner, generic JSON with field paths, OpenSSH auth.log) and the endpoint-inventory
// reader: any bytes, line by line, never a crash; errors are values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "people/events.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static mica::people::EventReader mica_reader(mica::people::EventFormat::kMica);
  static mica::people::EventReader auth_reader(mica::people::EventFormat::kAuthLog, {}, 2026);
  static mica::people::EventReader json_reader = [] {
    mica::people::FieldMap m;
    (void)m.Add("person=actor.alternateId");
    (void)m.Add("time=published");
    (void)m.Add("source_ip=client.ipAddress");
    return mica::people::EventReader(mica::people::EventFormat::kJson, m);
  }();
  mica::store::AccessEvent e;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto line = text.substr(pos, nl - pos);
    (void)mica_reader.Read(line, e);
    (void)auth_reader.Read(line, e);
    (void)json_reader.Read(line, e);
    (void)mica::people::ParseDeviceLine(line);
    (void)mica::people::IsInteractive(line);
    pos = nl + 1;
  }
  return 0;
}
