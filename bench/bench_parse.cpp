// bench_parse: certificate decoding throughput of mica against its peers, in one run.
//
//   bench_parse [--passes N] [--threads T] [--dump-der FILE] [--decoder-label TEXT] CORPUS
//
// CORPUS is a folder made by bench/gen_corpus.py (its cert_files.txt names the files
// holding certificates) or any folder (every file is tried as PEM, then as DER). All
// distinct certificates are loaded into memory as DER first (not timed); then each
// variant decodes the whole set N times on one thread, and (a) and (b) again on T threads:
//
//   (a) mica_decode     mica::x509::DecodeCertificate, every field of CertificateInfo
//   (b) openssl_d2i     d2i_X509 + SHA-256 of the DER: the least any OpenSSL-based
//                       inventory pays
//   (c) openssl_fields  d2i_X509 + the same fields as (a) through OpenSSL's API
//   (d) mbedtls_parse   mbedtls_x509_crt_parse_der (mbedTLS 2.28 rejects Ed25519)
//
// Before timing, (a) and (c) are compared field by field over the whole set; differing
// fields are printed (a fast decoder that is wrong is not fast).
//
// Prints a table, then one machine-readable line per measurement:
//   RESULT variant=mica_decode threads=1 certs=... median_certs_per_s=... ...
// --decoder-label names what DecodeCertificate is in this build (run_foundation.sh passes
// "stand-in:..." while src/x509/certificate.cpp still forwards to the OpenSSL reference
// decoder); it is copied into the output so that no stand-in figure passes for mica's.
// --dump-der writes the loaded set (4-byte big-endian length + DER, repeated) for
// bench/peer_cryptography.py, so that every peer decodes the same bytes.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mbedtls/error.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/encoding.h"
#include "openssl_fields.h"
#include "x509/certificate.h"

namespace {

namespace fs = std::filesystem;
using mica::Bytes;
using mica::ByteView;

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free_all(b); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};

struct CertSet {
  std::vector<Bytes> ders;
  std::unordered_set<std::string> seen;
  std::size_t bytes = 0;
  std::size_t files = 0;
  std::size_t unreadable = 0;

  void Add(Bytes der) {
    std::string key(der.begin(), der.end());
    if (!seen.insert(std::move(key)).second) return;
    bytes += der.size();
    ders.push_back(std::move(der));
  }
};

bool ReadFile(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// Adds every certificate of one file: PEM blocks when the text has them, else the whole
// file as one DER certificate. Returns how many were found.
int LoadFile(const fs::path& path, CertSet& set) {
  std::string content;
  if (!ReadFile(path, content)) return 0;
  int found = 0;
  if (content.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    while (true) {
      std::unique_ptr<X509, X509Free> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!x) break;
      unsigned char* der = nullptr;
      int n = i2d_X509(x.get(), &der);  // the original encoding, cached by d2i
      if (n > 0) {
        set.Add(Bytes(der, der + n));
        OPENSSL_free(der);
        ++found;
      }
    }
  } else if (!content.empty() && static_cast<unsigned char>(content[0]) == 0x30) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(content.data());
    const unsigned char* end = p + content.size();
    std::unique_ptr<X509, X509Free> x(d2i_X509(nullptr, &p, static_cast<long>(content.size())));
    if (x && p == end) {
      set.Add(Bytes(reinterpret_cast<const unsigned char*>(content.data()), end));
      ++found;
    }
  }
  ERR_clear_error();
  return found;
}

