#include "watch/dispatch.h"

#include <gtest/gtest.h>

#include <deque>
#include <set>
#include <string>

#include "fixtures.h"

namespace mica::watch {
namespace {

constexpr UnixSeconds kT0 = 1'700'002'800;  // a multiple of 3600: an hour boundary

TEST(BackoffTest, FullJitterStaysWithinTheDoublingCap) {
  RetrySettings r;
  r.initial_backoff = 30;
  r.max_backoff = 3600;
  for (int attempt = 1; attempt <= 40; ++attempt) {
    std::int64_t cap = 30;
    for (int i = 1; i < attempt && cap < 3600; ++i) cap *= 2;
    cap = std::min<std::int64_t>(cap, 3600);
    for (double u : {0.0, 0.25, 0.5, 0.999999, 0.9999999999999999}) {
      const std::int64_t d = BackoffDelay(r, attempt, u);
      EXPECT_GE(d, 1) << attempt << " " << u;
      EXPECT_LE(d, cap) << attempt << " " << u;
    }
    // The extremes of the draw reach both ends of the range.
    EXPECT_EQ(BackoffDelay(r, attempt, 0.0), 1);
    EXPECT_EQ(BackoffDelay(r, attempt, 0.9999999999999999), cap);
  }
  // A huge attempt count neither overflows nor exceeds the maximum.
  EXPECT_EQ(BackoffDelay(r, 1'000'000, 0.9999999999999999), 3600);
  // Out-of-range draws are clamped.
  EXPECT_EQ(BackoffDelay(r, 3, -1.0), 1);
  EXPECT_EQ(BackoffDelay(r, 3, 7.0), 120);
}

TEST(BackoffTest, DigestWindowsAlignToTheEpoch) {
  EXPECT_EQ(DigestWindowStart(kT0, 3600), kT0);
  EXPECT_EQ(DigestWindowStart(kT0 + 3599, 3600), kT0);
  EXPECT_EQ(DigestWindowStart(kT0 + 3600, 3600), kT0 + 3600);
  EXPECT_EQ(DigestWindowStart(-1, 3600), -3600);
}

// A sink that records what it was sent and fails while `failures` says so.
struct FakeState {
  std::vector<Outgoing> sent;
  std::deque<bool> fail_next;  // front: true = the next Send fails
  int calls = 0;
};

class FakeSink final : public Sink {
 public:
  explicit FakeSink(FakeState* state) : state_(state) {}
  Status Send(const Outgoing& m) override {
    ++state_->calls;
    if (!state_->fail_next.empty()) {
      const bool fail = state_->fail_next.front();
      state_->fail_next.pop_front();
      if (fail) return Fail(ErrorCode::kIo, "fake: HTTP 503");
    }
    state_->sent.push_back(m);
    return {};
  }

 private:
  FakeState* state_;
};

class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open(dir_ / "mica.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  void Append(const std::vector<std::tuple<std::string, std::string, std::string>>& events) {
    std::vector<store::Event> out;
    for (const auto& [type, severity, owner] : events) {
      store::Event e;
      e.at = kT0;
      e.type = type;
      e.severity = severity;
      e.owner = owner;
      e.location = "/etc/ssl/" + std::to_string(counter_++) + ".pem";
      e.after = "fp" + std::to_string(counter_);
      out.push_back(e);
    }
    auto ids = store_->AppendEvents(out);
    ASSERT_TRUE(ids) << ids.error().message;
  }

  Dispatcher Make(SinkConfig config, double u = 0.5) {
    std::vector<SinkConfig> configs{config};
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(std::make_unique<FakeSink>(&state_));
    return Dispatcher(configs, std::move(sinks), [u] { return u; });
  }

  DispatchCounts Run(Dispatcher& d, UnixSeconds now) {
    auto c = d.RunOnce(*store_, now);
    EXPECT_TRUE(c) << c.error().message;
    return c ? *c : DispatchCounts{};
  }

