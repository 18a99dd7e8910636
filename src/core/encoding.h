// Byte helpers shared by every module: hex, base64, SHA-256 / SHA-1 digests.
//
// All functions are pure and thread-safe. Digests use OpenSSL's one-shot functions (no
// handles leave this file).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mica {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Lower-case hex, no separators.
std::string ToHex(ByteView bytes);
// Upper-case hex with ':' between bytes ("AB:CD:..."), the form OpenSSL prints.
std::string ToColonHex(ByteView bytes);
// Accepts upper or lower case, optional ':' separators. nullopt on any other character
// or an odd number of digits.
std::optional<Bytes> FromHex(std::string_view hex);

// Decodes standard base64 (RFC 4648 section 4), skipping ASCII whitespace. Padding is
// optional. nullopt on any other character or on a dangling single character.
std::optional<Bytes> Base64Decode(std::string_view text);
// Encodes standard base64; `pad` adds '=' padding.
std::string Base64Encode(ByteView bytes, bool pad = true);

using Sha256Digest = std::array<std::uint8_t, 32>;
using Sha1Digest = std::array<std::uint8_t, 20>;

Sha256Digest Sha256(ByteView data);
// The digest of the parts concatenated, without concatenating them.
Sha256Digest Sha256(std::initializer_list<ByteView> parts);
Sha1Digest Sha1(ByteView data);
// HMAC-SHA256 (RFC 2104 over SHA-256, as RFC 4231 tests it); any key length.
Sha256Digest HmacSha256(ByteView key, ByteView data);
inline std::string Sha256Hex(ByteView data) { return ToHex(Sha256(data)); }

// SHA-256 over data fed in pieces, for inputs too large to gather first (the lines a
// baseline event commits to).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteView data);
  void Update(std::string_view text) { Update(AsBytes(text)); }
  // The digest of everything fed so far; the stream is then spent.
  Sha256Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mica
