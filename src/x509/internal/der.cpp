#include "x509/internal/der.h"

namespace mica::x509::internal::der {

tl::unexpected<Error> InputError(const std::string& reason, std::size_t offset) {
  return Fail(ErrorCode::kInput, reason + " at offset " + std::to_string(offset));
}

Result<Tlv> Reader::Next() {
  const std::size_t start = pos_;
  const std::size_t n = data_.size();
  if (start >= n) return InputError("truncated: expected an element", offset());
  const std::uint8_t tag = data_[start];
  // High tag numbers (X.690 8.1.2.4) never occur in the parts of a certificate we read.
  if ((tag & 0x1f) == 0x1f) return InputError("unsupported high tag number", base_ + start);
  if (start + 1 >= n) return InputError("truncated: missing length", base_ + start);
  std::size_t p = start + 1;
  const std::uint8_t first = data_[p++];
  std::size_t len = 0;
  if (first < 0x80) {
    len = first;
  } else if (first == 0x80) {
    // X.690 10.1: DER uses the definite form only.
    return InputError("indefinite length not allowed in DER", base_ + start);
  } else {
    const std::size_t count = first & 0x7f;
    if (count > 4) return InputError("length too long", base_ + start);
    if (n - p < count) return InputError("truncated: length octets", base_ + start);
    if (data_[p] == 0) return InputError("non-minimal length encoding", base_ + start);
    for (std::size_t i = 0; i < count; ++i) len = (len << 8) | data_[p++];
    // X.690 10.1: the shortest form; long form only for lengths above 127.
    if (len < 0x80) return InputError("non-minimal length encoding", base_ + start);
  }
  if (len > n - p) {
    return InputError("truncated: element of length " + std::to_string(len) + " has only " +
                          std::to_string(n - p) + " bytes",
                      base_ + start);
  }
  Tlv tlv;
  tlv.tag = tag;
  tlv.offset = base_ + start;
  tlv.value = data_.subspan(p, len);
  tlv.whole = data_.subspan(start, p + len - start);
  pos_ = p + len;
  return tlv;
}

namespace {
std::string TagText(std::uint8_t tag) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[tag >> 4] + kHex[tag & 15];
}
}  // namespace

Result<Tlv> Reader::Expect(std::uint8_t tag, const char* what) {
  if (empty()) return InputError(std::string("truncated: missing ") + what, offset());
  if (data_[pos_] != tag) {
    return InputError(std::string("bad tag for ") + what + ": expected " + TagText(tag) +
                          ", found " + TagText(data_[pos_]),
                      offset());
  }
  return Next();
}

Result<Reader> Reader::Enter(const Tlv& tlv) const {
  if (!tlv.constructed()) return InputError("primitive element where constructed expected", tlv.offset);
  if (depth_ + 1 > kMaxDepth) return InputError("nesting too deep", tlv.offset);
  const std::size_t header = tlv.whole.size() - tlv.value.size();
  return Reader(tlv.value, tlv.offset + header, depth_ + 1);
}

Result<Reader> Reader::ExpectEnter(std::uint8_t tag, const char* what) {
  auto tlv = Expect(tag, what);
  if (!tlv) return tl::unexpected(tlv.error());
  return Enter(*tlv);
}

Status Reader::ExpectEnd(const char* what) const {
  if (!empty()) return InputError(std::string("unexpected data after ") + what, offset());
  return {};
}

bool IsMinimalInteger(ByteView c) {
  if (c.empty()) return false;
  if (c.size() > 1 && ((c[0] == 0x00 && (c[1] & 0x80) == 0) || (c[0] == 0xff && (c[1] & 0x80) != 0)))
    return false;
  return true;
}

bool ParseInt64(ByteView c, std::int64_t& out) {
  if (!IsMinimalInteger(c) || c.size() > 8) return false;
  std::uint64_t v = (c[0] & 0x80) ? ~std::uint64_t{0} : 0;
  for (std::uint8_t b : c) v = (v << 8) | b;
  out = static_cast<std::int64_t>(v);
  return true;
}

bool IsValidOid(ByteView c) {
  if (c.empty()) return false;
  bool start = true;
  for (std::uint8_t b : c) {
    if (start && b == 0x80) return false;  // X.690 8.19.2: no leading 0x80 octet
    start = (b & 0x80) == 0;
  }
  return start;  // the last subidentifier must end
}

}  // namespace mica::x509::internal::der
