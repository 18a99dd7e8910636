#include "discover/tls_scan.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/system_trust.h"
#include "discover/internal/openssl.h"
#include "discover/internal/starttls.h"
#include "x509/certificate.h"

namespace mica::discover {

using internal::DrainErrors;
using internal::SslCtxPtr;
using internal::SslPtr;
using internal::StartTlsDialog;

Result<StartTls> ParseStartTls(std::string_view name) {
  static const std::pair<const char*, StartTls> kNames[] = {
      {"auto", StartTls::kAuto}, {"none", StartTls::kNone},   {"smtp", StartTls::kSmtp},
      {"imap", StartTls::kImap}, {"pop3", StartTls::kPop3},   {"ftp", StartTls::kFtp},
      {"ldap", StartTls::kLdap}, {"xmpp", StartTls::kXmpp},   {"postgres", StartTls::kPostgres}};
  for (const auto& [n, p] : kNames)
    if (name == n) return p;
  return Fail(ErrorCode::kInvalidArgument,
              "--starttls '" + std::string(name) +
                  "' is not one of auto, none, smtp, imap, pop3, ftp, ldap, xmpp, postgres");
}

const char* StartTlsName(StartTls p) {
  switch (p) {
    case StartTls::kAuto: return "auto";
    case StartTls::kNone: return "";
    case StartTls::kSmtp: return "smtp";
    case StartTls::kImap: return "imap";
    case StartTls::kPop3: return "pop3";
    case StartTls::kFtp: return "ftp";
    case StartTls::kLdap: return "ldap";
    case StartTls::kXmpp: return "xmpp";
    case StartTls::kPostgres: return "postgres";
  }
  return "";
}

StartTls StartTlsForPort(int port) {
  switch (port) {
    case 25:
    case 587: return StartTls::kSmtp;
    case 143: return StartTls::kImap;
    case 110: return StartTls::kPop3;
    case 21: return StartTls::kFtp;
    case 389: return StartTls::kLdap;
    case 5222: return StartTls::kXmpp;
    case 5432: return StartTls::kPostgres;
    default: return StartTls::kNone;
  }
}

namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using std::chrono::milliseconds;

// The versions --probe-versions tries, in order.
constexpr struct {
  int version;
  const char* name;
} kProbeVersions[] = {{TLS1_VERSION, "TLSv1"},
                      {TLS1_1_VERSION, "TLSv1.1"},
                      {TLS1_2_VERSION, "TLSv1.2"},
                      {TLS1_3_VERSION, "TLSv1.3"}};
constexpr int kProbeCount = 4;

// ALPN offer: h2, http/1.1 (RFC 7301 wire format).
constexpr unsigned char kAlpn[] = "\x02h2\x08http/1.1";

// The SSL_CTXs of one scan: the main one (verifies against the trust store, offers
// every version down to TLS 1.0 at security level 0 so that old servers are still
// inventoried) and one per probed version. Shared by all loops: SSL_CTX is thread-safe
// for SSL_new once configured.
struct Contexts {
  SslCtxPtr main;
  SslCtxPtr probe[kProbeCount];
};

// A connection's record, reached from OpenSSL callbacks through SSL_get_app_data.
struct Conn;

void InfoCallback(const SSL* ssl, int where, int ret);
int OcspCallback(SSL* ssl, void* arg);
long BioCallback(BIO* b, int oper, const char* argp, std::size_t len, int argi, long argl,
                 int ret, std::size_t* processed);

Result<SslCtxPtr> MakeContext(const TlsScanOptions& o, int version) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Fail(ErrorCode::kInternal, "SSL_CTX_new: " + DrainErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), version ? version : TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), version ? version : 0);
  // Security level 0: a scanner must complete handshakes with weak and old servers to
  // see them; judging them is policy's work.
  if (SSL_CTX_set_cipher_list(ctx.get(), "ALL:@SECLEVEL=0") != 1)
    return Fail(ErrorCode::kInternal, "cipher list: " + DrainErrors());
  SSL_CTX_set_security_level(ctx.get(), 0);
  // Every handshake is a full one (the chain is what we came for) and nothing is cached.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  // Whole socket reads instead of a record header and then its body: 12 read calls per
  // handshake became 1.5 (strace, 1,000 loopback handshakes).
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_max_cert_list(ctx.get(), static_cast<long>(o.max_handshake_bytes));
  SSL_CTX_set_info_callback(ctx.get(), InfoCallback);
  if (SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn - 1) != 0)  // 0 is success
    return Fail(ErrorCode::kInternal, "ALPN: " + DrainErrors());
  if (version == 0) {
    // Verification runs during the handshake (the result is read afterwards); with
    // SSL_VERIFY_NONE a failure does not abort the handshake.
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    AddSystemTrustAnchors(SSL_CTX_get_cert_store(ctx.get()));  // get0: the context's store
    if (!o.ca_file.empty() &&
        SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
      return Fail(ErrorCode::kInput,
                  "--ca-file " + o.ca_file + " cannot be loaded: " + DrainErrors());
    SSL_CTX_set_tlsext_status_cb(ctx.get(), OcspCallback);
  }
  return ctx;
}

