// The benchmark's OpenSSL peer: a certificate decoded with d2i_X509 and the same fields
// that mica::x509::DecodeCertificate extracts read through OpenSSL's own API.
//
// This is what a straightforward OpenSSL-based inventory would do; bench_parse times it
// beside mica's decoder. It is not part of mica: it lives in bench/ only. Thread-safe (no
// shared state); errors are kInput with OpenSSL's reason.
#pragma once

#include "core/encoding.h"
#include "core/error.h"
#include "x509/identity.h"

namespace mica::bench {

[[nodiscard]] Result<x509::Identity> DecodeWithOpenSsl(ByteView der);

}  // namespace mica::bench
