// libFuzzer entry: the fast certificate decoder on arbitrary bytes. It must never crash,
// hang or leak, and whatever OpenSSL's reference reading rejects it must reject too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "x509/certificate.h"
#include "x509/internal/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mica::ByteView input(data, size);
  auto fast = mica::x509::DecodeCertificate(input);
  if (fast) {
    // Accepting what OpenSSL refuses is a bug in the strict reader.
    auto reference = mica::x509::internal::DecodeCertificateWithOpenSsl(input);
    if (!reference) std::abort();
  }
  return 0;
}
