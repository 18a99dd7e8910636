#include "x509/rsa_key.h"

#include <algorithm>
#include <cstring>

#include "x509/internal/der.h"

namespace mica::x509 {
namespace {

namespace der = internal::der;
using der::Reader;

// 1.2.840.113549.1.1.1 rsaEncryption and 1.2.840.113549.1.1.10 RSASSA-PSS (RFC 8017 C).
constexpr std::uint8_t kRsaEncryption[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
constexpr std::uint8_t kRsaPss[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};

bool Is(ByteView oid, std::span<const std::uint8_t> want) {
  return oid.size() == want.size() && std::memcmp(oid.data(), want.data(), want.size()) == 0;
}

void TakeInteger(ByteView v, Bytes& out, RsaPublicNumbers& r) {
  if (!v.empty() && (v[0] & 0x80)) r.negative = true;
  if (v.size() > 1 && ((v[0] == 0 && !(v[1] & 0x80)) || (v[0] == 0xff && (v[1] & 0x80))))
    r.non_minimal = true;
  std::size_t i = 0;
  while (i < v.size() && v[i] == 0) ++i;
  out.assign(v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
}

}  // namespace

Result<RsaPublicNumbers> RsaFromSpki(ByteView spki_der) {
  Reader outer(spki_der);
  auto spki = outer.ExpectEnter(der::kSequence, "SubjectPublicKeyInfo");
  if (!spki) return tl::unexpected(spki.error());
  auto alg = spki->ExpectEnter(der::kSequence, "AlgorithmIdentifier");
  if (!alg) return tl::unexpected(alg.error());
  auto oid = alg->Expect(der::kOid, "algorithm");
  if (!oid) return tl::unexpected(oid.error());
  if (!Is(oid->value, kRsaEncryption) && !Is(oid->value, kRsaPss))
    return Fail(ErrorCode::kUnsupported, "not an RSA key");
  auto bits = spki->Expect(der::kBitString, "subjectPublicKey");
  if (!bits) return tl::unexpected(bits.error());
  if (bits->value.empty() || bits->value[0] != 0)
    return Fail(ErrorCode::kInput, "RSA subjectPublicKey has unused bits");
  const std::size_t base = bits->offset + (bits->whole.size() - bits->value.size()) + 1;
  Reader key_outer(bits->value.subspan(1), base);
  auto key = key_outer.ExpectEnter(der::kSequence, "RSAPublicKey");
  if (!key) return tl::unexpected(key.error());
  auto n = key->Expect(der::kInteger, "modulus");
  if (!n) return tl::unexpected(n.error());
  auto e = key->Expect(der::kInteger, "publicExponent");
  if (!e) return tl::unexpected(e.error());
  if (auto end = key->ExpectEnd("RSAPublicKey"); !end) return tl::unexpected(end.error());
  if (n->value.empty() || e->value.empty())
    return Fail(ErrorCode::kInput, "RSA key with an empty INTEGER");
  RsaPublicNumbers r;
  TakeInteger(n->value, r.n, r);
  TakeInteger(e->value, r.e, r);
  return r;
}

Result<RsaPublicNumbers> RsaFromCertificate(ByteView cert_der) {
  // Certificate ::= SEQUENCE { tbsCertificate, ... }; TBSCertificate ::= SEQUENCE {
  //   [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject,
  //   subjectPublicKeyInfo, ... }
  Reader outer(cert_der);
  auto cert = outer.ExpectEnter(der::kSequence, "Certificate");
  if (!cert) return tl::unexpected(cert.error());
  auto tbs = cert->ExpectEnter(der::kSequence, "TBSCertificate");
  if (!tbs) return tl::unexpected(tbs.error());
  if (tbs->Peek(der::kContext | der::kConstructed | 0)) {
    if (auto v = tbs->Next(); !v) return tl::unexpected(v.error());
  }
  const char* skip[] = {"serialNumber", "signature", "issuer", "validity", "subject"};
  for (const char* what : skip) {
    auto t = tbs->Next();
    if (!t) return Fail(ErrorCode::kInput, std::string("certificate: ") + what + ": " + t.error().message);
  }
  auto spki = tbs->Expect(der::kSequence, "subjectPublicKeyInfo");
  if (!spki) return tl::unexpected(spki.error());
  return RsaFromSpki(spki->whole);
}

Result<RsaPublicNumbers> RsaFromIdentity(const Identity& id) {
  if (id.key.type != KeyType::kRsa) return Fail(ErrorCode::kUnsupported, "not an RSA key");
  if (id.der.empty())
    return Fail(ErrorCode::kNotFound, "the public key of this identity is not known");
  return id.kind == Kind::kCertificate ? RsaFromCertificate(id.der) : RsaFromSpki(id.der);
}

}  // namespace mica::x509
