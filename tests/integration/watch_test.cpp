// End-to-end change detection, audit log and `mica watch` with real processes on
// loopback: an nginx endpoint that changes issuer between two scans, a private key that
// appears in a served directory, a certificate that vanishes, expiry thresholds crossed
// with the clock passed in, an audit entry tampered with in SQLite, and `mica watch`
// killed with SIGKILL 20 times while a webhook receiver collects its alerts.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "peers.h"
#include "receivers.h"

namespace mica::testing {
namespace {

using nlohmann::json;

class WatchTest : public ::testing::Test {
 protected:
  std::string MicaCmd(const std::string& args) const {
    return std::string(MICA_BINARY) + " --db '" + dir_ / "mica.db" + "' --config '" +
           dir_ / "mica.toml" + "' " + args;
  }
  json Mica(const std::string& args, int expect = 0) {
    int status = 0;
    std::string out = ShellOutput(MicaCmd(args) + " 2>'" + dir_ / "err.txt" + "' </dev/null", &status);
    EXPECT_EQ(status, expect) << args << "\n" << ReadFile(dir_ / "err.txt") << out;
    return json::parse(out, nullptr, false);
  }
  std::vector<json> Events(const std::string& type = "") {
    json j = Mica("events --json" + (type.empty() ? "" : " --type " + type));
    std::vector<json> out;
    for (const auto& e : j["events"]) out.push_back(e);
    return out;
  }
  CertAndKey Issued(const CertAndKey& ca, const std::string& cn, long long not_after = 0) {
    CertSpec s;
    s.cn = cn;
    s.san = "DNS:" + cn;
    s.issuer_cert_pem = ca.cert_pem;
    s.issuer_key_pem = ca.key_pem;
    if (not_after) {
      s.not_before = not_after - 90 * 86400LL;
      s.not_after = not_after;
    }
    return MakeCertificate(s);
  }
  static CertAndKey Ca(const std::string& cn) {
    CertSpec s;
    s.cn = cn;
    s.ca = true;
    return MakeCertificate(s);
  }
  void SetUp() override {
    WriteFile(dir_ / "mica.toml", "");
    std::filesystem::create_directories(dir_ / "www");
  }
  TempDir dir_;
};

bool HasNginx() {
  return Shell("command -v nginx >/dev/null 2>&1") == 0 || std::filesystem::exists("/usr/sbin/nginx");
}

TEST_F(WatchTest, NginxSwapsToAnotherIssuerBetweenTwoScans) {
  if (!HasNginx()) GTEST_SKIP() << "nginx is not installed (tools/install-deps.sh test installs it)";
  const auto ca1 = Ca("First Issuing CA"), ca2 = Ca("Interceptor CA");
  const int port = FreePort();
  auto serve = [&](const CertAndKey& leaf) {
    WriteFile(dir_ / "leaf.pem", leaf.cert_pem);
    WriteFile(dir_ / "leaf.key", leaf.key_pem);
    WriteFile(dir_ / "nginx.conf",
              "worker_processes 1; pid " + dir_ / "nginx.pid" + "; error_log " + dir_ / "error.log" +
                  ";\nevents { worker_connections 64; }\nhttp { access_log off; client_body_temp_path " +
                  dir_.path() + "; proxy_temp_path " + dir_.path() + "; fastcgi_temp_path " +
                  dir_.path() + "; uwsgi_temp_path " + dir_.path() + "; scgi_temp_path " +
                  dir_.path() + ";\nserver { listen 127.0.0.3:" + std::to_string(port) +
                  " ssl; server_name app.test; ssl_certificate " + dir_ / "leaf.pem" +
                  "; ssl_certificate_key " + dir_ / "leaf.key" + "; root " + dir_ / "www" +
                  "; }\n}\n");
    const std::string nginx = std::filesystem::exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
    return std::make_unique<Process>(nginx + " -p '" + dir_.path() + "' -c '" + dir_ / "nginx.conf" +
                                     "' -g 'daemon off;' 2>'" + dir_ / "nginx.err" + "'");
  };
  const std::string target = "127.0.0.3:" + std::to_string(port) + " --sni app.test";
  {
    auto server = serve(Issued(ca1, "app.test"));
    ASSERT_TRUE(WaitForPort(port, "127.0.0.3")) << ReadFile(dir_ / "nginx.err");
    Mica("scan tls -q " + target);
  }
  {
    auto server = serve(Issued(ca2, "app.test"));
    ASSERT_TRUE(WaitForPort(port, "127.0.0.3")) << ReadFile(dir_ / "nginx.err");
    Mica("scan tls -q " + target);
  }
  auto swapped = Events("issuer_changed");
  ASSERT_EQ(swapped.size(), 1u);
  EXPECT_EQ(swapped[0]["severity"], "high");
  EXPECT_NE(swapped[0]["location"].get<std::string>().find("tls://127.0.0.3:" + std::to_string(port)),
            std::string::npos);
  EXPECT_NE(swapped[0]["detail"].get<std::string>().find("Interceptor CA"), std::string::npos);
  EXPECT_NE(swapped[0]["detail"].get<std::string>().find("intercepted"), std::string::npos);
  // The swap is one change, so one event: issuer_changed, not also identity_replaced.
  EXPECT_TRUE(Events("identity_replaced").empty());
}

TEST_F(WatchTest, KeyInServedDirectoryAndVanishedCertificate) {
  const auto ca = Ca("Files CA");
  const auto leaf = Issued(ca, "files.test");
  WriteFile(dir_ / "www/site.pem", leaf.cert_pem);
  WriteFile(dir_ / "www/old.pem", Issued(ca, "old.test").cert_pem);
  Mica("scan fs -q '" + dir_ / "www" + "'");
  const auto baseline = Events();  // one event sums up the first scan
  ASSERT_EQ(baseline.size(), 1u);
  EXPECT_EQ(baseline[0]["type"], "scan_baseline");
  EXPECT_EQ(baseline[0]["severity"], "info");
  EXPECT_EQ(baseline[0]["detail"].get<std::string>().rfind("2 identity sightings at 2 new locations", 0), 0u)
      << baseline[0]["detail"];

  WriteFile(dir_ / "www/leaked.key", leaf.key_pem);
  std::filesystem::remove(dir_ / "www/old.pem");
  Mica("scan fs -q '" + dir_ / "www" + "'");
  auto added = Events("private_key_added");
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0]["severity"], "high");
  EXPECT_EQ(added[0]["location"], dir_ / "www/leaked.key");
  auto removed = Events("identity_removed");
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0]["location"], dir_ / "www/old.pem");
  // A third identical scan records nothing new.
  const auto before = Events().size();
  Mica("scan fs -q '" + dir_ / "www" + "'");
  EXPECT_EQ(Events().size(), before);
}

