#include "core/merkle.h"

#include <bit>

namespace mica::merkle {

Hash LeafHash(ByteView data) {
  static constexpr std::uint8_t kLeafPrefix = 0x00;
  return Sha256({ByteView(&kLeafPrefix, 1), data});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  std::uint8_t buf[1 + 2 * 32];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return Sha256(ByteView(buf, sizeof buf));
}

Hash EmptyRoot() { return Sha256(ByteView()); }

std::optional<CompactRange> CompactRange::Restore(std::uint64_t size, std::vector<Hash> frontier) {
  if (static_cast<std::size_t>(std::popcount(size)) != frontier.size()) return std::nullopt;
  CompactRange r;
  r.size_ = size;
  r.frontier_ = std::move(frontier);
  return r;
}

void CompactRange::Append(const Hash& leaf) {
  Hash h = leaf;
  // Each trailing one bit of the old size is a subtree of the same size as the one being
  // carried: merge them, as a binary counter carries.
  for (std::uint64_t n = size_; n & 1; n >>= 1) {
    h = NodeHash(frontier_.back(), h);
    frontier_.pop_back();
  }
  frontier_.push_back(h);
  ++size_;
}

Hash CompactRange::Root() const {
  if (frontier_.empty()) return EmptyRoot();
  // MTH splits at the largest power of two below n, so the tree is the left-to-right
  // fold of the perfect subtrees, combined from the right.
  Hash r = frontier_.back();
  for (std::size_t i = frontier_.size() - 1; i-- > 0;) r = NodeHash(frontier_[i], r);
  return r;
}

Hash RootOf(std::span<const Hash> leaves) {
  CompactRange r;
  for (const Hash& h : leaves) r.Append(h);
  return r.Root();
}

namespace {

// The largest power of two smaller than n (n > 1).
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

void Path(std::span<const Hash> d, std::uint64_t m, std::vector<Hash>& out) {
  const std::uint64_t n = d.size();
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, and
  // PATH(m - k, D[k:n]) : MTH(D[0:k]) otherwise (RFC 9162 section 2.1.3.1).
  if (m < k) {
    Path(d.first(k), m, out);
    out.push_back(RootOf(d.subspan(k)));
  } else {
    Path(d.subspan(k), m - k, out);
    out.push_back(RootOf(d.first(k)));
  }
}

}  // namespace

std::vector<Hash> InclusionProof(std::span<const Hash> leaves, std::uint64_t index) {
  std::vector<Hash> out;
  if (index >= leaves.size()) return out;
  Path(leaves, index, out);
  return out;
}

bool VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                     std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

}  // namespace mica::merkle