enum class Phase { kIdle, kResolving, kConnecting, kStartTls, kHandshake };

// One endpoint and everything learnt about it, across its attempts.
struct Job {
  Endpoint endpoint;
  std::vector<IpAddress> addresses;
  std::size_t address_index = 0;
  int retries_used = 0;
  int probe = -1;  // -1: the main handshake; 0..3: index into kProbeVersions
  StartTls starttls = StartTls::kNone;
  store::EndpointFacts facts;
  std::vector<x509::Identity> chain;
  std::vector<store::ScanError> errors;
  bool main_done = false;
};

struct Conn {
  std::uint32_t slot = 0;
  std::uint32_t gen = 0;  // bumped for every socket, so stale events and timers are ignored
  std::uint32_t timer_seq = 0;
  Phase phase = Phase::kIdle;
  int fd = -1;
  SslPtr ssl;
  std::unique_ptr<StartTlsDialog> dialog;
  std::string pending_out;
  Job job;
  TimePoint deadline, connected_at;
  std::size_t bytes_read = 0;
  std::size_t limit = 0;
  bool oversized = false;
  unsigned char first[2] = {0, 0};
  std::size_t first_len = 0;
  std::string alert;  // the last alert the peer sent ("handshake_failure")
  bool ocsp = false;
};

void InfoCallback(const SSL* ssl, int where, int ret) {
  if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_READ)) return;  // alerts the peer sent
  auto* c = static_cast<Conn*>(SSL_get_app_data(ssl));
  if (!c) return;
  std::string name = SSL_alert_desc_string_long(ret);
  for (char& ch : name) ch = ch == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  c->alert = name;
}

int OcspCallback(SSL* ssl, void*) {
  auto* c = static_cast<Conn*>(SSL_get_app_data(ssl));
  const unsigned char* resp = nullptr;
  long len = SSL_get_tlsext_status_ocsp_resp(ssl, &resp);  // get0: borrowed
  if (c && resp && len > 0) c->ocsp = true;
  return 1;  // never abort the handshake over the staple: it is recorded, not judged
}

// Counts the bytes the socket BIO reads and refuses reads past the per-handshake cap,
// so a peer streaming megabytes is cut off however OpenSSL frames it.
long BioCallback(BIO* b, int oper, const char* argp, std::size_t len, int, long, int ret,
                 std::size_t* processed) {
  auto* c = reinterpret_cast<Conn*>(BIO_get_callback_arg(b));
  if (!c) return ret;
  if (oper == BIO_CB_READ) {
    if (c->bytes_read >= c->limit) {
      c->oversized = true;
      return -1;  // the read is aborted: SSL_ERROR_SYSCALL
    }
    (void)len;
    return ret;
  }
  if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed) {
    if (c->first_len < 2 && argp) {
      for (std::size_t i = 0; i < *processed && c->first_len < 2; ++i)
        c->first[c->first_len++] = static_cast<unsigned char>(argp[i]);
    }
    c->bytes_read += *processed;
  }
  return ret;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Name resolution off the event loop: a few threads running getaddrinfo. The threads
// own the queue through a shared_ptr and are detached, so a resolver stuck in a slow
// lookup can never delay the end of the scan (the loop times the lookup out itself).
struct Resolved {
  std::uint32_t slot, gen;
  std::vector<IpAddress> addresses;
  std::string error;
};

struct Mailbox {
  std::mutex mu;
  std::vector<Resolved> done;
  int event_fd = -1;
  ~Mailbox() {
    if (event_fd >= 0) ::close(event_fd);
  }
};

struct ResolverQueue {
  struct Request {
    std::shared_ptr<Mailbox> reply;
    std::uint32_t slot, gen;
    std::string name;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Request> requests;
  bool stop = false;
  int threads = 0;
};

void ResolverThread(std::shared_ptr<ResolverQueue> q) {
  for (;;) {
    ResolverQueue::Request r;
    {
      std::unique_lock lock(q->mu);
      q->cv.wait(lock, [&] { return q->stop || !q->requests.empty(); });
      if (q->stop) return;
      r = std::move(q->requests.front());
      q->requests.pop_front();
    }
    Resolved out{r.slot, r.gen, {}, {}};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(r.name.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      out.error = std::string("cannot resolve ") + r.name + ": " + ::gai_strerror(rc);
    } else {
      for (addrinfo* p = res; p && out.addresses.size() < 8; p = p->ai_next) {
        if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
        IpAddress a = IpAddress::FromSockaddr(p->ai_addr);
        if (std::find(out.addresses.begin(), out.addresses.end(), a) == out.addresses.end())
          out.addresses.push_back(a);
      }
      ::freeaddrinfo(res);
      if (out.addresses.empty()) out.error = "cannot resolve " + r.name + ": no IPv4/IPv6 address";
    }
    {
      std::lock_guard lock(r.reply->mu);
      r.reply->done.push_back(std::move(out));
    }
    std::uint64_t one = 1;
    (void)!::write(r.reply->event_fd, &one, sizeof one);
  }
}

// State shared by the loops of one scan and the calling thread.
struct Shared {
  const TlsScanOptions& options;
  const Contexts& contexts;
  TlsScanProgress* progress;
  const std::atomic<bool>* cancel;