TEST_F(WatchTest, ExpiryThresholdsCrossedWithTheClockPassedIn) {
  const long long not_after = std::time(nullptr) + 365 * 86400LL;
  WriteFile(dir_ / "www/soon.pem", Issued(Ca("Expiry CA"), "soon.test", not_after).cert_pem);
  WriteFile(dir_ / "mica.toml", "[[watch.job]]\nname = \"expiry\"\nkind = \"expiry\"\nevery = \"1h\"\n");
  Mica("scan fs -q '" + dir_ / "www" + "'");
  auto at = [](long long t) {
    char buf[32];
    std::time_t tt = t;
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return std::string(buf);
  };
  Mica("watch --once --now " + at(not_after - 400 * 86400LL));
  EXPECT_TRUE(Events("expiry_threshold").empty());
  Mica("watch --once --now " + at(not_after - 20 * 86400LL));
  Mica("watch --once --now " + at(not_after - 19 * 86400LL));  // same crossing: no repeat
  auto warned = Events("expiry_threshold");
  ASSERT_EQ(warned.size(), 1u);
  EXPECT_EQ(warned[0]["severity"], "medium");
  Mica("watch --once --now " + at(not_after - 3 * 86400LL));
  Mica("watch --once --now " + at(not_after + 86400LL));
  EXPECT_EQ(Events("expiry_threshold").size(), 2u);
  auto expired = Events("certificate_expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0]["severity"], "critical");
}

TEST_F(WatchTest, AuditVerifyNamesTheEntryAlteredInSqlite) {
  WriteFile(dir_ / "www/a.pem", Issued(Ca("Audit CA"), "a.test").cert_pem);
  ASSERT_EQ(Shell("openssl genpkey -algorithm ed25519 -out '" + dir_ / "audit.key" + "'"), 0);
  WriteFile(dir_ / "mica.toml", "[audit]\nsigning_key = \"" + dir_ / "audit.key" + "\"\n");
  for (int i = 0; i < 5; ++i) {
    WriteFile(dir_ / ("www/k" + std::to_string(i) + ".pem"),
              Issued(Ca("Audit CA " + std::to_string(i)), "k.test").cert_pem);
    Mica("scan fs -q '" + dir_ / "www" + "'");
  }
  Mica("audit checkpoint");
  json ok = Mica("audit verify --json");
  EXPECT_TRUE(ok["ok"].get<bool>());
  EXPECT_EQ(ok["signatures_verified"], 1);
  json proof = Mica("audit proof 3");
  EXPECT_TRUE(proof["verified"].get<bool>());
  ASSERT_EQ(Shell("sqlite3 '" + dir_ / "mica.db" +
                  "' \"UPDATE event SET severity = 'low' WHERE audit_seq = 3\""),
            0);
  json bad = Mica("audit verify --json", 1);
  EXPECT_FALSE(bad["ok"].get<bool>());
  EXPECT_EQ(bad["first_bad_entry"], 3);
  ASSERT_EQ(Shell("sqlite3 '" + dir_ / "mica.db" + "' \"DELETE FROM event WHERE audit_seq = 1\""), 0);
  json gone = Mica("audit verify --json", 1);
  EXPECT_EQ(gone["first_bad_entry"], 1);
}

// `mica watch` killed with SIGKILL at random points, 20 times, while files keep changing:
// afterwards every event has reached the webhook, no idempotency key was accepted twice,
// and the audit log verifies.
TEST_F(WatchTest, SigkillStormLosesNothingAndDuplicatesNothing) {
  WebhookReceiver hook;
  ASSERT_EQ(Shell("openssl genpkey -algorithm ed25519 -out '" + dir_ / "audit.key" + "'"), 0);
  WriteFile(dir_ / "mica.toml",
            "[audit]\nsigning_key = \"" + dir_ / "audit.key" + "\"\ncheckpoint_interval = 10\n"
            "[watch]\nalert_interval = \"1s\"\n"
            "[[watch.job]]\nname = \"www\"\nkind = \"fs\"\nevery = \"1s\"\nroots = [\"" + dir_ / "www" +
                "\"]\n"
            "[[watch.job]]\nname = \"policy\"\nkind = \"policy\"\nevery = \"2s\"\n"
            "[[alert.sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" +
                std::to_string(hook.port()) +
                "/alerts\"\nsecret = \"storm\"\ninitial_backoff = \"1s\"\nmax_backoff = \"2s\"\n");
  const auto ca = Ca("Storm CA");
  std::mt19937 rng(20261127);
  std::uniform_int_distribution<int> pause_ms(150, 1500);
  for (int round = 0; round < 20; ++round) {
    // Something changes before every start: a new certificate, and every third round a
    // file goes away, so each run has events to record and alerts to send.
    WriteFile(dir_ / ("www/c" + std::to_string(round) + ".pem"),
              Issued(ca, "c" + std::to_string(round) + ".test").cert_pem);
    if (round % 3 == 2) std::filesystem::remove(dir_ / ("www/c" + std::to_string(round - 2) + ".pem"));
    if (round == 7) hook.FailNext(6);  // the receiver is down for a while mid-storm
    {
      Process watch(MicaCmd("watch --log-format json 2>>'" + dir_ / "watch.log" + "'"));
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    }  // ~Process: SIGKILL to the process group, mid-scan, mid-delivery or idle
  }
  // Two clean rounds drain what is left (retry backoff is at most 2 s).
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    Mica("watch --once --log-level error");
  }
  const auto events = Events();
  // At least the 14 certificates still there were announced: one by one, or summed up
  // in the first scan's scan_baseline event ("<n> identity sightings at ..."). (Not "more than
  // 20": that counted on a finding_opened event per finding of the policy job's first
  // check, which is one finding_baseline event per rule since 2026-11-27, docs/EVENTS.md.)
  std::size_t added = 0;
  for (const auto& e : events) {
    if (e["type"] == "identity_added") ++added;
    if (e["type"] == "scan_baseline") added += std::stoul(e["detail"].get<std::string>());
  }
  ASSERT_GE(added, 14u);
  std::set<std::string> accepted;
  int duplicates = 0;
  for (const auto& r : hook.Requests()) {
    if (r.status != 200) continue;
    auto key = r.headers.find("idempotency-key");
    ASSERT_NE(key, r.headers.end());
    if (!accepted.insert(key->second).second) ++duplicates;
  }
  json alerts = Mica("alerts list --json");
  std::set<std::string> expected;
  for (const auto& a : alerts["alerts"]) {
    EXPECT_EQ(a["status"], "delivered") << a.dump();
    expected.insert(a["idempotency_key"].get<std::string>());
  }
  EXPECT_EQ(expected.size(), events.size());  // every event was routed once
  EXPECT_EQ(accepted, expected);              // and reached the receiver
  // A resend after a kill between the receiver's 200 and the outbox update carries the
  // same key; the receiver keeps one. Print how often it happened.
  std::cout << "[ storm ] " << events.size() << " events, " << accepted.size()
            << " alerts accepted, " << duplicates << " resent after a kill\n";
  json verified = Mica("audit verify --json");
  EXPECT_TRUE(verified["ok"].get<bool>()) << verified.dump();
  EXPECT_GT(verified["signatures_verified"].get<int>(), 0);
  json scans = Mica("inventory scans --json");
  for (const auto& s : scans["scans"]) EXPECT_NE(s["status"], "running") << s.dump();
}

}  // namespace
}  // namespace mica::testing
