// End-to-end: `mica alerts send | list` against real receivers on 127.0.0.1 (a webhook
// receiver that is down and then returns, an SMTP server requiring STARTTLS, a UDP
// syslog collector, a JSON-lines file). Time moves through `--at`, never by sleeping.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "mica_run.h"
#include "peers.h"
#include "receivers.h"
#include "store/store.h"

namespace mica::testing {
namespace {

using nlohmann::json;

std::string At(long long t) {
  char buf[32];
  const time_t tt = static_cast<time_t>(t);
  tm parts{};
  ::gmtime_r(&tt, &parts);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buf;
}

std::string HexHmac(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 15]);
  }
  return hex;
}

constexpr long long kT0 = 1'900'000'800;  // a multiple of 3600: an hour boundary
constexpr const char* kSecret = "hunter2-webhook-secret";

class AlertsTest : public ::testing::Test {
 protected:
  MicaRun Mica(const std::string& args) {
    MicaRun r = RunMica(db_, "--config '" + config_ + "' " + args, dir_ / "stderr.txt");
    // The secrets never reach the output or a log line.
    EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
    return r;
  }
  json ListJson(const std::string& flags = "") {
    MicaRun r = Mica("alerts list --json " + flags);
    EXPECT_EQ(r.status, 0) << r.err;
    json doc = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(doc.is_object() && doc.contains("alerts")) << r.out;
    return doc.is_object() ? doc["alerts"] : json();
  }

  // Records `n` events (types and owners cycle) through the store API.
  void AddEvents(int n, const std::vector<std::string>& owners = {""}) {
    auto store = store::Store::Open(db_);
    ASSERT_TRUE(store) << store.error().message;
    static const char* kTypes[] = {"identity_added", "issuer_changed", "identity_removed",
                                   "private_key_exposed", "expiry_threshold"};
    static const char* kSeverities[] = {"info", "high", "low", "critical", "medium"};
    std::vector<store::Event> events;
    for (int i = 0; i < n; ++i) {
      store::Event e;
      e.at = kT0 - 60;
      e.type = kTypes[i % 5];
      e.severity = kSeverities[i % 5];
      e.location = "/srv/www/cert" + std::to_string(next_) + ".pem";
      e.after = "fp" + std::to_string(next_);
      e.owner = owners[static_cast<std::size_t>(i) % owners.size()];
      e.detail = std::string(kTypes[i % 5]) + " at " + e.location;
      ++next_;
      events.push_back(e);
    }
    auto ids = (*store)->AppendEvents(events);
    ASSERT_TRUE(ids) << ids.error().message;
    ASSERT_EQ(ids->size(), static_cast<std::size_t>(n));
  }

  void WriteConfig(const std::string& sinks) { WriteFile(config_, sinks); }

  TempDir dir_;
  std::string db_ = dir_ / "mica.db";
  std::string config_ = dir_ / "mica.toml";
  int next_ = 0;
};

