#include "peers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>

#include "fixtures.h"

namespace mica::testing {

namespace {

int Listen(const std::string& address, int port, int* bound_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    throw std::runtime_error("bad address " + address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 512) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/listen on " + address + " failed: " + std::strerror(errno));
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (bound_port) *bound_port = ntohs(sa.sin_port);
  return fd;
}

using Clock = std::chrono::steady_clock;

}  // namespace

int FreePort() {
  int port = 0;
  int fd = Listen("127.0.0.1", 0, &port);
  ::close(fd);
  return port;
}

bool WaitForPort(int port, const std::string& host) {
  for (int i = 0; i < 200; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (ok) return true;
    ::usleep(50 * 1000);
  }
  return false;
}

Process::Process(const std::string& command) {
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid_ > 0) ::setpgid(pid_, pid_);
}

Process::~Process() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

HostilePeer::HostilePeer(PeerBehaviour behaviour, const std::string& address)
    : behaviour_(behaviour) {
  listen_fd_ = Listen(address, 0, &port_);
  thread_ = std::thread([this] { Run(); });
}

HostilePeer::~HostilePeer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void HostilePeer::Run() {
  struct Client {
    int fd;
    Clock::time_point next;
    std::size_t sent = 0;
  };
  std::map<int, Client> clients;
  std::string junk(64 * 1024, '\x02');
  while (!stop_) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (auto& [fd, c] : clients) fds.push_back({fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 50);
    if (fds[0].revents & POLLIN) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        switch (behaviour_) {
          case PeerBehaviour::kClose:
            ::close(fd);
            break;
          case PeerBehaviour::kGarbage: {
            const char msg[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n\x01\x02garbage";
            (void)!::send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL);
            clients[fd] = {fd, Clock::now()};
            break;
          }
          default:
            clients[fd] = {fd, Clock::now()};
        }
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      int fd = fds[i].fd;
      Client& c = clients[fd];
      char buf[4096];
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          ::close(fd);
          clients.erase(fd);
          continue;
        }
        if (n > 0 && behaviour_ == PeerBehaviour::kReset) {
          linger l{1, 0};  // close with RST
          ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
          ::close(fd);
          clients.erase(fd);
          continue;
        }
      }
      if (behaviour_ == PeerBehaviour::kTrickle && Clock::now() >= c.next) {
        // A handshake record of 300 bytes, one byte a second.
        static const char kHeader[] = "\x16\x03\x03\x01\x2c";
        char b = c.sent < 5 ? kHeader[c.sent] : '\x02';
        (void)!::send(fd, &b, 1, MSG_NOSIGNAL);
        ++c.sent;
        c.next = Clock::now() + std::chrono::seconds(1);
      }
      if (behaviour_ == PeerBehaviour::kFlood && c.sent < 8u * 1024 * 1024) {
        if (c.sent == 0) {
          // One record header announcing 16 KiB, then megabytes of one fake message.
          (void)!::send(fd, "\x16\x03\x03\x40\x00", 5, MSG_NOSIGNAL);
          c.sent = 5;
        }
        ssize_t n = ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
        if (n > 0) c.sent += static_cast<std::size_t>(n);
      }
    }
  }
  for (auto& [fd, c] : clients) ::close(fd);
}

StartTlsSmtpPeer::StartTlsSmtpPeer(const std::string& cert_file, const std::string& key_file)
    : cert_(cert_file), key_(key_file) {
  listen_fd_ = Listen("127.0.0.1", 0, &port_);
  thread_ = std::thread([this] { Run(); });
}

StartTlsSmtpPeer::~StartTlsSmtpPeer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void StartTlsSmtpPeer::Run() {
  // The scanner hangs up once it has the certificate, maybe before SSL_shutdown's
  // close_notify goes out (a SIGPIPE killed the test binary once in CI).
  BlockSigpipeOnThisThread();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate_chain_file(ctx, cert_.c_str());
  SSL_CTX_use_PrivateKey_file(ctx, key_.c_str(), SSL_FILETYPE_PEM);
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{2, 0};  // a stuck client never blocks this peer for long
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto say = [&](const char* s) { (void)!::send(fd, s, std::strlen(s), MSG_NOSIGNAL); };
    auto read_line = [&]() {
      std::string line;
      char ch;
      while (line.size() < 1000 && ::recv(fd, &ch, 1, 0) == 1) {
        line += ch;
        if (ch == '\n') break;
      }
      return line;
    };
    say("220 mx.test ESMTP ready\r\n");
    bool tls = false;
    for (int i = 0; i < 5 && !tls; ++i) {
      std::string cmd = read_line();
      if (cmd.empty()) break;
      if (cmd.rfind("EHLO", 0) == 0) {
        say("250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
      } else if (cmd.rfind("STARTTLS", 0) == 0) {
        say("220 2.0.0 go ahead\r\n");
        tls = true;
      } else {
        say("500 what\r\n");
      }
    }
    if (tls) {
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) SSL_shutdown(ssl);
      SSL_free(ssl);
      ERR_clear_error();
    }
    ::close(fd);
  }
  SSL_CTX_free(ctx);
}

}  // namespace mica::testing
