#include "watch/sinks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/encoding.h"
#include "fixtures.h"

namespace mica::watch {
namespace {

using nlohmann::json;

constexpr UnixSeconds kT0 = 1'700'000'000;  // Tue, 14 Nov 2023 22:13:20 UTC

store::AlertRow Alert(std::int64_t id, const std::string& type, const std::string& severity) {
  store::AlertRow a;
  a.id = id;
  a.event_id = id;
  a.sink = "s";
  a.idempotency_key = "mica-" + std::to_string(id) + "-k";
  a.created_at = kT0;
  a.event.id = id;
  a.event.at = kT0 - 60;
  a.event.type = type;
  a.event.severity = severity;
  a.event.location = "/etc/ssl/a.pem";
  a.event.after = "ab12";
  a.event.subject = "CN=a \"quoted\" ]x\\y";
  a.event.detail = "a new identity\nsecond line";
  a.event.audit_seq = id - 1;
  return a;
}

Outgoing Single(const store::AlertRow& a) {
  return Outgoing{"s", a.idempotency_key, "", kT0, {a}};
}

TEST(SyslogFormatTest, Rfc5424WithStructuredData) {
  SyslogSettings s;
  s.facility = 4;  // auth
  const std::string msg = FormatSyslog(s, "host1", "42", Single(Alert(7, "issuer_changed", "high")));
  // PRI = 4 * 8 + 3 (high -> err); VERSION 1; TIMESTAMP; HOSTNAME; APP-NAME; PROCID; MSGID.
  EXPECT_EQ(msg,
            "<35>1 2023-11-14T22:13:20Z host1 mica 42 issuer_changed [mica@32473 key=\"mica-7-k\" "
            "event_id=\"7\" at=\"2023-11-14T22:12:20Z\" type=\"issuer_changed\" severity=\"high\" "
            "location=\"/etc/ssl/a.pem\" after=\"ab12\" subject=\"CN=a \\\"quoted\\\" \\]x\\\\y\"] "
            "\xEF\xBB\xBF"
            "a new identity second line");
}

TEST(SyslogFormatTest, SeverityMapsToRfc5424Codes) {
  SyslogSettings s;
  s.facility = 16;  // local0
  auto pri = [&](const std::string& sev) {
    std::string m = FormatSyslog(s, "h", "-", Single(Alert(1, "t", sev)));
    return m.substr(0, m.find('>') + 1);
  };
  EXPECT_EQ(pri("critical"), "<130>");  // 16*8 + 2
  EXPECT_EQ(pri("high"), "<131>");
  EXPECT_EQ(pri("medium"), "<132>");
  EXPECT_EQ(pri("low"), "<133>");
  EXPECT_EQ(pri("info"), "<134>");
}

TEST(SyslogFormatTest, NilValuesAndDigest) {
  SyslogSettings s;
  Outgoing d{"s", "mica-digest-x", "ana@example.test", kT0,
             {Alert(1, "expiry_threshold", "low"), Alert(2, "expiry_threshold", "medium")}};
  const std::string m = FormatSyslog(s, "", "", d);
  EXPECT_EQ(m.rfind("<36>1 2023-11-14T22:13:20Z - mica - digest [mica@32473 key=\"mica-digest-x\" "
                    "owner=\"ana@example.test\" count=\"2\"] \xEF\xBB\xBF"
                    "2 events for ana@example.test:",
                    0),
            0u)
      << m;
  EXPECT_EQ(OctetCounted("abc"), "3 abc");
  EXPECT_EQ(OctetCounted(m).substr(0, std::to_string(m.size()).size() + 1),
            std::to_string(m.size()) + " ");
}

TEST(WebhookFormatTest, SignatureIsHmacSha256OfTheBody) {
  // RFC 4231 test case 2 through the header's form.
  EXPECT_EQ(WebhookSignature(Secret("Jefe"), "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookFormatTest, BodyCarriesKeyAndEvent) {
  const json j = json::parse(MessageJson(Single(Alert(7, "issuer_changed", "high"))));
  EXPECT_EQ(j["kind"], "alert");
  EXPECT_EQ(j["idempotency_key"], "mica-7-k");
  EXPECT_EQ(j["sink"], "s");
  EXPECT_EQ(j["sent_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["event"]["id"], 7);
  EXPECT_EQ(j["event"]["type"], "issuer_changed");
  EXPECT_EQ(j["event"]["at"], "2023-11-14T22:12:20Z");
  EXPECT_EQ(j["event"]["subject"], "CN=a \"quoted\" ]x\\y");
  Outgoing d{"s", "k", "ana", kT0, {Alert(1, "a", "low"), Alert(2, "b", "low")}};
  const json dj = json::parse(MessageJson(d));
  EXPECT_EQ(dj["kind"], "digest");
  EXPECT_EQ(dj["owner"], "ana");
  ASSERT_EQ(dj["alerts"].size(), 2u);
  EXPECT_EQ(dj["alerts"][1]["idempotency_key"], "mica-2-k");
  EXPECT_EQ(dj["alerts"][1]["event"]["type"], "b");
}

TEST(WebhookFormatTest, InvalidUtf8IsReplacedNotFatal) {
  auto a = Alert(1, "t", "low");
  a.event.subject = "CN=\xff\xfe";
  const std::string body = MessageJson(Single(a));
  EXPECT_TRUE(json::accept(body));
}

TEST(WebhookFormatTest, DigestKeyIgnoresOrder) {
  auto a = Alert(1, "t", "low"), b = Alert(2, "t", "low"), c = Alert(3, "t", "low");
  EXPECT_EQ(DigestIdempotencyKey({a, b}), DigestIdempotencyKey({b, a}));
  EXPECT_NE(DigestIdempotencyKey({a, b}), DigestIdempotencyKey({a, c}));
  EXPECT_EQ(DigestIdempotencyKey({a}).rfind("mica-digest-", 0), 0u);
}

TEST(EmailFormatTest, HeadersAndBody) {
  EXPECT_EQ(Rfc5322Date(kT0), "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(Rfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  SmtpSettings s;
  s.from = "mica@example.test";
  s.to = {"a@example.test", "b@example.test"};
  auto a = Alert(7, "issuer_changed", "high");
  a.event.location = "tls://h:443\r\nBcc: evil@example.test";
  const std::string m = FormatEmail(s, Single(a));
  EXPECT_EQ(m.rfind("From: mica@example.test\r\nTo: a@example.test, b@example.test\r\n", 0), 0u);
  // A line break inside an event field cannot start a new header.
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(m.find("Message-ID: <mica-7-k@mica.invalid>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\n\r\nhigh issuer_changed at tls://h:443  Bcc: evil@example.test\r\n"),
            std::string::npos);
  // Non-ASCII subjects are RFC 2047 encoded-words.
  a.event.location = "/srv/zertifikat-\xc3\xa4.pem";
  const std::string u = FormatEmail(s, Single(a));
  EXPECT_NE(u.find("Subject: =?utf-8?B?"), std::string::npos);
}

TEST(JsonlSinkTest, AppendsOneLinePerMessage) {
  mica::testing::TempDir dir;
  SinkConfig c;
  c.name = "file";
  c.type = SinkType::kJsonl;
  c.jsonl.path = dir / "alerts.jsonl";
  auto sink = MakeSink(c);
  ASSERT_TRUE(sink);
  ASSERT_TRUE((*sink)->Send(Single(Alert(1, "a", "low"))));
  ASSERT_TRUE((*sink)->Send(Single(Alert(2, "b", "low"))));
  std::ifstream in(c.jsonl.path);
  std::string line;
  std::vector<json> lines;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["event"]["type"], "b");
}

TEST(JsonlSinkTest, UnwritablePathIsAnErrorNamingIt) {
  SinkConfig c;
  c.name = "file";
  c.jsonl.path = "/nonexistent-dir/alerts.jsonl";
  auto sink = MakeSink(c);
  ASSERT_TRUE(sink);
  auto s = (*sink)->Send(Single(Alert(1, "a", "low")));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("/nonexistent-dir/alerts.jsonl"), std::string::npos);
}

// A socket on 127.0.0.1 with a receive timeout, so a missing message fails the test
// instead of hanging it.
int LoopbackSocket(int type, int* port) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *port = ntohs(sa.sin_port);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

TEST(SyslogSinkTest, SendsOneDatagramOverUdp) {
  int port = 0;
  int fd = LoopbackSocket(SOCK_DGRAM, &port);
  SinkConfig c;
  c.name = "log";
  c.type = SinkType::kSyslog;
  c.syslog.transport = SyslogTransport::kUdp;
  c.syslog.host = "127.0.0.1";
  c.syslog.port = port;
  c.syslog.hostname = "testhost";
  auto sink = MakeSink(c);
  ASSERT_TRUE(sink);
  const Outgoing m = Single(Alert(3, "identity_removed", "medium"));
  ASSERT_TRUE((*sink)->Send(m));
  char buf[8192];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)),
            FormatSyslog(c.syslog, "testhost", std::to_string(::getpid()), m));
}

TEST(SyslogSinkTest, FramesWithOctetCountingOverTcp) {
  int port = 0;
  int lfd = LoopbackSocket(SOCK_STREAM, &port);
  ASSERT_EQ(::listen(lfd, 4), 0);
  SinkConfig c;
  c.name = "log";
  c.type = SinkType::kSyslog;
  c.syslog.transport = SyslogTransport::kTcp;
  c.syslog.host = "127.0.0.1";
  c.syslog.port = port;
  c.syslog.hostname = "h";
  auto sink = MakeSink(c);
  ASSERT_TRUE(sink);
  const Outgoing a = Single(Alert(1, "a", "low")), b = Single(Alert(2, "b", "low"));
  ASSERT_TRUE((*sink)->Send(a));
  ASSERT_TRUE((*sink)->Send(b));  // the same connection
  int cfd = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(cfd, 0);
  timeval tv{5, 0};
  ::setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string pid = std::to_string(::getpid());
  const std::string want = OctetCounted(FormatSyslog(c.syslog, "h", pid, a)) +
                           OctetCounted(FormatSyslog(c.syslog, "h", pid, b));
  std::string got;
  char buf[4096];
  while (got.size() < want.size()) {
    ssize_t n = ::recv(cfd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(cfd);
  ::close(lfd);
  EXPECT_EQ(got, want);
}

TEST(SyslogSinkTest, RefusedTcpIsAnErrorNamingTheSink) {
  int port = 0;
  int fd = LoopbackSocket(SOCK_STREAM, &port);
  ::close(fd);  // nobody listens there now
  SinkConfig c;
  c.name = "collector";
  c.type = SinkType::kSyslog;
  c.syslog.transport = SyslogTransport::kTcp;
  c.syslog.host = "127.0.0.1";
  c.syslog.port = port;
  auto sink = MakeSink(c);
  ASSERT_TRUE(sink);
  auto s = (*sink)->Send(Single(Alert(1, "a", "low")));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("syslog collector: 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << s.error().message;
}

TEST(WebhookSinkTest, RefusedConnectionIsAnErrorWithoutTheSecret) {
  int port = 0;
  int fd = LoopbackSocket(SOCK_STREAM, &port);
  ::close(fd);
  SinkConfig c;
  c.name = "hook";
  c.type = SinkType::kWebhook;
  c.webhook.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  c.webhook.secret = Secret("hunter2-secret");
  c.webhook.timeout_ms = 2000;
  auto sink = MakeSink(c);
  ASSERT_TRUE(sink);
  auto s = (*sink)->Send(Single(Alert(1, "a", "low")));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message.rfind("webhook hook: ", 0), 0u) << s.error().message;
  EXPECT_EQ(s.error().message.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace mica::watch