bool LoadCorpus(const fs::path& root, CertSet& set) {
  std::ifstream list(root / "cert_files.txt");
  if (list) {
    std::string line;
    while (std::getline(list, line)) {
      if (line.empty()) continue;
      ++set.files;
      if (LoadFile(root / "tree" / line, set) == 0) ++set.unreadable;
    }
    return true;
  }
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (LoadFile(it->path(), set) > 0) ++set.files;
  }
  if (ec) {
    std::fprintf(stderr, "bench_parse: walking %s: %s\n", root.c_str(), ec.message().c_str());
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ the variants

std::atomic<std::uint64_t> g_sink{0};  // keeps results observable

// Decodes ders[lo, hi); returns the number rejected.
using Variant = std::function<std::size_t(const std::vector<Bytes>&, std::size_t, std::size_t)>;

std::size_t RunMica(const std::vector<Bytes>& ders, std::size_t lo, std::size_t hi) {
  std::size_t failed = 0;
  std::uint64_t sink = 0;
  for (std::size_t i = lo; i < hi; ++i) {
    auto id = mica::x509::DecodeCertificate(ders[i]);
    if (!id) {
      ++failed;
      continue;
    }
    sink += id->fingerprint.size() + (id->cert ? id->cert->san_dns.size() : 0);
  }
  g_sink += sink;
  return failed;
}

std::size_t RunOpenSslFields(const std::vector<Bytes>& ders, std::size_t lo, std::size_t hi) {
  std::size_t failed = 0;
  std::uint64_t sink = 0;
  for (std::size_t i = lo; i < hi; ++i) {
    auto id = mica::bench::DecodeWithOpenSsl(ders[i]);
    if (!id) {
      ++failed;
      continue;
    }
    sink += id->fingerprint.size() + id->cert->san_dns.size();
  }
  g_sink += sink;
  return failed;
}

std::size_t RunOpenSslD2i(const std::vector<Bytes>& ders, std::size_t lo, std::size_t hi) {
  std::size_t failed = 0;
  std::uint64_t sink = 0;
  for (std::size_t i = lo; i < hi; ++i) {
    const Bytes& der = ders[i];
    const unsigned char* p = der.data();
    std::unique_ptr<X509, X509Free> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!x) {
      ++failed;
      ERR_clear_error();
      continue;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(der.data(), der.size(), md, &md_len, EVP_sha256(), nullptr);
    sink += md[0];
  }
  g_sink += sink;
  return failed;
}

std::map<int, std::size_t> g_mbedtls_errors;  // only written by single-threaded runs

std::size_t RunMbedTls(const std::vector<Bytes>& ders, std::size_t lo, std::size_t hi) {
  std::size_t failed = 0;
  std::uint64_t sink = 0;
  for (std::size_t i = lo; i < hi; ++i) {
    mbedtls_x509_crt crt;
    ::mbedtls_x509_crt_init(&crt);
    int r = ::mbedtls_x509_crt_parse_der(&crt, ders[i].data(), ders[i].size());
    if (r != 0) {
      ++failed;
      ++g_mbedtls_errors[r];
    } else {
      sink += crt.serial.len;
    }
    ::mbedtls_x509_crt_free(&crt);
  }
  g_sink += sink;
  return failed;
}

struct Measurement {
  std::string variant;
  int threads = 1;
  int passes = 0;
  double median_cps = 0, best_cps = 0, median_mbps = 0;
  std::size_t failed = 0;
};

Measurement Measure(const std::string& name, const Variant& fn, const CertSet& set, int threads, int passes) {
  const std::size_t n = set.ders.size();
  std::vector<double> seconds;
  std::size_t failed = 0;
  fn(set.ders, 0, std::min<std::size_t>(n, 200));  // warm up caches, lazy init
  g_mbedtls_errors.clear();
  for (int pass = 0; pass < passes; ++pass) {
    std::vector<std::size_t> fails(static_cast<std::size_t>(threads), 0);
    auto t0 = std::chrono::steady_clock::now();
    if (threads == 1) {
      fails[0] = fn(set.ders, 0, n);
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) {
        std::size_t lo = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
        std::size_t hi = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
        pool.emplace_back([&, t, lo, hi] { fails[static_cast<std::size_t>(t)] = fn(set.ders, lo, hi); });
      }
      for (auto& th : pool) th.join();
    }
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    failed = 0;
    for (auto f : fails) failed += f;
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  Measurement m;
  m.variant = name;
  m.threads = threads;
  m.passes = passes;
  m.median_cps = static_cast<double>(n) / median;
  m.best_cps = static_cast<double>(n) / seconds.front();
  m.median_mbps = static_cast<double>(set.bytes) / median / 1e6;
  m.failed = failed;
  return m;
}

// ------------------------------------------------------------------ cross-check (a) vs (c)

void CompareWithOpenSsl(const CertSet& set) {
  std::map<std::string, std::size_t> diffs;
  std::map<std::string, std::string> example;
  std::size_t mica_failed = 0, both = 0;
  for (const Bytes& der : set.ders) {
    auto a = mica::x509::DecodeCertificate(der);
    auto c = mica::bench::DecodeWithOpenSsl(der);
    if (!a || !c) {
      if (!a) {
        ++mica_failed;
        if (example.count("decode_error") == 0) example["decode_error"] = a.error().message;
      }
      continue;
    }
    ++both;
    if (!a->cert) {
      ++diffs["cert_missing"];
      continue;
    }
    const auto& x = *a->cert;
    const auto& y = *c->cert;
    auto check = [&](const char* field, bool same, const std::string& got, const std::string& want) {
      if (same) return;
      ++diffs[field];
      if (example.count(field) == 0) example[field] = "mica '" + got + "' openssl '" + want + "'";
    };
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& e : v) s += (s.empty() ? "" : ",") + e;
      return s;
    };
    check("fingerprint", a->fingerprint == c->fingerprint, a->fingerprint, c->fingerprint);
    check("subject", x.subject == y.subject, x.subject, y.subject);
    check("issuer", x.issuer == y.issuer, x.issuer, y.issuer);
    check("serial_hex", x.serial_hex == y.serial_hex, x.serial_hex, y.serial_hex);
    check("not_before", x.not_before == y.not_before, std::to_string(x.not_before), std::to_string(y.not_before));
    check("not_after", x.not_after == y.not_after, std::to_string(x.not_after), std::to_string(y.not_after));
    check("san_dns", x.san_dns == y.san_dns, join(x.san_dns), join(y.san_dns));
    check("san_ip", x.san_ip == y.san_ip, join(x.san_ip), join(y.san_ip));
    check("key_type", a->key.type == c->key.type, mica::x509::KeyTypeName(a->key.type),
          mica::x509::KeyTypeName(c->key.type));
    check("key_bits", a->key.bits == c->key.bits, std::to_string(a->key.bits), std::to_string(c->key.bits));
    check("key_curve", a->key.curve == c->key.curve, a->key.curve, c->key.curve);
    check("spki_sha256", a->key.spki_sha256 == c->key.spki_sha256, a->key.spki_sha256, c->key.spki_sha256);
    check("signature_algorithm", x.signature_algorithm == y.signature_algorithm, x.signature_algorithm,
          y.signature_algorithm);
    check("key_usage", x.has_key_usage == y.has_key_usage && x.key_usage == y.key_usage,
          std::to_string(x.key_usage), std::to_string(y.key_usage));
    check("eku", x.eku == y.eku, join(x.eku), join(y.eku));
    check("basic_constraints", x.has_basic_constraints == y.has_basic_constraints && x.is_ca == y.is_ca &&
                                   x.path_len == y.path_len,
          std::to_string(x.is_ca) + "/" + std::to_string(x.path_len),
          std::to_string(y.is_ca) + "/" + std::to_string(y.path_len));
    check("ski_hex", x.ski_hex == y.ski_hex, x.ski_hex, y.ski_hex);
    check("aki_hex", x.aki_hex == y.aki_hex, x.aki_hex, y.aki_hex);
    check("ocsp_urls", x.ocsp_urls == y.ocsp_urls, join(x.ocsp_urls), join(y.ocsp_urls));
    check("ca_issuer_urls", x.ca_issuer_urls == y.ca_issuer_urls, join(x.ca_issuer_urls), join(y.ca_issuer_urls));
    check("crl_urls", x.crl_urls == y.crl_urls, join(x.crl_urls), join(y.crl_urls));
    check("sct_count", x.sct_count == y.sct_count, std::to_string(x.sct_count), std::to_string(y.sct_count));
    check("policy_oids", x.policy_oids == y.policy_oids, join(x.policy_oids), join(y.policy_oids));
    check("self_signed", x.self_issued == y.self_issued && x.self_signed == y.self_signed,
          std::to_string(x.self_signed), std::to_string(y.self_signed));
    check("sha1_hex", x.sha1_hex == y.sha1_hex, x.sha1_hex, y.sha1_hex);
  }
  std::size_t total = 0;
  for (const auto& [_, count] : diffs) total += count;
  std::printf("cross-check mica vs OpenSSL: %zu certificates compared, %zu rejected by mica, %zu field differences\n",
              both, mica_failed, total);
  for (const auto& [field, count] : diffs)
    std::printf("  DIFF %-20s %zu  e.g. %s\n", field.c_str(), count, example[field].c_str());
  if (example.count("decode_error"))
    std::printf("  first mica error: %s\n", example["decode_error"].c_str());
  std::printf("RESULT variant=crosscheck compared=%zu mica_rejected=%zu field_diffs=%zu\n", both, mica_failed,
              total);
}

