// Sniff: is this file worth parsing, and as what? Called on every file of a scan, so it
// looks at a few bytes, allocates nothing and never decodes.
#include <cstring>
#include <string_view>

#include "x509/parse.h"

namespace mica::x509 {
namespace {

bool StartsWith(ByteView b, std::string_view prefix) {
  return b.size() >= prefix.size() && std::memcmp(b.data(), prefix.data(), prefix.size()) == 0;
}

// A DER header at `p`: returns the header length and sets `length`, or 0 when malformed.
std::size_t DerHeader(ByteView b, std::size_t p, std::size_t& length) {
  if (b.size() < p + 2) return 0;
  const std::uint8_t first = b[p + 1];
  if (first < 0x80) {
    length = first;
    return 2;
  }
  const std::size_t n = first & 0x7f;
  if (n == 0 || n > 3 || b.size() < p + 2 + n) return 0;
  length = 0;
  for (std::size_t i = 0; i < n; ++i) length = (length << 8) | b[p + 2 + i];
  // DER uses the shortest length form (X.690 section 10.1).
  if ((n == 1 && length < 0x80) || (n > 1 && length < (std::size_t{1} << (8 * (n - 1))))) return 0;
  return 2 + n;
}

// 30 <len> { 02 01 03  30 <len> 06 09 2A864886F70D010701 ... }: PFX version 3 whose
// authSafe is pkcs7-data (RFC 7292 section 4).
bool LooksLikePkcs12(ByteView b, std::size_t inner) {
  static constexpr std::uint8_t kVersion[] = {0x02, 0x01, 0x03};
  static constexpr std::uint8_t kData[] = {0x06, 0x09, 0x2A, 0x86, 0x48, 0x86,
                                           0xF7, 0x0D, 0x01, 0x07, 0x01};
  if (b.size() < inner + 3 || std::memcmp(b.data() + inner, kVersion, 3) != 0) return false;
  std::size_t len = 0;
  const std::size_t p = inner + 3;
  if (b.size() <= p || b[p] != 0x30) return false;
  const std::size_t h = DerHeader(b, p, len);
  return h != 0 && b.size() >= p + h + sizeof kData &&
         std::memcmp(b.data() + p + h, kData, sizeof kData) == 0;
}

Format SniffDer(ByteView b) {
  std::size_t outer = 0;
  const std::size_t h = DerHeader(b, 0, outer);
  if (h == 0) return Format::kUnknown;
  // The whole file is the element: when we can see its end, nothing but a stray
  // newline may follow; a short element must be the whole head we were given.
  if (b.size() > h + outer + 2) return Format::kUnknown;
  if (h == 2 && b.size() < h + outer) return Format::kUnknown;
  if (outer < 16) return Format::kUnknown;  // no key or certificate is this small
  // Certificates, keys, PKCS#7 and PKCS#12 all open with a SEQUENCE or an INTEGER
  // (version) that fits inside the outer SEQUENCE.
  if (b.size() < h + 2 || (b[h] != 0x30 && b[h] != 0x02)) return Format::kUnknown;
  std::size_t inner = 0;
  const std::size_t ih = DerHeader(b, h, inner);
  if (ih == 0 || ih + inner > outer) return Format::kUnknown;
  return LooksLikePkcs12(b, h) ? Format::kPkcs12 : Format::kDer;
}

bool IsKeyTypeStart(std::string_view s) {
  return s.starts_with("ssh-") || s.starts_with("ecdsa-sha2-") || s.starts_with("sk-");
}

// Does this line hold "<key type> AAAA", possibly after options or a host pattern?
bool LineHasSshKey(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (i > 0 && line[i - 1] != ' ' && line[i - 1] != '\t') continue;
    std::string_view rest = line.substr(i);
    if (!IsKeyTypeStart(rest)) continue;
    std::size_t sp = rest.find_first_of(" \t");
    if (sp == std::string_view::npos) return false;
    while (sp < rest.size() && (rest[sp] == ' ' || rest[sp] == '\t')) ++sp;
    if (rest.substr(sp).starts_with("AAAA")) return true;
  }
  return false;
}

// OpenSSH public keys: the first line that is neither blank nor a # comment must carry
// a key (authorized_keys, known_hosts, *.pub), or be an RFC 4716 block.
bool LooksLikeSshPublic(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    const bool last = eol == std::string_view::npos;
    if (last) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '\r')) {
      line.remove_prefix(1);
    }
    pos = eol + 1;
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("---- BEGIN SSH2 PUBLIC KEY ----")) return true;
    return LineHasSshKey(line);
  }
  return false;
}

}  // namespace

Format Sniff(ByteView head) {
  if (head.size() >= 4) {
    const std::uint32_t magic = (std::uint32_t{head[0]} << 24) | (std::uint32_t{head[1]} << 16) |
                                (std::uint32_t{head[2]} << 8) | head[3];
    if (magic == 0xFEEDFEEDu) return Format::kJks;
    if (magic == 0xCECECECEu) return Format::kJceks;
  }
  if (!head.empty() && head[0] == 0x30) return SniffDer(head);
  ByteView text = head;
  if (StartsWith(text, "\xEF\xBB\xBF")) text = text.subspan(3);  // UTF-8 BOM
  if (StartsWith(text, "PuTTY-User-Key-File-")) return Format::kPpk;
  const std::string_view chars = AsChars(text);
  const std::size_t begin = chars.find("-----BEGIN ");
  if (begin != std::string_view::npos) {
    return chars.substr(begin).starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
               ? Format::kOpenSshPrivate
               : Format::kPem;
  }
  if (LooksLikeSshPublic(chars)) return Format::kOpenSshPublic;
  return Format::kUnknown;
}

}  // namespace mica::x509