  std::mutex targets_mu;
  TargetStream& targets;
  bool targets_done = false;

  std::mutex out_mu;
  std::condition_variable out_cv;
  std::vector<store::Observation> out;
  std::vector<store::ScanError> out_errors;
  int loops_running = 0;
  std::atomic<std::size_t> queued{0};
  std::atomic<bool> stop{false};  // the sink failed: start nothing new

  std::shared_ptr<ResolverQueue> resolver;  // started on the first name
  std::mutex resolver_mu;

  Shared(const TlsScanOptions& o, const Contexts& c, TlsScanProgress* p,
         const std::atomic<bool>* cancel_flag, TargetStream& t)
      : options(o), contexts(c), progress(p), cancel(cancel_flag), targets(t) {}

  std::optional<Endpoint> NextTarget() {
    std::lock_guard lock(targets_mu);
    if (targets_done) return std::nullopt;
    auto e = targets.Next();
    if (!e) targets_done = true;
    return e;
  }

  void Resolve(ResolverQueue::Request r) {
    std::lock_guard lock(resolver_mu);
    if (!resolver) {
      resolver = std::make_shared<ResolverQueue>();
      for (int i = 0; i < std::max(1, options.resolver_threads); ++i)
        std::thread(ResolverThread, resolver).detach();
    }
    {
      std::lock_guard qlock(resolver->mu);
      resolver->requests.push_back(std::move(r));
    }
    resolver->cv.notify_one();
  }

  ~Shared() {
    if (resolver) {
      std::lock_guard lock(resolver->mu);
      resolver->stop = true;
      resolver->requests.clear();
    }
    if (resolver) resolver->cv.notify_all();
  }
};

// One event loop: `slots` connections at most, `rate` new ones per second at most.
class Loop {
 public:
  Loop(Shared& shared, int slots, double rate)
      : s_(shared), o_(shared.options), rate_(rate), conns_(static_cast<std::size_t>(slots)) {
    for (std::size_t i = 0; i < conns_.size(); ++i) conns_[i].slot = static_cast<std::uint32_t>(i);
  }

  Status Init() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return Fail(ErrorCode::kInternal, "epoll_create1: " + ErrnoText(errno));
    mailbox_ = std::make_shared<Mailbox>();
    mailbox_->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mailbox_->event_fd < 0) return Fail(ErrorCode::kInternal, "eventfd: " + ErrnoText(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kMailboxTag;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, mailbox_->event_fd, &ev) != 0)
      return Fail(ErrorCode::kInternal, "epoll_ctl: " + ErrnoText(errno));
    return {};
  }

  ~Loop() {
    for (auto& c : conns_) CloseSocket(c);
    if (epfd_ >= 0) ::close(epfd_);
  }

  void Run();

 private:
  static constexpr std::uint64_t kMailboxTag = ~std::uint64_t{0};

  struct Timer {
    TimePoint at;
    std::uint32_t slot, gen, seq;
    bool operator>(const Timer& o) const { return at > o.at; }
  };

  void StartJob(Conn& c, Endpoint e);
  void Connect(Conn& c);
  void OnConnected(Conn& c);
  void Drive(Conn& c);
  void DriveStartTls(Conn& c);
  void BeginTls(Conn& c);
  void DriveHandshake(Conn& c);
  void OnHandshakeDone(Conn& c);
  // Ends the current attempt with a failure; may retry, try the next address or probe.
  void AttemptFailed(Conn& c, std::string failure_class, std::string error);
  void NextStep(Conn& c);
  void Finish(Conn& c);
  void OnTimeout(Conn& c);
  void SetDeadline(Conn& c, TimePoint at);
  void CloseSocket(Conn& c);
  void DrainMailbox();
  void Flush(bool force);
  std::uint64_t Tag(const Conn& c) const { return (std::uint64_t{c.gen} << 32) | c.slot; }

  Shared& s_;
  const TlsScanOptions& o_;
  double rate_;
  double tokens_ = 1;
  TimePoint last_refill_ = SteadyClock::now();
  std::vector<Conn> conns_;
  std::vector<std::uint32_t> free_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  int epfd_ = -1;
  std::shared_ptr<Mailbox> mailbox_;
  std::size_t busy_ = 0;
  std::vector<store::Observation> out_;
  std::vector<store::ScanError> out_errors_;
  TimePoint last_flush_ = SteadyClock::now();
};

