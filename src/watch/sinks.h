// Alert sinks: where an outbox message goes (docs/ALERTS.md "Sinks").
//
// A Sink sends one Outgoing message (a single alert, or a digest of several alerts of one
// owner) and returns OK only when the receiver acknowledged it: a 2xx answer (webhook),
// 250 after DATA (SMTP), the datagram or stream write accepted by the kernel (syslog,
// which has no application-level acknowledgement), or the line written and fsync'ed
// (jsonl). Every network operation has a timeout. Error messages name the sink and the
// reason and never carry a secret; they are stored in the outbox as they are.
//
// A Sink is not thread-safe (it keeps a connection between messages); use one per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/time.h"
#include "store/events.h"
#include "watch/alert_config.h"

namespace mica::watch {

// One message for one sink.
struct Outgoing {
  std::string sink;
  std::string idempotency_key;   // the alert's own key, or the digest's (DigestIdempotencyKey)
  std::string digest_key;        // the owner for a digest; "" for a single alert
  UnixSeconds sent_at = 0;
  std::vector<store::AlertRow> alerts;  // exactly one unless a digest
};

class Sink {
 public:
  virtual ~Sink() = default;
  [[nodiscard]] virtual Status Send(const Outgoing& message) = 0;
};

// Makes the sink `config` describes. Fails only on what cannot work at all (libcurl
// missing a protocol); unreachable receivers are reported by Send.
[[nodiscard]] Result<std::unique_ptr<Sink>> MakeSink(const SinkConfig& config);

// ---- Message formats (public for tests and for receivers' documentation) -------------

// An event as JSON (docs/ALERTS.md "Message body").
nlohmann::json EventJson(const store::Event& event);
// The webhook body and the jsonl line (without newline): one compact JSON document.
std::string MessageJson(const Outgoing& message);
// "sha256=" + lower-case hex HMAC-SHA256 of `body` keyed with `secret`.
std::string WebhookSignature(const Secret& secret, std::string_view body);
// The key of a digest message: a function of its alerts' keys, whatever their order.
std::string DigestIdempotencyKey(const std::vector<store::AlertRow>& alerts);

// RFC 5424 syslog message (no transport framing). `hostname` and `procid` are as sent
// ("-" is the nil value).
std::string FormatSyslog(const SyslogSettings& settings, std::string_view hostname,
                         std::string_view procid, const Outgoing& message);
// RFC 6587 section 3.4.1 octet counting: "<length> <message>".
std::string OctetCounted(std::string_view syslog_message);

// RFC 5322 message (CRLF line ends) for the SMTP sink.
std::string FormatEmail(const SmtpSettings& settings, const Outgoing& message);
// "Tue, 14 Nov 2023 22:13:20 +0000" (RFC 5322 section 3.3), in UTC.
std::string Rfc5322Date(UnixSeconds t);

}  // namespace mica::watch