  static SinkConfig Config() {
    SinkConfig c;
    c.name = "fake";
    c.retry.initial_backoff = 60;
    c.retry.max_backoff = 3600;
    c.retry.give_up_after = 86'400;
    return c;
  }

  mica::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  FakeState state_;
  int counter_ = 0;
};

TEST_F(DispatchTest, DeliversEachAlertOnceAndMarksIt) {
  Append({{"identity_added", "info", ""}, {"issuer_changed", "high", ""}, {"identity_removed", "low", ""}});
  Dispatcher d = Make(Config());
  auto c = Run(d, kT0);
  EXPECT_EQ(c.routed, 3);
  EXPECT_EQ(c.delivered, 3);
  EXPECT_TRUE(c.AllDelivered());
  ASSERT_EQ(state_.sent.size(), 3u);
  EXPECT_EQ(state_.sent[1].alerts.front().event.type, "issuer_changed");
  EXPECT_EQ(state_.sent[1].idempotency_key, state_.sent[1].alerts.front().idempotency_key);
  // Nothing is sent twice.
  auto again = Run(d, kT0 + 10);
  EXPECT_EQ(again.routed, 0);
  EXPECT_EQ(again.delivered, 0);
  EXPECT_EQ(state_.sent.size(), 3u);
  auto rows = store_->ListAlerts({.sink = "fake", .pending_only = true, .limit = 0});
  ASSERT_TRUE(rows);
  EXPECT_TRUE(rows->empty());
}

TEST_F(DispatchTest, RoutingRulesDecideWhatIsEnqueued) {
  Append({{"identity_added", "info", ""}, {"issuer_changed", "high", ""}, {"private_key_exposed", "critical", ""}});
  SinkConfig c = Config();
  c.rule.min_severity = "high";
  c.rule.events = {"issuer_*"};
  Dispatcher d = Make(c);
  auto counts = Run(d, kT0);
  EXPECT_EQ(counts.routed, 1);
  ASSERT_EQ(state_.sent.size(), 1u);
  EXPECT_EQ(state_.sent[0].alerts.front().event.type, "issuer_changed");
}

TEST_F(DispatchTest, AFailureRetriesWithBackoffAndStopsTheRound) {
  Append({{"a", "info", ""}, {"b", "info", ""}, {"c", "info", ""}});
  state_.fail_next = {true};
  Dispatcher d = Make(Config(), /*u=*/0.5);
  auto c = Run(d, kT0);
  EXPECT_EQ(c.delivered, 0);
  EXPECT_EQ(c.retried, 1);
  EXPECT_EQ(c.deferred, 2);
  EXPECT_FALSE(c.AllDelivered());
  EXPECT_EQ(c.sinks[0].last_error, "fake: HTTP 503");
  EXPECT_EQ(state_.calls, 1);
  auto rows = store_->ListAlerts({.sink = "fake", .pending_only = true, .limit = 0});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 3u);
  // First attempt failed: delay uniform in [1, 60]; u = 0.5 gives 1 + 30.
  EXPECT_EQ((*rows)[0].attempts, 1);
  EXPECT_EQ((*rows)[0].next_attempt_at, kT0 + 31);
  EXPECT_EQ((*rows)[0].last_error, "fake: HTTP 503");
  // The others were not tried: still due now.
  EXPECT_EQ((*rows)[1].attempts, 0);
  // Next round: b and c go; a waits for its time.
  auto c2 = Run(d, kT0 + 1);
  EXPECT_EQ(c2.delivered, 2);
  auto c3 = Run(d, kT0 + 31);
  EXPECT_EQ(c3.delivered, 1);
  ASSERT_EQ(state_.sent.size(), 3u);
  std::set<std::string> keys;
  for (const auto& m : state_.sent) keys.insert(m.idempotency_key);
  EXPECT_EQ(keys.size(), 3u);
  auto all = store_->ListAlerts({.sink = "fake", .pending_only = false, .limit = 0});
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)[0].attempts, 2);
  EXPECT_EQ((*all)[0].delivered_at, kT0 + 31);
}

