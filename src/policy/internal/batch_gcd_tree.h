// The tree stage of batch GCD (private to the policy module; used by batch_gcd.cpp and
// its tests). docs/WEAK_KEYS.md describes both remainder trees and the error bound.
#pragma once

#include <gmp.h>

#include <cstddef>
#include <vector>

#include "policy/batch_gcd.h"
#include "policy/internal/mpz.h"

namespace mica::policy::internal {

enum class RemainderTree {
  // Bernstein's scaled remainder tree: a fixed-point fraction frac(X*P / node^2) per
  // node, children by multiplication and truncation; one division per chunk root.
  kScaled,
  // The classic tree: X*P mod node^2 per node, children by division. Kept as the
  // reference for tests and as the per-leaf fallback of the scaled tree.
  kExact,
};

struct TreeConfig {
  RemainderTree tree = RemainderTree::kScaled;
  // Extra fraction bits carried at a leaf beyond the leaf's own size. The error bound
  // (docs/WEAK_KEYS.md) makes the leaf value off by less than 2^(2 - guard_bits) of an
  // integer; the leaf check demands 2^-kLeafCheckBits. Tests lower it to force the
  // per-leaf fallback; production code keeps the default.
  int guard_bits = 64;
  // Scaled tree: children by GMP's wrap-around product (mpn_mulmod_bnm1) when libgmp
  // exports it; false forces plain mpz_mul (tests cover both).
  bool wraparound = true;
};

// A leaf whose scaled value is not within 2^-kLeafCheckBits of an integer is recomputed
// by exact division.
inline constexpr int kLeafCheckBits = 32;

struct TreeStats {
  std::size_t fallbacks = 0;  // leaves recomputed by exact division
};

// For distinct moduli m (all > 1), sets hit[i] when gcd(m_i, X * prod_{j != i} m_j) != 1,
// X being `extra` (or 1 when null), and returns the product of m in `product`.
void TreeGcd(const std::vector<Mpz>& m, mpz_srcptr extra, const GcdOptions& options,
             const TreeConfig& config, std::vector<char>& hit, Mpz& product,
             TreeStats* stats = nullptr);

}  // namespace mica::policy::internal
