// The fast certificate decoder: mica's own strict DER reading of RFC 5280 section 4.1.
//
// It computes every field exactly as reference.cpp does through OpenSSL's API (the
// differential test holds the two together), but without decoding the public key or
// building OpenSSL objects, so a certificate costs a few microseconds. Where OpenSSL's
// result depends on OpenSSL itself (names of OIDs, key types it must decode, signature
// checks of self-issued certificates) this file asks OpenSSL, behind caches.
//
// Strictness follows OpenSSL where its d2i_X509 is strict (the name value checks below
// mirror x509_name_ex_d2i and its canonicalisation), and is stricter than OpenSSL where
// OpenSSL accepts BER (indefinite or non-minimal lengths, constructed strings): those are
// rejected, because DER is what RFC 5280 section 4.1 requires.
#include "x509/certificate.h"

#include <openssl/core_names.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <ctime>
#include <unordered_map>

#include <arpa/inet.h>

#include "x509/internal/der.h"
#include "x509/internal/oid.h"
#include "x509/internal/openssl.h"
#include "x509/internal/reference.h"

namespace mica::x509 {

namespace {

using internal::LookupOid;
using internal::OidDotted;
using internal::OidInfo;
using internal::der::InputError;
using internal::der::Reader;
using internal::der::Tlv;
namespace der = internal::der;

#define MICA_TRY(var, expr)                                  \
  auto var##_result = (expr);                                \
  if (!var##_result) return tl::unexpected(var##_result.error()); \
  auto& var = *var##_result

#define MICA_CHECK(expr)                          \
  do {                                            \
    auto check_result_ = (expr);                  \
    if (!check_result_) return tl::unexpected(check_result_.error()); \
  } while (0)

// Returns true when `a` (OID content octets) equals the literal.
template <size_t N>
bool OidIs(ByteView a, const std::uint8_t (&lit)[N]) {
  return a.size() == N && std::memcmp(a.data(), lit, N) == 0;
}

// Extension OIDs (RFC 5280 4.2.1, RFC 6962 3.3).
constexpr std::uint8_t kOidSan[] = {0x55, 0x1d, 0x11};
constexpr std::uint8_t kOidKeyUsage[] = {0x55, 0x1d, 0x0f};
constexpr std::uint8_t kOidEku[] = {0x55, 0x1d, 0x25};
constexpr std::uint8_t kOidBasicConstraints[] = {0x55, 0x1d, 0x13};
constexpr std::uint8_t kOidSki[] = {0x55, 0x1d, 0x0e};
constexpr std::uint8_t kOidAki[] = {0x55, 0x1d, 0x23};
constexpr std::uint8_t kOidCrlDp[] = {0x55, 0x1d, 0x1f};
constexpr std::uint8_t kOidPolicies[] = {0x55, 0x1d, 0x20};
constexpr std::uint8_t kOidAia[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01};
constexpr std::uint8_t kOidSct[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02};
constexpr std::uint8_t kOidOcsp[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01};
constexpr std::uint8_t kOidCaIssuers[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02};
constexpr std::uint8_t kOidQtCps[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x02, 0x01};
constexpr std::uint8_t kOidQtUnotice[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x02, 0x02};
// Name attributes of NameParts (RFC 5280 appendix A.1).
constexpr std::uint8_t kOidCn[] = {0x55, 0x04, 0x03};
constexpr std::uint8_t kOidO[] = {0x55, 0x04, 0x0a};
constexpr std::uint8_t kOidOu[] = {0x55, 0x04, 0x0b};
constexpr std::uint8_t kOidC[] = {0x55, 0x04, 0x06};
// Key algorithms (RFC 3279, RFC 5480, RFC 8410).
constexpr std::uint8_t kOidRsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
constexpr std::uint8_t kOidEcPublicKey[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
constexpr std::uint8_t kOidDsa[] = {0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01};
constexpr std::uint8_t kOidX25519[] = {0x2b, 0x65, 0x6e};
constexpr std::uint8_t kOidX448[] = {0x2b, 0x65, 0x6f};
constexpr std::uint8_t kOidEd25519[] = {0x2b, 0x65, 0x70};
constexpr std::uint8_t kOidEd448[] = {0x2b, 0x65, 0x71};

constexpr char kHexUpper[] = "0123456789ABCDEF";

bool IsSurrogate(std::uint32_t c) { return c >= 0xd800 && c <= 0xdfff; }
bool IsUnicode(std::uint32_t c) { return c <= 0x10ffff && !IsSurrogate(c); }

void AppendUtf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

// One UTF-8 character as OpenSSL's UTF8_getc accepts it (no overlong forms, no
// surrogates, at most 4 bytes); returns its length or 0 when invalid.
size_t DecodeUtf8(ByteView s, size_t i, std::uint32_t& c) {
  const size_t left = s.size() - i;
  const std::uint8_t b = s[i];
  auto cont = [&](size_t k) { return (s[i + k] & 0xc0) == 0x80; };
  if (b < 0x80) {
    c = b;
    return 1;
  }
  if ((b & 0xe0) == 0xc0) {
    if (left < 2 || !cont(1)) return 0;
    c = ((b & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
    return c < 0x80 ? 0 : 2;
  }
  if ((b & 0xf0) == 0xe0) {
    if (left < 3 || !cont(1) || !cont(2)) return 0;
    c = ((b & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
    return (c < 0x800 || IsSurrogate(c)) ? 0 : 3;
  }
  if ((b & 0xf8) == 0xf0) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    c = ((b & 0x07u) << 18) | ((s[i + 1] & 0x3fu) << 12) | ((s[i + 2] & 0x3fu) << 6) |
        (s[i + 3] & 0x3fu);
    return c < 0x10000 ? 0 : 4;
  }
  return 0;
}

bool ValidUtf8(ByteView s) {
  for (size_t i = 0; i < s.size();) {
    std::uint32_t c = 0;
    const size_t n = DecodeUtf8(s, i, c);
    if (n == 0 || !IsUnicode(c)) return false;
    i += n;
  }
  return true;
}

bool ValidBmp(ByteView s) {
  if (s.size() % 2) return false;
  for (size_t i = 0; i < s.size(); i += 2)
    if (IsSurrogate((std::uint32_t{s[i]} << 8) | s[i + 1])) return false;
  return true;
}

bool ValidUniversal(ByteView s) {
  if (s.size() % 4) return false;
  for (size_t i = 0; i < s.size(); i += 4) {
    const std::uint32_t c = (std::uint32_t{s[i]} << 24) | (std::uint32_t{s[i + 1]} << 16) |
                            (std::uint32_t{s[i + 2]} << 8) | s[i + 3];
    if (!IsUnicode(c)) return false;
  }
  return true;
}

bool ValidBitString(ByteView c) { return !c.empty() && c[0] <= 7; }

// What OpenSSL's ASN1 decoder checks in an ANY (asn1_ex_c2i): the universal primitives
// must be well formed. Strings may not be constructed (that is BER).
bool ValidAny(const Tlv& t) {
  if ((t.tag & der::kClassMask) != 0) return true;  // stored as it is
  const int number = t.tag & 0x1f;
  const bool cons = t.constructed();
  if (number == 16 || number == 17) return cons;
  if (cons) return false;
  switch (number) {
    case 0: return false;
    case 1: return t.value.size() == 1;
    case 2:
    case 10: return der::IsMinimalInteger(t.value);
    case 3: return ValidBitString(t.value);
    case 5: return t.value.empty();
    case 6: return der::IsValidOid(t.value);
    case 28: return t.value.size() % 4 == 0;
    case 30: return t.value.size() % 2 == 0;
    default: return true;
  }
}

// ---------------------------------------------------------------------------------------
// Digests. core's Sha256() fetches the algorithm on every call, which takes OpenSSL's
// global lock; the bulk path fetches once and keeps one context per thread.

enum class Digest { kSha256, kSha1 };

std::string FastDigestHex(Digest which, ByteView data) {
  // get1: fetched once for the process, never freed (they live as long as libcrypto).
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  thread_local internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = which == Digest::kSha256 ? kSha256 : kSha1;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (md == nullptr || !ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
    ERR_clear_error();
    return which == Digest::kSha256 ? Sha256Hex(data) : ToHex(Sha1(data));  // the slow way
  }
  return ToHex(ByteView(out, len));
}

// ---------------------------------------------------------------------------------------
// Names (RFC 5280 4.1.2.4)

struct NameEntry {
  ByteView oid;
  Tlv value;
  int set = 0;  // index of the RDN
};

struct NameEntries : std::vector<NameEntry> {
  int rdns = 0;             // RelativeDistinguishedNames, empty ones included
  bool empty_rdn = false;   // an RDN without attributes (vanishes from OpenSSL's canon form)
};

// The value types OpenSSL's X509_NAME_ENTRY accepts (ASN1_PRINTABLE: B_ASN1_PRINTABLE).
bool NameValueTagAllowed(int number) {
  switch (number) {
    case 3: case 7: case 8: case 9: case 11: case 12: case 13: case 14: case 15: case 16:
    case 18: case 19: case 20: case 22: case 28: case 29: case 30:
      return true;
    default:
      return false;
  }
}

// Checks one AttributeTypeAndValue value the way d2i_X509_NAME does; `canon` adds the
// checks of OpenSSL's canonical form (conversion of the string types to UTF-8).
Status CheckNameValue(const Tlv& v, bool canon) {
  if ((v.tag & der::kClassMask) != 0) return InputError("name value is not a universal type", v.offset);
  const int number = v.tag & 0x1f;
  if (!NameValueTagAllowed(number)) return InputError("name value of a type not allowed", v.offset);
  if (number == 16) {
    if (!v.constructed()) return InputError("primitive SEQUENCE in a name value", v.offset);
    return {};
  }
  if (v.constructed()) return InputError("constructed string in a name value (BER)", v.offset);
  bool ok = true;
  switch (number) {
    case 3: ok = ValidBitString(v.value); break;
    case 12: ok = !canon || ValidUtf8(v.value); break;
    case 28: ok = canon ? ValidUniversal(v.value) : v.value.size() % 4 == 0; break;
    case 30: ok = canon ? ValidBmp(v.value) : v.value.size() % 2 == 0; break;
    default: break;
  }
  if (!ok) return InputError("invalid string encoding in a name value", v.offset);
  return {};
}

Status ParseAttribute(Reader& set_reader, int set, bool canon, NameEntries& out) {
  MICA_TRY(atv, set_reader.ExpectEnter(der::kSequence, "AttributeTypeAndValue"));
  MICA_TRY(type, atv.Expect(der::kOid, "attribute type"));
  if (!der::IsValidOid(type.value)) return InputError("malformed attribute type OID", type.offset);
  MICA_TRY(value, atv.Next());
  MICA_CHECK(CheckNameValue(value, canon));
  MICA_CHECK(atv.ExpectEnd("AttributeTypeAndValue"));
  out.push_back(NameEntry{type.value, value, set});
  return {};
}

// Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue).
Status ParseName(const Tlv& name, NameEntries& out) {
  out.clear();
  out.rdns = 0;
  out.empty_rdn = false;
  Reader top(ByteView{}, 0);
  {
    MICA_TRY(r, Reader(name.whole, name.offset).ExpectEnter(der::kSequence, "Name"));
    top = r;
  }
  int set = 0;
  while (!top.empty()) {
    MICA_TRY(rdn, top.ExpectEnter(der::kSet, "RelativeDistinguishedName"));
    if (rdn.empty()) out.empty_rdn = true;
    while (!rdn.empty()) MICA_CHECK(ParseAttribute(rdn, set, true, out));
    ++set;
  }
  out.rdns = set;
  return {};
}

void AppendHexDump(std::string& out, ByteView bytes) {
  for (std::uint8_t b : bytes) {
    out += kHexUpper[b >> 4];
    out += kHexUpper[b & 15];
  }
}

// do_dump of OpenSSL: '#' and the hex of the value's DER as i2d_ASN1_TYPE re-encodes it.
void AppendDump(std::string& out, const Tlv& v) {
  out += '#';
  if (v.tag == der::kBitString && !v.value.empty()) {
    // c2i_ASN1_BIT_STRING clears the unused bits, i2c writes them back cleared; an empty
    // bit string is written with 0 unused bits.
    const std::uint8_t unused = v.value.size() == 1 ? 0 : v.value[0];
    const size_t len = v.value.size();
    std::uint8_t header[6];
    size_t h = 0;
    header[h++] = v.tag;
    if (len < 0x80) {
      header[h++] = static_cast<std::uint8_t>(len);
    } else {
      size_t bytes = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
      header[h++] = static_cast<std::uint8_t>(0x80 | bytes);
      while (bytes--) header[h++] = static_cast<std::uint8_t>(len >> (8 * bytes));
    }
    AppendHexDump(out, ByteView(header, h));
    const std::uint8_t unused_byte[1] = {unused};
    AppendHexDump(out, ByteView(unused_byte, 1));
    if (len > 1) {
      AppendHexDump(out, v.value.subspan(1, len - 2));
      const std::uint8_t last[1] = {static_cast<std::uint8_t>(v.value[len - 1] & (0xff << unused))};
      AppendHexDump(out, ByteView(last, 1));
    }
    return;
  }
  AppendHexDump(out, v.whole);
}

// RFC 2253 section 2.4 escaping as OpenSSL's do_esc_char applies it with
// ESC_2253 | ESC_CTRL (not ESC_MSB: bytes >= 0x80 pass through as UTF-8).
void AppendEscapedAscii(std::string& out, std::uint8_t c, bool first, bool last) {
  bool backslash = false;
  switch (c) {
    case ',': case '+': case '"': case '\\': case '<': case '>': case ';':
      backslash = true;
      break;
    case '#':
      backslash = first;
      break;
    case ' ':
      backslash = first || last;
      break;
    default:
      break;
  }
  if (backslash) {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c < 0x20 || c == 0x7f) {
    out += '\\';
    out += kHexUpper[c >> 4];
    out += kHexUpper[c & 15];
  } else {
    out += static_cast<char>(c);
  }
}

// do_buf: one character at a time; "first" is only the first character, and the last
// character is "last" only (OpenSSL overwrites the flag), so a one-character value is
// escaped as a last character.
void AppendEscapedValue(std::string& out, const Tlv& v) {
  const int number = v.tag & 0x1f;
  int width;
  bool convert;
  switch (number) {
    case 12: width = 1; convert = false; break;  // UTF-8 printed byte by byte
    case 18: case 19: case 20: case 22: width = 1; convert = true; break;
    case 28: width = 4; convert = true; break;
    case 30: width = 2; convert = true; break;
    default:
      AppendDump(out, v);
      return;
  }
  const ByteView s = v.value;
  for (size_t i = 0; i < s.size(); i += static_cast<size_t>(width)) {
    std::uint32_t c = 0;
    for (int k = 0; k < width; ++k) c = (c << 8) | s[i + static_cast<size_t>(k)];
    bool first = i == 0;
    const bool last = i + static_cast<size_t>(width) == s.size();
    if (last) first = false;
    if (c < 0x80) {
      AppendEscapedAscii(out, static_cast<std::uint8_t>(c), first, last);
    } else if (!convert) {
      out += static_cast<char>(c);
    } else if (IsUnicode(c)) {
      AppendUtf8(out, c);
    }
  }
}

void AppendName(std::string& out, const NameEntries& entries) {
  out.clear();
  int prev = -1;
  // XN_FLAG_DN_REV: the last RDN first (RFC 4514 section 2.1), every entry reversed.
  for (size_t i = entries.size(); i-- > 0;) {
    const NameEntry& e = entries[i];
    if (prev != -1) out += (prev == e.set) ? '+' : ',';
    prev = e.set;
    const OidInfo info = LookupOid(e.oid);
    if (info.sn != nullptr) {
      out += info.sn;
      out += '=';
      AppendEscapedValue(out, e.value);
    } else {
      // OpenSSL prints unknown types in an 80-byte buffer, and dumps their values.
      std::string dotted = OidDotted(e.oid);
      if (dotted.size() > 79) dotted.resize(79);
      out += dotted;
      out += '=';
      AppendDump(out, e.value);
    }
  }
}

// ASN1_STRING_to_UTF8 of a name value; "" for types it does not convert.
std::string ValueUtf8(const Tlv& v) {
  std::string out;
  const ByteView s = v.value;
  switch (v.tag) {
    case der::kUtf8String:
      out.assign(reinterpret_cast<const char*>(s.data()), s.size());
      break;
    case 0x12: case der::kPrintableString: case der::kT61String: case der::kIa5String:
      for (std::uint8_t b : s) AppendUtf8(out, b);
      break;
    case der::kBmpString:
      for (size_t i = 0; i + 1 < s.size(); i += 2) AppendUtf8(out, (std::uint32_t{s[i]} << 8) | s[i + 1]);
      break;
    case der::kUniversalString:
      for (size_t i = 0; i + 3 < s.size(); i += 4)
        AppendUtf8(out, (std::uint32_t{s[i]} << 24) | (std::uint32_t{s[i + 1]} << 16) |
                            (std::uint32_t{s[i + 2]} << 8) | s[i + 3]);
      break;
    default:
      break;
  }
  return out;
}

NameParts PartsOf(const NameEntries& entries) {
  NameParts p;
  bool cn = false, o = false, ou = false, c = false;
  for (const NameEntry& e : entries) {
    if (!cn && OidIs(e.oid, kOidCn)) { p.cn = ValueUtf8(e.value); cn = true; }
    else if (!o && OidIs(e.oid, kOidO)) { p.o = ValueUtf8(e.value); o = true; }
    else if (!ou && OidIs(e.oid, kOidOu)) { p.ou = ValueUtf8(e.value); ou = true; }
    else if (!c && OidIs(e.oid, kOidC)) { p.c = ValueUtf8(e.value); c = true; }
  }
  return p;
}

bool IsSpace(std::uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// OpenSSL's canonical form of an ASCII value (asn1_string_canon): trimmed, inner runs of
// white space collapsed to one space, lower case.
std::string CanonAscii(ByteView s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  std::string out;
  for (size_t i = b; i < e;) {
    if (IsSpace(s[i])) {
      out += ' ';
      while (i < e && IsSpace(s[i])) ++i;
    } else {
      const std::uint8_t c = s[i++];
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
  return out;
}

// 1 equal, 0 different, -1 undecided (left to X509_NAME_cmp).
int CompareValues(const Tlv& a, const Tlv& b) {
  auto canon_1byte = [](std::uint8_t tag) {
    return tag == der::kUtf8String || tag == der::kPrintableString || tag == der::kT61String ||
           tag == der::kIa5String;
  };
  auto ascii = [](ByteView s) {
    return std::all_of(s.begin(), s.end(), [](std::uint8_t c) { return c < 0x80; });
  };
  const bool ca = canon_1byte(a.tag), cb = canon_1byte(b.tag);
  if (ca && cb && ascii(a.value) && ascii(b.value))
    return CanonAscii(a.value) == CanonAscii(b.value) ? 1 : 0;
  auto non_canon = [](std::uint8_t tag) {
    return !(tag == der::kUtf8String || tag == der::kPrintableString || tag == der::kT61String ||
             tag == der::kIa5String || tag == der::kBmpString || tag == der::kUniversalString);
  };
  if (non_canon(a.tag) && non_canon(b.tag)) {
    return (a.tag == b.tag && a.value.size() == b.value.size() &&
            std::equal(a.value.begin(), a.value.end(), b.value.begin()))
               ? 1
               : 0;
  }
  if (non_canon(a.tag) != non_canon(b.tag)) return 0;  // canonical types differ
  return -1;
}

// X509_NAME_cmp(subject, issuer) == 0, deciding cheaply when it can.
bool NamesMatch(const Tlv& subject, const Tlv& issuer, const NameEntries& s, const NameEntries& i) {
  if (subject.whole.size() == issuer.whole.size() &&
      std::equal(subject.whole.begin(), subject.whole.end(), issuer.whole.begin()))
    return true;
  bool undecided = false;
  if (s.empty_rdn || i.empty_rdn) {
    undecided = true;  // empty RDNs vanish from the canonical form; let OpenSSL decide
  } else if (s.size() != i.size() || s.rdns != i.rdns) {
    return false;  // a different structure has a different canonical encoding
  } else {
    for (size_t k = 0; k < s.size(); ++k) {
      const bool s_multi = (k > 0 && s[k - 1].set == s[k].set) ||
                           (k + 1 < s.size() && s[k + 1].set == s[k].set);
      const bool i_multi = (k > 0 && i[k - 1].set == i[k].set) ||
                           (k + 1 < i.size() && i[k + 1].set == i[k].set);
      if (s_multi || i_multi || s[k].set != i[k].set) {
        undecided = true;
        continue;
      }
      if (!std::equal(s[k].oid.begin(), s[k].oid.end(), i[k].oid.begin(), i[k].oid.end())) return false;
      const int cmp = CompareValues(s[k].value, i[k].value);
      if (cmp == 0) return false;
      if (cmp < 0) undecided = true;
    }
    if (!undecided) return true;
  }
  const unsigned char* ps = subject.whole.data();
  const unsigned char* pi = issuer.whole.data();
  // get1: both names are owned here.
  internal::X509NamePtr sn(d2i_X509_NAME(nullptr, &ps, static_cast<long>(subject.whole.size())));
  internal::X509NamePtr in(d2i_X509_NAME(nullptr, &pi, static_cast<long>(issuer.whole.size())));
  const bool match = sn && in && X509_NAME_cmp(sn.get(), in.get()) == 0;
  ERR_clear_error();
  return match;
}

// ---------------------------------------------------------------------------------------
// Times (RFC 5280 4.1.2.5)

bool Digits(ByteView s, size_t pos, size_t n, int& out) {
  int v = 0;
  for (size_t k = pos; k < pos + n; ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
    v = v * 10 + (s[k] - '0');
  }
  out = v;
  return true;
}

Result<UnixSeconds> ParseTime(const Tlv& t, const char* what) {
  if (t.tag != der::kUtcTime && t.tag != der::kGeneralizedTime)
    return InputError(std::string("bad tag for ") + what, t.offset);
  const ByteView s = t.value;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  bool ok = false;
  // The RFC 5280 forms: YYMMDDHHMMSSZ and YYYYMMDDHHMMSSZ.
  if (t.tag == der::kUtcTime && s.size() == 13 && s[12] == 'Z' && Digits(s, 0, 2, year)) {
    year += year >= 50 ? 1900 : 2000;  // RFC 5280 4.1.2.5.1
    ok = Digits(s, 2, 2, month) && Digits(s, 4, 2, day) && Digits(s, 6, 2, hour) &&
         Digits(s, 8, 2, minute) && Digits(s, 10, 2, second);
  } else if (t.tag == der::kGeneralizedTime && s.size() == 15 && s[14] == 'Z' &&
             Digits(s, 0, 4, year)) {
    ok = Digits(s, 4, 2, month) && Digits(s, 6, 2, day) && Digits(s, 8, 2, hour) &&
         Digits(s, 10, 2, minute) && Digits(s, 12, 2, second);
  }
  if (ok) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    ok = month >= 1 && month <= 12 && day >= 1 &&
         day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0) && hour <= 23 && minute <= 59 &&
         second <= 59;
  }
  if (ok) {
    return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
           hour * 3600 + minute * 60 + second;
  }
  // Anything else (fractions, offsets, missing seconds) is what OpenSSL decides.
  struct tm tm {};
  // get1: a new string of the same type, owned here.
  internal::Ptr<ASN1_TIME, ASN1_TIME_free> time(ASN1_STRING_type_new(t.tag));
  if (time && ASN1_STRING_set(time.get(), s.data(), static_cast<int>(s.size())) == 1 &&
      ASN1_TIME_to_tm(time.get(), &tm) == 1) {
    ERR_clear_error();
    return static_cast<UnixSeconds>(timegm(&tm));
  }
  ERR_clear_error();
  return InputError(std::string("bad ") + what + " time", t.offset);
}

// ---------------------------------------------------------------------------------------
// Serial numbers

std::string SerialHex(ByteView c) {
  // BN_bn2hex: sign, then the magnitude's bytes without leading zero bytes, upper case.
  std::string out;
  const bool negative = (c[0] & 0x80) != 0;
  std::vector<std::uint8_t> mag(c.begin(), c.end());
  if (negative) {
    // Two's complement magnitude: invert and add one.
    for (auto& b : mag) b = static_cast<std::uint8_t>(~b);
    for (size_t k = mag.size(); k-- > 0;) {
      if (++mag[k] != 0) break;
    }
  }
  size_t start = 0;
  while (start < mag.size() && mag[start] == 0) ++start;
  if (start == mag.size()) return "0";
  if (negative) out += '-';
  AppendHexDump(out, ByteView(mag).subspan(start));
  return out;
}

// ---------------------------------------------------------------------------------------
// Algorithms and keys

struct Algorithm {
  ByteView oid;
  std::optional<Tlv> params;
};

Result<Algorithm> ParseAlgorithm(Reader& r, const char* what) {
  MICA_TRY(seq, r.ExpectEnter(der::kSequence, what));
  MICA_TRY(oid, seq.Expect(der::kOid, what));
  if (!der::IsValidOid(oid.value)) return InputError(std::string("malformed OID in ") + what, oid.offset);
  Algorithm alg{oid.value, std::nullopt};
  if (!seq.empty()) {
    MICA_TRY(params, seq.Next());
    if (!ValidAny(params)) return InputError(std::string("malformed parameters in ") + what, params.offset);
    alg.params = params;
  }
  MICA_CHECK(seq.ExpectEnd(what));
  return alg;
}

int BitLength(ByteView unsigned_be) {
  size_t k = 0;
  while (k < unsigned_be.size() && unsigned_be[k] == 0) ++k;
  if (k == unsigned_be.size()) return 0;
  int bits = static_cast<int>((unsigned_be.size() - k - 1) * 8);
  for (std::uint8_t b = unsigned_be[k]; b; b >>= 1) ++bits;
  return bits;
}

// The fast reading of a key; false when OpenSSL must decide.
bool FastKey(const Algorithm& alg, ByteView bits, KeyInfo& key) {
  if (bits.empty() || bits[0] != 0) return false;
  const ByteView pub = bits.subspan(1);
  const bool no_params = !alg.params.has_value();
  if (OidIs(alg.oid, kOidRsa)) {
    // RFC 3279 2.3.1: RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    Reader r(pub);
    auto seq = r.ExpectEnter(der::kSequence, "RSAPublicKey");
    if (!seq || !r.empty()) return false;
    auto n = seq->Expect(der::kInteger, "modulus");
    auto e = seq->Expect(der::kInteger, "exponent");
    if (!n || !e || !seq->empty() || !der::IsMinimalInteger(n->value) ||
        !der::IsMinimalInteger(e->value) || (n->value[0] & 0x80) || (e->value[0] & 0x80))
      return false;
    if (alg.params && alg.params->tag != der::kNull) return false;
    key.type = KeyType::kRsa;
    key.bits = BitLength(n->value);
    return key.bits > 0;
  }
  if (OidIs(alg.oid, kOidEcPublicKey)) {
    // RFC 5480 2.1.1: namedCurve only; explicit parameters go to OpenSSL.
    if (!alg.params || alg.params->tag != der::kOid) return false;
    const OidInfo curve = LookupOid(alg.params->value);
    if (curve.nid == NID_undef) return false;
    const int order_bits = internal::CurveBits(curve.nid);
    if (order_bits <= 0) return false;
    // RFC 5480 2.2: an uncompressed or compressed point of the curve's field size.
    // (Whether the point is on the curve is not checked here.)
    const int degree_bytes = (order_bits + 7) / 8;
    const bool uncompressed = pub.size() >= 1 && pub[0] == 0x04 &&
                              pub.size() == 1 + 2 * static_cast<size_t>(degree_bytes);
    const bool compressed = pub.size() >= 1 && (pub[0] == 0x02 || pub[0] == 0x03) &&
                            pub.size() == 1 + static_cast<size_t>(degree_bytes);
    if (!uncompressed && !compressed) return false;
    key.type = KeyType::kEc;
    key.bits = order_bits;
    key.curve = curve.sn;
    return true;
  }
  struct Raw {
    const std::uint8_t* oid;
    size_t oid_len;
    size_t key_len;
    KeyType type;
    int bits;
  };
  static constexpr Raw kRaw[] = {
      {kOidEd25519, sizeof kOidEd25519, 32, KeyType::kEd25519, 256},
      {kOidEd448, sizeof kOidEd448, 57, KeyType::kEd448, 456},
      {kOidX25519, sizeof kOidX25519, 32, KeyType::kX25519, 253},
      {kOidX448, sizeof kOidX448, 56, KeyType::kX448, 448},
  };
  for (const Raw& raw : kRaw) {
    if (alg.oid.size() == raw.oid_len && std::memcmp(alg.oid.data(), raw.oid, raw.oid_len) == 0) {
      // RFC 8410 3: parameters absent, the key is the raw public value. The bit counts
      // are what OpenSSL 3.0's providers report (Ed25519: 256, X25519: 253).
      if (!no_params || pub.size() != raw.key_len) return false;
      key.type = raw.type;
      key.bits = raw.bits;
      return true;
    }
  }
  if (OidIs(alg.oid, kOidDsa)) {
    // RFC 3279 2.3.2: Dss-Parms ::= SEQUENCE { p, q, g }; the key is an INTEGER.
    if (!alg.params || alg.params->tag != der::kSequence) return false;
    Reader pr(alg.params->value);
    auto p = pr.Expect(der::kInteger, "p");
    auto q = pr.Expect(der::kInteger, "q");
    auto g = pr.Expect(der::kInteger, "g");
    if (!p || !q || !g || !pr.empty() || !der::IsMinimalInteger(p->value) || (p->value[0] & 0x80))
      return false;
    Reader kr(pub);
    auto y = kr.Expect(der::kInteger, "y");
    if (!y || !kr.empty() || !der::IsMinimalInteger(y->value)) return false;
    key.type = KeyType::kDsa;
    key.bits = BitLength(p->value);
    return key.bits > 0;
  }
  return false;
}

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
Result<KeyInfo> ParseSpki(const Tlv& spki) {
  Reader outer(spki.whole, spki.offset);
  MICA_TRY(r, outer.ExpectEnter(der::kSequence, "SubjectPublicKeyInfo"));
  MICA_TRY(alg, ParseAlgorithm(r, "SubjectPublicKeyInfo algorithm"));
  MICA_TRY(bits, r.Expect(der::kBitString, "subjectPublicKey"));
  if (!ValidBitString(bits.value)) return InputError("malformed subjectPublicKey", bits.offset);
  MICA_CHECK(r.ExpectEnd("SubjectPublicKeyInfo"));
  KeyInfo key;
  if (bits.value[0] == 0) {
    key.spki_sha256 = FastDigestHex(Digest::kSha256, spki.whole);
  } else {
    // A key that declares unused bits: OpenSSL clears them and so hashes a re-encoding;
    // do the same so that the key's identity does not depend on the reader.
    Bytes canonical(spki.whole.begin(), spki.whole.end());
    const size_t at = static_cast<size_t>(bits.value.data() - spki.whole.data());
    if (bits.value.size() == 1) {
      canonical[at] = 0;
    } else {
      const size_t last = at + bits.value.size() - 1;
      canonical[last] = static_cast<std::uint8_t>(canonical[last] & (0xff << bits.value[0]));
    }
    key.spki_sha256 = Sha256Hex(canonical);
  }
  const std::string spki_sha256 = key.spki_sha256;
  if (FastKey(alg, bits.value, key)) return key;
  key = KeyInfo{};
  key.spki_sha256 = spki_sha256;
  const unsigned char* p = spki.whole.data();
  // get1: the key is owned here; nullptr when OpenSSL cannot read it either.
  internal::EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.whole.size())));
  internal::FillKeyFromPkey(pkey.get(), key);
  ERR_clear_error();
  return key;
}

// ---------------------------------------------------------------------------------------
// Extensions (RFC 5280 4.2). Like X509_get_ext_d2i, an extension whose content does not
// decode is treated as absent (OpenSSL's d2i_X509 does not look inside extensions), and
// bytes after the extension's value are ignored.

struct GeneralNameOut {
  std::vector<std::string>* dns = nullptr;
  std::vector<std::string>* ip = nullptr;
  std::vector<std::string>* email = nullptr;
  std::vector<std::string>* uri = nullptr;
};

std::string Text(ByteView b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

bool ValidDirectoryString(const Tlv& t) {
  switch (t.tag) {
    case der::kPrintableString: case der::kT61String: case der::kUtf8String: return true;
    case der::kBmpString: return t.value.size() % 2 == 0;
    case der::kUniversalString: return t.value.size() % 4 == 0;
    default: return false;
  }
}

// GeneralName (RFC 5280 4.2.1.6), checked the way OpenSSL's GENERAL_NAME template does.
bool ParseGeneralName(const Tlv& t, const GeneralNameOut& out, int depth) {
  if (depth > der::kMaxDepth) return false;
  switch (t.tag) {
    case 0xa0: {  // otherName: type-id OID, [0] EXPLICIT value
      Reader r(t.value);
      auto oid = r.Expect(der::kOid, "type-id");
      if (!oid || !der::IsValidOid(oid->value)) return false;
      auto wrap = r.Expect(0xa0, "value");
      if (!wrap || !r.empty()) return false;
      Reader w(wrap->value);
      auto v = w.Next();
      return v && w.empty() && ValidAny(*v);
    }
    case 0x81:
      if (out.email) out.email->push_back(Text(t.value));
      return true;
    case 0x82:
      if (out.dns) out.dns->push_back(Text(t.value));
      return true;
    case 0x86:
      if (out.uri) out.uri->push_back(Text(t.value));
      return true;
    case 0xa3:  // x400Address: any SEQUENCE content
      return true;
    case 0xa4: {  // directoryName: [4] EXPLICIT Name
      Reader r(t.value);
      auto name = r.Next();
      if (!name || !r.empty()) return false;
      NameEntries entries;
      return name->tag == der::kSequence && ParseName(*name, entries).has_value();
    }
    case 0xa5: {  // ediPartyName: [0] EXPLICIT DirectoryString OPTIONAL, [1] EXPLICIT DirectoryString
      Reader r(t.value);
      if (r.Peek(0xa0)) {
        auto a = r.Next();
        Reader ar(a->value);
        auto s = ar.Next();
        if (!s || !ar.empty() || !ValidDirectoryString(*s)) return false;
      }
      auto b = r.Expect(0xa1, "partyName");
      if (!b || !r.empty()) return false;
      Reader br(b->value);
      auto s = br.Next();
      return s && br.empty() && ValidDirectoryString(*s);
    }
    case 0x87: {
      char buf[INET6_ADDRSTRLEN] = {};
      if (out.ip) {
        if (t.value.size() == 4 && inet_ntop(AF_INET, t.value.data(), buf, sizeof buf))
          out.ip->emplace_back(buf);
        else if (t.value.size() == 16 && inet_ntop(AF_INET6, t.value.data(), buf, sizeof buf))
          out.ip->emplace_back(buf);
      }
      return true;
    }
    case 0x88:
      return der::IsValidOid(t.value);
    default:
      return false;
  }
}

// GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName, content of `r`.
bool ParseGeneralNames(Reader r, const GeneralNameOut& out) {
  while (!r.empty()) {
    auto gn = r.Next();
    if (!gn || !ParseGeneralName(*gn, out, 1)) return false;
  }
  return true;
}

// The first element of an extension's value, as X509V3_EXT_d2i reads it.
std::optional<Tlv> FirstElement(ByteView value) {
  Reader r(value);
  auto t = r.Next();
  if (!t) return std::nullopt;
  return *t;
}

void DecodeSan(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kSequence) return;
  std::vector<std::string> dns, ip, email, uri;
  if (!ParseGeneralNames(Reader(t->value), GeneralNameOut{&dns, &ip, &email, &uri})) return;
  info.san_dns = std::move(dns);
  info.san_ip = std::move(ip);
  info.san_email = std::move(email);
  info.san_uri = std::move(uri);
}

void DecodeKeyUsage(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kBitString || !ValidBitString(t->value)) return;
  // RFC 5280 4.2.1.3: bit 0 is the most significant bit of the first octet. OpenSSL
  // clears the unused bits of the last octet.
  const ByteView b = t->value;
  const int unused = b[0];
  std::uint16_t bits = 0;
  for (int bit = 0; bit < 9; ++bit) {
    const size_t octet = 1 + static_cast<size_t>(bit / 8);
    if (octet >= b.size()) break;
    std::uint8_t v = b[octet];
    if (octet == b.size() - 1) v = static_cast<std::uint8_t>(v & (0xff << unused));
    if (v & (0x80 >> (bit % 8))) bits |= static_cast<std::uint16_t>(1 << bit);
  }
  info.has_key_usage = true;
  info.key_usage = bits;
}

std::string EkuName(ByteView oid) {
  static constexpr std::uint8_t kPrefix[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03};
  static constexpr std::uint8_t kAny[] = {0x55, 0x1d, 0x25, 0x00};
  if (oid.size() == sizeof kPrefix + 1 && std::memcmp(oid.data(), kPrefix, sizeof kPrefix) == 0) {
    switch (oid[sizeof kPrefix]) {
      case 1: return "server_auth";
      case 2: return "client_auth";
      case 3: return "code_signing";
      case 4: return "email_protection";
      case 8: return "time_stamping";
      case 9: return "ocsp_signing";
      default: break;
    }
  }
  if (OidIs(oid, kAny)) return "any";
  return OidDotted(oid);
}

void DecodeEku(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kSequence) return;
  std::vector<std::string> eku;
  Reader r(t->value);
  while (!r.empty()) {
    auto oid = r.Expect(der::kOid, "KeyPurposeId");
    if (!oid || !der::IsValidOid(oid->value)) return;
    eku.push_back(EkuName(oid->value));
  }
  info.eku = std::move(eku);
}

void DecodeBasicConstraints(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kSequence) return;
  Reader r(t->value);
  bool ca = false;
  int path_len = -1;
  if (r.Peek(der::kBoolean)) {
    auto b = r.Next();
    if (b->value.size() != 1) return;
    ca = b->value[0] != 0;
  }
  if (r.Peek(der::kInteger)) {
    auto n = r.Next();
    if (!der::IsMinimalInteger(n->value)) return;
    std::int64_t v = 0;
    if (der::ParseInt64(n->value, v)) {
      path_len = v < 0 ? -1 : v > INT_MAX ? INT_MAX : static_cast<int>(v);
    } else {
      path_len = (n->value[0] & 0x80) ? -1 : INT_MAX;
    }
  }
  if (!r.empty()) return;
  info.has_basic_constraints = true;
  info.is_ca = ca;
  info.path_len = path_len;
}

void DecodeSki(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kOctetString) return;
  info.ski_hex = ToHex(t->value);
}

void DecodeAki(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kSequence) return;
  Reader r(t->value);
  std::string keyid;
  if (r.Peek(0x80)) keyid = ToHex(r.Next()->value);
  if (r.Peek(0xa1)) {
    auto names = r.Next();
    if (!ParseGeneralNames(Reader(names->value), GeneralNameOut{})) return;
  }
  if (r.Peek(0x82)) {
    if (!der::IsMinimalInteger(r.Next()->value)) return;
  }
  if (!r.empty()) return;
  info.aki_hex = std::move(keyid);
}