int Usage() {
  std::fprintf(stderr,
               "usage: bench_parse [--passes N] [--threads T] [--dump-der FILE] [--decoder-label TEXT]\n"
               "                   [--no-crosscheck] CORPUS\n"
               "  CORPUS: a gen_corpus.py output folder (with cert_files.txt) or any folder\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int passes = 5;
  int threads = 2;
  bool crosscheck = true;
  std::string dump, corpus, decoder_label = "mica";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--passes" && i + 1 < argc) {
      passes = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--dump-der" && i + 1 < argc) {
      dump = argv[++i];
    } else if (a == "--decoder-label" && i + 1 < argc) {
      decoder_label = argv[++i];
    } else if (a == "--no-crosscheck") {
      crosscheck = false;
    } else if (!a.empty() && a[0] != '-' && corpus.empty()) {
      corpus = a;
    } else {
      return Usage();
    }
  }
  if (corpus.empty()) return Usage();

  const bool standin = decoder_label.rfind("stand-in", 0) == 0;
  const char* decoder = decoder_label.c_str();

  CertSet set;
  auto t0 = std::chrono::steady_clock::now();
  if (!LoadCorpus(corpus, set)) return 3;
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  set.seen.clear();
  if (set.ders.empty()) {
    std::fprintf(stderr, "bench_parse: no certificate found under %s\n", corpus.c_str());
    return 3;
  }

  char mbed_version[32] = {};
  ::mbedtls_version_get_string(mbed_version);
  std::printf("bench_parse: %zu distinct certificates (%.1f MB DER, avg %zu B) from %zu files in %.1fs",
              set.ders.size(), static_cast<double>(set.bytes) / 1e6, set.bytes / set.ders.size(), set.files,
              load_s);
  if (set.unreadable) std::printf(", %zu listed files held none", set.unreadable);
  std::printf("\nbench_parse: %s, mbedTLS %s, %d passes per measurement\n", OpenSSL_version(OPENSSL_VERSION),
              mbed_version, passes);
  if (standin) {
    std::printf(
        "bench_parse: WARNING: DecodeCertificate in this build is a stand-in (%s):\n"
        "             the mica_decode figures are not those of mica's fast decoder.\n",
        decoder);
  }

  if (!dump.empty()) {
    std::ofstream out(dump, std::ios::binary);
    for (const Bytes& der : set.ders) {
      const std::uint32_t n = static_cast<std::uint32_t>(der.size());
      const unsigned char len[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                                    static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
      out.write(reinterpret_cast<const char*>(len), 4);
      out.write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
    }
    if (!out) {
      std::fprintf(stderr, "bench_parse: cannot write %s\n", dump.c_str());
      return 3;
    }
    std::printf("bench_parse: wrote the DER set to %s\n", dump.c_str());
  }

  if (crosscheck) CompareWithOpenSsl(set);
  std::fflush(stdout);

  std::vector<Measurement> results;
  auto run = [&](const std::string& name, const Variant& fn, int t) {
    results.push_back(Measure(name, fn, set, t, passes));
    const auto& m = results.back();
    std::printf("  %-16s %d thread(s): %10.0f certs/s\n", m.variant.c_str(), m.threads, m.median_cps);
    std::fflush(stdout);
  };
  run("mica_decode", RunMica, 1);
  run("openssl_d2i", RunOpenSslD2i, 1);
  run("openssl_fields", RunOpenSslFields, 1);
  run("mbedtls_parse", RunMbedTls, 1);
  auto mbed_errors = g_mbedtls_errors;
  if (threads > 1) {
    run("mica_decode", RunMica, threads);
    run("openssl_d2i", RunOpenSslD2i, threads);
  }

  const double base = results[1].median_cps;
  std::printf("\n%-16s %7s %14s %14s %9s %9s %8s\n", "variant", "threads", "certs/s (med)", "certs/s (best)",
              "MB/s", "vs d2i", "rejected");
  for (const auto& m : results) {
    std::printf("%-16s %7d %14.0f %14.0f %9.1f %8.2fx %8zu\n", m.variant.c_str(), m.threads, m.median_cps,
                m.best_cps, m.median_mbps, m.median_cps / base, m.failed);
  }
  for (const auto& [code, count] : mbed_errors) {
    char text[160];
    ::mbedtls_strerror(code, text, sizeof text);
    std::printf("  mbedTLS rejected %zu per pass: -0x%04x %s\n", count / static_cast<std::size_t>(passes), -code,
                text);
  }
  std::printf("\n");
  for (const auto& m : results) {
    std::printf(
        "RESULT variant=%s threads=%d certs=%zu passes=%d median_certs_per_s=%.0f best_certs_per_s=%.0f "
        "median_mb_per_s=%.1f rejected=%zu decoder=%s\n",
        m.variant.c_str(), m.threads, set.ders.size(), m.passes, m.median_cps, m.best_cps, m.median_mbps, m.failed,
        m.variant.rfind("mica", 0) == 0 ? decoder : "peer");
  }
  return g_sink.load() == 42 ? 1 : 0;  // never true in practice; reads the sink
}
