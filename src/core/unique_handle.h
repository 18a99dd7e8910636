// Owners for C library handles: `Ptr<T, Fn>` is a unique_ptr whose deleter calls `Fn`.
//
//   using X509Ptr = Ptr<X509, X509_free>;
//
// Used by every module that wraps a C API (OpenSSL in x509/ and discover/, ...), so that
// each handle goes straight into an owner and no *_free call appears outside a wrapper.
#pragma once

#include <memory>
#include <string>

#include <openssl/err.h>

namespace mica {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};
template <class T, auto Fn>
using Ptr = std::unique_ptr<T, Deleter<Fn>>;

// Pops the whole OpenSSL error queue of this thread into one readable string ("" when
// empty). Call after every failed OpenSSL call so the queue never stays dirty.
inline std::string DrainOpenSslErrors() {
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

}  // namespace mica