void DecodeAia(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kSequence) return;
  std::vector<std::string> ocsp, issuers;
  Reader r(t->value);
  while (!r.empty()) {
    auto ad = r.ExpectEnter(der::kSequence, "AccessDescription");
    if (!ad) return;
    auto method = ad->Expect(der::kOid, "accessMethod");
    if (!method || !der::IsValidOid(method->value)) return;
    auto location = ad->Next();
    if (!location || !ad->empty()) return;
    std::vector<std::string> uris;
    if (!ParseGeneralName(*location, GeneralNameOut{nullptr, nullptr, nullptr, &uris}, 1)) return;
    if (OidIs(method->value, kOidOcsp)) ocsp.insert(ocsp.end(), uris.begin(), uris.end());
    if (OidIs(method->value, kOidCaIssuers)) issuers.insert(issuers.end(), uris.begin(), uris.end());
  }
  info.ocsp_urls = std::move(ocsp);
  info.ca_issuer_urls = std::move(issuers);
}

void DecodeCrlDp(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kSequence) return;
  std::vector<std::string> urls;
  Reader r(t->value);
  while (!r.empty()) {
    auto dp = r.ExpectEnter(der::kSequence, "DistributionPoint");
    if (!dp) return;
    if (dp->Peek(0xa0)) {  // distributionPoint [0] DistributionPointName (a CHOICE: explicit)
      Reader name(dp->Next()->value);
      auto choice = name.Next();
      if (!choice || !name.empty()) return;
      if (choice->tag == 0xa0) {  // fullName [0] IMPLICIT GeneralNames
        if (!ParseGeneralNames(Reader(choice->value), GeneralNameOut{nullptr, nullptr, nullptr, &urls}))
          return;
      } else if (choice->tag == 0xa1) {  // nameRelativeToCRLIssuer [1] IMPLICIT RDN
        Reader rdn(choice->value);
        NameEntries entries;
        while (!rdn.empty())
          if (!ParseAttribute(rdn, 0, false, entries)) return;
      } else {
        return;
      }
    }
    if (dp->Peek(0x81)) {
      if (!ValidBitString(dp->Next()->value)) return;
    }
    if (dp->Peek(0xa2)) {
      if (!ParseGeneralNames(Reader(dp->Next()->value), GeneralNameOut{})) return;
    }
    if (!dp->empty()) return;
  }
  info.crl_urls = std::move(urls);
}

