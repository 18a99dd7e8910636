// Batch GCD benchmark (docs/PERFORMANCE.md, "Weak keys"; run by bench/run_weak_keys.sh).
//
//   bench_gcd gen COUNT BITS OUT [SEED [FACTORS]]
//                                         writes COUNT hex moduli of BITS bits to OUT (one
//                                         per line, fastgcd's input format) with a few
//                                         planted shared primes, and the planted pairs
//                                         (0-based "a b") to OUT.planted. Not timed.
//                                         FACTORS primes per modulus (default 2; see Gen).
//   bench_gcd batch FILE [THREADS]        mica's BatchGcd over FILE; checks the planted pairs
//   bench_gcd naive FILE COUNT            gcd of every pair among the first COUNT moduli
//
// Times are wall clock around the computation only (reading the file is excluded and
// printed separately); peak memory comes from /usr/bin/time -v in the script.
#include <gmp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/encoding.h"
#include "policy/batch_gcd.h"

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string Hex(mpz_srcptr x) {
  char* s = mpz_get_str(nullptr, 16, x);
  std::string out(s);
  void (*free_fn)(void*, size_t);
  mp_get_memory_functions(nullptr, nullptr, &free_fn);
  free_fn(s, out.size() + 1);
  return out;
}

// Small odd primes for the sieve.
const std::vector<unsigned>& SmallPrimes() {
  static const std::vector<unsigned> primes = [] {
    std::vector<unsigned> out;
    std::vector<bool> composite(1 << 20);
    for (unsigned i = 3; i < composite.size(); i += 2) {
      if (composite[i]) continue;
      out.push_back(i);
      for (std::size_t j = std::size_t{i} * i; j < composite.size(); j += 2 * i) composite[j] = true;
    }
    return out;
  }();
  return primes;
}

// Random primes of exactly `bits` bits (top two bits set), many per call. mpz_nextprime
// runs 25 Miller-Rabin rounds on each result (2,000,000 primes: an hour of CPU). Here a
// window of 2^18 odd numbers after a random start is sieved by the primes below 2^20 and
// every survivor gets one base-2 Fermat test: a composite passing it at 512 bits has
// probability far below 2^-100, and a false prime would only add a false "hit" that the
// benchmark would then report as a mismatch.
class PrimeStream {
 public:
  // top_bits: how many of the highest bits are set, so that products reach full size.
  PrimeStream(unsigned long seed, unsigned bits, unsigned top_bits = 2)
      : bits_(bits), top_bits_(top_bits) {
    gmp_randinit_default(st_);
    gmp_randseed_ui(st_, seed);
    mpz_inits(base_, e_, r_, two_, nullptr);
    mpz_set_ui(two_, 2);
  }
  ~PrimeStream() {
    mpz_clears(base_, e_, r_, two_, nullptr);
    gmp_randclear(st_);
  }
  void Next(mpz_t p) {
    while (pending_.empty()) Refill();
    mpz_set_str(p, pending_.back().c_str(), 16);
    pending_.pop_back();
  }
  gmp_randstate_t& rand() { return st_; }

 private:
  void Refill() {
    constexpr unsigned kWindow = 1 << 18;
    const auto& primes = SmallPrimes();
    std::vector<char> dead(kWindow, 0);
    mpz_urandomb(base_, st_, bits_);
    for (unsigned b = 1; b <= top_bits_; ++b) mpz_setbit(base_, bits_ - b);
    mpz_setbit(base_, 0);
    for (unsigned q : primes) {
      const unsigned long rem = mpz_fdiv_ui(base_, q);
      // base + 2k == 0 (mod q)  <=>  k == -rem / 2 (mod q)
      unsigned long k = ((q - rem) % q) * ((q + 1) / 2) % q;
      for (; k < kWindow; k += q) dead[k] = 1;
    }
    mpz_t c;
    mpz_init(c);
    for (unsigned k = 0; k < kWindow; ++k) {
      if (dead[k]) continue;
      mpz_add_ui(c, base_, 2 * k);
      if (mpz_sizeinbase(c, 2) != bits_) break;
      mpz_sub_ui(e_, c, 1);
      mpz_powm(r_, two_, e_, c);
      if (mpz_cmp_ui(r_, 1) == 0) pending_.push_back(Hex(c));
    }
    mpz_clear(c);
    std::reverse(pending_.begin(), pending_.end());
  }

  unsigned bits_, top_bits_;
  gmp_randstate_t st_;
  mpz_t base_, e_, r_, two_;
  std::vector<std::string> pending_;
};

