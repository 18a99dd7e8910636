// Per-key weak-key checks on RSA public numbers, and blocklists of compromised keys.
// Batch GCD across many keys is in policy/batch_gcd.h; docs/WEAK_KEYS.md explains every
// check, its source and its limits.
//
// Thread-safe: the functions are pure; a loaded Blocklist is immutable.
// No check ever returns or prints a factor it found: findings say that a key is broken
// and how, not its secret.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/error.h"
#include "x509/rsa_key.h"

namespace mica::policy {

enum class Severity {
  kWarning,   // below current recommendations; not broken
  kHigh,      // weak: feasible to break with serious resources, or structurally invalid
  kCritical,  // broken: the private key can be computed (or is public) today
};
const char* SeverityName(Severity s);  // "warning", "high", "critical"

struct WeakKeyFinding {
  // Stable ids (docs/WEAK_KEYS.md): rsa_modulus_tiny, rsa_modulus_small,
  // rsa_modulus_even, rsa_modulus_malformed, rsa_small_factor, rsa_exponent_one,
  // rsa_exponent_even, rsa_exponent_low, rsa_exponent_malformed, roca, fermat,
  // blocklisted, shared_factor.
  std::string check;
  Severity severity = Severity::kWarning;
  std::string detail;  // one line for a human: why, with the numbers (never a factor)
};

struct RsaCheckOptions {
  int weak_bits = 1024;     // moduli below this: rsa_modulus_tiny (high)
  int warn_bits = 2048;     // below this: rsa_modulus_small (warning)
  unsigned trial_division_bound = 10000;  // primes below this are tried as factors
  int fermat_rounds = 100;  // Fermat steps from ceil(sqrt(n)) (finds |p-q| < ~2^(bits/4+4))
};

// Every per-key check on (n, e). An empty result means none fired.
std::vector<WeakKeyFinding> CheckRsa(const x509::RsaPublicNumbers& key,
                                     const RsaCheckOptions& options = {});

// ROCA (CVE-2017-15361, Nemec et al., CCS 2017): Infineon RSALib primes are
// p = k*M + (65537^a mod M), so n = p*q is a power of 65537 modulo M. The reference
// detector tests, for each prime r in 3..167, that n mod r lies in the subgroup that 65537
// generates mod r. That per-prime test alone accepts moduli whose residues are each such
// powers but with exponents that contradict one another (no single c with
// n == 65537^c mod prod(r)); anyone can build those with the CRT. RocaFingerprint runs the
// per-prime test over all 38 primes and then requires the discrete logs to agree
// (c_r == c_s mod gcd(ord_r, ord_s) for every pair), which every RSALib modulus satisfies.
bool RocaFingerprint(ByteView n);
// The reference detector's per-prime residue test alone (for tests and docs).
bool RocaPerPrimeTest(ByteView n);

// A set of known-compromised keys, from one or more files:
//   - text, one entry a line, '#' starts a comment, blank lines ignored:
//       64 hex digits: SHA-256 of the DER SubjectPublicKeyInfo (mica's spki_sha256);
//       20 hex digits: Debian openssl-blacklist (last 80 bits of the SHA-1 of
//                      "Modulus=<upper-case hex>\n", `openssl rsa -noout -modulus | sha1sum`);
//   - binary, badkeys' blocklist.dat: sorted 16-byte records, the first 15 bytes of the
//     SHA-256 of the RSA modulus (big-endian, minimal) and one list-id byte.
// Load errors name the file and line (text) or say why the binary file is refused.
class Blocklist {
 public:
  [[nodiscard]] Status Load(const std::string& path);
  bool empty() const;
  std::size_t size() const;
  // The matching list's description ("spki_sha256 list FILE", "badkeys list 3 in FILE",
  // "openssl-blacklist FILE"), or nullopt. `n` may be empty for non-RSA keys.
  std::optional<std::string> Match(const std::string& spki_sha256, ByteView n) const;

 private:
  struct Entry {
    std::string key;     // spki hex (64), openssl-blacklist hex (20)
    std::size_t source;  // index into sources_
  };
  std::vector<std::string> sources_;
  std::vector<Entry> spki_, debian_;
  using Record = std::array<std::uint8_t, 16>;
  std::vector<std::pair<Record, std::size_t>> badkeys_;  // badkeys records + source
};

}  // namespace mica::policy