bool ValidDisplayText(const Tlv& t) {
  switch (t.tag) {
    case der::kIa5String: case 0x1a: case der::kUtf8String: return true;
    case der::kBmpString: return t.value.size() % 2 == 0;
    default: return false;
  }
}

bool ValidQualifier(ByteView qualifier_id, const Tlv& q) {
  if (OidIs(qualifier_id, kOidQtCps)) return q.tag == der::kIa5String;
  if (OidIs(qualifier_id, kOidQtUnotice)) {
    // RFC 5280 4.2.1.4: UserNotice ::= SEQUENCE { noticeRef OPTIONAL, explicitText OPTIONAL }
    if (q.tag != der::kSequence) return false;
    Reader r(q.value);
    if (r.Peek(der::kSequence)) {
      Reader ref(r.Next()->value);
      auto org = ref.Next();
      if (!org || !ValidDisplayText(*org)) return false;
      auto numbers = ref.ExpectEnter(der::kSequence, "noticeNumbers");
      if (!numbers || !ref.empty()) return false;
      while (!numbers->empty()) {
        auto n = numbers->Expect(der::kInteger, "noticeNumber");
        if (!n || !der::IsMinimalInteger(n->value)) return false;
      }
    }
    if (!r.empty()) {
      auto text = r.Next();
      if (!text || !ValidDisplayText(*text)) return false;
    }
    return r.empty();
  }
  return ValidAny(q);
}

