// RAII over the OpenSSL handles of the TLS scanner (private to discover/).
//
// The same Ptr / Deleter pattern as x509/internal/openssl.h: every handle goes straight
// into one of these owners, and no *_free call appears anywhere else in the module.
#pragma once

#include <memory>
#include <string>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace mica::discover::internal {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};
template <class T, auto Fn>
using Ptr = std::unique_ptr<T, Deleter<Fn>>;

using SslCtxPtr = Ptr<SSL_CTX, SSL_CTX_free>;
using SslPtr = Ptr<SSL, SSL_free>;

// Pops this thread's OpenSSL error queue into one string ("" when empty), so the queue
// never stays dirty for the next connection.
inline std::string DrainErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace mica::discover::internal