TEST_F(AlertsTest, WebhookDownThenBackDeliversEveryAlertOnceWithValidSignatures) {
  AddEvents(5);
  WriteFile(dir_ / "hook.secret", std::string(kSecret) + "\n");
  const int port = FreePort();  // nothing listens there yet: the receiver is down
  WriteConfig("[[alert.sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" +
              std::to_string(port) + "/mica\"\nsecret_file = \"" + (dir_ / "hook.secret") +
              "\"\ntimeout = \"5s\"\ninitial_backoff = \"1m\"\nmax_backoff = \"10m\"\n"
              "give_up_after = \"7d\"\nheaders = { \"X-Team\" = \"pki\" }\n");

  MicaRun down = Mica("alerts send --at " + At(kT0));
  EXPECT_EQ(down.status, 1) << down.out << down.err;
  EXPECT_NE(down.out.find("hook: routed 5, delivered 0 (0 messages), retried 1, gave up 0, deferred 4"),
            std::string::npos)
      << down.out;
  json pending = ListJson("--pending");
  ASSERT_EQ(pending.size(), 5u);
  EXPECT_EQ(pending[0]["attempts"], 1);
  EXPECT_NE(pending[0]["last_error"].get<std::string>().find("webhook hook:"), std::string::npos);
  EXPECT_EQ(pending[1]["attempts"], 0);

  // The receiver comes back, but answers 503 twice more before it recovers.
  WebhookReceiver receiver(port);
  receiver.FailNext(2, 503);
  long long t = kT0;
  int status = 1;
  for (int round = 0; round < 10 && status != 0; ++round) {
    t += 15 * 60;  // past the largest backoff (10 min)
    MicaRun r = Mica("alerts send --at " + At(t));
    status = r.status;
  }
  ASSERT_EQ(status, 0);

  const auto requests = receiver.Requests();
  std::map<std::string, int> accepted;
  int refused = 0;
  std::set<std::string> event_types;
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/mica");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_EQ(r.headers.at("x-team"), "pki");
    // The receiver's side of the signature check (docs/ALERTS.md "Verifying").
    EXPECT_EQ(r.headers.at("x-mica-signature"), "sha256=" + HexHmac(kSecret, r.body));
    const json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(r.headers.at("idempotency-key"), body["idempotency_key"]);
    EXPECT_EQ(std::stoll(r.headers.at("x-mica-timestamp")) % 60, 0);
    EXPECT_EQ(body["sent_at"], At(std::stoll(r.headers.at("x-mica-timestamp"))));
    if (r.status == 200) {
      ++accepted[r.headers.at("idempotency-key")];
      event_types.insert(body["event"]["type"].get<std::string>());
    } else {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 2);
  // Every alert arrived, and no idempotency key was accepted twice.
  EXPECT_EQ(accepted.size(), 5u);
  for (const auto& [key, n] : accepted) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(event_types.size(), 5u);

  json all = ListJson();
  ASSERT_EQ(all.size(), 5u);
  for (const auto& a : all) {
    EXPECT_EQ(a["status"], "delivered");
    EXPECT_EQ(accepted.count(a["idempotency_key"].get<std::string>()), 1u);
  }
  // Nothing is due: another round sends nothing and succeeds.
  MicaRun again = Mica("alerts send --at " + At(t + 3600));
  EXPECT_EQ(again.status, 0);
  EXPECT_EQ(receiver.Requests().size(), requests.size());

  // New events go out on the next round, once.
  AddEvents(2);
  MicaRun more = Mica("alerts send --json --at " + At(t + 7200));
  EXPECT_EQ(more.status, 0) << more.err;
  const json summary = json::parse(more.out, nullptr, false);
  EXPECT_EQ(summary["all_delivered"], true);
  EXPECT_EQ(summary["sinks"][0]["routed"], 2);
  EXPECT_EQ(summary["sinks"][0]["delivered"], 2);
  EXPECT_EQ(receiver.Requests().size(), requests.size() + 2);
}

TEST_F(AlertsTest, AnAlertIsGivenUpAfterItsAge) {
  AddEvents(1);
  const int port = FreePort();
  WriteConfig("[[alert.sink]]\nname = \"dead\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" +
              std::to_string(port) + "/\"\ntimeout = \"2s\"\ngive_up_after = \"1h\"\n");
  EXPECT_EQ(Mica("alerts send --at " + At(kT0)).status, 1);
  MicaRun late = Mica("alerts send --at " + At(kT0 + 7200));
  EXPECT_EQ(late.status, 1);
  EXPECT_NE(late.out.find("gave up 1"), std::string::npos) << late.out;
  json all = ListJson("--sink dead");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["status"], "gave_up");
  EXPECT_EQ(all[0]["attempts"], 2);
  EXPECT_TRUE(ListJson("--pending").empty());
  // A given-up alert is never tried again.
  EXPECT_EQ(Mica("alerts send --at " + At(kT0 + 90000)).status, 0);
  MicaRun table = Mica("alerts list");
  EXPECT_NE(table.out.find("gave_up"), std::string::npos) << table.out;
}

TEST_F(AlertsTest, SmtpWithStartTlsDeliversOneMessagePerAlert) {
  AddEvents(3);
  CertSpec spec;
  spec.cn = "127.0.0.1";
  spec.san = "IP:127.0.0.1";
  auto cert = MakeCertificate(spec);
  WriteFile(dir_ / "smtp.crt", cert.cert_pem);
  WriteFile(dir_ / "smtp.key", cert.key_pem);
  WriteFile(dir_ / "smtp.pw", "hunter2-smtp\n");
  SmtpReceiver smtp(dir_ / "smtp.crt", dir_ / "smtp.key");
  WriteConfig("[[alert.sink]]\nname = \"mail\"\ntype = \"smtp\"\nurl = \"smtp://127.0.0.1:" +
              std::to_string(smtp.port()) + "\"\nfrom = \"mica@example.test\"\n"
              "to = [\"pki@example.test\", \"ops@example.test\"]\nca_file = \"" +
              (dir_ / "smtp.crt") + "\"\ntimeout = \"10s\"\n");
  MicaRun r = Mica("alerts send --at " + At(kT0));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto messages = smtp.Messages();
  ASSERT_EQ(messages.size(), 3u);
  json all = ListJson();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    EXPECT_TRUE(m.tls);
    EXPECT_EQ(m.mail_from.rfind("<mica@example.test>", 0), 0u) << m.mail_from;
    EXPECT_EQ(m.rcpt_to, (std::vector<std::string>{"<pki@example.test>", "<ops@example.test>"}));
    EXPECT_NE(m.data.find("Message-ID: <" + all[i]["idempotency_key"].get<std::string>() +
                          "@mica.invalid>"),
              std::string::npos)
        << m.data;
    EXPECT_NE(m.data.find("Subject: [mica] "), std::string::npos);
  }
  EXPECT_NE(messages[1].data.find("high issuer_changed at /srv/www/cert1.pem"), std::string::npos)
      << messages[1].data;
}