void DecodePolicies(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kSequence) return;
  std::vector<std::string> oids;
  Reader r(t->value);
  while (!r.empty()) {
    auto pi = r.ExpectEnter(der::kSequence, "PolicyInformation");
    if (!pi) return;
    auto id = pi->Expect(der::kOid, "policyIdentifier");
    if (!id || !der::IsValidOid(id->value)) return;
    if (!pi->empty()) {
      auto quals = pi->ExpectEnter(der::kSequence, "policyQualifiers");
      if (!quals || !pi->empty()) return;
      while (!quals->empty()) {
        auto pq = quals->ExpectEnter(der::kSequence, "PolicyQualifierInfo");
        if (!pq) return;
        auto qid = pq->Expect(der::kOid, "policyQualifierId");
        if (!qid || !der::IsValidOid(qid->value)) return;
        auto q = pq->Next();
        if (!q || !pq->empty() || !ValidQualifier(qid->value, *q)) return;
      }
    }
    oids.push_back(OidDotted(id->value));
  }
  info.policy_oids = std::move(oids);
}

// RFC 6962 3.3: an OCTET STRING holding SignedCertificateTimestampList, checked the way
// OpenSSL's o2i_SCT_LIST / o2i_SCT do.
void DecodeScts(ByteView value, CertificateInfo& info) {
  auto t = FirstElement(value);
  if (!t || t->tag != der::kOctetString) return;
  const ByteView s = t->value;
  if (s.size() < 2 || s.size() > 65535) return;
  size_t list_len = (size_t{s[0]} << 8) | s[1];
  if (list_len != s.size() - 2) return;
  size_t p = 2;
  int count = 0;
  while (list_len > 0) {
    if (list_len < 2) return;
    const size_t sct_len = (size_t{s[p]} << 8) | s[p + 1];
    p += 2;
    list_len -= 2;
    if (sct_len == 0 || sct_len > list_len) return;
    list_len -= sct_len;
    const ByteView sct = s.subspan(p, sct_len);
    p += sct_len;
    if (sct[0] == 0) {  // v1: version, log id (32), timestamp (8), extensions, signature
      if (sct.size() < 43) return;
      size_t rest = sct.size() - 43;
      const size_t ext_len = (size_t{sct[41]} << 8) | sct[42];
      if (rest < ext_len) return;
      rest -= ext_len;
      const size_t q = 43 + ext_len;
      if (rest <= 4) return;
      // digitally-signed: hash sha256 (4) with ecdsa (3) or rsa (1).
      if (sct[q] != 4 || (sct[q + 1] != 3 && sct[q + 1] != 1)) return;
      const size_t sig_len = (size_t{sct[q + 2]} << 8) | sct[q + 3];
      if (sig_len > rest - 4) return;
    }
    ++count;
  }
  info.sct_count = count;
}

