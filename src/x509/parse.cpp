// ParseContent: sniff, then hand the bytes to the parser of their format.
//
// Choices worth knowing (docs/FORMATS.md repeats them):
// - CERTIFICATE REQUEST blocks are skipped: a CSR is a request, not an identity in use.
//   CRLs and parameter blocks (EC PARAMETERS before an EC key) are skipped too.
// - TRUSTED CERTIFICATE: only the leading certificate is decoded; OpenSSL's trust
//   trailer (X509_CERT_AUX) after it is ignored.
// - DER is tried as certificate, PKCS#7, PKCS#12, then every key encoding; the first
//   that consumes the whole input wins.
// - A PKCS#12 opened with the empty password reports its key as encrypted=false.
#include <string>

#include "x509/certificate.h"
#include "x509/internal/der.h"
#include "x509/internal/keys.h"
#include "x509/internal/pem.h"
#include "x509/internal/ssh.h"
#include "x509/parse.h"

namespace mica::x509 {
namespace {

using internal::PemBlock;

void AddOrIssue(Result<Identity> id, const std::string& position, std::string_view what,
                ParsedContent& out) {
  if (!id) {
    out.issues.push_back({position, std::string(what) + ": " + id.error().message});
    return;
  }
  id->position = position;
  out.identities.push_back(std::move(*id));
}

void ParsePemBlock(const PemBlock& block, const ParseOptions& options, ParsedContent& out) {
  const std::string position = "pem:" + std::to_string(block.index);
  if (!block.der) {
    out.issues.push_back({position, block.problem});
    return;
  }
  const ByteView der = *block.der;
  const std::string& label = block.label;
  if (label == "CERTIFICATE" || label == "X509 CERTIFICATE") {
    internal::AddCertificate(der, position, out);
  } else if (label == "TRUSTED CERTIFICATE") {
    auto size = internal::DerElementSize(der);
    if (!size) {
      out.issues.push_back({position, "certificate: truncated DER"});
    } else {
      internal::AddCertificate(der.first(*size), position, out);
    }
  } else if (label == "PKCS7" || label == "PKCS #7 SIGNED DATA" || label == "CERTIFICATE CHAIN") {
    if (!internal::ParsePkcs7Der(der, position + "/", out)) {
      out.issues.push_back({position, "not a PKCS#7 structure"});
    }
  } else if (label == "PKCS12") {
    if (!internal::ParsePkcs12Der(der, options, position + "/", out)) {
      out.issues.push_back({position, "not a PKCS#12 structure"});
    }
  } else if (label == "PRIVATE KEY") {
    AddOrIssue(internal::ParsePrivateKeyDer(der, "pkcs8"), position, "private key", out);
  } else if (label == "ENCRYPTED PRIVATE KEY") {
    AddOrIssue(internal::ParseEncryptedPkcs8Der(der), position, "encrypted private key", out);
  } else if (label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY" || label == "DSA PRIVATE KEY") {
    // RFC 1421 section 4.6.1.1: "Proc-Type: 4,ENCRYPTED" marks an encrypted body.
    if (block.Header("Proc-Type").find("ENCRYPTED") != std::string_view::npos) {
      Identity id = internal::TraditionalEncryptedKey(der, label, block.Header("DEK-Info"));
      id.position = position;
      out.identities.push_back(std::move(id));
    } else {
      const std::string_view format = label[0] == 'R' ? "pkcs1" : label[0] == 'E' ? "sec1" : "dsa";
      AddOrIssue(internal::ParsePrivateKeyDer(der, format), position, "private key", out);
    }
  } else if (label == "PUBLIC KEY") {
    AddOrIssue(internal::ParseSpkiDer(der), position, "public key", out);
  } else if (label == "RSA PUBLIC KEY") {
    AddOrIssue(internal::ParseRsaPublicKeyDer(der), position, "RSA public key", out);
  } else if (label == "OPENSSH PRIVATE KEY") {
    AddOrIssue(internal::ParseOpenSshPrivateKey(der), position, "OpenSSH private key", out);
  }
  // Anything else (CERTIFICATE REQUEST, X509 CRL, EC PARAMETERS, ...) holds no identity.
}

// Returns false when `der` is none of the DER formats; `why` says what a certificate
// decode made of it, the most likely intent of a lone DER file.
// Which structures a DER SEQUENCE could be, from the tags of its first two elements.
// OpenSSL 3.0's decoders cost ~100 us a call and take global locks even to say no, and
// a filesystem scan meets many binary files that merely start like DER: only the
// decoders whose structure matches are asked.
struct DerShape {
  bool pkcs7 = false;        // ContentInfo: OID, [0]
  bool pkcs12 = false;       // PFX: INTEGER 3, SEQUENCE
  bool private_key = false;  // PKCS#8: INTEGER, SEQUENCE; PKCS#1 / DSA: INTEGER, INTEGER;
                             // SEC1: INTEGER, OCTET STRING
  bool encrypted_pkcs8 = false;  // SEQUENCE, OCTET STRING
  bool spki = false;             // SEQUENCE, BIT STRING
  bool rsa_public = false;       // INTEGER, INTEGER and nothing else
};

DerShape ClassifyDer(ByteView der) {
  namespace d = internal::der;
  DerShape shape;
  d::Reader top(der);
  auto outer = top.ExpectEnter(d::kSequence, "outer SEQUENCE");
  if (!outer) return shape;
  auto first = outer->Next();
  if (!first) return shape;
  auto second = outer->Next();
  const std::uint8_t t1 = first->tag;
  const std::uint8_t t2 = second ? second->tag : 0;
  const bool more = second && !outer->empty();
  shape.pkcs7 = t1 == d::kOid && t2 == (d::kContext | d::kConstructed);
  shape.pkcs12 = t1 == d::kInteger && t2 == d::kSequence;
  shape.private_key =
      t1 == d::kInteger && (t2 == d::kSequence || t2 == d::kInteger || t2 == d::kOctetString);
  shape.encrypted_pkcs8 = t1 == d::kSequence && t2 == d::kOctetString;
  shape.spki = t1 == d::kSequence && t2 == d::kBitString;
  shape.rsa_public = t1 == d::kInteger && t2 == d::kInteger && !more;
  return shape;
}

bool ParseDer(ByteView der, const ParseOptions& options, ParsedContent& out, std::string& why) {
  auto cert = DecodeCertificate(der);
  if (cert) {
    cert->position = "der";
    out.identities.push_back(std::move(*cert));
    return true;
  }
  why = cert.error().message;
  const DerShape shape = ClassifyDer(der);
  if (shape.pkcs7 && internal::ParsePkcs7Der(der, "", out)) return true;
  if (shape.pkcs12 && internal::ParsePkcs12Der(der, options, "", out)) {
    out.format = Format::kPkcs12;
    return true;
  }
  const std::pair<bool, Result<Identity> (*)(ByteView)> key_parsers[] = {
      {shape.private_key, [](ByteView d) { return internal::ParsePrivateKeyDer(d, ""); }},
      {shape.encrypted_pkcs8, internal::ParseEncryptedPkcs8Der},
      {shape.spki, internal::ParseSpkiDer},
      {shape.rsa_public, internal::ParseRsaPublicKeyDer},
  };
  for (auto [plausible, parse] : key_parsers) {
    if (!plausible) continue;
    auto id = parse(der);
    if (id) {
      id->position = "der";
      out.identities.push_back(std::move(*id));
      return true;
    }
  }
  return false;
}

}  // namespace

const char* FormatName(Format f) {
  switch (f) {
    case Format::kUnknown: return "unknown";
    case Format::kPem: return "pem";
    case Format::kDer: return "der";
    case Format::kPkcs12: return "pkcs12";
    case Format::kJks: return "jks";
    case Format::kJceks: return "jceks";
    case Format::kOpenSshPublic: return "openssh_public";
    case Format::kOpenSshPrivate: return "openssh_private";
    case Format::kPpk: return "ppk";
  }
  return "unknown";
}

Result<ParsedContent> ParseContent(ByteView data, const ParseOptions& options) {
  ParsedContent out;
  out.format = Sniff(data);
  const std::string_view text = AsChars(data);
  switch (out.format) {
    case Format::kJks:
    case Format::kJceks:
      internal::ParseJavaKeystore(data, out);
      return out;
    case Format::kPpk: {
      auto id = internal::ParsePpk(text);
      AddOrIssue(std::move(id), "ppk", "PuTTY key", out);
      return out;
    }
    case Format::kPem:
    case Format::kOpenSshPrivate: {
      const std::vector<PemBlock> blocks = internal::SplitPem(text);
      if (!blocks.empty()) {
        for (const PemBlock& block : blocks) ParsePemBlock(block, options, out);
        return out;
      }
      // "-----BEGIN " in running text without a block: maybe key lines follow.
      out.format = Format::kOpenSshPublic;
      if (internal::ParseSshPublicText(text, out)) return out;
      break;
    }
    case Format::kOpenSshPublic:
      if (internal::ParseSshPublicText(text, out)) return out;
      break;
    case Format::kDer:
    case Format::kPkcs12:
    case Format::kUnknown: {
      // Also for kUnknown: BER (indefinite lengths) from old Windows tools fails the
      // strict sniff but may still be a PKCS#7 OpenSSL reads.
      if (data.empty() || data[0] != 0x30) break;
      std::string why;
      ParsedContent der_out;
      der_out.format = out.format == Format::kUnknown ? Format::kDer : out.format;
      if (ParseDer(data, options, der_out, why)) return der_out;
      return Fail(ErrorCode::kInput,
                  "DER: not a certificate (" + why + "), PKCS#7, PKCS#12 or key");
    }
  }
  return Fail(ErrorCode::kInput, "not a recognised certificate, key or keystore format");
}

}  // namespace mica::x509
