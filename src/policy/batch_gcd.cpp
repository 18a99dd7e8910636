// Batch GCD with product and remainder trees on GMP. See batch_gcd.h for the contract
// and docs/WEAK_KEYS.md for the design (chunks, memory, incremental mode, state file).
#include "policy/batch_gcd.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>
#include <unordered_map>

#include "policy/internal/batch_gcd_tree.h"
#include "policy/internal/mpz.h"

namespace mica::policy {

using internal::kLeafCheckBits;
using internal::Mpz;
using internal::RemainderTree;
using internal::TreeConfig;

const char* GcdRelationName(GcdRelation r) {
  return r == GcdRelation::kDuplicate ? "duplicate" : "shared_factor";
}

namespace {

int ThreadCount(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Runs fn(i) for i in [0, n) on `threads` threads, each taking the next index.
template <class Fn>
void ParallelFor(std::size_t n, int threads, Fn fn) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) fn(i);
  };
  const int t = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), n));
  if (t <= 1) {
    worker();
    return;
  }
  std::vector<std::thread> pool;
  for (int k = 1; k < t; ++k) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

// A product tree over leaves[0, n): level 0 is the leaves (borrowed), up[k-1] is level k.
// prec[k-1][j] is the number of fraction bits the scaled remainder tree carries at node
// (k, j) (see Precision).
struct Tree {
  const Mpz* leaves = nullptr;
  std::size_t n = 0;
  std::size_t guard = 64;
  std::vector<std::vector<Mpz>> up;
  std::vector<std::vector<std::size_t>> prec;

  std::size_t LevelSize(std::size_t k) const { return k == 0 ? n : up[k - 1].size(); }
  Mpz& Node(std::size_t k, std::size_t j) { return up[k - 1][j]; }
  mpz_srcptr Get(std::size_t k, std::size_t j) const {
    return k == 0 ? leaves[j].get() : up[k - 1][j].get();
  }
  std::size_t Top() const { return up.size(); }
  mpz_srcptr Root() const { return Get(Top(), 0); }
  std::size_t Bits(std::size_t k, std::size_t j) const { return mpz_sizeinbase(Get(k, j), 2); }
  // Fraction bits B of the scaled value at node (k, j): |N| + guard at a leaf N; for
  // t = u*v, max(B_u + 2|v|, B_v + 2|u|) + 1, so that the error bound holds (comment
  // above DescendScaled); an only child's parent has the child's value and precision.
  std::size_t Precision(std::size_t k, std::size_t j) const {
    return k == 0 ? Bits(0, j) + guard : prec[k - 1][j];
  }

  void Clear() {
    up.clear();
    prec.clear();
  }

  void Build() {
    Clear();
    std::size_t size = n;
    std::size_t k = 0;
    while (size > 1) {
      std::vector<Mpz> next((size + 1) / 2);
      std::vector<std::size_t> bits(next.size());
      for (std::size_t j = 0; j < next.size(); ++j) {
        if (2 * j + 1 < size) {
          mpz_mul(next[j].get(), Get(k, 2 * j), Get(k, 2 * j + 1));
          bits[j] = std::max(Precision(k, 2 * j) + 2 * Bits(k, 2 * j + 1),
                             Precision(k, 2 * j + 1) + 2 * Bits(k, 2 * j)) +
                    1;
        } else {
          mpz_set(next[j].get(), Get(k, 2 * j));
          bits[j] = Precision(k, 2 * j);
        }
      }
      up.push_back(std::move(next));
      prec.push_back(std::move(bits));
      size = up.back().size();
      ++k;
    }
  }
};

// rem = X*P mod t^2, for X = extra (1 when null) and P = product, a multiple of t.
void ProductModSquare(mpz_srcptr t, mpz_srcptr product, mpz_srcptr extra, Mpz& rem) {
  Mpz sq;
  mpz_mul(sq.get(), t, t);
  mpz_mod(rem.get(), product, sq.get());
  if (extra != nullptr) {
    // X*P mod t^2 without forming X*P (X may be a whole old corpus).
    Mpz x;
    mpz_mod(x.get(), extra, sq.get());
    mpz_mul(rem.get(), rem.get(), x.get());
    mpz_mod(rem.get(), rem.get(), sq.get());
  }
}

