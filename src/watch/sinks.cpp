#include "watch/sinks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <utility>

#include "core/encoding.h"
#include "core/unique_handle.h"

namespace mica::watch {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Formats

json EventJson(const store::Event& e) {
  return json{{"id", e.id},
              {"at", FormatRfc3339(e.at)},
              {"type", e.type},
              {"severity", e.severity},
              {"scan_id", e.scan_id},
              {"location_id", e.location_id},
              {"location", e.location},
              {"before", e.before},
              {"after", e.after},
              {"subject", e.subject},
              {"owner", e.owner},
              {"detail", e.detail},
              {"audit_seq", e.audit_seq}};
}

std::string MessageJson(const Outgoing& m) {
  json j{{"idempotency_key", m.idempotency_key},
         {"sink", m.sink},
         {"sent_at", FormatRfc3339(m.sent_at)}};
  if (m.digest_key.empty() && m.alerts.size() == 1) {
    j["kind"] = "alert";
    j["event"] = EventJson(m.alerts.front().event);
  } else {
    j["kind"] = "digest";
    j["owner"] = m.digest_key;
    json alerts = json::array();
    for (const auto& a : m.alerts)
      alerts.push_back({{"idempotency_key", a.idempotency_key}, {"event", EventJson(a.event)}});
    j["alerts"] = std::move(alerts);
  }
  // Invalid UTF-8 in an event (a subject from a hostile certificate) is replaced, never
  // a reason to fail the whole message.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string WebhookSignature(const Secret& secret, std::string_view body) {
  return "sha256=" + ToHex(HmacSha256(AsBytes(secret.value()), AsBytes(body)));
}

std::string DigestIdempotencyKey(const std::vector<store::AlertRow>& alerts) {
  std::vector<std::string> keys;
  for (const auto& a : alerts) keys.push_back(a.idempotency_key);
  std::sort(keys.begin(), keys.end());
  std::string joined;
  for (const auto& k : keys) {
    joined.append(k);
    joined.push_back('\n');
  }
  return "mica-digest-" + Sha256Hex(AsBytes(joined)).substr(0, 32);
}

namespace {

// RFC 5424 section 6.2.1 severities for mica's.
int SyslogSeverity(std::string_view severity) {
  if (severity == "critical") return 2;
  if (severity == "high") return 3;
  if (severity == "medium") return 4;
  if (severity == "low") return 5;
  if (severity == "info") return 6;
  return 4;
}

// PARAM-VALUE escaping, RFC 5424 section 6.3.3: '"', '\' and ']' take a backslash.
std::string SdEscape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    // A line break would end the message for receivers that split on it.
    out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  }
  return out;
}

// PRINTUSASCII (33..126) only, at most `max` characters; "-" when empty.
std::string Token(std::string_view v, std::size_t max) {
  std::string out;
  for (char c : v)
    if (c > 32 && c < 127 && out.size() < max) out.push_back(c);
  return out.empty() ? "-" : out;
}

std::string OneLine(std::string_view v) {
  std::string out(v);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

}  // namespace

