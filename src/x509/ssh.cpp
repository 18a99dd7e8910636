// OpenSSH formats: the wire encoding of keys (RFC 4253 section 6.6, RFC 5656 section
// 3.1, RFC 8709 section 4, PROTOCOL.u2f), public key lines (sshd(8) AUTHORIZED_KEYS FILE
// FORMAT), RFC 4716 public key files, private keys (PROTOCOL.key) and certificates
// (PROTOCOL.certkeys).
//
// Every SSH key also gets the spki_sha256 of the same key as OpenSSL sees it, so that an
// SSH key links to the X.509 certificate or PKCS#8 key of the same key pair.
#include "x509/internal/ssh.h"

#include <array>
#include <cctype>
#include <limits>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "x509/internal/keys.h"
#include "x509/internal/openssl.h"

namespace mica::x509::internal {
namespace {

using ParamBldPtr = Ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = Ptr<OSSL_PARAM, OSSL_PARAM_free>;
using PkeyCtxPtr = Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The certificate algorithm "ssh-rsa-cert-v01@openssh.com" certifies a "ssh-rsa" key;
// "sk-ssh-ed25519-cert-v01@openssh.com" a "sk-ssh-ed25519@openssh.com" one.
std::string CertifiedKeyType(std::string_view cert_type) {
  std::string base(cert_type.substr(0, cert_type.size() - kCertSuffix.size()));
  if (base.starts_with("sk-")) base += "@openssh.com";
  return base;
}

// OpenSSH's curve identifiers (RFC 5656 section 10.1) as OpenSSL group names.
const char* GroupForSshCurve(std::string_view id) {
  if (id == "nistp256") return "prime256v1";
  if (id == "nistp384") return "secp384r1";
  if (id == "nistp521") return "secp521r1";
  return nullptr;
}

Result<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Fail(ErrorCode::kInput, std::string("invalid ") + type + " key: " + DrainErrors());
  }
  return EvpPkeyPtr(raw);
}

// mpint (RFC 4251 section 5) -> BIGNUM. Negative values are not keys.
Result<BignumPtr> Mpint(std::optional<ByteView> bytes) {
  if (!bytes) return Fail(ErrorCode::kInput, "truncated key");
  if (!bytes->empty() && ((*bytes)[0] & 0x80) != 0) {
    return Fail(ErrorCode::kInput, "negative integer in key");
  }
  BignumPtr bn(BN_bin2bn(bytes->data(), static_cast<int>(bytes->size()), nullptr));
  if (!bn) return Fail(ErrorCode::kInternal, "BN_bin2bn failed: " + DrainErrors());
  return bn;
}

// Reads the public key fields that follow the algorithm name (or a certificate's nonce)
// and builds the equivalent OpenSSL key.
Result<EvpPkeyPtr> ReadPublicKey(SshReader& r, std::string_view type) {
  if (type == "ssh-rsa") {
    auto e = Mpint(r.String());
    if (!e) return tl::unexpected(e.error());
    auto n = Mpint(r.String());
    if (!n) return tl::unexpected(n.error());
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n->get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e->get()) != 1) {
      return Fail(ErrorCode::kInternal, "OSSL_PARAM_BLD: " + DrainErrors());
    }
    return FromData("RSA", bld.get());
  }
  if (type == "ssh-dss") {
    std::array<BignumPtr, 4> v;  // p, q, g, y
    for (auto& bn : v) {
      auto x = Mpint(r.String());
      if (!x) return tl::unexpected(x.error());
      bn = std::move(*x);
    }
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, v[0].get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_Q, v[1].get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, v[2].get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, v[3].get()) != 1) {
      return Fail(ErrorCode::kInternal, "OSSL_PARAM_BLD: " + DrainErrors());
    }
    return FromData("DSA", bld.get());
  }
  const bool sk_ecdsa = type == "sk-ecdsa-sha2-nistp256@openssh.com";
  if (type.starts_with("ecdsa-sha2-") || sk_ecdsa) {
    auto curve = r.Text();
    auto point = r.String();
    if (!curve || !point) return Fail(ErrorCode::kInput, "truncated key");
    if (sk_ecdsa && !r.String()) return Fail(ErrorCode::kInput, "truncated key");  // application
    const char* group = GroupForSshCurve(*curve);
    if (group == nullptr || (!sk_ecdsa && type.substr(11) != *curve)) {
      return Fail(ErrorCode::kUnsupported, "unsupported ECDSA curve \"" + std::string(*curve) + "\"");
    }
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point->data(),
                                         point->size()) != 1) {
      return Fail(ErrorCode::kInternal, "OSSL_PARAM_BLD: " + DrainErrors());
    }
    return FromData("EC", bld.get());
  }
  const bool sk_ed = type == "sk-ssh-ed25519@openssh.com";
  if (type == "ssh-ed25519" || type == "ssh-ed448" || sk_ed) {
    auto pk = r.String();
    if (!pk) return Fail(ErrorCode::kInput, "truncated key");
    if (sk_ed && !r.String()) return Fail(ErrorCode::kInput, "truncated key");  // application
    const bool ed448 = type == "ssh-ed448";
    if (pk->size() != (ed448 ? 57u : 32u)) return Fail(ErrorCode::kInput, "bad EdDSA key length");
    EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(ed448 ? EVP_PKEY_ED448 : EVP_PKEY_ED25519,
                                                nullptr, pk->data(), pk->size()));
    if (!pkey) return Fail(ErrorCode::kInput, "invalid EdDSA key: " + DrainErrors());
    return pkey;
  }
  return Fail(ErrorCode::kUnsupported, "unsupported SSH key type \"" + std::string(type) + "\"");
}