// rem = X*P mod N^2 = N * ((X*P/N) mod N) for a leaf N: is gcd(N, (X*P/N) mod N) != 1?
// Wipes rem.
bool ExactLeafHit(mpz_srcptr leaf, Mpz& rem) {
  Mpz q, g;
  mpz_divexact(q.get(), rem.get(), leaf);
  rem.Wipe();
  mpz_gcd(g.get(), q.get(), leaf);
  const bool hit = mpz_cmp_ui(g.get(), 1) != 0;
  q.Wipe();
  g.Wipe();
  return hit;
}

// The classic remainder tree. rem < Get(k, j)^2 is X*P mod Get(k, j)^2. Walks the
// subtree depth-first, freeing each product node once its children's remainders exist,
// and sets hit[j] for every leaf j with gcd(N_j, rem_j / N_j) != 1.
void DescendExact(Tree& t, std::size_t k, std::size_t j, Mpz rem, std::vector<char>& hit,
                  std::size_t hit_base) {
  if (k == 0) {
    hit[hit_base + j] = ExactLeafHit(t.Get(0, j), rem) ? 1 : 0;
    return;
  }
  const std::size_t below = t.LevelSize(k - 1);
  Mpz rems[2];
  std::size_t children = 0;
  for (std::size_t c = 2 * j; c < std::min(2 * j + 2, below); ++c, ++children) {
    if (2 * j + 1 >= below) {
      // An only child is the same value as its parent: the remainder carries over.
      rems[0] = std::move(rem);
    } else {
      Mpz sq;
      mpz_mul(sq.get(), t.Get(k - 1, c), t.Get(k - 1, c));
      mpz_mod(rems[c - 2 * j].get(), rem.get(), sq.get());
    }
  }
  rem.Wipe();
  t.Node(k, j).Release();  // its children's remainders exist: no longer needed
  for (std::size_t c = 0; c < children; ++c)
    DescendExact(t, k - 1, 2 * j + c, std::move(rems[c]), hit, hit_base);
}

// The scaled remainder tree (Bernstein, "Scaled remainder trees", 2004). For each node t
// let y_t = frac(X*P / t^2) in [0, 1). For t = u*v, X*P/u^2 = (X*P/t^2) * v^2 and the
// integer part of X*P/t^2 times v^2 is an integer, so y_u = frac(y_t * v^2): children
// come from multiplications, not divisions. At a leaf N, X*P mod N^2 = N*k with
// k = (X*P/N) mod N, so y_N = k/N and k = N*y_N is an integer (N, when k = 0 and the
// value comes from just below 1).
//
// Fixed point: node t carries Y_t with y_t ~ Y_t / 2^B_t (B_t = Tree::Precision), and
//   Y_u = floor((Y_t * v^2 mod 2^B_t) / 2^(B_t - B_u))        (MulFraction).
// Error bound. Write Y_t / 2^B_t = y_t - e_t (mod 1); claim |e_t| < 3 * 2^-B_t at every
// node. The root value is one truncated division: 0 <= e_root < 2^-B_root. A step
// multiplies the error by v^2 < 2^(2|v|), may add the wrap-around error of MulFraction
// (at most 2^-(B_u + 1)) and truncates once more (less than 2^-B_u), so
//   |e_u| < 3 * 2^(2|v| - B_t) + 2^-(B_u + 1) + 2^-B_u <= (3/2 + 1/2 + 1) * 2^-B_u,
// using B_t >= B_u + 2|v| + 1 (Tree::Precision). At a leaf, B_N = |N| + guard, so
//   N*Y_N / 2^B_N = k - N*e_N (mod N), |N*e_N| < 2^|N| * 3 * 2^-(|N| + guard) < 2^(2 - guard),
// 2^-62 for guard = 64: k (mod N) is the integer nearest N*Y_N / 2^B_N. As a safety net
// against a mistake in this analysis or in the arithmetic below it, a leaf whose value
// is not within 2^-kLeafCheckBits (2^-32) of an integer is recomputed by exact division
// (X*P mod N^2 from the whole product) and counted; a wrong value passes that check
// with probability about 2^-31.

// Limbs for MulFraction, reused down one chunk's descent (one thread) so that the large
// buffers near the top are not mapped and faulted in again at every node. They held
// intermediate values and are wiped when freed, like the Mpz values they stand for.
class LimbScratch {
 public:
  LimbScratch() = default;
  ~LimbScratch() { Free(); }
  LimbScratch(const LimbScratch&) = delete;
  LimbScratch& operator=(const LimbScratch&) = delete;
  mp_limb_t* Get(std::size_t n) {
    if (n > n_) {
      Free();
      p_ = std::make_unique_for_overwrite<mp_limb_t[]>(n);
      n_ = n;
    }
    return p_.get();
  }

