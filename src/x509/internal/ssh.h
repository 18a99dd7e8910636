// OpenSSH and PuTTY formats: the SSH wire encoding (RFC 4251 section 5), public key
// lines, OpenSSH private keys (PROTOCOL.key), certificates (PROTOCOL.certkeys) and PPK.
// Private to the x509 module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "x509/identity.h"
#include "x509/parse.h"

namespace mica::x509::internal {

// Reads the SSH wire encoding; every read is bounds-checked and fails (returns nullopt)
// once the input is exhausted, after which the reader stays failed.
class SshReader {
 public:
  explicit SshReader(ByteView data) : data_(data) {}
  std::optional<std::uint32_t> U32();
  std::optional<std::uint64_t> U64();
  std::optional<std::uint8_t> U8();
  std::optional<ByteView> String();  // uint32 length + bytes
  std::optional<std::string_view> Text() {
    auto s = String();
    if (!s) return std::nullopt;
    return AsChars(*s);
  }
  bool AtEnd() const { return !failed_ && pos_ == data_.size(); }

 private:
  std::optional<std::uint64_t> U64Bytes(std::size_t n);

  ByteView data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

// "SHA256:" + unpadded base64 of SHA-256 of the wire blob, as `ssh-keygen -l` prints.
std::string SshFingerprint(ByteView blob);

// Known OpenSSH key algorithm names, including sk-* and *-cert-v01@openssh.com.
bool IsSshKeyType(std::string_view name);

// A public key or certificate wire blob -> kSshPublicKey or kSshCertificate, with key
// info (and spki_sha256 through the equivalent OpenSSL key), fingerprint and SshInfo.
[[nodiscard]] Result<Identity> ParseSshBlob(ByteView blob);

// OpenSSH public key lines, authorized_keys (with options), known_hosts; RFC 4716
// "---- BEGIN SSH2 PUBLIC KEY ----" blocks too. Returns false when nothing in `text`
// looked like a key line.
bool ParseSshPublicText(std::string_view text, ParsedContent& out);

// The binary body of an OPENSSH PRIVATE KEY block ("openssh-key-v1\0" ...).
[[nodiscard]] Result<Identity> ParseOpenSshPrivateKey(ByteView body);

// A PuTTY-User-Key-File-2 or -3 text.
[[nodiscard]] Result<Identity> ParsePpk(std::string_view text);

}  // namespace mica::x509::internal
