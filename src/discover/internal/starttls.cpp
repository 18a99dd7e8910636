#include "discover/internal/starttls.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace mica::discover::internal {

namespace {

// The LDAP StartTLS ExtendedRequest, message id 1 (RFC 4511 section 4.12):
// SEQUENCE { INTEGER 1, [APPLICATION 23] { [0] "1.3.6.1.4.1.1466.20037" } }
constexpr char kLdapStartTls[] =
    "\x30\x1d\x02\x01\x01\x77\x18\x80\x16"
    "1.3.6.1.4.1.1466.20037";
// PostgreSQL SSLRequest: length 8, code 80877103.
constexpr char kPgSslRequest[] = "\x00\x00\x00\x08\x04\xd2\x16\x2f";

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    if (c == '\r') continue;
    out += (c == '\n') ? ' ' : (std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A complete SMTP / FTP reply (RFC 5321 4.2.1): lines "NNN-text" then "NNN text". Returns
// the code, or nullopt while incomplete; `bad` is set when a line is not of that form.
std::optional<int> ReplyCode(std::string_view buf, bool* bad) {
  std::size_t pos = 0;
  while (true) {
    auto nl = buf.find('\n', pos);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view line = buf.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) ||
        !std::isdigit(static_cast<unsigned char>(line[2]))) {
      *bad = true;
      return std::nullopt;
    }
    if (line.size() == 3 || line[3] == ' ')
      return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    pos = nl + 1;
  }
}

// The first complete line, without CR LF; nullopt while incomplete.
std::optional<std::string_view> FirstLine(std::string_view buf) {
  auto nl = buf.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = buf.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// BER length at buf[*pos]; nullopt while incomplete, -1 when malformed.
std::optional<long> BerLength(std::string_view buf, std::size_t* pos) {
  if (*pos >= buf.size()) return std::nullopt;
  auto first = static_cast<unsigned char>(buf[(*pos)++]);
  if (first < 0x80) return first;
  int n = first & 0x7f;
  if (n == 0 || n > 3) return -1;
  long len = 0;
  for (int i = 0; i < n; ++i) {
    if (*pos >= buf.size()) return std::nullopt;
    len = (len << 8) | static_cast<unsigned char>(buf[(*pos)++]);
  }
  return len;
}

}  // namespace

StartTlsDialog::StartTlsDialog(StartTls protocol, std::string host)
    : protocol_(protocol), host_(std::move(host)) {
  // Protocols where the client speaks first.
  switch (protocol_) {
    case StartTls::kLdap:
      output_.assign(kLdapStartTls, sizeof kLdapStartTls - 1);
      break;
    case StartTls::kPostgres:
      output_.assign(kPgSslRequest, sizeof kPgSslRequest - 1);
      break;
    case StartTls::kXmpp:
      output_ = "<?xml version='1.0'?><stream:stream to='" + host_ +
                "' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                "version='1.0'>";
      break;
    default:
      break;
  }
}

std::string StartTlsDialog::TakeOutput() { return std::exchange(output_, std::string()); }

StartTlsDialog::State StartTlsDialog::Feed(std::string_view data) {
  if (state_ != State::kNeedMore) return state_;
  buffer_.append(data);
  state_ = Evaluate();
  if (state_ == State::kNeedMore && buffer_.size() > kMaxReply)
    return Failed("the server's reply exceeds " + std::to_string(kMaxReply) + " bytes");
  return state_;
}

StartTlsDialog::State StartTlsDialog::Advance(std::string send_next) {
  buffer_.clear();
  output_ += send_next;
  ++stage_;
  return State::kNeedMore;
}

StartTlsDialog::State StartTlsDialog::Failed(std::string why) {
  error_ = std::move(why);
  state_ = State::kFailed;
  return state_;
}