 private:
  void Free() {
    if (p_) explicit_bzero(p_.get(), n_ * sizeof(mp_limb_t));
    p_.reset();
    n_ = 0;
  }
  std::size_t n_ = 0;
  std::unique_ptr<mp_limb_t[]> p_;
};

// Y_c = floor((Y_t * s mod 2^bt) / 2^(bt - bc)) for s = sibling^2, computed one of two ways:
//
// - mpz_mul: the whole product, 2|t| + |t| bits, of which only the |t| bits below bit bt
//   are kept.
// - GMP's mpn_mulmod_bnm1 (the product mod B^rn - 1, B = 2^64, a cyclic convolution of
//   rn limbs with rn*64 >= bt, about the cost of a |t| x |t| product): the part of the
//   product above bit 64*rn (the integer part, not wanted) wraps around onto the lowest
//   bits. GMP's own division uses it the same way. It is internal to GMP but exported by
//   libgmp with this signature since GMP 5.0; the declaration is weak, so a libgmp
//   without it links and takes the mpz_mul path. Error: write Y_t*s = H*2^(64 rn) + L.
//   The result is R = H + L - j*(2^(64 rn) - 1) with j in {0, 1}, and because
//   64*rn >= bt, R / 2^bt = L / 2^bt + (H + j) / 2^bt (mod 1): the fraction is too large
//   by (H + j) / 2^bt, with H + j <= max(1, 2^(bt + 2|v| - 64 rn)) (Y_t*s < 2^(bt + 2|v|)),
//   so by at most max(2^-bt, 2^(2|v| - 64 rn)) <= 2^-(bc + 1), since
//   64*rn >= bt >= bc + 2|v| + 1. DescendScaled's bound accounts for it.
extern "C" {
void __gmpn_mulmod_bnm1(mp_ptr, mp_size_t, mp_srcptr, mp_size_t, mp_srcptr, mp_size_t,
                        mp_ptr) __attribute__((weak));
mp_size_t __gmpn_mulmod_bnm1_next_size(mp_size_t) __attribute__((weak));
}