std::string FormatSyslog(const SyslogSettings& settings, std::string_view hostname,
                         std::string_view procid, const Outgoing& m) {
  // Section 6: HEADER SP STRUCTURED-DATA [SP MSG].
  int worst = 0;
  for (const auto& a : m.alerts)
    worst = std::max(worst, std::max(0, SeverityRank(a.event.severity)));
  const bool single = m.digest_key.empty() && m.alerts.size() == 1;
  const std::string severity =
      single ? m.alerts.front().event.severity
             : std::string(std::array<const char*, 5>{"info", "low", "medium", "high",
                                                      "critical"}[static_cast<std::size_t>(worst)]);
  const int pri = settings.facility * 8 + SyslogSeverity(severity);
  std::string out = "<" + std::to_string(pri) + ">1 ";
  out.append(FormatRfc3339(m.sent_at)).append(" ");
  out.append(Token(hostname, 255)).append(" ");
  out.append(Token(settings.app_name, 48)).append(" ");
  out.append(Token(procid, 128)).append(" ");
  // SD-ID "mica@32473": 32473 is the enterprise number RFC 5612 reserves for
  // documentation; mica has none of its own (section 7.2.2 requires name@number).
  std::string msg;
  if (single) {
    const store::Event& e = m.alerts.front().event;
    out.append(Token(e.type, 32)).append(" [mica@32473");
    const std::pair<const char*, std::string> params[] = {
        {"key", m.idempotency_key}, {"event_id", std::to_string(e.id)},
        {"at", FormatRfc3339(e.at)}, {"type", e.type},
        {"severity", e.severity},   {"location", e.location},
        {"before", e.before},       {"after", e.after},
        {"subject", e.subject},     {"owner", e.owner}};
    for (const auto& [k, v] : params) {
      if (v.empty()) continue;
      out.append(" ").append(k).append("=\"").append(SdEscape(v)).append("\"");
    }
    out.append("]");
    msg = OneLine(e.detail.empty() ? e.type + " at " + e.location : e.detail);
  } else {
    out.append("digest [mica@32473 key=\"").append(SdEscape(m.idempotency_key));
    out.append("\" owner=\"").append(SdEscape(m.digest_key));
    out.append("\" count=\"").append(std::to_string(m.alerts.size())).append("\"]");
    msg = std::to_string(m.alerts.size()) + " events for " + m.digest_key + ":";
    for (const auto& a : m.alerts) {
      std::string item = " " + a.event.type + " at " + a.event.location + ";";
      if (msg.size() + item.size() > 4000) {
        msg.append(" ...");
        break;
      }
      msg.append(OneLine(item));
    }
  }
  // MSG-UTF8 starts with a BOM (section 6.4).
  out.append(" \xEF\xBB\xBF").append(msg);
  return out;
}

std::string OctetCounted(std::string_view syslog_message) {
  std::string out = std::to_string(syslog_message.size());
  out.push_back(' ');
  out.append(syslog_message);
  return out;
}

std::string Rfc5322Date(UnixSeconds t) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // FormatRfc3339 gives "YYYY-MM-DDTHH:MM:SSZ" without consulting the local time zone.
  const std::string iso = FormatRfc3339(t);
  std::int64_t days = t >= 0 ? t / 86'400 : (t - 86'399) / 86'400;
  const int weekday = static_cast<int>(((days % 7) + 7) % 7);  // 1970-01-01 was a Thursday
  const int month = std::stoi(iso.substr(5, 2));
  return std::string(kDays[weekday]) + ", " + iso.substr(8, 2) + " " + kMonths[month - 1] + " " +
         iso.substr(0, 4) + " " + iso.substr(11, 8) + " +0000";
}

namespace {

// RFC 2047 encoded-word (B) when the text is not plain printable ASCII.
std::string HeaderText(std::string_view text) {
  std::string clean = OneLine(text);
  if (clean.size() > 200) clean.resize(200);
  const bool ascii = std::all_of(clean.begin(), clean.end(),
                                 [](char c) { return c >= 32 && c < 127; });
  if (ascii) return clean;
  return "=?utf-8?B?" + Base64Encode(AsBytes(clean)) + "?=";
}

// Body lines are kept below RFC 5322's 998-octet limit.
void AppendLine(std::string& out, std::string_view line) {
  std::string l = OneLine(line);
  if (l.size() > 900) l = l.substr(0, 900) + "...";
  out.append(l).append("\r\n");
}

void AppendEvent(std::string& out, const store::Event& e) {
  AppendLine(out, e.severity + " " + e.type + " at " + e.location);
  if (!e.detail.empty()) AppendLine(out, "  " + e.detail);
  AppendLine(out, "  time: " + FormatRfc3339(e.at));
  if (!e.subject.empty()) AppendLine(out, "  subject: " + e.subject);
  if (!e.before.empty()) AppendLine(out, "  before: " + e.before);
  if (!e.after.empty()) AppendLine(out, "  after: " + e.after);
  if (!e.owner.empty()) AppendLine(out, "  owner: " + e.owner);
  AppendLine(out, "  event: " + std::to_string(e.id));
}

}  // namespace

