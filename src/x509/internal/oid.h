// OBJECT IDENTIFIER names, looked up in OpenSSL's tables behind a per-thread cache.
//
// OpenSSL's OBJ_obj2nid takes a global lock and a binary search; the bulk decoder sees the
// same few dozen OIDs millions of times, so each thread keeps what it has looked up.
// All functions take the content octets of the OID (no tag, no length).
#pragma once

#include <string>

#include "core/encoding.h"

namespace mica::x509::internal {

struct OidInfo {
  bool valid = false;        // well-formed (X.690 8.19)
  int nid = 0;               // NID_undef (0) when OpenSSL has no name for it
  const char* sn = nullptr;  // OpenSSL's static short / long names, nullptr when unknown
  const char* ln = nullptr;
};

// Cached; thread-safe (the cache is thread_local).
OidInfo LookupOid(ByteView oid);

// Dotted decimal as OBJ_obj2txt(..., 1) prints it ("1.2.840.113549.1.1.11").
std::string OidDotted(ByteView oid);

// EVP_PKEY_get_bits of an EC key on the named curve `nid` (the bit length of the group
// order), or -1 when OpenSSL does not know the curve. Cached.
int CurveBits(int nid);

}  // namespace mica::x509::internal
