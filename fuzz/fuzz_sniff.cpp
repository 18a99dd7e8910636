// libFuzzer entry point for Sniff: any bytes, no crash, no allocation-driven blowup.
#include <cstddef>
#include <cstdint>

#include "x509/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)mica::x509::Sniff(mica::ByteView(data, size));
  return 0;
}