void Loop::SetDeadline(Conn& c, TimePoint at) {
  c.deadline = at;
  ++c.timer_seq;
  timers_.push(Timer{at, c.slot, c.gen, c.timer_seq});
}

void Loop::CloseSocket(Conn& c) {
  if (c.ssl) {
    // SSL_set_fd's socket BIO does not own the fd (BIO_NOCLOSE): we close it below.
    c.ssl.reset();
  }
  if (c.fd >= 0) {
    ::close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
  }
  c.dialog.reset();
  c.pending_out.clear();
}

void Loop::StartJob(Conn& c, Endpoint e) {
  c.job = Job{};
  c.job.endpoint = std::move(e);
  c.job.starttls = o_.starttls == StartTls::kAuto ? StartTlsForPort(c.job.endpoint.port) : o_.starttls;
  c.job.facts.starttls = StartTlsName(c.job.starttls);
  ++busy_;
  if (s_.progress) s_.progress->in_flight.fetch_add(1, std::memory_order_relaxed);
  if (c.job.endpoint.address) {
    c.job.addresses.push_back(*c.job.endpoint.address);
    Connect(c);
    return;
  }
  ++c.gen;
  c.phase = Phase::kResolving;
  // The lookup shares the connect budget: a resolver that never answers times out here.
  SetDeadline(c, SteadyClock::now() + milliseconds(o_.connect_timeout_ms));
  s_.Resolve(ResolverQueue::Request{mailbox_, c.slot, c.gen, c.job.endpoint.host});
}

void Loop::DrainMailbox() {
  std::uint64_t n;
  (void)!::read(mailbox_->event_fd, &n, sizeof n);
  std::vector<Resolved> done;
  {
    std::lock_guard lock(mailbox_->mu);
    done.swap(mailbox_->done);
  }
  for (auto& r : done) {
    if (r.slot >= conns_.size()) continue;
    Conn& c = conns_[r.slot];
    if (c.gen != r.gen || c.phase != Phase::kResolving) continue;  // timed out meanwhile
    if (!r.error.empty()) {
      AttemptFailed(c, "dns_failure", r.error);
      continue;
    }
    // Scope: a name that resolves into an excluded range is never contacted.
    std::vector<IpAddress> allowed;
    for (const auto& a : r.addresses)
      if (!o_.exclude || !o_.exclude->Contains(a)) allowed.push_back(a);
    if (allowed.empty()) {
      c.job.facts.address = r.addresses.front().ToString();
      AttemptFailed(c, "excluded",
                    c.job.endpoint.host + " resolves to " + r.addresses.front().ToString() +
                        ", inside an excluded range; not contacted");
      continue;
    }
    c.job.addresses = std::move(allowed);
    Connect(c);
  }
}

void Loop::Connect(Conn& c) {
  CloseSocket(c);
  ++c.gen;
  c.bytes_read = 0;
  c.limit = o_.max_handshake_bytes;
  c.oversized = false;
  c.first_len = 0;
  c.alert.clear();
  c.ocsp = false;
  const IpAddress& a = c.job.addresses[c.job.address_index];
  c.job.facts.address = a.ToString();
  sockaddr_storage sa;
  socklen_t len = a.ToSockaddr(c.job.endpoint.port, &sa);
  c.fd = ::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    int err = errno;
    AttemptFailed(c, "other", "socket: " + ErrnoText(err));
    return;
  }
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = Tag(c);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    int err = errno;
    AttemptFailed(c, "other", "epoll_ctl: " + ErrnoText(err));
    return;
  }
  c.phase = Phase::kConnecting;
  SetDeadline(c, SteadyClock::now() + milliseconds(o_.connect_timeout_ms));
  if (::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), len) == 0) {
    OnConnected(c);
    return;
  }
  int err = errno;
  if (err == EINPROGRESS) return;  // EPOLLOUT tells
  AttemptFailed(c, err == ECONNREFUSED ? "refused" : "other", "connect: " + ErrnoText(err));
}

void Loop::OnConnected(Conn& c) {
  c.connected_at = SteadyClock::now();
  SetDeadline(c, c.connected_at + milliseconds(o_.handshake_timeout_ms));
  if (c.job.starttls != StartTls::kNone) {
    c.phase = Phase::kStartTls;
    std::string name = c.job.endpoint.sni.empty() ? c.job.endpoint.host : c.job.endpoint.sni;
    c.dialog = std::make_unique<StartTlsDialog>(c.job.starttls, name);
    c.pending_out = c.dialog->TakeOutput();
    DriveStartTls(c);
    return;
  }
  BeginTls(c);
}

