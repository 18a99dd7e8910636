// TLS endpoints in the store: per-scan facts, latest-facts listing and filters, and what
// a re-scan marks as vanished (only endpoints that answered this time).
#include <unistd.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "fixtures.h"
#include "store/store.h"

namespace mica::store {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kT0 = 1'700'000'000;

x509::Identity Cert(const std::string& fp, const std::string& cn, const std::string& issuer,
                    UnixSeconds not_after, int position) {
  x509::Identity id;
  id.kind = x509::Kind::kCertificate;
  id.fingerprint = fp;
  id.position = "chain:" + std::to_string(position);
  x509::CertificateInfo c;
  c.subject = "CN=" + cn;
  c.subject_parts.cn = cn;
  c.issuer = "CN=" + issuer;
  c.issuer_parts.cn = issuer;
  c.not_before = kT0 - 86400;
  c.not_after = not_after;
  id.cert = c;
  return id;
}

Observation Endpoint(const std::string& host, int port, std::vector<x509::Identity> chain,
                     bool ok = true, const std::string& protocol = "TLSv1.3") {
  Observation o;
  o.location.kind = LocationKind::kTlsEndpoint;
  o.location.host = host;
  o.location.port = port;
  o.format = "tls";
  EndpointFacts f;
  f.address = host;
  f.ok = ok;
  if (ok) {
    f.protocol = protocol;
    f.cipher = "TLS_AES_128_GCM_SHA256";
    f.handshake_ms = 1.25;
    f.name_matches = true;
    f.versions_probed = true;
    f.versions_accepted = {"TLSv1.2", "TLSv1.3"};
  } else {
    f.failure_class = "connect_timeout";
    f.error = "no TCP connection within 1000 ms";
  }
  f.chain_len = static_cast<int>(chain.size());
  o.endpoint = f;
  o.identities = std::move(chain);
  return o;
}

class EndpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_ / "mica.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  void ScanOnce(std::vector<Observation> obs, UnixSeconds at) {
    auto id = store_->BeginScan(ScanStart{"tls", "h", {"127.0.0.0/30"}, at});
    ASSERT_TRUE(id);
    ASSERT_TRUE(store_->Record(*id, obs, {}, at));
    ASSERT_TRUE(store_->FinishScan(*id, ScanStats{}, at));
  }
  std::map<std::string, EndpointRow> List(const EndpointFilter& f = {}) {
    auto rows = store_->ListEndpoints(f);
    EXPECT_TRUE(rows) << rows.error().message;
    std::map<std::string, EndpointRow> out;
    if (rows)
      for (auto& r : *rows) out[r.location.host + ":" + std::to_string(r.location.port)] = r;
    return out;
  }

  mica::testing::TempDir dir_;  // declared first: removed after the store closes
  std::unique_ptr<Store> store_;
};

TEST_F(EndpointStoreTest, KeepsLatestFactsAndFilters) {
  ScanOnce({Endpoint("127.0.0.1", 443, {Cert("aa", "a.test", "Test CA", kT0 + 10 * 86400, 0),
                                        Cert("ca", "Test CA", "Test CA", kT0 + 900 * 86400, 1)}),
            Endpoint("127.0.0.2", 443, {Cert("bb", "b.test", "Other CA", kT0 + 300 * 86400, 0)},
                     true, "TLSv1.2"),
            Endpoint("127.0.0.3", 443, {}, false)},
           kT0);
  auto all = List();
  ASSERT_EQ(all.size(), 3u);
  const auto& a = all["127.0.0.1:443"];
  EXPECT_TRUE(a.facts.ok);
  EXPECT_EQ(a.facts.chain_len, 2);
  EXPECT_EQ(a.leaf_fingerprint, "aa");
  EXPECT_DOUBLE_EQ(a.facts.handshake_ms, 1.25);
  EXPECT_EQ(a.facts.versions_accepted, (std::vector<std::string>{"TLSv1.2", "TLSv1.3"}));
  ASSERT_TRUE(a.facts.name_matches);
  EXPECT_EQ(all["127.0.0.3:443"].facts.failure_class, "connect_timeout");
  EXPECT_EQ(all["127.0.0.3:443"].leaf_fingerprint, "");

  EndpointFilter f;
  f.failing = true;
  EXPECT_EQ(List(f).size(), 1u);
  f = {};
  f.protocol = "TLSv1.2";
  EXPECT_EQ(List(f).count("127.0.0.2:443"), 1u);
  f = {};
  f.issuer_contains = "test ca";
  EXPECT_EQ(List(f).size(), 1u);
  f = {};
  f.expiring_before = kT0 + 30 * 86400;
  EXPECT_EQ(List(f).count("127.0.0.1:443"), 1u);
  EXPECT_EQ(List(f).size(), 1u);
}

TEST_F(EndpointStoreTest, RescanVanishesReplacedCertificatesButNotThoseOfDownEndpoints) {
  ScanOnce({Endpoint("127.0.0.1", 443, {Cert("0d1", "a.test", "CA", kT0 + 86400 * 90, 0)}),
            Endpoint("127.0.0.2", 443, {Cert("0d2", "b.test", "CA", kT0 + 86400 * 90, 0)})},
           kT0);
  // Next day: .1 presents a new leaf; .2 does not answer.
  ScanOnce({Endpoint("127.0.0.1", 443, {Cert("0e1", "a.test", "CA", kT0 + 86400 * 180, 0)}),
            Endpoint("127.0.0.2", 443, {}, false)},
           kT0 + 86400);
  auto all = List();
  EXPECT_EQ(all["127.0.0.1:443"].leaf_fingerprint, "0e1");
  EXPECT_EQ(all["127.0.0.2:443"].leaf_fingerprint, "0d2");  // kept: an outage is not a change
  EXPECT_FALSE(all["127.0.0.2:443"].facts.ok);

  auto old1 = store_->FindByFingerprint("0d1");
  ASSERT_TRUE(old1);
  ASSERT_EQ(old1->size(), 1u);
  auto sightings = store_->Sightings(old1->front().id);
  ASSERT_TRUE(sightings);
  ASSERT_EQ(sightings->size(), 1u);
  EXPECT_FALSE(sightings->front().present);
  EXPECT_EQ(sightings->front().vanished_at, kT0 + 86400);
  auto old2 = store_->FindByFingerprint("0d2");
  ASSERT_TRUE(old2);
  auto s2 = store_->Sightings(old2->front().id);
  ASSERT_TRUE(s2);
  EXPECT_TRUE(s2->front().present);
}

}  // namespace
}  // namespace mica::store
