// RFC 6962 / RFC 9162 Merkle tree hashing for the audit log: leaf and node hashes, the
// compact range that appends in O(log n), the tree head over a list of leaves, and
// inclusion proofs (RFC 9162 section 2.1.3).
//
// Pure functions and a value type; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/encoding.h"

namespace mica::merkle {

using Hash = Sha256Digest;

// The hash as a byte vector, the form the store keeps.
inline Bytes ToBytes(const Hash& h) { return Bytes(h.begin(), h.end()); }

// SHA-256(0x00 || data): the hash of a leaf (RFC 9162 section 2.1.1).
Hash LeafHash(ByteView data);
// SHA-256(0x01 || left || right): the hash of an interior node.
Hash NodeHash(const Hash& left, const Hash& right);
// The root of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();

// The hashes of the perfect subtrees that cover leaves [0, size), largest first: one per
// set bit of size. Appending a leaf merges the equal-sized subtrees at the right edge.
class CompactRange {
 public:
  CompactRange() = default;
  // Restores a range saved with frontier(); nullopt when the count of hashes does not
  // match the set bits of `size`.
  static std::optional<CompactRange> Restore(std::uint64_t size, std::vector<Hash> frontier);

  void Append(const Hash& leaf);
  // The tree head (MTH) of leaves [0, size).
  Hash Root() const;
  std::uint64_t size() const { return size_; }
  const std::vector<Hash>& frontier() const { return frontier_; }

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> frontier_;
};

// MTH(D[n]) over the given leaf hashes.
Hash RootOf(std::span<const Hash> leaves);

// PATH(index, D[n]) (RFC 9162 section 2.1.3.1); empty when index >= leaves.size().
std::vector<Hash> InclusionProof(std::span<const Hash> leaves, std::uint64_t index);

// RFC 9162 section 2.1.3.2: true when `proof` shows that `leaf` is leaf `index` of the
// tree of `size` leaves whose root is `root`.
bool VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                     std::span<const Hash> proof, const Hash& root);

}  // namespace mica::merkle
