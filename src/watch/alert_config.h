// The `[alert]` section of mica.toml: alert sinks and their routing rules
// (docs/ALERTS.md, docs/CONFIG.md "[alert]").
//
// ParseAlertConfig validates the whole section up front, reads secret files, and reports
// every mistake as a kInput error naming file:line:col, so a typo never silently drops
// alerts. The resulting values are plain data, safe to copy and share between threads.
// Secrets (webhook HMAC key, SMTP password) live in Secret, which wipes its buffer when
// destroyed and never appears in an error message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "core/error.h"
#include "core/time.h"
#include "store/events.h"

namespace mica::watch {

// A secret string wiped (OPENSSL_cleanse) when destroyed.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret& other) : value_(other.value_) {}
  Secret& operator=(const Secret& other);
  ~Secret();
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

enum class SinkType { kJsonl, kWebhook, kSyslog, kSmtp };
const char* SinkTypeName(SinkType t);

struct JsonlSettings {
  std::string path = "-";  // "-": standard output; otherwise a file appended to
};

struct WebhookSettings {
  std::string url;                            // http:// or https://
  Secret secret;                              // empty: no X-Mica-Signature header
  std::int64_t timeout_ms = 10'000;
  std::map<std::string, std::string> headers; // extra request headers
  std::string ca_file;                        // "" : the system CA store
};

enum class SyslogTransport { kUnix, kUdp, kTcp };

struct SyslogSettings {
  SyslogTransport transport = SyslogTransport::kUnix;
  std::string path = "/dev/log";  // kUnix: a datagram socket
  std::string host;               // kUdp / kTcp
  int port = 514;
  int facility = 4;               // RFC 5424 section 6.2.1 code; 4 = auth
  std::string app_name = "mica";
  std::string hostname;           // "" : gethostname() when the sink is made
  std::int64_t timeout_ms = 5'000;
};

enum class StartTls { kRequired, kOptional };

struct SmtpSettings {
  std::string url;                // smtp://host:port (STARTTLS) or smtps://host:port
  std::string from;
  std::vector<std::string> to;
  StartTls starttls = StartTls::kRequired;
  std::string ca_file;            // "" : the system CA store
  std::string username;
  Secret password;                // read from password_file
  std::int64_t timeout_ms = 30'000;
};

struct RetrySettings {
  std::int64_t initial_backoff = 30;      // seconds; doubles per failed attempt
  std::int64_t max_backoff = 3600;        // cap of the doubling
  std::int64_t give_up_after = 86'400;    // age of an alert after which a failure is final
};

// Which events a sink receives. Every non-empty list must match (AND across lists, OR
// within one list).
struct RoutingRule {
  std::string min_severity = "info";  // info < low < medium < high < critical
  std::vector<std::string> events;    // event-type globs (* and ?); empty: any
  std::vector<std::string> tags;      // identity tags; empty: any
  std::vector<std::string> owners;    // owner globs; empty: any
};

struct SinkConfig {
  std::string name;
  SinkType type = SinkType::kJsonl;
  JsonlSettings jsonl;
  WebhookSettings webhook;
  SyslogSettings syslog;
  SmtpSettings smtp;
  RetrySettings retry;
  std::int64_t digest_interval = 0;  // seconds; 0: one message per alert
  int batch = 500;                   // alerts taken from the outbox per RunOnce
  RoutingRule rule;
};

struct AlertConfig {
  std::vector<SinkConfig> sinks;
};

// Parses the `[alert]` table of `file`. Unknown keys, wrong types, bad values, duplicate
// sink names and unreadable secret files are kInput errors naming file:line:col.
[[nodiscard]] Result<AlertConfig> ParseAlertConfig(const toml::table& alert,
                                                   const std::string& file);

// 0 (info) .. 4 (critical); -1 for an unknown name.
int SeverityRank(std::string_view severity);

// The tags of the identities an event is about (before and after); supplied by whoever
// knows tags (the people module). An empty function knows no tags.
using TagLookup = std::function<std::vector<std::string>(const store::Event&)>;

// Whether `event` matches `rule` (tags through `tags`).
bool Matches(const RoutingRule& rule, const store::Event& event, const TagLookup& tags);

// The outbox route of a sink: nullopt when the rule rejects the event; otherwise "" for
// an immediate sink or the digest key (the owner, "unowned" when none) for a digest sink.
store::AlertRoute MakeRoute(const SinkConfig& sink, TagLookup tags);

}  // namespace mica::watch