// factors = 2: RSA-shaped moduli (two primes of bits/2). factors = k > 2: products of k
// primes of bits/k bits, exactly as large, so batch GCD does the same arithmetic on them
// (its cost depends on the moduli's sizes, not on how they factor), for a fraction of the
// generation time: 1,000,000 RSA-shaped moduli need 2,000,000 512-bit primes (100,000
// took 4.5 minutes here); eight 128-bit primes each: 20,000 moduli in 3 s of CPU. The
// planted pairs are always RSA-shaped (a shared prime of bits/2).
int Gen(std::size_t count, unsigned bits, const std::string& out, unsigned long seed,
        unsigned factors) {
  std::vector<std::string> lines(count);
  const unsigned half = bits / 2;
  auto work = [&](unsigned t, unsigned nt) {
    // Top 4 bits set: eight factors of at least 1.875 * 2^(b-1) multiply to 2^(bits-1)
    // or more, so every product has exactly `bits` bits (checked below).
    PrimeStream primes(seed * 1000 + t, bits / factors, factors > 2 ? 4 : 2);
    mpz_t p, n;
    mpz_inits(p, n, nullptr);
    for (std::size_t i = t; i < count; i += nt) {
      do {
        mpz_set_ui(n, 1);
        for (unsigned f = 0; f < factors; ++f) {
          primes.Next(p);
          mpz_mul(n, n, p);
        }
      } while (mpz_sizeinbase(n, 2) != bits);
      lines[i] = Hex(n);
    }
    mpz_clears(p, n, nullptr);
  };
  const unsigned nt = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < nt; ++t) pool.emplace_back(work, t, nt);
  for (auto& th : pool) th.join();
  // Plant: 5 pairs sharing one prime each, spread over the file.
  PrimeStream primes(seed * 1000 + 999, half);
  mpz_t shared, q, n;
  mpz_inits(shared, q, n, nullptr);
  std::ofstream planted(out + ".planted");
  for (std::size_t k = 0; k < 5 && count >= 10; ++k) {
    const std::size_t a = (k * 2 + 1) * count / 11, b = (k * 2 + 2) * count / 11 + 3;
    primes.Next(shared);
    primes.Next(q);
    mpz_mul(n, shared, q);
    lines[a] = Hex(n);
    primes.Next(q);
    mpz_mul(n, shared, q);
    lines[b] = Hex(n);
    planted << a << ' ' << b << '\n';
  }
  mpz_clears(shared, q, n, nullptr);
  std::ofstream f(out);
  for (const auto& l : lines) f << l << '\n';
  return f ? 0 : 1;
}

std::vector<mica::Bytes> Read(const std::string& path) {
  std::ifstream in(path);
  std::vector<mica::Bytes> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.size() % 2) line.insert(line.begin(), '0');
    auto b = mica::FromHex(line);
    if (!b) {
      std::cerr << path << ":" << out.size() + 1 << ": not hex\n";
      std::exit(3);
    }
    out.push_back(std::move(*b));
  }
  return out;
}

int Batch(const std::string& path, int threads) {
  auto t0 = Clock::now();
  auto m = Read(path);
  std::printf("read %zu moduli in %.2f s\n", m.size(), Since(t0));
  auto t1 = Clock::now();
  auto r = mica::policy::BatchGcd(m, {.threads = threads});
  const double secs = Since(t1);
  if (!r) {
    std::cerr << r.error().message << "\n";
    return 3;
  }
  std::set<std::pair<std::size_t, std::size_t>> found;
  for (const auto& p : r->pairs) found.emplace(p.a, p.b);
  std::set<std::pair<std::size_t, std::size_t>> planted;
  std::ifstream pf(path + ".planted");
  std::size_t a, b;
  while (pf >> a >> b) planted.emplace(a, b);
  std::printf("mica batch gcd: %zu moduli, %d threads: %.2f s wall, %zu pairs (%zu planted, %s)\n",
              m.size(), threads, secs, found.size(), planted.size(),
              found == planted ? "exactly the planted pairs" : "MISMATCH with the planted pairs");
  return found == planted ? 0 : 1;
}

int Naive(const std::string& path, std::size_t count) {
  auto m = Read(path);
  if (m.size() > count) m.resize(count);
  auto t1 = Clock::now();
  auto r = mica::policy::PairwiseGcd(m);
  const double secs = Since(t1);
  if (!r) return 3;
  std::printf("naive pairwise gcd: %zu moduli (%zu pairs): %.2f s wall (1 thread), %zu pairs found\n",
              m.size(), m.size() * (m.size() - 1) / 2, secs, r->pairs.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() >= 4 && a[0] == "gen") {
    const unsigned bits = static_cast<unsigned>(std::stoul(a[2]));
    const unsigned factors = a.size() > 5 ? static_cast<unsigned>(std::stoul(a[5])) : 2;
    if (factors < 2 || factors > 8 || bits % factors != 0 || bits / factors < 64) {
      std::cerr << "bench_gcd gen: FACTORS must be 2..8, divide BITS, and leave >= 64-bit "
                   "primes\n";
      return 2;
    }
    return Gen(std::stoul(a[1]), bits, a[3], a.size() > 4 ? std::stoul(a[4]) : 1, factors);
  }
  if (a.size() >= 2 && a[0] == "batch") return Batch(a[1], a.size() > 2 ? std::stoi(a[2]) : 0);
  if (a.size() >= 3 && a[0] == "naive") return Naive(a[1], std::stoul(a[2]));
  std::cerr << "usage: bench_gcd gen COUNT BITS OUT [SEED [FACTORS]] | batch FILE [THREADS] | "
               "naive FILE COUNT\n";
  return 2;
}
