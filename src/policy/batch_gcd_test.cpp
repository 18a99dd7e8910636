#include "policy/batch_gcd.h"

#include <gmp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "policy/internal/batch_gcd_tree.h"
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


// ---------------------------------------------------------------------------------------
// The tree stage itself (internal::TreeGcd): the scaled remainder tree against the exact
// one and against an oracle that uses no tree at all.

using internal::RemainderTree;
using internal::TreeConfig;
using internal::TreeStats;

Mpz Ui(unsigned long v) { return Mpz(v); }

Mpz Mul(const Mpz& a, const Mpz& b) {
  Mpz n;
  mpz_mul(n.get(), a.get(), b.get());
  return n;
}

// hit[i] = gcd(m_i, X * prod_{j != i} m_j) != 1, one gcd per pair: no tree involved.
std::vector<char> OracleHits(const std::vector<Mpz>& m, mpz_srcptr extra) {
  std::vector<char> hit(m.size(), 0);
  Mpz g;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (extra != nullptr) {
      mpz_gcd(g.get(), m[i].get(), extra);
      if (mpz_cmp_ui(g.get(), 1) != 0) hit[i] = 1;
    }
    for (std::size_t j = 0; j < m.size() && !hit[i]; ++j) {
      if (j == i) continue;
      mpz_gcd(g.get(), m[i].get(), m[j].get());
      if (mpz_cmp_ui(g.get(), 1) != 0) hit[i] = 1;
    }
  }
  return hit;
}

std::string Hex(const Mpz& x) {
  std::string out(mpz_sizeinbase(x.get(), 16) + 2, '\0');
  mpz_get_str(out.data(), 16, x.get());
  out.resize(std::strlen(out.c_str()));
  return out;
}

struct TreeRun {
  std::vector<char> hit;
  std::size_t fallbacks = 0;
  std::string product;  // hex
};

TreeRun RunTree(const std::vector<Mpz>& m, mpz_srcptr extra, TreeConfig config,
                GcdOptions options = {.threads = 2}) {
  TreeRun r;
  Mpz product;
  TreeStats stats;
  internal::TreeGcd(m, extra, options, config, r.hit, product, &stats);
  r.fallbacks = stats.fallbacks;
  r.product = Hex(product);
  return r;
}

std::string ProductHex(const std::vector<Mpz>& m) {
  Mpz p(1);
  for (const auto& x : m) mpz_mul(p.get(), p.get(), x.get());
  return Hex(p);
}

// Distinct moduli of very different sizes (16 to 1100 bits; two, three or four prime
// factors, squares of primes), about one in six sharing a prime from a small pool.
std::vector<Mpz> MixedModuli(std::size_t count, unsigned long seed) {
  internal::TestRng src(seed);
  std::mt19937 pick(static_cast<unsigned>(seed));
  const unsigned sizes[] = {8, 12, 17, 31, 64, 100, 128, 255, 256, 512, 550};
  auto size = [&] { return sizes[pick() % std::size(sizes)]; };
  std::vector<Mpz> pool;
  for (int i = 0; i < 12; ++i) pool.push_back(src.Prime(size()));
  std::vector<Mpz> m;
  std::set<std::string> seen;
  while (m.size() < count) {
    Mpz n = pick() % 6 == 0 ? Mul(pool[pick() % pool.size()], src.Prime(size()))
                            : Mul(src.Prime(size()), src.Prime(size()));
    const unsigned shape = pick() % 10;
    if (shape == 0) n = Mul(n, src.Prime(size()));  // three primes
    if (shape == 1) {                               // the square of a prime
      Mpz p = src.Prime(size());
      n = Mul(p, p);
    }
    if (seen.insert(Hex(n)).second) m.push_back(std::move(n));
  }
  return m;
}

std::size_t Count(const std::vector<char>& hit) {
  return static_cast<std::size_t>(std::count(hit.begin(), hit.end(), 1));
}

TEST(BatchGcdTreeTest, ScaledTreeAgreesWithExactTreeAndOracleOnMixedSizes) {
  const auto m = MixedModuli(300, 11);
  const auto oracle = OracleHits(m, nullptr);
  ASSERT_GT(Count(oracle), 20u) << "the planted pool should give many hits";
  ASSERT_LT(Count(oracle), m.size() - 100) << "and many moduli without one";
  const auto exact = RunTree(m, nullptr, {.tree = RemainderTree::kExact});
  EXPECT_EQ(exact.hit, oracle);
  EXPECT_EQ(exact.product, ProductHex(m));
  for (bool wrap : {true, false}) {
    for (GcdOptions options : {GcdOptions{.threads = 1}, GcdOptions{.threads = 2},
                               GcdOptions{.threads = 2, .tree_memory_budget = 2048}}) {
      SCOPED_TRACE(testing::Message() << "wraparound " << wrap << ", threads "
                                      << options.threads << ", budget "
                                      << options.tree_memory_budget);
      const auto scaled = RunTree(m, nullptr, {.wraparound = wrap}, options);
      EXPECT_EQ(scaled.hit, oracle);
      EXPECT_EQ(scaled.fallbacks, 0u) << "the error bound leaves every leaf within 2^-62";
      EXPECT_EQ(scaled.product, exact.product);
    }
  }
}

