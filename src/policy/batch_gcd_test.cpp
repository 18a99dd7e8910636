#include "policy/batch_gcd.h"

#include <gmp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "policy/internal/mpz.h"
#include "policy/internal/test_rng.h"

namespace mica::policy {
namespace {

using internal::Mpz;

Bytes Product(const Mpz& a, const Mpz& b) {
  Mpz n;
  mpz_mul(n.get(), a.get(), b.get());
  return internal::Export(n.get());
}

// `count` 512-bit moduli of fresh primes, then planted relations:
//   1-2 share p; 3-4-5 share q (one prime among three); 6 == 7 == 8 (duplicates);
//   9, 10, 11 with 9 = a*b, 10 = a*c, 11 = b*d (every factor of 9 shared: g == N);
//   12 shares a prime with 13 and is duplicated at 14.
std::vector<Bytes> Planted(std::size_t count, unsigned long seed) {
  internal::TestRng src(seed);
  std::vector<Bytes> m;
  for (std::size_t i = 0; i < count; ++i) m.push_back(Product(src.Prime(256), src.Prime(256)));
  Mpz p = src.Prime(256), q = src.Prime(256), a = src.Prime(256), b = src.Prime(256),
      s = src.Prime(256);
  m[1] = Product(p, src.Prime(256));
  m[2] = Product(p, src.Prime(256));
  m[3] = Product(q, src.Prime(256));
  m[4] = Product(src.Prime(256), q);
  m[5] = Product(q, src.Prime(256));
  m[7] = m[6];
  m[8] = m[6];
  m[9] = Product(a, b);
  m[10] = Product(a, src.Prime(256));
  m[11] = Product(src.Prime(256), b);
  m[12] = Product(s, src.Prime(256));
  m[13] = Product(s, src.Prime(256));
  m[14] = m[12];
  return m;
}

TEST(BatchGcdTest, FindsEveryPlantedPairLikeThePairwiseMethod) {
  auto m = Planted(300, 1);
  auto fast = BatchGcd(m, {.threads = 2});
  auto slow = PairwiseGcd(m);
  ASSERT_TRUE(fast) << fast.error().message;
  ASSERT_TRUE(slow) << slow.error().message;
  EXPECT_EQ(fast->pairs, slow->pairs);
  const std::vector<GcdPair> expected = {
      {1, 2, GcdRelation::kSharedFactor},  {3, 4, GcdRelation::kSharedFactor},
      {3, 5, GcdRelation::kSharedFactor},  {4, 5, GcdRelation::kSharedFactor},
      {6, 7, GcdRelation::kDuplicate},     {6, 8, GcdRelation::kDuplicate},
      {7, 8, GcdRelation::kDuplicate},     {9, 10, GcdRelation::kSharedFactor},
      {9, 11, GcdRelation::kSharedFactor}, {12, 13, GcdRelation::kSharedFactor},
      {12, 14, GcdRelation::kDuplicate},   {13, 14, GcdRelation::kSharedFactor},
  };
  EXPECT_EQ(fast->pairs, expected);
  EXPECT_EQ(fast->distinct, 297u);  // 300 minus the copies at 7, 8 and 14
}

TEST(BatchGcdTest, SameResultWithOneThreadAndWithChunkedTrees) {
  auto m = Planted(200, 2);
  auto two = BatchGcd(m, {.threads = 2});
  auto one = BatchGcd(m, {.threads = 1});
  // A tiny budget forces many chunks whose trees are rebuilt during the descent.
  auto chunked = BatchGcd(m, {.threads = 2, .tree_memory_budget = 4096});
  ASSERT_TRUE(two && one && chunked);
  EXPECT_EQ(one->pairs, two->pairs);
  EXPECT_EQ(chunked->pairs, two->pairs);
  EXPECT_EQ(two->pairs.size(), 12u);
}

TEST(BatchGcdTest, NoPairsAmongCoprimeModuli) {
  internal::TestRng src(3);
  std::vector<Bytes> m;
  for (int i = 0; i < 50; ++i) m.push_back(Product(src.Prime(256), src.Prime(256)));
  auto r = BatchGcd(m);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->pairs.empty());
  EXPECT_EQ(r->hits, 0u);
}

TEST(BatchGcdTest, EveryModulusSharingWithEveryOther) {
  // N_i = p * q_i for all i: g_i = p for each, all pairs shared.
  internal::TestRng src(4);
  Mpz p = src.Prime(256);
  std::vector<Bytes> m;
  for (int i = 0; i < 6; ++i) m.push_back(Product(p, src.Prime(256)));
  auto r = BatchGcd(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pairs.size(), 15u);
  EXPECT_EQ(r->pairs, PairwiseGcd(m)->pairs);
}

TEST(BatchGcdTest, TinyInputsAndLeadingZeros) {
  EXPECT_TRUE(BatchGcd(std::vector<Bytes>{})->pairs.empty());
  internal::TestRng src(5);
  Bytes one = Product(src.Prime(256), src.Prime(256));
  EXPECT_TRUE(BatchGcd(std::vector<Bytes>{one})->pairs.empty());
  Bytes padded = one;
  padded.insert(padded.begin(), 0);
  auto r = BatchGcd(std::vector<Bytes>{one, padded});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->pairs.size(), 1u);
  EXPECT_EQ(r->pairs[0].relation, GcdRelation::kDuplicate);
}

