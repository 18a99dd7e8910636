#include "x509/certificate.h"

#include "x509/internal/reference.h"

namespace mica::x509 {

// Temporary: the fast decoder replaces this.
Result<Identity> DecodeCertificate(ByteView der) {
  return internal::DecodeCertificateWithOpenSsl(der);
}

Result<KeyInfo> DecodeSpki(ByteView spki_der) {
  return internal::DecodeSpkiWithOpenSsl(spki_der);
}

}  // namespace mica::x509
