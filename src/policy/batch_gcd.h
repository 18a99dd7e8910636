// Batch GCD: which RSA moduli of a corpus share a prime factor with another.
//
// Heninger et al., "Mining your Ps and Qs" (USENIX Security 2012), after Bernstein's
// product and remainder trees: with P the product of all moduli, the remainder tree
// gives z_i = P mod N_i^2 for every i, and g_i = gcd(N_i, z_i / N_i) is the product of
// the primes N_i shares with the rest of the corpus. The moduli with g_i != 1 ("hits")
// are then compared pairwise (gcd(N_a, N_b)) to say who shares with whom; that also
// resolves g_i == N_i (both primes shared, with different partners).
//
// Identical moduli are not run through the trees: they are grouped first and reported
// as kDuplicate (the same key in several places), never as a shared factor.
//
// The factors are secrets: nothing here returns or logs them, and buffers that held a
// gcd are wiped before they are freed. docs/WEAK_KEYS.md explains the design, the
// memory use and the incremental mode.
//
// Thread-safety: the functions are reentrant; BatchGcd uses up to `threads` worker
// threads internally. A GcdCorpus is not thread-safe (one caller at a time).
// Errors: ErrorCode::kInput for a modulus that is not an integer > 1 (the message names
// its 0-based index); kIo / kInput from GcdCorpus::Load and Save naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/error.h"

namespace mica::policy {

enum class GcdRelation {
  kSharedFactor,  // distinct moduli with a common prime: both keys are factored
  kDuplicate,     // the same modulus (the same key pair, or a copied private key)
};
const char* GcdRelationName(GcdRelation r);  // "shared_factor", "duplicate"

// A pair of moduli, by index into the input (a < b).
struct GcdPair {
  std::size_t a = 0, b = 0;
  GcdRelation relation = GcdRelation::kSharedFactor;
  bool operator==(const GcdPair&) const = default;
  auto operator<=>(const GcdPair&) const = default;
};

struct GcdOptions {
  int threads = 0;  // worker threads; 0: one per core
  // Upper bound on the bytes the product trees may hold at once. Above it the trees are
  // built in chunks and each chunk's tree is rebuilt during the descent (about 30% more
  // time, a fraction of the memory). 0: 1 GiB.
  std::size_t tree_memory_budget = 0;
};

struct GcdResult {
  // Every pair with a relation, sorted by (a, b). A modulus that shares one prime with
  // 3 others appears in 3 pairs.
  std::vector<GcdPair> pairs;
  // Statistics for reports and benchmarks.
  std::size_t distinct = 0;  // distinct moduli run through the trees
  std::size_t hits = 0;      // distinct moduli with g != 1
};

// Runs batch GCD over `moduli` (big-endian magnitudes; leading zero octets allowed).
// The same as GcdCorpus().Add(moduli).
[[nodiscard]] Result<GcdResult> BatchGcd(std::span<const Bytes> moduli, const GcdOptions& options = {});

// The naive method, for tests and as the benchmark's peer: gcd of every pair.
[[nodiscard]] Result<GcdResult> PairwiseGcd(std::span<const Bytes> moduli);

// An incrementally growing corpus. Add(batch) reports the pairs that involve at least one
// modulus of the batch (new-new and new-old); pairs among older moduli were reported by
// earlier calls. What is recomputed per batch: the batch's own product and remainder
// trees (size of the batch), one product and one remainder of the old corpus product
// against the batch product, one gcd of the two products, and, only when that gcd is not
// 1, a cheap gcd of each old modulus with it. What is not: the old corpus's trees.
//
// State: the moduli (sorted, deduplicated) and their product. Save / Load keep them in
// one binary file (format in docs/WEAK_KEYS.md), written atomically (temp + rename).
class GcdCorpus {
 public:
  GcdCorpus();
  ~GcdCorpus();
  GcdCorpus(GcdCorpus&&) noexcept;
  GcdCorpus& operator=(GcdCorpus&&) noexcept;

  // Indices in the returned pairs are corpus indices: every added modulus gets the next
  // index, so after Add(a) then Add(b) they are what BatchGcd(a + b) would use, and the
  // union of the results of all Add calls equals BatchGcd's result on everything.
  [[nodiscard]] Result<GcdResult> Add(std::span<const Bytes> batch, const GcdOptions& options = {});
  std::size_t size() const;
  // The modulus at a corpus index (big-endian, no leading zero octets).
  const Bytes& modulus(std::size_t index) const;
  // Every pair known so far (what BatchGcd over all added moduli returns).
  GcdResult All() const;
  // The first corpus index holding this modulus (leading zeros ignored), if any.
  std::optional<std::size_t> Find(ByteView modulus) const;

  [[nodiscard]] Status Save(const std::string& path) const;
  [[nodiscard]] static Result<GcdCorpus> Load(const std::string& path);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace mica::policy
