// The TLS engine against real servers on 127.0.0.1: openssl s_server with chains made
// here, a scripted STARTTLS SMTP peer, and hostile peers. Timeouts are short (1 s) so
// the suite stays quick; no wall-clock duration is asserted.
#include "discover/tls_scan.h"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "discover/internal/starttls.h"
#include "fixtures.h"
#include "peers.h"

namespace mica::discover {
namespace {

using mica::testing::CertSpec;
using mica::testing::HostilePeer;
using mica::testing::MakeCertificate;
using mica::testing::PeerBehaviour;
using mica::testing::Process;
using mica::testing::TempDir;
using mica::testing::WriteFile;

std::map<std::string, store::Observation> Scan(std::vector<std::string> targets,
                                               TlsScanOptions o, std::vector<std::string> sni = {},
                                               std::vector<store::ScanError>* errors = nullptr,
                                               const ExcludeList* exclude = nullptr) {
  TargetOptions t;
  t.targets = std::move(targets);
  t.sni = std::move(sni);
  auto stream = TargetStream::Open(t, exclude);
  EXPECT_TRUE(stream) << stream.error().message;
  std::map<std::string, store::Observation> out;
  if (!stream) return out;
  o.exclude = exclude;
  auto stats = ScanTls(**stream, o, [&](std::vector<store::Observation>&& obs,
                                        std::vector<store::ScanError>&& errs) {
    for (auto& x : obs) {
      std::string key = x.location.host + ":" + std::to_string(x.location.port);
      if (!x.location.sni.empty()) key += "/" + x.location.sni;
      out[key] = std::move(x);
    }
    if (errors)
      for (auto& e : errs) errors->push_back(std::move(e));
    return Status{};
  });
  EXPECT_TRUE(stats) << stats.error().message;
  return out;
}

TlsScanOptions Quick() {
  TlsScanOptions o;
  o.connect_timeout_ms = 1000;
  o.handshake_timeout_ms = 1000;
  o.retries = 0;
  o.concurrency = 16;
  o.starttls = StartTls::kNone;
  return o;
}

class TlsScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CertSpec ca;
    ca.cn = "Mica Test CA";
    ca.ca = true;
    ca_ = MakeCertificate(ca);
    WriteFile(dir_ / "ca.pem", ca_.cert_pem);
    CertSpec leaf;
    leaf.cn = "good.test";
    leaf.san = "DNS:good.test,IP:127.0.0.1";
    leaf.eku = "serverAuth";
    leaf.issuer_cert_pem = ca_.cert_pem;
    leaf.issuer_key_pem = ca_.key_pem;
    auto l = MakeCertificate(leaf);
    WriteFile(dir_ / "leaf.pem", l.cert_pem);
    WriteFile(dir_ / "leaf.key", l.key_pem);
  }

  // Starts openssl s_server on a free port with `extra` flags; returns the port.
  int StartServer(const std::string& extra, std::unique_ptr<Process>* proc) {
    int port = mica::testing::FreePort();
    *proc = std::make_unique<Process>(
        "openssl s_server -quiet -naccept 1000 -accept 127.0.0.1:" + std::to_string(port) +
        " -cert '" + dir_ / "leaf.pem" + "' -key '" + dir_ / "leaf.key" + "' -cert_chain '" +
        dir_ / "ca.pem" + "' " + extra + " >/dev/null 2>&1");
    EXPECT_TRUE(mica::testing::WaitForPort(port)) << "s_server did not start";
    return port;
  }

  TempDir dir_;
  mica::testing::CertAndKey ca_;
};

TEST_F(TlsScanTest, RecordsChainProtocolVerificationAndNameOfAGoodServer) {
  std::unique_ptr<Process> server;
  int port = StartServer("", &server);
  TlsScanOptions o = Quick();
  o.ca_file = dir_ / "ca.pem";
  auto r = Scan({"127.0.0.1:" + std::to_string(port)}, o, {"good.test"});
  ASSERT_EQ(r.size(), 1u);
  const auto& obs = r.begin()->second;
  ASSERT_TRUE(obs.endpoint);
  const auto& f = *obs.endpoint;
  EXPECT_TRUE(f.ok) << f.failure_class << " " << f.error;
  EXPECT_EQ(f.protocol, "TLSv1.3");
  EXPECT_FALSE(f.cipher.empty());
  EXPECT_TRUE(f.verified) << f.verify_error;
  ASSERT_TRUE(f.name_matches);
  EXPECT_TRUE(*f.name_matches);
  EXPECT_EQ(f.chain_len, 2);
  EXPECT_EQ(f.address, "127.0.0.1");
  ASSERT_EQ(obs.identities.size(), 2u);
  EXPECT_EQ(obs.identities[0].position, "chain:0");
  EXPECT_EQ(obs.identities[0].cert->subject_parts.cn, "good.test");
  EXPECT_EQ(obs.identities[1].position, "chain:1");
  EXPECT_EQ(obs.location.kind, store::LocationKind::kTlsEndpoint);
  EXPECT_EQ(obs.location.sni, "good.test");
}

