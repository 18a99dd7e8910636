// Network scan targets: parsing, scope control (exclusions) and a streaming generator.
//
// A target is a DNS name, an IPv4 / IPv6 literal or a CIDR, optionally with a port
// ("host:443", "10.0.0.1:8443", "[2001:db8::1]:443"). CIDRs expand lazily and target
// files are read line by line while the scan runs, so memory stays bounded by the
// scanner's concurrency, not by the number of targets.
//
// Scope: an ExcludeList of CIDRs. TargetStream never yields an excluded address; names
// are checked again by the scanner once resolved, so an excluded address is never
// contacted whichever way it was named.
//
// Thread-safety: ExcludeList is immutable after loading and safe to share. TargetStream
// is a single-consumer iterator; the TLS scanner guards it with its own mutex.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace mica::discover {

// An IPv4 or IPv6 address in network byte order (IPv4 uses the first 4 bytes).
struct IpAddress {
  int family = AF_INET;  // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};

  // Numeric literal only ("127.0.0.1", "::1"; no brackets, no zone); nullopt otherwise.
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress FromSockaddr(const sockaddr* sa);
  std::string ToString() const;  // "127.0.0.1", "::1"
  // Fills `out` (a sockaddr_in or sockaddr_in6) with this address and `port`; returns its length.
  socklen_t ToSockaddr(int port, sockaddr_storage* out) const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress base;  // host bits cleared
  int prefix = 32;

  // "10.0.0.0/24", "2001:db8::/120", or a bare address (a /32 or /128). The error names
  // the text and the reason (bad address, prefix out of range).
  [[nodiscard]] static Result<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& a) const;
  // Number of addresses, saturating at 2^63.
  std::uint64_t Size() const;
  std::string ToString() const;
};

// Scope control: addresses inside any of these CIDRs are never contacted.
class ExcludeList {
 public:
  [[nodiscard]] Status Add(std::string_view cidr);
  // One CIDR or address per line; '#' starts a comment; blank lines are skipped. The
  // error names the file and the line.
  [[nodiscard]] Status AddFile(const std::string& path);
  // O(log n): the list is kept sorted by address with nested ranges dropped, so the
  // only candidate is the last range starting at or before `a`.
  bool Contains(const IpAddress& a) const;
  bool empty() const { return cidrs_.empty(); }

 private:
  // Sorts cidrs_ and drops the ranges inside another (CIDRs nest or are disjoint).
  void Normalize();
  std::vector<Cidr> cidrs_;
};

// One parsed TARGET argument or targets-file line.
struct TargetSpec {
  enum class Kind { kName, kAddress, kCidr };
  Kind kind = Kind::kName;
  std::string name;              // kName: the DNS name as given (lower-cased)
  Cidr cidr;                     // kAddress (a /32 or /128) and kCidr
  std::optional<int> port;       // given with the target; otherwise the port list applies

  // The error (kInvalidArgument) names the text and says what is wrong with it.
  [[nodiscard]] static Result<TargetSpec> Parse(std::string_view text);
};

// "443,8443,9000-9010" -> ports; errors name the bad item.
[[nodiscard]] Result<std::vector<int>> ParsePorts(std::string_view text);

// The common TLS ports (443, 465, 636, 853, 990, 993, 995, 5061, 6443, 8443, 9443) and
// the STARTTLS ports (21, 25, 110, 143, 389, 587, 5222, 5432).
const std::vector<int>& DefaultPorts();

// CIDRs larger than this are refused: a scan of 2^64 addresses never ends.
inline constexpr std::uint64_t kMaxCidrSize = std::uint64_t{1} << 24;

// One endpoint to contact.
struct Endpoint {
  std::string host;  // what the inventory calls it: the name, or the address literal
  std::optional<IpAddress> address;  // set for literals; names are resolved by the scanner
  int port = 0;
  std::string sni;   // server name to send, "" for none

  // "host:port" with brackets around IPv6 literals, plus " (sni NAME)" when it differs.
  std::string ToString() const;
};

struct TargetOptions {
  std::vector<std::string> targets;       // TARGET arguments
  std::vector<std::string> target_files;  // --targets-file, one target per line
  std::vector<int> ports;                 // empty: DefaultPorts()
  // --sni: each endpoint is scanned once per name. Empty: names use themselves as SNI,
  // addresses send none.
  std::vector<std::string> sni;
};

// Yields every endpoint of the targets x ports x SNI names, in order, skipping excluded
// addresses. Open() validates every target (reading the files once) and counts the
// endpoints, so a typo on line 90,000 is reported before anything is contacted.
class TargetStream {
 public:
  [[nodiscard]] static Result<std::unique_ptr<TargetStream>> Open(TargetOptions options,
                                                                 const ExcludeList* exclude);
  // The next endpoint, or nullopt at the end. A targets file that became unreadable
  // since Open ends the stream early (its error is in error()).
  std::optional<Endpoint> Next();
  // Endpoints the stream yields, computed by Open (before exclusions of CIDR members,
  // which are subtracted as they are skipped: an upper bound for progress display).
  std::uint64_t total() const { return total_; }
  std::uint64_t excluded() const { return excluded_; }
  const std::optional<Error>& error() const { return error_; }

 private:
  TargetStream() = default;
  // Loads the next TargetSpec into current_; false at the end.
  bool NextSpec();

  TargetOptions options_;
  const ExcludeList* exclude_ = nullptr;
  std::uint64_t total_ = 0, excluded_ = 0;
  std::optional<Error> error_;

  std::size_t arg_index_ = 0, file_index_ = 0;
  std::unique_ptr<std::ifstream> file_;
  std::size_t file_line_ = 0;

  // Iteration state inside the current spec: address offset, port index, SNI index.
  std::optional<TargetSpec> current_;
  std::uint64_t offset_ = 0;
  std::size_t port_index_ = 0, sni_index_ = 0;
};

}  // namespace mica::discover
