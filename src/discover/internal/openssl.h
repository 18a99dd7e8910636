// RAII over the OpenSSL handles of the TLS scanner (private to discover/).
//
// The same Ptr / Deleter pattern as x509/internal/openssl.h: every handle goes straight
// into one of these owners, and no *_free call appears anywhere else in the module.
#pragma once

#include <memory>
#include <string>

#include <openssl/err.h>

#include "core/unique_handle.h"
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace mica::discover::internal {

using ::mica::Deleter;
using ::mica::Ptr;

using SslCtxPtr = Ptr<SSL_CTX, SSL_CTX_free>;
using SslPtr = Ptr<SSL, SSL_free>;

// Pops this thread's OpenSSL error queue into one string ("" when empty), so the queue
// never stays dirty for the next connection.
inline std::string DrainErrors() { return DrainOpenSslErrors(); }

}  // namespace mica::discover::internal