TEST(BatchGcdTreeTest, ScaledTreeWithAnExtraProductAgreesWithExactTreeAndOracle) {
  // Incremental mode: X is the product of an older corpus, some of which shares primes
  // with the new moduli and some of which is much larger than any of them.
  auto all = MixedModuli(260, 12);
  std::vector<Mpz> old(std::make_move_iterator(all.begin() + 200),
                       std::make_move_iterator(all.end()));
  all.resize(200);
  internal::TestRng src(13);
  old.push_back(src.Prime(2048));
  Mpz x(1);
  for (const auto& o : old) mpz_mul(x.get(), x.get(), o.get());
  const auto oracle = OracleHits(all, x.get());
  const auto without_old = OracleHits(all, nullptr);
  ASSERT_GT(Count(oracle), Count(without_old)) << "the old corpus should add hits";
  EXPECT_EQ(RunTree(all, x.get(), {.tree = RemainderTree::kExact}).hit, oracle);
  // Two chunks start from the other chunk's root, more chunks from X*P mod root^2.
  for (GcdOptions options : {GcdOptions{.threads = 2}, GcdOptions{.threads = 1},
                             GcdOptions{.threads = 2, .tree_memory_budget = 2048}}) {
    for (bool wrap : {true, false}) {
      SCOPED_TRACE(testing::Message() << "wraparound " << wrap << ", threads "
                                      << options.threads << ", budget "
                                      << options.tree_memory_budget);
      const auto scaled = RunTree(all, x.get(), {.wraparound = wrap}, options);
      EXPECT_EQ(scaled.hit, oracle);
      EXPECT_EQ(scaled.fallbacks, 0u);
    }
  }
}

TEST(BatchGcdTreeTest, OneTwoThreeAndOddCountsOfModuli) {
  internal::TestRng src(14);
  Mpz p = src.Prime(300), q = src.Prime(40);
  // Every count from 1 to 9, each the first `n` of a list with shared primes at odd
  // positions (leaves that are only children at several levels) and sizes from 6 bits
  // to 1100.
  std::vector<Mpz> list;
  list.push_back(Mul(p, src.Prime(800)));
  list.push_back(Mul(src.Prime(20), src.Prime(30)));
  list.push_back(Mul(p, src.Prime(20)));
  list.push_back(Ui(35));
  list.push_back(Mul(q, src.Prime(512)));
  list.push_back(Mul(src.Prime(550), src.Prime(550)));
  list.push_back(Ui(49));  // shares 7 with 35
  list.push_back(Mul(q, q));
  list.push_back(Mul(src.Prime(64), src.Prime(64)));
  for (std::size_t n = 1; n <= list.size(); ++n) {
    std::vector<Mpz> m;
    for (std::size_t i = 0; i < n; ++i) m.push_back(Mul(list[i], Ui(1)));
    const auto oracle = OracleHits(m, nullptr);
    // A budget of 64 bytes makes every modulus its own chunk: chunk trees of one leaf,
    // and a tree over the chunk roots with only children at odd counts.
    for (GcdOptions options : {GcdOptions{.threads = 1}, GcdOptions{.threads = 2},
                               GcdOptions{.threads = 2, .tree_memory_budget = 64}}) {
      SCOPED_TRACE(testing::Message() << n << " moduli, " << options.threads
                                      << " threads, budget " << options.tree_memory_budget);
      const auto scaled = RunTree(m, nullptr, {}, options);
      EXPECT_EQ(scaled.hit, oracle);
      EXPECT_EQ(scaled.fallbacks, 0u);
      EXPECT_EQ(RunTree(m, nullptr, {.tree = RemainderTree::kExact}, options).hit, oracle);
      EXPECT_EQ(scaled.product, ProductHex(m));
      Mpz x = Mul(list[0], Ui(3));  // an extra product sharing p and 3
      EXPECT_EQ(RunTree(m, x.get(), {}, options).hit, OracleHits(m, x.get()));
    }
  }
  // The pairs that must show up once their second member is in.
  const auto nine = OracleHits(std::vector<Mpz>(std::make_move_iterator(list.begin()),
                                                std::make_move_iterator(list.end())),
                               nullptr);
  EXPECT_EQ(nine, (std::vector<char>{1, 0, 1, 1, 1, 0, 1, 1, 0}));
}