struct Extension {
  ByteView oid;
  ByteView value;
};

Status ParseExtensions(const Tlv& wrapper, std::vector<Extension>& out) {
  Reader wrapped(wrapper.value, wrapper.offset + (wrapper.whole.size() - wrapper.value.size()));
  MICA_TRY(outer, wrapped.ExpectEnter(der::kSequence, "Extensions"));
  MICA_CHECK(wrapped.ExpectEnd("Extensions"));
  while (!outer.empty()) {
    MICA_TRY(ext, outer.ExpectEnter(der::kSequence, "Extension"));
    MICA_TRY(oid, ext.Expect(der::kOid, "extnID"));
    if (!der::IsValidOid(oid.value)) return InputError("malformed extension OID", oid.offset);
    if (ext.Peek(der::kBoolean)) {
      MICA_TRY(critical, ext.Next());
      if (critical.value.size() != 1) return InputError("malformed critical flag", critical.offset);
    }
    MICA_TRY(value, ext.Expect(der::kOctetString, "extnValue"));
    MICA_CHECK(ext.ExpectEnd("Extension"));
    for (const Extension& seen : out) {
      if (std::equal(seen.oid.begin(), seen.oid.end(), oid.value.begin(), oid.value.end())) {
        // RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a
        // particular extension."
        return InputError("duplicate extension " + OidDotted(oid.value), oid.offset);
      }
    }
    out.push_back(Extension{oid.value, value.value});
  }
  return {};
}

