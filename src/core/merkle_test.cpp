#include "core/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mica::merkle {
namespace {

std::vector<Hash> Leaves(int n) {
  std::vector<Hash> out;
  for (int i = 0; i < n; ++i) out.push_back(LeafHash(AsBytes("leaf " + std::to_string(i))));
  return out;
}

// MTH written straight from RFC 9162 section 2.1.1, recursively, as the reference.
Hash ReferenceRoot(std::span<const Hash> d) {
  if (d.empty()) return EmptyRoot();
  if (d.size() == 1) return d[0];
  std::size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  return NodeHash(ReferenceRoot(d.first(k)), ReferenceRoot(d.subspan(k)));
}

TEST(MerkleTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(ToHex(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MerkleTest, LeafHashPrefixesZeroByte) {
  // RFC 6962 test vector: the hash of the empty leaf.
  EXPECT_EQ(ToHex(LeafHash({})),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST(MerkleTest, CompactRangeMatchesRecursiveDefinitionForEverySize) {
  const auto leaves = Leaves(70);
  CompactRange r;
  EXPECT_EQ(r.Root(), EmptyRoot());
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    r.Append(leaves[n - 1]);
    ASSERT_EQ(r.Root(), ReferenceRoot(std::span(leaves).first(n))) << "size " << n;
    ASSERT_EQ(r.frontier().size(), static_cast<std::size_t>(std::popcount(n)));
  }
}

TEST(MerkleTest, RestoreRejectsFrontierOfWrongLength) {
  EXPECT_FALSE(CompactRange::Restore(3, {Hash{}}).has_value());
  const auto leaves = Leaves(5);
  CompactRange r;
  for (const auto& h : leaves) r.Append(h);
  auto back = CompactRange::Restore(r.size(), r.frontier());
  ASSERT_TRUE(back.has_value());
  back->Append(leaves[0]);
  r.Append(leaves[0]);
  EXPECT_EQ(back->Root(), r.Root());
}

TEST(MerkleTest, InclusionProofsVerifyForEveryLeafAndSize) {
  const auto leaves = Leaves(33);
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    const auto d = std::span(leaves).first(n);
    const Hash root = RootOf(d);
    for (std::size_t m = 0; m < n; ++m) {
      const auto proof = InclusionProof(d, m);
      ASSERT_TRUE(VerifyInclusion(m, n, d[m], proof, root)) << m << "/" << n;
      // The same proof must not prove another leaf or another position.
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(m, n, d[(m + 1) % n], proof, root));
        EXPECT_FALSE(VerifyInclusion((m + 1) % n, n, d[m], proof, root));
      }
    }
  }
}

TEST(MerkleTest, VerifyInclusionRejectsIndexOutsideTree) {
  const auto leaves = Leaves(4);
  const auto proof = InclusionProof(leaves, 1);
  EXPECT_FALSE(VerifyInclusion(4, 4, leaves[1], proof, RootOf(leaves)));
  EXPECT_TRUE(InclusionProof(leaves, 9).empty());
}

}  // namespace
}  // namespace mica::merkle
