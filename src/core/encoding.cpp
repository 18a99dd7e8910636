#include "core/encoding.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <memory>

#include "core/unique_handle.h"

namespace mica {

namespace {
constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> MakeB64Table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<std::int8_t>(i);
  t[static_cast<unsigned char>('=')] = -2;
  for (char c : {' ', '\t', '\r', '\n', '\v', '\f'}) t[static_cast<unsigned char>(c)] = -3;
  return t;
}
constexpr auto kB64Table = MakeB64Table();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string ToHex(ByteView bytes) {
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHexLower[bytes[i] >> 4];
    out[2 * i + 1] = kHexLower[bytes[i] & 15];
  }
  return out;
}

std::string ToColonHex(ByteView bytes) {
  std::string out;
  out.reserve(bytes.size() * 3);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) out.push_back(':');
    out.push_back(kHexUpper[bytes[i] >> 4]);
    out.push_back(kHexUpper[bytes[i] & 15]);
  }
  return out;
}

std::optional<Bytes> FromHex(std::string_view hex) {
  Bytes out;
  out.reserve(hex.size() / 2);
  int hi = -1;
  for (char c : hex) {
    if (c == ':') {
      if (hi != -1) return std::nullopt;
      continue;
    }
    int v = HexValue(c);
    if (v < 0) return std::nullopt;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi != -1) return std::nullopt;
  return out;
}

std::optional<Bytes> Base64Decode(std::string_view text) {
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int n = 0;
  bool padding = false;
  for (char c : text) {
    int v = kB64Table[static_cast<unsigned char>(c)];
    if (v == -3) continue;
    if (v == -1) return std::nullopt;
    if (v == -2) {
      padding = true;
      continue;
    }
    if (padding) return std::nullopt;  // data after '='
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    if (++n == 4) {
      out.push_back(static_cast<std::uint8_t>(acc >> 16));
      out.push_back(static_cast<std::uint8_t>(acc >> 8));
      out.push_back(static_cast<std::uint8_t>(acc));
      acc = 0;
      n = 0;
    }
  }
  if (n == 1) return std::nullopt;
  if (n == 2) out.push_back(static_cast<std::uint8_t>(acc >> 4));
  if (n == 3) {
    out.push_back(static_cast<std::uint8_t>(acc >> 10));
    out.push_back(static_cast<std::uint8_t>(acc >> 2));
  }
  return out;
}

std::string Base64Encode(ByteView b, bool pad) {
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    std::uint32_t v = b[i] << 16 | b[i + 1] << 8 | b[i + 2];
    out.push_back(kB64[v >> 18]);
    out.push_back(kB64[v >> 12 & 63]);
    out.push_back(kB64[v >> 6 & 63]);
    out.push_back(kB64[v & 63]);
  }
  if (size_t rest = b.size() - i) {
    std::uint32_t v = b[i] << 16 | (rest == 2 ? b[i + 1] << 8 : 0);
    out.push_back(kB64[v >> 18]);
    out.push_back(kB64[v >> 12 & 63]);
    if (rest == 2) out.push_back(kB64[v >> 6 & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

namespace {

// OpenSSL 3's one-shot SHA256() fetches the algorithm on every call; a fetched EVP_MD
// and a context per thread halve the cost of a short hash (the audit log hashes
// every event and every tree node).
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = ::EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

EVP_MD_CTX* Sha256Context() {
  thread_local const Ptr<EVP_MD_CTX, ::EVP_MD_CTX_free> ctx(::EVP_MD_CTX_new());
  const EVP_MD* md = Sha256Md();
  if (!md || !ctx || ::EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) return nullptr;
  return ctx.get();
}

}  // namespace

Sha256Digest Sha256(std::initializer_list<ByteView> parts) {
  Sha256Digest d;
  unsigned int n = 0;
  EVP_MD_CTX* ctx = Sha256Context();
  bool ok = ctx != nullptr;
  for (const ByteView part : parts)
    ok = ok && ::EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
  if (ok && ::EVP_DigestFinal_ex(ctx, d.data(), &n) == 1 && n == d.size()) return d;
  // Unreachable unless the OpenSSL default provider is missing: fall back to the
  // one-shot path rather than return a wrong digest.
  Bytes all;
  for (const ByteView part : parts) all.insert(all.end(), part.begin(), part.end());
  ::SHA256(all.data(), all.size(), d.data());
  return d;
}

Sha256Digest Sha256(ByteView data) { return Sha256({data}); }

struct Sha256Stream::Impl {
  Ptr<EVP_MD_CTX, ::EVP_MD_CTX_free> ctx{::EVP_MD_CTX_new()};
  bool ok = false;
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  const EVP_MD* md = Sha256Md();
  impl_->ok = md && impl_->ctx && ::EVP_DigestInit_ex2(impl_->ctx.get(), md, nullptr) == 1;
}
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(ByteView data) {
  impl_->ok = impl_->ok && ::EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) == 1;
}

Sha256Digest Sha256Stream::Finish() {
  Sha256Digest d{};
  unsigned int n = 0;
  // A failure here means no SHA-256 in the default provider: an all-zero digest that
  // can never match a recomputation, rather than a crash.
  if (impl_->ok && ::EVP_DigestFinal_ex(impl_->ctx.get(), d.data(), &n) == 1 && n == d.size())
    return d;
  return Sha256Digest{};
}

Sha1Digest Sha1(ByteView data) {
  Sha1Digest d;
  ::SHA1(data.data(), data.size(), d.data());
  return d;
}

Sha256Digest HmacSha256(ByteView key, ByteView data) {
  Sha256Digest d{};
  unsigned int len = 0;
  // One-shot HMAC; a non-null `key` pointer even for an empty key (OpenSSL treats NULL
  // as "reuse the previous key" in some versions).
  static const unsigned char kEmpty = 0;
  ::HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
         data.data(), data.size(), d.data(), &len);
  return d;
}

}  // namespace mica