std::string FormatEmail(const SmtpSettings& s, const Outgoing& m) {
  const bool single = m.digest_key.empty() && m.alerts.size() == 1;
  std::string subject;
  if (single) {
    const store::Event& e = m.alerts.front().event;
    subject = "[mica] " + e.severity + ": " + e.type + " at " + e.location;
  } else {
    subject = "[mica] digest: " + std::to_string(m.alerts.size()) + " events for " + m.digest_key;
  }
  std::string to;
  for (const auto& a : s.to) to.append(to.empty() ? "" : ", ").append(a);
  std::string out;
  out.append("From: ").append(s.from).append("\r\n");
  out.append("To: ").append(to).append("\r\n");
  out.append("Subject: ").append(HeaderText(subject)).append("\r\n");
  out.append("Date: ").append(Rfc5322Date(m.sent_at)).append("\r\n");
  // The receiver (or a human) can drop a second copy by Message-ID.
  out.append("Message-ID: <").append(m.idempotency_key).append("@mica.invalid>\r\n");
  out.append("X-Mica-Idempotency-Key: ").append(m.idempotency_key).append("\r\n");
  out.append("MIME-Version: 1.0\r\n");
  out.append("Content-Type: text/plain; charset=utf-8\r\n");
  out.append("Content-Transfer-Encoding: 8bit\r\n\r\n");
  if (!single)
    AppendLine(out, std::to_string(m.alerts.size()) + " events for " + m.digest_key + ":");
  for (const auto& a : m.alerts) {
    if (!single) out.append("\r\n");
    AppendEvent(out, a.event);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Sinks

namespace {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { Reset(); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Writes all of `data` to a stream socket within `deadline`.
Status WriteAll(int fd, std::string_view data, SteadyClock::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
    if (left <= 0) return Fail(ErrorCode::kIo, "timed out while sending");
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Fail(ErrorCode::kIo, Errno("poll"));
    if (r == 0) continue;
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return Fail(ErrorCode::kIo, Errno("send"));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// --- jsonl -----------------------------------------------------------------------------

class JsonlSink final : public Sink {
 public:
  explicit JsonlSink(const SinkConfig& c) : name_(c.name), path_(c.jsonl.path) {}

  Status Send(const Outgoing& m) override {
    int fd = STDOUT_FILENO;
    if (path_ != "-") {
      if (!file_.valid()) {
        int f = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (f < 0) return Fail(ErrorCode::kIo, "jsonl sink " + name_ + ": " + Errno(path_.c_str()));
        file_.Reset(f);
      }
      fd = file_.get();
    }
    std::string line = MessageJson(m);
    line.push_back('\n');
    std::size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(fd, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        file_.Reset();
        return Fail(ErrorCode::kIo, "jsonl sink " + name_ + ": " + Errno("write"));
      }
      done += static_cast<std::size_t>(n);
    }
    // Acknowledged only once the line is on disk; a pipe or terminal has nothing to sync.
    if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
      file_.Reset();
      return Fail(ErrorCode::kIo, "jsonl sink " + name_ + ": " + Errno("fsync"));
    }
    return {};
  }

 private:
  std::string name_, path_;
  UniqueFd file_;
};

// --- curl ------------------------------------------------------------------------------

using CurlPtr = Ptr<CURL, curl_easy_cleanup>;
using SlistPtr = Ptr<curl_slist, curl_slist_free_all>;

Status CurlGlobalInit() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = ::curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK)
    return Fail(ErrorCode::kInternal, std::string("libcurl: ") + ::curl_easy_strerror(rc));
  return {};
}

std::size_t DiscardBody(char*, std::size_t size, std::size_t n, void* seen) {
  // Read and drop the answer, but stop a receiver that streams forever.
  auto* total = static_cast<std::size_t*>(seen);
  *total += size * n;
  return *total > (1u << 20) ? 0 : size * n;
}

// Options every request shares: timeouts, no signals, no redirects, the protocols.
Status CommonOptions(CURL* c, std::int64_t timeout_ms, const char* protocols,
                     const std::string& ca_file, char* errbuf) {
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption o, auto v) {
    if (rc == CURLE_OK) rc = ::curl_easy_setopt(c, o, v);
  };
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  // Redirects are never followed: a 3xx is not an acknowledgement (docs/ALERTS.md).
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_PROTOCOLS_STR, protocols);
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_USERAGENT, "mica-alerts/" "1");
  if (!ca_file.empty()) set(CURLOPT_CAINFO, ca_file.c_str());
  if (rc != CURLE_OK)
    return Fail(ErrorCode::kInternal, std::string("libcurl setup: ") + ::curl_easy_strerror(rc));
  return {};
}

