#include "receivers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "fixtures.h"

namespace mica::testing {

namespace {

int ListenLoopback(int port, int* bound) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("bind/listen on 127.0.0.1 failed: ") + std::strerror(errno));
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *bound = ntohs(sa.sin_port);
  return fd;
}

// Waits up to 100 ms for a connection; -1 when none came.
int AcceptWithin(int listen_fd) {
  pollfd p{listen_fd, POLLIN, 0};
  if (::poll(&p, 1, 100) <= 0) return -1;
  return ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
}

// Reads from `fd` into `buf` until it contains `delim` or the peer is idle for 5 s,
// closes, or `stop` is set. Returns false when the delimiter never came.
bool ReadUntil(int fd, std::string& buf, std::string_view delim, const std::atomic<bool>& stop,
               std::size_t max = 16 << 20) {
  int idle_ms = 0;
  while (buf.find(delim) == std::string::npos) {
    if (stop || idle_ms >= 5000 || buf.size() > max) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r <= 0) {
      idle_ms += 100;
      continue;
    }
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    idle_ms = 0;
  }
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

WebhookReceiver::WebhookReceiver(int port) {
  listen_fd_ = ListenLoopback(port, &port_);
  thread_ = std::thread([this] { Run(); });
}

WebhookReceiver::~WebhookReceiver() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void WebhookReceiver::FailNext(int n, int status) {
  std::lock_guard<std::mutex> l(mu_);
  fail_left_ = n;
  fail_status_ = status;
}

std::vector<HttpRequest> WebhookReceiver::Requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

void WebhookReceiver::Run() {
  while (!stop_) {
    int fd = AcceptWithin(listen_fd_);
    if (fd < 0) continue;
    Serve(fd);
    ::close(fd);
  }
}

// HTTP/1.1 with keep-alive: requests on one connection until the client closes it.
void WebhookReceiver::Serve(int fd) {
  std::string buf;
  while (!stop_) {
    if (!ReadUntil(fd, buf, "\r\n\r\n", stop_)) return;
    const std::size_t head_end = buf.find("\r\n\r\n");
    const std::string head = buf.substr(0, head_end);
    buf.erase(0, head_end + 4);
    HttpRequest req;
    std::size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const std::size_t sp1 = request_line.find(' ');
    const std::size_t sp2 = request_line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) return;
    req.method = request_line.substr(0, sp1);
    req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos && line_end < head.size()) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos
                                                                                : line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      req.headers[Lower(line.substr(0, colon))] = value;
    }
    std::size_t length = 0;
    if (auto it = req.headers.find("content-length"); it != req.headers.end())
      length = std::stoul(it->second);
    while (buf.size() < length) {
      pollfd p{fd, POLLIN, 0};
      if (stop_ || ::poll(&p, 1, 5000) <= 0) return;
      char tmp[65536];
      ssize_t n = ::recv(fd, tmp, std::min(sizeof tmp, length - buf.size()), 0);
      if (n <= 0) return;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    req.body = buf.substr(0, length);
    buf.erase(0, length);
    {
      std::lock_guard<std::mutex> l(mu_);
      req.status = 200;
      if (fail_left_ > 0) {
        --fail_left_;
        req.status = fail_status_;
      }
    }
    const std::string reason = req.status == 200 ? "OK" : "Error";
    const std::string answer = "HTTP/1.1 " + std::to_string(req.status) + " " + reason +
                               "\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
    const bool close = Lower(req.headers["connection"]) == "close";
    {
      std::lock_guard<std::mutex> l(mu_);
      if (record_) requests_.push_back(std::move(req));
    }
    ++count_;
    if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(answer.size()))
      return;
    if (close) return;
  }
}

SmtpReceiver::SmtpReceiver(const std::string& cert_file, const std::string& key_file)
    : cert_(cert_file), key_(key_file) {
  listen_fd_ = ListenLoopback(0, &port_);
  thread_ = std::thread([this] { Run(); });
}

SmtpReceiver::~SmtpReceiver() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<SmtpMessage> SmtpReceiver::Messages() const {
  std::lock_guard<std::mutex> l(mu_);
  return messages_;
}

void SmtpReceiver::Run() {
  BlockSigpipeOnThisThread();  // a client may hang up before our TLS writes
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate_chain_file(ctx, cert_.c_str());
  SSL_CTX_use_PrivateKey_file(ctx, key_.c_str(), SSL_FILETYPE_PEM);
  while (!stop_) {
    int fd = AcceptWithin(listen_fd_);
    if (fd < 0) continue;
    timeval tv{5, 0};  // a stuck client never blocks this receiver for long
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL* ssl = nullptr;
    auto say = [&](const std::string& s) {
      if (ssl)
        SSL_write(ssl, s.data(), static_cast<int>(s.size()));
      else
        (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    };
    auto read_line = [&]() {
      std::string line;
      char ch;
      while (line.size() < 4096) {
        int n = ssl ? SSL_read(ssl, &ch, 1) : static_cast<int>(::recv(fd, &ch, 1, 0));
        if (n != 1) break;
        line += ch;
        if (ch == '\n') break;
      }
      return line;
    };
    say("220 mx.test ESMTP ready\r\n");
    SmtpMessage msg;
    for (int i = 0; i < 200 && !stop_; ++i) {
      std::string cmd = read_line();
      if (cmd.empty()) break;
      const std::string verb = Lower(cmd.substr(0, 4));
      if (verb == "ehlo" || verb == "helo") {
        say(ssl ? "250-mx.test\r\n250 8BITMIME\r\n" : "250-mx.test\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
      } else if (Lower(cmd.substr(0, 8)) == "starttls" && !ssl) {
        say("220 2.0.0 go ahead\r\n");
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
          ERR_clear_error();
          break;
        }
        msg.tls = true;
      } else if (verb == "mail") {
        if (!ssl) {
          say("530 5.7.0 Must issue a STARTTLS command first\r\n");
          continue;
        }
        msg.mail_from = cmd.substr(10, cmd.find_last_not_of("\r\n") - 9);
        say("250 2.1.0 ok\r\n");
      } else if (verb == "rcpt") {
        msg.rcpt_to.push_back(cmd.substr(8, cmd.find_last_not_of("\r\n") - 7));
        say("250 2.1.5 ok\r\n");
      } else if (verb == "data") {
        say("354 go ahead\r\n");
        std::string data;
        bool complete = false;
        for (int lines = 0; lines < 100000; ++lines) {
          std::string l = read_line();
          if (l.empty()) break;
          if (l == ".\r\n") {
            complete = true;
            break;
          }
          if (l[0] == '.') l.erase(0, 1);  // RFC 5321 section 4.5.2
          data += l;
        }
        if (!complete) break;
        msg.data = std::move(data);
        {
          std::lock_guard<std::mutex> l(mu_);
          messages_.push_back(msg);
        }
        msg.rcpt_to.clear();
        say("250 2.0.0 queued\r\n");
      } else if (verb == "rset" || verb == "noop") {
        say("250 ok\r\n");
      } else if (verb == "quit") {
        say("221 bye\r\n");
        break;
      } else {
        say("502 5.5.1 unrecognized\r\n");
      }
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    ERR_clear_error();
    ::close(fd);
  }
  SSL_CTX_free(ctx);
}

}  // namespace mica::testing