// A string holding a list of strings (principals) or of name/data pairs (options).
std::optional<std::vector<std::string>> NameList(std::optional<ByteView> packed, bool pairs) {
  if (!packed) return std::nullopt;
  SshReader r(*packed);
  std::vector<std::string> names;
  while (!r.AtEnd()) {
    auto name = r.Text();
    if (!name || (pairs && !r.String())) return std::nullopt;
    names.emplace_back(*name);
  }
  return names;
}

Result<Identity> ParseCertificate(SshReader& r, std::string_view type, ByteView blob) {
  Identity id;
  id.kind = Kind::kSshCertificate;
  id.fingerprint = SshFingerprint(blob);
  SshInfo& ssh = id.ssh.emplace();
  ssh.algorithm = std::string(type);
  if (!r.String()) return Fail(ErrorCode::kInput, "truncated certificate");  // nonce
  auto pkey = ReadPublicKey(r, CertifiedKeyType(type));
  if (!pkey) return tl::unexpected(pkey.error());
  auto info = KeyInfoFromPkey(pkey->get(), &id.der);
  if (!info) return tl::unexpected(info.error());
  id.key = std::move(*info);
  auto serial = r.U64();
  auto cert_type = r.U32();
  auto key_id = r.Text();
  auto principals = NameList(r.String(), false);
  auto valid_after = r.U64();
  auto valid_before = r.U64();
  auto critical = NameList(r.String(), true);
  auto extensions = NameList(r.String(), true);
  auto reserved = r.String();
  auto ca_key = r.String();
  auto signature = r.String();
  if (!serial || !cert_type || !key_id || !principals || !valid_after || !valid_before ||
      !critical || !extensions || !reserved || !ca_key || !signature) {
    return Fail(ErrorCode::kInput, "truncated certificate");
  }
  if (!r.AtEnd()) return Fail(ErrorCode::kInput, "trailing bytes after certificate");
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  ssh.serial = *serial;
  ssh.cert_type = *cert_type == 1 ? "user" : *cert_type == 2 ? "host" : std::to_string(*cert_type);
  ssh.key_id = std::string(*key_id);
  ssh.principals = std::move(*principals);
  ssh.valid_after = static_cast<UnixSeconds>(std::min(*valid_after, kMax));
  ssh.valid_before = static_cast<UnixSeconds>(std::min(*valid_before, kMax));
  ssh.critical_options = std::move(*critical);
  ssh.extensions = std::move(*extensions);
  ssh.ca_fingerprint = SshFingerprint(*ca_key);
  return id;
}

bool IsBase64Char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
}

struct Token {
  std::string_view text;
  std::size_t offset;
};

// Splits on unquoted whitespace; authorized_keys options may quote spaces
// (command="echo hi"), with \" escaping a quote inside.
std::vector<Token> Tokenize(std::string_view line) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    const std::size_t start = i;
    bool quoted = false;
    for (; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '\\' && quoted && i + 1 < line.size()) {
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && (c == ' ' || c == '\t')) {
        break;
      }
    }
    tokens.push_back({line.substr(start, i - start), start});
  }
  return tokens;
}

