// libFuzzer entry point for ParseContent: every format's parser behind the sniffer.
// The result is checked for the one invariant that holds for any input: an error is
// only ever kInput (nothing recognised), never a crash or an internal error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "x509/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mica::x509::ParseOptions options = [] {
    mica::x509::ParseOptions o;
    o.pkcs12_passwords = {"changeit", "password"};
    return o;
  }();
  auto parsed = mica::x509::ParseContent(mica::ByteView(data, size), options);
  if (!parsed && parsed.error().code != mica::ErrorCode::kInput) std::abort();
  return 0;
}
