#include "policy/weak_keys.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

#include "policy/internal/mpz.h"

namespace mica::policy {

using internal::Mpz;

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kWarning: return "warning";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "warning";
}

namespace {

// ---------------------------------------------------------------------------------------
// ROCA tables: for each prime r in 3..167 (the primes of the reference detector), the
// discrete log base 65537 of every residue mod r (-1 when not a power), and the order.

constexpr std::array<unsigned, 38> kRocaPrimes = {
    3,  5,  7,  11, 13, 17, 19, 23, 29, 31,  37,  41,  43,  47,  53,  59,  61,  67,  71,
    73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
constexpr unsigned kGenerator = 65537;

struct RocaTable {
  unsigned prime = 0;
  unsigned order = 0;
  std::vector<int> dlog;  // residue -> exponent in [0, order), or -1
};

const std::vector<RocaTable>& RocaTables() {
  static const std::vector<RocaTable> tables = [] {
    std::vector<RocaTable> out;
    for (unsigned r : kRocaPrimes) {
      RocaTable t;
      t.prime = r;
      t.dlog.assign(r, -1);
      const unsigned g = kGenerator % r;
      unsigned x = 1;
      for (unsigned k = 0; t.dlog[x] < 0; ++k) {
        t.dlog[x] = static_cast<int>(k);
        x = x * g % r;
        t.order = k + 1;
      }
      out.push_back(std::move(t));
    }
    return out;
  }();
  return tables;
}

// The exponents c_r with n == 65537^c_r (mod r), or nullopt when some residue is not a
// power of 65537.
std::optional<std::vector<int>> RocaLogs(ByteView n_bytes) {
  Mpz n;
  internal::Import(n.get(), n_bytes);
  std::vector<int> logs;
  for (const auto& t : RocaTables()) {
    const unsigned long r = mpz_fdiv_ui(n.get(), t.prime);
    if (t.dlog[r] < 0) return std::nullopt;
    logs.push_back(t.dlog[r]);
  }
  return logs;
}

// Odd primes below `bound`.
std::vector<unsigned> OddPrimesBelow(unsigned bound) {
  std::vector<bool> composite(bound + 1);
  std::vector<unsigned> out;
  for (unsigned i = 3; i < bound; i += 2) {
    if (composite[i]) continue;
    out.push_back(i);
    for (std::size_t j = std::size_t{i} * i; j < bound; j += 2 * i) composite[j] = true;
  }
  return out;
}

std::string Bits(std::size_t b) { return std::to_string(b) + " bits"; }

void Add(std::vector<WeakKeyFinding>& out, const char* check, Severity s, std::string detail) {
  out.push_back({check, s, std::move(detail)});
}

// Fermat's method for at most `rounds` steps: true when n = a^2 - b^2 was found, i.e.
// n = (a-b)(a+b) with the two factors close to sqrt(n). The factors are wiped.
bool FermatFactors(mpz_srcptr n, int rounds) {
  Mpz a, rem, b2, b;
  mpz_sqrtrem(a.get(), rem.get(), n);
  if (mpz_sgn(rem.get()) == 0) {  // n = a^2: p == q
    a.Wipe();
    return true;
  }
  mpz_add_ui(a.get(), a.get(), 1);
  mpz_mul(b2.get(), a.get(), a.get());
  mpz_sub(b2.get(), b2.get(), n);
  bool found = false;
  for (int i = 0; i < rounds && !found; ++i) {
    if (mpz_perfect_square_p(b2.get())) {
      // a - b must be a proper factor (> 1): n = (a-b)(a+b).
      mpz_sqrt(b.get(), b2.get());
      mpz_sub(b.get(), a.get(), b.get());
      found = mpz_cmp_ui(b.get(), 1) > 0;
      if (found) break;
    }
    // (a+1)^2 - n = a^2 - n + 2a + 1
    mpz_addmul_ui(b2.get(), a.get(), 2);
    mpz_add_ui(b2.get(), b2.get(), 1);
    mpz_add_ui(a.get(), a.get(), 1);
  }
  a.Wipe();
  b.Wipe();
  b2.Wipe();
  rem.Wipe();
  return found;
}

}  // namespace

bool RocaPerPrimeTest(ByteView n) { return RocaLogs(n).has_value(); }

bool RocaFingerprint(ByteView n) {
  auto logs = RocaLogs(n);
  if (!logs) return false;
  // Generalised CRT: c == c_r (mod ord_r) for all r has a solution iff every pair agrees
  // modulo the gcd of their orders.
  const auto& tables = RocaTables();
  for (std::size_t i = 0; i < tables.size(); ++i)
    for (std::size_t j = i + 1; j < tables.size(); ++j) {
      const int g = static_cast<int>(std::gcd(tables[i].order, tables[j].order));
      if (((*logs)[i] - (*logs)[j]) % g != 0) return false;
    }
  return true;
}

std::vector<WeakKeyFinding> CheckRsa(const x509::RsaPublicNumbers& key,
                                     const RsaCheckOptions& options) {
  std::vector<WeakKeyFinding> out;
  Mpz n, e;
  internal::Import(n.get(), key.n);
  internal::Import(e.get(), key.e);
  const std::size_t bits = mpz_sgn(n.get()) == 0 ? 0 : mpz_sizeinbase(n.get(), 2);

  if (key.negative)
    Add(out, "rsa_modulus_malformed", Severity::kHigh,
        "the modulus or exponent is encoded as a negative INTEGER");
  else if (key.non_minimal)
    Add(out, "rsa_modulus_malformed", Severity::kHigh,
        "the modulus or exponent INTEGER has a redundant leading octet (X.690 8.3.2)");
  if (bits < 16) {
    Add(out, "rsa_modulus_malformed", Severity::kCritical,
        "the modulus is " + Bits(bits) + ": not an RSA modulus");
    return out;
  }
  if (static_cast<int>(bits) < options.weak_bits)
    Add(out, "rsa_modulus_tiny", Severity::kHigh,
        "the modulus is " + Bits(bits) + " (< " + std::to_string(options.weak_bits) +
            "): factorable with public tools");
  else if (static_cast<int>(bits) < options.warn_bits)
    Add(out, "rsa_modulus_small", Severity::kWarning,
        "the modulus is " + Bits(bits) + " (< " + std::to_string(options.warn_bits) + ")");

  const bool even = mpz_even_p(n.get());
  if (even)
    Add(out, "rsa_modulus_even", Severity::kCritical, "the modulus is even: 2 is a factor");

  // Small odd prime factors: gcd with the product of the primes below the bound.
  if (options.trial_division_bound > 3) {
    static thread_local unsigned cached_bound = 0;
    static thread_local std::vector<unsigned> primes;
    if (cached_bound != options.trial_division_bound) {
      primes = OddPrimesBelow(options.trial_division_bound);
      cached_bound = options.trial_division_bound;
    }
    for (unsigned p : primes) {
      if (mpz_cmp_ui(n.get(), p) == 0) break;
      if (mpz_divisible_ui_p(n.get(), p)) {
        Add(out, "rsa_small_factor", Severity::kCritical,
            "the modulus has a prime factor below " +
                std::to_string(options.trial_division_bound));
        break;
      }
    }
  }

  // Exponent.
  if (mpz_sgn(e.get()) == 0 || mpz_cmp(e.get(), n.get()) >= 0) {
    Add(out, "rsa_exponent_malformed", Severity::kCritical,
        mpz_sgn(e.get()) == 0 ? "the public exponent is 0" : "the public exponent is not below n");
  } else if (mpz_cmp_ui(e.get(), 1) == 0) {
    Add(out, "rsa_exponent_one", Severity::kCritical,
        "the public exponent is 1: 'encryption' and signatures are the identity");
  } else if (mpz_even_p(e.get())) {
    Add(out, "rsa_exponent_even", Severity::kCritical,
        "the public exponent is even: not invertible mod lcm(p-1, q-1), not a valid RSA key");
  } else if (mpz_cmp_ui(e.get(), 65537) < 0) {
    Add(out, "rsa_exponent_low", Severity::kWarning,
        "the public exponent is " + std::to_string(mpz_get_ui(e.get())) +
            " (< 65537): broken with weak padding (Coppersmith, Bleichenbacher 2006)");
  }

  if (!even && RocaFingerprint(key.n))
    Add(out, "roca", Severity::kCritical,
        "the modulus has the Infineon RSALib structure (ROCA, CVE-2017-15361): factorable");
  if (!even && options.fermat_rounds > 0 && FermatFactors(n.get(), options.fermat_rounds))
    Add(out, "fermat", Severity::kCritical,
        "the two primes are so close that Fermat's method factors the modulus in at most " +
            std::to_string(options.fermat_rounds) + " steps");
  return out;
}

// ---------------------------------------------------------------------------------------
// Blocklist

namespace {

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Last 80 bits of SHA-1("Modulus=<UPPER HEX>\n"), as openssl-vulnkey computes it.
std::string DebianKey(ByteView n) {
  std::string hex = ToHex(n);
  for (auto& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string line = "Modulus=" + hex + "\n";
  return ToHex(Sha1(AsBytes(line))).substr(20);
}

}  // namespace

bool Blocklist::empty() const { return size() == 0; }
std::size_t Blocklist::size() const { return spki_.size() + debian_.size() + badkeys_.size(); }

Status Blocklist::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, "blocklist " + path + ": cannot be read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  const std::size_t source = sources_.size();
  sources_.push_back(path);
  const bool binary = std::any_of(data.begin(), data.end(), [](unsigned char c) {
    return c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c >= 0x7f);
  });
  if (binary) {
    if (data.size() % 16 != 0)
      return Fail(ErrorCode::kInput, "blocklist " + path +
                                         ": binary but not badkeys' format (16-byte records)");
    for (std::size_t i = 0; i < data.size(); i += 16) {
      Record r;
      std::memcpy(r.data(), data.data() + i, 16);
      badkeys_.emplace_back(r, source);
    }
    std::sort(badkeys_.begin(), badkeys_.end());
    return {};
  }
  std::istringstream lines(data);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    std::string entry = Lower(line.substr(first, last - first + 1));
    if (IsHex(entry) && entry.size() == 64) {
      spki_.push_back({std::move(entry), source});
    } else if (IsHex(entry) && entry.size() == 20) {
      debian_.push_back({std::move(entry), source});
    } else {
      return Fail(ErrorCode::kInput,
                  "blocklist " + path + ":" + std::to_string(number) +
                      ": expected 64 hex digits (SPKI SHA-256) or 20 (openssl-blacklist), got '" +
                      entry.substr(0, 80) + "'");
    }
  }
  auto by_key = [](const Entry& a, const Entry& b) { return a.key < b.key; };
  std::sort(spki_.begin(), spki_.end(), by_key);
  std::sort(debian_.begin(), debian_.end(), by_key);
  return {};
}

