// PuTTY private key files, versions 2 and 3 (PuTTY manual, appendix C):
//
//   PuTTY-User-Key-File-3: ssh-ed25519
//   Encryption: none | aes256-cbc
//   Comment: ...
//   Public-Lines: N
//   <N lines of base64: the SSH wire public key blob>
//   (v3: Key-Derivation, Argon2-* lines when encrypted) Private-Lines ... Private-MAC
//
// Only the public half is read: it is in clear whatever the encryption.
#include <cctype>
#include <charconv>

#include "x509/internal/ssh.h"

namespace mica::x509::internal {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Public keys are a few lines: RSA-16384 is ~35. Anything above this is not a key.
constexpr int kMaxPublicLines = 256;

}  // namespace

Result<Identity> ParsePpk(std::string_view text) {
  std::size_t pos = 0;
  auto next_line = [&]() -> std::optional<std::string_view> {
    if (pos >= text.size()) return std::nullopt;
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    return line;
  };
  std::string algorithm, encryption, comment;
  int version = 0;
  while (auto line = next_line()) {
    const std::size_t colon = line->find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line->substr(0, colon);
    std::string_view value = Trim(line->substr(colon + 1));
    if (key.starts_with("PuTTY-User-Key-File-")) {
      key.remove_prefix(20);
      if (key == "2") version = 2;
      else if (key == "3") version = 3;
      else return Fail(ErrorCode::kUnsupported, "unsupported PPK version " + std::string(key));
      algorithm = std::string(value);
    } else if (key == "Encryption") {
      encryption = std::string(value);
    } else if (key == "Comment") {
      comment = std::string(value);
    } else if (key == "Public-Lines") {
      if (version == 0) return Fail(ErrorCode::kInput, "PPK: Public-Lines before the header");
      int count = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
      if (ec != std::errc() || end != value.data() + value.size() || count <= 0 ||
          count > kMaxPublicLines) {
        return Fail(ErrorCode::kInput, "PPK: bad Public-Lines \"" + std::string(value) + "\"");
      }
      std::string base64;
      for (int i = 0; i < count; ++i) {
        auto data = next_line();
        if (!data) return Fail(ErrorCode::kInput, "PPK: truncated public key");
        base64.append(*data);
      }
      auto blob = Base64Decode(base64);
      if (!blob || blob->empty()) return Fail(ErrorCode::kInput, "PPK: bad base64");
      auto id = ParseSshBlob(*blob);
      if (!id) return Wrap(id.error(), "PPK");
      if (id->ssh->algorithm != algorithm) {
        return Fail(ErrorCode::kInput, "PPK: header says \"" + algorithm +
                                           "\" but the key is \"" + id->ssh->algorithm + "\"");
      }
      id->kind = Kind::kSshPrivateKey;
      id->ssh->comment = std::move(comment);
      if (encryption.empty()) encryption = "none";
      id->private_key = PrivateKeyInfo{"ppk", encryption != "none", encryption};
      return id;
    }
  }
  if (version == 0) return Fail(ErrorCode::kInput, "not a PuTTY key file");
  return Fail(ErrorCode::kInput, "PPK: no Public-Lines");
}

}  // namespace mica::x509::internal
