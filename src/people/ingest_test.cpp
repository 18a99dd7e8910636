// The ingester's writer thread: chunks and aggregates arrive in order, and a store
// failure surfaces as the ingest's error instead of being lost or hanging.
#include "people/ingest.h"

#include <gtest/gtest.h>

#include <sstream>

namespace mica::people {
namespace {

using store::PeopleStore;

// Records what reaches the store; fails AppendAccessEvents from the `fail_at`-th call.
class RecordingStore final : public PeopleStore {
 public:
  int fail_at = 0;
  int appends = 0, commits = 0;
  std::int64_t events = 0, links = 0;
  std::vector<std::string> order;  // "events" / "aggregates"

  Status AppendAccessEvents(std::span<const store::AccessEvent> e) override {
    ++appends;
    if (fail_at && appends >= fail_at) return Fail(ErrorCode::kIo, "disk full (test)");
    events += static_cast<std::int64_t>(e.size());
    order.push_back("events");
    return {};
  }
  Status CommitIngest(const store::IngestBatch& b) override {
    ++commits;
    links += static_cast<std::int64_t>(b.links.size());
    order.push_back("aggregates");
    return {};
  }
  Status Ingest(const store::IngestBatch& b) override {
    if (auto s = AppendAccessEvents(b.events); !s) return s;
    return CommitIngest(b);
  }
  Result<store::IngestState> LoadIngestState() override { return store::IngestState{}; }

  // Not used by the ingester.
  Result<store::ImportStats> UpsertPeople(const std::vector<store::Person>&, UnixSeconds) override { return No(); }
  Result<std::vector<store::Person>> ListPeople() override { return No(); }
  Result<store::Person> GetPerson(const std::string&) override { return No(); }
  Result<std::vector<store::PersonChange>> ListChanges(const std::string&) override { return No(); }
  Result<std::int64_t> AddOwnerRule(const store::OwnerRule&) override { return No(); }
  Status RemoveOwnerRule(std::int64_t) override { return No(); }
  Result<std::vector<store::OwnerRule>> ListOwnerRules() override { return No(); }
  Status SetTag(const std::string&, const std::string&) override { return No(); }
  Result<std::map<std::string, std::vector<std::string>>> Tags() override { return No(); }
  Status ReplaceOwners(const std::vector<store::OwnerAssignment>&, UnixSeconds) override { return No(); }
  Result<std::map<std::string, std::string>> OwnersByFingerprint() override { return No(); }
  Result<std::vector<store::OwnerAssignment>> ListOwners() override { return No(); }
  Result<std::vector<store::AccessEvent>> RecentEvents(const std::string&, int) override { return No(); }
  Result<std::int64_t> CountEvents() override { return No(); }
  Result<std::vector<std::string>> TargetsOf(const std::string&) override { return No(); }
  Status UpsertDevices(const std::vector<store::Device>&) override { return No(); }
  Result<std::vector<store::Device>> ListDevices() override { return No(); }
  Result<store::RiskInput> LoadRiskInput(UnixSeconds, UnixSeconds, UnixSeconds) override { return No(); }
  Status RecordScores(const std::vector<store::RiskScore>&) override { return No(); }
  Result<std::vector<store::RiskScore>> LatestScores() override { return No(); }
  Result<std::vector<store::RiskScore>> ScoreHistory(const std::string&, int) override { return No(); }
  Status Block(const std::string&, const std::string&, UnixSeconds) override { return No(); }
  Status Approve(const std::string&, const std::string&, double, UnixSeconds) override { return No(); }

 private:
  static tl::unexpected<Error> No() { return Fail(ErrorCode::kInternal, "not used"); }
};

std::string Lines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += "{\"time\":" + std::to_string(1795000000 + i) + ",\"person\":\"p" +
           std::to_string(i % 7) + "\",\"source_ip\":\"192.0.2." + std::to_string(i % 50) +
           "\",\"action\":\"sso.login\",\"device\":\"d" + std::to_string(i % 7) + "\"}\n";
  return out;
}

TEST(IngestorTest, WriterThreadKeepsChunksAndAggregatesInOrder) {
  RecordingStore store;
  Ingestor ingestor(store, nullptr, DefaultRiskConfig(), /*batch_size=*/5000);
  ASSERT_TRUE(ingestor.Begin());
  EventReader reader(EventFormat::kMica);
  std::istringstream in(Lines(12000) + "not json\n");
  ASSERT_TRUE(ingestor.AddStream(in, "x.jsonl", reader));
  ASSERT_TRUE(ingestor.Finish());
  EXPECT_EQ(store.events, 12000);
  EXPECT_EQ(ingestor.stats().errors, 1);
  EXPECT_EQ(ingestor.stats().error_samples.at(0).substr(0, 14), "x.jsonl:12001:");
  // Flushes after 5000, 10000 and at the end; every flush follows the events it covers.
  EXPECT_EQ(store.commits, 3);
  ASSERT_FALSE(store.order.empty());
  EXPECT_EQ(store.order.back(), "aggregates");
  EXPECT_GT(store.links, 0);
}

TEST(IngestorTest, StoreFailureIsReturnedNotLost) {
  RecordingStore store;
  store.fail_at = 2;
  Ingestor ingestor(store, nullptr, DefaultRiskConfig(), 1'000'000);
  ASSERT_TRUE(ingestor.Begin());
  EventReader reader(EventFormat::kMica);
  std::istringstream in(Lines(50000));
  auto added = ingestor.AddStream(in, "x.jsonl", reader);
  auto finished = ingestor.Finish();
  // The failure shows at the latest in Finish, naming the store's reason.
  ASSERT_FALSE(added && finished);
  const Error& e = added ? finished.error() : added.error();
  EXPECT_NE(e.message.find("disk full"), std::string::npos);
  EXPECT_EQ(store.commits, 0);  // nothing committed after a failed chunk
}

TEST(IngestorTest, DestroyedWithoutFinishStopsTheWriter) {
  RecordingStore store;
  {
    Ingestor ingestor(store, nullptr, DefaultRiskConfig());
    ASSERT_TRUE(ingestor.Begin());
    EventReader reader(EventFormat::kMica);
    std::istringstream in(Lines(9000));
    ASSERT_TRUE(ingestor.AddStream(in, "x.jsonl", reader));
  }
  EXPECT_EQ(store.commits, 0);
}

}  // namespace
}  // namespace mica::people