void Loop::Drive(Conn& c) {
  switch (c.phase) {
    case Phase::kConnecting: {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) {
        OnConnected(c);
      } else if (err == ECONNREFUSED) {
        AttemptFailed(c, "refused", "connection refused");
      } else if (err == ETIMEDOUT) {
        AttemptFailed(c, "connect_timeout", "connect: " + ErrnoText(err));
      } else if (err == ECONNRESET) {
        AttemptFailed(c, "reset", "connection reset during connect");
      } else {
        AttemptFailed(c, "other", "connect: " + ErrnoText(err));
      }
      return;
    }
    case Phase::kStartTls:
      DriveStartTls(c);
      return;
    case Phase::kHandshake:
      DriveHandshake(c);
      return;
    default:
      return;
  }
}

void Loop::DriveStartTls(Conn& c) {
  char buf[4096];
  for (int guard = 0; guard < 64; ++guard) {
    while (!c.pending_out.empty()) {
      ssize_t n = ::send(c.fd, c.pending_out.data(), c.pending_out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        int err = errno;
        AttemptFailed(c, err == ECONNRESET || err == EPIPE ? "reset" : "other",
                      "STARTTLS send: " + ErrnoText(err));
        return;
      }
      c.pending_out.erase(0, static_cast<std::size_t>(n));
    }
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      int err = errno;
      AttemptFailed(c, err == ECONNRESET ? "reset" : "other", "STARTTLS recv: " + ErrnoText(err));
      return;
    }
    if (n == 0) {
      AttemptFailed(c, "reset", "the server closed the connection during the STARTTLS dialog");
      return;
    }
    c.bytes_read += static_cast<std::size_t>(n);
    auto st = c.dialog->Feed(std::string_view(buf, static_cast<std::size_t>(n)));
    if (st == StartTlsDialog::State::kFailed) {
      AttemptFailed(c, "starttls_failed", c.dialog->error());
      return;
    }
    if (st == StartTlsDialog::State::kReady) {
      c.dialog.reset();
      BeginTls(c);
      return;
    }
    c.pending_out += c.dialog->TakeOutput();
  }
  // A peer that keeps the socket readable forever is bounded by the deadline; yield.
}

void Loop::BeginTls(Conn& c) {
  const bool probe = c.job.probe >= 0;
  SSL_CTX* ctx = probe ? s_.contexts.probe[c.job.probe].get() : s_.contexts.main.get();
  c.ssl.reset(SSL_new(ctx));
  if (!c.ssl || SSL_set_fd(c.ssl.get(), c.fd) != 1) {
    AttemptFailed(c, "other", "SSL_new: " + DrainErrors());
    return;
  }
  SSL_set_app_data(c.ssl.get(), &c);
  BIO* bio = SSL_get_rbio(c.ssl.get());  // get0: owned by the SSL
  BIO_set_callback_arg(bio, reinterpret_cast<char*>(&c));
  BIO_set_callback_ex(bio, BioCallback);
  const std::string& sni = c.job.endpoint.sni;
  // RFC 6066 section 3: literal IP addresses are not permitted in SNI.
  if (!sni.empty() && !IpAddress::Parse(sni)) SSL_set_tlsext_host_name(c.ssl.get(), sni.c_str());
  if (!probe) SSL_set_tlsext_status_type(c.ssl.get(), TLSEXT_STATUSTYPE_ocsp);
  SSL_set_connect_state(c.ssl.get());
  c.phase = Phase::kHandshake;
  if (s_.progress) s_.progress->handshakes.fetch_add(1, std::memory_order_relaxed);
  DriveHandshake(c);
}

void Loop::DriveHandshake(Conn& c) {
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(c.ssl.get());
  if (r == 1) {
    OnHandshakeDone(c);
    return;
  }
  int err = SSL_get_error(c.ssl.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
  const int sys_errno = errno;
  const unsigned long lib_error = ERR_peek_error();
  std::string detail = DrainErrors();
  if (c.oversized) {
    AttemptFailed(c, "oversized",
                  "the peer sent more than " + std::to_string(o_.max_handshake_bytes) +
                      " bytes without completing the handshake");
    return;
  }
  if (!c.alert.empty()) {
    AttemptFailed(c, "tls_alert:" + c.alert, "the server sent the TLS alert " + c.alert);
    return;
  }
  const bool looks_tls = c.first_len == 0 || (c.first[0] >= 0x14 && c.first[0] <= 0x18 &&
                                               (c.first_len < 2 || c.first[1] == 0x03));
  if (!looks_tls) {
    AttemptFailed(c, "not_tls", "the server's reply is not a TLS record");
    return;
  }
  if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
    if (sys_errno == ECONNRESET || sys_errno == EPIPE) {
      AttemptFailed(c, "reset", "connection reset by the peer during the handshake");
    } else if (sys_errno == 0) {
      AttemptFailed(c, "reset", "the peer closed the connection during the handshake");
    } else {
      AttemptFailed(c, "other", "handshake: " + ErrnoText(sys_errno));
    }
    return;
  }
  const int reason = ERR_GET_REASON(lib_error);
  if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    AttemptFailed(c, "reset", "the peer closed the connection during the handshake");
    return;
  }
  if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
      reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_HTTP_REQUEST) {
    AttemptFailed(c, "not_tls", "not a TLS server: " + detail);
    return;
  }
  if (reason == SSL_R_EXCESSIVE_MESSAGE_SIZE) {
    AttemptFailed(c, "oversized", "handshake message too large: " + detail);
    return;
  }
  AttemptFailed(c, "other", detail.empty() ? "handshake failed" : detail);
}