TEST(BatchGcdTest, RejectsZeroAndOneNamingTheIndex) {
  internal::TestRng src(6);
  std::vector<Bytes> m = {Product(src.Prime(256), src.Prime(256)), Bytes{0, 0}, Bytes{1}};
  auto r = BatchGcd(m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInput);
  EXPECT_NE(r.error().message.find("modulus 1"), std::string::npos) << r.error().message;
}

TEST(BatchGcdTest, IncrementalBatchesGiveTheFullResult) {
  auto m = Planted(240, 7);
  // Move planted moduli across batch boundaries: old-new and new-new relations, and a
  // duplicate whose first copy is old.
  std::swap(m[2], m[200]);   // 1 (batch 1) shares with 200 (batch 3)
  std::swap(m[8], m[150]);   // 6 == 7 == 150
  std::swap(m[11], m[120]);  // 9 shares with 120 (batch 2)
  std::swap(m[14], m[230]);  // 12 == 230, 13 shares with both
  auto full = BatchGcd(m, {.threads = 2});
  ASSERT_TRUE(full);
  GcdCorpus corpus;
  std::vector<GcdPair> union_pairs;
  const std::size_t cuts[] = {0, 100, 180, 240};
  for (int b = 0; b < 3; ++b) {
    std::span<const Bytes> batch(m.data() + cuts[b], cuts[b + 1] - cuts[b]);
    auto r = corpus.Add(batch, {.threads = 2});
    ASSERT_TRUE(r) << r.error().message;
    for (const auto& p : r->pairs) {
      EXPECT_GE(p.b, cuts[b]) << "a pair among old moduli was reported again";
      union_pairs.push_back(p);
    }
  }
  std::sort(union_pairs.begin(), union_pairs.end());
  EXPECT_EQ(union_pairs, full->pairs);
  EXPECT_EQ(corpus.All().pairs, full->pairs);
  EXPECT_EQ(corpus.size(), 240u);
}

TEST(BatchGcdTest, StateFileRoundTripsAndContinues) {
  auto m = Planted(120, 8);
  std::swap(m[2], m[110]);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mica_gcd_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "state.gcd").string();
  {
    GcdCorpus c;
    ASSERT_TRUE(c.Add(std::span<const Bytes>(m.data(), 100)));
    ASSERT_TRUE(c.Save(path));
  }
  auto loaded = GcdCorpus::Load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->size(), 100u);
  auto r = loaded->Add(std::span<const Bytes>(m.data() + 100, 20));
  ASSERT_TRUE(r);
  EXPECT_EQ(loaded->All().pairs, BatchGcd(m)->pairs);
  // A damaged file is refused with its name.
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "MICAGCD1\x05";
  }
  auto bad = GcdCorpus::Load(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(path), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mica::policy