// `scratch` null: always mpz_mul.
void MulFraction(Mpz& out, const Mpz& y, mpz_srcptr s, std::size_t bt, std::size_t bc,
                 LimbScratch* scratch) {
  mpz_srcptr a = y.get(), b = s;
  if (mpz_size(a) < mpz_size(b)) std::swap(a, b);
  const auto an = static_cast<mp_size_t>(mpz_size(a)), bn = static_cast<mp_size_t>(mpz_size(b));
  const auto need = static_cast<mp_size_t>((bt + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS);
  if (scratch != nullptr && bn > 0 && __gmpn_mulmod_bnm1 != nullptr &&
      __gmpn_mulmod_bnm1_next_size != nullptr) {
    const mp_size_t rn = __gmpn_mulmod_bnm1_next_size(need);
    // GMP requires 0 < bn <= an <= rn and an + bn > rn / 2; with an + bn <= rn the whole
    // product fits and mpz_mul below is exact and no slower.
    if (rn >= need && an <= rn && an + bn > rn) {
      // The result, then GMP's scratch space (at most 2 rn + 4 limbs).
      mp_limb_t* r = scratch->Get(3 * static_cast<std::size_t>(rn) + 4);
      __gmpn_mulmod_bnm1(r, rn, mpz_limbs_read(a), an, mpz_limbs_read(b), bn, r + rn);
      mpz_t view;
      mpz_roinit_n(view, r, rn);
      mpz_tdiv_q_2exp(out.get(), view, bt - bc);
      mpz_fdiv_r_2exp(out.get(), out.get(), bc);
      return;
    }
  }
  mpz_mul(out.get(), a, b);
  mpz_fdiv_r_2exp(out.get(), out.get(), bt);
  mpz_tdiv_q_2exp(out.get(), out.get(), bt - bc);
}

void ScaleDown(Mpz& out, const Mpz& y, std::size_t bt, mpz_srcptr sibling, std::size_t bc,
               LimbScratch* scratch) {
  Mpz sq;
  mpz_mul(sq.get(), sibling, sibling);
  MulFraction(out, y, sq.get(), bt, bc, scratch);
}

struct ScaledDescent {
  Tree& t;
  std::vector<char>& hit;
  std::size_t hit_base;
  mpz_srcptr product;  // P, for the exact fallback at a leaf
  mpz_srcptr extra;    // X or null
  std::atomic<std::size_t>& fallbacks;
  LimbScratch* scratch;  // null: MulFraction by mpz_mul only
};

// Y / 2^b ~ k / N at leaf N: is gcd(N, k) != 1? Falls back to the exact remainder when
// N*Y / 2^b is not close to an integer. Wipes y.
bool ScaledLeafHit(ScaledDescent& d, mpz_srcptr leaf, Mpz& y, std::size_t b) {
  Mpz v, k;
  mpz_mul(v.get(), leaf, y.get());  // N*y * 2^b
  y.Wipe();
  mpz_tdiv_q_2exp(k.get(), v.get(), b);
  mpz_fdiv_r_2exp(v.get(), v.get(), b);  // (N*y - k) * 2^b: the distance above k
  if (mpz_tstbit(v.get(), b - 1)) {      // at least 1/2: round up, distance below k + 1
    mpz_add_ui(k.get(), k.get(), 1);
    Mpz one;
    mpz_setbit(one.get(), b);
    mpz_sub(v.get(), one.get(), v.get());
  }
  const std::size_t c = static_cast<std::size_t>(kLeafCheckBits);
  const bool close =
      mpz_sgn(v.get()) == 0 || (b > c && mpz_sizeinbase(v.get(), 2) <= b - c);
  v.Wipe();
  if (!close) {
    k.Wipe();
    d.fallbacks.fetch_add(1, std::memory_order_relaxed);
    Mpz rem;
    ProductModSquare(leaf, d.product, d.extra, rem);
    return ExactLeafHit(leaf, rem);
  }
  Mpz g;
  mpz_gcd(g.get(), k.get(), leaf);
  k.Wipe();
  const bool hit = mpz_cmp_ui(g.get(), 1) != 0;
  g.Wipe();
  return hit;
}

// y = Y_(k,j) with b = Precision(k, j) fraction bits. Depth-first like DescendExact.
void DescendScaled(ScaledDescent& d, std::size_t k, std::size_t j, Mpz y, std::size_t b) {
  Tree& t = d.t;
  if (k == 0) {
    d.hit[d.hit_base + j] = ScaledLeafHit(d, t.Get(0, j), y, b) ? 1 : 0;
    return;
  }
  if (2 * j + 1 >= t.LevelSize(k - 1)) {
    // An only child is the same value as its parent: the fraction carries over.
    t.Node(k, j).Release();
    DescendScaled(d, k - 1, 2 * j, std::move(y), b);
    return;
  }
  Mpz ys[2];
  const std::size_t bs[2] = {t.Precision(k - 1, 2 * j), t.Precision(k - 1, 2 * j + 1)};
  ScaleDown(ys[0], y, b, t.Get(k - 1, 2 * j + 1), bs[0], d.scratch);
  ScaleDown(ys[1], y, b, t.Get(k - 1, 2 * j), bs[1], d.scratch);
  y.Wipe();
  t.Node(k, j).Release();  // its children's values exist: no longer needed
  for (std::size_t c = 0; c < 2; ++c) DescendScaled(d, k - 1, 2 * j + c, std::move(ys[c]), bs[c]);
}

// For the chunk roots R_c (the leaves of `top`, the product tree over them), returns
// z_c = (X*P / R_c) mod R_c, X = extra (1 when null), P = the product of all roots: where
// each chunk's scaled descent starts. Down the top tree, w_T = (X*P / T) mod T and, for
// T = U*V, X*P/U = (X*P/T) * V, so w_U = ((w_T mod U) * (V mod U)) mod U: reductions of
// numbers twice the size of U, instead of reducing all of X*P modulo each R_c^2. The
// nodes of a level are spread over the threads.
std::vector<Mpz> ChunkCofactors(const Tree& top, mpz_srcptr extra, int threads) {
  std::vector<Mpz> w(1);
  if (extra != nullptr)
    mpz_mod(w[0].get(), extra, top.Root());
  else
    mpz_set_ui(w[0].get(), 1);
  for (std::size_t k = top.Top(); k > 0; --k) {
    const std::size_t below = top.LevelSize(k - 1);
    std::vector<Mpz> next(below);
    ParallelFor(below, threads, [&](std::size_t c) {
      const Mpz& parent = w[c / 2];
      if ((c ^ 1) >= below) {  // an only child is its parent's value: same w
        mpz_set(next[c].get(), parent.get());
        return;
      }
      mpz_srcptr u = top.Get(k - 1, c);
      Mpz a, b;
      mpz_mod(a.get(), parent.get(), u);
      mpz_mod(b.get(), top.Get(k - 1, c ^ 1), u);
      mpz_mul(a.get(), a.get(), b.get());
      mpz_mod(next[c].get(), a.get(), u);
      a.Wipe();
    });
    for (auto& x : w) x.Wipe();
    w = std::move(next);
  }
  return w;
}

}  // namespace