void AddBlob(ByteView blob, std::string_view expected_type, std::string position,
             std::string options, std::string comment, ParsedContent& out) {
  auto id = ParseSshBlob(blob);
  if (!id) {
    out.issues.push_back({std::move(position), id.error().message});
    return;
  }
  if (!expected_type.empty() && id->ssh->algorithm != expected_type) {
    out.issues.push_back({std::move(position), "key type \"" + std::string(expected_type) +
                                                   "\" does not match its blob (\"" +
                                                   id->ssh->algorithm + "\")"});
    return;
  }
  id->ssh->options = std::move(options);
  id->ssh->comment = std::move(comment);
  id->position = std::move(position);
  out.identities.push_back(std::move(*id));
}

// RFC 4716 section 3: header lines "Tag: value" (a trailing '\' continues a line), then
// the base64 body. Returns the number of lines consumed, END line included.
std::size_t ParseRfc4716(const std::vector<std::string_view>& lines, std::size_t first,
                         ParsedContent& out) {
  const std::string position = "line:" + std::to_string(first + 1);
  std::string comment, body;
  bool continued = false;
  std::string* continuing = nullptr;
  for (std::size_t i = first + 1; i < lines.size(); ++i) {
    std::string_view line = Trim(lines[i]);
    if (line.starts_with("---- END SSH2 PUBLIC KEY ----")) {
      auto blob = Base64Decode(body);
      if (!blob || blob->empty()) {
        out.issues.push_back({position, "bad base64"});
      } else {
        AddBlob(*blob, "", position, "", comment, out);
      }
      return i - first + 1;
    }
    if (continued) {
      continued = line.ends_with('\\');
      if (continued) line.remove_suffix(1);
      if (continuing != nullptr) continuing->append(line);
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view tag = Trim(line.substr(0, colon));
      std::string_view value = Trim(line.substr(colon + 1));
      continued = value.ends_with('\\');
      if (continued) value.remove_suffix(1);
      continuing = nullptr;
      if (tag == "Comment" || tag == "comment") {
        comment = std::string(value);
        continuing = &comment;
      }
      continue;
    }
    body.append(line);
  }
  out.issues.push_back({position, "no END line"});
  return lines.size() - first;
}

}  // namespace

std::optional<std::uint32_t> SshReader::U32() {
  auto v = U64Bytes(4);
  if (!v) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}
std::optional<std::uint64_t> SshReader::U64() { return U64Bytes(8); }
std::optional<std::uint8_t> SshReader::U8() {
  auto v = U64Bytes(1);
  if (!v) return std::nullopt;
  return static_cast<std::uint8_t>(*v);
}
std::optional<std::uint64_t> SshReader::U64Bytes(std::size_t n) {
  if (failed_ || data_.size() - pos_ < n) {
    pos_ = data_.size();
    failed_ = true;
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_++];
  return v;
}
std::optional<ByteView> SshReader::String() {
  auto len = U32();
  if (!len) return std::nullopt;
  if (data_.size() - pos_ < *len) {
    pos_ = data_.size();
    failed_ = true;
    return std::nullopt;
  }
  ByteView out = data_.subspan(pos_, *len);
  pos_ += *len;
  return out;
}

std::string SshFingerprint(ByteView blob) {
  const Sha256Digest digest = Sha256(blob);
  return "SHA256:" + Base64Encode(digest, /*pad=*/false);
}

bool IsSshKeyType(std::string_view name) {
  if (name.ends_with(kCertSuffix)) {
    name.remove_suffix(kCertSuffix.size());
    if (name.starts_with("sk-")) return name == "sk-ecdsa-sha2-nistp256" || name == "sk-ssh-ed25519";
  }
  return name == "ssh-rsa" || name == "ssh-dss" || name == "ssh-ed25519" || name == "ssh-ed448" ||
         name == "ecdsa-sha2-nistp256" || name == "ecdsa-sha2-nistp384" ||
         name == "ecdsa-sha2-nistp521" || name == "sk-ecdsa-sha2-nistp256@openssh.com" ||
         name == "sk-ssh-ed25519@openssh.com";
}

Result<Identity> ParseSshBlob(ByteView blob) {
  SshReader r(blob);
  auto type = r.Text();
  if (!type) return Fail(ErrorCode::kInput, "truncated SSH key");
  if (type->ends_with(kCertSuffix)) return ParseCertificate(r, *type, blob);
  auto pkey = ReadPublicKey(r, *type);
  if (!pkey) return tl::unexpected(pkey.error());
  if (!r.AtEnd()) return Fail(ErrorCode::kInput, "trailing bytes after SSH key");
  Bytes spki;
  auto info = KeyInfoFromPkey(pkey->get(), &spki);
  if (!info) return tl::unexpected(info.error());
  Identity id;
  id.der = std::move(spki);
  id.kind = Kind::kSshPublicKey;
  id.fingerprint = SshFingerprint(blob);
  id.key = std::move(*info);
  id.ssh.emplace().algorithm = std::string(*type);
  return id;
}

