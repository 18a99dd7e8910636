// The differential test: the fast decoder (certificate.h) against OpenSSL's own reading
// of the same certificate (internal/reference.h), field by field, over every real
// certificate at hand: the system roots, pkilint's corpus of defective certificates and
// the chain-validation suites. It also feeds mutated certificates to both and requires
// that what OpenSSL rejects is rejected by the fast decoder too, and nothing crashes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "x509/certificate.h"
#include "x509/internal/reference.h"

namespace mica::x509 {
namespace {

namespace fs = std::filesystem;

struct Sample {
  std::string where;
  Bytes der;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void AddPemBlocks(const fs::path& p, std::vector<Sample>& out) {
  const std::string text = ReadFile(p);
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  size_t pos = 0;
  int n = 0;
  while ((pos = text.find(kBegin, pos)) != std::string::npos) {
    const size_t start = pos + kBegin.size();
    const size_t end = text.find(kEnd, start);
    if (end == std::string::npos) break;
    ++n;
    if (auto der = Base64Decode(std::string_view(text).substr(start, end - start)); der) {
      out.push_back({p.string() + "#" + std::to_string(n), std::move(*der)});
    }
    pos = end + kEnd.size();
  }
}

std::vector<Sample> Corpus(bool& have_shared) {
  std::vector<Sample> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/etc/ssl/certs", ec)) {
    if (e.path().extension() == ".pem") AddPemBlocks(e.path(), out);
  }
  const char* shared = std::getenv("MICA_SHARED_DATA");
  have_shared = shared != nullptr && fs::is_directory(shared, ec);
  if (!have_shared) return out;
  const fs::path root(shared);
  for (const auto& e : fs::recursive_directory_iterator(root / "lint/pkilint", ec)) {
    if (e.path().extension() == ".crttest") AddPemBlocks(e.path(), out);
  }
  for (const auto& e : fs::recursive_directory_iterator(root / "chain-validation", ec)) {
    if (e.path().extension() == ".pem") {
      AddPemBlocks(e.path(), out);
    } else if (e.path().extension() == ".crt") {
      const std::string bytes = ReadFile(e.path());
      out.push_back({e.path().string(), Bytes(bytes.begin(), bytes.end())});
    }
  }
  return out;
}

template <class T>
std::string Show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
std::string Show(const std::vector<std::string>& v) {
  std::string s = "[";
  for (const auto& x : v) s += (s.size() > 1 ? "," : "") + x;
  return s + "]";
}
std::string Show(KeyType t) { return KeyTypeName(t); }

// Every field of the two readings that differs, as "field: fast=... reference=...".
std::vector<std::string> Differences(const Identity& a, const Identity& b) {
  std::vector<std::string> d;
  auto cmp = [&](const char* field, const auto& x, const auto& y) {
    if (!(x == y)) d.push_back(std::string(field) + ": fast=" + Show(x) + " reference=" + Show(y));
  };
  cmp("kind", static_cast<int>(a.kind), static_cast<int>(b.kind));
  cmp("fingerprint", a.fingerprint, b.fingerprint);
  cmp("der", a.der == b.der, true);
  cmp("key.type", a.key.type, b.key.type);
  cmp("key.bits", a.key.bits, b.key.bits);
  cmp("key.curve", a.key.curve, b.key.curve);
  cmp("key.spki_sha256", a.key.spki_sha256, b.key.spki_sha256);
  if (!a.cert || !b.cert) {
    d.push_back("cert missing");
    return d;
  }
  const CertificateInfo& x = *a.cert;
  const CertificateInfo& y = *b.cert;
  cmp("version", x.version, y.version);
  cmp("subject", x.subject, y.subject);
  cmp("issuer", x.issuer, y.issuer);
  cmp("subject.cn", x.subject_parts.cn, y.subject_parts.cn);
  cmp("subject.o", x.subject_parts.o, y.subject_parts.o);
  cmp("subject.ou", x.subject_parts.ou, y.subject_parts.ou);
  cmp("subject.c", x.subject_parts.c, y.subject_parts.c);
  cmp("issuer.cn", x.issuer_parts.cn, y.issuer_parts.cn);
  cmp("issuer.o", x.issuer_parts.o, y.issuer_parts.o);
  cmp("issuer.ou", x.issuer_parts.ou, y.issuer_parts.ou);
  cmp("issuer.c", x.issuer_parts.c, y.issuer_parts.c);
  cmp("serial_hex", x.serial_hex, y.serial_hex);
  cmp("not_before", x.not_before, y.not_before);
  cmp("not_after", x.not_after, y.not_after);
  cmp("san_dns", x.san_dns, y.san_dns);
  cmp("san_ip", x.san_ip, y.san_ip);
  cmp("san_email", x.san_email, y.san_email);
  cmp("san_uri", x.san_uri, y.san_uri);
  cmp("signature_algorithm", x.signature_algorithm, y.signature_algorithm);
  cmp("has_key_usage", x.has_key_usage, y.has_key_usage);
  cmp("key_usage", x.key_usage, y.key_usage);
  cmp("eku", x.eku, y.eku);
  cmp("has_basic_constraints", x.has_basic_constraints, y.has_basic_constraints);
  cmp("is_ca", x.is_ca, y.is_ca);
  cmp("path_len", x.path_len, y.path_len);
  cmp("ski_hex", x.ski_hex, y.ski_hex);
  cmp("aki_hex", x.aki_hex, y.aki_hex);
  cmp("ocsp_urls", x.ocsp_urls, y.ocsp_urls);
  cmp("ca_issuer_urls", x.ca_issuer_urls, y.ca_issuer_urls);
  cmp("crl_urls", x.crl_urls, y.crl_urls);
  cmp("sct_count", x.sct_count, y.sct_count);
  cmp("policy_oids", x.policy_oids, y.policy_oids);
  cmp("self_issued", x.self_issued, y.self_issued);
  cmp("self_signed", x.self_signed, y.self_signed);
  cmp("sha1_hex", x.sha1_hex, y.sha1_hex);
  return d;
}

TEST(CertificateDiffTest, FastDecoderAgreesWithOpenSslOnEveryCorpusCertificate) {
  bool have_shared = false;
  const std::vector<Sample> corpus = Corpus(have_shared);
  if (corpus.empty()) GTEST_SKIP() << "no certificates in /etc/ssl/certs nor $MICA_SHARED_DATA";
  if (!have_shared) {
    std::cout << "note: $MICA_SHARED_DATA not set or absent: only /etc/ssl/certs is compared\n";
  }
  int agreed = 0, both_rejected = 0, mismatched = 0, fast_only_rejected = 0,
      reference_only_rejected = 0;
  for (const Sample& s : corpus) {
    auto fast = DecodeCertificate(s.der);
    auto ref = internal::DecodeCertificateWithOpenSsl(s.der);
    if (!ref) {
      if (fast) {
        ++reference_only_rejected;
        ADD_FAILURE() << s.where << ": OpenSSL rejects (" << ref.error().message
                      << ") but the fast decoder accepts";
      } else {
        ++both_rejected;
      }
      continue;
    }
    if (!fast) {
      ++fast_only_rejected;
      ADD_FAILURE() << s.where << ": fast decoder rejects: " << fast.error().message;
      continue;
    }
    const auto diffs = Differences(*fast, *ref);
    if (diffs.empty()) {
      ++agreed;
    } else {
      ++mismatched;
      for (const auto& d : diffs) ADD_FAILURE() << s.where << ": " << d;
    }
  }
  std::cout << "certificates: " << corpus.size() << ", agreed: " << agreed
            << ", rejected by both: " << both_rejected << ", mismatched: " << mismatched
            << ", rejected by the fast decoder only: " << fast_only_rejected
            << ", rejected by OpenSSL only: " << reference_only_rejected << "\n";
  EXPECT_GT(agreed, 0);
}

// Deterministic mutations of a few corpus certificates: every truncation, and every byte
// of the first 400 replaced by a few values. Whatever OpenSSL rejects must be rejected,
// and nothing may crash (this runs under ASan/UBSan).
TEST(CertificateDiffTest, MutatedCertificatesNeverCrashAndOpenSslRejectionsAreRejected) {
  bool have_shared = false;
  std::vector<Sample> corpus = Corpus(have_shared);
  if (corpus.empty()) GTEST_SKIP() << "no certificates in /etc/ssl/certs nor $MICA_SHARED_DATA";
  int tried = 0, accepted_by_fast_only = 0, both_accepted = 0, rejected_by_fast_only = 0;
  const size_t step = std::max<size_t>(1, corpus.size() / 6);
  for (size_t i = 0; i < corpus.size(); i += step) {
    const Bytes& der = corpus[i].der;
    for (size_t len = 0; len < der.size(); ++len) {
      ++tried;
      EXPECT_FALSE(DecodeCertificate(ByteView(der.data(), len))) << corpus[i].where << " cut " << len;
    }
    for (size_t pos = 0; pos < std::min<size_t>(der.size(), 400); ++pos) {
      for (std::uint8_t v : {std::uint8_t{0x00}, std::uint8_t{0x80}, std::uint8_t{0xff},
                             static_cast<std::uint8_t>(der[pos] ^ 0x01)}) {
        if (v == der[pos]) continue;
        Bytes m = der;
        m[pos] = v;
        ++tried;
        auto fast = DecodeCertificate(m);
        auto ref = internal::DecodeCertificateWithOpenSsl(m);
        if (fast && !ref) {
          ++accepted_by_fast_only;
          ADD_FAILURE() << corpus[i].where << " byte " << pos << " := " << int(v)
                        << ": OpenSSL rejects (" << ref.error().message << "), fast accepts";
        } else if (fast && ref) {
          ++both_accepted;
          for (const auto& d : Differences(*fast, *ref))
            ADD_FAILURE() << corpus[i].where << " byte " << pos << " := " << int(v) << ": " << d;
        } else if (!fast && ref) {
          ++rejected_by_fast_only;
        }
      }
    }
  }
  std::cout << "mutations tried: " << tried << ", accepted only by the fast decoder: "
            << accepted_by_fast_only << ", accepted by both (fields compared): "
            << both_accepted << ", rejected only by the fast decoder (BER or stricter checks): "
            << rejected_by_fast_only << "\n";
}

}  // namespace
}  // namespace mica::x509
