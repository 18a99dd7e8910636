// The plain-text part of STARTTLS dialogs, as a pure state machine over bytes so it can
// be tested without sockets. The TLS scanner sends TakeOutput() and feeds what it reads.
//
// Each protocol asks the server to switch to TLS and waits for its consent:
//   SMTP   RFC 3207: 220 greeting, EHLO (250, must list STARTTLS), STARTTLS -> 220
//   IMAP   RFC 2595 / RFC 9051 6.2.1: "* OK" greeting, "a1 STARTTLS" -> "a1 OK"
//   POP3   RFC 2595 section 4: "+OK" greeting, STLS -> "+OK"
//   FTP    RFC 4217 section 4: 220 greeting, AUTH TLS -> 234
//   LDAP   RFC 4511 section 4.14: ExtendedRequest 1.3.6.1.4.1.1466.20037 -> resultCode 0
//   XMPP   RFC 6120 section 5.4: stream header, features with <starttls/>, <proceed/>
//   PostgreSQL: SSLRequest (80877103) -> 'S'
// Every reply is capped (kMaxReply); a longer one fails the dialog.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "discover/tls_scan.h"

namespace mica::discover::internal {

class StartTlsDialog {
 public:
  static constexpr std::size_t kMaxReply = 16 * 1024;
  enum class State { kNeedMore, kReady, kFailed };

  // `host` names the server in the XMPP stream header.
  StartTlsDialog(StartTls protocol, std::string host);

  // Bytes to send now; empty when the dialog waits for the server.
  std::string TakeOutput();
  // Feeds bytes read from the server; after kReady the caller starts TLS.
  State Feed(std::string_view data);
  State state() const { return state_; }
  // Why the dialog failed, quoting the server's reply.
  const std::string& error() const { return error_; }

 private:
  // Looks at buffer_ for the reply the current stage waits for.
  State Evaluate();
  State Advance(std::string send_next);
  State Failed(std::string why);

  StartTls protocol_;
  std::string host_;
  int stage_ = 0;
  std::string buffer_, output_, error_;
  State state_ = State::kNeedMore;
};

}  // namespace mica::discover::internal