std::string CurlError(CURLcode rc, const char* errbuf) {
  return errbuf[0] != '\0' ? std::string(errbuf) : std::string(::curl_easy_strerror(rc));
}

class WebhookSink final : public Sink {
 public:
  explicit WebhookSink(const SinkConfig& c) : name_(c.name), w_(c.webhook) {}

  Status Send(const Outgoing& m) override {
    if (auto s = CurlGlobalInit(); !s) return s;
    // One handle per sink keeps the connection to the receiver alive between alerts.
    if (!curl_) curl_.reset(::curl_easy_init());
    if (!curl_) return Fail(ErrorCode::kInternal, "webhook " + name_ + ": curl_easy_init failed");
    CURL* c = curl_.get();
    ::curl_easy_reset(c);
    char errbuf[CURL_ERROR_SIZE] = {0};
    if (auto s = CommonOptions(c, w_.timeout_ms, "http,https", w_.ca_file, errbuf); !s)
      return Fail(s.error().code, "webhook " + name_ + ": " + s.error().message);

    const std::string body = MessageJson(m);
    SlistPtr headers;
    auto add = [&](const std::string& h) {
      curl_slist* n = ::curl_slist_append(headers.get(), h.c_str());
      if (n) {
        (void)headers.release();
        headers.reset(n);
      }
    };
    add("Content-Type: application/json");
    add("Idempotency-Key: " + m.idempotency_key);
    add("X-Mica-Timestamp: " + std::to_string(m.sent_at));
    if (!w_.secret.empty()) add("X-Mica-Signature: " + WebhookSignature(w_.secret, body));
    for (const auto& [k, v] : w_.headers) add(k + ": " + v);
    add("Expect:");  // no 100-continue round trip

    std::size_t seen = 0;
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption o, auto v) {
      if (rc == CURLE_OK) rc = ::curl_easy_setopt(c, o, v);
    };
    set(CURLOPT_URL, w_.url.c_str());
    set(CURLOPT_POST, 1L);
    set(CURLOPT_POSTFIELDS, body.c_str());
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    set(CURLOPT_HTTPHEADER, headers.get());
    set(CURLOPT_WRITEFUNCTION, &DiscardBody);
    set(CURLOPT_WRITEDATA, &seen);
    if (rc != CURLE_OK)
      return Fail(ErrorCode::kInternal, "webhook " + name_ + ": " + ::curl_easy_strerror(rc));
    rc = ::curl_easy_perform(c);
    if (rc != CURLE_OK)
      return Fail(ErrorCode::kIo, "webhook " + name_ + ": " + CurlError(rc, errbuf));
    long status = 0;
    ::curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return {};
    std::string why = "webhook " + name_ + ": HTTP " + std::to_string(status);
    if (status >= 300 && status < 400) why += " (redirects are not followed)";
    return Fail(ErrorCode::kIo, why);
  }

 private:
  std::string name_;
  WebhookSettings w_;
  CurlPtr curl_;
};

