// PEM splitting, RFC 7468. Lax as its section 3 recommends for parsers: whitespace
// around lines, text between blocks, and RFC 1421 headers (Proc-Type, DEK-Info) of
// traditional OpenSSL encrypted keys are accepted.
#include "x509/internal/pem.h"

#include <algorithm>
#include <cctype>

namespace mica::x509::internal {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits the body of a block into RFC 1421 headers and the base64 text. Headers exist
// only when the first non-blank line has a ':' (base64 never contains one).
void SplitHeaders(std::string_view body, PemBlock& block, std::string_view& base64) {
  base64 = body;
  std::size_t pos = 0;
  bool in_headers = false;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = Trim(body.substr(pos, eol - pos));
    const std::size_t next = eol < body.size() ? eol + 1 : eol;
    if (line.empty()) {
      if (in_headers) {  // the blank line that ends the headers
        base64 = body.substr(next);
        return;
      }
      pos = next;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      base64 = body.substr(pos);  // no (more) headers: data starts here
      return;
    }
    in_headers = true;
    block.headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                               std::string(Trim(line.substr(colon + 1))));
    pos = next;
  }
  base64 = {};
}

}  // namespace

std::string_view PemBlock::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

std::vector<PemBlock> SplitPem(std::string_view text) {
  std::vector<PemBlock> blocks;
  std::size_t pos = 0;
  while (true) {
    const std::size_t begin = text.find(kBegin, pos);
    if (begin == std::string_view::npos) break;
    const std::size_t label_start = begin + kBegin.size();
    const std::size_t label_end = text.find(kDashes, label_start);
    const std::size_t eol = text.find('\n', label_start);
    if (label_end == std::string_view::npos ||
        (eol != std::string_view::npos && eol < label_end)) {
      pos = label_start;  // "-----BEGIN " without a closing "-----" on the line: text
      continue;
    }
    PemBlock block;
    block.index = static_cast<int>(blocks.size()) + 1;
    block.label = std::string(Trim(text.substr(label_start, label_end - label_start)));
    const std::size_t body_start = label_end + kDashes.size();
    std::string end_line = std::string(kEnd) + block.label + std::string(kDashes);
    const std::size_t end = text.find(end_line, body_start);
    // A second BEGIN before our END means this block was cut off.
    const std::size_t next_begin = text.find(kBegin, body_start);
    if (end == std::string_view::npos || (next_begin != std::string_view::npos && next_begin < end)) {
      block.problem = "no END line";
      blocks.push_back(std::move(block));
      if (next_begin == std::string_view::npos) break;
      pos = next_begin;
      continue;
    }
    std::string_view base64;
    SplitHeaders(text.substr(body_start, end - body_start), block, base64);
    auto der = Base64Decode(base64);
    if (!der) {
      block.problem = "bad base64";
    } else if (der->empty()) {
      block.problem = "empty block";
    } else {
      block.der = std::move(*der);
    }
    blocks.push_back(std::move(block));
    pos = end + end_line.size();
  }
  return blocks;
}

std::optional<std::size_t> DerElementSize(ByteView der) {
  if (der.size() < 2) return std::nullopt;
  if ((der[0] & 0x1f) == 0x1f) return std::nullopt;  // high tag numbers: not needed here
  const std::uint8_t first = der[1];
  std::size_t header = 2;
  std::size_t length = 0;
  if (first < 0x80) {
    length = first;
  } else {
    const std::size_t n = first & 0x7f;
    if (n == 0 || n > 4 || der.size() < 2 + n) return std::nullopt;  // 0x80: indefinite
    for (std::size_t i = 0; i < n; ++i) length = (length << 8) | der[2 + i];
    header += n;
  }
  if (length > der.size() - header) return std::nullopt;
  return header + length;
}

}  // namespace mica::x509::internal