TEST_F(TlsScanTest, WrongNameAndUnknownIssuerAreRecordedNotFatal) {
  std::unique_ptr<Process> server;
  int port = StartServer("", &server);
  auto r = Scan({"127.0.0.1:" + std::to_string(port)}, Quick(), {"other.test"});
  ASSERT_EQ(r.size(), 1u);
  const auto& f = *r.begin()->second.endpoint;
  EXPECT_TRUE(f.ok);
  EXPECT_FALSE(f.verified);
  EXPECT_EQ(f.verify_error, "self-signed certificate in certificate chain");
  ASSERT_TRUE(f.name_matches);
  EXPECT_FALSE(*f.name_matches);
}

TEST_F(TlsScanTest, HostilePeersGetTheirClassAndNeverCostTheGoodResult) {
  std::unique_ptr<Process> server;
  int good = StartServer("", &server);
  HostilePeer tarpit(PeerBehaviour::kTarpit), garbage(PeerBehaviour::kGarbage),
      reset(PeerBehaviour::kReset), trickle(PeerBehaviour::kTrickle),
      flood(PeerBehaviour::kFlood), closer(PeerBehaviour::kClose);
  const int refused = mica::testing::FreePort();
  auto t = [](int port) { return "127.0.0.1:" + std::to_string(port); };
  TlsScanOptions o = Quick();
  o.max_handshake_bytes = 256 * 1024;
  auto r = Scan({t(good), t(tarpit.port()), t(garbage.port()), t(reset.port()), t(trickle.port()),
                 t(flood.port()), t(closer.port()), t(refused)},
                o);
  ASSERT_EQ(r.size(), 8u);
  auto cls = [&](int port) { return r[t(port)].endpoint->failure_class; };
  EXPECT_TRUE(r[t(good)].endpoint->ok);
  EXPECT_EQ(r[t(good)].identities.size(), 2u);
  EXPECT_EQ(cls(tarpit.port()), "handshake_timeout");
  EXPECT_EQ(cls(garbage.port()), "not_tls");
  EXPECT_EQ(cls(reset.port()), "reset");
  EXPECT_EQ(cls(trickle.port()), "handshake_timeout");
  EXPECT_EQ(cls(flood.port()), "oversized") << r[t(flood.port())].endpoint->error;
  EXPECT_EQ(cls(closer.port()), "reset");
  EXPECT_EQ(cls(refused), "refused");
}

TEST_F(TlsScanTest, ManyTarpitsEndWithinTheirTimeout) {
  HostilePeer tarpit(PeerBehaviour::kTarpit);
  TlsScanOptions o = Quick();
  o.concurrency = 200;
  std::vector<std::string> targets(300, "127.0.0.1:" + std::to_string(tarpit.port()));
  TargetOptions t;
  t.targets = targets;
  auto stream = TargetStream::Open(t, nullptr);
  ASSERT_TRUE(stream);
  TlsScanProgress progress;
  std::size_t seen = 0;
  auto stats = ScanTls(**stream, o, [&](std::vector<store::Observation>&& obs,
                                        std::vector<store::ScanError>&&) {
    for (const auto& x : obs) {
      EXPECT_EQ(x.endpoint->failure_class, "handshake_timeout");
      ++seen;
    }
    return Status{};
  }, &progress);
  ASSERT_TRUE(stats);
  EXPECT_EQ(seen, 300u);
  EXPECT_EQ(progress.done.load(), 300u);
  EXPECT_EQ(progress.in_flight.load(), 0u);
  EXPECT_EQ(progress.failures["handshake_timeout"], 300u);
}

TEST_F(TlsScanTest, ProbesWhichVersionsAServerAccepts) {
  std::unique_ptr<Process> server;
  int port = StartServer("-tls1_2", &server);
  TlsScanOptions o = Quick();
  o.probe_versions = true;
  auto r = Scan({"127.0.0.1:" + std::to_string(port)}, o);
  const auto& f = *r.begin()->second.endpoint;
  EXPECT_TRUE(f.ok);
  EXPECT_EQ(f.protocol, "TLSv1.2");
  EXPECT_TRUE(f.versions_probed);
  EXPECT_EQ(f.versions_accepted, (std::vector<std::string>{"TLSv1.2"}));
}