struct UploadSource {
  std::string_view data;
  std::size_t offset = 0;
};

std::size_t ReadUpload(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* src = static_cast<UploadSource*>(user);
  const std::size_t take = std::min(size * n, src->data.size() - src->offset);
  std::memcpy(buffer, src->data.data() + src->offset, take);
  src->offset += take;
  return take;
}

class SmtpSink final : public Sink {
 public:
  explicit SmtpSink(const SinkConfig& c) : name_(c.name), s_(c.smtp) {}

  Status Send(const Outgoing& m) override {
    if (auto s = CurlGlobalInit(); !s) return s;
    CurlPtr curl(::curl_easy_init());
    if (!curl) return Fail(ErrorCode::kInternal, "smtp " + name_ + ": curl_easy_init failed");
    CURL* c = curl.get();
    char errbuf[CURL_ERROR_SIZE] = {0};
    if (auto s = CommonOptions(c, s_.timeout_ms, "smtp,smtps", s_.ca_file, errbuf); !s)
      return Fail(s.error().code, "smtp " + name_ + ": " + s.error().message);
    const std::string message = FormatEmail(s_, m);
    UploadSource src{message};
    SlistPtr rcpt;
    for (const auto& to : s_.to) {
      curl_slist* n = ::curl_slist_append(rcpt.get(), ("<" + to + ">").c_str());
      if (n) {
        (void)rcpt.release();
        rcpt.reset(n);
      }
    }
    const std::string from = "<" + s_.from + ">";
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption o, auto v) {
      if (rc == CURLE_OK) rc = ::curl_easy_setopt(c, o, v);
    };
    set(CURLOPT_URL, s_.url.c_str());
    // RFC 3207: with "required" a server without STARTTLS is an error, never plain text.
    set(CURLOPT_USE_SSL, s_.starttls == StartTls::kRequired ? static_cast<long>(CURLUSESSL_ALL)
                                                            : static_cast<long>(CURLUSESSL_TRY));
    set(CURLOPT_MAIL_FROM, from.c_str());
    set(CURLOPT_MAIL_RCPT, rcpt.get());
    set(CURLOPT_UPLOAD, 1L);
    set(CURLOPT_READFUNCTION, &ReadUpload);
    set(CURLOPT_READDATA, &src);
    set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    if (!s_.username.empty()) {
      set(CURLOPT_USERNAME, s_.username.c_str());
      set(CURLOPT_PASSWORD, s_.password.value().c_str());
    }
    if (rc != CURLE_OK)
      return Fail(ErrorCode::kInternal, "smtp " + name_ + ": " + ::curl_easy_strerror(rc));
    rc = ::curl_easy_perform(c);
    if (rc != CURLE_OK) return Fail(ErrorCode::kIo, "smtp " + name_ + ": " + CurlError(rc, errbuf));
    return {};
  }

 private:
  std::string name_;
  SmtpSettings s_;
};

// --- syslog ----------------------------------------------------------------------------

class SyslogSink final : public Sink {
 public:
  explicit SyslogSink(const SinkConfig& c) : name_(c.name), s_(c.syslog) {
    hostname_ = s_.hostname;
    if (hostname_.empty()) {
      char buf[256] = {0};
      if (::gethostname(buf, sizeof buf - 1) == 0) hostname_ = buf;
    }
    procid_ = std::to_string(::getpid());
  }

  Status Send(const Outgoing& m) override {
    const std::string msg = FormatSyslog(s_, hostname_, procid_, m);
    Status st = SendOnce(msg);
    if (!st) return Fail(st.error().code, "syslog " + name_ + ": " + st.error().message);
    return {};
  }