void Loop::OnHandshakeDone(Conn& c) {
  SSL* ssl = c.ssl.get();
  const double ms =
      std::chrono::duration<double, std::milli>(SteadyClock::now() - c.connected_at).count();
  if (c.job.probe >= 0) {
    c.job.facts.versions_accepted.push_back(kProbeVersions[c.job.probe].name);
    (void)SSL_shutdown(ssl);
    NextStep(c);
    return;
  }
  auto& f = c.job.facts;
  f.ok = true;
  f.handshake_ms = ms;
  f.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) f.cipher = SSL_CIPHER_get_name(cipher);
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);  // get0: borrowed
  if (alpn && alpn_len) f.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  f.ocsp_stapled = c.ocsp;
  const long vr = SSL_get_verify_result(ssl);
  f.verified = vr == X509_V_OK;
  if (!f.verified) f.verify_error = X509_verify_cert_error_string(vr);

  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);  // get0; client side: leaf first
  const int n = chain ? sk_X509_num(chain) : 0;
  f.chain_len = n;
  for (int i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(chain, i);  // get0
    unsigned char* der = nullptr;
    int len = i2d_X509(cert, &der);
    if (len <= 0) {
      c.job.errors.push_back({c.job.endpoint.ToString(),
                              "certificate chain:" + std::to_string(i) + " cannot be encoded: " +
                                  DrainErrors()});
      continue;
    }
    auto id = x509::DecodeCertificate(ByteView(der, static_cast<std::size_t>(len)));
    OPENSSL_free(der);
    if (!id) {
      c.job.errors.push_back({c.job.endpoint.ToString(), "certificate chain:" + std::to_string(i) +
                                                             ": " + id.error().message});
      continue;
    }
    id->position = "chain:" + std::to_string(i);
    c.job.chain.push_back(std::move(*id));
  }
  if (X509* leaf = SSL_get0_peer_certificate(ssl)) {  // get0
    const Endpoint& e = c.job.endpoint;
    const std::string& name = e.sni.empty() ? e.host : e.sni;
    if (IpAddress::Parse(name)) {
      f.name_matches = X509_check_ip_asc(leaf, name.c_str(), 0) == 1;
    } else if (!name.empty()) {
      f.name_matches = X509_check_host(leaf, name.data(), name.size(), 0, nullptr) == 1;
    }
  }
  (void)DrainErrors();
  (void)SSL_shutdown(ssl);  // one close_notify, never waited for
  (void)DrainErrors();
  c.job.main_done = true;
  NextStep(c);
}

void Loop::AttemptFailed(Conn& c, std::string failure_class, std::string error) {
  Job& j = c.job;
  const bool connect_level = failure_class == "refused" || failure_class == "connect_timeout";
  if (j.probe >= 0) {
    // A probe that fails means the version is not accepted; move on.
    NextStep(c);
    return;
  }
  if (connect_level && j.address_index + 1 < j.addresses.size()) {
    ++j.address_index;
    Connect(c);
    return;
  }
  if ((failure_class == "connect_timeout" || failure_class == "reset") &&
      j.retries_used < o_.retries) {
    ++j.retries_used;
    Connect(c);
    return;
  }
  j.facts.ok = false;
  j.facts.failure_class = std::move(failure_class);
  j.facts.error = std::move(error);
  j.main_done = true;
  // A TLS-level refusal (an alert) still lets the version probe say what it accepts.
  const bool probe_anyway = j.facts.failure_class.rfind("tls_alert", 0) == 0 ||
                            j.facts.failure_class == "other";
  if (!probe_anyway) j.probe = kProbeCount;  // nothing to probe
  NextStep(c);
}

void Loop::NextStep(Conn& c) {
  Job& j = c.job;
  if (o_.probe_versions && j.probe + 1 < kProbeCount) {
    ++j.probe;
    j.facts.versions_probed = true;
    Connect(c);
    return;
  }
  Finish(c);
}