void DecodeExtension(const Extension& e, CertificateInfo& info) {
  if (e.oid.size() == 3 && e.oid[0] == 0x55 && e.oid[1] == 0x1d) {
    if (OidIs(e.oid, kOidSan)) return DecodeSan(e.value, info);
    if (OidIs(e.oid, kOidKeyUsage)) return DecodeKeyUsage(e.value, info);
    if (OidIs(e.oid, kOidEku)) return DecodeEku(e.value, info);
    if (OidIs(e.oid, kOidBasicConstraints)) return DecodeBasicConstraints(e.value, info);
    if (OidIs(e.oid, kOidSki)) return DecodeSki(e.value, info);
    if (OidIs(e.oid, kOidAki)) return DecodeAki(e.value, info);
    if (OidIs(e.oid, kOidCrlDp)) return DecodeCrlDp(e.value, info);
    if (OidIs(e.oid, kOidPolicies)) return DecodePolicies(e.value, info);
    return;
  }
  if (OidIs(e.oid, kOidAia)) return DecodeAia(e.value, info);
  if (OidIs(e.oid, kOidSct)) return DecodeScts(e.value, info);
}

// Whether a self-issued certificate's signature verifies with its own key. Only
// self-issued certificates (roots, mostly) pay for OpenSSL's decoding and a signature
// check, and each distinct one pays once per thread: the same few roots recur in every
// bundle and chain file of a tree (2,904 chain files in the benchmark corpus, ~0.5 s of
// verifications before this cache). Keyed by the SHA-256 of the whole DER, so a forged
// look-alike is a different key; the cache is dropped when it reaches its bound.
bool SelfSigned(ByteView der, const std::string& fingerprint) {
  constexpr std::size_t kMaxEntries = 4096;
  thread_local std::unordered_map<std::string, bool> known;
  if (auto it = known.find(fingerprint); it != known.end()) return it->second;
  const unsigned char* p = der.data();
  internal::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  const bool self_signed = x && X509_self_signed(x.get(), 1) == 1;
  ERR_clear_error();
  if (known.size() >= kMaxEntries) known.clear();
  known.emplace(fingerprint, self_signed);
  return self_signed;
}

