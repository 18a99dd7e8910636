// libFuzzer entry point for the IP intelligence list readers (CIDR / IP / range lines,
// CSV, Tor exit-addresses, AWS / GCP / Azure JSON) and the address parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "people/intel.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = mica::people::ParseIntelList(text, "vpn-fuzz.txt", "vpn");
  if (list) {
    for (std::string_view probe : {"10.0.0.1", "2001:db8::1", "255.255.255.255", "::"})
      (void)list->Contains(*mica::people::ParseIp(probe));
  }
  (void)mica::people::ParseIp(text.substr(0, 64));
  (void)mica::people::CategoryOfFile(text.substr(0, 64));
  return 0;
}
