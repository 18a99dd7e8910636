// A strict, allocation-free DER reader (ITU-T X.690 section 10).
//
// Only what certificates need: single-octet identifiers (low tag numbers), definite
// lengths in the minimal form, no indefinite length (X.690 10.1), nesting bounded by
// kMaxDepth. Every read is bounds-checked; errors name the byte offset from the start of
// the outermost input so that a user can find the fault with `openssl asn1parse`.
// A Reader is a cheap value (a view and an offset); it never owns the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/encoding.h"
#include "core/error.h"

namespace mica::x509::internal::der {

// Identifier octets used by certificates (class | constructed | number).
enum Tag : std::uint8_t {
  kBoolean = 0x01,
  kInteger = 0x02,
  kBitString = 0x03,
  kOctetString = 0x04,
  kNull = 0x05,
  kOid = 0x06,
  kUtf8String = 0x0c,
  kPrintableString = 0x13,
  kT61String = 0x14,
  kIa5String = 0x16,
  kUtcTime = 0x17,
  kGeneralizedTime = 0x18,
  kUniversalString = 0x1c,
  kBmpString = 0x1e,
  kSequence = 0x30,
  kSet = 0x31,
};
constexpr std::uint8_t kConstructed = 0x20;
constexpr std::uint8_t kContext = 0x80;
constexpr std::uint8_t kClassMask = 0xc0;
constexpr int kMaxDepth = 16;

// One element: the identifier octet, its content and the whole encoding.
struct Tlv {
  std::uint8_t tag = 0;
  std::size_t offset = 0;  // offset of the identifier octet in the outermost input
  ByteView value;          // content octets
  ByteView whole;          // identifier + length + content
  bool constructed() const { return (tag & kConstructed) != 0; }
};

class Reader {
 public:
  // `base` is the offset of data[0] within the outermost input (for messages only).
  explicit Reader(ByteView data, std::size_t base = 0, int depth = 0)
      : data_(data), base_(base), depth_(depth) {}

  bool empty() const { return pos_ >= data_.size(); }
  std::size_t offset() const { return base_ + pos_; }
  // The identifier octet of the next element, or 0 at the end.
  std::uint8_t PeekTag() const { return empty() ? 0 : data_[pos_]; }
  bool Peek(std::uint8_t tag) const { return !empty() && data_[pos_] == tag; }

  // Reads the next element, whatever its tag.
  [[nodiscard]] Result<Tlv> Next();
  // Reads the next element and checks its tag; `what` names it in the error.
  [[nodiscard]] Result<Tlv> Expect(std::uint8_t tag, const char* what);
  // A reader over the content of a constructed element, one level deeper.
  [[nodiscard]] Result<Reader> Enter(const Tlv& tlv) const;
  // Expect + Enter.
  [[nodiscard]] Result<Reader> ExpectEnter(std::uint8_t tag, const char* what);
  // Fails unless every byte was read ("unexpected data after <what>").
  [[nodiscard]] Status ExpectEnd(const char* what) const;

 private:
  ByteView data_;
  std::size_t pos_ = 0;
  std::size_t base_ = 0;
  int depth_ = 0;
};

// "<reason> at offset <n>", as an ErrorCode::kInput error.
tl::unexpected<Error> InputError(const std::string& reason, std::size_t offset);

// The value of a DER INTEGER as int64, if it is minimal and fits.
[[nodiscard]] bool ParseInt64(ByteView content, std::int64_t& out);
// True when an INTEGER's content is a valid minimal two's-complement encoding
// (X.690 8.3.2): non-empty, no redundant leading 0x00 / 0xff octet.
[[nodiscard]] bool IsMinimalInteger(ByteView content);
// True when an OBJECT IDENTIFIER's content is well formed (X.690 8.19): non-empty,
// each subidentifier minimal (no leading 0x80) and terminated.
[[nodiscard]] bool IsValidOid(ByteView content);

}  // namespace mica::x509::internal::der