void Loop::Finish(Conn& c) {
  CloseSocket(c);
  ++c.gen;  // invalidates pending timers and events
  c.phase = Phase::kIdle;
  Job& j = c.job;
  auto* p = s_.progress;
  if (p) {
    p->done.fetch_add(1, std::memory_order_relaxed);
    p->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (j.facts.ok) {
      p->ok.fetch_add(1, std::memory_order_relaxed);
    } else {
      std::string cls = j.facts.failure_class.substr(0, j.facts.failure_class.find(':'));
      std::lock_guard lock(p->mu);
      ++p->failures[cls];
    }
  }
  if (!j.facts.ok)
    out_errors_.push_back({j.endpoint.ToString(), j.facts.failure_class + ": " + j.facts.error});
  for (auto& e : j.errors) out_errors_.push_back(std::move(e));
  store::Observation o;
  o.location.kind = store::LocationKind::kTlsEndpoint;
  o.location.host = j.endpoint.host;
  o.location.port = j.endpoint.port;
  o.location.sni = j.endpoint.sni;
  o.format = "tls";
  o.identities = std::move(j.chain);
  o.endpoint = std::move(j.facts);
  out_.push_back(std::move(o));
  j = Job{};
  --busy_;
  free_.push_back(c.slot);
}

void Loop::OnTimeout(Conn& c) {
  switch (c.phase) {
    case Phase::kResolving:
      AttemptFailed(c, "dns_failure", "resolving " + c.job.endpoint.host + " timed out");
      return;
    case Phase::kConnecting:
      AttemptFailed(c, "connect_timeout",
                    "no TCP connection within " + std::to_string(o_.connect_timeout_ms) + " ms");
      return;
    case Phase::kStartTls:
    case Phase::kHandshake:
      AttemptFailed(c, "handshake_timeout",
                    std::string(c.phase == Phase::kStartTls ? "STARTTLS dialog" : "TLS handshake") +
                        " not done within " + std::to_string(o_.handshake_timeout_ms) + " ms (" +
                        std::to_string(c.bytes_read) + " bytes received)");
      return;
    case Phase::kIdle:
      return;
  }
}

void Loop::Flush(bool force) {
  auto now = SteadyClock::now();
  if (out_.empty() && out_errors_.empty()) return;
  if (!force && out_.size() < o_.batch && now - last_flush_ < milliseconds(200)) return;
  last_flush_ = now;
  {
    std::lock_guard lock(s_.out_mu);
    s_.queued.fetch_add(out_.size(), std::memory_order_relaxed);
    for (auto& o : out_) s_.out.push_back(std::move(o));
    for (auto& e : out_errors_) s_.out_errors.push_back(std::move(e));
  }
  out_.clear();
  out_errors_.clear();
  s_.out_cv.notify_one();
}

void Loop::Run() {
  for (std::size_t i = conns_.size(); i-- > 0;) free_.push_back(static_cast<std::uint32_t>(i));
  std::vector<epoll_event> events(1024);
  bool exhausted = false;
  // Results waiting for the sink beyond this stop new connections (memory stays bounded
  // even when the inventory is slower than the network).
  const std::size_t max_queued = std::max<std::size_t>(o_.batch * 8, conns_.size() * 2);
  for (;;) {
    auto now = SteadyClock::now();
    if (rate_ > 0) {
      double elapsed = std::chrono::duration<double>(now - last_refill_).count();
      tokens_ = std::min(std::max(1.0, rate_ / 20), tokens_ + elapsed * rate_);
      last_refill_ = now;
    }
    const bool stopping = s_.stop.load() || (s_.cancel && s_.cancel->load());
    while (!exhausted && !stopping && !free_.empty() && (rate_ <= 0 || tokens_ >= 1) &&
           s_.queued.load(std::memory_order_relaxed) < max_queued) {
      auto e = s_.NextTarget();
      if (!e) {
        exhausted = true;
        break;
      }
      if (rate_ > 0) tokens_ -= 1;
      std::uint32_t slot = free_.back();
      free_.pop_back();
      StartJob(conns_[slot], std::move(*e));
    }
    if (busy_ == 0 && (exhausted || stopping)) break;

    // Sleep until the next deadline, the next token, or 100 ms (cancel, flush).
    int timeout_ms = 100;
    while (!timers_.empty()) {
      const Timer& t = timers_.top();
      const Conn& c = conns_[t.slot];
      if (c.gen != t.gen || c.timer_seq != t.seq || c.phase == Phase::kIdle) {
        timers_.pop();  // stale
        continue;
      }
      auto wait = std::chrono::duration_cast<milliseconds>(t.at - now).count() + 1;
      timeout_ms = static_cast<int>(std::clamp<long long>(wait, 0, timeout_ms));
      break;
    }
    if (rate_ > 0 && tokens_ < 1 && !free_.empty() && !exhausted)
      timeout_ms = std::min(timeout_ms, std::max(1, static_cast<int>(1000.0 / rate_)));
    if (busy_ == 0 && !exhausted && !free_.empty() &&
        s_.queued.load(std::memory_order_relaxed) < max_queued && (rate_ <= 0 || tokens_ >= 1))
      timeout_ms = 0;

    int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      spdlog::error("epoll_wait: {}", ErrnoText(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
      if (tag == kMailboxTag) {
        DrainMailbox();
        continue;
      }
      const auto slot = static_cast<std::uint32_t>(tag & 0xffffffffu);
      const auto gen = static_cast<std::uint32_t>(tag >> 32);
      if (slot >= conns_.size()) continue;
      Conn& c = conns_[slot];
      if (c.gen != gen || c.phase == Phase::kIdle) continue;
      Drive(c);
    }
    now = SteadyClock::now();
    while (!timers_.empty() && timers_.top().at <= now) {
      Timer t = timers_.top();
      timers_.pop();
      Conn& c = conns_[t.slot];
      if (c.gen != t.gen || c.timer_seq != t.seq || c.phase == Phase::kIdle) continue;
      OnTimeout(c);
    }
    Flush(false);
  }
  Flush(true);
}

// Lets a scan of 10,000 connections in flight open its sockets: the soft limit is raised
// to the hard one. Returns how many descriptors the connections may use.
std::size_t RaiseFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1000;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  const auto cur = static_cast<std::size_t>(std::min<rlim_t>(rl.rlim_cur, 1u << 30));
  return cur > 128 ? cur - 64 : cur / 2;  // room for the store, logs, epoll and eventfds
}

}  // namespace