TEST(BatchGcdTreeTest, TinyModuliNextToLargeOnes) {
  // 2, 3, 4 = 2^2, 6, 9: tiny leaves whose fraction needs only a few bits, beside
  // 2048-bit leaves; both primes of 6 are shared (gcd = N), 5 and 11 are alone.
  internal::TestRng src(15);
  std::vector<Mpz> m;
  for (unsigned long v : {2ul, 5ul, 9ul, 4ul, 11ul}) m.push_back(Ui(v));
  m.push_back(Mul(src.Prime(1024), src.Prime(1024)));
  m.push_back(Ui(6));
  m.push_back(Mul(Ui(5 * 5), src.Prime(2000)) /* shares 5 */);
  const auto oracle = OracleHits(m, nullptr);
  EXPECT_EQ(oracle, (std::vector<char>{1, 1, 1, 1, 0, 0, 1, 1}));
  for (bool wrap : {true, false}) {
    const auto scaled = RunTree(m, nullptr, {.wraparound = wrap});
    EXPECT_EQ(scaled.hit, oracle);
    EXPECT_EQ(scaled.fallbacks, 0u);
  }
}

TEST(BatchGcdTreeTest, TooFewGuardBitsAreCaughtByTheLeafCheckAndRecomputedExactly) {
  // With no guard bits the leaf values are off by up to a few units: the rounding check
  // must refuse them and the exact fallback must still give the oracle's answer. With
  // 40 guard bits (an error below 2^-38, inside the 2^-32 check) no leaf falls back.
  const auto m = MixedModuli(120, 16);
  const auto oracle = OracleHits(m, nullptr);
  const auto sloppy = RunTree(m, nullptr, {.guard_bits = 0});
  EXPECT_GT(sloppy.fallbacks, m.size() / 2);
  EXPECT_EQ(sloppy.hit, oracle);
  const auto tight = RunTree(m, nullptr, {.guard_bits = 40});
  EXPECT_EQ(tight.fallbacks, 0u);
  EXPECT_EQ(tight.hit, oracle);
  // The fallback also works with an extra product (incremental mode).
  Mpz x = Mul(m[0], m[1]);
  const auto sloppy_extra = RunTree(std::vector<Mpz>(), x.get(), {.guard_bits = 0});
  EXPECT_TRUE(sloppy_extra.hit.empty());
  std::vector<Mpz> rest;
  for (std::size_t i = 2; i < m.size(); ++i) rest.push_back(Mul(m[i], Ui(1)));
  const auto with_extra = RunTree(rest, x.get(), {.guard_bits = 0});
  EXPECT_GT(with_extra.fallbacks, 0u);
  EXPECT_EQ(with_extra.hit, OracleHits(rest, x.get()));
}

TEST(BatchGcdTest, MixedSizesDuplicatesAndBatchesMatchThePairwiseMethod) {
  // The public API end to end on moduli of very different sizes, with copies: one shot,
  // and in three incremental batches (copies of old moduli in later batches).
  auto mz = MixedModuli(150, 17);
  std::vector<Bytes> m;
  for (const auto& x : mz) m.push_back(internal::Export(x.get()));
  m.push_back(m[3]);
  m.push_back(m[140]);
  m.push_back(m[3]);
  std::swap(m[20], m[151]);  // the copy of 140 in the first batch, the original later
  auto slow = PairwiseGcd(m);
  ASSERT_TRUE(slow);
  auto fast = BatchGcd(m, {.threads = 2});
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->pairs, slow->pairs);
  GcdCorpus corpus;
  std::vector<GcdPair> pairs;
  const std::size_t cuts[] = {0, 50, 51, m.size()};
  for (int b = 0; b < 3; ++b) {
    auto r = corpus.Add(std::span<const Bytes>(m.data() + cuts[b], cuts[b + 1] - cuts[b]),
                        {.threads = 2});
    ASSERT_TRUE(r) << r.error().message;
    pairs.insert(pairs.end(), r->pairs.begin(), r->pairs.end());
  }
  std::sort(pairs.begin(), pairs.end());
  EXPECT_EQ(pairs, slow->pairs);
  std::size_t dups = 0;
  for (const auto& p : slow->pairs) dups += p.relation == GcdRelation::kDuplicate;
  EXPECT_EQ(dups, 4u);  // 3 copies of m[3] (3 pairs) and 2 of m[140] (1 pair)
}

}  // namespace
}  // namespace mica::policy
