#include "policy/weak_keys.h"

#include <gmp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "fixtures.h"
#include "policy/internal/mpz.h"
#include "policy/internal/test_rng.h"
#include "x509/parse.h"

namespace mica::policy {
namespace {

using internal::Mpz;


x509::RsaPublicNumbers Key(mpz_srcptr n, unsigned long e = 65537) {
  Mpz ez(e);
  return {internal::Export(n), internal::Export(ez.get())};
}

x509::RsaPublicNumbers Key(const Mpz& p, const Mpz& q, unsigned long e = 65537) {
  Mpz n;
  mpz_mul(n.get(), p.get(), q.get());
  return Key(n.get(), e);
}

std::vector<std::string> Checks(const std::vector<WeakKeyFinding>& f) {
  std::vector<std::string> out;
  for (const auto& x : f) out.push_back(x.check);
  return out;
}

bool Has(const std::vector<WeakKeyFinding>& f, const std::string& check) {
  auto c = Checks(f);
  return std::find(c.begin(), c.end(), check) != c.end();
}

TEST(WeakKeysTest, SoundKeyHasNoFinding) {
  internal::TestRng rng(1);
  auto f = CheckRsa(Key(rng.Prime(1024), rng.Prime(1024)));
  EXPECT_TRUE(f.empty()) << ::testing::PrintToString(Checks(f));
}

TEST(WeakKeysTest, ModulusSizesAreParameterised) {
  internal::TestRng rng(2);
  auto k512 = Key(rng.Prime(256), rng.Prime(256));
  auto k1536 = Key(rng.Prime(768), rng.Prime(768));
  EXPECT_EQ(Checks(CheckRsa(k512)), std::vector<std::string>{"rsa_modulus_tiny"});
  EXPECT_EQ(Checks(CheckRsa(k1536)), std::vector<std::string>{"rsa_modulus_small"});
  EXPECT_TRUE(CheckRsa(k1536, {.weak_bits = 1024, .warn_bits = 1536}).empty());
  EXPECT_EQ(CheckRsa(k512)[0].severity, Severity::kHigh);
}

TEST(WeakKeysTest, EvenModulusAndSmallFactors) {
  internal::TestRng rng(3);
  Mpz two(2), small(7919), big = rng.Prime(1024);
  auto even = CheckRsa(Key(two, big));
  EXPECT_TRUE(Has(even, "rsa_modulus_even"));
  auto small_factor = CheckRsa(Key(small, big));
  EXPECT_TRUE(Has(small_factor, "rsa_small_factor"));
  // 10007 is above the default bound of 10,000 and is not found...
  Mpz above(10007);
  EXPECT_FALSE(Has(CheckRsa(Key(above, big)), "rsa_small_factor"));
  // ...unless the bound is raised. The factor itself never appears in the text.
  auto raised = CheckRsa(Key(above, big), {.trial_division_bound = 20000});
  ASSERT_TRUE(Has(raised, "rsa_small_factor"));
  for (const auto& f : raised) EXPECT_EQ(f.detail.find("10007"), std::string::npos);
}

TEST(WeakKeysTest, Exponents) {
  internal::TestRng rng(4);
  Mpz p = rng.Prime(1024), q = rng.Prime(1024);
  EXPECT_TRUE(Has(CheckRsa(Key(p, q, 1)), "rsa_exponent_one"));
  auto e3 = CheckRsa(Key(p, q, 3));
  ASSERT_TRUE(Has(e3, "rsa_exponent_low"));
  EXPECT_EQ(e3[0].severity, Severity::kWarning);
  EXPECT_TRUE(Has(CheckRsa(Key(p, q, 65536)), "rsa_exponent_even"));
  EXPECT_TRUE(Has(CheckRsa(Key(p, q, 0)), "rsa_exponent_malformed"));
  EXPECT_TRUE(CheckRsa(Key(p, q, 65537)).empty());
}

TEST(WeakKeysTest, MalformedEncodingsAreReported) {
  internal::TestRng rng(5);
  auto k = Key(rng.Prime(1024), rng.Prime(1024));
  k.non_minimal = true;
  EXPECT_TRUE(Has(CheckRsa(k), "rsa_modulus_malformed"));
  x509::RsaPublicNumbers empty{{}, {1, 0, 1}};
  EXPECT_TRUE(Has(CheckRsa(empty), "rsa_modulus_malformed"));
}

TEST(WeakKeysTest, FermatFindsClosePrimesOnly) {
  internal::TestRng rng(6);
  Mpz p = rng.Prime(1024), q;
  // |p - q| ~ 2^200: far below 2^(bits/4) = 2^512, found in the first step.
  Mpz gap;
  mpz_ui_pow_ui(gap.get(), 2, 200);
  mpz_add(q.get(), p.get(), gap.get());
  mpz_nextprime(q.get(), q.get());
  EXPECT_TRUE(Has(CheckRsa(Key(p, q)), "fermat"));
  // p == q (n a perfect square) is the extreme case.
  EXPECT_TRUE(Has(CheckRsa(Key(p, p)), "fermat"));
  // Independent primes: not found.
  EXPECT_FALSE(Has(CheckRsa(Key(p, rng.Prime(1024))), "fermat"));
}

// The ROCA primorial for 512-bit keys: the product of the first 39 primes (2..167).
Mpz RocaM() {
  Mpz m(1);
  for (unsigned long r = 2; r <= 167; ++r) {
    bool prime = true;
    for (unsigned long d = 2; d * d <= r; ++d) prime = prime && r % d != 0;
    if (prime) mpz_mul_ui(m.get(), m.get(), r);
  }
  return m;
}

// p = k*M + (65537^a mod M), prime, of `bits` bits (Nemec et al. 2017, section 2.3).
Mpz RocaPrime(internal::TestRng& rng, mpz_srcptr m, unsigned bits) {
  const unsigned mbits = static_cast<unsigned>(mpz_sizeinbase(m, 2));
  Mpz g(65537), p;
  for (;;) {
    Mpz a = rng.Bits(64), k = rng.Bits(bits - mbits);
    mpz_setbit(k.get(), bits - mbits - 1);
    Mpz r;
    mpz_powm(r.get(), g.get(), a.get(), m);
    mpz_mul(p.get(), k.get(), m);
    mpz_add(p.get(), p.get(), r.get());
    if (mpz_probab_prime_p(p.get(), 25) > 0) return p;
  }
}

TEST(WeakKeysTest, RocaStructuredModulusIsDetected) {
  internal::TestRng rng(7);
  Mpz m = RocaM();
  Mpz p = RocaPrime(rng, m.get(), 256), q = RocaPrime(rng, m.get(), 256);
  auto key = Key(p, q);
  EXPECT_TRUE(RocaPerPrimeTest(key.n));
  EXPECT_TRUE(RocaFingerprint(key.n));
  auto f = CheckRsa(key);
  ASSERT_TRUE(Has(f, "roca"));
  // Ordinary keys are not flagged.
  for (int i = 0; i < 20; ++i)
    EXPECT_FALSE(RocaFingerprint(Key(rng.Prime(256), rng.Prime(256)).n));
}

// A real RSA modulus n = p*q whose residue modulo every ROCA prime is a power of 65537,
// with exponents that contradict each other (log mod 3 is 0, log mod 5 is 1, but ord 3 = 2
// and ord 5 = 4 share the factor 2): it passes the per-prime residue test of the
// reference detector but cannot be 65537^c mod M.
TEST(WeakKeysTest, CraftedModulusFoolsThePerPrimeTestButNotTheFullCheck) {
  internal::TestRng rng(8);
  Mpz target(0), mod(2);  // CRT accumulator: n == target (mod mod); n odd
  mpz_set_ui(target.get(), 1);
  const unsigned primes[] = {3,  5,  7,  11, 13,  17,  19,  23,  29,  31,  37,  41,  43,
                             47, 53, 59, 61, 67,  71,  73,  79,  83,  89,  97,  101, 103,
                             107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
  for (unsigned r : primes) {
    unsigned long c = r == 3 ? 0 : r == 5 ? 1 : mpz_get_ui(rng.Bits(16).get());
    Mpz g(65537 % r), res, rr(r);
    Mpz cz(c);
    mpz_powm(res.get(), g.get(), cz.get(), rr.get());
    // Combine n == target (mod mod) with n == res (mod r).
    Mpz inv, t;
    mpz_invert(inv.get(), mod.get(), rr.get());
    mpz_sub(t.get(), res.get(), target.get());
    mpz_mul(t.get(), t.get(), inv.get());
    mpz_mod(t.get(), t.get(), rr.get());
    mpz_addmul(target.get(), t.get(), mod.get());
    mpz_mul_ui(mod.get(), mod.get(), r);
  }
  // n = p*q with q == target * p^-1 (mod mod).
  Mpz p = rng.Prime(512), q0, pinv;
  ASSERT_NE(mpz_invert(pinv.get(), p.get(), mod.get()), 0);
  mpz_mul(q0.get(), target.get(), pinv.get());
  mpz_mod(q0.get(), q0.get(), mod.get());
  Mpz q, step = rng.Bits(512 - static_cast<unsigned>(mpz_sizeinbase(mod.get(), 2)));
  mpz_setbit(step.get(), 512 - static_cast<unsigned>(mpz_sizeinbase(mod.get(), 2)) - 1);
  for (;;) {
    mpz_mul(q.get(), step.get(), mod.get());
    mpz_add(q.get(), q.get(), q0.get());
    if (mpz_probab_prime_p(q.get(), 25) > 0) break;
    mpz_add_ui(step.get(), step.get(), 1);
  }
  auto key = Key(p, q);
  EXPECT_TRUE(RocaPerPrimeTest(key.n)) << "the crafted modulus should fool the naive test";
  EXPECT_FALSE(RocaFingerprint(key.n));
  EXPECT_FALSE(Has(CheckRsa(key), "roca"));
}

// A modulus that passes the residue test for the first primes only (what a partial test
// that stops early would accept) is not ROCA.
TEST(WeakKeysTest, PartialResidueMatchIsNotRoca) {
  internal::TestRng rng(9);
  Mpz m = RocaM();
  Mpz p = RocaPrime(rng, m.get(), 256), q = RocaPrime(rng, m.get(), 256);
  Mpz n;
  mpz_mul(n.get(), p.get(), q.get());
  // Adding 2*3*...*97 keeps the residues mod 3..97 and moves the ones mod 101..167.
  Mpz part(2);
  for (unsigned r : {3u, 5u, 7u, 11u, 13u, 17u, 19u, 23u, 29u, 31u, 37u, 41u, 43u, 47u, 53u,
                     59u, 61u, 67u, 71u, 73u, 79u, 83u, 89u, 97u})
    mpz_mul_ui(part.get(), part.get(), r);
  int rejected = 0;
  for (int k = 1; k <= 10; ++k) {
    Mpz n2;
    mpz_addmul_ui(n2.get(), part.get(), static_cast<unsigned long>(k));
    mpz_add(n2.get(), n2.get(), n.get());
    if (!RocaFingerprint(internal::Export(n2.get()))) ++rejected;
  }
  EXPECT_GE(rejected, 9);
}

TEST(WeakKeysTest, RsaNumbersFromSpkiKeepEncodingFaults) {
  // SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { 0, RSAPublicKey } } with
  // n = 0x00 0x00 0x81 ... (redundant leading zero) and e = 65537.
  const Bytes n_content = {0x00, 0x00, 0xc1, 0x23, 0x45, 0x67};
  Bytes rsa = {0x30, 0x0d, 0x02, 0x06};
  rsa.insert(rsa.end(), n_content.begin(), n_content.end());
  rsa.insert(rsa.end(), {0x02, 0x03, 0x01, 0x00, 0x01});
  Bytes spki = {0x30, 0x21, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x10, 0x00};
  spki.insert(spki.end(), rsa.begin(), rsa.end());
  ASSERT_EQ(spki.size(), 0x23u);
  auto r = x509::RsaFromSpki(spki);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->non_minimal);
  EXPECT_EQ(r->n, (Bytes{0xc1, 0x23, 0x45, 0x67}));
  EXPECT_EQ(r->e, (Bytes{0x01, 0x00, 0x01}));
  spki.resize(spki.size() - 2);  // truncated
  EXPECT_FALSE(x509::RsaFromSpki(spki));
}

TEST(WeakKeysTest, RsaNumbersFromACertificateAndItsKeyAgree) {
  testing::CertSpec spec;
  spec.key = "rsa";
  auto made = testing::MakeCertificate(spec);
  x509::ParseOptions opts;
  auto cert = x509::ParseContent(AsBytes(made.cert_pem), opts);
  auto key = x509::ParseContent(AsBytes(made.key_pem), opts);
  ASSERT_TRUE(cert && key);
  ASSERT_EQ(cert->identities.size(), 1u);
  ASSERT_EQ(key->identities.size(), 1u);
  auto from_cert = x509::RsaFromIdentity(cert->identities[0]);
  auto from_key = x509::RsaFromIdentity(key->identities[0]);
  ASSERT_TRUE(from_cert) << from_cert.error().message;
  ASSERT_TRUE(from_key) << from_key.error().message;
  EXPECT_EQ(from_cert->n, from_key->n);
  EXPECT_EQ(from_cert->n.size(), 256u);
  EXPECT_EQ(from_cert->e, (Bytes{0x01, 0x00, 0x01}));
}

TEST(WeakKeysTest, BlocklistOfSpkiHashesMatchesAnRfcExampleKey) {
  const std::string shared = testing::SharedData();
  const std::string dir = shared + "/key-formats/rfc-example-keys";
  std::ifstream pub(dir + "/spki-pem-public/rsa2048-rfc9500.key");
  std::ifstream priv(dir + "/pkcs8-pem-private/rsa2048-rfc9500.key");
  if (shared.empty() || !pub || !priv) GTEST_SKIP() << "no $MICA_SHARED_DATA/key-formats";
  std::string pub_pem((std::istreambuf_iterator<char>(pub)), {});
  std::string priv_pem((std::istreambuf_iterator<char>(priv)), {});
  auto parsed_pub = x509::ParseContent(AsBytes(pub_pem), {});
  auto parsed_priv = x509::ParseContent(AsBytes(priv_pem), {});
  ASSERT_TRUE(parsed_pub && parsed_priv);
  const auto& id = parsed_pub->identities.at(0);
  testing::TempDir tmp;
  testing::WriteFile(tmp / "bl.txt", "# RFC 9500 test keys\n\n" + id.key.spki_sha256 +
                                         "  # rsa2048-rfc9500\n");
  Blocklist bl;
  ASSERT_TRUE(bl.Load(tmp / "bl.txt"));
  EXPECT_EQ(bl.size(), 1u);
  auto n = x509::RsaFromIdentity(id);
  ASSERT_TRUE(n);
  EXPECT_TRUE(bl.Match(id.key.spki_sha256, n->n));
  // The private key of the pair matches through its SPKI too.
  EXPECT_TRUE(bl.Match(parsed_priv->identities.at(0).key.spki_sha256, {}));
  EXPECT_FALSE(bl.Match(std::string(64, '0'), {}));
}

TEST(WeakKeysTest, BlocklistFormatsOpensslBlacklistAndBadkeys) {
  internal::TestRng rng(10);
  auto key = Key(rng.Prime(1024), rng.Prime(1024));
  testing::TempDir tmp;
  // openssl-blacklist: the last 20 hex digits of sha1("Modulus=<HEX>\n").
  std::string hex = ToHex(key.n);
  for (auto& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string line = "Modulus=" + hex + "\n";
  testing::WriteFile(tmp / "debian.txt", ToHex(Sha1(AsBytes(line))).substr(20) + "\n");
  Blocklist debian;
  ASSERT_TRUE(debian.Load(tmp / "debian.txt"));
  EXPECT_TRUE(debian.Match("", key.n));
  EXPECT_FALSE(debian.Match("", Key(rng.Prime(1024), rng.Prime(1024)).n));
  // badkeys: sorted 16-byte records, truncated SHA-256 of the modulus + list id.
  const auto d = Sha256(key.n);
  std::string rec(reinterpret_cast<const char*>(d.data()), 15);
  rec.push_back('\x03');
  std::string low(16, '\0');
  std::string high(15, '\xff');
  high.push_back('\x01');
  testing::WriteFile(tmp / "blocklist.dat", low + rec + high);
  Blocklist badkeys;
  ASSERT_TRUE(badkeys.Load(tmp / "blocklist.dat"));
  auto m = badkeys.Match("", key.n);
  ASSERT_TRUE(m);
  EXPECT_NE(m->find("list id 3"), std::string::npos) << *m;
}

TEST(WeakKeysTest, BlocklistErrorsNameFileAndLine) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "bad.txt", "# ok\n" + std::string(64, 'a') + "\nnot-a-hash\n");
  Blocklist bl;
  auto s = bl.Load(tmp / "bad.txt");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("bad.txt:3"), std::string::npos) << s.error().message;
  testing::WriteFile(tmp / "odd.dat", std::string("\x01\x02\x03", 3));
  EXPECT_FALSE(bl.Load(tmp / "odd.dat"));
  EXPECT_FALSE(bl.Load(tmp / "missing.txt"));
}

}  // namespace
}  // namespace mica::policy