Result<TlsScanStats> ScanTls(TargetStream& targets, const TlsScanOptions& options,
                             const TlsScanSink& sink, TlsScanProgress* progress,
                             const std::atomic<bool>* cancel) {
  if (options.concurrency < 1)
    return Fail(ErrorCode::kInvalidArgument, "--concurrency must be at least 1");
  if (options.connect_timeout_ms <= 0 || options.handshake_timeout_ms <= 0)
    return Fail(ErrorCode::kInvalidArgument, "timeouts must be positive");
  Contexts contexts;
  {
    auto main = MakeContext(options, 0);
    if (!main) return tl::unexpected(main.error());
    contexts.main = std::move(*main);
    if (options.probe_versions) {
      for (int i = 0; i < kProbeCount; ++i) {
        auto ctx = MakeContext(options, kProbeVersions[i].version);
        if (!ctx) return tl::unexpected(ctx.error());
        contexts.probe[i] = std::move(*ctx);
      }
    }
  }
  int threads = options.threads > 0 ? options.threads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::size_t concurrency = static_cast<std::size_t>(options.concurrency);
  const std::size_t fds = RaiseFileLimit();
  if (concurrency > fds) {
    spdlog::warn("--concurrency {} exceeds the open-file limit; using {}", concurrency, fds);
    concurrency = fds;
  }
  threads = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), concurrency));
  if (progress) progress->total.store(targets.total());

  Shared shared(options, contexts, progress, cancel, targets);
  std::vector<std::unique_ptr<Loop>> loops;
  for (int i = 0; i < threads; ++i) {
    std::size_t slots = concurrency / static_cast<std::size_t>(threads) +
                        (static_cast<std::size_t>(i) < concurrency % static_cast<std::size_t>(threads) ? 1 : 0);
    auto loop = std::make_unique<Loop>(shared, static_cast<int>(slots),
                                       options.rate > 0 ? options.rate / threads : 0);
    if (auto s = loop->Init(); !s) return tl::unexpected(s.error());
    loops.push_back(std::move(loop));
  }
  shared.loops_running = threads;
  std::vector<std::thread> workers;
  for (auto& loop : loops) {
    workers.emplace_back([&shared, l = loop.get()] {
      // OpenSSL writes to sockets with write(2): a peer that closed first must give
      // EPIPE, not kill the process. SIGPIPE is thread-directed, so blocking it here
      // changes nothing for the rest of the program.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      l->Run();
      std::lock_guard lock(shared.out_mu);
      --shared.loops_running;
      shared.out_cv.notify_one();
    });
  }

  TlsScanStats stats;
  std::optional<Error> sink_error;
  for (;;) {
    std::vector<store::Observation> batch;
    std::vector<store::ScanError> errors;
    bool finished = false;
    {
      std::unique_lock lock(shared.out_mu);
      shared.out_cv.wait(lock, [&] { return !shared.out.empty() || !shared.out_errors.empty() ||
                                            shared.loops_running == 0; });
      batch.swap(shared.out);
      errors.swap(shared.out_errors);
      finished = shared.loops_running == 0;
    }
    shared.queued.fetch_sub(batch.size(), std::memory_order_relaxed);
    for (const auto& o : batch) {
      ++stats.endpoints;
      if (o.endpoint && o.endpoint->ok) {
        ++stats.ok;
      } else {
        ++stats.failed;
      }
      stats.certificates += o.identities.size();
    }
    if (!sink_error && (!batch.empty() || !errors.empty())) {
      if (auto s = sink(std::move(batch), std::move(errors)); !s) {
        sink_error = s.error();
        shared.stop.store(true);
      }
    }
    if (finished) break;
  }
  for (auto& w : workers) w.join();
  if (sink_error) return tl::unexpected(*sink_error);
  if (targets.error()) return tl::unexpected(*targets.error());
  return stats;
}

}  // namespace mica::discover