std::optional<std::string> Blocklist::Match(const std::string& spki_sha256, ByteView n) const {
  auto find = [](const std::vector<Entry>& v, const std::string& key) -> const Entry* {
    auto it = std::lower_bound(v.begin(), v.end(), key,
                               [](const Entry& e, const std::string& k) { return e.key < k; });
    return it != v.end() && it->key == key ? &*it : nullptr;
  };
  if (!spki_sha256.empty()) {
    if (const Entry* e = find(spki_, Lower(spki_sha256)))
      return "SPKI SHA-256 listed in " + sources_[e->source];
  }
  if (n.empty()) return std::nullopt;
  std::size_t skip = 0;
  while (skip < n.size() && n[skip] == 0) ++skip;
  n = n.subspan(skip);
  if (!debian_.empty()) {
    if (const Entry* e = find(debian_, DebianKey(n)))
      return "modulus listed in the openssl-blacklist file " + sources_[e->source];
  }
  if (!badkeys_.empty()) {
    const Sha256Digest d = Sha256(n);
    Bytes key(d.begin(), d.begin() + 15);
    auto it = std::lower_bound(badkeys_.begin(), badkeys_.end(), key,
                               [](const std::pair<Record, std::size_t>& r, const Bytes& k) {
                                 return std::memcmp(r.first.data(), k.data(), 15) < 0;
                               });
    if (it != badkeys_.end() && std::memcmp(it->first.data(), key.data(), 15) == 0)
      return "modulus listed in the badkeys blocklist " + sources_[it->second] + " (list id " +
             std::to_string(it->first[15]) + ")";
  }
  return std::nullopt;
}

}  // namespace mica::policy
