// libFuzzer entry point for the TLS scanner's target syntax: TARGET arguments (host,
// host:port, [v6]:port, address, CIDR), --ports lists and exclude entries. Any text
// parses or is an error; a CIDR that parses is never larger than the scanner accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "discover/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mica::discover;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = TargetSpec::Parse(text)) {
    if (t->port && (*t->port < 1 || *t->port > 65535)) std::abort();
    if (t->kind == TargetSpec::Kind::kCidr && t->cidr.Size() > kMaxCidrSize) std::abort();
  }
  if (auto ports = ParsePorts(text)) {
    for (int p : *ports)
      if (p < 1 || p > 65535) std::abort();
  }
  (void)Cidr::Parse(text);
  (void)IpAddress::Parse(text);
  ExcludeList exclude;
  (void)exclude.Add(text);
  return 0;
}