// Reused between calls on a thread: decoding allocates no name scratch space.
struct Scratch {
  NameEntries subject, issuer;
  std::vector<Extension> extensions;
};

Result<Identity> Decode(ByteView input) {
  thread_local Scratch scratch;
  Reader top(input);
  MICA_TRY(cert_tlv, top.Expect(der::kSequence, "Certificate"));
  if (!top.empty()) return InputError("trailing bytes after the certificate", top.offset());
  MICA_TRY(cert, top.Enter(cert_tlv));
  MICA_TRY(tbs, cert.ExpectEnter(der::kSequence, "TBSCertificate"));
  MICA_TRY(outer_alg, ParseAlgorithm(cert, "signatureAlgorithm"));
  MICA_TRY(signature, cert.Expect(der::kBitString, "signatureValue"));
  if (!ValidBitString(signature.value)) return InputError("malformed signatureValue", signature.offset);
  MICA_CHECK(cert.ExpectEnd("Certificate"));

  Identity id;
  id.kind = Kind::kCertificate;
  CertificateInfo& info = id.cert.emplace();

  // RFC 5280 4.1.2.1: version [0] EXPLICIT Version DEFAULT v1.
  std::int64_t version = 0;
  if (tbs.Peek(0xa0)) {
    MICA_TRY(wrap, tbs.Next());
    MICA_TRY(vr, tbs.Enter(wrap));
    MICA_TRY(v, vr.Expect(der::kInteger, "version"));
    MICA_CHECK(vr.ExpectEnd("version"));
    if (!der::ParseInt64(v.value, version) || version < 0 || version > 2)
      return InputError("unsupported certificate version", v.offset);
  }
  info.version = static_cast<int>(version) + 1;

  MICA_TRY(serial, tbs.Expect(der::kInteger, "serialNumber"));
  if (!der::IsMinimalInteger(serial.value)) return InputError("malformed serialNumber", serial.offset);
  info.serial_hex = SerialHex(serial.value);
  MICA_TRY(tbs_alg, ParseAlgorithm(tbs, "signature"));
  (void)tbs_alg;
  MICA_TRY(issuer, tbs.Expect(der::kSequence, "issuer"));
  MICA_CHECK(ParseName(issuer, scratch.issuer));
  MICA_TRY(validity, tbs.ExpectEnter(der::kSequence, "validity"));
  MICA_TRY(nb, validity.Next());
  MICA_TRY(na, validity.Next());
  MICA_CHECK(validity.ExpectEnd("validity"));
  MICA_TRY(subject, tbs.Expect(der::kSequence, "subject"));
  MICA_CHECK(ParseName(subject, scratch.subject));
  MICA_TRY(spki, tbs.Expect(der::kSequence, "subjectPublicKeyInfo"));
  // RFC 5280 4.1.2.8: issuerUniqueID [1] and subjectUniqueID [2], IMPLICIT BIT STRINGs.
  for (std::uint8_t tag : {std::uint8_t{0x81}, std::uint8_t{0x82}}) {
    if (tbs.Peek(tag)) {
      MICA_TRY(uid, tbs.Next());
      if (!ValidBitString(uid.value)) return InputError("malformed unique identifier", uid.offset);
    }
  }
  scratch.extensions.clear();
  if (tbs.Peek(0xa3)) {
    MICA_TRY(exts, tbs.Next());
    MICA_CHECK(ParseExtensions(exts, scratch.extensions));
  }
  MICA_CHECK(tbs.ExpectEnd("TBSCertificate"));

  // Names are printed after the whole structure is known good, so a bad certificate
  // costs no string building.
  MICA_TRY(not_before, ParseTime(nb, "notBefore"));
  MICA_TRY(not_after, ParseTime(na, "notAfter"));
  info.not_before = not_before;
  info.not_after = not_after;
  AppendName(info.subject, scratch.subject);
  AppendName(info.issuer, scratch.issuer);
  info.subject_parts = PartsOf(scratch.subject);
  info.issuer_parts = PartsOf(scratch.issuer);

  const OidInfo sig = LookupOid(outer_alg.oid);
  info.signature_algorithm = sig.ln != nullptr ? sig.ln : OidDotted(outer_alg.oid);

  for (const Extension& e : scratch.extensions) DecodeExtension(e, info);

  MICA_TRY(key, ParseSpki(spki));
  id.key = std::move(key);

  id.fingerprint = FastDigestHex(Digest::kSha256, input);
  info.self_issued = NamesMatch(subject, issuer, scratch.subject, scratch.issuer);
  if (info.self_issued) info.self_signed = SelfSigned(input, id.fingerprint);
  info.sha1_hex = FastDigestHex(Digest::kSha1, input);
  id.der.assign(input.begin(), input.end());
  return id;
}

}  // namespace

Result<Identity> DecodeCertificate(ByteView der) {
  if (der.empty()) return Fail(ErrorCode::kInput, "empty input: not a certificate");
  return Decode(der);
}

Result<KeyInfo> DecodeSpki(ByteView spki_der) {
  Reader r(spki_der);
  auto tlv = r.Expect(der::kSequence, "SubjectPublicKeyInfo");
  if (!tlv) return tl::unexpected(tlv.error());
  if (!r.empty()) return InputError("trailing bytes after the SubjectPublicKeyInfo", r.offset());
  return ParseSpki(*tlv);
}

}  // namespace mica::x509