namespace internal {

void TreeGcd(const std::vector<Mpz>& m, mpz_srcptr extra, const GcdOptions& options,
             const TreeConfig& config, std::vector<char>& hit, Mpz& product,
             TreeStats* stats) {
  hit.assign(m.size(), 0);
  if (m.empty()) {
    mpz_set_ui(product.get(), 1);
    return;
  }
  const int threads = ThreadCount(options.threads);
  const std::size_t budget =
      options.tree_memory_budget ? options.tree_memory_budget : (std::size_t{1} << 30);
  // A tree holds about (bytes of the leaves) x (depth) bytes.
  std::size_t leaf_bytes = 0;
  for (const auto& x : m) leaf_bytes += mpz_size(x.get()) * sizeof(mp_limb_t);
  auto depth = [](std::size_t n) {
    std::size_t d = 0;
    while ((std::size_t{1} << d) < n) ++d;
    return d + 1;
  };
  std::size_t chunks = static_cast<std::size_t>(threads);
  bool keep = leaf_bytes * depth(m.size()) <= budget;
  if (!keep) {
    // Chunks sized so that `threads` chunk trees fit the budget at once.
    while (chunks < m.size() &&
           threads * (leaf_bytes / chunks) * depth(m.size() / chunks + 1) > budget)
      chunks *= 2;
  }
  chunks = std::min(chunks, m.size());
  std::vector<Tree> trees(chunks);
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t begin = m.size() * c / chunks, end = m.size() * (c + 1) / chunks;
    trees[c].leaves = m.data() + begin;
    trees[c].n = end - begin;
    trees[c].guard = static_cast<std::size_t>(std::max(config.guard_bits, 0));
  }
  // Phase 1: each chunk's product (its tree kept when it fits the budget).
  std::vector<Mpz> roots(chunks);
  ParallelFor(chunks, threads, [&](std::size_t c) {
    trees[c].Build();
    mpz_set(roots[c].get(), trees[c].Root());
    if (!keep) trees[c].Clear();
  });
  // The product of the chunk products (few, large: one multiplication at a time).
  std::vector<Mpz> starts;  // scaled tree: z_c = (X*P / R_c) mod R_c per chunk
  {
    Tree top;
    top.leaves = roots.data();
    top.n = roots.size();
    top.Build();
    mpz_set(product.get(), top.Root());
    if (config.tree == RemainderTree::kScaled) starts = ChunkCofactors(top, extra, threads);
  }
  // Phase 2: each chunk starts from X*P mod root^2 (exact tree) or frac(X*P / root^2)
  // = z_c / root (scaled tree) and descends its tree.
  std::atomic<std::size_t> fallbacks{0};
  ParallelFor(chunks, threads, [&](std::size_t c) {
    Tree& t = trees[c];
    if (!keep) t.Build();
    const std::size_t base = static_cast<std::size_t>(t.leaves - m.data());
    if (config.tree == RemainderTree::kExact) {
      Mpz rem;
      ProductModSquare(t.Root(), product.get(), extra, rem);
      DescendExact(t, t.Top(), 0, std::move(rem), hit, base);
    } else {
      // The one division. y_root = frac(X*P / R^2) = z / R for z = (X*P/R) mod R (since
      // X*P mod R^2 = R * z), so Y_root = floor(z * 2^B / R): a quotient of B bits by a
      // divisor of |R| bits, half the cost of dividing by R^2.
      const std::size_t b = t.Precision(t.Top(), 0);
      Mpz z = std::move(starts[c]);
      mpz_mul_2exp(z.get(), z.get(), b);
      Mpz y;
      mpz_tdiv_q(y.get(), z.get(), t.Root());
      z.Wipe();
      LimbScratch scratch;
      ScaledDescent d{t,     hit,       base, product.get(), extra, fallbacks,
                      config.wraparound ? &scratch : nullptr};
      DescendScaled(d, t.Top(), 0, std::move(y), b);
    }
    t.Clear();
  });
  if (stats != nullptr) stats->fallbacks = fallbacks.load();
}

}  // namespace internal