TEST_F(TlsScanTest, HandlesA100KiBChain) {
  std::string chain = ca_.cert_pem;
  for (int i = 0; i < 180; ++i) {
    CertSpec extra;
    extra.cn = "filler " + std::to_string(i);
    chain += MakeCertificate(extra).cert_pem;
  }
  WriteFile(dir_ / "ca.pem", chain);
  std::unique_ptr<Process> server;
  int port = StartServer("", &server);
  auto r = Scan({"127.0.0.1:" + std::to_string(port)}, Quick());
  const auto& f = *r.begin()->second.endpoint;
  EXPECT_TRUE(f.ok) << f.failure_class << ": " << f.error;
  EXPECT_EQ(f.chain_len, 182);
  EXPECT_EQ(r.begin()->second.identities.size(), 182u);
}

TEST_F(TlsScanTest, StartTlsSmtp) {
  mica::testing::StartTlsSmtpPeer smtp(dir_ / "leaf.pem", dir_ / "leaf.key");
  TlsScanOptions o = Quick();
  o.starttls = StartTls::kSmtp;
  auto r = Scan({"127.0.0.1:" + std::to_string(smtp.port())}, o);
  const auto& f = *r.begin()->second.endpoint;
  EXPECT_TRUE(f.ok) << f.failure_class << ": " << f.error;
  EXPECT_EQ(f.starttls, "smtp");
  EXPECT_EQ(f.chain_len, 1);
}

TEST_F(TlsScanTest, NamesResolveAndExcludedAddressesAreNeverContacted) {
  std::unique_ptr<Process> server;
  int port = StartServer("", &server);
  auto r = Scan({"localhost:" + std::to_string(port)}, Quick());
  ASSERT_EQ(r.size(), 1u);
  const auto& f = *r.begin()->second.endpoint;
  EXPECT_TRUE(f.ok) << f.failure_class << ": " << f.error;
  EXPECT_EQ(f.address, "127.0.0.1");
  EXPECT_EQ(r.begin()->second.location.sni, "localhost");

  ExcludeList ex;
  ASSERT_TRUE(ex.Add("127.0.0.0/8"));
  ASSERT_TRUE(ex.Add("::1"));
  r = Scan({"localhost:" + std::to_string(port), "127.0.0.1:" + std::to_string(port)}, Quick(),
           {}, nullptr, &ex);
  ASSERT_EQ(r.size(), 1u);  // the literal is never even generated
  EXPECT_EQ(r.begin()->second.endpoint->failure_class, "excluded");
}

TEST(StartTlsDialogTest, SmtpNeedsStartTlsInEhlo) {
  internal::StartTlsDialog d(StartTls::kSmtp, "mx.test");
  EXPECT_EQ(d.TakeOutput(), "");
  EXPECT_EQ(d.Feed("220-mx.test hi\r\n"), internal::StartTlsDialog::State::kNeedMore);
  EXPECT_EQ(d.Feed("220 ready\r\n"), internal::StartTlsDialog::State::kNeedMore);
  EXPECT_EQ(d.TakeOutput(), "EHLO mica.invalid\r\n");
  EXPECT_EQ(d.Feed("250-mx.test\r\n250 SIZE 100\r\n"), internal::StartTlsDialog::State::kFailed);
  EXPECT_NE(d.error().find("does not offer STARTTLS"), std::string::npos);
}

TEST(StartTlsDialogTest, EveryProtocolReachesReady) {
  using S = internal::StartTlsDialog::State;
  struct Case {
    StartTls p;
    std::vector<std::string> replies;
  };
  const std::string ldap_ok("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00", 14);
  for (const Case& c : std::vector<Case>{
           {StartTls::kSmtp, {"220 hi\r\n", "250-x\r\n250 STARTTLS\r\n", "220 go\r\n"}},
           {StartTls::kFtp, {"220 ftp\r\n", "234 AUTH TLS ok\r\n"}},
           {StartTls::kImap, {"* OK ready\r\n", "* CAPABILITY IMAP4rev1\r\na1 OK begin\r\n"}},
           {StartTls::kPop3, {"+OK pop\r\n", "+OK go\r\n"}},
           {StartTls::kLdap, {ldap_ok}},
           {StartTls::kXmpp,
            {"<stream:stream><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
             "</stream:features>",
             "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"}},
           {StartTls::kPostgres, {"S"}}}) {
    internal::StartTlsDialog d(c.p, "h.test");
    S s = S::kNeedMore;
    for (const auto& r : c.replies) {
      (void)d.TakeOutput();
      s = d.Feed(r);
    }
    EXPECT_EQ(s, S::kReady) << StartTlsName(c.p) << ": " << d.error();
  }
  internal::StartTlsDialog pg(StartTls::kPostgres, "h");
  EXPECT_EQ(pg.Feed("N"), S::kFailed);
  internal::StartTlsDialog flood(StartTls::kSmtp, "h");
  EXPECT_EQ(flood.Feed(std::string(20000, '2')), S::kFailed);
}

}  // namespace
}  // namespace mica::discover