 private:
  Status SendOnce(const std::string& msg) {
    const auto deadline = SteadyClock::now() + Ms(s_.timeout_ms);
    switch (s_.transport) {
      case SyslogTransport::kUnix: {
        UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!fd.valid()) return Fail(ErrorCode::kIo, Errno("socket"));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        if (s_.path.size() >= sizeof sa.sun_path)
          return Fail(ErrorCode::kInput, "socket path too long");
        std::memcpy(sa.sun_path, s_.path.c_str(), s_.path.size());
        timeval tv{static_cast<time_t>(s_.timeout_ms / 1000),
                   static_cast<suseconds_t>((s_.timeout_ms % 1000) * 1000)};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (::sendto(fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL,
                     reinterpret_cast<sockaddr*>(&sa), sizeof sa) != static_cast<ssize_t>(msg.size()))
          return Fail(ErrorCode::kIo, Errno(s_.path.c_str()));
        return {};
      }
      case SyslogTransport::kUdp: {
        // RFC 5426: one message per datagram.
        auto fd = Connect(SOCK_DGRAM, deadline);
        if (!fd) return tl::unexpected(fd.error());
        if (::send(fd->get(), msg.data(), msg.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(msg.size()))
          return Fail(ErrorCode::kIo, Errno("send"));
        return {};
      }
      case SyslogTransport::kTcp: {
        // A kept connection that the collector closed shows as readable (EOF); drop it
        // before writing, or the write would vanish into a dead socket.
        if (tcp_.valid()) {
          pollfd p{tcp_.get(), POLLIN, 0};
          if (::poll(&p, 1, 0) != 0) tcp_.Reset();
        }
        if (!tcp_.valid()) {
          auto fd = Connect(SOCK_STREAM, deadline);
          if (!fd) return tl::unexpected(fd.error());
          tcp_ = std::move(*fd);
        }
        // RFC 6587 section 3.4.1 octet counting.
        if (auto s = WriteAll(tcp_.get(), OctetCounted(msg), deadline); !s) {
          tcp_.Reset();
          return s;
        }
        return {};
      }
    }
    return Fail(ErrorCode::kInternal, "unknown transport");
  }

  // A non-blocking socket connected to host:port within `deadline`.
  Result<UniqueFd> Connect(int type, SteadyClock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(s_.port);
    // The system resolver's own timeout (resolv.conf) bounds this call.
    if (int rc = ::getaddrinfo(s_.host.c_str(), port.c_str(), &hints, &res); rc != 0)
      return Fail(ErrorCode::kIo, s_.host + ": " + ::gai_strerror(rc));
    Ptr<addrinfo, freeaddrinfo> owner(res);
    std::string last = "no address";
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (!fd.valid()) {
        last = Errno("socket");
        continue;
      }
      if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) return fd;
      if (errno != EINPROGRESS) {
        last = Errno("connect");
        continue;
      }
      const auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
      pollfd p{fd.get(), POLLOUT, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
        last = "connect timed out";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = std::string("connect: ") + std::strerror(err);
        continue;
      }
      return fd;
    }
    return Fail(ErrorCode::kIo, s_.host + ":" + port + ": " + last);
  }

  std::string name_;
  SyslogSettings s_;
  std::string hostname_, procid_;
  UniqueFd tcp_;
};

}  // namespace

Result<std::unique_ptr<Sink>> MakeSink(const SinkConfig& config) {
  switch (config.type) {
    case SinkType::kJsonl: return std::make_unique<JsonlSink>(config);
    case SinkType::kWebhook:
    case SinkType::kSmtp: {
      if (auto s = CurlGlobalInit(); !s) return tl::unexpected(s.error());
      if (config.type == SinkType::kWebhook) return std::make_unique<WebhookSink>(config);
      return std::make_unique<SmtpSink>(config);
    }
    case SinkType::kSyslog: return std::make_unique<SyslogSink>(config);
  }
  return Fail(ErrorCode::kInternal, "unknown sink type");
}

}  // namespace mica::watch
