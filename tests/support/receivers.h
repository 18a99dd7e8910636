// Receivers for alert tests and benchmarks, on 127.0.0.1 only: a webhook (HTTP/1.1)
// receiver that can answer with errors on demand, and an SMTP server that requires
// STARTTLS and records the messages it accepts. Each serves on one thread, one
// connection at a time, and stops when destroyed; every read is bounded by a timeout.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mica::testing {

struct HttpRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  int status = 0;  // what the receiver answered
};

class WebhookReceiver {
 public:
  // Listens on 127.0.0.1:port (0: a free port).
  explicit WebhookReceiver(int port = 0);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  // The next `n` requests are answered with `status` (e.g. 503) instead of 200.
  void FailNext(int n, int status = 503);
  // Every request received, in order, with the status it got.
  std::vector<HttpRequest> Requests() const;
  // Requests received so far (cheap; for benchmarks).
  std::size_t Count() const { return count_; }

 private:
  void Run();
  void Serve(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> count_{0};
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;  // guarded by mu_
  int fail_left_ = 0, fail_status_ = 503;  // guarded by mu_
  bool record_ = true;
  std::thread thread_;

 public:
  // Benchmarks keep only the count, not every request.
  void SetRecording(bool record) { record_ = record; }
};

struct SmtpMessage {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string data;  // dot-unstuffed, without the final "."
  bool tls = false;
};

// RFC 5321 server with RFC 3207 STARTTLS, which refuses MAIL before STARTTLS.
class SmtpReceiver {
 public:
  SmtpReceiver(const std::string& cert_file, const std::string& key_file);
  ~SmtpReceiver();
  SmtpReceiver(const SmtpReceiver&) = delete;
  SmtpReceiver& operator=(const SmtpReceiver&) = delete;
  int port() const { return port_; }
  std::vector<SmtpMessage> Messages() const;

 private:
  void Run();
  std::string cert_, key_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<SmtpMessage> messages_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace mica::testing
