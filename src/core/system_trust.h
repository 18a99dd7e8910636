// The system's trust anchors for an X509_STORE, loaded once into memory.
//
// OpenSSL 3.0's X509_STORE_set_default_paths (and SSL_CTX_set_default_verify_paths)
// adds three lookups: the bundle file, the hashed directory, and an OSSL_STORE lookup
// over the same directory. The last one opens and reads the whole directory
// (/etc/ssl/certs: about 290 entries on Debian) every time an issuer is not found in
// memory, which a TLS scan does for every endpoint whose issuer is not a system root:
// 3 directory reads per handshake, about 10 % of the scanner's CPU. This adds only the
// first two, as OpenSSL 1.1.1 did: the bundle (SSL_CERT_FILE, else OpenSSL's default
// file) is parsed into memory once; the hashed directory (SSL_CERT_DIR, else the
// default directory) costs one failed stat per miss. What is lost: a certificate that
// sits in the directory without its hash link and is not in the bundle is not a root
// (it was not one for OpenSSL 1.1.1 either; update-ca-certificates makes both).
#pragma once

#include <openssl/x509.h>

#include "core/unique_handle.h"

namespace mica {

// A missing bundle or directory only means fewer anchors: errors are drained, not
// returned.
inline void AddSystemTrustAnchors(X509_STORE* store) {
  if (X509_LOOKUP* file = X509_STORE_add_lookup(store, X509_LOOKUP_file()))  // owned by store
    (void)X509_LOOKUP_load_file(file, nullptr, X509_FILETYPE_DEFAULT);
  if (X509_LOOKUP* dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir()))  // owned by store
    (void)X509_LOOKUP_add_dir(dir, nullptr, X509_FILETYPE_DEFAULT);
  (void)DrainOpenSslErrors();
}

}  // namespace mica
