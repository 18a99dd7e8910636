// RAII over GMP's mpz_t for the policy module (private).
#pragma once

#include <gmp.h>
#include <string.h>  // explicit_bzero (glibc)

#include <utility>

#include "core/encoding.h"

namespace mica::policy::internal {

// Owns one mpz_t. Movable (the moved-from value is 0), not copyable. mpz_init does not
// allocate (GMP >= 6.2), so empty values are free.
class Mpz {
 public:
  Mpz() { mpz_init(v_); }
  explicit Mpz(unsigned long x) { mpz_init_set_ui(v_, x); }
  ~Mpz() { mpz_clear(v_); }
  Mpz(Mpz&& o) noexcept {
    mpz_init(v_);
    mpz_swap(v_, o.v_);
  }
  Mpz& operator=(Mpz&& o) noexcept {
    mpz_swap(v_, o.v_);
    return *this;
  }
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;

  mpz_ptr get() { return v_; }
  mpz_srcptr get() const { return v_; }
  // Frees the limbs (the value becomes 0).
  void Release() {
    mpz_clear(v_);
    mpz_init(v_);
  }
  // Overwrites every allocated limb with zeros, then frees them: for values from which a
  // secret factor could be read (gcds, cofactor remainders).
  void Wipe() {
    if (v_->_mp_alloc > 0 && v_->_mp_d != nullptr)
      explicit_bzero(v_->_mp_d, static_cast<size_t>(v_->_mp_alloc) * sizeof(mp_limb_t));
    Release();
  }

 private:
  mpz_t v_;
};

// Big-endian magnitude <-> mpz.
inline void Import(mpz_ptr out, ByteView be) {
  if (be.empty()) {
    mpz_set_ui(out, 0);
    return;
  }
  mpz_import(out, be.size(), 1, 1, 1, 0, be.data());
}

inline Bytes Export(mpz_srcptr x) {
  Bytes out((mpz_sizeinbase(x, 2) + 7) / 8);
  if (mpz_sgn(x) == 0) return {};
  size_t written = 0;
  mpz_export(out.data(), &written, 1, 1, 1, 0, x);
  out.resize(written);
  return out;
}

}  // namespace mica::policy::internal
