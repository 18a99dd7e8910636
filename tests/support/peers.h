// Network peers for TLS scanner tests, on 127.0.0.1 only: child processes (openssl
// s_server, nginx) and hostile servers written here (tarpit, garbage, reset, trickle,
// flood) and a scripted STARTTLS SMTP server. Each stops when destroyed.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mica::testing {

// A free TCP port on 127.0.0.1 (bound and released: a later bind may race, rarely).
int FreePort();
// Waits (bounded, 10 s) until 127.0.0.1:port accepts a TCP connection.
bool WaitForPort(int port, const std::string& host = "127.0.0.1");

// A child process run through /bin/sh in its own process group, killed (SIGKILL to the
// group) and reaped by the destructor.
class Process {
 public:
  explicit Process(const std::string& command);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
};

enum class PeerBehaviour {
  kTarpit,   // accepts, never speaks, never closes
  kGarbage,  // answers with non-TLS bytes and stays open
  kReset,    // reads the ClientHello, then resets the connection (RST)
  kTrickle,  // sends a TLS record header, then one byte a second
  kFlood,    // sends a handshake record announcing a huge message, then megabytes
  kClose,    // accepts and closes at once
};

// A hostile server on 127.0.0.1:port() running in one thread with poll().
class HostilePeer {
 public:
  explicit HostilePeer(PeerBehaviour behaviour, const std::string& address = "127.0.0.1");
  ~HostilePeer();
  HostilePeer(const HostilePeer&) = delete;
  HostilePeer& operator=(const HostilePeer&) = delete;
  int port() const { return port_; }

 private:
  void Run();
  PeerBehaviour behaviour_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// An SMTP server (RFC 3207) that greets, answers EHLO listing STARTTLS, accepts STARTTLS
// and then completes a TLS handshake with the OpenSSL API using cert/key PEM files.
class StartTlsSmtpPeer {
 public:
  StartTlsSmtpPeer(const std::string& cert_file, const std::string& key_file);
  ~StartTlsSmtpPeer();
  StartTlsSmtpPeer(const StartTlsSmtpPeer&) = delete;
  StartTlsSmtpPeer& operator=(const StartTlsSmtpPeer&) = delete;
  int port() const { return port_; }

 private:
  void Run();
  std::string cert_, key_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mica::testing
