// Network discovery: TLS handshakes with many endpoints at once, recording what each
// one presents.
//
// Engine (docs/TLS.md): one epoll event loop per thread (default one thread), non-blocking
// sockets and non-blocking OpenSSL over each socket; never a thread per connection.
// Every connection has one deadline at a time (connect, then handshake) in a timer heap,
// so a silent, slow or trickling peer never holds a slot past its timeout, and the whole
// scan ends within (endpoints / concurrency) x (per-endpoint worst case). Bytes read per
// handshake are capped. Names are resolved by a small pool of getaddrinfo threads.
//
// Results: every endpoint becomes one store::Observation (kind kTlsEndpoint, host =
// address or name, port, SNI) with EndpointFacts, and the presented chain as identities at
// positions "chain:0" (leaf), "chain:1", ... . A failed endpoint is an observation too,
// with its failure class; nothing about one endpoint stops the scan.
//
// Thread-safety: ScanTls is reentrant. The sink is called from the calling thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "discover/targets.h"
#include "store/store.h"

namespace mica::discover {

// STARTTLS protocols (RFC 3207 SMTP, RFC 2595 IMAP/POP3, RFC 4217 FTP, RFC 4511 section
// 4.14 LDAP, RFC 6120 section 5 XMPP, PostgreSQL SSLRequest).
enum class StartTls { kAuto, kNone, kSmtp, kImap, kPop3, kFtp, kLdap, kXmpp, kPostgres };
[[nodiscard]] Result<StartTls> ParseStartTls(std::string_view name);
const char* StartTlsName(StartTls p);  // "smtp", ..., "" for kNone
// What kAuto uses on `port`: 25/587 smtp, 143 imap, 110 pop3, 21 ftp, 389 ldap, 5222 xmpp,
// 5432 postgres, otherwise none.
StartTls StartTlsForPort(int port);

struct TlsScanOptions {
  int concurrency = 512;              // connections in flight (all threads together)
  double rate = 0;                    // new connections per second; 0 = unlimited
  std::int64_t connect_timeout_ms = 3000;
  std::int64_t handshake_timeout_ms = 5000;  // from TCP connected, STARTTLS included
  int retries = 1;                    // extra attempts after connect_timeout or reset
  StartTls starttls = StartTls::kAuto;
  bool probe_versions = false;        // one more handshake per TLS 1.0 .. 1.3
  std::string ca_file;                // extra trust anchors beside the system store
  std::size_t max_handshake_bytes = 512 * 1024;  // a peer sending more is cut off: "oversized"
  int threads = 1;                    // event loops; 0 = one per core
  int resolver_threads = 4;
  const ExcludeList* exclude = nullptr;  // checked again after resolving names
  std::size_t batch = 256;            // observations handed to the sink at a time
};

// Failure classes, as stored (docs/TLS.md); "tls_alert:<name>" adds the alert's name.
inline constexpr const char* kFailureClasses[] = {
    "refused", "connect_timeout", "handshake_timeout", "reset", "not_tls", "tls_alert",
    "dns_failure", "starttls_failed", "oversized", "excluded", "other"};

// Live counters, readable from another thread for progress display.
struct TlsScanProgress {
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> handshakes{0};  // every TLS attempt, probes included
  // Failures by class (the part before ':'), guarded by mu.
  std::mutex mu;
  std::map<std::string, std::uint64_t> failures;
};

struct TlsScanStats {
  std::uint64_t endpoints = 0, ok = 0, failed = 0, certificates = 0;
};

// Receives batches of results in the calling thread. An error stops the scan and is returned.
using TlsScanSink = std::function<Status(std::vector<store::Observation>&& observations,
                                         std::vector<store::ScanError>&& errors)>;

// Scans every endpoint `targets` yields. Returns the totals, or an error that kept the
// scan from running (bad --ca-file, no event loop) or the sink's first error. `cancel`,
// set by another thread (SIGINT), stops starting new connections; those in flight finish
// or time out, and everything handed to the sink stays.
[[nodiscard]] Result<TlsScanStats> ScanTls(TargetStream& targets, const TlsScanOptions& options,
                                           const TlsScanSink& sink,
                                           TlsScanProgress* progress = nullptr,
                                           const std::atomic<bool>* cancel = nullptr);

}  // namespace mica::discover