namespace {

// Normalised value: big-endian without leading zero octets.
Bytes Normalize(ByteView in) {
  std::size_t i = 0;
  while (i < in.size() && in[i] == 0) ++i;
  return Bytes(in.begin() + static_cast<std::ptrdiff_t>(i), in.end());
}

std::string Key(const Bytes& b) { return std::string(b.begin(), b.end()); }

bool ShareFactor(mpz_srcptr a, mpz_srcptr b) {
  Mpz g;
  mpz_gcd(g.get(), a, b);
  const bool shared = mpz_cmp_ui(g.get(), 1) != 0;
  g.Wipe();
  return shared;
}

}  // namespace

struct GcdCorpus::State {
  std::vector<Bytes> moduli;                        // corpus index -> normalised modulus
  std::vector<std::size_t> distinct_of;             // corpus index -> distinct id
  std::vector<std::vector<std::size_t>> members;    // distinct id -> corpus indices
  std::unordered_map<std::string, std::size_t> by_value;  // modulus -> distinct id
  std::set<std::pair<std::size_t, std::size_t>> shared;   // distinct ids, first < second
  Mpz product{1};                                   // product of the distinct moduli
};

GcdCorpus::GcdCorpus() : s_(std::make_unique<State>()) {}
GcdCorpus::~GcdCorpus() = default;
GcdCorpus::GcdCorpus(GcdCorpus&&) noexcept = default;
GcdCorpus& GcdCorpus::operator=(GcdCorpus&&) noexcept = default;

std::size_t GcdCorpus::size() const { return s_->moduli.size(); }
const Bytes& GcdCorpus::modulus(std::size_t index) const { return s_->moduli.at(index); }