TEST_F(AlertsTest, SmtpDigestSendsOneMessagePerOwnerPerInterval) {
  AddEvents(4, {"ana@example.test", "bob@example.test"});
  CertSpec spec;
  spec.cn = "127.0.0.1";
  spec.san = "IP:127.0.0.1";
  auto cert = MakeCertificate(spec);
  WriteFile(dir_ / "smtp.crt", cert.cert_pem);
  WriteFile(dir_ / "smtp.key", cert.key_pem);
  SmtpReceiver smtp(dir_ / "smtp.crt", dir_ / "smtp.key");
  WriteConfig("[[alert.sink]]\nname = \"digest\"\ntype = \"smtp\"\nurl = \"smtp://127.0.0.1:" +
              std::to_string(smtp.port()) + "\"\nfrom = \"mica@example.test\"\n"
              "to = [\"pki@example.test\"]\nca_file = \"" + (dir_ / "smtp.crt") +
              "\"\ndigest = \"1h\"\n");
  // Inside the hour nothing goes out (and that is not a failure)...
  EXPECT_EQ(Mica("alerts send --at " + At(kT0 + 60)).status, 0);
  EXPECT_TRUE(smtp.Messages().empty());
  // ...when it ends, one message per owner.
  MicaRun r = Mica("alerts send --at " + At(kT0 + 3600));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto messages = smtp.Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_NE(messages[0].data.find("Subject: [mica] digest: 2 events for ana@example.test"),
            std::string::npos)
      << messages[0].data;
  EXPECT_NE(messages[1].data.find("Subject: [mica] digest: 2 events for bob@example.test"),
            std::string::npos);
  EXPECT_TRUE(ListJson("--pending").empty());
}

TEST_F(AlertsTest, SyslogOverUdpAndJsonLines) {
  AddEvents(3);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  WriteConfig("[[alert.sink]]\nname = \"collector\"\ntype = \"syslog\"\naddress = \"udp://127.0.0.1:" +
              std::to_string(ntohs(sa.sin_port)) +
              "\"\nfacility = \"local0\"\nhostname = \"mica-test\"\n"
              "[[alert.sink]]\nname = \"file\"\ntype = \"jsonl\"\npath = \"" +
              (dir_ / "alerts.jsonl") + "\"\nmin_severity = \"high\"\n");
  MicaRun r = Mica("alerts send --at " + At(kT0));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  std::vector<std::string> datagrams;
  char buf[8192];
  for (int i = 0; i < 3; ++i) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    datagrams.emplace_back(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  ASSERT_EQ(datagrams.size(), 3u);
  // <PRI>: local0 (16) * 8 + info (6) for identity_added; RFC 5424 version 1.
  EXPECT_EQ(datagrams[0].rfind("<134>1 " + At(kT0) + " mica-test mica ", 0), 0u) << datagrams[0];
  EXPECT_NE(datagrams[0].find(" identity_added [mica@32473 key=\"mica-1-"), std::string::npos);
  EXPECT_EQ(datagrams[1].rfind("<131>1 ", 0), 0u);  // high -> err (3)

  // The jsonl sink routed only the one high event (issuer_changed).
  std::ifstream in(dir_ / "alerts.jsonl");
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line, nullptr, false));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["event"]["type"], "issuer_changed");
  json file_alerts = ListJson("--sink file");
  EXPECT_EQ(file_alerts.size(), 1u);
}

TEST_F(AlertsTest, ConfigMistakesAreNamedAndNoSinksIsAUsageError) {
  AddEvents(1);
  WriteConfig("[store]\n");
  MicaRun none = Mica("alerts send");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("no alert sinks"), std::string::npos) << none.err;
  WriteConfig("[[alert.sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\n"
              "secret = \"hunter2-inline\"\ntimout = \"5s\"\n");
  MicaRun bad = Mica("alerts send");
  EXPECT_EQ(bad.status, 3);
  EXPECT_NE(bad.err.find(config_ + ":6:1: unknown setting 'timout' for a webhook sink"),
            std::string::npos)
      << bad.err;
  MicaRun at = Mica("alerts send --at yesterday");
  EXPECT_EQ(at.status, 2);
  MicaRun csv = Mica("alerts list --csv");
  EXPECT_EQ(csv.status, 0);
  EXPECT_EQ(csv.out.rfind("id,sink,status,attempts,next_attempt,event,severity,location,last_error,"
                          "idempotency_key\r\n",
                          0),
            0u)
      << csv.out;
}

}  // namespace
}  // namespace mica::testing
