// End-to-end: `mica scan tls` and `mica inventory endpoints` against servers started here
// on 127.0.0.x: nginx with SNI virtual hosts (skipped when nginx is not installed),
// openssl s_server (expired, TLS 1.3 only) and hostile peers. No wall-clock assertions:
// the scan returning at all is the bound being checked.
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "peers.h"

namespace mica::testing {
namespace {

using nlohmann::json;

class TlsCliTest : public ::testing::Test {
 protected:
  json Mica(const std::string& args, int* status_out = nullptr) {
    int status = 0;
    std::string out = ShellOutput(std::string(MICA_BINARY) + " --db '" + dir_ / "mica.db" + "' " +
                                      args + " 2>'" + dir_ / "err.txt" + "' </dev/null",
                                  &status);
    if (status_out) *status_out = status;
    else EXPECT_EQ(status, 0) << args << "\n" << ReadFile(dir_ / "err.txt");
    return json::parse(out, nullptr, false);
  }
  std::map<std::string, json> Endpoints(const std::string& flags = "") {
    std::map<std::string, json> out;
    json j = Mica("inventory endpoints --json " + flags);
    for (const auto& e : j["endpoints"])
      out[e["host"].get<std::string>() + ":" + std::to_string(e["port"].get<int>()) + "/" +
          e["sni"].get<std::string>()] = e;
    return out;
  }
  CertAndKey Leaf(const std::string& cn, const std::string& key = "ec", long long not_after = 0) {
    CertSpec s;
    s.cn = cn;
    s.key = key;
    s.san = "DNS:" + cn;
    s.issuer_cert_pem = ca_.cert_pem;
    s.issuer_key_pem = ca_.key_pem;
    if (not_after) {
      s.not_before = std::min<long long>(std::time(nullptr) - 86400, not_after - 90 * 86400LL);
      s.not_after = not_after;
    }
    return MakeCertificate(s);
  }
  void SetUp() override {
    CertSpec ca;
    ca.cn = "Mica E2E CA";
    ca.ca = true;
    ca_ = MakeCertificate(ca);
    WriteFile(dir_ / "ca.pem", ca_.cert_pem);
  }
  TempDir dir_;
  CertAndKey ca_;
};

TEST_F(TlsCliTest, ScansGoodExpiredTls13OnlyAndHostilePeersAndStoresEverything) {
  auto good = Leaf("good.test", "rsa", std::time(nullptr) + 86400 * 365);
  auto expired = Leaf("expired.test", "ec", std::time(nullptr) - 86400 * 3);
  WriteFile(dir_ / "good.pem", good.cert_pem + ca_.cert_pem);
  WriteFile(dir_ / "good.key", good.key_pem);
  WriteFile(dir_ / "exp.pem", expired.cert_pem + ca_.cert_pem);
  WriteFile(dir_ / "exp.key", expired.key_pem);
  int p1 = FreePort(), p2 = FreePort();
  Process s1("openssl s_server -quiet -naccept 100 -accept 127.0.0.1:" + std::to_string(p1) +
             " -cert '" + dir_ / "good.pem" + "' -key '" + dir_ / "good.key" +
             "' -cert_chain '" + dir_ / "ca.pem" + "' -tls1_3 >/dev/null 2>&1");
  Process s2("openssl s_server -quiet -naccept 100 -accept 127.0.0.1:" + std::to_string(p2) +
             " -cert '" + dir_ / "exp.pem" + "' -key '" + dir_ / "exp.key" +
             "' -tls1_2 >/dev/null 2>&1");
  ASSERT_TRUE(WaitForPort(p1) && WaitForPort(p2));
  HostilePeer tarpit(PeerBehaviour::kTarpit), garbage(PeerBehaviour::kGarbage),
      trickle(PeerBehaviour::kTrickle);
  auto t = [](int port) { return " 127.0.0.1:" + std::to_string(port); };
  json r = Mica("scan tls --json --connect-timeout 1s --handshake-timeout 1s --retries 0 "
                "--probe-versions --ca-file '" + dir_ / "ca.pem" + "'" + t(p1) + t(p2) +
                t(tarpit.port()) + t(garbage.port()) + t(trickle.port()));
  EXPECT_EQ(r["endpoints"], 5);
  EXPECT_EQ(r["ok"], 2);
  EXPECT_EQ(r["failures"]["handshake_timeout"], 2);
  EXPECT_EQ(r["failures"]["not_tls"], 1);

  auto eps = Endpoints();
  ASSERT_EQ(eps.size(), 5u);
  auto& g = eps["127.0.0.1:" + std::to_string(p1) + "/"]["facts"];
  EXPECT_EQ(g["protocol"], "TLSv1.3");
  EXPECT_TRUE(g["verified"].get<bool>()) << g.dump();
  EXPECT_EQ(g["versions_accepted"], json({"TLSv1.3"}));
  auto& e = eps["127.0.0.1:" + std::to_string(p2) + "/"];
  EXPECT_EQ(e["facts"]["protocol"], "TLSv1.2");
  EXPECT_EQ(e["facts"]["verify_error"], "certificate has expired");
  EXPECT_EQ(e["facts"]["versions_accepted"], json({"TLSv1.2"}));
  EXPECT_EQ(e["leaf"]["subject"], "CN=expired.test");

  EXPECT_EQ(Endpoints("--failing").size(), 3u);
  EXPECT_EQ(Endpoints("--protocol TLSv1.2").size(), 1u);
  auto by_issuer = Endpoints("--issuer 'e2e ca'");
  EXPECT_EQ(by_issuer.size(), 2u) << json(by_issuer).dump(1);
  EXPECT_EQ(Endpoints("--expiring-within 30d").size(), 1u);  // the expired leaf

  // The first scan of these targets is a quiet baseline: one event sums up what the two
  // endpoints that answered presented (the failed ones hold nothing).
  json events = Mica("events --json");
  ASSERT_EQ(events["events"].size(), 1u) << events.dump(1);
  const json& baseline = events["events"][0];
  EXPECT_EQ(baseline["type"], "scan_baseline");
  int presented = 0;
  for (const auto& [name, ep] : eps) presented += ep["facts"]["chain_len"].get<int>();
  EXPECT_EQ(baseline["detail"].get<std::string>().rfind(
                std::to_string(presented) + " identity sightings at 2 new locations", 0),
            0u)
      << baseline["detail"] << " (" << presented << " certificates presented)";

  // Leaf and CA of both servers are identities with endpoint sightings.
  json certs = Mica("inventory list --json --locations");
  EXPECT_EQ(certs["count"], 3) << certs.dump(1);
  int rc = 0;
  ShellOutput(std::string(MICA_BINARY) + " --db '" + dir_ / "mica.db" +
                  "' inventory endpoints --csv >/dev/null",
              &rc);
  EXPECT_EQ(rc, 0);
}

TEST_F(TlsCliTest, BadInputsAreUsageErrorsNamingTheInput) {
  int status = 0;
  Mica("scan tls 10.0.0.0/33", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(ReadFile(dir_ / "err.txt").find("10.0.0.0/33"), std::string::npos);
  Mica("scan tls 127.0.0.1 --ports 0", &status);
  EXPECT_EQ(status, 2);
  Mica("scan tls 127.0.0.1 --handshake-timeout soon", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(ReadFile(dir_ / "err.txt").find("soon"), std::string::npos);
  Mica("scan tls --targets-file '" + dir_ / "none.txt" + "'", &status);
  EXPECT_EQ(status, 3);
}

TEST_F(TlsCliTest, NginxSniVirtualHosts) {
  if (Shell("command -v nginx >/dev/null 2>&1") != 0 && !std::filesystem::exists("/usr/sbin/nginx"))
    GTEST_SKIP() << "nginx is not installed (tools/install-deps.sh test installs it)";
  std::string conf = "worker_processes 1; pid " + dir_ / "nginx.pid" + "; error_log " +
                     dir_ / "error.log" + ";\nevents { worker_connections 256; }\nhttp {\n"
                     "access_log off; client_body_temp_path " + dir_.path() + "; proxy_temp_path " +
                     dir_.path() + "; fastcgi_temp_path " + dir_.path() + "; uwsgi_temp_path " +
                     dir_.path() + "; scgi_temp_path " + dir_.path() + ";\n";
  int port = FreePort();
  for (const std::string name : {"a.test", "b.test"}) {
    auto l = Leaf(name, name == "a.test" ? "ec" : "rsa");
    WriteFile(dir_ / (name + ".pem"), l.cert_pem + ca_.cert_pem);
    WriteFile(dir_ / (name + ".key"), l.key_pem);
    conf += "server { listen 127.0.0.2:" + std::to_string(port) + " ssl; server_name " + name +
            "; ssl_certificate " + dir_ / (name + ".pem") + "; ssl_certificate_key " +
            dir_ / (name + ".key") + "; return 200; }\n";
  }
  conf += "}\n";
  WriteFile(dir_ / "nginx.conf", conf);
  std::string nginx = std::filesystem::exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
  Process server(nginx + " -p '" + dir_.path() + "' -c '" + dir_ / "nginx.conf" +
                 "' -g 'daemon off;' 2>'" + dir_ / "nginx.err" + "'");
  ASSERT_TRUE(WaitForPort(port, "127.0.0.2")) << ReadFile(dir_ / "nginx.err");
  Mica("scan tls -q --sni a.test --sni b.test --ca-file '" + dir_ / "ca.pem" +
       "' 127.0.0.2:" + std::to_string(port));
  auto eps = Endpoints();
  ASSERT_EQ(eps.size(), 2u);
  auto a = eps["127.0.0.2:" + std::to_string(port) + "/a.test"];
  auto b = eps["127.0.0.2:" + std::to_string(port) + "/b.test"];
  EXPECT_EQ(a["leaf"]["subject"], "CN=a.test");
  EXPECT_EQ(b["leaf"]["subject"], "CN=b.test");
  EXPECT_TRUE(a["facts"]["name_matches"].get<bool>());
  EXPECT_TRUE(b["facts"]["verified"].get<bool>());
  EXPECT_EQ(a["facts"]["alpn"], "http/1.1");
}

}  // namespace
}  // namespace mica::testing