StartTlsDialog::State StartTlsDialog::Evaluate() {
  const char* name = StartTlsName(protocol_);
  switch (protocol_) {
    case StartTls::kSmtp:
    case StartTls::kFtp: {
      bool bad = false;
      auto code = ReplyCode(buffer_, &bad);
      if (bad) return Failed(std::string(name) + ": not a reply: '" + Printable(buffer_) + "'");
      if (!code) return State::kNeedMore;
      const bool smtp = protocol_ == StartTls::kSmtp;
      if (stage_ == 0) {
        if (*code != 220)
          return Failed(std::string(name) + ": greeting is not 220: '" + Printable(buffer_) + "'");
        return Advance(smtp ? "EHLO mica.invalid\r\n" : "AUTH TLS\r\n");
      }
      if (smtp && stage_ == 1) {
        if (*code != 250) return Failed("smtp: EHLO refused: '" + Printable(buffer_) + "'");
        if (Upper(buffer_).find("STARTTLS") == std::string::npos)
          return Failed("smtp: the server does not offer STARTTLS");
        return Advance("STARTTLS\r\n");
      }
      if (*code != (smtp ? 220 : 234))
        return Failed(std::string(name) + ": STARTTLS refused: '" + Printable(buffer_) + "'");
      return State::kReady;
    }
    case StartTls::kImap: {
      if (stage_ == 0) {
        auto line = FirstLine(buffer_);
        if (!line) return State::kNeedMore;
        if (line->rfind("* OK", 0) != 0 && line->rfind("* PREAUTH", 0) != 0)
          return Failed("imap: greeting is not '* OK': '" + Printable(*line) + "'");
        return Advance("a1 STARTTLS\r\n");
      }
      // Untagged lines ("* CAPABILITY ...") may come before the tagged reply.
      std::size_t pos = 0;
      for (;;) {
        auto line = FirstLine(std::string_view(buffer_).substr(pos));
        if (!line) return State::kNeedMore;
        if (line->rfind("a1 ", 0) == 0) {
          if (line->rfind("a1 OK", 0) == 0) return State::kReady;
          return Failed("imap: STARTTLS refused: '" + Printable(*line) + "'");
        }
        pos = buffer_.find('\n', pos) + 1;
      }
    }
    case StartTls::kPop3: {
      auto line = FirstLine(buffer_);
      if (!line) return State::kNeedMore;
      if (line->rfind("+OK", 0) != 0)
        return Failed(std::string("pop3: ") + (stage_ == 0 ? "greeting" : "STLS reply") +
                      " is not +OK: '" + Printable(*line) + "'");
      if (stage_ == 0) return Advance("STLS\r\n");
      return State::kReady;
    }
    case StartTls::kLdap: {
      // LDAPMessage ::= SEQUENCE { messageID, extendedResp [APPLICATION 24] { resultCode
      // ENUMERATED, ... } }
      std::size_t pos = 0;
      if (buffer_.empty()) return State::kNeedMore;
      if (static_cast<unsigned char>(buffer_[0]) != 0x30)
        return Failed("ldap: the reply is not an LDAP message");
      ++pos;
      auto len = BerLength(buffer_, &pos);
      if (!len) return State::kNeedMore;
      if (*len < 0) return Failed("ldap: malformed reply length");
      if (buffer_.size() < pos + static_cast<std::size_t>(*len)) return State::kNeedMore;
      // messageID INTEGER
      if (pos + 2 > buffer_.size() || buffer_[pos] != 0x02) return Failed("ldap: malformed reply");
      pos += 2 + static_cast<unsigned char>(buffer_[pos + 1]);
      if (pos >= buffer_.size() || static_cast<unsigned char>(buffer_[pos]) != 0x78)
        return Failed("ldap: the reply is not an ExtendedResponse");
      ++pos;
      auto inner = BerLength(buffer_, &pos);
      if (!inner || *inner < 0) return Failed("ldap: malformed ExtendedResponse");
      if (pos + 3 > buffer_.size() || buffer_[pos] != 0x0a || buffer_[pos + 1] != 0x01)
        return Failed("ldap: malformed resultCode");
      int rc = static_cast<unsigned char>(buffer_[pos + 2]);
      if (rc != 0) return Failed("ldap: StartTLS refused with resultCode " + std::to_string(rc));
      return State::kReady;
    }
    case StartTls::kXmpp: {
      if (stage_ == 0) {
        if (buffer_.find("</stream:features>") == std::string::npos &&
            buffer_.find("</features>") == std::string::npos) {
          if (buffer_.find("</stream:stream>") != std::string::npos)
            return Failed("xmpp: the server closed the stream: '" + Printable(buffer_) + "'");
          return State::kNeedMore;
        }
        if (buffer_.find("<starttls") == std::string::npos)
          return Failed("xmpp: the server does not offer STARTTLS");
        return Advance("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      }
      if (buffer_.find("<proceed") != std::string::npos) return State::kReady;
      if (buffer_.find("<failure") != std::string::npos)
        return Failed("xmpp: STARTTLS refused: '" + Printable(buffer_) + "'");
      return State::kNeedMore;
    }
    case StartTls::kPostgres: {
      if (buffer_.empty()) return State::kNeedMore;
      if (buffer_[0] == 'S') return State::kReady;
      if (buffer_[0] == 'N') return Failed("postgres: the server does not accept SSL (replied N)");
      return Failed("postgres: unexpected reply to SSLRequest: '" + Printable(buffer_) + "'");
    }
    case StartTls::kAuto:
    case StartTls::kNone:
      return State::kReady;
  }
  return State::kReady;
}

}  // namespace mica::discover::internal
