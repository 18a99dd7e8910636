// Test fixtures made at test time: temporary directories and keys/certificates produced
// with the openssl command-line tool (so tests never depend on committed blobs).
#pragma once

#include <string>

namespace mica::testing {

// A fresh directory under $TMPDIR, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a shell command; returns its exit status (127 when it could not run).
int Shell(const std::string& command);
// Runs a shell command and returns its standard output.
std::string ShellOutput(const std::string& command, int* status = nullptr);

// Writes a self-signed certificate (PEM) and its unencrypted private key (PKCS#8 PEM).
// `key` is an openssl -newkey argument: "rsa:2048", "ec -pkeyopt ec_paramgen_curve:P-256",
// "ed25519". `extra` is appended to `openssl req` (e.g. "-addext extendedKeyUsage=codeSigning").
void MakeSelfSigned(const std::string& cert_path, const std::string& key_path,
                    const std::string& cn, const std::string& key = "rsa:2048", int days = 30,
                    const std::string& extra = "");

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// The shared third-party data folder ($MICA_SHARED_DATA), or "" when absent.
std::string SharedData();

// For the threads of scripted TLS peers: OpenSSL writes with write(2), and a client
// that hangs up first must make that write fail with EPIPE, not raise SIGPIPE and kill
// the whole test binary. SIGPIPE is thread-directed, so the test's own threads keep it.
void BlockSigpipeOnThisThread();

}  // namespace mica::testing

namespace mica::testing {

// A certificate made with the OpenSSL API, for dates and extensions the openssl CLI of
// Debian 12 cannot set (a not_after in the past, a not_before in the future).
struct CertSpec {
  std::string cn = "test.example";
  std::string key = "ec";         // "rsa" (2048), "rsa3072", "ec" (P-256), "ec384", "ed25519"
  long long not_before = 0;       // Unix seconds; 0 = now - 1 day
  long long not_after = 0;        // Unix seconds; 0 = now + 30 days
  std::string eku;                // e.g. "serverAuth,codeSigning"
  std::string san;                // e.g. "DNS:a.example,IP:127.0.0.1"
  bool ca = false;
  // Issuer: empty = self-signed; otherwise the PEM certificate and PEM key of the issuer.
  std::string issuer_cert_pem, issuer_key_pem;
};

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;  // unencrypted PKCS#8
};

CertAndKey MakeCertificate(const CertSpec& spec);

}  // namespace mica::testing