namespace {

// Expands distinct-level relations into corpus-index pairs; with `min_new`, only pairs
// with at least one index >= min_new.
void Expand(const std::vector<std::vector<std::size_t>>& members,
            const std::set<std::pair<std::size_t, std::size_t>>& shared,
            const std::vector<std::size_t>& touched_groups, std::size_t min_new,
            std::vector<GcdPair>& out) {
  for (std::size_t d : touched_groups) {
    const auto& g = members[d];
    for (std::size_t x = 0; x < g.size(); ++x)
      for (std::size_t y = x + 1; y < g.size(); ++y)
        if (std::max(g[x], g[y]) >= min_new)
          out.push_back({std::min(g[x], g[y]), std::max(g[x], g[y]), GcdRelation::kDuplicate});
  }
  for (const auto& [d1, d2] : shared) {
    for (std::size_t x : members[d1])
      for (std::size_t y : members[d2])
        if (std::max(x, y) >= min_new)
          out.push_back({std::min(x, y), std::max(x, y), GcdRelation::kSharedFactor});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

}  // namespace

Result<GcdResult> GcdCorpus::Add(std::span<const Bytes> batch, const GcdOptions& options) {
  State& s = *s_;
  // Validate everything before changing the state.
  std::vector<Bytes> norm;
  norm.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Bytes v = Normalize(batch[i]);
    if (v.empty() || (v.size() == 1 && v[0] == 1))
      return Fail(ErrorCode::kInput,
                  "modulus " + std::to_string(i) + " is " + (v.empty() ? "0" : "1") +
                      ": not an RSA modulus");
    norm.push_back(std::move(v));
  }
  const std::size_t old_size = s.moduli.size();
  const std::size_t old_distinct = s.members.size();
  std::vector<std::size_t> touched;  // distinct ids that gained a member
  for (auto& v : norm) {
    const std::size_t index = s.moduli.size();
    auto [it, inserted] = s.by_value.try_emplace(Key(v), s.members.size());
    if (inserted) s.members.emplace_back();
    s.members[it->second].push_back(index);
    if (s.members[it->second].size() > 1) touched.push_back(it->second);
    s.distinct_of.push_back(it->second);
    s.moduli.push_back(std::move(v));
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());

  // The new distinct moduli, through the trees against the old product.
  const std::size_t fresh = s.members.size() - old_distinct;
  std::vector<Mpz> m(fresh);
  for (std::size_t d = 0; d < fresh; ++d)
    internal::Import(m[d].get(), s.moduli[s.members[old_distinct + d][0]]);
  std::vector<char> hit;
  Mpz batch_product;
  const bool has_old = old_distinct > 0;
  internal::TreeGcd(m, has_old ? s.product.get() : nullptr, options, {}, hit, batch_product);

  // Old moduli that share a prime with the batch divide into g = gcd(P_old, P_batch).
  std::vector<std::size_t> hits;  // distinct ids
  std::vector<Mpz> hit_values;
  if (has_old && fresh > 0) {
    Mpz g;
    mpz_gcd(g.get(), s.product.get(), batch_product.get());
    if (mpz_cmp_ui(g.get(), 1) != 0) {
      Mpz n;
      for (std::size_t d = 0; d < old_distinct; ++d) {
        internal::Import(n.get(), s.moduli[s.members[d][0]]);
        if (ShareFactor(n.get(), g.get())) {
          hits.push_back(d);
          hit_values.push_back(std::move(n));
          n = Mpz();
        }
      }
    }
    g.Wipe();
  }
  const std::size_t old_hits = hits.size();
  for (std::size_t d = 0; d < fresh; ++d) {
    if (!hit[d]) continue;
    hits.push_back(old_distinct + d);
    hit_values.push_back(std::move(m[d]));
  }
  m.clear();
  // Pairwise among the hits; old-old pairs were settled by earlier calls.
  std::vector<std::vector<std::pair<std::size_t, std::size_t>>> found(
      static_cast<std::size_t>(ThreadCount(options.threads)));
  std::atomic<std::size_t> next{0};
  auto worker = [&](std::size_t w) {
    for (std::size_t x = next++; x < hits.size(); x = next++)
      for (std::size_t y = std::max(x + 1, old_hits); y < hits.size(); ++y)
        if (ShareFactor(hit_values[x].get(), hit_values[y].get()))
          found[w].emplace_back(hits[x], hits[y]);
  };
  {
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < found.size(); ++w) pool.emplace_back(worker, w);
    worker(0);
    for (auto& t : pool) t.join();
  }
  for (const auto& f : found)
    for (const auto& [a, b] : f) {
      s.shared.emplace(std::min(a, b), std::max(a, b));
      touched.push_back(a);
      touched.push_back(b);
    }
  if (fresh > 0) mpz_mul(s.product.get(), s.product.get(), batch_product.get());

  GcdResult r;
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  // Duplicates: groups that gained a member. Shared factors: every relation touching a
  // group that gained a member (a new copy of an old key inherits its old partners).
  std::set<std::pair<std::size_t, std::size_t>> relevant;
  std::set<std::size_t> gained(touched.begin(), touched.end());
  for (std::size_t d = old_distinct; d < s.members.size(); ++d) gained.insert(d);
  for (const auto& pr : s.shared)
    if (gained.count(pr.first) || gained.count(pr.second)) relevant.insert(pr);
  std::vector<std::size_t> dup_groups;
  for (std::size_t d : gained)
    if (s.members[d].size() > 1) dup_groups.push_back(d);
  Expand(s.members, relevant, dup_groups, old_size, r.pairs);
  r.distinct = fresh;
  r.hits = hits.size();
  return r;
}

std::optional<std::size_t> GcdCorpus::Find(ByteView modulus) const {
  auto it = s_->by_value.find(Key(Normalize(modulus)));
  if (it == s_->by_value.end()) return std::nullopt;
  return s_->members[it->second].front();
}

GcdResult GcdCorpus::All() const {
  GcdResult r;
  std::vector<std::size_t> groups;
  for (std::size_t d = 0; d < s_->members.size(); ++d)
    if (s_->members[d].size() > 1) groups.push_back(d);
  Expand(s_->members, s_->shared, groups, 0, r.pairs);
  r.distinct = s_->members.size();
  return r;
}

Result<GcdResult> BatchGcd(std::span<const Bytes> moduli, const GcdOptions& options) {
  GcdCorpus corpus;
  return corpus.Add(moduli, options);
}

