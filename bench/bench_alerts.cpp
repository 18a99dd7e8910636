// Alerts delivered per second to a local webhook receiver (docs/PERFORMANCE.md "Alerts").
//
//   bench_alerts [events=10000]
//
// Three runs over the same number of events, each in the same process:
//   outbox+webhook  the Dispatcher: RouteAlerts, DueAlerts, one signed POST per alert,
//                   MarkDelivered after each acknowledgement (what `mica alerts send` does)
//   outbox+jsonl    the same outbox path to a jsonl sink on /dev/null: the store's share
//   curl only       the peer: the same number of POSTs of a same-size body on one reused
//                   curl handle, with no outbox (the HTTP ceiling on this machine)
// The receiver (tests/support WebhookReceiver) runs on 127.0.0.1 in a thread of this
// process, answering 200 to each request on a kept-alive connection.
#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "receivers.h"
#include "store/store.h"
#include "watch/dispatch.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr mica::UnixSeconds kNow = 1'900'000'000;

double Seconds(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

mica::store::Event MakeEvent(int i) {
  mica::store::Event e;
  e.id = i + 1;
  e.at = kNow - 60;
  e.type = i % 2 ? "issuer_changed" : "identity_added";
  e.severity = i % 2 ? "high" : "info";
  e.location = "tls://host" + std::to_string(i) + ".example.test:443";
  e.after = std::string(64, 'a');
  e.before = std::string(64, 'b');
  e.subject = "CN=host" + std::to_string(i) + ".example.test";
  e.detail = "issuer changed on " + e.location;
  return e;
}

std::unique_ptr<mica::store::Store> MakeStore(const std::string& path, int n) {
  auto store = mica::store::Store::Open(path);
  if (!store) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), store.error().message.c_str());
    std::exit(1);
  }
  std::vector<mica::store::Event> events;
  for (int i = 0; i < n; ++i) events.push_back(MakeEvent(i));
  auto ids = (*store)->AppendEvents(events);
  if (!ids) {
    std::fprintf(stderr, "append: %s\n", ids.error().message.c_str());
    std::exit(1);
  }
  return std::move(*store);
}

double RunDispatcher(const mica::watch::SinkConfig& sink, const std::string& db, int n) {
  auto store = MakeStore(db, n);
  mica::watch::AlertConfig config;
  config.sinks.push_back(sink);
  auto d = mica::watch::Dispatcher::Create(config, [] { return 0.5; });
  if (!d) std::exit(1);
  const auto t0 = SteadyClock::now();
  auto c = d->RunOnce(*store, kNow);
  const auto t1 = SteadyClock::now();
  if (!c || c->delivered != n) {
    std::fprintf(stderr, "dispatch: %s delivered %lld of %d\n",
                 c ? c->sinks[0].last_error.c_str() : c.error().message.c_str(),
                 c ? static_cast<long long>(c->delivered) : 0LL, n);
    std::exit(1);
  }
  return Seconds(t0, t1);
}

std::size_t Discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

double RunCurlOnly(const std::string& url, int n, std::size_t body_size) {
  CURL* c = curl_easy_init();
  const std::string body(body_size, 'x');
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < n; ++i) {
    if (curl_easy_perform(c) != CURLE_OK) {
      std::fprintf(stderr, "curl failed at %d\n", i);
      std::exit(1);
    }
  }
  const auto t1 = SteadyClock::now();
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return Seconds(t0, t1);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10'000;
  if (n <= 0) return 2;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("mica-bench-alerts-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  mica::testing::WebhookReceiver receiver;
  receiver.SetRecording(false);
  const std::string url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook";

  mica::watch::SinkConfig hook;
  hook.name = "hook";
  hook.type = mica::watch::SinkType::kWebhook;
  hook.webhook.url = url;
  hook.webhook.secret = mica::watch::Secret("bench-secret");
  const double webhook_s = RunDispatcher(hook, (dir / "hook.db").string(), n);
  const std::size_t received = receiver.Count();

  mica::watch::SinkConfig jsonl;
  jsonl.name = "null";
  jsonl.type = mica::watch::SinkType::kJsonl;
  jsonl.jsonl.path = "/dev/null";
  const double jsonl_s = RunDispatcher(jsonl, (dir / "jsonl.db").string(), n);

  // The peer posts bodies of the size of a real alert's.
  mica::store::AlertRow sample;
  sample.idempotency_key = "mica-5000-0123456789abcdef0123456789abcdef";
  sample.event = MakeEvent(5000);
  const std::size_t body_size =
      mica::watch::MessageJson({"hook", sample.idempotency_key, "", kNow, {sample}}).size();
  const double curl_s = RunCurlOnly(url, n, body_size);

  std::printf("events: %d, receiver got %zu webhook requests, body %zu bytes\n", n, received,
              body_size);
  std::printf("%-16s %10s %12s\n", "run", "seconds", "alerts/s");
  std::printf("%-16s %10.3f %12.0f\n", "outbox+webhook", webhook_s, n / webhook_s);
  std::printf("%-16s %10.3f %12.0f\n", "outbox+jsonl", jsonl_s, n / jsonl_s);
  std::printf("%-16s %10.3f %12.0f\n", "curl only", curl_s, n / curl_s);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return received == static_cast<std::size_t>(n) ? 0 : 1;
}