bool ParseSshPublicText(std::string_view text, ParsedContent& out) {
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    lines.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  bool recognised = false;
  constexpr std::size_t kMaxIssues = 100;  // a big non-key text is not 100k issues
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = Trim(lines[i]);
    if (line.empty() || line.front() == '#') continue;
    const std::string position = "line:" + std::to_string(i + 1);
    if (line.starts_with("---- BEGIN SSH2 PUBLIC KEY ----")) {
      recognised = true;
      i += ParseRfc4716(lines, i, out) - 1;
      continue;
    }
    const std::vector<Token> tokens = Tokenize(line);
    std::size_t k = 0;
    while (k + 1 < tokens.size() && !IsSshKeyType(tokens[k].text)) ++k;
    if (k + 1 >= tokens.size()) {
      if (out.issues.size() < kMaxIssues) {
        out.issues.push_back({position, "not an OpenSSH public key line"});
      }
      continue;
    }
    recognised = true;
    std::string_view b64 = tokens[k + 1].text;
    auto blob = Base64Decode(b64);
    if (!blob || blob->empty() ||
        !std::all_of(b64.begin(), b64.end(), IsBase64Char)) {
      out.issues.push_back({position, "bad base64"});
      continue;
    }
    std::string options(Trim(line.substr(0, tokens[k].offset)));
    const std::size_t comment_at = tokens[k + 1].offset + b64.size();
    std::string comment(Trim(line.substr(comment_at)));
    AddBlob(*blob, tokens[k].text, position, std::move(options), std::move(comment), out);
  }
  return recognised;
}

Result<Identity> ParseOpenSshPrivateKey(ByteView body) {
  static constexpr std::string_view kMagic{"openssh-key-v1\0", 15};
  if (body.size() < kMagic.size() || AsChars(body.first(kMagic.size())) != kMagic) {
    return Fail(ErrorCode::kInput, "not an openssh-key-v1 key");
  }
  SshReader r(body.subspan(kMagic.size()));
  auto cipher = r.Text();
  auto kdf = r.Text();
  auto kdf_options = r.String();
  auto count = r.U32();
  auto public_blob = r.String();
  if (!cipher || !kdf || !kdf_options || !count || !public_blob) {
    return Fail(ErrorCode::kInput, "truncated OpenSSH private key");
  }
  if (*count == 0) return Fail(ErrorCode::kInput, "OpenSSH private key holds no key");
  auto id = ParseSshBlob(*public_blob);
  if (!id) return tl::unexpected(id.error());
  id->kind = Kind::kSshPrivateKey;
  const bool encrypted = *cipher != "none";
  id->private_key = PrivateKeyInfo{"openssh", encrypted, std::string(*cipher)};
  if (encrypted) return id;
  // PROTOCOL.key: the clear private section is check ints, then per key its type,
  // private fields and comment. Only the first key's comment is read.
  for (std::uint32_t i = 1; i < *count; ++i) {
    if (!r.String()) return id;
  }
  auto private_section = r.String();
  if (!private_section) return id;
  SshReader p(*private_section);
  auto check1 = p.U32();
  auto check2 = p.U32();
  auto type = p.Text();
  if (!check1 || !check2 || *check1 != *check2 || !type) return id;
  int strings = 0;
  bool sk = false;
  if (*type == "ssh-rsa") strings = 6;
  else if (*type == "ssh-dss") strings = 5;
  else if (type->starts_with("ecdsa-sha2-")) strings = 3;
  else if (*type == "ssh-ed25519" || *type == "ssh-ed448") strings = 2;
  else if (*type == "sk-ecdsa-sha2-nistp256@openssh.com") strings = 3, sk = true;
  else if (*type == "sk-ssh-ed25519@openssh.com") strings = 2, sk = true;
  else return id;
  for (int s = 0; s < strings; ++s) {
    if (!p.String()) return id;
  }
  if (sk && (!p.U8() || !p.String() || !p.String())) return id;  // flags, handle, reserved
  if (auto comment = p.Text()) id->ssh->comment = std::string(*comment);
  return id;
}

}  // namespace mica::x509::internal