Result<GcdResult> PairwiseGcd(std::span<const Bytes> moduli) {
  std::vector<Mpz> m(moduli.size());
  for (std::size_t i = 0; i < moduli.size(); ++i) {
    internal::Import(m[i].get(), moduli[i]);
    if (mpz_cmp_ui(m[i].get(), 1) <= 0)
      return Fail(ErrorCode::kInput,
                  "modulus " + std::to_string(i) + " is not an integer greater than 1");
  }
  GcdResult r;
  for (std::size_t a = 0; a < m.size(); ++a)
    for (std::size_t b = a + 1; b < m.size(); ++b) {
      if (mpz_cmp(m[a].get(), m[b].get()) == 0)
        r.pairs.push_back({a, b, GcdRelation::kDuplicate});
      else if (ShareFactor(m[a].get(), m[b].get()))
        r.pairs.push_back({a, b, GcdRelation::kSharedFactor});
    }
  r.distinct = m.size();
  return r;
}

// ---------------------------------------------------------------------------------------
// State file: "MICAGCD1", u64 count, count x (u32 length, modulus bytes), u64 product
// length, product bytes, u64 relation count, relations x (u64 distinct a, u64 distinct b).
// Integers little-endian. Distinct ids are re-derived on load in the same order.

namespace {

constexpr char kMagic[8] = {'M', 'I', 'C', 'A', 'G', 'C', 'D', '1'};

void PutU64(std::ostream& o, std::uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  o.write(reinterpret_cast<const char*>(b), 8);
}
bool GetU64(std::istream& in, std::uint64_t& v) {
  unsigned char b[8];
  if (!in.read(reinterpret_cast<char*>(b), 8)) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{b[i]} << (8 * i);
  return true;
}

}  // namespace

Status GcdCorpus::Save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) return Fail(ErrorCode::kIo, "batch GCD state " + tmp + ": cannot be written");
    o.write(kMagic, 8);
    PutU64(o, s_->moduli.size());
    for (const auto& v : s_->moduli) {
      PutU64(o, v.size());
      o.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size()));
    }
    const Bytes p = internal::Export(s_->product.get());
    PutU64(o, p.size());
    o.write(reinterpret_cast<const char*>(p.data()), static_cast<std::streamsize>(p.size()));
    PutU64(o, s_->shared.size());
    for (const auto& [a, b] : s_->shared) {
      PutU64(o, a);
      PutU64(o, b);
    }
    o.flush();
    if (!o) return Fail(ErrorCode::kIo, "batch GCD state " + tmp + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Fail(ErrorCode::kIo, "batch GCD state " + path + ": " + ec.message());
  return {};
}

Result<GcdCorpus> GcdCorpus::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, "batch GCD state " + path + ": cannot be read");
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kInput, "batch GCD state " + path + ": " + why +
                                       " (delete it to rebuild from the inventory)");
  };
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return bad("not a mica batch GCD state file");
  const auto file_size = std::filesystem::file_size(path);
  GcdCorpus c;
  State& s = *c.s_;
  std::uint64_t count = 0;
  if (!GetU64(in, count) || count > file_size) return bad("truncated header");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t len = 0;
    if (!GetU64(in, len) || len == 0 || len > 1 << 20) return bad("bad modulus " + std::to_string(i));
    Bytes v(len);
    if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(len)) || v[0] == 0)
      return bad("bad modulus " + std::to_string(i));
    auto [it, inserted] = s.by_value.try_emplace(Key(v), s.members.size());
    if (inserted) s.members.emplace_back();
    s.members[it->second].push_back(i);
    s.distinct_of.push_back(it->second);
    s.moduli.push_back(std::move(v));
  }
  std::uint64_t plen = 0;
  if (!GetU64(in, plen) || plen > file_size) return bad("truncated product");
  Bytes p(plen);
  if (!in.read(reinterpret_cast<char*>(p.data()), static_cast<std::streamsize>(plen)))
    return bad("truncated product");
  internal::Import(s.product.get(), p);
  if (s.members.empty()) mpz_set_ui(s.product.get(), 1);
  std::uint64_t rels = 0;
  if (!GetU64(in, rels) || rels > file_size) return bad("truncated relations");
  for (std::uint64_t i = 0; i < rels; ++i) {
    std::uint64_t a = 0, b = 0;
    if (!GetU64(in, a) || !GetU64(in, b) || a >= b || b >= s.members.size())
      return bad("bad relation " + std::to_string(i));
    s.shared.emplace(a, b);
  }
  return c;
}

}  // namespace mica::policy
