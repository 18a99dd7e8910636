#include "x509/internal/oid.h"

#include <openssl/ec.h>
#include <openssl/objects.h>

#include <string_view>
#include <unordered_map>

#include "x509/internal/der.h"
#include "x509/internal/openssl.h"

namespace mica::x509::internal {

namespace {

using EcGroupPtr = Ptr<EC_GROUP, EC_GROUP_free>;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Bounded so that a stream of certificates full of random OIDs cannot grow it forever;
// entries are returned by value, so clearing never leaves a caller with a dangling one.
constexpr size_t kMaxCacheEntries = 4096;

Asn1ObjectPtr MakeObject(ByteView oid) {
  // get1: a new object holding a copy of the content octets.
  return Asn1ObjectPtr(ASN1_OBJECT_create(NID_undef, const_cast<unsigned char*>(oid.data()),
                                          static_cast<int>(oid.size()), nullptr, nullptr));
}

}  // namespace

OidInfo LookupOid(ByteView oid) {
  thread_local std::unordered_map<std::string, OidInfo, StringHash, std::equal_to<>> cache;
  const std::string_view key = AsChars(oid);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  OidInfo info;
  info.valid = der::IsValidOid(oid);
  if (info.valid) {
    Asn1ObjectPtr obj = MakeObject(oid);
    if (obj) {
      info.nid = OBJ_obj2nid(obj.get());
      if (info.nid != NID_undef) {
        info.sn = OBJ_nid2sn(info.nid);
        info.ln = OBJ_nid2ln(info.nid);
      }
    }
    ERR_clear_error();
  }
  if (cache.size() >= kMaxCacheEntries) cache.clear();
  cache.emplace(std::string(key), info);
  return info;
}

std::string OidDotted(ByteView oid) {
  // Own conversion for the common case; OpenSSL (bignum arithmetic) for arcs beyond 2^56.
  std::string out;
  std::uint64_t v = 0;
  bool first = true;
  bool small = true;
  for (std::uint8_t b : oid) {
    if (v >> 56) {
      small = false;
      break;
    }
    v = (v << 7) | (b & 0x7f);
    if (b & 0x80) continue;
    if (first) {
      // X.690 8.19.4: the first subidentifier packs the first two arcs.
      const std::uint64_t top = v < 40 ? 0 : v < 80 ? 1 : 2;
      out += std::to_string(top);
      out += '.';
      out += std::to_string(v - top * 40);
      first = false;
    } else {
      out += '.';
      out += std::to_string(v);
    }
    v = 0;
  }
  if (small && !first) return out;
  Asn1ObjectPtr obj = MakeObject(oid);
  if (!obj) return "";
  const int n = OBJ_obj2txt(nullptr, 0, obj.get(), 1);
  if (n <= 0) return "";
  std::string text(static_cast<size_t>(n) + 1, '\0');
  OBJ_obj2txt(text.data(), n + 1, obj.get(), 1);
  text.resize(static_cast<size_t>(n));
  ERR_clear_error();
  return text;
}

int CurveBits(int nid) {
  thread_local std::unordered_map<int, int> cache;
  if (auto it = cache.find(nid); it != cache.end()) return it->second;
  int bits = -1;
  // get1: the group is owned here.
  if (EcGroupPtr group(EC_GROUP_new_by_curve_name(nid)); group) bits = EC_GROUP_order_bits(group.get());
  ERR_clear_error();
  if (cache.size() >= kMaxCacheEntries) cache.clear();
  cache.emplace(nid, bits);
  return bits;
}

}  // namespace mica::x509::internal
