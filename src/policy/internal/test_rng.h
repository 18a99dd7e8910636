// Deterministic GMP numbers for the policy tests (batch GCD, per-key checks): one seeded
// generator so that planted primes are the same on every run.
#pragma once

#include <gmp.h>

#include "policy/internal/mpz.h"

namespace mica::policy::internal {

class TestRng {
 public:
  explicit TestRng(unsigned long seed) {
    gmp_randinit_default(state_);
    gmp_randseed_ui(state_, seed);
  }
  ~TestRng() { gmp_randclear(state_); }
  TestRng(const TestRng&) = delete;
  TestRng& operator=(const TestRng&) = delete;

  // A prime of exactly `bits` bits (the top two bits set, so products have 2*bits bits).
  Mpz Prime(unsigned bits) {
    Mpz p;
    mpz_urandomb(p.get(), state_, bits);
    mpz_setbit(p.get(), bits - 1);
    mpz_setbit(p.get(), bits - 2);
    mpz_nextprime(p.get(), p.get());
    return p;
  }
  // Uniform in [0, bound).
  Mpz Below(mpz_srcptr bound) {
    Mpz x;
    mpz_urandomm(x.get(), state_, bound);
    return x;
  }
  // Uniform in [0, 2^bits).
  Mpz Bits(unsigned bits) {
    Mpz x;
    mpz_urandomb(x.get(), state_, bits);
    return x;
  }

 private:
  gmp_randstate_t state_;
};

}  // namespace mica::policy::internal
