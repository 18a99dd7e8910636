// Tarpit for bench/run_tls.sh: listens on many loopback endpoints, accepts every
// connection and never sends a byte, so a TLS client waits for its handshake timeout.
// Reads (and discards) what the client sends, to notice when it closes.
//
//   tls_tarpit ADDR_PREFIX FIRST_HOST HOSTS FIRST_PORT PORTS SECONDS
//   e.g. tls_tarpit 127.0.0. 11 3 30000 1000 120  -> 127.0.0.11-13, ports 30000-30999
//
// Only loopback addresses are accepted (the benchmark must never touch a network). Exits
// after SECONDS whatever happens, so a forgotten tarpit cannot linger. One thread, epoll.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s ADDR_PREFIX FIRST_HOST HOSTS FIRST_PORT PORTS SECONDS\n", argv[0]);
    return 2;
  }
  const std::string prefix = argv[1];
  const int first_host = std::atoi(argv[2]), hosts = std::atoi(argv[3]);
  const int first_port = std::atoi(argv[4]), ports = std::atoi(argv[5]);
  const int seconds = std::atoi(argv[6]);
  if (prefix.rfind("127.", 0) != 0) {
    std::fprintf(stderr, "tls_tarpit: only 127.0.0.0/8 is allowed\n");
    return 2;
  }
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::unordered_set<int> listeners;
  for (int h = 0; h < hosts; ++h) {
    const std::string addr = prefix + std::to_string(first_host + h);
    for (int p = 0; p < ports; ++p) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<uint16_t>(first_port + p));
      ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 4096) != 0) {
        std::fprintf(stderr, "tls_tarpit: %s:%d: %s\n", addr.c_str(), first_port + p, std::strerror(errno));
        return 1;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      listeners.insert(fd);
    }
  }
  std::printf("ready %d listeners\n", hosts * ports);
  std::fflush(stdout);

  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  unsigned long accepted = 0;
  epoll_event events[256];
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    int n = ::epoll_wait(ep, events, 256, 200);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (listeners.count(fd)) {
        for (;;) {
          int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          ++accepted;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      ssize_t r;
      while ((r = ::read(fd, buf, sizeof buf)) > 0) {
      }
      if (r == 0 || (r < 0 && errno != EAGAIN)) ::close(fd);  // the client gave up
    }
  }
  std::printf("accepted %lu\n", accepted);
  return 0;
}