TEST_F(DispatchTest, GivesUpWhenAFailureComesAfterTheGiveUpAge) {
  Append({{"a", "info", ""}});
  SinkConfig c = Config();
  c.retry.give_up_after = 3600;
  state_.fail_next = {true, true, true};
  Dispatcher d = Make(c, 0.999);
  auto first = Run(d, kT0);
  EXPECT_EQ(first.retried, 1);
  // Before the age a failure is a retry, after it a give-up.
  auto second = Run(d, kT0 + 3599);
  EXPECT_EQ(second.retried, 1);
  EXPECT_EQ(second.gave_up, 0);
  auto third = Run(d, kT0 + 3600 + 120);
  EXPECT_EQ(third.gave_up, 1);
  auto rows = store_->ListAlerts({.sink = "fake", .pending_only = false, .limit = 0});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].gave_up_at, kT0 + 3720);
  EXPECT_EQ((*rows)[0].attempts, 3);
  // Nothing more is tried.
  auto fourth = Run(d, kT0 + 100'000);
  EXPECT_EQ(state_.calls, 3);
  EXPECT_EQ(fourth.delivered + fourth.retried + fourth.gave_up, 0);
}

TEST_F(DispatchTest, DigestSendsOneMessagePerOwnerPerInterval) {
  Append({{"expiry_threshold", "medium", "ana@example.test"},
          {"expiry_threshold", "medium", "bob@example.test"},
          {"expiry_threshold", "low", "ana@example.test"},
          {"expiry_threshold", "low", ""}});
  SinkConfig c = Config();
  c.digest_interval = 3600;
  Dispatcher d = Make(c);
  // Routed at kT0 + 10 (inside the interval starting at kT0): held until it ends.
  auto held = Run(d, kT0 + 10);
  EXPECT_EQ(held.routed, 4);
  EXPECT_EQ(held.delivered, 0);
  EXPECT_TRUE(state_.sent.empty());
  auto still = Run(d, kT0 + 3599);
  EXPECT_EQ(still.delivered, 0);
  // A new event in the next interval waits for that one to end.
  auto sent = Run(d, kT0 + 3600);
  EXPECT_EQ(sent.delivered, 4);
  EXPECT_EQ(sent.messages, 3);
  ASSERT_EQ(state_.sent.size(), 3u);
  std::map<std::string, std::size_t> per_owner;
  for (const auto& m : state_.sent) per_owner[m.digest_key] = m.alerts.size();
  EXPECT_EQ(per_owner["ana@example.test"], 2u);
  EXPECT_EQ(per_owner["bob@example.test"], 1u);
  EXPECT_EQ(per_owner["unowned"], 1u);
  for (const auto& m : state_.sent)
    EXPECT_EQ(m.idempotency_key, DigestIdempotencyKey(m.alerts));
  Append({{"expiry_threshold", "low", "ana@example.test"}});
  auto next = Run(d, kT0 + 3700);
  EXPECT_EQ(next.routed, 1);
  EXPECT_EQ(next.delivered, 0);
  auto later = Run(d, kT0 + 7200);
  EXPECT_EQ(later.delivered, 1);
  EXPECT_EQ(later.messages, 1);
}

TEST_F(DispatchTest, AFailedDigestIsRetriedWhole) {
  Append({{"expiry_threshold", "medium", "ana"}, {"expiry_threshold", "medium", "ana"}});
  SinkConfig c = Config();
  c.digest_interval = 3600;
  state_.fail_next = {true};
  Dispatcher d = Make(c, 0.0);
  Run(d, kT0);
  auto failed = Run(d, kT0 + 3600);
  EXPECT_EQ(failed.retried, 2);
  // Backoff of 1 s lands in the interval [kT0 + 3600, kT0 + 7200): sent when it ends.
  EXPECT_EQ(Run(d, kT0 + 3700).delivered, 0);
  auto ok = Run(d, kT0 + 7200);
  EXPECT_EQ(ok.delivered, 2);
  EXPECT_EQ(ok.messages, 1);
}

}  // namespace
}  // namespace mica::watch
